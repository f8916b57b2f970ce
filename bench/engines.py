"""Per engine: cold start (launch to first usable page) and per-probe time, printed as a table.

    .venv/bin/python bench/engines.py [--probes 30] [--browser chromium ...]

Numbers, not assertions: run on the 2-core reference machine and compare engines in one run.
Per-probe time is one cell as the harness runs it (fresh page, navigate, probe, ledger read)
and, beside it, a bare probe (one more fetch in an already open page).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cors_matrix.engines import EnginePool  # noqa: E402
from cors_matrix.engines.base import BROWSERS, EngineUnavailable  # noqa: E402
from cors_matrix.run.probe import RUN_SERIES_JS, run_cell  # noqa: E402
from cors_matrix.scenario import parse_scenario  # noqa: E402
from cors_matrix.serve.probe_page import probe_page_dir  # noqa: E402
from cors_matrix.serve.servers import host_process, host_spec  # noqa: E402

SCENARIO = parse_scenario(
    {"server": {"allow_origins": ["{app}"]}, "probe": [{"name": "get"}]}, "bench", "bench"
)


def ms(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:7.1f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--probes", type=int, default=30)
    parser.add_argument("--browser", action="append", choices=BROWSERS)
    args = parser.parse_args()
    probe = SCENARIO.probes[0]
    rows = []
    with (
        tempfile.TemporaryDirectory() as tmp,
        host_process(host_spec([SCENARIO], probe_page_dir()), Path(tmp)) as host,
    ):
        api = host.api(SCENARIO.name)
        for name in args.browser or BROWSERS:
            pool = EnginePool()
            try:
                pool._pw()  # Playwright's driver start is shared by engines; not a cold start
                started = time.monotonic()
                try:
                    engine = pool.get(name, "block-third-party")
                except EngineUnavailable as exc:
                    rows.append((name, "not run", str(exc), "", ""))
                    continue
                page = engine.new_page()
                page.goto(host.pages["app"] + "/")
                page.run(RUN_SERIES_JS, {"specs": [{"url": api + "/data"}], "delayMs": 0})
                cold = time.monotonic() - started
                bare = []
                for _ in range(args.probes):
                    t = time.monotonic()
                    page.run(RUN_SERIES_JS, {"specs": [{"url": api + "/data"}], "delayMs": 0})
                    bare.append(time.monotonic() - t)
                page.close()
                cells = []
                for _ in range(args.probes):
                    t = time.monotonic()
                    run_cell(engine, host.pages, api, SCENARIO, probe, host.ledger)
                    cells.append(time.monotonic() - t)
                version = f"{engine.info.version} ({engine.info.driver})"
                rows.append((name, version, f"{cold * 1000:7.0f}", ms(bare), ms(cells)))
            finally:
                pool.close()
    print(
        f"{'engine':10} {'version (driver)':32} {'cold ms':>8} {'bare probe ms':>14} {'cell ms':>8}"
    )
    for name, version, cold, bare, cell in rows:
        print(f"{name:10} {version:32} {cold:>8} {bare:>14} {cell:>8}")
    print(f"(median of {args.probes}; cell = fresh page + navigate + probe + ledger read)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
