// Real-browser test of the notebooks: start one JupyterLab with the project's GoNB kernel
// (LENSSBI_QUICK=1) and, in headless Chromium, open each notebook in turn, run every cell
// through the Run menu, wait until the kernel is idle, and check the rendered outputs:
//
//   notebooks/01-simulate.ipynb  the population figure and the lens gallery are rendered
//                                images; screenshot out/browser/simulate.png
//   notebooks/02-train.ipynb     while training runs, the live loss plot (the <img> that
//                                pkg/notebook.LossMonitor redraws in place through GoNB's
//                                display updates) is sampled in the page every 100 ms: the
//                                plot of one training cell must take at least two distinct
//                                rendered images while that cell is running (the curve moves).
//                                At the end every training cell shows its loss plot and the
//                                loss-curve figure and tables are there. Screenshots
//                                out/browser/train-live.png (mid-training, plot in view) and
//                                out/browser/train.png (end).
//
// For every notebook: no cell error and no error-like stderr output. The notebooks are never
// saved (autosave is switched off) and their bytes are checked to be unchanged at the end.
//
// Usage (from the repository root, after `make notebook-env` and `npm ci` here):
//   node .ci/browser/notebook.mjs
// Environment: CHROMIUM (default /usr/bin/chromium); NOTEBOOKS, a comma-separated subset of
// the notebooks above (default: all, in order); BROWSER_TIMEOUT_S, the run-all time limit
// per notebook (default 150 for 01, 240 for 02).
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, createWriteStream } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const chromiumPath = process.env.CHROMIUM || '/usr/bin/chromium';
const outDir = path.join(root, 'out', 'browser');
const t0 = Date.now();
const log = (...a) => console.log(`[browser-test ${((Date.now() - t0) / 1000).toFixed(1)}s]`, ...a);

const sha = (p) => createHash('sha256').update(readFileSync(p)).digest('hex');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// The notebooks, in the order a user runs them. check(page, ctx) runs after all cells are
// done; live (optional) is started just before Run All and may watch the page meanwhile.
const SPECS = [
  {
    path: 'notebooks/01-simulate.ipynb',
    timeoutS: 150,
    check: checkSimulate,
  },
  {
    path: 'notebooks/02-train.ipynb',
    timeoutS: 240,
    live: watchTraining,
    check: checkTrain,
  },
];

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

async function waitForServer(url, proc, ms) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (proc.exitCode !== null) throw new Error(`JupyterLab exited early with status ${proc.exitCode} (see out/browser/jupyter.log)`);
    try {
      const r = await fetch(url);
      if (r.ok) return;
    } catch { /* not up yet */ }
    await sleep(300);
  }
  throw new Error(`JupyterLab did not answer at ${url} within ${ms / 1000}s (see out/browser/jupyter.log)`);
}

async function stopServer(proc) {
  if (!proc || proc.exitCode !== null) return;
  const exited = new Promise((r) => proc.once('exit', r));
  try { process.kill(-proc.pid, 'SIGTERM'); } catch { /* gone */ }
  const t = setTimeout(() => { try { process.kill(-proc.pid, 'SIGKILL'); } catch { /* gone */ } }, 10000);
  await exited;
  clearTimeout(t);
}

// shutdownKernels ends every kernel session of the server (through its REST API), so that a
// finished notebook's kernel does not compete with the next one for the CPUs.
async function shutdownKernels(base, token) {
  const headers = { Authorization: `token ${token}` };
  const r = await fetch(`${base}/api/sessions`, { headers });
  if (!r.ok) throw new Error(`listing the kernel sessions: HTTP ${r.status}`);
  for (const s of await r.json()) {
    const d = await fetch(`${base}/api/sessions/${s.id}`, { method: 'DELETE', headers });
    if (!d.ok && d.status !== 404) throw new Error(`shutting down the session of ${s.path}: HTTP ${d.status}`);
  }
}

