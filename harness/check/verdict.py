"""Judging cells and saying the verdict: what works, what is blocked and why, what an attacker
origin could read (severity: the worst any engine showed), grouped by root cause.

Exit codes: 0 only after "verdict: PASS" is printed (every declared request readable in every
engine asked for, nothing readable or trusted beyond the frontends, nothing timed out or not
run); 1 for any finding or problem; 2 (elsewhere) when no verdict could be reached.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from .battery import MISSING_PATH
from .browsers import Cell
from .fixes import missing_cors_all
from .prescan import Prescan

SEVERITIES = ("HIGH", "medium", "low")


def severity(cell: Cell) -> str | None:
    """What an attacker origin's read exposed (None: nothing, or a public '*' answer)."""
    if cell.role != "attacker" or not cell.readable:
        return None
    if cell.request.spec.get("credentials") == "include":
        return "HIGH" if cell.observed["cookies_received"] else "medium"
    answer = cell.last_answer
    allow = answer["response_headers"].get("access-control-allow-origin") if answer else None
    return None if allow == ["*"] else "low"


def judge(cell: Cell) -> None:
    """Fill the record's expected/verdict/reason (the matrix's record format)."""
    check = cell.record["check"]
    if cell.role == "frontend":
        ok = cell.readable and not check["unread_headers"]
        cell.record["expected"] = {"outcome": "readable", "reasons": [
            "a declared frontend must be able to read this" if cell.request.declared else
            "a frontend should be able to read error responses (reported only)"]}  # fmt: skip
        cell.record["verdict"] = "match" if ok else "diverge"
        cell.record["reason"] = "works" if ok else check["why"]
        check["severity"] = None
        return
    check["severity"] = severity(cell)
    cell.record["expected"] = {
        "outcome": "unreadable",
        "reasons": ["an attacker origin must not read this"],
    }
    cell.record["verdict"] = "diverge" if check["severity"] else "match"
    cell.record["reason"] = (f"readable from {cell.page_origin} ({check['severity']})"
                             if check["severity"] else "not readable, as it should be")  # fmt: skip


def _ok(cell: Cell) -> bool:
    return 200 <= (cell.record["check"]["status"] or 0) < 300


def _personal(cell: Cell, cells: list[Cell]) -> bool:
    """A 2xx with credentials whose read without them (same origin, same endpoint) was not."""
    if not _ok(cell) or cell.request.spec.get("credentials") != "include":
        return False
    bare = [
        c
        for c in cells
        if c.request.endpoint == cell.request.endpoint
        and c.browser == cell.browser
        and c.request.spec.get("credentials") == "omit"
    ]
    return bool(bare) and not any(_ok(c) for c in bare)


def _worst(levels) -> str | None:
    levels = [lv for lv in levels if lv]
    return min(levels, key=SEVERITIES.index) if levels else None


def _engines(cells: list[Cell]) -> str:
    return ", ".join(sorted({c.browser for c in cells}))


@dataclass
class Summary:
    """Everything the verdict and the report say, as plain data."""

    app: str
    versions: dict[str, Any]
    api_origin: str
    frontends: list[str]
    auth: str
    discovery: str
    prescan: Prescan | None
    configs: list[dict[str, Any]]
    cells: list[Cell]
    problems: list[str] = field(default_factory=list)
    fatal: str | None = None  # the app died: exit 2 after what is known is said
    config_seen: bool = True  # False under --serve: the app's CORS keywords are unknown
    cookie_policy: str = "block-third-party"  # the engines' third-party cookie policy
    samesite_none: tuple[str, ...] = ()  # the login's SameSite=None cookies
    discovered: list[str] = field(default_factory=list)  # endpoints found in the schemas
    cookie_only: bool = False  # the pre-scan saw Origins echoed only with a Cookie header
    confirmations: list[Cell] = field(default_factory=list)  # medium reads, other policy
    unconfirmed: str | None = None  # why that confirmation could not run
    lines: list[str] = field(default_factory=list)
    findings: list[dict[str, Any]] = field(default_factory=list)
    exit_code: int = 1


