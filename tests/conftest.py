"""Shared helpers for the harness's own tests, and the test tiers.

Tiers: a test is `slow` (it starts processes: pytest runs, `check` runs, engines, venvs,
nginx, a Grid) unless its module is one of PURE_MODULES or the test is marked `unit`.
`make unit` runs `-m "not slow"` between two edits; `make test` runs everything, on two
xdist workers with `--dist loadfile`: a module's tests stay on one worker, so a module fixture
(a built wheel, a Grid, venvs, a run of scenarios) is built once. (`--dist loadgroup` with
xdist_group marks does not group under pytest 9.2 and xdist 3.8: xdist renames `item._nodeid`,
which pytest 9 no longer reads, so every module fixture was built on both workers.)
"""

import pytest

pytest_plugins = ["pytester"]

PURE_MODULES = {"test_claims", "test_docs", "test_layout", "test_loader_properties", "test_oracle",
                "test_results", "test_scenario", "test_starlette_model"}  # fmt: skip


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
