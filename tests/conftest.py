"""Shared helpers for the harness's own tests."""

import pytest

pytest_plugins = ["pytester"]


@pytest.fixture
def write_scenario(tmp_path):
    """Write a scenario file and return its path."""

    def write(text: str, name: str = "test_example.toml"):
        path = tmp_path / name
        path.write_text(text)
        return path

    return write
