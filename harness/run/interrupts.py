"""Ctrl-C (and SIGTERM, a CI runner's cancel) delivered where Playwright's sync API can
recover from it.

Playwright's sync API runs its asyncio loop in a second greenlet (the dispatcher). Python's
default SIGINT handler raises KeyboardInterrupt in whatever code runs when the signal lands.
When that is the dispatcher's loop executing a task (the pipe reader, a message callback), the
task ends with the exception, the loop survives, and every later call waits forever for a reply
nobody reads: the run hangs in teardown (seen in 1 of 6 interrupted runs here,
tests/test_cleanup.py). Playwright itself only recovers when the signal lands while its loop
waits in select().

This handler raises the KeyboardInterrupt in the root greenlet instead (where pytest and the
harness run, suspended in the Playwright call they are waiting on) and leaves the dispatcher
suspended exactly where it was, mid-task. The next Playwright call (closing the browser in
teardown) switches back to the dispatcher, which resumes as if nothing happened.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import greenlet


def _root(current: greenlet.greenlet) -> greenlet.greenlet:
    while current.parent is not None:
        current = current.parent
    return current


_INTERRUPTED_EXIT = 2  # pytest's exit code for an interrupted run; check's "no verdict"
_state = {"stopping": False, "first_ends_run": False, "deferred": 0}


RETRY_S = 0.05
MAX_DEFERRALS = 60  # 3 s: a hanging import is still interrupted


def _importing(frame) -> bool:
    """Whether the interrupted code is inside Python's import machinery."""
    while frame is not None:
        if frame.f_code.co_filename.startswith("<frozen importlib"):
            return True
        frame = frame.f_back
    return False


def _on_sigint(signum, frame) -> None:
    if _state["stopping"]:
        # a second Ctrl-C while the first one's teardown runs: stop now, without a traceback.
        # The reaper (harness/serve/reaper.py) ends every process the run started; the results file
        # holds every finished cell already (one flushed line each).
        os.write(2, b"\ninterrupted again: stopping now; the run's processes are being ended\n")
        os._exit(_INTERRUPTED_EXIT)
    current = greenlet.getcurrent()
    if current.parent is None and _importing(frame) and _state["deferred"] < MAX_DEFERRALS:
        _state["deferred"] += 1
        # an exception raised inside an import's compile() can come out as SystemError ("AST
        # constructor recursion depth mismatch", seen once in CI while a plugin imported a
        # module lazily): the run then ended with 1 and a traceback. Deliver it again in a
        # moment, once the import is done.
        threading.Timer(RETRY_S, os.kill, (os.getpid(), signum)).start()
        return
    _state["deferred"] = 0  # an import that never ends is interrupted after MAX_DEFERRALS
    if _state["first_ends_run"]:
        _state["stopping"] = True
    if current.parent is None:  # pytest's own code: interrupt it as Python always does
        raise KeyboardInterrupt
    # inside Playwright's dispatcher: interrupt the code waiting on it, keep the loop intact
    _root(current).throw(KeyboardInterrupt)


def install(first_ends_run: bool = False) -> bool:
    """Replace Python's default SIGINT handler (only that one, and only in the main thread:
    a handler someone else installed stays theirs), and SIGTERM's default too: a CI runner's
    cancel sends SIGTERM, whose default ends Python at once, without a single teardown (nginx,
    Xvfb and the WebKit processes were left running every time). With this handler it stops
    the run as Ctrl-C does. Returns whether the SIGINT handler was installed."""
    if threading.current_thread() is not threading.main_thread():
        return False
    _state["first_ends_run"] = first_ends_run  # check: any interrupt ends it (pytest: its hook)
    if signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _on_sigint)
    if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        return False
    signal.signal(signal.SIGINT, _on_sigint)
    return True


def uninstall() -> None:
    _state.update(stopping=False, first_ends_run=False, deferred=0)
    if signal.getsignal(signal.SIGINT) is _on_sigint:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    if signal.getsignal(signal.SIGTERM) is _on_sigint:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


@contextmanager
def cleanup_unless_interrupted(cleanup: Callable[[], None]) -> Iterator[None]:
    """Run `cleanup` when the block ends, also on an error, but not on Ctrl-C.

    A terminal's Ctrl-C reaches the browsers, drivers and servers too. A clean-up call to one
    of them (clear the cookies, restore the server's config) then fails, and its exception
    replaces the KeyboardInterrupt: pytest recorded a failed cell and went on with the run
    instead of stopping (tests/test_cleanup.py). On Ctrl-C everything is torn down anyway.
    """
    try:
        yield
    except Exception:
        cleanup()
        raise
    else:
        cleanup()
