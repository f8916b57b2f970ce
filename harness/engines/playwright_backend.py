"""Playwright backend: Chromium (Playwright's build or Debian's) and Firefox over WebDriver BiDi.

Cookie policy is set explicitly, never left to a build default: Debian's Chromium blocks
third-party cookies unless the profile says otherwise, Playwright's allows them. So Chromium
always runs in a persistent context whose profile Preferences state the policy
(profile.cookie_controls_mode: 0 allow, 1 block third-party); each cell gets a new page and an
empty cookie jar. Never use page.route or extra HTTP headers: Chromium then answers preflights
itself and the server never sees them.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .base import (
    CHROMIUM_ARGS,
    CHROMIUM_COOKIE_CONTROLS,
    FIREFOX_COOKIE_BEHAVIOR,
    LAUNCH_TIMEOUT_S,
    NAVIGATION_TIMEOUT_S,
    SCRIPT_TIMEOUT_S,
    Engine,
    EngineError,
    EngineInfo,
    EnginePage,
    failure_line,
    firefox_proxy_prefs,
)
from .watchdog import Watchdog, find_browser


@contextmanager
def _no_guard(what: str) -> Iterator[None]:
    yield


class PlaywrightPage(EnginePage):
    def __init__(self, page, watchdog: Watchdog | None = None) -> None:
        self._page = page
        self._guard = watchdog.guard if watchdog is not None else _no_guard
        # Chromium reports "... blocked by CORS policy: ..." as console errors; Firefox over
        # BiDi reports "The Same Origin Policy disallows ... (Reason: ...)" as page errors.
        self._messages: list[str] = []
        page.on("console", lambda m: self._messages.append(m.text) if m.type in
                ("error", "warning") else None)  # fmt: skip
        page.on("pageerror", lambda e: self._messages.append(str(e)))
        page.set_default_timeout(SCRIPT_TIMEOUT_S * 1000)
        page.set_default_navigation_timeout(NAVIGATION_TIMEOUT_S * 1000)

    def goto(self, url: str) -> None:
        with self._guard("navigation"):
            self._page.goto(url, wait_until="load")

    def run(self, script: str, arg: Any) -> Any:
        with self._guard("a probe"):
            return self._page.evaluate(script, arg)

    def screenshot(self, path: Path) -> None:
        with self._guard("a screenshot"):
            self._page.screenshot(path=str(path), full_page=True)

    def start_trace(self) -> None:
        """A trace chunk per cell, kept only for a divergence: `playwright show-trace` shows
        each call, the page's DOM and network at every step."""
        context = self._page.context
        with self._guard("starting a trace"):
            if not getattr(context, "_cm_tracing", False):
                context.tracing.start(screenshots=True, snapshots=True)
                context._cm_tracing = True
            context.tracing.start_chunk()
            self._tracing = True

    def end_trace(self, path: Path | None) -> bool:
        if not getattr(self, "_tracing", False):
            return False
        self._tracing = False
        with self._guard("saving a trace"):
            if path is None:
                self._page.context.tracing.stop_chunk()
                return False
            self._page.context.tracing.stop_chunk(path=str(path))
            return True

    def clear_cookies(self, origins: list[str], paths: tuple[str, ...] = ("/",)) -> None:
        with self._guard("clearing cookies"):
            self._page.context.clear_cookies()  # every cookie of the context, whatever its path

    def close(self) -> None:
        with self._guard("closing a page"):
            self._page.close()

    def settle(self, ms: int) -> None:
        self._page.wait_for_timeout(ms)  # processes Playwright's events meanwhile

    def messages(self) -> list[str] | None:
        return list(self._messages)


