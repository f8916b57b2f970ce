"""Running one cell: a probe of a scenario in one engine, joined with the server's ledger.

The page side comes from window.corsProbe in the React fixture; the server side from the
ledger, read over the host's control port. The two are joined into an observation with the same
keys the oracle predicts.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from ..engines.base import Engine, EnginePage
from ..judge.cookie_jar import cookie_path
from ..judge.prediction import origin_name, referrer_name, url_name
from ..scenario import Probe, Scenario
from ..scenario.endpoints import TOKEN_PARAM
from ..scenario.origins import api_origins, page_key, page_url, split_target
from ..spec import fetch_spec
from .interrupts import cleanup_unless_interrupted
from .results import readable

# One evaluate runs all of a probe's fetches back to back (each but the first after its own
# delay_ms: the probe's, or a `then` step's), so the later ones can hit the preflight cache.
# Every fetch races a timer (`timeoutMs`, default 10 s): a server that never answers becomes an
# error naming the request, not a hang (Playwright's evaluate itself has no timeout); with
# `timeoutIsOutcome` (check) it becomes a "timeout" attempt instead, and the series stops.
RUN_SERIES_JS = """
async (arg) => {
  const deadline = Date.now() + 10000;
  while (!window.corsProbe) {
    if (Date.now() > deadline) throw new Error("window.corsProbe missing: fixture did not start");
    await new Promise((r) => setTimeout(r, 20));
  }
  if (arg.clear && window.corsProbeClear) window.corsProbeClear();  // a reused page: start empty
  const attempts = [];
  for (let i = 0; i < arg.specs.length; i++) {
    const wait = arg.specs[i].waitMs ?? arg.delayMs;  // a `then` step may have its own
    if (i > 0 && wait) await new Promise((r) => setTimeout(r, wait));
    const limit = arg.timeoutMs || 10000;
    let timer;
    const timeout = new Promise((resolve, reject) => {
      timer = setTimeout(() => {
        const what = `${arg.specs[i].method || "GET"} ${arg.specs[i].url}`;
        const why = `probe timed out after ${limit} ms waiting for ${what} (no answer)`;
        if (!arg.timeoutIsOutcome) reject(new Error(why));
        resolve({outcome: "timeout", status: null, headers: {}, body: null,
                 errorName: "Timeout", errorMessage: why});
      }, limit);
    });
    try {
      attempts.push(await Promise.race([window.corsProbe(arg.specs[i]), timeout]));
    } finally {
      clearTimeout(timer);
    }
    if (attempts[attempts.length - 1].outcome === "timeout") break;
  }
  return attempts;
}
"""


SANDBOXED_INITIATOR = "sandboxed-iframe"
"""A fetch spec's `initiator` for window.corsProbe: run it in an opaque-origin (sandboxed)
iframe of the page, so it sends Origin: null (react_fixture/src/sandbox.js)."""


def new_token(scenario: str, probe: str, browser: str) -> str:
    """Unique per cell: isolates the ledger and the preflight cache key (it is in the URL)."""
    return f"{scenario}.{probe}.{browser}.{secrets.token_hex(4)}"


def with_token(url: str, token: str) -> str:
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}{urlencode({TOKEN_PARAM: token})}"


def cookie_url(api: str, cookie, token: str) -> str:
    query = {"name": cookie.name, "value": cookie.value, "secure": "1" if cookie.secure else "0"}
    if cookie.samesite:
        query["samesite"] = cookie.samesite
    if cookie.domain:
        query["domain"] = cookie.domain
    return with_token(f"{api}/cookies/set?{urlencode(query)}", token)


def fetch_spec_of(probe: Probe, url: str) -> dict[str, Any]:
    """What window.corsProbe gets for one fetch."""
    return {
        "url": url,
        "method": probe.method,
        "headers": probe.headers,
        "body": probe.request_body,
        "keepalive": probe.keepalive,
        "credentials": probe.credentials,
        "mode": probe.mode,
        "cache": probe.cache,
        "redirect": probe.redirect,
        "referrer": probe.referrer,
        "referrerPolicy": probe.referrer_policy,
        "readHeaders": probe.read_headers,
        "api": probe.api,
        "uploadListener": probe.upload_listener,
        **({"user": probe.user} if probe.user is not None else {}),
        **({"password": probe.password} if probe.password is not None else {}),
        "waitMs": probe.delay_ms,  # before this fetch, when it is not the series' first
        **({"initiator": SANDBOXED_INITIATOR} if probe.page == "sandboxed" else {}),
    }


@dataclass
class CellRun:
    """What one cell produced: the page's attempts, the ledger entries, timings."""

    url: str
    token: str
    attempts: list[dict[str, Any]]
    ledger: list[dict[str, Any]]
    setup_ledger: list[dict[str, Any]]
    duration_ms: float
    artifacts: dict[str, str] = field(default_factory=dict)
    engine_messages: list[str] | None = None  # CORS-related console/log lines; None: not exposed


