"""Confirming a medium read under the other third-party cookie policy.

Under block-third-party (the check's default), an attacker origin that reads with
credentials allowed but gets no session cookie is "medium". Where the session cookie is
SameSite=None, a browser that allows third-party cookies (Chromium's shipping default) sends
it along, and the same read is the logged-in user's data: HIGH. Rather than say so as a
guess, the medium reads run again, after the same login, in one engine with third-party
cookies allowed; the verdict names what that run saw.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from ..engines import failure_line
from ..engines.base import EngineError, EngineUnavailable
from .browsers import Cell, Plan, run_engine

OTHER_POLICY = "allow-third-party"


def medium_credentialed(cells: list[Cell]) -> list[Cell]:
    """Attacker reads with credentials allowed that carried no session cookie."""
    return [c for c in cells if c.role == "attacker"
            and c.record["check"].get("severity") == "medium"
            and c.request.spec.get("credentials") == "include"]  # fmt: skip


def confirmation_plan(plan: Plan, cells: list[Cell]) -> Plan:
    """The login, then only the origins and requests that were medium."""
    attackers: dict[str, list[tuple[str, str]]] = {}
    for cell in cells:
        pair = (cell.origin_kind, cell.page_origin)
        if pair not in attackers.setdefault(cell.frontend, []):
            attackers[cell.frontend].append(pair)
    requests = list({c.request.kind: c.request for c in cells}.values())
    return replace(plan, frontend_requests=[], attacker_requests=requests, attackers=attackers,
                   attacker_reads={})  # fmt: skip


def confirm(pool, plan: Plan, summary, store, app, write: Callable[[Cell], None],
            judge: Callable[[Cell], None]) -> str | None:  # fmt: skip
    """Run the medium reads again with third-party cookies allowed, when that can change
    them; `write` keeps those cells apart from the run's own. Returns why it could not run
    (None: it ran, or there was nothing to confirm)."""
    medium = medium_credentialed(summary.cells)
    if summary.cookie_policy == OTHER_POLICY or not summary.samesite_none or not medium:
        return None
    browser = "chromium" if any(c.browser == "chromium" for c in medium) else medium[0].browser
    try:
        engine = pool.get(browser, OTHER_POLICY)
    except (EngineUnavailable, EngineError) as exc:
        return f"{browser} with {OTHER_POLICY} did not start: {failure_line(exc)}"
    run_engine(engine, browser, confirmation_plan(plan, medium), store, app, write, judge)
    return None
