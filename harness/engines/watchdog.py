"""A watchdog for Playwright calls whose browser died underneath them.

Seen here: Chromium killed at an unlucky moment (a crash, the OOM killer) leaves Playwright's
`new_page` waiting forever; 2 of 22 random kills hung the whole run (tests/test_cleanup.py
kills it on purpose). The watchdog knows the browser's main process. If that process exits
while a call is pending, it stops Playwright's driver after a grace period, which makes the
pending call raise (every browser that driver launched is stopped with it); the engine then
reports itself dead and the pool starts a new driver.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import psutil

from .base import EngineError

GRACE_S = 3.0  # Playwright usually notices a dead browser by itself within milliseconds


def find_browser(profile_dir: str) -> psutil.Process | None:
    """The main process of the browser started with this --user-data-dir (not its helpers)."""
    for process in psutil.process_iter(["cmdline"]):
        cmdline = process.info["cmdline"] or []
        if f"--user-data-dir={profile_dir}" in cmdline and not any(
            arg.startswith("--type=") for arg in cmdline
        ):
            return process
    return None


class Watchdog:
    def __init__(self, name: str, browser: psutil.Process | None) -> None:
        self.name = name
        self.browser = browser
        self.driver = browser.parent() if browser is not None else None
        self.driver_killed = False

    def _alive(self) -> bool:
        return self.browser is None or (
            self.browser.is_running() and self.browser.status() != psutil.STATUS_ZOMBIE
        )

    @contextmanager
    def guard(self, what: str) -> Iterator[None]:
        if not self._alive():
            raise EngineError(f"{self.name} is gone (found dead before {what})")
        done = threading.Event()

        def watch() -> None:
            while not done.wait(0.5):
                if not self._alive():
                    if done.wait(GRACE_S):
                        return
                    self.driver_killed = True
                    if self.driver is not None:  # with every browser it launched
                        try:
                            tree = [*self.driver.children(recursive=True), self.driver]
                        except psutil.Error:
                            tree = [self.driver]
                        for process in tree:
                            try:
                                process.kill()
                            except psutil.Error:
                                pass
                    return

        threading.Thread(target=watch, daemon=True, name=f"watchdog-{self.name}").start()
        try:
            yield
        except Exception as exc:
            if self.driver_killed:
                raise EngineError(
                    f"{self.name} exited during {what}; Playwright's driver was stopped to "
                    "unblock the call"
                ) from exc
            raise
        finally:
            done.set()
