"""Route header values leave the scenario host byte for byte.

A scenario may give a route a header value with leading or trailing whitespace (`" *  "`,
`"  ,,  PUT , "`): WPT's cors/ and Mozilla's CORS tables test exactly that, because a browser's
HTTP parser strips it (RFC 9110 section 5.5). uvicorn's h11 refuses to send such a value (its
field-value rule has no room for it) and closes the connection without an answer, so the cell
would see a network error that no browser would see from a real server. The scenario loader
already refuses CR, LF and NUL, the only bytes that would break the message; this lets every
other value through h11, in the host process only (it serves nothing but scenarios).
"""

from __future__ import annotations

import re

SENDABLE_VALUE = re.compile(rb"[^\x00\r\n]*")
"""What may follow `name:` on a line: anything but NUL, CR and LF."""


def send_header_values_as_written() -> str | None:
    """Widen h11's check of outgoing header values to SENDABLE_VALUE, and prove it on a
    padded value; None when done, else why not (an h11 whose internals moved: the cells of
    routes with padded values are then not run, saying so)."""
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


def padded(value: str) -> bool:
    """A value h11 would not send unless widened: leading or trailing whitespace, or a
    whitespace byte other than SP and HTAB inside."""
    stripped = value.strip(" \t")
    return stripped != value or any(c in value for c in "\x0b\x0c")
