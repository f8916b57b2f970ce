"""Routes leave the scenario host as written: header values byte for byte, any status.

A scenario may give a route a header value with leading or trailing whitespace (`" *  "`,
`"  ,,  PUT , "`): WPT's cors/ and Mozilla's CORS tables test exactly that, because a browser's
HTTP parser strips it (RFC 9110 section 5.5). uvicorn's h11 refuses to send such a value (its
field-value rule has no room for it) and closes the connection without an answer, so the cell
would see a network error that no browser would see from a real server. The scenario loader
already refuses CR, LF and NUL, the only bytes that would break the message; this lets every
other value through h11, in the host process only (it serves nothing but scenarios).

Likewise a status from 600 to 999 (WPT's cors/ sends 699, 680, 790): HTTP/1.1 carries any three
digits, h11 sends them, but uvicorn looks the reason phrase up in a table of 100-599 and fails
the response; the table gets an empty phrase for the rest.
"""

from __future__ import annotations

import re

SENDABLE_VALUE = re.compile(rb"[^\x00\r\n]*")
"""What may follow `name:` on a line: anything but NUL, CR and LF."""


def send_routes_as_written() -> str | None:
    """Widen h11's check of outgoing header values to SENDABLE_VALUE and uvicorn's reason
    phrases to 600-999, and prove the first on a padded value; None when done, else why not
    (an h11 or uvicorn whose internals moved: the cells of routes that need it are then not
    run, saying so)."""
    from uvicorn.protocols.http import h11_impl

    phrases = getattr(h11_impl, "STATUS_PHRASES", None)
    if not isinstance(phrases, dict):
        return "this uvicorn has no STATUS_PHRASES table to widen"
    for code in range(600, 1000):
        phrases.setdefault(code, b"")
    try:
        import h11
        from h11 import _headers
    except ImportError as exc:  # pragma: no cover - uvicorn depends on h11
        return f"h11 cannot be imported: {exc}"
    if not isinstance(getattr(_headers, "_field_value_re", None), re.Pattern):
        return f"h11 {h11.__version__} has no _field_value_re to widen"
    _headers._field_value_re = SENDABLE_VALUE
    try:
        h11.Response(status_code=200, headers=[("x-padded", " * ")])
    except h11.LocalProtocolError as exc:
        return f"h11 {h11.__version__} still refuses a padded header value: {exc}"
    return None


def needs_widening(route: dict) -> bool:
    """A route whose answer h11 or uvicorn would not send as it is."""
    return route["status"] >= 600 or any(padded(value) for _, value in route["headers"])


def padded(value: str) -> bool:
    """A value h11 would not send unless widened: leading or trailing whitespace, or a
    whitespace byte other than SP and HTAB inside."""
    stripped = value.strip(" \t")
    return stripped != value or any(c in value for c in "\x0b\x0c")
