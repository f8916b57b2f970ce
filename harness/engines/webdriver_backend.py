"""WebDriver backend (Selenium): WebKitGTK's MiniBrowser under an Xvfb the harness starts, and
Chromium through Debian's chromedriver (the second route that proves probes are backend-blind).

Playwright cannot drive Debian's WebKit (MiniBrowser rejects --inspector-pipe), so WebDriver it
is. One WebDriver session per engine; cookies a cell created are deleted when it closes.
The real engine version comes from the session's capabilities (WebKitGTK's user agent claims
"Version/60.5 Safari", which is not the engine version).
"""

from __future__ import annotations

import os
import re
import select
import subprocess
import tempfile
import threading
import time
import warnings
from pathlib import Path
from typing import Any

from .base import (
    CHROMIUM_ARGS,
    CHROMIUM_COOKIE_CONTROLS,
    LAUNCH_TIMEOUT_S,
    NAVIGATION_TIMEOUT_S,
    SCRIPT_TIMEOUT_S,
    Engine,
    EngineError,
    EngineInfo,
    EnginePage,
    failure_line,
)

MINIBROWSER = "/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser"
WEBKIT_DRIVER = "/usr/bin/WebKitWebDriver"
CHROMEDRIVER = "/usr/bin/chromedriver"
# MiniBrowser --cookies-policy values: always | never | no-third-party. no-third-party alone
# (libsoup ACCEPT_NO_THIRD_PARTY) only refuses cookies SET from third-party contexts and still
# sends existing ones cross-site; blocking third-party cookies as Safari does takes ITP too
# (--enable-itp), added for block-third-party below.
WEBKIT_COOKIE_POLICY = {"allow-third-party": "always", "block-third-party": "no-third-party"}

# Run an async function of one argument and hand back {ok, value} or {ok: false, error}.
_ASYNC_WRAPPER = """
const done = arguments[arguments.length - 1];
const fn = (%s);
Promise.resolve().then(() => fn(arguments[0])).then(
  (value) => done({ok: true, value}),
  (err) => done({ok: false, error: String((err && err.message) || err)}));
"""


