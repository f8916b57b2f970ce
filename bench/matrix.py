"""The performance targets side by side, measured in one run on this machine:

    .venv/bin/python bench/matrix.py [--probes 40] [--scales 1 2 4] [--browser chromium ...]

1. Per engine: the floor (a bare page.evaluate(fetch) against a bare uvicorn endpoint on
   loopback, in an already open page; for WebKit the same through WebDriver) and the harness's
   cost per cell (run_cell with reused pages: probe, ledger read, record assembly), and their
   ratio. Target: ratio <= 2.
2. The full default matrix (scenarios/ x the three engines, one cookie policy) as `pytest`
   runs it: wall time from the first cell to the last (set-up - host start, first engine
   launch - excluded and shown apart), and the peak RSS of the whole process tree.
3. The scaling series: the catalogue copied 1x, 2x, 4x (scenario names suffixed), the same
   wall time, and the per-cell cost, which should stay flat.
Numbers, not assertions; deterministic inputs; loopback only.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cors_matrix.engines import EnginePool  # noqa: E402
from cors_matrix.engines.base import BROWSERS, EngineUnavailable  # noqa: E402
from cors_matrix.run.probe import PageCache, run_cell  # noqa: E402
from cors_matrix.scenario import parse_scenario  # noqa: E402
from cors_matrix.serve.nginx import free_port  # noqa: E402
from cors_matrix.serve.probe_page import probe_page_dir  # noqa: E402
from cors_matrix.serve.servers import answers, host_process, host_spec  # noqa: E402

SCENARIO = parse_scenario(
    {"server": {"allow_origins": ["{app}"]}, "probe": [{"name": "get"}]}, "bench", "bench"
)
BARE_FETCH = """async (url) => {
  const r = await fetch(url);
  return [r.status, await r.text()];
}"""
BARE_APP = """
import sys, uvicorn
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import HTMLResponse, JSONResponse
from starlette.routing import Route
async def page(request): return HTMLResponse("<!doctype html><title>floor</title>")
async def data(request): return JSONResponse({"ok": True})
app = Starlette(routes=[Route("/", page), Route("/data", data)],
                middleware=[Middleware(CORSMiddleware, allow_origins=["*"])])
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
"""


def median_ms(values: list[float]) -> float:
    return statistics.median(values) * 1000


def bare_servers() -> tuple[list[subprocess.Popen], str, str]:
    """Two bare uvicorn processes: a page origin and an API origin (a cross-origin fetch)."""
    page_port, api_port = free_port(), free_port()
    procs = [
        subprocess.Popen([sys.executable, "-c", BARE_APP, str(p)]) for p in (page_port, api_port)
    ]
    for port in (page_port, api_port):
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not answers(f"http://127.0.0.1:{port}/"):
            time.sleep(0.1)
    return procs, f"http://localhost:{page_port}", f"http://127.0.0.1:{api_port}"


IN_PAGE = """async (url) => {
  const out = {};
  let s = performance.now();
  for (let i = 0; i < 20; i++) { const r = await fetch(url + "&a=" + i); await r.text(); }
  out.fetch = (performance.now() - s) / 20;
  s = performance.now();
  for (let i = 0; i < 20; i++) { await window.corsProbe({url: url + "&b=" + i}); }
  out.probe = (performance.now() - s) / 20;
  return out;
}"""


def per_probe(browsers: list[str], probes: int) -> list[tuple]:
    rows = []
    procs, bare_page, bare_api = bare_servers()
    try:
        with (
            tempfile.TemporaryDirectory() as tmp,
            host_process(host_spec([SCENARIO], probe_page_dir()), Path(tmp)) as host,
        ):
            api = host.api(SCENARIO.name)
            for name in browsers:
                pool = EnginePool()
                try:
                    try:
                        engine = pool.get(name, "block-third-party")
                    except EngineUnavailable as exc:
                        rows.append((name, None, None, str(exc), None))
                        continue
                    page = engine.new_page()
                    page.goto(bare_page + "/")
                    floor = []
                    for i in range(probes + 3):
                        t = time.monotonic()
                        page.run(BARE_FETCH, f"{bare_api}/data?i={i}")
                        if i >= 3:  # warm-up: connection set-up, JIT
                            floor.append(time.monotonic() - t)
                    page.close()
                    cache, cells = PageCache(), []
                    for i in range(probes + 3):
                        t = time.monotonic()
                        run_cell(engine, host.pages, api, SCENARIO, SCENARIO.probes[0],
                                 host.ledger, page_cache=cache)  # fmt: skip
                        if i >= 3:
                            cells.append(time.monotonic() - t)
                    cache.close()
                    # where the time goes, measured inside the page: a bare fetch to the
                    # harness's API vs the same fetch through window.corsProbe
                    page = engine.new_page()
                    page.goto(host.pages["app"] + "/")
                    page.run(IN_PAGE, f"{api}/data?cm_probe=warm")
                    split = page.run(IN_PAGE, f"{api}/data?cm_probe=split")
                    page.close()
                    rows.append((name, median_ms(floor), median_ms(cells), engine.info.version,
                                 split))  # fmt: skip
                finally:
                    pool.close()
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait()
    return rows


def renamed(text: str, name: str) -> str:
    """The scenario file with [scenario] name set to `name` (other tables untouched)."""
    table = re.search(r"^\[scenario\]\n(.*?)(?=^\[)", text, re.M | re.S)
    if table is None:
        return f'[scenario]\nname = "{name}"\n\n{text}'
    body = table.group(1)
    if re.search(r"^name = ", body, re.M):
        body = re.sub(r'^name = ".*"$', f'name = "{name}"', body, count=1, flags=re.M)
    else:
        body = f'name = "{name}"\n{body}'
    return text[: table.start(1)] + body + text[table.end(1) :]


def scaled_catalogue(factor: int, into: Path) -> int:
    """Copy scenarios/ `factor` times, each copy's scenario names suffixed; return file count."""
    count = 0
    for copy in range(factor):
        for source in sorted((ROOT / "scenarios").rglob("test_*.toml")):
            target = into / f"copy{copy}" / source.parent.name / source.name
            target.parent.mkdir(parents=True, exist_ok=True)
            name = f"{source.parent.name}-{source.stem.removeprefix('test_')}-copy{copy}"
            target.write_text(renamed(source.read_text(), name))
            count += 1
    return count