class _Fresh:
    """No reuse: a new page per cell, closed after it. Do not mix with a PageCache on the same
    engine: a WebDriver engine has one window, which this would navigate away."""

    def open(self, engine: Engine, origin: str) -> tuple[EnginePage, bool]:
        return engine.new_page(), False

    def release(self, engine: Engine, page: EnginePage, at: str | None, failed: bool) -> None:
        page.close()


class PageCache:
    """Pages reused across cells: opening a page and loading the React app cost ~10x a probe.

    One open page per (engine, page origin); an engine whose pages all share one window
    (WebDriver) keeps one page and navigates it. What isolates cells is unchanged: every cell
    has its own token, hence its own URL and preflight-cache entries and ledger; cookies a cell
    set are cleared when it ends; the page's probe log is emptied at the start of each cell. A
    page that saw a failure is closed, never reused.
    """

    def __init__(self) -> None:
        self._pages: dict[tuple[int, str | None], tuple[EnginePage, str | None]] = {}

    def _key(self, engine: Engine, origin: str) -> tuple[int, str | None]:
        return (id(engine), None if engine.single_window else origin)

    def open(self, engine: Engine, origin: str) -> tuple[EnginePage, bool]:
        """(page, whether it is already showing `origin`'s app)."""
        entry = self._pages.pop(self._key(engine, origin), None)
        if entry is None:
            return engine.new_page(), False
        page, at = entry
        return page, at == origin

    def release(self, engine: Engine, page: EnginePage, at: str | None, failed: bool) -> None:
        if failed:
            _close_quietly(page)
            return
        self._pages[self._key(engine, at or "")] = (page, at)

    def forget(self, engine: Engine) -> None:
        """Drop (close) every page of an engine, e.g. before it is discarded."""
        for key in [k for k in self._pages if k[0] == id(engine)]:
            _close_quietly(self._pages.pop(key)[0])

    def close(self) -> None:
        while self._pages:
            _close_quietly(self._pages.popitem()[1][0])


def _close_quietly(page: EnginePage) -> None:
    """A page of a crashed or closed engine may fail to close; that must not hide the cause."""
    try:
        page.close()
    except Exception:
        pass


