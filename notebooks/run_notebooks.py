#!/usr/bin/env python3
"""Execute GoNB notebooks headless and check their outputs.

Usage: run_notebooks.py [--inplace | --out DIR] [--timeout S] DIR_OR_NOTEBOOK...

Every notebook runs in its own kernel with its directory as working
directory. A cell error fails the run. Cells tagged (cell metadata "tags")
"expect-png" must produce an image/png output and cells tagged
"expect-table" an HTML output holding a <table>. With --inplace the executed
notebook replaces the original; otherwise it is written under --out and the
original is left untouched.
"""
import argparse
import pathlib
import sys
import time

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError


def outputs_with(cell, mime):
    return [o for o in cell.get("outputs", []) if mime in o.get("data", {})]


def check(nb, name):
    problems = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        tags = cell.get("metadata", {}).get("tags", [])
        if "expect-png" in tags and not outputs_with(cell, "image/png"):
            problems.append(f"{name}: cell {i} (tag expect-png) has no image/png output")
        if "expect-table" in tags and not any(
            "<table" in "".join(o["data"]["text/html"]) for o in outputs_with(cell, "text/html")
        ):
            problems.append(f"{name}: cell {i} (tag expect-table) has no HTML table output")
        for o in cell.get("outputs", []):
            if o.get("output_type") == "error":
                problems.append(f"{name}: cell {i} raised {o.get('ename')}: {o.get('evalue')}")
    return problems


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("paths", nargs="+")
    ap.add_argument("--inplace", action="store_true")
    ap.add_argument("--out", default="out/notebooks")
    ap.add_argument("--timeout", type=int, default=1200, help="seconds per cell")
    ap.add_argument("--kernel", default="gonb")
    a = ap.parse_args()

    nbs = []
    for p in map(pathlib.Path, a.paths):
        if p.is_dir():
            nbs += sorted(p.glob("*.ipynb"))
        elif p.suffix == ".ipynb":
            nbs.append(p)
    if not nbs:
        print("no notebooks found in", " ".join(a.paths))
        return 0
    failed = []
    for path in nbs:
        t0 = time.time()
        nb = nbformat.read(path, as_version=4)
        client = NotebookClient(
            nb, timeout=a.timeout, kernel_name=a.kernel,
            resources={"metadata": {"path": str(path.parent.resolve())}},
        )
        err = None
        try:
            client.execute()
        except CellExecutionError as e:
            err = str(e).strip().splitlines()
            err = "\n".join(err[-15:])
        except Exception as e:  # kernel died, timeout
            err = f"{type(e).__name__}: {e}"
        problems = check(nb, str(path))
        if err:
            problems.insert(0, f"{path}: {err}")
        dest = path if a.inplace else pathlib.Path(a.out) / path.parent.name / path.name
        if not a.inplace or not problems:
            dest.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, dest)
        status = "FAILED" if problems else "ok"
        print(f"{status:6s} {path} ({time.time() - t0:.0f}s) -> {dest if (not a.inplace or not problems) else 'not saved'}", flush=True)
        for p in problems:
            print("   ", p, flush=True)
        if problems:
            failed.append(path)
    if failed:
        print(f"{len(failed)} of {len(nbs)} notebooks failed", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