def root_cause(origin: str, configs: list[dict[str, Any]], reflects_any: bool,
               cookie_only: bool = False) -> str:  # fmt: skip
    """`cookie_only`: the pre-scan saw the Origin echoed only to requests with a Cookie."""
    kwargs_list = [c.get("kwargs", {}) for c in configs]
    if reflects_any:  # one cause for every origin it admits, null included
        star_credentials = any("*" in (k.get("allow_origins") or []) and
                               k.get("allow_credentials") for k in kwargs_list)  # fmt: skip
        if star_credentials and cookie_only:
            return ("allow_origins=['*'] with allow_credentials=True: Starlette before 1.0 "
                    "then answers '*' to a request without a Cookie and echoes any Origin, "
                    "with credentials allowed, to one that carries a Cookie (a logged-in "
                    "user's)")  # fmt: skip
        if star_credentials:
            return ("allow_origins=['*'] with allow_credentials=True: Starlette then mirrors "
                    "every Origin with credentials allowed")  # fmt: skip
        if cookie_only:
            return ("the server echoes any Origin in Access-Control-Allow-Origin, but only "
                    "when the request carries a Cookie (without one it answers '*'), as "
                    "Starlette before 1.0 does under allow_origins=['*'] with "
                    "allow_credentials=True")  # fmt: skip
        return ("the server echoes any Origin in Access-Control-Allow-Origin (a hand-written "
                "middleware, a proxy or a framework setting)")  # fmt: skip
    if origin == "null":
        if any("null" in (k.get("allow_origins") or []) for k in kwargs_list):
            return ("allow_origins lists 'null': sandboxed iframes, data: URLs and local files "
                    "all send Origin: null, so any site can")  # fmt: skip
        return "the app trusts Origin: null, which any site can send from a sandboxed iframe"
    for k in kwargs_list:
        origins = k.get("allow_origins") or []
        if isinstance(origins, str) and origin in origins:
            return (f"allow_origins is the string {origins!r}, not a list: Starlette tests "
                    "`origin in allow_origins` as a substring")  # fmt: skip
        pattern = k.get("allow_origin_regex")
        if pattern and _regex_accepts(pattern, origin):
            return (
                f"allow_origin_regex={pattern!r} also accepts origins that are not your frontends"
            )
        if isinstance(origins, list) and origin in origins:
            return "allow_origins lists origins that are not declared frontends"
    return "the server trusts origins beyond the declared frontends"


def _regex_accepts(pattern: str, origin: str) -> bool:
    try:  # Starlette used re.match before 0.37 and re.fullmatch since: either admits it
        return bool(re.fullmatch(pattern, origin) or re.match(pattern, origin))
    except re.error:
        return False


def _fix_for(cause: str, frontends: list[str], origins=()) -> str:
    exact = f"allow_origins={json.dumps(frontends)}"
    if cause.startswith("allow_origins lists origins"):  # maybe the user's own other frontends
        listed = ", ".join(f"--frontend {o}" for o in sorted(origins)[:3])
        return f"{exact}, or, if they are your own frontends too, declare them: {listed}"
    if "'null'" in cause or "Origin: null" in cause:
        return f"remove 'null': {exact}"
    if "not a list" in cause:
        return f"{exact} (a list of whole origins)"
    if "allow_origin_regex" in cause:
        return f"{exact} and no allow_origin_regex (or a fully anchored, escaped one)"
    if "['*']" in cause:
        return f"{exact} instead of ['*'] (keep allow_credentials=True only with explicit origins)"
    return (
        "answer Access-Control-Allow-Origin only for the declared frontends, comparing the "
        f"whole Origin against an exact list ({', '.join(frontends)})"
    )


