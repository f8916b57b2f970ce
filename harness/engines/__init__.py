"""Engine discovery and the per-run pool of launched engines.

Discovery order per engine: $CORS_MATRIX_<ENGINE> (an executable the user points to), then
Playwright's own build (after `playwright install`), then the system engine from Debian's
packages. An engine found nowhere is EngineUnavailable with the
install command in its message; its cells become `not-run` with that reason.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from .base import (
    BROWSERS,
    COOKIE_POLICIES,
    Engine,
    EngineError,
    EngineUnavailable,
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
    if override:
        return Route(name, "playwright", "system", override)
    if _playwright_build_exists(playwright, name):
        return Route(name, "playwright", "playwright", None)
    system = {"chromium": SYSTEM_CHROMIUM, "firefox": SYSTEM_FIREFOX}[name]
    _need(system, f"apt-get install {'chromium' if name == 'chromium' else 'firefox-esr'}")
    return Route(name, "playwright", "system", system)


class EnginePool:
    """Launches each (engine, cookie policy) once, on first use, and closes all at the end."""

    def __init__(
        self,
        driver: str = "auto",
        remotes: dict[str, str] | None = None,
        proxy: str | None = None,
        grids: set[str] | frozenset[str] = frozenset(),
        remote_proxy: str | None = None,
    ) -> None:
        self.driver = driver
        self.remotes = remotes or {}
        self.proxy = proxy  # every launched engine sends all its traffic through it (check)
        self.grids = set(grids)  # remote URLs that hold many sessions at once (a Grid)
        self.remote_proxy = remote_proxy  # remote browsers reach the origins through it
        self._playwright_cm = None
        self._playwright = None
        self._engines: dict[tuple[str, str], Engine] = {}
        self._failures: dict[tuple[str, str], Exception] = {}

    def _pw(self):
        if self._playwright is None:
            from playwright.sync_api import sync_playwright

            self._playwright_cm = sync_playwright()
            self._playwright = self._playwright_cm.start()
        return self._playwright

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
                return self._launch(name, cookie_policy)
            except EngineUnavailable as exc:
                self._failures[key] = exc
                raise
            except Exception as exc:  # EngineError, or the engine died right after starting
                if self.remotes.get(name) in self.grids and "Timed out" in str(exc):
                    attempts = attempt  # the Grid had no node for it: asking again only waits
                if attempt == attempts:
                    failure = EngineError(f"{failure_line(exc)} (launch failed {attempt} times)")
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
                return RemotePlaywright(self._pw(), name, url, cookie_policy)
            return RemoteWebDriver(name, url, cookie_policy, self.remote_proxy, url in self.grids)
        route = discover(self._pw(), name, self.driver)
        if route.backend == "webdriver":
            from .webdriver_backend import ChromiumWebDriver, WebKitGTK

            if name == "webkit":
                return WebKitGTK(cookie_policy, route.executable, self.proxy)
            return ChromiumWebDriver(route.executable, cookie_policy, self.proxy)
        from .playwright_backend import PlaywrightChromium, PlaywrightFirefox

        backend = {"chromium": PlaywrightChromium, "firefox": PlaywrightFirefox}[name]
        return backend(self._pw(), route.executable, route.build, cookie_policy, self.proxy)

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
                self._playwright_cm = self._playwright = None

    def close(self) -> None:
        for key in list(self._engines):
            self.discard(*key)
        if self._playwright_cm is not None:
            try:
                self._playwright_cm.__exit__(None, None, None)
            except Exception:
                pass  # its driver is gone already (a crash, or Ctrl-C reached it too)
            self._playwright_cm = self._playwright = None


def failure_line(exc: BaseException) -> str:
    """An engine error in one line: its message's first line, or its type without one."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def is_engine_failure(exc: BaseException) -> bool:
    """An error raised by an engine or its driver (a crashed page or session), as opposed to
    one of the harness's own."""
    return isinstance(exc, EngineError) or type(exc).__module__.startswith(
        ("selenium.", "playwright.")
    )


__all__ = [
    "EnginePool",
    "is_engine_failure",
    "failure_line",
    "EngineUnavailable",
    "EngineError",
    "discover",
    "BROWSERS",
    "DRIVERS",
]
