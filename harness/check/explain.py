"""Why a request was not readable, from what the server really sent (the ledger), judged by the
Fetch standard's CORS check (https://fetch.spec.whatwg.org/#cors-check) and its preflight
rules (https://fetch.spec.whatwg.org/#cors-preflight-fetch). It needs no knowledge of the
app's framework or config, so it works for any server behind `--serve`.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from .relay import UNREACHABLE_STATUS

SAFELISTED_METHODS = {"GET", "HEAD", "POST"}
SAFELISTED_HEADERS = {"accept", "accept-language", "content-language"}
SIMPLE_TYPES = {"application/x-www-form-urlencoded", "multipart/form-data", "text/plain"}


def _list(value: str | None) -> set[str]:
    return {v.strip().lower() for v in (value or "").split(",") if v.strip()}


def _origin_problem(headers: dict[str, list[str]], origin: str, credentialed: bool,
                    what: str) -> str | None:  # fmt: skip
    """The CORS check of one response (status aside): None when it passes."""
    values = headers.get("access-control-allow-origin", [])
    if not values:
        return f"{what} carried no Access-Control-Allow-Origin"
    if len(values) > 1:
        return (f"{what} carried Access-Control-Allow-Origin {len(values)} times "
                f"({', '.join(values)}): a repeated header fails the CORS check")  # fmt: skip
    value = values[0].strip()
    if value == "*" and credentialed:
        return f"{what} allowed origin '*', which never admits a request with credentials"
    if value not in ("*", origin):
        return f"{what} allowed origin {value!r}, not this page's origin {origin}"
    allow_credentials = headers.get("access-control-allow-credentials", [])
    if credentialed and [v.strip() for v in allow_credentials] != ["true"]:
        return (f"{what} lacked Access-Control-Allow-Credentials: true, which a request with "
                "credentials (cookies) needs")  # fmt: skip
    return None


def why_unreadable(spec: dict[str, Any], page_origin: str, api_origin: str,
                   observed: dict[str, Any], ledger: list[dict[str, Any]],
                   timeout_s: float, browser: str = "") -> str:  # fmt: skip
    method = spec.get("method", "GET")
    credentialed = spec.get("credentials") == "include"
    preflights = [e for e in ledger if e["preflight"]]
    actual = [e for e in ledger if not e["preflight"]]
    if observed["outcome"] == "timeout":
        if any(e["status"] is None for e in ledger):
            return f"timed out after {timeout_s:g} s: the app received it and did not answer"
        if actual and actual[-1]["status"] is not None:
            return (f"timed out after {timeout_s:g} s: the app answered {actual[-1]['status']} "
                    "but sent no body byte in that time (a stream or a long poll?)"
                    + ("; Firefox hands a response to the page only with its first body "
                       "byte, so this read could not be judged there" if browser == "firefox"
                       else ""))  # fmt: skip
        return f"timed out after {timeout_s:g} s with no answer"
    if not ledger:
        if urlsplit(page_origin).scheme == "https" and urlsplit(api_origin).scheme == "http":
            return ("never reached the server: mixed content (an https page may not fetch an "
                    "http:// API; the engine refused it before sending)")  # fmt: skip
        errors = "; ".join(observed.get("errors") or []) or "no detail"
        return f"never reached the server: the engine refused it before sending ({errors})"
    if preflights and not actual:
        pf = preflights[-1]
        headers = pf["response_headers"]
        status = pf["status"]
        if status == UNREACHABLE_STATUS and not headers:
            return "preflight (OPTIONS) got no answer: the app did not answer it"
        if status is None or not 200 <= status <= 299:
            missing = _origin_problem(headers, page_origin, credentialed, "it")
            return (f"preflight (OPTIONS) refused with status {status}" +
                    (f"; {missing}" if missing else "") +
                    f", so the {method} was never sent")  # fmt: skip
        problem = _origin_problem(headers, page_origin, credentialed, "the preflight answer")
        if problem:
            return f"{problem}, so the {method} was never sent"
        methods = _list(",".join(headers.get("access-control-allow-methods", [])))
        wildcard_ok = not credentialed
        if (
            method not in SAFELISTED_METHODS
            and method.lower() not in methods
            and not ("*" in methods and wildcard_ok)
        ):
            return (f"the preflight answer does not allow method {method} "
                    f"(Access-Control-Allow-Methods: {', '.join(sorted(methods)) or 'none'}), "
                    f"so the {method} was never sent")  # fmt: skip
        allowed = _list(",".join(headers.get("access-control-allow-headers", [])))
        asked = _list(pf.get("access_control_request_headers"))
        missing = sorted(h for h in asked if h not in allowed and not (
            "*" in allowed and wildcard_ok and h != "authorization"))  # fmt: skip
        if missing:
            return (f"the preflight answer does not allow header {', '.join(missing)} "
                    f"(Access-Control-Allow-Headers: {', '.join(sorted(allowed)) or 'none'}), "
                    f"so the {method} was never sent")  # fmt: skip
        return f"the engine refused the preflight answer (status {status}); see its message"
    last = actual[-1]
    status = last["status"]
    if status == UNREACHABLE_STATUS and not last["response_headers"]:
        return "the app did not answer (its connection failed)"
    if status is not None and 300 <= status <= 399 and last["response_headers"].get("location"):
        location = last["response_headers"]["location"][0]
        problem = _origin_problem(last["response_headers"], page_origin, credentialed,
                                  "the redirect")  # fmt: skip
        return (f"the app answered {status}, a redirect to {location}" +
                (f"; {problem}" if problem else "; the engine did not follow it to a readable "
                 "answer (see its message)"))  # fmt: skip
    problem = _origin_problem(last["response_headers"], page_origin, credentialed,
                              f"the app's {status} answer")  # fmt: skip
    ran = " (the request ran on the server)" if method not in ("GET", "HEAD") else ""
    if problem:
        if (
            status is not None
            and status >= 500
            and not last["response_headers"].get("access-control-allow-origin")
        ):
            problem += " (a server error raised outside CORSMiddleware has no CORS headers)"
        return problem + ran
    return f"the engine refused the app's {status} answer although it passed the CORS check"


def unread_headers(observed: dict[str, Any], names: list[str]) -> list[str]:
    headers = {k.lower(): v for k, v in (observed.get("headers") or {}).items()}
    return [n for n in names if headers.get(n.lower()) is None]


def why_unread(names: list[str], ledger: list[dict[str, Any]], credentialed: bool) -> str:
    """Per header the page could not read: absent from the answer, or not exposed."""
    actual = [e for e in ledger if not e["preflight"]]
    last = actual[-1] if actual else {"response_headers": {}}
    sent = set(last.get("response_header_names") or [])
    exposed = _list(",".join(last["response_headers"].get("access-control-expose-headers", [])))
    parts = []
    for name in names:
        if name.lower() not in sent:
            parts.append(f"{name}: the app's answer has no such header")
        elif name.lower() in exposed or ("*" in exposed and not credentialed):
            parts.append(f"{name}: exposed, yet the engine did not show it")
        else:
            listed = ", ".join(sorted(exposed)) or "none"
            parts.append(
                f"{name}: sent, but not in Access-Control-Expose-Headers ({listed})"
                + ("; '*' does not count with credentials" if "*" in exposed else "")
            )
    return "not readable by the page: " + "; ".join(parts)
