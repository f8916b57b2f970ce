"""Shared helpers for the harness's own tests, and the test tiers.

Tiers: a test is `slow` (it starts processes: pytest runs, `check` runs, engines, venvs,
nginx, a Grid) unless its module is one of PURE_MODULES or the test is marked `unit`.
`make unit` runs `-m "not slow"` between two edits; `make test` runs everything, on two
xdist workers with `--dist loadfile`: a module's tests stay on one worker, so a module fixture
(a built wheel, a Grid, venvs, a run of scenarios) is built once. (`--dist loadgroup` with
xdist_group marks does not group under pytest 9.2 and xdist 3.8: xdist renames `item._nodeid`,
which pytest 9 no longer reads, so every module fixture was built on both workers.)
"""

import fcntl
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]
ROOT = Path(__file__).resolve().parent.parent
CATALOGUE_RUN = "CORS_MATRIX_TEST_CATALOGUE"
"""`make test` runs the whole catalogue first and names its records file here; tests that need
a run of catalogue scenarios read theirs from it instead of running them again."""

PURE_MODULES = {"test_claims", "test_docs", "test_http_cache", "test_layout",
                "test_loader_properties", "test_oracle", "test_results", "test_scenario",
                "test_starlette_model"}  # fmt: skip


def pytest_collection_modifyitems(config, items):
    for item in items:
        module = item.path.stem if item.path.suffix == ".py" else None
        if module is None or module in PURE_MODULES or item.get_closest_marker("unit"):
            continue
        item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """pytest-playwright's `page` in Debian's Chromium (no Playwright build can be downloaded
    here), as a user of both plugins configures it."""
    from cors_matrix.engines import SYSTEM_CHROMIUM

    return {**browser_type_launch_args, "executable_path": SYSTEM_CHROMIUM}


@pytest.fixture
def write_scenario(tmp_path):
    """Write a scenario file and return its path."""

    def write(text: str, name: str = "test_example.toml"):
        path = tmp_path / name
        path.write_text(text)
        return path

    return write


def shared_catalogue_records(paths: list[str], browsers: set[str]) -> list[dict] | None:
    """The records of `make test`'s own catalogue run (this tree, this machine, minutes ago) for
    the scenario files under `paths` (relative to the checkout) in `browsers`, under the default
    cookie policy; None when no such run is named (then the test runs the cells itself).

    A run named but missing a file or an engine fails the test: reading a partial run would
    check less without saying so."""
    named = os.environ.get(CATALOGUE_RUN)
    if not named:
        return None
    wanted = set()
    for path in paths:
        where = ROOT / path
        wanted |= {where} if where.is_file() else set(where.rglob("test_*.toml"))
    records = []
    for line in Path(named).read_text().splitlines():
        record = json.loads(line)
        if (Path(record["source"]).resolve() in wanted and record["browser"] in browsers
                and record["cookie_policy"] == "block-third-party"):  # fmt: skip
            records.append(record)
    seen = {(Path(r["source"]).resolve(), r["browser"]) for r in records}
    missing = {(w, b) for w in wanted for b in browsers} - seen
    assert not missing, f"{named} has no cells of {sorted(missing)[:3]}"
    return records


@pytest.fixture(scope="session")
def built_dist(tmp_path_factory) -> Path:
    """The sdist, and the wheel built from that sdist (so the sdist must carry the page): built
    once per session, also across xdist workers (they share the base temp's parent)."""
    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent
    out = shared / "dist"
    with open(shared / "dist.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (out / "built").exists():
            command = [sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)]
            built = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
            assert built.returncode == 0, (built.stdout + built.stderr)[-4000:]
            (out / "built").touch()
    return out
