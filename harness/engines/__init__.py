"""Engine discovery and the per-run pool of launched engines.

Discovery order per engine: $CORS_MATRIX_<ENGINE> (an executable the user points to), then
Playwright's own build (after `playwright install`), then the system engine from Debian's
packages. An engine found nowhere is EngineUnavailable with the
install command in its message; its cells become `not-run` with that reason.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

from .base import (
    BROWSERS,
    COOKIE_POLICIES,
    Engine,
    EngineError,
    EnginePage,
    EngineUnavailable,
    failure_line,
    override_variable,
)

SYSTEM_CHROMIUM = "/usr/lib/chromium/chromium"
LAUNCH_ATTEMPTS = 3  # an engine that crashes while starting is tried again, this many times
LAUNCH_PAUSE_S = 0.5  # times the attempt number, between attempts
SYSTEM_FIREFOX = "/usr/bin/firefox-esr"
DRIVERS = ("auto", "playwright", "webdriver")


@dataclass(frozen=True)
class Route:
    """How an engine will be driven: which backend, which build, which executable."""

    name: str
    backend: str  # "playwright" | "webdriver"
    build: str  # "playwright" | "system"
    executable: str | None  # None: Playwright's own build at its default path


def _playwright_build_exists(playwright, name: str) -> bool:
    try:
        return Path(getattr(playwright, name).executable_path).is_file()
    except Exception:
        return False


def _need(path: str, install: str) -> None:
    if not Path(path).is_file():
        raise EngineUnavailable(f"{path} not found; {install}")


def discover(playwright, name: str, driver: str = "auto") -> Route:
    """Pick the route for `name` or raise EngineUnavailable saying how to install it.

    Order: Playwright's own build (after `playwright install`), then Debian's engine. WebKit
    always goes through WebDriver: Playwright cannot drive Debian's WebKit, and the cookie
    policy of Playwright's own WebKit build cannot be set, so it would not be a declared policy.
    """
    if name not in BROWSERS:
        raise ValueError(f"unknown browser {name!r}; choose from {', '.join(BROWSERS)}")
    if driver not in DRIVERS:
        raise ValueError(f"unknown driver {driver!r}; choose from {', '.join(DRIVERS)}")
    variable = override_variable(name)
    override = os.environ.get(variable)
    if override:
        _need(override, f"${variable} points there; fix or unset it")
    if name == "webkit":
        if driver == "playwright":
            raise EngineUnavailable("webkit: only the webdriver route is supported")
        from .webdriver_backend import MINIBROWSER, WEBKIT_DRIVER

        _need(WEBKIT_DRIVER, "apt-get install webkit2gtk-driver")
        minibrowser = override or MINIBROWSER
        _need(minibrowser, "apt-get install libwebkit2gtk-4.1-0")
        if not shutil.which("Xvfb"):
            raise EngineUnavailable(
                "Xvfb not found (WebKitGTK needs a display); apt-get install xvfb"
            )
        return Route(name, "webdriver", "system", minibrowser)
    if name == "firefox" and driver == "webdriver":
        raise EngineUnavailable("firefox: no WebDriver route here (Debian has no geckodriver)")
    if name == "chromium" and driver == "webdriver":
        from .webdriver_backend import CHROMEDRIVER

        _need(CHROMEDRIVER, "apt-get install chromium-driver")
        _need(override or SYSTEM_CHROMIUM, "apt-get install chromium")
        return Route(name, "webdriver", "system", override or SYSTEM_CHROMIUM)
    if not override and _playwright_build_exists(playwright, name):
        return Route(name, "playwright", "playwright", None)
    system = override or {"chromium": SYSTEM_CHROMIUM, "firefox": SYSTEM_FIREFOX}[name]
    _need(system, f"apt-get install {'chromium' if name == 'chromium' else 'firefox-esr'}")
    problem = firefox_route_problem(version("playwright")) if name == "firefox" else None
    if problem:  # a stock Firefox goes through the moz-firefox channel
        raise EngineUnavailable(problem)
    return Route(name, "playwright", "system", system)


FIREFOX_ESR_PLAYWRIGHT = "1.64."  # the releases whose moz-firefox BiDi route works on ESR


def firefox_route_problem(playwright_version: str) -> str | None:
    """Why stock Firefox ESR cannot be driven by this Playwright, or None. Its BiDi route
    (channel="moz-firefox") works with 1.64.x; 1.65 fails at new_context
    (emulation.setMediaFeaturesOverride). Only this route is affected."""
    if playwright_version.startswith(FIREFOX_ESR_PLAYWRIGHT):
        return None
    return (f"stock Firefox ESR is driven over Playwright's moz-firefox BiDi channel, which works "
            f"with playwright 1.64.x only (this is {playwright_version}): install "
            "'playwright==1.64.1' beside cors-matrix, or Playwright's own Firefox build "
            "(`playwright install firefox`); the other engines run")  # fmt: skip


class PlaywrightSession:
    """cors-matrix's own sync Playwright, on a thread of its own, started on first use.

    Sync Playwright makes its asyncio loop the running loop of the thread it is used in: in
    the main thread it would break every later `asyncio.run` of the user's tests, and a second
    sync Playwright there (pytest-playwright's) refuses to start ("Playwright Sync API inside
    the asyncio loop"). On its own thread it meets neither. Every Playwright call goes there
    (`call`), and the engines and pages made there are handed out bound to it (ThreadBound).
    """

    def __init__(self) -> None:
        self._thread: ThreadPoolExecutor | None = None
        self._own = None  # the sync_playwright() context manager
        self._playwright = None

    def call(self, fn: Callable, *args, **kwargs):
        """fn(*args, **kwargs) on the Playwright thread; its exceptions come back here."""
        if self._thread is None:
            self._thread = ThreadPoolExecutor(1, thread_name_prefix="cors-matrix-playwright")
        return self._thread.submit(fn, *args, **kwargs).result()

    def get(self):
        """The Playwright instance; only for code that runs on the Playwright thread."""
        if self._playwright is None:
            from playwright.sync_api import sync_playwright

            self._own = sync_playwright()
            self._playwright = self._own.start()
        return self._playwright

    def bind(self, target):
        return ThreadBound(target, self)

    def lost(self) -> None:
        """Its driver was killed: forget it (a new one is started on next use)."""
        self._own = self._playwright = None

    def close(self) -> None:
        if self._own is not None:
            own, self._own, self._playwright = self._own, None, None
            try:
                self.call(own.__exit__, None, None, None)
            except Exception:
                pass  # its driver is gone already (a crash, or Ctrl-C reached it too)
        if self._thread is not None:
            self._thread.shutdown(wait=True)
            self._thread = None


class ThreadBound:
    """An engine or page made on the Playwright thread: its methods run there, and an engine
    or page they return comes back bound too. Plain attributes (info, watchdog) read through."""

    def __init__(self, target, session: PlaywrightSession) -> None:
        object.__setattr__(self, "_target", target)
        object.__setattr__(self, "_session", session)

    def __getattr__(self, name: str):
        value = getattr(self._target, name)
        if not callable(value):
            return value

        def on_thread(*args, **kwargs):
            result = self._session.call(value, *args, **kwargs)
            return self._session.bind(result) if isinstance(result, Engine | EnginePage) \
                else result  # fmt: skip

        return on_thread

    def __setattr__(self, name: str, value) -> None:
        setattr(self._target, name, value)


class EnginePool:
    """Launches each (engine, cookie policy) once, on first use, and closes all at the end."""

    def __init__(
        self,
        driver: str = "auto",
        remotes: dict[str, str] | None = None,
        proxy: str | None = None,
        grids: set[str] | frozenset[str] = frozenset(),
        remote_proxy: str | None = None,
        playwright: PlaywrightSession | None = None,
        own_processes: Callable[[], AbstractContextManager] = contextlib.nullcontext,
    ) -> None:
        self.driver = driver
        self.remotes = remotes or {}
        self.proxy = proxy  # every launched engine sends all its traffic through it (check)
        self.grids = set(grids)  # remote URLs that hold many sessions at once (a Grid)
        self.remote_proxy = remote_proxy  # remote browsers reach the origins through it
        self._session = playwright or PlaywrightSession()
        self._owns_session = playwright is None
        self._own_processes = own_processes  # what a launch starts carries the run's mark
        self._engines: dict[tuple[str, str], Engine] = {}
        self._failures: dict[tuple[str, str], Exception] = {}

    def _pw(self):
        return self._session.get()

    def get(self, name: str, cookie_policy: str) -> Engine:
        """The launched engine, or the same EngineUnavailable/EngineError every time."""
        if cookie_policy not in COOKIE_POLICIES:
            raise ValueError(f"unknown cookie policy {cookie_policy!r}")
        key = (name, cookie_policy)
        if key in self._failures:
            raise self._failures[key]
        if key not in self._engines:
            self._engines[key] = self._launch_with_retries(name, cookie_policy)
        return self._engines[key]

    def _launch_with_retries(self, name: str, cookie_policy: str) -> Engine:
        """A launch that crashes is tried again (LAUNCH_ATTEMPTS in all, a short pause
        between): an engine that dies once while starting (a busy CI machine, a flaky
        helper) must not cost all its cells. A missing engine is not retried; a failure
        after the last attempt is remembered for the rest of the run."""
        key = (name, cookie_policy)
        attempts = LAUNCH_ATTEMPTS
        for attempt in range(1, attempts + 1):
            try:
                with self._own_processes():
                    return self._launch(name, cookie_policy)
            except EngineUnavailable as exc:
                self._failures[key] = exc
                raise
            except Exception as exc:  # EngineError, or the engine died right after starting
                if self.remotes.get(name) in self.grids and "Timed out" in str(exc):
                    attempts = attempt  # the Grid had no node for it: asking again only waits
                if name in self.remotes and "cannot connect" in str(exc):
                    attempts = attempt  # nothing listens there: asking again only repeats it
                if attempt == attempts:
                    times = f"{attempt} times" if attempt > 1 else "once"
                    failure = EngineError(f"{failure_line(exc)} (launch failed {times})")
                    self._failures[key] = failure
                    raise failure from exc
                time.sleep(LAUNCH_PAUSE_S * attempt)
        raise AssertionError("unreachable")

    def _launch(self, name: str, cookie_policy: str) -> Engine:
        if name in self.remotes:
            from .remote import RemotePlaywright, RemoteWebDriver

            url = self.remotes[name]
            # many endpoints (a standalone WebKitWebDriver, say) allow one session at a time
            for key, engine in list(self._engines.items()):
                # a standalone endpoint takes one session at a time; on a Grid this worker
                # holds one at a time (cells come grouped by engine and policy), so a busy
                # Grid is shared between the workers instead of hoarded by the first
                if engine.info.remote == url or (url in self.grids and engine.info.remote in
                                                 self.grids):  # fmt: skip
                    self.discard(*key)
            if url.startswith(("ws://", "wss://")):
                if self.remote_proxy:
                    raise EngineUnavailable(f"{name} at {url}: a Playwright server cannot be sent "
                                            "through --cors-remote-proxy; use a WebDriver "
                                            "endpoint (a Grid)")  # fmt: skip
                return self._on_playwright_thread(RemotePlaywright, name, url, cookie_policy)
            return RemoteWebDriver(name, url, cookie_policy, self.remote_proxy, url in self.grids)
        route = self._session.call(lambda: discover(self._pw(), name, self.driver))
        if route.backend == "webdriver":
            from .webdriver_backend import ChromiumWebDriver, WebKitGTK

            if name == "webkit":
                return WebKitGTK(cookie_policy, route.executable, self.proxy)
            return ChromiumWebDriver(route.executable, cookie_policy, self.proxy)
        from .playwright_backend import PlaywrightChromium, PlaywrightFirefox

        backend = {"chromium": PlaywrightChromium, "firefox": PlaywrightFirefox}[name]
        return self._on_playwright_thread(
            backend, route.executable, route.build, cookie_policy, self.proxy
        )

    def _on_playwright_thread(self, backend, *args) -> Engine:
        """A Playwright engine, made on the Playwright thread and bound to it."""
        return self._session.bind(self._session.call(lambda: backend(self._pw(), *args)))

    def call(self, fn: Callable, *args):
        """fn(*args) where this pool's Playwright objects live (a test that drives a page
        itself)."""
        return self._session.call(fn, *args)

    def discard(self, name: str, cookie_policy: str) -> None:
        """Forget a crashed engine so the next cell launches a fresh one."""
        engine = self._engines.pop((name, cookie_policy), None)
        if engine is not None:
            try:
                engine.close()
            except Exception:
                pass
            watchdog = getattr(engine, "watchdog", None)
            if watchdog is not None and watchdog.driver_killed:
                # the watchdog stopped Playwright's driver: every engine on it is gone too
                for key, other in list(self._engines.items()):
                    if other.info.driver == "playwright" and other.info.remote is None:
                        self._engines.pop(key, None)
                self._session.lost()

    def close(self) -> None:
        for key in list(self._engines):
            self.discard(*key)
        if self._owns_session:
            self._session.close()


def is_engine_failure(exc: BaseException) -> bool:
    """An error raised by an engine or its driver (a crashed page or session), as opposed to
    one of the harness's own."""
    return isinstance(exc, EngineError) or type(exc).__module__.startswith(
        ("selenium.", "playwright.")
    )


__all__ = [
    "EnginePool",
    "PlaywrightSession",
    "is_engine_failure",
    "failure_line",
    "EngineUnavailable",
    "EngineError",
    "discover",
    "BROWSERS",
    "DRIVERS",
]
