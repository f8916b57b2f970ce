"""Saying the verdict: what works, what is blocked and why, what an attacker origin could read
(findings.py, on cells judged by judging.py), what could not be seen, and the exit code.

Exit codes: 0 only after "verdict: PASS" is printed (every declared request readable in every
engine asked for, nothing readable or trusted beyond the frontends, nothing timed out or not
run); 1 for any finding or problem; 2 (elsewhere) when no verdict could be reached.
"""

from __future__ import annotations

from typing import Any

from .battery import MISSING_PATH
from .browsers import Cell
from .findings import say_findings
from .fixes import missing_cors_all
from .judging import engines_of
from .summary import Summary


def build(summary: Summary, max_detail: int = 6) -> Summary:
    lines = summary.lines
    say = lines.append
    versions = ", ".join(f"{k} {v}" for k, v in summary.versions.items() if v and k != "python")
    say(f"cors-matrix check: {summary.app}" + (f" ({versions})" if versions else "")
        + f" as {summary.api_origin}")  # fmt: skip
    say(f"  auth: {summary.auth}")
    say(f"  endpoints: {summary.discovery}")
    scan = summary.prescan
    reflects_any = False
    trusted: dict[str, list] = {}
    if scan is not None:
        summary.cookie_only = scan.mirrors_only_with_cookie()
        trusted = scan.trusted(summary.frontends)
        reflects_any = any(a.kind == "any origin (random)" for answers in trusted.values()
                           for a in answers)  # fmt: skip
        origins = len({a.origin for a in scan.answers})
        say(f"  pre-scan: {scan.sent} HTTP requests with {origins} Origin values in "
            f"{scan.seconds:g} s; {len(trusted)} origins trusted beyond the frontends")  # fmt: skip
    summary.problems.extend(session_drops(summary))
    summary.fatal = summary.fatal or hollow(summary)
    failing = bool(summary.problems) or summary.fatal is not None
    for frontend in summary.frontends:
        say(f"\n{frontend} (declared frontend)")
        own = [c for c in summary.cells if c.frontend == frontend and c.role == "frontend"]
        for kind in dict.fromkeys(c.request.kind for c in own):
            group = [c for c in own if c.request.kind == kind]
            failing |= _say_request(say, kind, group)
    elsewhere = scan is not None and bool(scan.answered_origins())
    one_fix = missing_cors_all(summary.cells, summary.configs, elsewhere)
    if one_fix:
        say(f"\nNo CORS header on any of these answers; one line for all of them:\n  {one_fix}")
    say_findings(summary, trusted, reflects_any, say, max_detail)
    failing |= bool(summary.findings)
    if summary.notes:
        say("\nNOTES (reported only: they do not change the exit code)")
        for note in summary.notes:
            say(f"  {note}")
    if summary.problems:
        say("\nPROBLEMS (no verdict for these)")
        for problem in summary.problems:
            say(f"  {problem}")
    if summary.fatal:
        say(f"\nverdict: INCOMPLETE — {summary.fatal}")
        summary.exit_code = 2
    elif failing:
        blocked = len({c.request.kind for c in summary.cells if c.role == "frontend"
                       and c.request.declared and c.record["verdict"] == "diverge"})  # fmt: skip
        say(f"\nverdict: FAIL — {len(summary.findings)} finding(s), {blocked} blocked or "
            f"unread declared request(s), {len(summary.problems)} problem(s)")  # fmt: skip
        summary.exit_code = 1
    else:
        say("\nverdict: PASS — " + pass_text(summary))
        summary.exit_code = 0
    return summary


def pass_text(summary: Summary) -> str:
    """What a PASS may claim: only what was tried, and what could not be seen."""
    public = any(c.role == "attacker" and c.readable for c in summary.cells)
    text = "every declared request readable in every engine, " + (
        "and a public API: any origin reads it without credentials (Access-Control-Allow-"
        "Origin: *), by design; nothing credentialed readable beyond the frontends"
        if public else "nothing readable or trusted beyond the frontends")  # fmt: skip
    if not summary.config_seen:
        text += (
            "; not seen: the app's CORS config (--serve), so origins only it names (a "
            "regex, a list) were not tried: `cors-matrix check module:app` reads it"
        )
    return text


