"""Every process a run starts ends when the run ends, however it ends (also SIGKILL).

A SIGKILLed pytest runs no teardown, and its children do not notice: nginx, Xvfb,
WebKitWebDriver, MiniBrowser and WebKit's helpers, the host, a `check --serve` app stayed
alive for minutes (issue 20). So the run marks its environment with a variable of its own
before it starts anything (every process it starts, and theirs, inherit it), and starts this
watcher, which holds the read end of a pipe whose write end only the run has. When the run
ends, the kernel closes that end, the watcher reads EOF and ends every process that still
carries the run's mark: SIGTERM, then SIGKILL after a grace period. The mark is in the
environment only while cors-matrix starts its own processes (Reaper.marking): inside a user's
pytest session, their own processes never carry it.

The watcher lives in its own session and ignores SIGINT and SIGTERM: a terminal's Ctrl-C or a
runner's cancel reaches the run's process group, and the watcher must outlive them to clean up.
Linux only (it reads /proc); elsewhere `start` does nothing.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .. import PACKAGE

MARK_PREFIX = "CORS_MATRIX_RUN_"
GRACE_S = 3.0


def process_state(pid: int) -> str | None:
    """The process's state letter from /proc (R, S, Z for a zombie...), None when it is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return None


def marked(mark: str, exclude: set[int]) -> list[int]:
    """Pids of live processes whose environment carries `mark` (=1), except `exclude`."""
    needle = f"{mark}=1".encode()
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) in exclude:
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:  # gone meanwhile, or not ours to read
            continue
        if process_state(int(entry.name)) not in (None, "Z") and needle in environ.split(b"\0"):
            pids.append(int(entry.name))
    return pids


def end_marked(mark: str, exclude: set[int], grace_s: float = GRACE_S) -> list[int]:
    """SIGTERM every marked process, SIGKILL those still there after `grace_s`; returns the
    pids that were found."""
    found: set[int] = set()
    deadline = time.monotonic() + grace_s
    sig = signal.SIGTERM
    while True:
        pids = marked(mark, exclude)
        if not pids:
            return sorted(found)
        found.update(pids)
        for pid in pids:
            try:
                os.kill(pid, sig)
            except OSError:
                pass
        if time.monotonic() > deadline:
            sig = signal.SIGKILL
        time.sleep(0.1)


class Reaper:
    """The watcher of one run, started on first use. Only what is started inside `marking()`
    carries the mark (and so do its own children): a process the user's code starts in the
    same pytest session, before or after, is never ended by cors-matrix."""

    def __init__(self) -> None:
        self.mark: str | None = None
        self._write_end: int | None = None
        self._depth = 0

    def start(self) -> None:
        """Start the watcher once (before the first marked process). Where /proc is missing
        (not Linux) nothing is started and nothing is marked."""
        if self.mark is not None or not Path("/proc/self/environ").exists():
            return
        mark = MARK_PREFIX + secrets.token_hex(6)
        read_end, write_end = os.pipe()
        subprocess.Popen(  # noqa: S603
            [
                sys.executable,
                "-m",
                f"{PACKAGE}.serve.reaper",
                str(read_end),
                mark,
                str(os.getpid()),
            ],
            pass_fds=(read_end,),
            start_new_session=True,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=str(Path(__file__).resolve().parents[2]),  # importable, whatever the cwd
        )
        os.close(read_end)  # the write end is not inheritable (os.pipe): only we hold it
        self.mark, self._write_end = mark, write_end

    @contextmanager
    def marking(self) -> Iterator[None]:
        """Processes started inside carry the mark (it is in os.environ only meanwhile)."""
        self.start()
        if self.mark is None:
            yield
            return
        self._depth += 1
        os.environ[self.mark] = "1"
        try:
            yield
        finally:
            self._depth -= 1
            if self._depth == 0:
                os.environ.pop(self.mark, None)

    def stop(self) -> None:
        """The run's end, for a run that ends without its process ending (pytest in process,
        a cors_check session): the watcher ends what is left with the mark."""
        if self.mark is not None:
            os.environ.pop(self.mark, None)
        if self._write_end is not None:
            try:
                os.close(self._write_end)
            except OSError:
                pass
            self._write_end = None


def _watch(fd: int, mark: str, run_pid: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    while os.read(fd, 4096):  # nothing is ever written: this returns b"" when the run ends
        pass
    end_marked(mark, exclude={os.getpid(), run_pid})


if __name__ == "__main__":
    _watch(int(sys.argv[1]), sys.argv[2], int(sys.argv[3]))