def run_cell(
    engine: Engine,
    pages: dict[str, str],
    api: str,
    scenario: Scenario,
    probe: Probe,
    ledger_reader,
    evidence: Callable[[CellRun], Path | None] | None = None,
    reconfigure: Callable[[dict[str, Any] | None], None] | None = None,
    page_cache: PageCache | None = None,
    trace: Path | None = None,
) -> CellRun:
    """Run `probe` in a page of `engine` and read back what the server saw.

    `evidence(run)` is asked, while the page is still open, where to save a screenshot of it
    (None: no screenshot); so the evidence of a failing cell is the very page that failed.
    `reconfigure(changes)` swaps the scenario's server config (probes with `reconfigure`).
    `page_cache` reuses open pages across cells (None: a fresh page per cell). With `trace`,
    a Playwright engine records the cell into that file (run.artifacts["trace"]).
    """
    started = time.monotonic()
    token = new_token(scenario.name, probe.name, engine.info.name)
    setup_token = token + ".setup"
    server, path = split_target(probe.path)
    url = with_token(api_origins(api)[server] + path, token)
    origin = pages[page_key(probe.page, probe.page_scheme)]
    cache = page_cache or _Fresh()
    page, ready = cache.open(engine, origin)
    at: str | None = origin if ready else None
    failed = True
    seen_before = len(page.messages() or [])
    ledger: list[dict[str, Any]] | None = None  # the cell's ledger, once read

    def end_cell() -> None:
        nonlocal at, failed
        try:
            if trace is not None:
                page.end_trace(None)  # still recording: the cell failed, nothing to keep
            # cookies this cell made, by set_cookies or by any answer of the server (a probe
            # of /cookies/set, a login route): none may reach a later cell on this host
            entries = ledger if ledger is not None else ledger_reader(token)
            if probe.set_cookies or set_a_cookie(entries):
                page.clear_cookies(list(api_origins(api).values()), cookie_paths(entries))
                if engine.single_window:  # WebDriver clears cookies by visiting the API
                    at = None
        except Exception:
            failed = True
            raise
        finally:
            cache.release(engine, page, at, failed)

    with cleanup_unless_interrupted(end_cell):
        if trace is not None:
            page.start_trace()
        for cookie in probe.set_cookies:
            if cookie.via == "navigation":
                page.goto(cookie_url(api_origins(api)[cookie.server], cookie, setup_token))
                at = None
        if at != origin:
            page.goto(page_url(probe.page, origin))
            at = origin
            seen_before = 0 if page.messages() is None else len(page.messages())
        for cookie in probe.set_cookies:
            if cookie.via == "fetch":
                where = api_origins(api)[cookie.server]
                spec = {"url": cookie_url(where, cookie, setup_token), "credentials": "include"}
                page.run(RUN_SERIES_JS, {"specs": [spec], "delayMs": 0, "clear": True})
        fetch_cookies = any(c.via == "fetch" for c in probe.set_cookies)
        specs = [fetch_spec_of(step, url) for step in probe.attempts()]
        if probe.reconfigure is None:
            attempts = page.run(RUN_SERIES_JS, {"specs": specs, "delayMs": probe.delay_ms,
                                                "clear": not fetch_cookies})  # fmt: skip
        else:  # first fetch, then the server's config changes, then the rest
            attempts = page.run(RUN_SERIES_JS, {"specs": specs[:1], "delayMs": 0,
                                                "clear": not fetch_cookies})  # fmt: skip
            reconfigure(probe.reconfigure)
            with cleanup_unless_interrupted(lambda: reconfigure(None)):
                attempts += page.run(RUN_SERIES_JS, {"specs": specs[1:], "delayMs": probe.delay_ms})
        ledger = ledger_reader(token)
        run = CellRun(url, token, attempts, ledger,
                      ledger_reader(setup_token) if probe.set_cookies else [],
                      round((time.monotonic() - started) * 1000, 1))  # fmt: skip
        run.engine_messages = engine_messages(page, seen_before, token, attempts)
        shot = evidence(run) if evidence is not None else None
        if shot is not None:
            try:
                shot.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(shot)
                run.artifacts["screenshot"] = str(shot)
            except Exception as exc:  # evidence is best effort; the verdict stands
                run.artifacts["screenshot_error"] = str(exc).splitlines()[0]
        if trace is not None:
            trace.parent.mkdir(parents=True, exist_ok=True)
            if page.end_trace(trace):
                run.artifacts["trace"] = str(trace)
        failed = False
        return run


def set_a_cookie(entries: list[dict[str, Any]]) -> bool:
    """Whether any answer in these ledger entries carried Set-Cookie."""
    return any("set-cookie" in e.get("response_headers", {}) for e in entries)


