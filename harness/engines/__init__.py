"""Engine discovery and the per-run pool of launched engines.

Discovery order per engine: Playwright's own build (after `playwright install`), then the
system engine from Debian's packages. An engine found nowhere is EngineUnavailable with the
install command in its message; its cells become `not-run` with that reason.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from .base import BROWSERS, COOKIE_POLICIES, Engine, EngineError, EngineUnavailable

SYSTEM_EXECUTABLES = {
    "chromium": ("/usr/lib/chromium/chromium", "apt-get install chromium"),
    "firefox": ("/usr/bin/firefox-esr", "apt-get install firefox-esr"),
    "webkit": ("/usr/bin/WebKitWebDriver", "apt-get install webkit2gtk-driver xvfb"),
}


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


def discover(playwright, name: str) -> Route:
    """Pick the route for `name` or raise EngineUnavailable saying how to install it."""
    if name not in BROWSERS:
        raise ValueError(f"unknown browser {name!r}; choose from {', '.join(BROWSERS)}")
    if name != "webkit" and _playwright_build_exists(playwright, name):
        return Route(name, "playwright", "playwright", None)
    path, install = SYSTEM_EXECUTABLES[name]
    if name == "webkit":
        raise EngineUnavailable(
            "webkit: the WebDriver backend for WebKitGTK is not built yet (issue: three engines)"
        )
    if not Path(path).is_file() and not shutil.which(path):
        raise EngineUnavailable(f"{name} not found at {path}; {install}")
    return Route(name, "playwright", "system", path)


class EnginePool:
    """Launches each (engine, cookie policy) once, on first use, and closes all at the end."""

    def __init__(self) -> None:
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
            try:
                self._engines[key] = self._launch(name, cookie_policy)
            except (EngineUnavailable, EngineError) as exc:
                self._failures[key] = exc
                raise
        return self._engines[key]

    def _launch(self, name: str, cookie_policy: str) -> Engine:
        from .playwright_backend import PlaywrightChromium, PlaywrightFirefox

        route = discover(self._pw(), name)
        backend = {"chromium": PlaywrightChromium, "firefox": PlaywrightFirefox}[name]
        return backend(self._pw(), route.executable, route.build, cookie_policy)

    def discard(self, name: str, cookie_policy: str) -> None:
        """Forget a crashed engine so the next cell launches a fresh one."""
        engine = self._engines.pop((name, cookie_policy), None)
        if engine is not None:
            try:
                engine.close()
            except Exception:
                pass

    def close(self) -> None:
        for key in list(self._engines):
            self.discard(*key)
        if self._playwright_cm is not None:
            self._playwright_cm.__exit__(None, None, None)
            self._playwright_cm = self._playwright = None


__all__ = ["EnginePool", "EngineUnavailable", "EngineError", "discover", "BROWSERS"]