def matrix_run(path: Path, workdir: Path, extra: list[str]) -> dict:
    """Run pytest on `path`; wall time after the first cell, set-up time, peak tree RSS."""
    results = workdir / "run.jsonl"
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "pytest", str(path), "-q", "-p", "no:cacheprovider",
         "--cors-results", str(results), *extra],
        cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
    )  # fmt: skip
    peak, first = 0, None
    parent = psutil.Process(proc.pid)
    while proc.poll() is None:
        rss = 0
        try:
            for p in [parent, *parent.children(recursive=True)]:
                try:
                    rss += p.memory_info().rss
                except psutil.Error:
                    pass
        except psutil.Error:
            pass
        peak = max(peak, rss)
        if first is None and results.exists() and results.stat().st_size:
            first = time.monotonic()
        time.sleep(0.2)
    ended = time.monotonic()
    records = [json.loads(line) for line in results.read_text().splitlines()]
    first = first or ended
    return {
        "cells": len(records),
        "match": sum(r["verdict"] == "match" for r in records),
        "setup_s": first - started,
        "wall_s": ended - first,
        "peak_mb": peak / 2**20,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--probes", type=int, default=40)
    parser.add_argument("--scales", type=int, nargs="*", default=[1, 2, 4])
    parser.add_argument("--browser", action="append", choices=BROWSERS)
    parser.add_argument("--workers", default=None, help="also run the 1x matrix with -n N")
    args = parser.parse_args()
    browsers = args.browser or list(BROWSERS)
    print(f"machine: {psutil.cpu_count()} CPUs, {psutil.virtual_memory().total / 2**30:.0f} GiB")
    print("\n1. per probe (median; floor = bare fetch in an open page, bare uvicorn)")
    print(f"{'engine':10} {'version':16} {'floor ms':>9} {'harness ms':>11} {'ratio':>6}   "
          f"in page: {'fetch ms':>8} {'corsProbe ms':>12}")  # fmt: skip
    for name, floor, cell, version, split in per_probe(browsers, args.probes):
        if floor is None:
            print(f"{name:10} not run: {version}")
            continue
        print(f"{name:10} {version:16} {floor:9.1f} {cell:11.1f} {cell / floor:6.2f}   "
              f"         {split['fetch']:8.1f} {split['probe']:12.1f}")  # fmt: skip
    engines = [a for b in browsers for a in ("--cors-browser", b)]
    print("\n2./3. the matrix (pytest scenarios/, one cookie policy) and its scaling")
    print(f"{'catalogue':10} {'cells':>6} {'as expected':>11} {'set-up s':>9} {'wall s':>7} "
          f"{'ms/cell':>8} {'peak RSS MB':>12}")  # fmt: skip
    runs = [(f"{s}x", s, []) for s in args.scales]
    if args.workers:
        runs.append((f"1x -n {args.workers}", 1, ["-n", args.workers]))
    for label, scale, extra in runs:
        with tempfile.TemporaryDirectory() as tmp:
            catalogue = Path(tmp) / "catalogue"
            if scale == 1:
                shutil.copytree(ROOT / "scenarios", catalogue)
            else:
                scaled_catalogue(scale, catalogue)
            out = matrix_run(catalogue, Path(tmp), engines + extra)
        per_cell = out["wall_s"] * 1000 / max(out["cells"], 1)
        print(f"{label:10} {out['cells']:6} {out['match']:11} {out['setup_s']:9.1f} "
              f"{out['wall_s']:7.1f} {per_cell:8.1f} {out['peak_mb']:12.0f}")  # fmt: skip
    print("(wall = first cell to end of run; set-up = start to first cell: host, first engine)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
