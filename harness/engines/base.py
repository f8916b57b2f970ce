"""The one small engine interface every backend implements.

A probe is JavaScript run in a page, so an engine only has to: launch with a cookie policy, open
an isolated page, navigate, run an async script, report its real name and version, close.
Probes and the oracle never know which backend ran them.
"""

from __future__ import annotations

import re
import time
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

BROWSERS = ("chromium", "firefox", "webkit")
COOKIE_POLICIES = ("block-third-party", "allow-third-party")
DEFAULT_COOKIE_POLICY = "block-third-party"

# userinfo in a URL (a cloud grid's http://user:KEY@hub/...): never printed or recorded
_USERINFO = re.compile(r"([a-zA-Z][a-zA-Z0-9+.-]*://)([^/@:\s]*)(:[^/@\s]*)?@")


def without_secrets(text: str) -> str:
    """Text with every URL's password replaced (a lone user part may be a token: hidden too)."""
    return _USERINFO.sub(
        lambda m: f"{m[1]}{m[2]}:***@" if m[3] is not None else f"{m[1]}***@", text
    )


def failure_line(exc: BaseException) -> str:
    """An engine error in one line: its message's first line (no URL password), or its type
    without one."""
    text = without_secrets(str(exc)).strip()
    return text.splitlines()[0] if text else type(exc).__name__


# How every backend states the engine's settings, local or remote (one definition each).
CHROMIUM_ARGS = [
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
    "--disable-gpu",
]
# Chromium's profile.cookie_controls_mode: 0 allow all, 1 block third-party.
CHROMIUM_COOKIE_CONTROLS = {"allow-third-party": 0, "block-third-party": 1}
# Firefox's cookieBehavior: 0 accept all, 1 reject third-party.
# https://searchfox.org/mozilla-central/source/netwerk/cookie/nsICookieService.idl
FIREFOX_COOKIE_BEHAVIOR = {"allow-third-party": 0, "block-third-party": 1}


def firefox_proxy_prefs(proxy: str) -> dict[str, Any]:
    """Firefox prefs that send every request through `proxy` (http://host:port), loopback
    names included (allow_hijacking_localhost): check's and --cors-remote-proxy's."""
    host, _, port = proxy.removeprefix("http://").partition(":")
    return {
        "network.proxy.type": 1,
        "network.proxy.http": host, "network.proxy.http_port": int(port),
        "network.proxy.ssl": host, "network.proxy.ssl_port": int(port),
        "network.proxy.no_proxies_on": "",
        "network.proxy.allow_hijacking_localhost": True,
    }  # fmt: skip


def override_variable(name: str) -> str:
    """$CORS_MATRIX_<ENGINE>: the engine executable a user points to (local or remote side)."""
    return f"CORS_MATRIX_{name.upper()}"


NAVIGATION_TIMEOUT_S = 15
SCRIPT_TIMEOUT_S = 20
LAUNCH_TIMEOUT_S = 30


class EngineUnavailable(Exception):
    """The engine is not installed here; the message says how to install it."""


class EngineError(RuntimeError):
    """The engine is installed but failed (crash, driver mismatch, timeout)."""


@dataclass(frozen=True)
class EngineInfo:
    name: str  # chromium | firefox | webkit
    version: str  # the real engine version, e.g. "156.0.8078.108"
    engine_build: str  # "playwright" (Playwright's own) | "system" (Debian's) | "remote"
    driver: str  # "playwright" | "webdriver"
    cookie_policy: str
    executable: str
    remote: str | None = None  # the endpoint a remote engine ran at (None: launched here)
    # a remote session's own capabilities (browserName, platformName) and its Grid node
    remote_browser: str | None = None
    platform: str | None = None
    node: str | None = None

    def as_record(self) -> dict[str, Any]:
        record = asdict(self)
        for key in ("remote", "node"):
            if record[key]:
                record[key] = without_secrets(record[key])
        return record


class EnginePage(ABC):
    """One isolated page: a fresh cookie jar for each cell."""

    @abstractmethod
    def goto(self, url: str) -> None: ...

    @abstractmethod
    def run(self, script: str, arg: Any) -> Any:
        """Evaluate `script`, an async JS function of one argument, and return its result."""

    @abstractmethod
    def screenshot(self, path: Path) -> None: ...

    @abstractmethod
    def clear_cookies(self, origins: list[str], paths: tuple[str, ...] = ("/",)) -> None:
        """Forget cookies this cell created for `origins`, so no later cell sees them.
        `paths`: the Path of each of them (a driver that can only delete the cookies of the
        document it shows must show one under each)."""

    @abstractmethod
    def close(self) -> None: ...

    def settle(self, ms: int) -> None:
        """Let the engine deliver pending events (console messages arrive after the fetch)."""
        time.sleep(ms / 1000)

    def messages(self) -> list[str] | None:
        """The engine's own console/log messages since the page opened (None: this driver
        exposes none)."""
        return None

    def start_trace(self) -> None:  # noqa: B027 - optional: engines without traces keep it
        """Record what this page does from now on (Playwright engines; others: nothing)."""

    def end_trace(self, path: Path | None) -> bool:
        """Stop recording; save the trace to `path` (None: drop it). Whether one was saved."""
        return False


class Engine(ABC):
    """A launched browser, reused across cells."""

    info: EngineInfo
    # True when every page is the same window (WebDriver): pages are navigated, not opened
    single_window: bool = False

    @abstractmethod
    def new_page(self) -> EnginePage: ...

    @abstractmethod
    def close(self) -> None: ...
