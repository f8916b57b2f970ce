"""Several results files into one grid: duplicate cells kept once, conflicting ones reported
(not dropped), and what changed against a baseline run."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..judge import oracle
from ..run.results import Key, key_of, read_records
from .cell_view import outcome_label


@dataclass
class Merged:
    cells: dict[Key, dict[str, Any]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)  # skipped lines, duplicates, conflicts
    conflicts: dict[Key, list[dict[str, Any]]] = field(default_factory=dict)
    sources: list[str] = field(default_factory=list)


def _same_observation(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Same verdict and compared fields; a field one record predates (a baseline written before
    it was recorded) is not a change."""
    seen_a, seen_b = a.get("observed") or {}, b.get("observed") or {}
    keys = [k for k in oracle.COMPARED_KEYS if not (seen_a and seen_b)
            or (k in seen_a and k in seen_b)]  # fmt: skip
    return a["verdict"] == b["verdict"] and all(seen_a.get(k) == seen_b.get(k) for k in keys)


def merge(paths: list[Path]) -> Merged:
    """Read every file; the first record of a cell wins, later ones are duplicates or conflicts."""
    merged = Merged(sources=[str(p) for p in paths])
    for path in paths:
        for _, record, problem in read_records(path):
            if problem:
                merged.problems.append(problem)
                continue
            key = key_of(record)
            record["_file"] = str(path)
            first = merged.cells.get(key)
            if first is None:
                merged.cells[key] = record
            elif _same_observation(first, record):
                merged.problems.append(
                    f"duplicate cell {'/'.join(key)} in {path} (same observation)"
                )
            else:
                merged.conflicts.setdefault(key, [first]).append(record)
                merged.problems.append(
                    f"conflicting cell {'/'.join(key)}: {first['_file']} says "
                    f"{outcome_label(first)}/{first['verdict']}, {path} says "
                    f"{outcome_label(record)}/{record['verdict']}"
                )
    return merged


def diff_baseline(
    now: dict[Key, dict[str, Any]], before: dict[Key, dict[str, Any]]
) -> list[dict[str, Any]]:
    """What changed since the baseline, new divergences first."""
    changes = []
    for key in sorted(set(now) | set(before)):
        a, b = before.get(key), now.get(key)
        label = "/".join(key)
        if b is None:
            changes.append(
                {"rank": 4, "kind": "removed", "cell": label, "text": "cell no longer run"}
            )
        elif a is None and b["verdict"] == "diverge":  # a scenario added red is red news too
            changes.append(
                {"rank": 0, "kind": "new divergence", "cell": label,
                 "text": f"new cell, diverges: {b['reason']}"}
            )  # fmt: skip
        elif a is None:
            changes.append(
                {"rank": 3, "kind": "new", "cell": label, "text": f"new cell: {b['verdict']}"}
            )
        elif b["verdict"] == "error" and a["verdict"] != "error":
            changes.append(
                {"rank": 1, "kind": "new error", "cell": label,
                 "text": f"was {a['verdict']}, now failed to run: {b['reason']}"}
            )  # fmt: skip
        elif b["verdict"] == "diverge" and a["verdict"] != "diverge":
            changes.append(
                {
                    "rank": 0,
                    "kind": "new divergence",
                    "cell": label,
                    "text": f"was {a['verdict']}, now diverges: {b['reason']}",
                }
            )
        elif a["verdict"] == "diverge" and b["verdict"] != "diverge":
            changes.append(
                {"rank": 1, "kind": "fixed", "cell": label, "text": f"now {b['verdict']}"}
            )
        elif not _same_observation(a, b):
            changes.append(
                {
                    "rank": 2,
                    "kind": "changed",
                    "cell": label,
                    "text": f"observed {outcome_label(a)} then, {outcome_label(b)} now",
                }
            )
    return sorted(changes, key=lambda c: (c["rank"], c["cell"]))
