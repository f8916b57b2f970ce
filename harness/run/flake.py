"""Flake check: run the matrix N times and list every cell whose observation changed.

A red cell is only worth reading if it is red every time. Each run is a separate pytest
process writing its own results file; cells are compared on the oracle's compared keys.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from ..judge.oracle import COMPARED_KEYS
from .results import key_of, read_records


def observation(record: dict[str, Any]) -> tuple:
    observed = record.get("observed") or {}
    return (record["verdict"], *(repr(observed.get(k)) for k in COMPARED_KEYS))


def compare_runs(paths: list[Path]) -> dict[tuple, list[tuple]]:
    """Cells whose observation differs between runs (or that are missing from some run)."""
    seen: dict[tuple, list[tuple | None]] = defaultdict(lambda: [None] * len(paths))
    for index, path in enumerate(paths):
        for _, record, _problem in _records(path):
            if record is not None:
                seen[key_of(record)][index] = observation(record)
    return {key: obs for key, obs in seen.items() if len(set(obs)) > 1}


def _records(path: Path):
    """A run that collected no cell writes no results file: it has no records."""
    return read_records(path) if path.exists() else []


def run(runs: int, out: Path, pytest_args: list[str]) -> int:
    if runs < 2:
        print(f"cors-matrix flake-check: --runs {runs}: comparing needs at least 2 runs",
              file=sys.stderr)  # fmt: skip
        return 2
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(1, runs + 1):
        path = out / f"run-{i}.jsonl"
        started = time.monotonic()
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                   "--cors-results", str(path), *pytest_args]  # fmt: skip
        subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, check=False)
        cells = sum(1 for _, r, _ in _records(path) if r)
        print(f"run {i}/{runs}: {cells} cells in {time.monotonic() - started:.0f} s", flush=True)
        paths.append(path)
    flaky = compare_runs(paths)
    for key, observations in sorted(flaky.items()):
        print(
            f"FLAKY {'/'.join(key)}: "
            + " | ".join(str(o[:3]) if o else "missing" for o in observations)
        )
    total = len({key_of(r) for path in paths for _, r, _ in _records(path) if r})
    print(f"flake check: {len(flaky)} of {total} cells changed between {runs} runs")
    if total == 0:  # nothing ran: no verdict on flakiness
        print("cors-matrix flake-check: no cell ran; nothing was compared", file=sys.stderr)
        return 2
    return 1 if flaky else 0
