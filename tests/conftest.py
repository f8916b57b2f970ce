"""Shared helpers for the harness's own tests."""

import pytest

pytest_plugins = ["pytester"]


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
