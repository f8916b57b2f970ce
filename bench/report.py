"""How fast a report of a few thousand records is built and opened.

    .venv/bin/python bench/report.py [--records 3000]

Prints build time, file size and Chromium's load time (navigation to load event), beside a
100-record report as the baseline in the same run.
"""

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cors_matrix.engines import EnginePool  # noqa: E402
from cors_matrix.report import write_report  # noqa: E402
from cors_matrix.run.results import SCHEMA  # noqa: E402


def records(n: int):
    browsers = ["chromium", "firefox", "webkit"]
    for i in range(n):
        outcome = "ok" if i % 7 else "cors-error"
        observed = {
            "outcome": outcome,
            "status": 200,
            "headers": {"X-Total": "3"},
            "preflights": i % 2,
            "requests": 1,
            "cookies_received": ["sid"],
            "authorization_received": False,
        }
        yield {
            "schema": SCHEMA,
            "scenario": f"scenario-{i // 30}",
            "probe": f"probe-{(i // 3) % 10}",
            "browser": browsers[i % 3],
            "browser_version": "1",
            "cookie_policy": "block-third-party",
            "theme": f"theme-{i // 300}",
            "page": "app",
            "page_origin": "http://localhost:1",
            "url": f"http://localhost:2/data?cm_probe={i}",
            "request": {"method": "GET"},
            "observed": observed,
            "expected": {**observed, "reasons": ["x"] * 3, "differences": []},
            "verdict": "match" if i % 11 else "diverge",
            "reason": "r",
            "spec_agrees_with_expected": True,
            "ledger": [
                {
                    "method": "GET",
                    "path": "/data",
                    "preflight": False,
                    "status": 200,
                    "origin": "o",
                    "cookies": ["sid"],
                    "authorization": False,
                    "response_headers": {"access-control-allow-origin": ["o"]},
                }
            ],
        }


def measure(n: int, tmp: Path, page) -> tuple[float, float, float]:
    src = tmp / f"r{n}.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in records(n)))
    started = time.monotonic()
    write_report([src], tmp / f"out{n}")
    build = time.monotonic() - started
    index = tmp / f"out{n}" / "index.html"
    started = time.monotonic()
    page.goto(index.as_uri())
    load = time.monotonic() - started
    return build, load, index.stat().st_size / 1e6


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=3000)
    args = parser.parse_args()
    pool = EnginePool()
    try:
        page = pool.get("chromium", "block-third-party").new_page()
        with tempfile.TemporaryDirectory() as tmp:
            print(f"{'records':>8} {'build s':>8} {'load s':>8} {'MB':>6}")
            for n in (100, args.records):
                build, load, size = measure(n, Path(tmp), page)
                print(f"{n:>8} {build:>8.2f} {load:>8.2f} {size:>6.1f}")
        page.close()
    finally:
        pool.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
