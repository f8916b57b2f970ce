"""Shards: one matrix split over several runners, and the check that the pieces add up.

`--cors-shard i/n` keeps every n-th cell (by sorted test id), so the split is the same on every
machine that collects the same files with the same options. Every run writes beside its results
file the list of cells the whole (unsharded) collection had; `merge` unites the shards and
names every cell that no shard delivered (a runner died, a shard was forgotten).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from .results import key_of, read_records


class ShardError(ValueError):
    """A --cors-shard value or a set of shard files that cannot be used; one line."""


def parse_shard(value: str | None) -> tuple[int, int] | None:
    if not value:
        return None
    try:
        index, total = (int(part) for part in value.split("/"))
    except ValueError:
        raise ShardError(f"--cors-shard {value!r}: expected i/n, e.g. 1/4") from None
    if not 1 <= index <= total:
        raise ShardError(f"--cors-shard {value!r}: i must be between 1 and n")
    return index, total


def in_shard(position: int, shard: tuple[int, int] | None) -> bool:
    """Round-robin over the sorted cells: shards differ in size by at most one cell."""
    return shard is None or position % shard[1] == shard[0] - 1


def expected_path(results: Path) -> Path:
    return results.with_name(results.name + ".cells.json")


def write_expected(results: Path, cells: list[list[str]], shard: str | None) -> None:
    """The whole collection's cells (scenario, probe, browser, cookie policy), atomically."""
    listing = {"shard": shard, "cells": sorted(cells)}
    _write_atomically(expected_path(results), json.dumps(listing, indent=0))


def read_expected(results: Path) -> tuple[str | None, set[tuple[str, ...]]] | None:
    """The run's collected cells beside `results` and its --cors-shard (None: no listing);
    ShardError in one line for a listing that is not one."""
    listing = expected_path(results)
    if not listing.is_file():
        return None
    try:
        data = json.loads(listing.read_text(encoding="utf-8"))
        cells = {
            tuple(cell)
            for cell in data["cells"]
            if isinstance(cell, list) and all(isinstance(x, str) for x in cell)
        }
        shard = data.get("shard")
    except (ValueError, KeyError, TypeError, AttributeError, OSError) as exc:
        raise ShardError(
            f"{listing}: not a list of collected cells ({type(exc).__name__})"
        ) from None
    return (shard if isinstance(shard, str) else None), cells


def missing_cells(results: Path) -> tuple[list[tuple[str, ...]], int] | None:
    """Cells the run collected that have no record in `results` (a cut or unfinished file),
    and how many were collected; None when there is no listing or the file is one shard."""
    found = read_expected(results)
    if found is None or found[0]:
        return None
    recorded = {key_of(r) for _, r, _ in read_records(results) if r}
    return sorted(found[1] - recorded), len(found[1])


def _write_atomically(path: Path, text: str) -> None:
    """A reader (the merge, the report) never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def merge_shards(paths: list[Path], out: Path) -> dict[str, Any]:
    """Write the union of `paths` to `out` (first record of a cell wins) and say what is missing,
    and which engines could not be had (their cells arrived, as not run: no evidence either).

    Raises ShardError when a results file or its cell list is missing.
    """
    expected: set[tuple[str, ...]] = set()
    arrived: dict[tuple[str, ...], str] = {}
    problems: list[str] = []
    no_engine: dict[str, list[str]] = {}  # browser -> the reasons its cells were not run
    for path in paths:
        listing = expected_path(path)
        if not path.is_file():
            raise ShardError(f"results file not found: {path}")
        found = read_expected(path)
        if found is None:
            raise ShardError(f"{listing} not found: was {path} written by a cors-matrix run?")
        expected |= found[1]
        for _, record, problem in read_records(path):
            if problem:
                problems.append(problem)
            elif key_of(record) not in arrived:
                arrived[key_of(record)] = json.dumps(record)
                if record.get("not_run_cause") == "engine":
                    no_engine.setdefault(record["browser"], []).append(record["reason"])
    _write_atomically(out, "".join(line + "\n" for line in arrived.values()))
    write_expected(out, [list(cell) for cell in expected], None)
    missing = sorted(expected - set(arrived))
    return {"cells": len(arrived), "expected": len(expected), "missing": missing,
            "problems": problems, "no_engine": no_engine}  # fmt: skip
