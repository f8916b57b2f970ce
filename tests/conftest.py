"""Shared helpers for the harness's own tests, and the test tiers.

Tiers: a test is `slow` (it starts processes: pytest runs, `check` runs, engines, venvs,
nginx, a Grid) unless its module is one of PURE_MODULES or the test is marked `unit`.
`make unit` runs `-m "not slow"` between two edits; `make test` runs everything, on two
xdist workers (most slow tests wait on processes, not on the CPU).
"""

import pytest

pytest_plugins = ["pytester"]

PURE_MODULES = {"test_claims", "test_docs", "test_layout", "test_loader_properties", "test_oracle",
                "test_results", "test_scenario", "test_starlette_model"}  # fmt: skip


# modules whose tests share an expensive module fixture (a built wheel, a Grid, venvs, a run of
# scenarios): under `-n 2 --dist loadgroup` each stays on one worker, so it is built once
SHARED_FIXTURE_MODULES = {"test_causes", "test_engines", "test_grid", "test_harness_security",
                          "test_install_as_user", "test_nightly", "test_report",
                          "test_starlette_releases"}  # fmt: skip


def pytest_collection_modifyitems(config, items):
    for item in items:
        module = item.path.stem if item.path.suffix == ".py" else None
        if module in SHARED_FIXTURE_MODULES:
            item.add_marker(pytest.mark.xdist_group(name=module))
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