// progress reports how many code cells have run, the kernel status and the error outputs.
const progress = (page) => page.evaluate(() => {
  const w = window.jupyterapp.shell.currentWidget;
  const cells = [...w.content.widgets].filter((c) => c.model.type === 'code');
  const done = cells.filter((c) => c.model.executionCount !== null && !c.node.querySelector('.jp-InputPrompt')?.textContent.includes('*')).length;
  const errors = [];
  cells.forEach((c, i) => {
    for (let k = 0; k < c.model.outputs.length; k++) {
      const o = c.model.outputs.get(k).toJSON();
      if (o.output_type === 'error') errors.push(`code cell ${i + 1}: ${o.ename}: ${o.evalue}`);
    }
  });
  return { total: cells.length, done, status: w.sessionContext.session?.kernel?.status, errors };
});

// runNotebook opens spec.path in a fresh page (and a fresh JupyterLab workspace), runs all
// cells, waits for them, and applies the notebook's checks.
async function runNotebook(browser, base, token, spec) {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  const ctx = { page, name: path.basename(spec.path, '.ipynb'), failureShot: path.join(outDir, 'failure.png') };
  try {
    const ws = `browser-test-${ctx.name}`;
    await page.goto(`${base}/lab/workspaces/${ws}/tree/${spec.path}?reset&token=${token}`, { timeout: 60000 });
    await page.locator('.jp-NotebookPanel .jp-Cell').first().waitFor({ timeout: 60000 });
    log(`${spec.path} open; waiting for the Go kernel`);
    // GoNB reports its status only around executions, so before the first one the
    // kernel may read 'unknown': wait for a connected kernel that is not starting.
    const kernelState = () => page.evaluate((p) => {
      const w = window.jupyterapp?.shell?.currentWidget;
      if (!w || w.context?.path !== p) return `not the current widget (${w?.context?.path})`;
      const k = w.sessionContext?.session?.kernel;
      return k ? `${k.connectionStatus}/${k.status}` : 'none';
    }, spec.path);
    const kernelEnd = Date.now() + 60000;
    let ks;
    while (!/^connected\/(idle|unknown)$/.test(ks = await kernelState())) {
      if (Date.now() > kernelEnd) throw new Error(`the kernel did not connect (state ${ks}); is the gonb kernel spec installed (make notebook-env)?`);
      await page.waitForTimeout(300);
    }

    // Clear the committed outputs in the page (not on disk), so that only outputs of
    // this run can satisfy the checks below.
    await page.evaluate(() => window.jupyterapp.commands.execute('notebook:clear-all-cell-outputs'));
    const stale = await page.locator('.jp-OutputArea-output').count();
    if (stale) throw new Error(`${stale} outputs left after clearing them`);
    const live = spec.live ? await spec.live(page, ctx) : null;
    log(`kernel ${ks}; outputs cleared; Run > Run All Cells`);
    const tRun = Date.now();
    await page.locator('.lm-MenuBar-itemLabel', { hasText: /^Run$/ }).click();
    await page.locator('.lm-Menu-itemLabel', { hasText: /^Run All Cells$/ }).click();

    // Wait until every code cell has run and the kernel is idle again.
    const timeoutMs = 1000 * Number(process.env.BROWSER_TIMEOUT_S || spec.timeoutS);
    const runEnd = Date.now() + timeoutMs;
    let p;
    let last = -1;
    for (;;) {
      p = await progress(page);
      if (p.errors.length) throw new Error(`a cell failed:\n  ${p.errors.join('\n  ')}`);
      if (p.done !== last) { log(`${ctx.name}: ${p.done}/${p.total} code cells done (kernel ${p.status})`); last = p.done; }
      if (p.done === p.total && p.status === 'idle') break;
      if (Date.now() > runEnd) throw new Error(`timed out after ${timeoutMs / 1000}s with ${p.done}/${p.total} code cells done (kernel ${p.status})`);
      if (live) await live.tick();
      await page.waitForTimeout(live ? 250 : 500);
    }
    ctx.runSeconds = (Date.now() - tRun) / 1000;

    // No stderr output that looks like a Go error, panic or traceback.
    const stderr = await page.locator('.jp-RenderedText[data-mime-type="application/vnd.jupyter.stderr"]').allTextContents();
    const bad = stderr.filter((t) => /panic|error|traceback|exit status|failed/i.test(t));
    if (bad.length) throw new Error(`error output in the notebook:\n${bad.map((t) => t.slice(0, 600)).join('\n---\n')}`);
    const summary = await spec.check(page, { ...ctx, live, total: p.total });
    if (pageErrors.length) log(`page errors (not fatal): ${pageErrors.slice(0, 3).join(' | ')}`);
    log(`OK ${spec.path}: ${p.total} code cells ran in ${ctx.runSeconds.toFixed(1)}s; ${summary}`);
  } catch (e) {
    try { await page.screenshot({ path: ctx.failureShot }); } catch { /* best effort */ }
    // The rendered outputs, data URLs shortened, for diagnosis.
    try {
      const html = await page.evaluate(() => [...document.querySelectorAll('.jp-Notebook .jp-CodeCell')]
        .map((c, i) => `<!-- code cell ${i + 1} -->\n${c.querySelector('.jp-OutputArea')?.outerHTML ?? ''}`).join('\n'));
      writeFileSync(path.join(outDir, 'failure.html'), html.replace(/(data:[^"',)]{0,40})[^"',)]*/g, '$1...'));
    } catch { /* best effort */ }
    throw new Error(`${spec.path}: ${e.message}`);
  } finally {
    await page.close().catch(() => {});
  }
}

// renderedImages returns, per code cell (1-based index), its rendered <img> outputs that
// have loaded: alt text and natural size.
const renderedImages = (page) => page.evaluate(() => {
  const w = window.jupyterapp.shell.currentWidget;
  const cells = [...w.content.widgets].filter((c) => c.model.type === 'code');
  return cells.map((c, i) => ({
    cell: i + 1,
    imgs: [...c.node.querySelectorAll('.jp-OutputArea-output img')].map((el) => ({
      alt: el.alt, w: el.naturalWidth, h: el.naturalHeight, complete: el.complete,
    })),
    tables: c.node.querySelectorAll('.jp-OutputArea-output table').length,
  }));
});

// showOutput scrolls the notebook so that the element matching selector in code cell n
// (1-based) is in the viewport, and waits until it is laid out there (the element itself
// is what the page shows at its centre). It returns false if that does not happen.
async function showOutput(page, n, selector) {
  for (let i = 0; i < 15; i++) {
    const shown = await page.evaluate(([n, selector]) => {
      const w = window.jupyterapp.shell.currentWidget;
      const cell = [...w.content.widgets].filter((c) => c.model.type === 'code')[n - 1];
      const el = cell?.node.querySelector(selector);
      if (!el) return false;
      const r = el.getBoundingClientRect();
      if (r.height > 0 && r.top >= 0 && r.bottom <= window.innerHeight &&
        el.contains(document.elementFromPoint((r.left + r.right) / 2, (r.top + r.bottom) / 2))) return true;
      el.scrollIntoView({ block: 'center' });
      return false;
    }, [n, selector]);
    await page.waitForTimeout(200); // let a scroll settle and paint
    if (shown) return true;
  }
  return false;
}

async function checkSimulate(page) {
  // The gallery (last image output) must be a loaded, visible image.
  const imgs = page.locator('.jp-RenderedImage img');
  const nImg = await imgs.count();
  if (nImg < 2) throw new Error(`expected the population and gallery figures as images, found ${nImg} <img> outputs`);
  const gallery = imgs.nth(nImg - 1);
  await gallery.scrollIntoViewIfNeeded();
  await gallery.waitFor({ state: 'visible', timeout: 10000 });
  const size = await gallery.evaluate((el) => ({ w: el.naturalWidth, h: el.naturalHeight, complete: el.complete }));
  if (!size.complete || size.w < 100 || size.h < 50) throw new Error(`gallery image not rendered: ${JSON.stringify(size)}`);
  const shot = path.join(outDir, 'simulate.png');
  await page.screenshot({ path: shot });
  return `${nImg} images rendered (gallery ${size.w}x${size.h} px); screenshot ${path.relative(root, shot)}`;
}

// watchTraining installs, before Run All, a sampler in the page that every 100 ms (and on
// every DOM change) records, per code cell, the distinct loss-plot images (<img alt="loss
// curves"> in the cell's outputs, counted only once loaded) and status lines, and whether
// the cell was running when each was first seen. tick() runs in the test's wait loop: the
// first time a loss plot is on screen while its cell is still running, it scrolls the plot
// into view and saves out/browser/train-live.png.
async function watchTraining(page) {
  await page.evaluate(() => {
    const live = { cells: {}, samples: 0 };
    window.__lenssbiLive = live;
    // FNV-1a over the data URL: a cheap fingerprint of the rendered image.
    const fnv = (s) => {
      let h = 0x811c9dc5;
      for (let i = 0; i < s.length; i++) { h ^= s.charCodeAt(i); h = Math.imul(h, 0x01000193); }
      return (h >>> 0).toString(16).padStart(8, '0');
    };
    const sample = () => {
      const w = window.jupyterapp.shell.currentWidget;
      if (!w?.content) return;
      live.samples++;
      const cells = [...w.content.widgets].filter((c) => c.model.type === 'code');
      cells.forEach((c, i) => {
        // The live display: an HTML output led by the status line ("epoch 2/3 · ...").
        const disp = [...c.node.querySelectorAll('.jp-OutputArea-output.jp-RenderedHTMLCommon')]
          .find((el) => /^epoch \d+\/\d+/.test(el.querySelector('div')?.textContent?.trim() ?? ''));
        if (!disp) return;
        const running = !!c.node.querySelector('.jp-InputPrompt')?.textContent.includes('*');
        const st = (live.cells[i + 1] ??= { plots: [], status: [], running: false, t0: Date.now() });
        st.running = running;
        const line = disp.querySelector('div').textContent.trim();
        if (st.status.at(-1) !== line) st.status.push(line);
        const img = disp.querySelector('img[alt="loss curves"]');
        if (!img || !img.complete || img.naturalWidth === 0 || !img.src.startsWith('data:image/png')) return;
        const key = `${img.src.length}:${fnv(img.src)}`;
        if (st.plots.at(-1)?.key === key) return;
        st.plots.push({ key, running, w: img.naturalWidth, h: img.naturalHeight, t: (Date.now() - st.t0) / 1000 });
      });
    };
    live.timer = setInterval(sample, 100);
    live.observer = new MutationObserver(sample);
    live.observer.observe(window.jupyterapp.shell.currentWidget.content.node, { childList: true, subtree: true, attributes: true, attributeFilter: ['src'] });
    live.stop = () => { clearInterval(live.timer); live.observer.disconnect(); sample(); };
  });
  const shot = path.join(outDir, 'train-live.png');
  const w = { shot, taken: null };
  // A cell in mid-training, as [cell, plots] or null: it is running, shows a loss plot,
  // and its status line reports a batch of an epoch in progress.
  const runningPlot = () => page.evaluate(() => {
    const e = Object.entries(window.__lenssbiLive.cells)
      .find(([, s]) => s.running && s.plots.length && / · batch \d+\/\d+/.test(s.status.at(-1) ?? ''));
    return e ? [Number(e[0]), e[1].plots.length] : null;
  });
  w.tick = async () => {
    if (w.taken) return;
    const rp = await runningPlot();
    if (!rp) return;
    const [cell] = rp;
    const inView = await showOutput(page, cell, '.jp-OutputArea-output:has(> img[alt="loss curves"])');
    await page.screenshot({ path: shot });
    // Keep the shot only if the plot was in view and its cell still running after it.
    const after = await runningPlot();
    if (inView && after && after[0] === cell) {
      w.taken = { cell };
      log(`02-train: live loss plot of code cell ${cell} on screen in mid-training; screenshot ${path.relative(root, shot)}`);
    }
  };
  return w;
}

async function checkTrain(page, ctx) {
  const live = await page.evaluate(() => {
    const l = window.__lenssbiLive;
    l.stop();
    return { cells: l.cells, samples: l.samples };
  });
  const report = [];
  let moved = 0;
  for (const [cell, st] of Object.entries(live.cells)) {
    const whileRunning = new Set(st.plots.filter((p) => p.running).map((p) => p.key)).size;
    moved = Math.max(moved, whileRunning);
    report.push(`code cell ${cell}: ${st.plots.length} plot states (${whileRunning} while running, at ${st.plots.map((p) => `${p.t.toFixed(1)}s`).join(', ')}), ${st.status.length} status lines`);
  }
  log(`02-train live loss plots (${live.samples} samples):\n    ${report.join('\n    ') || 'none seen'}`);
  if (moved < 2) throw new Error(`the live loss curve did not move: no training cell showed two distinct loss plots while it ran (${report.join('; ') || 'no loss plot seen'})`);
  if (!ctx.live.taken) throw new Error('no loss plot was on screen while its cell was still running (no mid-training screenshot)');

  // The end state: every training cell shows its final loss plot, the loss-curve figure
  // (an image/png output) and the two tables (the card and the metrics) are rendered.
  const cells = await renderedImages(page);
  const lossCells = cells.filter((c) => c.imgs.some((i) => i.alt === 'loss curves'));
  const trainCells = Object.keys(live.cells).map(Number);
  for (const n of trainCells) {
    const c = cells[n - 1];
    const img = c.imgs.find((i) => i.alt === 'loss curves');
    if (!img || !img.complete || img.w < 100 || img.h < 50) throw new Error(`code cell ${n} lost its loss plot at the end: ${JSON.stringify(img)}`);
  }
  if (lossCells.length < 3) throw new Error(`expected the live loss plots of the three training runs, found them in ${lossCells.length} cells`);
  const figs = cells.flatMap((c) => c.imgs.filter((i) => i.alt !== 'loss curves').map((i) => ({ ...i, cell: c.cell })));
  const fig = figs.at(-1);
  if (!fig || !fig.complete || fig.w < 200 || fig.h < 100) throw new Error(`the loss-curve figure is not rendered: ${JSON.stringify(figs)}`);
  const tables = cells.reduce((n, c) => n + c.tables, 0);
  if (tables < 2) throw new Error(`expected the card and metrics tables, found ${tables} tables`);
  if (!await showOutput(page, fig.cell, '.jp-OutputArea-output.jp-RenderedImage')) throw new Error(`could not scroll the loss-curve figure of code cell ${fig.cell} into view`);
  const shot = path.join(outDir, 'train.png');
  await page.screenshot({ path: shot });
  const states = Object.values(live.cells).reduce((n, s) => n + s.plots.length, 0);
  return `live loss plots in code cells ${trainCells.join(', ')}, ${states} distinct plot states (at most ${moved} in one cell while it ran); ` +
    `loss-curve figure ${fig.w}x${fig.h} px; ${tables} tables; screenshots ${path.relative(root, ctx.live.shot)}, ${path.relative(root, shot)}`;
}

async function main() {
  mkdirSync(outDir, { recursive: true });
  for (const f of ['failure.png', 'failure.html']) rmSync(path.join(outDir, f), { force: true });
  const wanted = (process.env.NOTEBOOKS || '').split(',').map((s) => s.trim()).filter(Boolean);
  const specs = wanted.length ? wanted.map((w) => {
    const s = SPECS.find((x) => x.path === w || path.basename(x.path, '.ipynb') === w || x.path.includes(w));
    if (!s) throw new Error(`NOTEBOOKS: unknown notebook ${w} (known: ${SPECS.map((x) => x.path).join(', ')})`);
    return s;
  }) : SPECS;
  const before = new Map(specs.map((s) => [s.path, sha(path.join(root, s.path))]));

  // JupyterLab user settings in a throw-away directory: autosave off, so the notebooks on
  // disk cannot change; workspaces there too, so nothing is written to ~/.jupyter.
  const scratch = mkdtempSync(path.join(tmpdir(), 'lenssbi-browser-'));
  const settings = path.join(scratch, 'settings', '@jupyterlab', 'docmanager-extension');
  mkdirSync(settings, { recursive: true });
  writeFileSync(path.join(settings, 'plugin.jupyterlab-settings'), JSON.stringify({ autosave: false }));
  // No "get notified about Jupyter news?" toast over the screenshots (and no request out).
  const notes = path.join(scratch, 'settings', '@jupyterlab', 'apputils-extension');
  mkdirSync(notes, { recursive: true });
  writeFileSync(path.join(notes, 'notification.jupyterlab-settings'), JSON.stringify({ fetchNews: 'false', checkForUpdates: false }));
  mkdirSync(path.join(scratch, 'workspaces'));

  const port = await freePort();
  const token = randomBytes(16).toString('hex');
  const venv = path.join(root, '.venv');
  const env = {
    ...process.env,
    PATH: `${path.join(root, 'bin')}:${path.join(venv, 'bin')}:${process.env.PATH}`,
    JUPYTER_PATH: path.join(venv, 'share', 'jupyter'),
    JUPYTERLAB_SETTINGS_DIR: path.join(scratch, 'settings'),
    JUPYTERLAB_WORKSPACES_DIR: path.join(scratch, 'workspaces'),
    GOEXPERIMENT: 'simd',
    LENSSBI_QUICK: '1',
  };
  const args = ['lab', '--no-browser', `--port=${port}`, '--ServerApp.ip=127.0.0.1',
    `--IdentityProvider.token=${token}`, `--notebook-dir=${root}`, '--LabApp.expose_app_in_browser=True',
    '--ServerApp.port_retries=0',
    // Checkpoints (written when a notebook is opened) go to the scratch directory, not
    // into an .ipynb_checkpoints folder beside the notebook.
    `--FileCheckpoints.checkpoint_dir=${path.join(scratch, 'checkpoints')}`];
  if (process.getuid && process.getuid() === 0) args.push('--allow-root');
  const logFile = createWriteStream(path.join(outDir, 'jupyter.log'));
  log(`starting JupyterLab on 127.0.0.1:${port}`);
  const server = spawn(path.join(venv, 'bin', 'jupyter'), args, { cwd: root, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  server.stdout.pipe(logFile);
  server.stderr.pipe(logFile);

  let browser;
  let failure = null;
  try {
    const base = `http://127.0.0.1:${port}`;
    await waitForServer(`${base}/api/status?token=${token}`, server, 60000);
    log('JupyterLab is up; launching Chromium');
    browser = await chromium.launch({
      executablePath: chromiumPath,
      headless: true,
      args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage',
        '--disable-background-networking', '--disable-extensions', '--no-first-run',
        '--disable-component-update', '--disable-sync', '--metrics-recording-only', '--mute-audio'],
    });
    for (const spec of specs) {
      await runNotebook(browser, base, token, spec);
      await shutdownKernels(base, token);
    }
  } catch (e) {
    failure = e;
  } finally {
    if (browser) await browser.close().catch(() => {});
    await stopServer(server);
    rmSync(scratch, { recursive: true, force: true });
  }
  if (!failure) {
    const changed = specs.filter((s) => sha(path.join(root, s.path)) !== before.get(s.path)).map((s) => s.path);
    if (changed.length) failure = new Error(`modified on disk by the browser run: ${changed.join(', ')}`);
  }
  if (failure) {
    console.error(`browser test FAILED: ${failure.message}\n(JupyterLab log: out/browser/jupyter.log; screenshot: out/browser/failure.png; outputs: out/browser/failure.html)`);
    process.exit(1);
  }
  log(`JupyterLab stopped; ${specs.length} notebooks unchanged on disk`);
}

main().catch((e) => { console.error(`browser test FAILED: ${e.stack || e}`); process.exit(1); });
