"""Remote engines: a Playwright browser server (ws:// or wss://, `playwright run-server`) or any
WebDriver endpoint (http:// or https://: Selenium Grid, a standalone chromedriver or
WebKitWebDriver). Scenarios do not change; the record names where the cell ran (`remote`).

The cookie policy is still stated, never left to the remote's default: Firefox through its
prefs, WebKitGTK through MiniBrowser's arguments, Chromium over WebDriver through profile prefs,
Chromium over a Playwright server (no persistent profile there) through CDP per page.
$CORS_MATRIX_<ENGINE>, when set, names the executable on the remote side (a Playwright server
must then run with --unsafe to accept it).
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import replace
from typing import Any

from .base import (
    BROWSERS,
    CHROMIUM_ARGS,
    FIREFOX_COOKIE_BEHAVIOR,
    LAUNCH_TIMEOUT_S,
    Engine,
    EngineError,
    EngineInfo,
    EnginePage,
    EngineUnavailable,
    failure_line,
    firefox_proxy_prefs,
    override_variable,
    without_secrets,
)
from .playwright_backend import PlaywrightPage
from .webdriver_backend import (
    MINIBROWSER,
    WebDriverPage,
    _WebDriverEngine,
    chromium_options,
    start_session,
    webkit_options,
)

# Chromium without a profile (a Playwright server launches it, so no profile prefs): CDP's
# Network.setCookieControls states block-third-party per page, before its first navigation,
# with no grace-period or heuristics exceptions. It only adds restrictions: with
# enableThirdPartyCookieRestriction=false, Chromium 156 still blocked a SameSite=None cookie
# cross-site (scenario third-party-cookie), so allow-third-party cannot be stated there.
# https://chromedevtools.github.io/devtools-protocol/tot/Network/#method-setCookieControls


def parse_remotes(values: list[str]) -> dict[str, str]:
    """`ENGINE=URL` options -> {engine: url}; ValueError with one line naming the bad value."""
    remotes: dict[str, str] = {}
    for value in values:
        name, sep, url = value.partition("=")
        shown = without_secrets(value)
        if not sep or name not in BROWSERS:
            raise ValueError(f"--cors-remote {shown!r}: expected ENGINE=URL with ENGINE one of "
                             f"{', '.join(BROWSERS)}")  # fmt: skip
        if not url.startswith(("ws://", "wss://", "http://", "https://")):
            raise ValueError(f"--cors-remote {shown!r}: URL must be ws(s):// (Playwright "
                             "server) or http(s):// (WebDriver)")  # fmt: skip
        remotes[name] = url
    return remotes


def parse_grid(url: str) -> str:
    """A --cors-grid hub URL; ValueError in one line for anything that is not http(s)://."""
    if not url.startswith(("http://", "https://")):
        raise ValueError(
            f"--cors-grid {without_secrets(url)!r}: a Selenium Grid hub's URL is http(s)://host:port"
        )
    return url


def _executable(name: str) -> str | None:
    return os.environ.get(override_variable(name)) or None


class RemotePlaywright(Engine):
    """A browser launched by a Playwright server; one context, cookies cleared by the cells
    that set them."""

    def __init__(self, playwright, name: str, url: str, cookie_policy: str) -> None:
        if name == "webkit":
            raise EngineError("webkit over a Playwright server: its cookie policy cannot be set; "
                              "use a WebDriver endpoint (WebKitWebDriver) instead")  # fmt: skip
        if name == "chromium" and cookie_policy == "allow-third-party":
            raise EngineUnavailable(
                "chromium over a Playwright server cannot be set to allow third-party cookies "
                "(no profile prefs there); use a WebDriver endpoint (chromedriver) for it"
            )
        executable = _executable(name)
        launch: dict[str, Any] = {"headless": True}
        if name == "firefox":
            launch["firefoxUserPrefs"] = {
                "network.cookie.cookieBehavior": FIREFOX_COOKIE_BEHAVIOR[cookie_policy]
            }
            if executable:
                launch.update(executablePath=executable, channel="moz-firefox")
        else:
            launch["args"] = CHROMIUM_ARGS
            if executable:
                launch["executablePath"] = executable
        try:
            self._browser = getattr(playwright, name).connect(
                url, timeout=LAUNCH_TIMEOUT_S * 1000,
                headers={"x-playwright-launch-options": json.dumps(launch)},
            )  # fmt: skip
        except Exception as exc:
            raise EngineError(f"{name} at {without_secrets(url)}: "
                              f"{failure_line(exc)}") from exc  # fmt: skip
        self.info = EngineInfo(
            name=name, version=self._browser.version, engine_build="remote",
            driver="playwright", cookie_policy=cookie_policy,
            executable=executable or "(the server's build)", remote=url,
        )  # fmt: skip
        self._context = None

    def new_page(self) -> EnginePage:
        """A page in the engine's one context: pages are reused across cells (PageCache), so
        opening one must not close another's context."""
        if self._context is None:
            self._context = self._browser.new_context(ignore_https_errors=True)
        page = self._context.new_page()
        if self.info.name == "chromium":
            self._context.new_cdp_session(page).send("Network.setCookieControls", {
                "enableThirdPartyCookieRestriction": True,
                "disableThirdPartyCookieMetadata": True,
                "disableThirdPartyCookieHeuristics": True,
            })  # fmt: skip
        return PlaywrightPage(page)

    def close(self) -> None:
        self._browser.close()


