"""The verdict's findings: what attacker origins could read, grouped by root cause in the
app's own terms (its CORSMiddleware keywords when known), each with its fix, its severity
under both cookie policies and its most telling examples."""

from __future__ import annotations

import json
import re
from typing import Any

from ..engines.base import without_secrets
from .browsers import Cell
from .corpus import never_sent
from .judging import SEVERITIES, answered_2xx, engines_of, personal, worst_level
from .summary import Summary


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
            f"{engines_of(high)} with allow-third-party), medium where they are blocked"
        )
    if again:
        return level, (
            f"; still medium with third-party cookies allowed (tried in {engines_of(again)}: "
            "the session cookie did not come along)"
        )
    why = summary.unconfirmed or "not run"
    return level, (f"; HIGH where third-party cookies are allowed ({cookie}; not confirmed: {why})")


def say_findings(summary: Summary, trusted, reflects_any: bool, say, max_detail: int) -> None:
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
        level = worst_level(c.record["check"]["severity"] for c in cells)
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
            "severity": level, "cause": cause, "engines": engines_of(cells),
            "headline": f"{cause}: {len(requests)} requests readable by {who}{cookies} "
                        f"(confirmed in {engines_of(cells)})" + other,
            "origins": {o: [c.record["token"] for c in group] for o, group in per_origin.items()},
            "fix": _fix_for(cause, summary.frontends, per_origin),
        })  # fmt: skip
    unconfirmed = {o: a for o, a in trusted.items() if o not in confirmed}
    dead = {o: why for o in unconfirmed if (why := never_sent(o))}
    unconfirmed = {o: a for o, a in unconfirmed.items() if o not in dead}
    summary.notes.extend(
        f"the app answers the Origin {without_secrets(o)!r} as trusted, but no browser sends "
        f"it: {why}. It lets no page read; if it was meant for a frontend, that frontend is "
        "refused: write it as a browser sends it (scheme://host[:port]) or remove it"
        for o, why in dead.items()
    )
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
            same["severity"] = worst_level([same["severity"], "medium" if credentialed else "low"])
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
            worst_level(c.record["check"]["severity"] for c in item[1])))  # fmt: skip
        for origin, cells in ranked[:max_detail]:
            worst = worst_level(c.record["check"]["severity"] for c in cells)
            top = [c for c in cells if c.record["check"]["severity"] == worst]
            # the example shown: the user's own data (2xx with the cookie, not without), then
            # any readable 2xx, before a 404
            mine = [c for c in summary.cells if c.page_origin == origin and c.role == "attacker"]
            top.sort(key=lambda c: (not personal(c, mine), not answered_2xx(c)))
            requests = list(dict.fromkeys(c.request.kind for c in top))
            shown = requests[0] + (f" and {len(requests) - 1} more" if len(requests) > 1 else "")
            again = [
                c
                for c in summary.confirmations
                if c.page_origin == origin
                and c.role == "attacker"
                and c.record["check"].get("severity") == "HIGH"
            ]
            other = (
                f"; HIGH in {engines_of(again)} with third-party cookies allowed" if again else ""
            )
            say(f"      {origin} ({cells[0].origin_kind}) reads {shown}: {worst} in "
                f"{engines_of(top)}{other}")  # fmt: skip
        say(f"      fix: {finding['fix']}")