def _other_policy(summary: Summary, level: str | None, cells: list[Cell]) -> tuple[str, str]:
    """A medium read under block-third-party may be HIGH wherever the SameSite=None session
    cookie crosses sites: the severity (the worst either policy showed) and what the line
    says of the other policy (harness/check/confirm.py ran it where it could)."""
    if (
        level != "medium"
        or summary.cookie_policy != "block-third-party"
        or not summary.samesite_none
    ):
        return level or "low", ""
    cookie = f"the session cookie {', '.join(summary.samesite_none)} is SameSite=None"
    reads = {(c.page_origin, c.request.kind) for c in cells}
    again = [c for c in summary.confirmations if c.role == "attacker"
             and (c.page_origin, c.request.kind) in reads]  # fmt: skip
    high = [c for c in again if c.record["check"].get("severity") == "HIGH"]
    if high:
        return "HIGH", (
            f"; HIGH where third-party cookies are allowed, as in Chromium by default "
            f"({cookie}; confirmed: {len(high)} of these reads got the user's cookies in "
            f"{_engines(high)} with allow-third-party), medium where they are blocked"
        )
    if again:
        return level, (
            f"; still medium with third-party cookies allowed (tried in {_engines(again)}: "
            "the session cookie did not come along)"
        )
    why = summary.unconfirmed or "not run"
    return level, (f"; HIGH where third-party cookies are allowed ({cookie}; not confirmed: {why})")


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
    _say_findings(summary, trusted, reflects_any, say, max_detail)
    failing |= bool(summary.findings)
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
        say(f"  ok       {kind}: readable in {_engines(works)} ({status})")
        return False
    declared = group[0].request.declared
    label = "BLOCKED " if declared else "note    "
    timed_out = [c for c in broken if c.observed["outcome"] == "timeout"]
    if timed_out and len(timed_out) == len(broken):
        label = "TIMEOUT " if declared else label
    where = _engines(broken) + (f" (works in {_engines(works)})" if works else "")
    say(f"  {label} {kind}: in {where}; {status}")
    reasons: dict[str, list[Cell]] = {}
    for cell in broken:
        reasons.setdefault(cell.record["check"]["why"] or "no reason recorded", []).append(cell)
    for why, cells in reasons.items():
        prefix = "why" if len(reasons) == 1 else f"why ({_engines(cells)})"
        say(f"      {prefix}: {why}")
    fix = next((c.record.get("fix") for c in broken if c.record.get("fix")), None)
    if fix:
        say(f"      fix: {fix}")
    if not declared:
        say("      (reported only: does not change the exit code)")
    return declared


