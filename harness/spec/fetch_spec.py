"""Definitions from the Fetch standard (https://fetch.spec.whatwg.org/) used by the oracle and by
scenario validation. Pure functions over names and values; no I/O.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable

SPEC = "https://fetch.spec.whatwg.org/"

# https://fetch.spec.whatwg.org/#forbidden-method
FORBIDDEN_METHODS = frozenset({"CONNECT", "TRACE", "TRACK"})
# https://fetch.spec.whatwg.org/#concept-method-normalize
NORMALIZED_METHODS = frozenset({"DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"})
# https://fetch.spec.whatwg.org/#cors-safelisted-method
SAFELISTED_METHODS = frozenset({"GET", "HEAD", "POST"})
# https://fetch.spec.whatwg.org/#redirect-status
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
# https://fetch.spec.whatwg.org/#forbidden-request-header
FORBIDDEN_REQUEST_HEADERS = frozenset(
    {
        "accept-charset", "accept-encoding", "access-control-request-headers",
        "access-control-request-method", "connection", "content-length", "cookie", "cookie2",
        "date", "dnt", "expect", "host", "keep-alive", "origin", "referer", "set-cookie", "te",
        "trailer", "transfer-encoding", "upgrade", "via",
    }
)  # fmt: skip
FORBIDDEN_REQUEST_HEADER_PREFIXES = ("proxy-", "sec-")
# https://fetch.spec.whatwg.org/#cors-safelisted-response-header-name
SAFELISTED_RESPONSE_HEADERS = frozenset(
    {"cache-control", "content-language", "content-length", "content-type", "expires",
     "last-modified", "pragma"}
)  # fmt: skip
# https://fetch.spec.whatwg.org/#forbidden-response-header-name: never readable by a page,
# whatever Access-Control-Expose-Headers says
FORBIDDEN_RESPONSE_HEADERS = frozenset({"set-cookie", "set-cookie2"})
CONNECTION_HEADERS = frozenset({"connection", "keep-alive", "proxy-connection", "te", "trailer",
                                "transfer-encoding", "upgrade"})  # fmt: skip
"""Connection-specific header names (RFC 9110 section 7.6.1, RFC 9112 section 9.6): they
describe the connection an answer came over (a proxy in between sends `Connection: close`),
not the answer, so the readable names a cell compares leave them out."""
SAFELISTED_CONTENT_TYPES = frozenset(
    {"application/x-www-form-urlencoded", "multipart/form-data", "text/plain"}
)

# https://fetch.spec.whatwg.org/#request-body-header-name (dropped when a redirect turns into GET)
REQUEST_BODY_HEADERS = frozenset(
    {"content-encoding", "content-language", "content-location", "content-type"}
)

_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
# https://fetch.spec.whatwg.org/#cors-unsafe-request-header-byte
_UNSAFE_BYTES = set(range(0x00, 0x09)) | set(range(0x0A, 0x20)) | set(b'"():<>?@[\\]{}\x7f')


def is_token(value: str) -> bool:
    """An HTTP token (method and header names must be one)."""
    return bool(_TOKEN.match(value))


def normalize_method(method: str) -> str:
    """Fetch upper-cases only the six well-known methods; `patch` stays `patch`."""
    upper = method.upper()
    return upper if upper in NORMALIZED_METHODS else method


def is_forbidden_method(method: str) -> bool:
    return method.upper() in FORBIDDEN_METHODS


# https://fetch.spec.whatwg.org/#forbidden-request-header: these are forbidden when their value
# names a forbidden method (a page may not smuggle CONNECT/TRACE/TRACK past the method check)
METHOD_OVERRIDE_HEADERS = frozenset(
    {"x-http-method", "x-http-method-override", "x-method-override"}
)


def is_forbidden_request_header(name: str, value: str = "") -> bool:
    lower = name.lower()
    if lower in METHOD_OVERRIDE_HEADERS:
        return any(is_forbidden_method(v.strip()) for v in value.split(","))
    return lower in FORBIDDEN_REQUEST_HEADERS or lower.startswith(FORBIDDEN_REQUEST_HEADER_PREFIXES)


def is_byte_string(value: str) -> bool:
    """Header values are byte strings: a character above U+00FF cannot be sent (TypeError)."""
    return all(ord(c) <= 0xFF for c in value)


def is_valid_header_value(value: str) -> bool:
    """No CR, LF or NUL, and no leading/trailing whitespace (fetch normalizes, then checks)."""
    return not any(c in value for c in "\r\n\x00")


def essence(mime: str) -> str:
    """The MIME type's essence: type/subtype, lower-case, parameters dropped."""
    return mime.split(";", 1)[0].strip().lower()


def is_safelisted_request_header(
    name: str, value: str, range_start: Callable[[str], int | None] | None = None
) -> bool:
    """https://fetch.spec.whatwg.org/#cors-safelisted-request-header ; `range_start`: an
    engine's own Range parser (default: the standard's, simple_range_start)."""
    lower = name.lower()
    if len(value.encode()) > 128:
        return False
    if lower == "accept":
        return not any(b in _UNSAFE_BYTES for b in value.encode())
    if lower in ("accept-language", "content-language"):
        return bool(re.fullmatch(r"[0-9A-Za-z *,\-.;=]*", value))
    if lower == "content-type":
        if any(b in _UNSAFE_BYTES for b in value.encode()):
            return False
        return essence(value) in SAFELISTED_CONTENT_TYPES
    if lower == "range":  # a start is needed: no suffix range ("bytes=-5")
        return (range_start or simple_range_start)(value) is not None
    return False


_SINGLE_RANGE = re.compile(r"bytes=([0-9]*)-([0-9]*)")


