"""Parallel runs stay correct: pytest-xdist workers share one results file without losing or
mixing lines, and two runs at once on one machine do not see each other (own ports, tokens,
temp dirs)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
THEMES = [str(ROOT / "scenarios" / t) for t in ("origins", "headers")]


def cells_of(path: Path) -> list[tuple]:
    records = [json.loads(line) for line in path.read_text().splitlines()]
    assert all(r["verdict"] == "match" for r in records), [r["reason"] for r in records]
    return [(r["scenario"], r["probe"], r["browser"], r["cookie_policy"]) for r in records]


def pytest_args(results: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "pytest", *THEMES, "-q", "-p", "no:cacheprovider",
            "--cors-browser", "chromium", "--cors-browser", "webkit",
            "--cors-results", str(results), *extra]  # fmt: skip


@pytest.fixture(scope="module")
def two_runs_at_once(tmp_path_factory) -> tuple[Path, Path]:
    """Two plain (one-process) runs of the same cells, started together."""
    first, second = (tmp_path_factory.mktemp(n) / "run.jsonl" for n in ("a", "b"))
    runs = [subprocess.Popen(pytest_args(path), cwd=path.parent, stdout=subprocess.DEVNULL,
                             stderr=subprocess.STDOUT) for path in (first, second)]  # fmt: skip
    assert [run.wait(timeout=600) for run in runs] == [0, 0]
    return first, second


def test_xdist_workers_write_every_cell_once(tmp_path, two_runs_at_once):
    serial, parallel = two_runs_at_once[0], tmp_path / "parallel.jsonl"
    run = subprocess.run(pytest_args(parallel, "-n", "2"), cwd=tmp_path, capture_output=True,
                         text=True, timeout=600)  # fmt: skip
    assert run.returncode == 0, run.stdout[-2000:]
    expected = cells_of(serial)
    got = cells_of(parallel)
    assert len(got) == len(set(got)) == len(expected) > 40
    assert set(got) == set(expected)
    assert f"cells: {len(expected)} match, 0 diverge, 0 not run" in run.stdout
    listed = json.loads(parallel.with_name(parallel.name + ".cells.json").read_text())["cells"]
    assert len(listed) == len(expected)


def test_two_runs_at_once_do_not_interfere(two_runs_at_once):
    first, second = two_runs_at_once
    assert sorted(cells_of(first)) == sorted(cells_of(second))
    tokens = {
        json.loads(line)["token"] for p in (first, second) for line in p.read_text().splitlines()
    }
    assert len(tokens) == 2 * len(cells_of(first))
