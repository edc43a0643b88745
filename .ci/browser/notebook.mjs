// Real-browser test of the notebooks: start JupyterLab with the project's GoNB kernel,
// open notebooks/01-simulate.ipynb in headless Chromium, run every cell through the
// Run menu, wait until the kernel is idle, and check that the lens gallery is rendered
// as an image and that no cell failed. Saves a screenshot to out/browser/simulate.png.
// The notebook is never saved (autosave is switched off) and its bytes are checked to be
// unchanged at the end.
//
// Usage (from the repository root, after `make notebook-env` and `npm ci` here):
//   node .ci/browser/notebook.mjs
// Environment: CHROMIUM (default /usr/bin/chromium), NOTEBOOK (default
// notebooks/01-simulate.ipynb), BROWSER_TIMEOUT_S (default 150).
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, createWriteStream } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const notebook = process.env.NOTEBOOK || 'notebooks/01-simulate.ipynb';
const chromiumPath = process.env.CHROMIUM || '/usr/bin/chromium';
const timeoutMs = 1000 * Number(process.env.BROWSER_TIMEOUT_S || 150);
const outDir = path.join(root, 'out', 'browser');
const shot = path.join(outDir, 'simulate.png');
const t0 = Date.now();
const log = (...a) => console.log(`[browser-test ${((Date.now() - t0) / 1000).toFixed(1)}s]`, ...a);

const sha = (p) => createHash('sha256').update(readFileSync(p)).digest('hex');

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
    await new Promise((r) => setTimeout(r, 300));
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

async function main() {
  mkdirSync(outDir, { recursive: true });
  const nbPath = path.join(root, notebook);
  const before = sha(nbPath);

  // JupyterLab user settings in a throw-away directory: autosave off, so the notebook on
  // disk cannot change; workspaces there too, so nothing is written to ~/.jupyter.
  const scratch = mkdtempSync(path.join(tmpdir(), 'lenssbi-browser-'));
  const settings = path.join(scratch, 'settings', '@jupyterlab', 'docmanager-extension');
  mkdirSync(settings, { recursive: true });
  writeFileSync(path.join(settings, 'plugin.jupyterlab-settings'), JSON.stringify({ autosave: false }));
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
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const consoleErrors = [];
    page.on('pageerror', (e) => consoleErrors.push(String(e)));

    await page.goto(`${base}/lab/tree/${notebook}?token=${token}`, { timeout: 60000 });
    await page.locator('.jp-NotebookPanel .jp-Cell').first().waitFor({ timeout: 60000 });
    log('notebook open; waiting for the Go kernel');
    // GoNB reports its status only around executions, so before the first one the
    // kernel may read 'unknown': wait for a connected kernel that is not starting.
    const kernelState = () => page.evaluate(() => {
      const k = window.jupyterapp?.shell?.currentWidget?.sessionContext?.session?.kernel;
      return k ? `${k.connectionStatus}/${k.status}` : 'none';
    });
    const kernelEnd = Date.now() + 60000;
    let ks;
    while (!/^connected\/(idle|unknown)$/.test(ks = await kernelState())) {
      if (Date.now() > kernelEnd) throw new Error(`the kernel did not connect (state ${ks}); is the gonb kernel spec installed (make notebook-env)?`);
      await page.waitForTimeout(300);
    }

    // Clear the committed outputs in the page (not on disk), so that only outputs of
    // this run can satisfy the checks below.
    await page.evaluate(() => window.jupyterapp.commands.execute('notebook:clear-all-cell-outputs'));
    const stale = await page.locator('.jp-RenderedImage img').count();
    if (stale) throw new Error(`${stale} images left after clearing the outputs`);
    log(`kernel ${ks}; outputs cleared; Run > Run All Cells`);
    await page.locator('.lm-MenuBar-itemLabel', { hasText: /^Run$/ }).click();
    await page.locator('.lm-Menu-itemLabel', { hasText: /^Run All Cells$/ }).click();

    // Wait until every code cell has run and the kernel is idle again.
    const progress = () => page.evaluate(() => {
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
    const runEnd = Date.now() + timeoutMs;
    let p;
    let last = -1;
    for (;;) {
      p = await progress();
      if (p.errors.length) throw new Error(`a cell failed:\n  ${p.errors.join('\n  ')}`);
      if (p.done !== last) { log(`${p.done}/${p.total} code cells done (kernel ${p.status})`); last = p.done; }
      if (p.done === p.total && p.status === 'idle') break;
      if (Date.now() > runEnd) throw new Error(`timed out after ${timeoutMs / 1000}s with ${p.done}/${p.total} code cells done (kernel ${p.status})`);
      await page.waitForTimeout(500);
    }

    // The gallery (last image/png output) must be a loaded, visible image.
    const imgs = page.locator('.jp-RenderedImage img');
    const nImg = await imgs.count();
    if (nImg < 2) throw new Error(`expected the population and gallery figures as images, found ${nImg} <img> outputs`);
    const gallery = imgs.nth(nImg - 1);
    await gallery.scrollIntoViewIfNeeded();
    await gallery.waitFor({ state: 'visible', timeout: 10000 });
    const size = await gallery.evaluate((el) => ({ w: el.naturalWidth, h: el.naturalHeight, complete: el.complete }));
    if (!size.complete || size.w < 100 || size.h < 50) throw new Error(`gallery image not rendered: ${JSON.stringify(size)}`);

    // No stderr output that looks like a Go error, panic or traceback.
    const stderr = await page.locator('.jp-RenderedText[data-mime-type="application/vnd.jupyter.stderr"]').allTextContents();
    const bad = stderr.filter((t) => /panic|error|traceback|exit status|failed/i.test(t));
    if (bad.length) throw new Error(`error output in the notebook:\n${bad.map((t) => t.slice(0, 600)).join('\n---\n')}`);
    if (consoleErrors.length) log(`page errors (not fatal): ${consoleErrors.slice(0, 3).join(' | ')}`);

    await page.screenshot({ path: shot });
    log(`OK: ${p.total} code cells ran, ${nImg} images rendered (gallery ${size.w}x${size.h} px); screenshot ${path.relative(root, shot)}`);
  } catch (e) {
    failure = e;
    if (browser) {
      try {
        const pages = browser.contexts().flatMap((c) => c.pages());
        if (pages.length) await pages[0].screenshot({ path: path.join(outDir, 'failure.png') });
      } catch { /* best effort */ }
    }
  } finally {
    if (browser) await browser.close().catch(() => {});
    await stopServer(server);
    rmSync(scratch, { recursive: true, force: true });
  }
  if (!failure && sha(nbPath) !== before) failure = new Error(`${notebook} was modified on disk by the browser run`);
  if (failure) {
    console.error(`browser test FAILED: ${failure.message}\n(JupyterLab log: out/browser/jupyter.log; screenshot: out/browser/failure.png)`);
    process.exit(1);
  }
  log('JupyterLab stopped; notebook unchanged');
}

main().catch((e) => { console.error(`browser test FAILED: ${e.stack || e}`); process.exit(1); });
