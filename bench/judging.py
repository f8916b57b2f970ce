"""What judging costs per cell, outside the browser, measured in one run on this machine:

    .venv/bin/python bench/judging.py [--files scenarios/wpt/test_xhr_origin.toml ...]

For each scenario file (default: the three with the most routes), every probe in the three
engines: the cell's oracle context (the route table with the run's origins filled in) and
`expectations()`, as harness/run/cell.py builds them. The baseline fills the placeholders one
string at a time with the `_port` entries worked out again for each string (as the harness
did until 2026-12-05); the harness now works them out once per table (`substitute_all`).
A second table times `expectations()` alone against its baseline as it was until 2026-12-05:
the cell predicted again without each of the engine's differences in turn, read or not (the
harness now does so only for the differences whose parameter the model read).
Numbers, not assertions; loopback origins only, nothing started.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from pathlib import Path

from cors_matrix.judge import oracle
from cors_matrix.scenario import load_scenario
from cors_matrix.scenario.origins import api_origins, substitute, substitute_all, with_ports

DEFAULT_FILES = (
    "scenarios/mozilla/test_crosssitexhr_redirects.toml",
    "scenarios/mozilla/test_crosssitexhr_preflight.toml",
    "scenarios/wpt/test_redirect_referrer_override.toml",
)
PAGES = {"app": "http://localhost:3001", "cross_site": "http://127.0.0.1:3002",
         "attacker": "http://127.0.0.1:3003"}  # fmt: skip
API = "http://localhost:8000"


def one_string_at_a_time(value, origins):
    """The baseline, as the harness did until 2026-12-05: every string, placeholders or not,
    worked out the `_port` entries again before it was filled in."""
    if isinstance(value, str):
        return substitute(value, with_ports(origins))
    if isinstance(value, list):
        return [one_string_at_a_time(v, origins) for v in value]
    if isinstance(value, dict):
        return {k: one_string_at_a_time(v, origins) for k, v in value.items()}
    return value


def every_difference(probe, ctx, engine):
    """The baseline of `expectations()`: every applied difference dropped in turn."""
    spec = oracle.predict(probe, ctx, oracle.spec_profile())
    profile = oracle.engine_profile(engine)
    expected = oracle.predict(probe, ctx, profile)
    relevant = []
    for diff_id in profile.applied:
        without = oracle.spec_profile()
        for d in oracle.differences():
            if engine in d.engines and d.id != diff_id:
                without = replace(without, **{d.parameter: d.value})
        if oracle.predict(probe, ctx, without).compared() != expected.compared():
            relevant.append(diff_id)
    expected.differences = relevant
    return spec, expected


def per_cell_ms(path: Path, fill, expect=None) -> tuple[int, float]:
    """ms per cell for the context and expectations(); with `expect`, for `expect` alone."""
    scenario = load_scenario(path)
    origins = {**PAGES, **api_origins(API)}
    cells, spent = 0, 0.0
    started = time.perf_counter()
    for probe in scenario.probes:
        page = API if probe.page == "api" else PAGES.get(probe.page, PAGES["cross_site"])
        for browser in ("chromium", "firefox", "webkit"):
            ctx = oracle.Context(
                page_origin=page, api_origin=API, origins=origins,
                server_kwargs=fill(scenario.server.middleware_kwargs(), origins),
                routes=fill(scenario.server.route_table(), origins),
                redirect_slashes=scenario.server.redirect_slashes,
                opaque_initiator=probe.page == "sandboxed", **scenario.server.app_shape(),
            )  # fmt: skip
            judged = time.perf_counter()
            try:
                (expect or oracle.expectations)(probe, ctx, browser)
            except (oracle.NotModelled, ValueError):
                pass  # judged as "not modelled" in a run; the cost is what counts here
            spent += time.perf_counter() - judged
            cells += 1
    whole = time.perf_counter() - started
    return cells, (spent if expect else whole) / cells * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", nargs="+", default=list(DEFAULT_FILES))
    args = parser.parse_args()
    print(f"{'file':<52} {'cells':>5} {'baseline ms':>12} {'harness ms':>11} {'ratio':>6}")
    for name in args.files:
        cells, baseline = per_cell_ms(Path(name), one_string_at_a_time)
        _, harness = per_cell_ms(Path(name), substitute_all)
        print(f"{name:<52} {cells:>5} {baseline:>12.2f} {harness:>11.2f} "
              f"{baseline / harness:>6.1f}")  # fmt: skip
    print(f"\nexpectations() alone\n{'file':<52} {'cells':>5} {'baseline ms':>12} "
          f"{'harness ms':>11} {'ratio':>6}")  # fmt: skip
    for name in args.files:
        cells, baseline = per_cell_ms(Path(name), substitute_all, every_difference)
        _, harness = per_cell_ms(Path(name), substitute_all, oracle.expectations)
        print(f"{name:<52} {cells:>5} {baseline:>12.2f} {harness:>11.2f} "
              f"{baseline / harness:>6.1f}")  # fmt: skip


if __name__ == "__main__":
    main()