def grid_node(url: str, session_id: str) -> str | None:
    """The URI of the Grid node that holds the session (None: not a Grid, or not found)."""
    import base64
    import urllib.request
    from urllib.parse import unquote, urlsplit

    parts = urlsplit(url)
    headers = {}
    if parts.username is not None:  # the hub's basic auth, as Selenium's client sends it
        pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
        headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
        parts = parts._replace(netloc=parts.netloc.rpartition("@")[2])
    status = urllib.request.Request(parts.geturl().rstrip("/") + "/status", headers=headers)
    try:
        with urllib.request.urlopen(status, timeout=5) as answer:  # noqa: S310
            nodes = json.load(answer)["value"].get("nodes", [])
    except Exception:
        return None
    for node in nodes:
        for slot in node.get("slots", []):
            if (slot.get("session") or {}).get("sessionId") == session_id:
                return node.get("uri")
    return None


GRID_QUEUE_WAIT_S = 330  # above Selenium Grid's default session-request-timeout (300 s)


class _NoService:
    """start_session stops a local driver on timeout; a remote one is not ours to stop."""

    def stop(self) -> None:
        pass


def _webdriver_options(name: str, cookie_policy: str, proxy: str | None = None):
    """The same capabilities as the local WebDriver routes (webdriver_backend), plus Firefox
    for endpoints that have geckodriver. `proxy`: every request of the browser, loopback names
    included, goes through the harness's forward proxy (browsers on other machines)."""
    executable = _executable(name)
    if name == "webkit":
        return webkit_options(cookie_policy, executable or MINIBROWSER, proxy), executable
    if name == "chromium":
        return chromium_options(cookie_policy, executable, proxy=proxy), executable
    from selenium.webdriver.firefox.options import Options

    options = Options()
    if executable:
        options.binary_location = executable
    options.add_argument("-headless")
    options.set_preference("network.cookie.cookieBehavior", FIREFOX_COOKIE_BEHAVIOR[cookie_policy])
    options.accept_insecure_certs = True  # tls scenarios: a per-run CA
    for pref, value in (firefox_proxy_prefs(proxy) if proxy else {}).items():
        options.set_preference(pref, value)
    return options, executable


class RemoteWebDriver(_WebDriverEngine):
    """A session on a WebDriver endpoint someone else runs (Grid, standalone driver)."""

    def __init__(
        self, name: str, url: str, cookie_policy: str, proxy: str | None = None, grid: bool = False
    ) -> None:
        from selenium import webdriver

        options, executable = _webdriver_options(name, cookie_policy, proxy)
        # Selenium's client retries a refused connection through urllib3, which logs a
        # warning per retry (~100 lines for a grid that is down); the error says it once
        logging.getLogger("urllib3.connectionpool").setLevel(logging.ERROR)
        driver = start_session(
            lambda: webdriver.Remote(command_executor=url, options=options),
            _NoService(),
            f"{name} at {without_secrets(url)}",
            # a Grid queues the request while its nodes are busy, up to its own timeout
            GRID_QUEUE_WAIT_S if grid else LAUNCH_TIMEOUT_S,
        )
        self._attach(driver, name, cookie_policy, executable or "(the endpoint's build)", url)
        caps = driver.capabilities
        self.info = replace(self.info, remote_browser=caps.get("browserName"),
                            platform=caps.get("platformName"),
                            node=grid_node(url, driver.session_id))  # fmt: skip

    def alive(self) -> bool:
        """Whether the session still answers (a Grid node may have gone away under it)."""
        try:
            self._driver.execute_script("return 1")
        except Exception:
            return False
        return True

    def new_page(self) -> EnginePage:
        return WebDriverPage(self._driver)

    def close(self) -> None:
        self._driver.quit()
