"""The run's results file: claimed (locked) by the first session that has a cell, emptied
once per run, appended to by every cell (and every xdist worker), summed up at the end."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from .options import COUNTS, DEFAULT_RESULTS
from .results import ResultsInUse, ResultsWriter, read_records, results_lock


def results_path(config: pytest.Config) -> Path:
    return Path(config.getoption("--cors-results") or config.rootpath / DEFAULT_RESULTS)


def worker_id(config: pytest.Config) -> str | None:
    """The pytest-xdist worker id (gw0, gw1, ...), or None in the controller or a plain run."""
    return getattr(config, "workerinput", {}).get("workerid")


def claim_results(config: pytest.Config) -> None:
    """One run at a time per results file: once a session has cells, its controller holds a
    lock on the file for the run, and a second run on the same path is refused, naming the
    first. A session without cells neither locks nor creates it."""
    if _RESULTS_PATH in config.stash or config.option.collectonly:
        return
    if worker_id(config) is None:
        path = results_path(config)
        if path.is_dir():
            raise pytest.UsageError(f"--cors-results {path} is a directory; give a file path")
        try:
            config.stash[_RESULTS_LOCK] = results_lock(path)
            with open(path, "a"):  # writable, before any cell runs
                pass
        except ResultsInUse as exc:
            raise pytest.UsageError(str(exc)) from None
        except OSError as exc:
            raise pytest.UsageError(
                f"--cors-results {path}: cannot write: {exc.strerror}"
            ) from None
        config.stash[_RESULTS_PATH] = path


def empty_results_once(config: pytest.Config) -> None:
    """The results file is rewritten per run, but only once the run has a cell to write: a
    run that runs nothing (a bad file, an empty shard, a usage error) keeps the last one."""
    if not config.stash.get(_RESULTS_EMPTIED, False):
        config.stash[_RESULTS_EMPTIED] = True
        results_path(config).write_text("")


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_node_collection_finished(node, ids) -> None:
    """pytest-xdist: the controller claims and empties the file before it hands any worker a
    cell."""
    if any(".toml::" in nodeid for nodeid in ids):
        try:
            claim_results(node.config)
        except pytest.UsageError as exc:
            pytest.exit(str(exc), returncode=pytest.ExitCode.USAGE_ERROR)
        empty_results_once(node.config)


@pytest.fixture(scope="session")
def cors_results(request):
    """Appends one line per cell; under pytest-xdist every worker appends to the same file,
    each line in a single write (see ResultsWriter)."""
    if worker_id(request.config) is None:  # a plain run; under xdist the controller did it
        empty_results_once(request.config)
    writer = ResultsWriter(results_path(request.config))
    yield writer
    writer.close()


_RESULTS_PATH = pytest.StashKey[Path]()
_RESULTS_LOCK = pytest.StashKey[object]()
_RESULTS_EMPTIED = pytest.StashKey[bool]()


def pytest_terminal_summary(terminalreporter, exitstatus, config: pytest.Config) -> None:
    counts = config.stash.get(COUNTS, None)
    path = config.stash.get(_RESULTS_PATH, None)
    if not counts and path is not None and path.exists():  # xdist: the workers counted
        counts = Counter(r["verdict"] for _, r, _ in read_records(path) if r)
    if not counts:
        return
    terminalreporter.section("cors-matrix")
    terminalreporter.write_line(
        f"cells: {counts['match']} match, {counts['diverge']} diverge, {counts['not-run']} not run"
        + (f", {counts['error']} error (failed to run)" if counts["error"] else "")
    )
    if path is not None:
        terminalreporter.write_line(f"results: {path}")
        terminalreporter.write_line(f"HTML report: cors-matrix report {path} -o report/")
