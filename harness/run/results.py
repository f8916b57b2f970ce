"""Result records as JSON Lines: one line per cell, written the moment the cell finishes.

Each line is flushed and fsynced so a crash or Ctrl-C loses no finished cell; a reader skips
(and reports) a truncated last line instead of failing. The format is documented in
docs/result-records.md; `schema` is bumped on any incompatible change.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

SCHEMA = 1
REQUIRED = ("scenario", "probe", "browser", "browser_version", "page_origin", "url", "observed",
            "expected", "verdict", "reason")  # fmt: skip
VERDICTS = ("match", "diverge", "not-run", "error")
"""error: the cell could not finish (its page, engine or the harness failed): no observation."""
ARTIFACTS = "results/artifacts"  # screenshots and traces, under the rootdir (pytest-playwright
# empties its own test-results/ at every session start)


def artifact_dir(item) -> Path:
    """Where a cell's screenshot and trace go: a folder named after its test id."""
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "-", item.nodeid).strip("-")
    return item.config.rootpath / ARTIFACTS / safe


# scenario, probe, browser, cookie policy[, starlette release: only in --cors-starlette runs]
Key = tuple[str, ...]


def key_of(record: dict[str, Any]) -> Key:
    key = (
        record["scenario"],
        record["probe"],
        record["browser"],
        record.get("cookie_policy") or "unknown",
    )
    release = record.get("starlette_axis")
    return (*key, str(release)) if release else key


def readable(outcome: str | None) -> bool:
    """Whether the page could read the answer (a resolved fetch, whatever its status)."""
    return outcome in ("ok", "http-error")


class ResultsInUse(Exception):
    """Another run holds the lock on this results file."""


def lock_path(path: Path) -> Path:
    """Where the lock of a results file lives: a temp folder, keyed by the file's real path,
    so nothing lands beside the results (the nightly uploads that folder)."""
    import hashlib
    import tempfile

    key = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:20]
    return Path(tempfile.gettempdir()) / f"cors-matrix-locks-{os.getuid()}" / f"{key}.lock"


def results_lock(path: Path):
    """Hold the results file's lock for this process's lifetime (released when it exits,
    however it exits); raise ResultsInUse naming the other run's pid if it is held."""
    import fcntl

    path.parent.mkdir(parents=True, exist_ok=True)
    where = lock_path(path)
    where.parent.mkdir(parents=True, exist_ok=True)
    lock = open(where, "a+")  # noqa: SIM115 - held until the process exits
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.seek(0)
        other = lock.read().strip() or "unknown"
        lock.close()
        raise ResultsInUse(
            f"results file {path} is in use by another run (pid {other}); "
            "wait for it or give --cors-results another path"
        ) from None
    lock.seek(0)
    lock.truncate()
    lock.write(str(os.getpid()))
    lock.flush()
    return lock


class ResultsWriter:
    """Appends records to a JSONL file; safe to share between cells of one process."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def write(self, record: dict[str, Any]) -> None:
        missing = [k for k in REQUIRED if k not in record]
        if missing:
            raise ValueError(f"result record lacks {missing}")
        if record["verdict"] not in VERDICTS:
            raise ValueError(f"unknown verdict {record['verdict']!r}")
        data = (json.dumps({"schema": SCHEMA, **record}, sort_keys=False) + "\n").encode()
        # one write() per line on an O_APPEND file: lines of concurrent writers (pytest-xdist
        # workers) never interleave
        written = os.write(self._fd, data)
        while written < len(data):
            written += os.write(self._fd, data[written:])
        os.fsync(self._fd)

    def close(self) -> None:
        os.close(self._fd)


def _schema_of(record: object) -> object:
    return record.get("schema") if isinstance(record, dict) else "?"


def read_records(path: Path) -> Iterator[tuple[int, dict[str, Any] | None, str | None]]:
    """Yield (line number, record or None, problem or None) for every non-empty line."""
    with open(path, "rb") as fh:
        for number, raw in enumerate(fh, 1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError:
                yield number, None, f"{path}:{number}: not UTF-8 text; line skipped"
                continue
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                yield number, None, f"{path}:{number}: not valid JSON ({exc.msg}); line skipped"
                continue
            if not isinstance(record, dict) or record.get("schema") != SCHEMA:
                yield (
                    number,
                    None,
                    (
                        f"{path}:{number}: record schema {_schema_of(record)} is not {SCHEMA}; "
                        "line skipped"
                    ),
                )
                continue
            wrong = _wrong_field(record)
            if wrong:
                yield number, None, f"{path}:{number}: {wrong}; line skipped"
                continue
            yield number, record, None


# The fields every reader relies on, and what they must be (None allowed where a cell did
# not run). A record from elsewhere with another shape is one warning, not a traceback.
_FIELDS: dict[str, tuple[type, ...]] = {
    "scenario": (str,), "probe": (str,), "browser": (str,), "verdict": (str,),
    "reason": (str, type(None)), "observed": (dict, type(None)),
    "expected": (dict, type(None)), "ledger": (list, type(None)), "causes": (list, type(None)),
    "cookie_policy": (str, type(None)), "page_origin": (str, type(None)),
}  # fmt: skip


def _wrong_field(record: dict[str, Any]) -> str | None:
    for key, types in _FIELDS.items():
        if key in record and not isinstance(record[key], types):
            return f"field {key!r} is {type(record[key]).__name__} {record[key]!r:.40}"
    for key in ("scenario", "probe", "browser", "verdict"):
        if key not in record:
            return f"field {key!r} is missing"
    if record["verdict"] not in VERDICTS:
        return f"field 'verdict' is {record['verdict']!r:.40}, not one of {', '.join(VERDICTS)}"
    return None
