"""The results file is never lost: a run that runs nothing keeps it, and a second run on the
same path at the same time is refused with one line naming the first (real pytest runs)."""

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cors_matrix.run.results import lock_path

ROOT = Path(__file__).resolve().parent.parent
GOOD = '[server]\nallow_origins = ["{app}"]\n[[probe]]\nname = "p"\n'
OLD = '{"schema": 1, "scenario": "earlier", "probe": "run"}\n'


def run(folder: Path, results: Path, *extra: str, wait: bool = True):
    argv = [sys.executable, "-m", "pytest", str(folder), "-q", "-p", "no:cacheprovider",
            "--cors-browser", "chromium", "--cors-results", str(results), *extra]  # fmt: skip
    if not wait:
        return subprocess.Popen(argv, cwd=folder, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)  # fmt: skip
    return subprocess.run(argv, cwd=folder, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize(
    "files,extra",
    [
        ({"test_bad.toml": '[[probe]]\nname = "p"\nmethod = "CONNECT"\n'}, ()),
        ({"test_a.toml": GOOD}, ("--cors-shard", "3/2")),
        ({"test_a.toml": GOOD, "sub/test_a.toml": GOOD}, ()),  # duplicate scenario names
        ({"test_a.toml": GOOD}, ("-k", "nothing-matches-this")),
    ],
    ids=["bad-file", "bad-shard", "duplicate-names", "nothing-selected"],
)
def test_a_run_that_runs_nothing_keeps_the_results_file(tmp_path, files, extra):
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    results = tmp_path / "out" / "run.jsonl"
    results.parent.mkdir()
    results.write_text(OLD)
    done = run(tmp_path, results, *extra)
    assert done.returncode != 0 or "deselected" in done.stdout, done.stdout
    assert results.read_text() == OLD


def test_a_second_run_on_the_same_results_path_is_refused_and_the_first_keeps_every_line(
    tmp_path,
):
    probes = "".join(f'[[probe]]\nname = "p{i}"\ndelay_ms = 300\nrepeat = 2\n' for i in range(6))
    (tmp_path / "test_slow.toml").write_text('[server]\nallow_origins = ["{app}"]\n' + probes)
    results = tmp_path / "run.jsonl"
    first = run(tmp_path, results, wait=False)
    lock = lock_path(results)
    deadline = time.monotonic() + 60
    while not (lock.exists() and lock.read_text().strip()) and time.monotonic() < deadline:
        time.sleep(0.1)
    second = run(tmp_path, results)
    out, _ = first.communicate(timeout=300)
    assert first.returncode == 0, out
    assert second.returncode == 4, second.stdout + second.stderr
    said = [line for line in (second.stdout + second.stderr).splitlines() if "in use" in line]
    assert said and f"pid {first.pid}" in said[0], second.stdout + second.stderr
    records = [json.loads(line) for line in results.read_text().splitlines()]
    assert sorted(r["probe"] for r in records) == [f"p{i}" for i in range(6)]
    assert not list(tmp_path.glob("*.lock"))  # nothing beside the results


def test_report_compares_with_the_collected_cells_and_never_shows_a_traceback(tmp_path):
    """A cut results file read as complete ("9/9 cells as expected", exit 0); an output that is
    a directory, a wrongly typed record and a garbage cell list were tracebacks."""
    probes = "".join(f'[[probe]]\nname = "p{n}"\n' for n in range(3))
    (tmp_path / "test_a.toml").write_text(GOOD.split("[[probe]]")[0] + probes)
    results = tmp_path / "r.jsonl"
    done = run(tmp_path, results, "-k", "not p2")  # deselected cells are not "collected"
    assert done.returncode == 0, done.stdout

    def report(path: Path, *extra: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "cors_matrix", "report", str(path),
                               "-o", str(tmp_path / "out"), *extra],
                              capture_output=True, text=True, timeout=120)  # fmt: skip

    whole = report(results)
    assert whole.returncode == 0 and "2/2 cells as expected" in whole.stdout, whole.stderr
    lines = results.read_text().splitlines()
    cut = tmp_path / "cut.jsonl"
    cut.write_text(lines[0] + "\n" + lines[1][:50])  # a full disk mid-line
    (tmp_path / "cut.jsonl.cells.json").write_text(results.with_name("r.jsonl.cells.json")
                                                   .read_text())  # fmt: skip
    after = report(cut)
    assert after.returncode == 1
    assert "missing: 1 of 2 collected cells have no record in" in after.stderr, after.stderr
    odd = tmp_path / "odd.jsonl"
    record = json.loads(lines[0])
    odd.write_text(json.dumps({**record, "observed": 5}) + "\n" + lines[1] + "\n")
    (tmp_path / "odd.jsonl.cells.json").write_text("garbage")
    typed = report(odd)
    assert "field 'observed' is int 5; line skipped" in typed.stderr
    assert "odd.jsonl.cells.json: not a list of collected cells" in typed.stderr
    (tmp_path / "dir" / "index.html").mkdir(parents=True)
    blocked = subprocess.run([sys.executable, "-m", "cors_matrix", "report", str(results), "-o",
                              str(tmp_path / "dir")], capture_output=True, text=True)  # fmt: skip
    assert blocked.returncode == 2 and "cannot write" in blocked.stderr
    for done in (whole, after, typed, blocked):
        assert "Traceback" not in done.stderr, done.stderr