def parse_single_range(value: str) -> tuple[int | None, int | None] | None:
    """https://fetch.spec.whatwg.org/#simple-range-header-value : "parse a single range header
    value" without whitespace: `bytes=` (case-sensitive), digits, `-`, digits, nothing else;
    None on failure (both ends empty, or a start after the end, fail too)."""
    match = _SINGLE_RANGE.fullmatch(value)
    if match is None:
        return None
    start, end = (int(g) if g else None for g in match.groups())
    if start is None and end is None:
        return None
    if start is not None and end is not None and start > end:
        return None
    return start, end


def simple_range_start(value: str) -> int | None:
    """The start of a simple range header value, None when it does not parse or has none."""
    parsed = parse_single_range(value)
    return None if parsed is None else parsed[0]


NO_CORS_SAFELISTED_NAMES = {"accept", "accept-language", "content-language", "content-type"}


def is_no_cors_safelisted(name: str, value: str) -> bool:
    """https://fetch.spec.whatwg.org/#no-cors-safelisted-request-header : what a no-cors
    request keeps (its headers' guard drops every other header without an error)."""
    return name.lower() in NO_CORS_SAFELISTED_NAMES and is_safelisted_request_header(name, value)


def unsafe_request_header_names(
    headers: dict[str, str], safelisted: Callable[[str, str], bool] | None = None
) -> list[str]:
    """https://fetch.spec.whatwg.org/#cors-unsafe-request-header-names: sorted, lower-case,
    the names a preflight must announce in Access-Control-Request-Headers. `safelisted`: an
    engine's own test of one header (default: the standard's)."""
    safelisted = safelisted or is_safelisted_request_header
    unsafe: set[str] = set()
    safelisted_size = 0
    for name, value in headers.items():
        if safelisted(name, value):
            safelisted_size += len(value.encode())
        else:
            unsafe.add(name.lower())
    if safelisted_size > 1024:
        unsafe |= {n.lower() for n, v in headers.items() if safelisted(n, v)}
    return sorted(unsafe)


class ListFailure(ValueError):
    """A header list value that does not parse as its ABNF (#method / #field-name)."""


def extract_list(values: list[str] | None) -> list[str] | None:
    """https://fetch.spec.whatwg.org/#extract-header-list-values for the `#token` headers
    (Access-Control-Allow-Methods, -Allow-Headers, -Expose-Headers): every field of the name,
    each a comma-separated list whose non-empty elements are tokens (empty elements are
    allowed, RFC 9110 section 5.6.1); None when absent; ListFailure on a bad element, e.g.
    "x y" or "X-A;". Engines agree: WPT fetch/api/cors/cors-preflight-response-validation,
    Firefox's CORSInvalidAllowMethod / CORSInvalidAllowHeader."""
    if not values:
        return None
    out: list[str] = []
    for value in values:
        for item in value.split(","):
            item = item.strip(" \t")
            if not item:
                continue
            if not is_token(item):
                raise ListFailure(f"{item!r} is not a token")
            out.append(item)
    return out


def is_loopback(host: str) -> bool:
    """localhost names and loopback addresses: potentially trustworthy over plain http
    (https://w3c.github.io/webappsec-secure-contexts/#is-origin-trustworthy)."""
    host = host.strip("[]").lower()
    if host in ("localhost", "localhost.") or host.endswith((".localhost", ".localhost.")):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def url_encoded(path: str, reread_as_latin1: bool = False, escapes_normalised: bool = False) -> str:
    """A path and query from a Location header (its bytes as Latin-1 text) as the URL parser
    leaves them (https://url.spec.whatwg.org/#path-percent-encode-set and the special-query
    percent-encode set): controls, space, quotes, <, >, and every byte past ASCII become %XX,
    byte by byte; "%" stays as it is (so "%" before a raw byte reads "%%E2").
    `reread_as_latin1`: the bytes made valid UTF-8 (U+FFFD for what is not) and then read one
    character per byte, each encoded as UTF-8 (WebKitGTK, engine_differences.toml).
    `escapes_normalised`: then every escape normalised as RFC 3986 §6.2.2 allows (WebKitGTK,
    see `normalised_escapes`)."""
    if reread_as_latin1:
        valid = path.encode("latin-1").decode("utf-8", errors="replace").encode("utf-8")
        path = "".join(chr(b).encode("utf-8").decode("latin-1") for b in valid)
    path_part, mark, query = path.partition("?")

    def encode(text: str, extra: str) -> str:
        return "".join(f"%{ord(c):02X}" if ord(c) <= 0x20 or ord(c) >= 0x7F or c in extra
                       else c for c in text)  # fmt: skip

    path_part, query = encode(path_part, '"#<>`{}'), encode(query, "\"#<>'")
    if escapes_normalised:
        path_part, query = normalised_escapes(path_part), normalised_escapes(query)
    return path_part + mark + query


_ESCAPE = re.compile(r"%([0-9A-Fa-f]{2})")
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


def normalised_escapes(component: str) -> str:
    """A URL component with RFC 3986 §6.2.2.1-2's percent-encoding normalisation, as GLib's
    g_uri_parse does with G_URI_FLAGS_ENCODED_PATH/QUERY (guri.c uri_normalize): an escape of
    an unreserved character is decoded ("%7e" -> "~"), every other keeps its byte with upper-
    case hex digits ("%e2" -> "%E2"); a "%" not followed by two hex digits stays as it is."""

    def one(match: re.Match[str]) -> str:
        char = chr(int(match.group(1), 16))
        return char if char in _UNRESERVED else "%" + match.group(1).upper()

    return _ESCAPE.sub(one, component)