class PlaywrightChromium(Engine):
    """Chromium in a persistent context so that its profile can state the cookie policy."""

    def __init__(
        self,
        playwright,
        executable: str | None,
        build: str,
        cookie_policy: str,
        proxy: str | None = None,
    ) -> None:
        self._profile = tempfile.TemporaryDirectory(prefix="cors-matrix-chromium-")
        prefs_dir = Path(self._profile.name) / "Default"
        prefs_dir.mkdir(parents=True)
        prefs = {"profile": {"cookie_controls_mode": CHROMIUM_COOKIE_CONTROLS[cookie_policy]}}
        (prefs_dir / "Preferences").write_text(json.dumps(prefs))
        try:
            self._context = playwright.chromium.launch_persistent_context(
                self._profile.name,
                executable_path=executable,
                headless=True,
                # with a proxy (check), loopback names go through it too
                args=[*CHROMIUM_ARGS, *(["--proxy-bypass-list=<-loopback>"] if proxy else [])],
                proxy={"server": proxy} if proxy else None,
                ignore_https_errors=True,  # tls scenarios: the per-run CA is not installed
                timeout=LAUNCH_TIMEOUT_S * 1000,
            )
        except Exception as exc:
            self._profile.cleanup()
            raise EngineError(
                f"chromium failed to launch ({executable or 'playwright build'}): "
                f"{failure_line(exc)}"
            ) from exc
        self.watchdog = Watchdog("chromium", find_browser(self._profile.name))
        page = self._context.pages[0] if self._context.pages else self._context.new_page()
        version = self._context.new_cdp_session(page).send("Browser.getVersion")["product"]
        page.close()
        self.info = EngineInfo(
            name="chromium",
            version=version.split("/", 1)[-1],
            engine_build=build,
            driver="playwright",
            cookie_policy=cookie_policy,
            executable=executable or playwright.chromium.executable_path,
        )

    def new_page(self) -> EnginePage:
        with self.watchdog.guard("opening a page"):
            self._context.clear_cookies()
            return PlaywrightPage(self._context.new_page(), self.watchdog)

    def close(self) -> None:
        try:
            with self.watchdog.guard("closing the browser"):
                self._context.close()
        except EngineError:
            pass  # already dead: nothing to close
        finally:
            self._profile.cleanup()


class PlaywrightFirefox(Engine):
    """Firefox: Playwright's own build, or stock Firefox ESR through the moz-firefox BiDi channel.

    One browser and one context; its pages are reused across cells (probe.PageCache), and the
    cells that set cookies clear the context's jar when they end.
    """

    def __init__(
        self,
        playwright,
        executable: str | None,
        build: str,
        cookie_policy: str,
        proxy: str | None = None,
    ) -> None:
        kwargs: dict[str, Any] = {
            "headless": True,
            "timeout": LAUNCH_TIMEOUT_S * 1000,
            "firefox_user_prefs": {
                "network.cookie.cookieBehavior": FIREFOX_COOKIE_BEHAVIOR[cookie_policy],
            },
        }
        if proxy:  # as prefs: Playwright's proxy option breaks navigation over BiDi
            kwargs["firefox_user_prefs"].update(firefox_proxy_prefs(proxy))
        if executable:
            kwargs.update(executable_path=executable, channel="moz-firefox")
        try:
            self._browser = playwright.firefox.launch(**kwargs)
        except Exception as exc:
            raise EngineError(
                f"firefox failed to launch ({executable or 'playwright build'}): "
                f"{failure_line(exc)}"
            ) from exc
        self.info = EngineInfo(
            name="firefox",
            version=self._browser.version,
            engine_build=build,
            driver="playwright",
            cookie_policy=cookie_policy,
            executable=executable or playwright.firefox.executable_path,
        )
        self._context = None

    def new_page(self) -> EnginePage:
        """A page in the engine's one context (its cookie jar is cleared by the cells that
        set cookies; see probe.PageCache)."""
        if self._context is not None:
            return PlaywrightPage(self._context.new_page())
        try:
            self._context = self._browser.new_context(ignore_https_errors=True)
        except Exception as exc:
            raise EngineError(
                f"firefox new_context failed (Playwright/Firefox BiDi mismatch? playwright must be "
                f"1.64.1 for stock Firefox): {failure_line(exc)}"
            ) from exc
        return PlaywrightPage(self._context.new_page())

    def close(self) -> None:
        self._browser.close()
