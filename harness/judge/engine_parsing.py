"""Header parsers an engine ships instead of the standard's, where an engine difference
(engine_differences.toml) says so. Each mirrors the named source, nothing more."""

from __future__ import annotations

import re
from functools import partial

from ..spec import fetch_spec

_WTF_WHITESPACE = " \t\n\v\f\r"  # WTF isUnicodeCompatibleASCIIWhitespace
_UNSIGNED = re.compile(r"\+?[0-9]+")


def _wtf_unsigned(text: str) -> int | None:
    """WTF::parseInteger<uint64_t> with its default whitespace policy: ASCII whitespace (form
    feed and vertical tab too) around the digits, an optional "+", no "-"."""
    text = text.strip(_WTF_WHITESPACE)
    return int(text) if _UNSIGNED.fullmatch(text) else None


def webkit_range_start(value: str) -> int | None:
    """WebCore/platform/network/HTTPParsers.cpp parseRange(..., RangeAllowWhitespace::No): no
    tab or space anywhere, "bytes" in any case, "=", then a first and a last position split at
    the first "-", each parsed by _wtf_unsigned; None when it fails or is a suffix range (what
    isCrossOriginSafeRequestHeader then refuses)."""
    if " " in value or "\t" in value or value[:5].lower() != "bytes":
        return None
    rest = value[5:].strip(" \t\n\r")  # isASCIIWhitespaceWithoutFF
    if not rest.startswith("="):
        return None
    first, dash, last = rest[1:].partition("-")
    if not dash or not first:  # no "-", or a suffix range ("-500")
        return None
    start = _wtf_unsigned(first)
    end = _wtf_unsigned(last) if last else None
    if start is None or (last and end is None) or (end is not None and end < start):
        return None
    return start


webkit_safelisted = partial(fetch_spec.is_safelisted_request_header, range_start=webkit_range_start)
"""The standard's CORS-safelisted request-header, with WebKit's Range parser."""
