"""The check's cells in real engines: the battery from each frontend (after the login, in the
same browser), then the reads from each attacker origin with the user's cookies in the jar.

Each request has its own timeout in the page: a slow endpoint becomes a "timeout" outcome, one
line in the verdict, and the run goes on. After every cell the app's process is looked at: an
app that died ends the run (AppDied) with every finished cell already on disk.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..run.interrupts import cleanup_unless_interrupted
from ..run.probe import (
    RUN_SERIES_JS,
    SANDBOXED_INITIATOR,
    CellRun,
    cookie_paths,
    engine_messages,
    observe,
    with_token,
)
from ..run.results import readable
from .app_server import AppDied
from .battery import Auth, Request
from .explain import unread_headers, why_unread, why_unreadable
from .options import Endpoint, body_content_type

BODY_KEPT = 500  # characters of a readable body kept in the record


@dataclass
class Cell:
    frontend: str
    role: str  # "frontend" | "attacker"
    page_origin: str
    origin_kind: str  # "declared frontend", "prefix lookalike", ...
    request: Request
    browser: str
    record: dict[str, Any] = field(default_factory=dict)

    @property
    def observed(self) -> dict[str, Any]:
        return self.record["observed"]

    @property
    def readable(self) -> bool:
        return readable(self.observed["outcome"])

    @property
    def last_answer(self) -> dict[str, Any] | None:
        """The ledger's last non-preflight entry: the answer the page read, or None."""
        actual = [e for e in self.record.get("ledger") or [] if not e["preflight"]]
        return actual[-1] if actual else None


@dataclass
class Plan:
    api_origin: str
    auth: Auth
    login: Endpoint | None
    frontend_requests: list[Request]
    attacker_requests: list[Request]
    attackers: dict[str, list[tuple[str, str]]]  # frontend -> [(kind, origin)]
    timeout_s: float
    attacker_reads: dict[str, list[Request]] = field(default_factory=dict)  # origin -> its own

    def reads_for(self, origin: str) -> list[Request]:
        return self.attacker_reads.get(origin, self.attacker_requests)


def run_engine(engine, browser: str, plan: Plan, store, app, write: Callable[[Cell], None],
               judge: Callable[[Cell], None]) -> None:  # fmt: skip
    """Every cell of one engine; each is judged and handed to `write` as soon as it is done."""
    for frontend, attackers in plan.attackers.items():
        page = engine.new_page()
        paths: set[str] = {"/"}  # every Path a cookie of this group was set under

        def end_group(page=page, paths=paths) -> None:
            try:
                page.clear_cookies([plan.api_origin], tuple(sorted(paths)))
            finally:
                page.close()

        with cleanup_unless_interrupted(end_group):
            page.goto(frontend + "/")
            groups = [("declared frontend", frontend, _login_requests(plan) +
                       plan.frontend_requests)]  # fmt: skip
            groups += [(kind, origin, plan.reads_for(origin)) for kind, origin in attackers]
            for kind, origin, requests in groups:
                role = "frontend" if origin == frontend else "attacker"
                if origin != "null" and origin != frontend:
                    page.goto(origin + "/")
                for request in requests:
                    cell = Cell(frontend, role, origin, kind, request, browser)
                    _run_one(cell, page, engine, plan, store)
                    paths.update(cookie_paths(cell.record.get("ledger") or []))
                    judge(cell)
                    write(cell)
                    if not app.alive():
                        raise AppDied(app.death())


def _login_requests(plan: Plan) -> list[Request]:
    if plan.login is None:
        return []
    # a cookie login needs the jar; a token login is sent the way the frontend sends it
    credentials = "include" if plan.auth.mode == "cookie" else "same-origin"
    spec: dict[str, Any] = {"method": plan.login.method, "path": plan.login.path,
                            "credentials": credentials}  # fmt: skip
    if plan.login.body is not None:
        spec["body"] = plan.login.body
        spec["headers"] = {"Content-Type": body_content_type(plan.login.body)}
    return [Request(f"login {plan.login.name}", spec, endpoint=plan.login.name)]


def _run_one(cell: Cell, page, engine, plan: Plan, store) -> None:
    token = f"check.{secrets.token_hex(6)}"
    spec = {k: v for k, v in cell.request.spec.items() if k != "path"}
    url = with_token(plan.api_origin + cell.request.spec["path"], token)
    spec["url"] = url
    timeout_ms = int(plan.timeout_s * 1000)
    seen_before = len(page.messages() or [])
    if cell.page_origin == "null":  # the probe page's sandboxed iframe: its fetches send null
        spec["initiator"] = SANDBOXED_INITIATOR
    attempts = page.run(
        RUN_SERIES_JS,
        {
            "specs": [spec] * cell.request.repeat,
            "clear": True,
            "timeoutMs": timeout_ms,
            "timeoutIsOutcome": True,
        },
    )
    messages = engine_messages(page, seen_before, token, attempts)
    ledger = store.get(token)
    observed = observe(CellRun(url, token, attempts, ledger, [], 0.0))
    if isinstance(observed.get("body"), str):
        observed["body"] = observed["body"][:BODY_KEPT]
    why = None
    if not readable(observed["outcome"]):
        why = why_unreadable(cell.request.spec, cell.page_origin, plan.api_origin, observed,
                             ledger, plan.timeout_s, cell.browser)  # fmt: skip
    missing = unread_headers(observed, cell.request.read_headers) if readable(
        observed["outcome"]) else []  # fmt: skip
    if missing:
        why = why_unread(missing, ledger, cell.request.spec.get("credentials") == "include")
    cell.record = {
        "scenario": f"check {cell.frontend}",
        "probe": f"{cell.role}: {cell.request.kind}",
        "theme": cell.frontend,
        "description": f"{cell.request.kind} from {cell.origin_kind} {cell.page_origin}",
        "source": "harness check",
        "browser": cell.browser,
        "browser_version": engine.info.version,
        "engine_build": engine.info.engine_build,
        "driver": engine.info.driver,
        "cookie_policy": engine.info.cookie_policy,
        "page": "app" if cell.role == "frontend" else "attacker",
        "page_origin": cell.page_origin,
        "url": url,
        "token": token,
        "request": cell.request.spec,
        "observed": observed,
        "ledger": ledger,
        "engine_message": messages,
        "check": {
            "role": cell.role,
            "frontend": cell.frontend,
            "origin_kind": cell.origin_kind,
            "request": cell.request.kind,
            "declared": cell.request.declared,
            "status": _status(observed, ledger),
            "why": why,
            "unread_headers": missing,
        },  # fmt: skip
    }


def _status(observed: dict[str, Any], ledger: list[dict[str, Any]]) -> int | None:
    """The status the server answered (the page may not see it: the ledger does)."""
    actual = [e for e in ledger if not e["preflight"]]
    if actual:
        return actual[-1]["status"]
    preflights = [e for e in ledger if e["preflight"]]
    return preflights[-1]["status"] if preflights else observed.get("status")