class Xvfb:
    """A private X display for engines without a headless mode; stopped on close()."""

    def __init__(self) -> None:
        read_fd, write_fd = os.pipe()
        named = os.environ.get("CORS_MATRIX_XVFB_LOG")
        # its own words, for the error if it dies before giving a display
        with open(named, "ab") if named else tempfile.TemporaryFile() as log:
            try:
                self.process = subprocess.Popen(
                    ["Xvfb", "-displayfd", str(write_fd), "-screen", "0", "1280x1024x24",
                     "-nolisten", "tcp", "-noreset"],
                    pass_fds=[write_fd], stdout=subprocess.DEVNULL, stderr=log,
                )  # fmt: skip
            except FileNotFoundError as exc:
                os.close(read_fd)
                os.close(write_fd)
                raise EngineError("Xvfb not found; apt-get install xvfb") from exc
            os.close(write_fd)
            number = self._read_display(read_fd)
            if not number:
                try:  # it died (its end of the pipe closed with it), or it hangs
                    code = self.process.wait(1)
                except subprocess.TimeoutExpired:
                    code = None
                self.close()
                if code is None:
                    raise EngineError(f"Xvfb did not report a display within {LAUNCH_TIMEOUT_S}s")
                why = "" if named else self._last_words(log)
                said = f": {why}" if why else ""
                raise EngineError(f"Xvfb exited (code {code}) before giving a display{said}")
        self.display = f":{number}"

    @staticmethod
    def _read_display(read_fd: int) -> str:
        """Read "N\n" from -displayfd. Xvfb writes the number and the newline in two writes and
        dies (EPIPE, "Cannot write display number") if the pipe is closed in between, so read
        up to the newline before closing."""
        deadline = time.monotonic() + LAUNCH_TIMEOUT_S
        data = b""
        try:
            while b"\n" not in data:
                left = deadline - time.monotonic()
                if left <= 0 or not select.select([read_fd], [], [], left)[0]:
                    break
                chunk = os.read(read_fd, 32)
                if not chunk:
                    break
                data += chunk
        finally:
            os.close(read_fd)
        return data.decode().strip() if data.endswith(b"\n") else ""

    @staticmethod
    def _last_words(log) -> str:
        """The last line Xvfb wrote that says something ("(EE)" alone does not)."""
        log.seek(0)
        lines = log.read().decode(errors="replace").splitlines()
        return next((ln.strip() for ln in reversed(lines) if ln.strip("(E) \t")), "")

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_session(factory, service, what: str, timeout: float = LAUNCH_TIMEOUT_S):
    """Create a WebDriver session, or fail within `timeout` (LAUNCH_TIMEOUT_S): a driver
    waiting for a browser that never connects must not hang the run."""
    box: dict[str, Any] = {}

    def create() -> None:
        try:
            box["driver"] = factory()
        except Exception as exc:  # reported below
            box["error"] = exc

    thread = threading.Thread(target=create, daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        service.stop()  # unblocks the pending HTTP request by killing the driver
        thread.join(5)
        raise EngineError(f"{what}: no WebDriver session within {timeout:.0f}s")
    if "error" in box:
        first = failure_line(box["error"])
        refused = re.search(r"Failed to establish a new connection: ([^\"')]+)", first)
        if refused:  # urllib3's whole retry story, in the words that matter
            first = f"cannot connect ({refused.group(1).strip()})"
        raise EngineError(f"{what} failed to start: {first}")
    return box["driver"]


class WebDriverPage(EnginePage):
    def __init__(self, driver, clear_over_cdp: bool = False) -> None:
        self._driver = driver
        self._clear_over_cdp = clear_over_cdp  # a local ChromeDriver session (see clear_cookies)

    def goto(self, url: str) -> None:
        try:
            self._driver.get(url)
        except Exception as exc:
            raise EngineError(f"navigation to {url} failed: {failure_line(exc)}") from exc

    def run(self, script: str, arg: Any) -> Any:
        try:
            answer = self._driver.execute_async_script(_ASYNC_WRAPPER % script, arg)
        except Exception as exc:
            raise EngineError(f"script did not finish: {failure_line(exc)}") from exc
        if not answer or not answer.get("ok"):
            raise EngineError(f"script failed in page: {answer and answer.get('error')}")
        return answer["value"]

    def screenshot(self, path: Path) -> None:
        self._driver.save_screenshot(str(path))

    def clear_cookies(self, origins: list[str], paths: tuple[str, ...] = ("/",)) -> None:
        # WebDriver deletes only the cookies the current document would send (its origin, and
        # a Path that path-matches the document's): visit each origin under each cookie's Path
        for origin in origins:
            for path in paths:
                self._driver.get(f"{origin}{path.rstrip('/')}/headers?cm_probe=_cookie_reset")
                self._driver.delete_all_cookies()
        # ChromeDriver's delete leaves partitioned (CHIPS) cookies, which belong to no document
        # alone; a local Chromium session clears the whole jar over CDP as well
        if self._clear_over_cdp:
            self._driver.execute_cdp_cmd("Network.clearBrowserCookies", {})

    def close(self) -> None:
        self._driver.get("about:blank")


class _WebDriverEngine(Engine):
    single_window = True
    clears_cookies_over_cdp = False

    def _attach(
        self, driver, name: str, cookie_policy: str, executable: str, remote: str | None = None
    ) -> None:
        """Set every wait's timeout and record what runs, from the session's capabilities."""
        driver.set_script_timeout(SCRIPT_TIMEOUT_S)
        driver.set_page_load_timeout(NAVIGATION_TIMEOUT_S)
        self._driver = driver
        self.info = EngineInfo(
            name=name,
            version=driver.capabilities.get("browserVersion", "unknown"),
            engine_build="remote" if remote else "system",
            driver="webdriver",
            cookie_policy=cookie_policy,
            executable=executable,
            remote=remote,
        )

    def new_page(self) -> EnginePage:
        return WebDriverPage(self._driver, self.clears_cookies_over_cdp)


def webkit_options(cookie_policy: str, executable: str, proxy: str | None = None):
    """MiniBrowser's capabilities, for a local WebKitWebDriver and for a remote endpoint."""
    from selenium.webdriver.webkitgtk.options import Options

    options = Options()
    options.binary_location = executable
    options.add_argument("--automation")
    options.add_argument("--ignore-tls-errors")  # tls scenarios: a per-run CA
    options.accept_insecure_certs = True
    options.add_argument(f"--cookies-policy={WEBKIT_COOKIE_POLICY[cookie_policy]}")
    if proxy:  # check: declared hostnames reach local servers through it
        options.add_argument(f"--proxy={proxy}")
    if cookie_policy == "block-third-party":
        options.add_argument("--enable-itp")
    return options


def chromium_options(
    cookie_policy: str,
    executable: str | None,
    profile_dir: str | None = None,
    proxy: str | None = None,
):
    """Chromium's capabilities for chromedriver (local or remote): policy in the profile prefs."""
    from selenium.webdriver.chrome.options import Options

    options = Options()
    if executable:
        options.binary_location = executable
    options.accept_insecure_certs = True  # tls scenarios: a per-run CA
    for arg in ("--headless=new", "--no-sandbox", *CHROMIUM_ARGS):
        options.add_argument(arg)
    if profile_dir:
        options.add_argument(f"--user-data-dir={profile_dir}")
    if proxy:
        options.add_argument(f"--proxy-server={proxy}")
        options.add_argument("--proxy-bypass-list=<-loopback>")
    options.add_experimental_option(
        "prefs", {"profile.cookie_controls_mode": CHROMIUM_COOKIE_CONTROLS[cookie_policy]}
    )
    return options


class WebKitGTK(_WebDriverEngine):
    """WebKitGTK's MiniBrowser via WebKitWebDriver, on a private Xvfb display."""

    def __init__(
        self, cookie_policy: str, executable: str = MINIBROWSER, proxy: str | None = None
    ) -> None:
        from selenium import webdriver
        from selenium.webdriver.webkitgtk.service import Service

        self._xvfb = Xvfb()
        options = webkit_options(cookie_policy, executable, proxy)
        service = Service(
            WEBKIT_DRIVER,
            env={**os.environ, "DISPLAY": self._xvfb.display},
            log_output=os.environ.get("CORS_MATRIX_WEBDRIVER_LOG", subprocess.DEVNULL),
        )

        def factory():
            with warnings.catch_warnings():  # selenium's own WebKitGTK class uses a deprecated call
                warnings.simplefilter("ignore", DeprecationWarning)
                return webdriver.WebKitGTK(options=options, service=service)

        try:
            driver = start_session(factory, service, "webkit (WebKitWebDriver)")
        except EngineError:
            self._xvfb.close()
            raise
        self._attach(driver, "webkit", cookie_policy, executable)

    def close(self) -> None:
        try:
            self._driver.quit()
        finally:
            self._xvfb.close()


class ChromiumWebDriver(_WebDriverEngine):
    """Debian's Chromium via Debian's chromedriver, with the cookie policy in its profile prefs."""

    clears_cookies_over_cdp = True  # a local session: ChromeDriver's CDP endpoint answers

    def __init__(self, executable: str, cookie_policy: str, proxy: str | None = None) -> None:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        self._profile = tempfile.TemporaryDirectory(prefix="cors-matrix-chromedriver-")
        options = chromium_options(cookie_policy, executable, self._profile.name, proxy)
        service = Service(CHROMEDRIVER)
        try:
            driver = start_session(
                lambda: webdriver.Chrome(options=options, service=service),
                service,
                "chromium (chromedriver)",
            )
        except EngineError:
            self._profile.cleanup()
            raise
        self._attach(driver, "chromium", cookie_policy, executable)

    def close(self) -> None:
        try:
            self._driver.quit()
        finally:
            self._profile.cleanup()