def session_drops(summary: Summary) -> list[str]:
    """Per engine: the login's cookies arrived, then stopped arriving (a request ended the
    session): what ran after it ran without the session, so it says nothing of a user's."""
    if not summary.auth.startswith("cookie"):
        return []
    out = []
    for browser in dict.fromkeys(c.browser for c in summary.cells):
        sent = [c for c in summary.cells if c.browser == browser and c.role == "frontend"
                and c.request.spec.get("credentials") == "include"]  # fmt: skip
        had = None
        for cell in sent:
            if cell.observed.get("cookies_received"):
                had = cell
            elif had is not None:
                out.append(f"{browser}: the session's cookies stopped arriving after "
                           f"{had.request.kind} (did it end the session?); what ran after it "
                           "ran without the session")  # fmt: skip
                break
    return out


def hollow(summary: Summary) -> str | None:
    """No verdict when most endpoints found in the schema answer 404 in every engine, as the
    app answers a path it lacks: the schema's paths are not where the API is served, and
    every 'ok' would be a 404's."""
    found = set(summary.discovered)
    lacks = {c.browser: c.observed.get("body") for c in summary.cells  # the app's own 404
             if c.role == "frontend" and c.request.path == MISSING_PATH}  # fmt: skip
    statuses: dict[str, set] = {}
    for cell in summary.cells:
        if cell.role == "frontend" and cell.request.endpoint in found:
            status = cell.record["check"]["status"]
            body = lacks.get(cell.browser)  # an item's "not found" is no missing route
            route_missing = status == 404 and (body is None or cell.observed.get("body") == body)
            statuses.setdefault(cell.request.endpoint, set()).add(route_missing)
    missing = [name for name, seen in statuses.items() if seen == {True}]
    if not statuses or len(missing) * 2 <= len(statuses):
        return None
    return (f"{len(missing)} of {len(statuses)} endpoints from the app's schema answer 404 "
            f"(e.g. {missing[0]}): its paths are not where the API is served (a mount or a "
            "proxy prefix?), so nothing was tested; give the real paths with --endpoint "
            "METHOD:/path, or the schema with --openapi PATH")  # fmt: skip


def _statuses(group: list[Cell]) -> str:
    by_status: dict[Any, list[str]] = {}
    for cell in group:
        status = cell.record["check"]["status"]
        by_status.setdefault("no answer" if status is None else status, []).append(cell.browser)
    if len(by_status) == 1:
        return f"status {next(iter(by_status))}"
    return "status " + "; ".join(f"{s} in {', '.join(b)}" for s, b in by_status.items())


def _say_request(say, kind: str, group: list[Cell]) -> bool:
    """One line per request (more when engines differ); True when it counts as failing."""
    works = [c for c in group if c.record["verdict"] == "match"]
    broken = [c for c in group if c.record["verdict"] != "match"]
    status = _statuses(group)
    if not broken:
        say(f"  ok       {kind}: readable in {engines_of(works)} ({status})")
        return False
    declared = group[0].request.declared
    label = "BLOCKED " if declared else "note    "
    timed_out = [c for c in broken if c.observed["outcome"] == "timeout"]
    if timed_out and len(timed_out) == len(broken):
        label = "TIMEOUT " if declared else label
    where = engines_of(broken) + (f" (works in {engines_of(works)})" if works else "")
    say(f"  {label} {kind}: in {where}; {status}")
    reasons: dict[str, list[Cell]] = {}
    for cell in broken:
        reasons.setdefault(cell.record["check"]["why"] or "no reason recorded", []).append(cell)
    for why, cells in reasons.items():
        prefix = "why" if len(reasons) == 1 else f"why ({engines_of(cells)})"
        say(f"      {prefix}: {why}")
    fix = next((c.record.get("fix") for c in broken if c.record.get("fix")), None)
    if fix:
        say(f"      fix: {fix}")
    if not declared:
        say("      (reported only: does not change the exit code)")
    return declared