def _say_findings(summary: Summary, trusted, reflects_any: bool, say, max_detail: int) -> None:
    findings = summary.findings
    attacker_cells = [c for c in summary.cells if c.role == "attacker"]
    by_cause: dict[str, dict[str, list[Cell]]] = {}
    for cell in attacker_cells:
        if cell.record["check"]["severity"]:
            cause = root_cause(cell.page_origin, summary.configs, reflects_any, summary.cookie_only)
            by_cause.setdefault(cause, {}).setdefault(cell.page_origin, []).append(cell)
    confirmed = {c.page_origin for c in attacker_cells}
    for cause, per_origin in by_cause.items():
        cells = [c for group in per_origin.values() for c in group]
        level = _worst(c.record["check"]["severity"] for c in cells)
        requests = {(c.page_origin, c.request.kind) for c in cells}
        cookies = (
            " with the user's cookies"
            if level == "HIGH"
            else (" with credentials allowed" if level == "medium" else " without credentials")
        )
        who = f"{len(per_origin)} other origin(s)"
        if reflects_any:
            who = f"any origin ({len(per_origin)} confirmed)"
        level, other = _other_policy(summary, level, cells)
        findings.append({
            "severity": level, "cause": cause, "engines": _engines(cells),
            "headline": f"{cause}: {len(requests)} requests readable by {who}{cookies} "
                        f"(confirmed in {_engines(cells)})" + other,
            "origins": {o: [c.record["token"] for c in group] for o, group in per_origin.items()},
            "fix": _fix_for(cause, summary.frontends, per_origin),
        })  # fmt: skip
    unconfirmed = {o: a for o, a in trusted.items() if o not in confirmed}
    if unconfirmed and not reflects_any:  # a server that mirrors all is said once, above
        credentialed = any(x.allow_credentials for answers in unconfirmed.values() for x in answers)
        cause = root_cause(
            next(iter(unconfirmed)), summary.configs, reflects_any, summary.cookie_only
        )
        same = next((f for f in findings if f["cause"] == cause), None)
        more = ", ".join(sorted(unconfirmed)[:max_detail]) + (
            " ..." if len(unconfirmed) > max_detail else "")  # fmt: skip
        if same is not None:  # one cause, one finding: the rest of its origins are named there
            same["headline"] += (f"; {len(unconfirmed)} more origin(s) trusted in the HTTP "
                                 f"pre-scan, not confirmed in a browser: {more}")  # fmt: skip
            same["origins"].update({o: [] for o in unconfirmed})
            same["severity"] = _worst([same["severity"], "medium" if credentialed else "low"])
            unconfirmed = {}
    if unconfirmed and not reflects_any:
        findings.append({
            "severity": "medium" if credentialed else "low", "cause": cause, "engines": "",
            "headline": f"{len(unconfirmed)} more origin(s) trusted in the HTTP pre-scan"
                        + (" with credentials" if credentialed else "")
                        + " (not confirmed in a browser: not a valid page origin or beyond "
                          "--max-attackers): " + more,
            "origins": {o: [] for o in unconfirmed},
            "fix": _fix_for(cause, summary.frontends, unconfirmed),
        })  # fmt: skip
    if summary.prescan is not None:
        for endpoint in summary.prescan.missing_vary():
            findings.append({
                "severity": "medium", "cause": "missing Vary: Origin", "engines": "",
                "headline": f"{endpoint}: Access-Control-Allow-Origin depends on the Origin but "
                            "the answer has no Vary: Origin, so a shared cache (CDN, proxy) can "
                            "serve one origin's answer to another",
                "origins": {}, "fix": "add Vary: Origin to every answer whose CORS headers "
                                      "depend on the Origin"})  # fmt: skip
    findings.sort(key=lambda f: SEVERITIES.index(f["severity"]))
    if not findings:
        return
    say("\nSECURITY FINDINGS")
    for finding in findings:
        say(f"  [{finding['severity']}] {finding['headline']}")
        confirmed_here = by_cause.get(finding["cause"], {}) if finding["engines"] else {}
        ranked = sorted(confirmed_here.items(), key=lambda item: SEVERITIES.index(
            _worst(c.record["check"]["severity"] for c in item[1])))  # fmt: skip
        for origin, cells in ranked[:max_detail]:
            worst = _worst(c.record["check"]["severity"] for c in cells)
            top = [c for c in cells if c.record["check"]["severity"] == worst]
            # the example shown: the user's own data (2xx with the cookie, not without), then
            # any readable 2xx, before a 404
            mine = [c for c in summary.cells if c.page_origin == origin and c.role == "attacker"]
            top.sort(key=lambda c: (not _personal(c, mine), not _ok(c)))
            requests = list(dict.fromkeys(c.request.kind for c in top))
            shown = requests[0] + (f" and {len(requests) - 1} more" if len(requests) > 1 else "")
            again = [
                c
                for c in summary.confirmations
                if c.page_origin == origin
                and c.role == "attacker"
                and c.record["check"].get("severity") == "HIGH"
            ]
            other = f"; HIGH in {_engines(again)} with third-party cookies allowed" if again else ""
            say(f"      {origin} ({cells[0].origin_kind}) reads {shown}: {worst} in "
                f"{_engines(top)}{other}")  # fmt: skip
        say(f"      fix: {finding['fix']}")