def cookie_paths(entries: list[dict[str, Any]]) -> tuple[str, ...]:
    """ "/" and the Path of every cookie an answer in these ledger entries set (a login route's
    cookie may be scoped to /session: WebDriver must show a page there to delete it)."""
    paths = {"/"}
    for e in entries:
        for value in e.get("response_headers", {}).get("set-cookie", []):
            paths.add(cookie_path(value, e["path"]))
    return tuple(sorted(paths))


CORS_MESSAGE = ("CORS", "Cross-Origin", "Same Origin Policy", "Access-Control-")


def engine_messages(
    page: EnginePage, seen_before: int, token: str, attempts: list[dict[str, Any]]
) -> list[str] | None:
    """The engine's CORS lines for one cell's fetches (None: the driver exposes none).

    They name the cell's URL, hence its token: on a reused page a late line of the previous
    cell must not count. Firefox's line can trail the rejected fetch, so wait (up to 0.5 s)
    until there is one per blocked fetch.
    """
    blocked = sum(a["outcome"] == "cors-error" for a in attempts)

    def own() -> list[str] | None:
        every = page.messages()
        if every is None:
            return None
        mine = [m for m in every[seen_before:] if token in m or TOKEN_PARAM not in m]
        return [m for m in mine if any(k in m for k in CORS_MESSAGE)]

    raw = own()
    for _ in range(10):
        if raw is None or len(raw) >= blocked:
            break
        page.settle(50)
        raw = own()
    return None if raw is None else list(dict.fromkeys(raw))  # in order, without repeats


def observe(run: CellRun, names: dict[str, str] | None = None) -> dict[str, Any]:
    """Join the page's view (last attempt) and the ledger into the compared observation.
    `names` (name -> origin) turns each Origin header the API saw into the run's name for it."""
    last = run.attempts[-1]
    actual = [e for e in run.ledger if not e["preflight"]]
    cookies = sorted({name for e in actual for name in e["cookies"]})
    return {
        "outcome": last["outcome"],
        "status": None if last["outcome"] == "cors-error" else last["status"],
        "headers": last["headers"],
        "preflights": sum(1 for e in run.ledger if e["preflight"]),
        "requests": len(actual),
        "cookies_received": cookies,
        "authorization_received": any(e["authorization"] for e in actual),
        "attempts": [a["outcome"] for a in run.attempts],
        "errors": [
            f"{a['errorName']}: {a['errorMessage']}" for a in run.attempts if a["errorName"]
        ],
        "origin_headers": [origin_name(e["origin"], names or {}) for e in run.ledger],
        "methods": [e["method"] for e in run.ledger],
        "referers": [referrer_name(e.get("referer"), names or {}) for e in run.ledger],
        "authorizations": [e["authorization"] for e in run.ledger],
        "request_cookies": [sorted(set(e["cookies"])) for e in run.ledger],
        "final_url": url_name(last.get("url"), names or {}) if readable(last["outcome"]) else None,
        "redirected": last.get("redirected"),
        "body_headers": [e.get("body_headers") for e in run.ledger],
        "conditional_requests": [
            bool(e.get("if_none_match") or e.get("if_modified_since")) for e in run.ledger
        ],
        "preflight_request_headers": [
            e.get("access_control_request_headers") for e in run.ledger if e["preflight"]
        ],  # fmt: skip
        "body": last.get("body"),
        # the reason phrase the page read (WPT checks it), recorded, not compared
        "status_text": None if last["outcome"] == "cors-error" else last.get("statusText"),
        # the name of every header the page could read (values only for read_headers), but the
        # connection's own (a proxy between engine and server adds Connection: close)
        "readable_headers": None
        if last.get("readableHeaders") is None
        else [n for n in last["readableHeaders"] if n not in fetch_spec.CONNECTION_HEADERS],
    }
