"""One cell of the report as a reader sees it: its column label, its bucket and outcome words,
what the server saw, why it came out so (with the spec section), and whether it is a security
finding; all computed from the record alone."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from ..judge import oracle
from ..run.results import readable
from ..scenario.origins import API_HOST, PAGE_HOSTS, api_origins, substitute_all

SPEC_LINKS = {
    "preflight": "https://fetch.spec.whatwg.org/#cors-preflight-fetch",
    "cors-check": "https://fetch.spec.whatwg.org/#concept-cors-check",
    "expose": "https://fetch.spec.whatwg.org/#concept-filtered-response-cors",
    "cookie": "https://httpwg.org/http-extensions/draft-ietf-httpbis-rfc6265bis.html#name-samesite-cookies",
    "no-cors": "https://fetch.spec.whatwg.org/#concept-filtered-response-opaque",
}


def column_label(column: tuple[str, ...]) -> str:
    """'chromium (block-third-party)', plus ', starlette 0.27.0' in a --cors-starlette run."""
    extra = f", starlette {column[2]}" if len(column) > 2 else ""
    return f"{column[0]} ({column[1]}{extra})"


def bucket(record: dict[str, Any]) -> str:
    """Colour bucket: spec (matches the spec itself), engine (matches an engine-adjusted
    expectation that departs from the spec), diverge, not-run, error (failed to run)."""
    if record["verdict"] in ("not-run", "error"):
        return record["verdict"]
    if record["verdict"] == "diverge":
        return "diverge"
    return "spec" if record.get("spec_agrees_with_expected", True) else "engine"


OUTCOME_LABELS = {
    "ok": "readable",
    "http-error": "readable (HTTP error)",
    "cors-error": "CORS error",
    "opaque": "opaque",
    "invalid-request": "refused by the page (invalid request, nothing sent)",
    "error": "page error (not CORS)",
    "timeout": "timed out",
}


def outcome_label(record: dict[str, Any]) -> str:
    if record["verdict"] == "error":
        return "failed to run"
    if record["verdict"] == "not-run" or not record.get("observed"):
        return "not run"
    return OUTCOME_LABELS.get(record["observed"]["outcome"], record["observed"]["outcome"])


def server_marks(record: dict[str, Any]) -> dict[str, Any] | None:
    """What the server saw, as short text marks beside the page's outcome (readable without
    colour): R n requests reached the server, P n preflights, C:name cookies that arrived, A
    Authorization arrived; `ran_blocked` when the page could not read the answer yet the
    request ran on the server (what users most often get wrong). None for a cell that did not
    run."""
    observed = record.get("observed")
    if record["verdict"] in ("not-run", "error") or not observed:
        return None
    requests, preflights = observed.get("requests") or 0, observed.get("preflights") or 0
    cookies = observed.get("cookies_received") or []
    marks = [{"text": f"R{requests}", "title": f"the request reached the server {requests}x"
              if requests else "the request never reached the server"}]  # fmt: skip
    if preflights:
        marks.append({"text": f"P{preflights}", "title": f"{preflights} preflight(s) reached it"})
    if cookies:
        more = f"+{len(cookies) - 1}" if len(cookies) > 1 else ""
        marks.append({"text": f"C:{cookies[0]}{more}",
                      "title": "cookies that arrived: " + ", ".join(cookies)})  # fmt: skip
    if observed.get("authorization_received"):
        marks.append({"text": "A", "title": "the Authorization header arrived"})
    ran_blocked = requests > 0 and not readable(observed.get("outcome"))
    if ran_blocked:
        marks.insert(0, {"text": "\u26a0 ran", "title": "the page could not read the answer, "
                         "but the request ran on the server"})  # fmt: skip
    return {"marks": marks, "ran_blocked": ran_blocked}


def _reason_source(reason: str) -> str:
    lower = reason.lower()
    if "cookie" in lower:
        return SPEC_LINKS["cookie"]
    if "no-cors" in lower:
        return SPEC_LINKS["no-cors"]
    if "expose" in lower:
        return SPEC_LINKS["expose"]
    if "preflight" in lower:
        return SPEC_LINKS["preflight"]
    return SPEC_LINKS["cors-check"]


def explanation(record: dict[str, Any]) -> list[dict[str, str]]:
    """The oracle's reasoning as sentences with a source link each (spec or engine difference)."""
    expected = record.get("expected") or {}
    sources = {d.id: d.source for d in oracle.differences()}
    lines = [{"text": r, "source": _reason_source(r)} for r in expected.get("reasons", [])]
    for diff in expected.get("differences", []):
        source = sources.get(diff, "")
        url = source.split(" ", 1)[0] if source else ""
        lines.append({"text": f"engine difference applied: {diff}", "source": url})
    if not lines and expected:
        lines.append(
            {"text": "the request passed every CORS check", "source": SPEC_LINKS["cors-check"]}
        )
    return lines


def security_finding(record: dict[str, Any]) -> dict[str, Any] | None:
    """A page origin that no sane config allows (`attacker`) could read the API's answer."""
    observed = record.get("observed") or {}
    if record.get("page") != "attacker" or not readable(observed.get("outcome")):
        return None
    request = record.get("request") or {}
    credentialed = request.get("credentials") == "include"
    with_secrets = bool(observed.get("cookies_received")) or observed.get("authorization_received")
    severity = "high" if credentialed and with_secrets else "medium" if credentialed else "low"
    what = "a credentialed response" if credentialed else "the response"
    if with_secrets:
        what += " (cookies/Authorization arrived)"
    return {"severity": severity, "text": f"the attacker origin can read {what}"}


def run_origins(records) -> dict[str, dict[str, str]]:
    """Per results file: the page origins its cells ran from ({app}, {cross_site}, ...), so a
    fix can be written in the run's real origins instead of placeholders."""
    out: dict[str, dict[str, str]] = {}
    for record in records:
        page, origin = record.get("page"), record.get("page_origin")
        if page in PAGE_HOSTS and origin and origin != "null":
            out.setdefault(record.get("_file", ""), {}).setdefault(page, origin)
    return out


def fix_in_real_origins(fix: Any, record: dict[str, Any], pages: dict[str, str]) -> Any:
    """A cause's fix with the run's origins in place of its placeholders: the record's own
    `origins`, or for an older record the pages its run shows and the API of its URL. A name
    the run does not show stays a placeholder."""
    known = record.get("origins") or {}
    url = urlsplit(record.get("url") or "")
    if not known and url.scheme and url.port:
        # the URL may start on any of the API's names; they all share its port
        known = {**pages, **api_origins(f"{url.scheme}://{API_HOST}:{url.port}")}
    return substitute_all(fix, known, keep_unknown=True)
