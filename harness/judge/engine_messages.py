"""The engines' own CORS error messages, mapped to the causes' codes, so a cell's cause can be
checked against what the engine said (tests/test_causes.py)."""

from __future__ import annotations

import re

# The engines' own wording, mapped to the same codes (Chromium's blink/renderer CORS error
# strings, Firefox's CORS "Reason:" texts: https://developer.mozilla.org/en-US/docs/Web/HTTP/
# Guides/CORS/Errors). Used to check that a cell's cause agrees with what the engine said.
ENGINE_PATTERNS = (
    (r"must not be the wildcard '\*' when the request's credentials mode is 'include'|"
     r"Credential is not supported if the CORS header .Access-Control-Allow-Origin. is .\*.",
     "credentials-with-wildcard"),
    (r"contains multiple values|Multiple CORS header", "multiple-allow-origin"),
    (r"No 'Access-Control-Allow-Origin' header is present|"
     r"CORS header .Access-Control-Allow-Origin. missing", "missing-allow-origin"),
    (r"that is not equal to the supplied origin|CORS header .Access-Control-Allow-Origin. does "
     r"not match", "origin-mismatch"),
    (r"Access-Control-Allow-Credentials' header in the response is|expected .true. in CORS "
     r"header .Access-Control-Allow-Credentials.", "missing-allow-credentials"),
    (r"is not allowed by Access-Control-Allow-Headers|is not allowed according to header "
     r".Access-Control-Allow-Headers.", "header-not-allowed"),
    (r"is not allowed by Access-Control-Allow-Methods|Did not find method in CORS header",
     "method-not-allowed"),
    (r"Redirect is not allowed for a preflight request|CORS request external redirect not "
     r"allowed", "preflight-redirect"),
    (r"does not have HTTP ok status|CORS preflight response did not succeed", "preflight-status"),
    (r"Cannot parse Access-Control-Allow-(Headers|Methods)|invalid token .* in CORS header "
     r".Access-Control-Allow-(Headers|Methods).", "invalid-allow-list"),
)  # fmt: skip
# An engine sees the wire, the cause names the config: pairs that describe one event.
SAME_EVENT = {
    ("exception-escaped-cors", "missing-allow-origin"),
    # Starlette refuses a preflight with 400 and still sends Access-Control-Allow-Origin
    ("header-not-allowed", "preflight-status"),
    ("method-not-allowed", "preflight-status"),
    # a 401/405 preflight without CORS headers: engines name the missing header first
    ("preflight-status", "missing-allow-origin"),
    ("missing-allow-origin", "preflight-status"),
    # a redirected preflight carries no CORS headers either; Firefox reports only that
    ("preflight-redirect", "missing-allow-origin"),
    ("preflight-redirect", "preflight-status"),
    # Firefox joins two Access-Control-Allow-Origin fields and reports "does not match 'a, *'"
    ("multiple-allow-origin", "origin-mismatch"),
    # after a cross-origin redirect the Origin is null: engines name the header, not why
    ("tainted-origin", "missing-allow-origin"),
    ("tainted-origin", "origin-mismatch"),
}


def engine_codes(messages: list[str] | None) -> list[str]:
    """Codes for the engine's messages (one per message that has a known wording)."""
    codes = []
    for message in messages or []:
        for pattern, code in ENGINE_PATTERNS:
            if re.search(pattern, message):
                codes.append(code)
                break
    return codes


def agrees(cause_codes: list[str], messages_codes: list[str]) -> bool:
    """Does one of the cell's causes describe what one of the engine's messages says?"""
    return any(c == e or (c, e) in SAME_EVENT for c in cause_codes for e in messages_codes)
