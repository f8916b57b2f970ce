"""The browser's HTTP cache in the browser model: what Fetch's HTTP-network-or-cache fetch
(https://fetch.spec.whatwg.org/#http-network-or-cache-fetch) does with it, by RFC 9111's rules
(https://www.rfc-editor.org/rfc/rfc9111): a GET response with a lifetime or a validator is
stored, a fresh one is served without a request, a stale one is revalidated with a conditional
request, and a 304 updates the stored response's header fields, which the CORS check then
reads (WPT cors/304.htm). Only what a cell can show is modelled: one client, one partition,
model time (seconds since the cell's first fetch)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from ..scenario import Probe
from ..spec.starlette_model import ServerAnswer
from .redirects import Hop

HEURISTIC_FRACTION = 0.1
"""RFC 9111 section 4.2.2: with Last-Modified and no explicit lifetime, a cache may use a
fraction of the time since then; "typical setting of this fraction might be 10%", which
Chromium (http_response_headers.cc GetFreshnessLifetimes) and Firefox
(nsHttpResponseHead::ComputeFreshnessLifetime) use."""

NOT_UPDATED = frozenset({"content-length"})
"""RFC 9111 section 3.2: a 304 updates every stored header field it carries, but not
Content-Length."""

RECORDED_CONDITIONAL_HEADERS = frozenset({"if-none-match", "if-modified-since"})
"""The validators a cache sends when it revalidates (RFC 9111 section 4.3.1), the two the
ledger records (observed.conditional_requests)."""

CONDITIONAL_REQUEST_HEADERS = RECORDED_CONDITIONAL_HEADERS | {
    "if-unmodified-since", "if-match", "if-range"
}  # fmt: skip


MEMORY_CACHE_IGNORED_HEADERS = frozenset(
    {"accept", "cache-control", "pragma", "referer", "user-agent"}
)
"""WebKit's memory cache reuses an XMLHttpRequest's stored response only for a request with the
same method, body, cookie policy and header fields but these (CachedRawResource.cpp,
shouldIgnoreHeaderForCacheReuse and canReuse)."""


def request_fingerprint(method: str, body: str | None, credentials: bool,
                        headers: dict[str, str]) -> tuple:  # fmt: skip
    """What WebKit's memory cache compares before it reuses a stored XHR response."""
    kept = sorted((k.lower(), v) for k, v in headers.items()
                  if k.lower() not in MEMORY_CACHE_IGNORED_HEADERS)  # fmt: skip
    return (method, body, credentials, tuple(kept))


@dataclass
class Stored:
    """A stored response: its answer (without Set-Cookie), when it was stored (model time),
    the request header values its Vary names and, for a cache that reuses a response only for
    the same request (WebKit's memory cache), that request's fingerprint."""

    answer: ServerAnswer
    stored_at: float
    varied: dict[str, str | None]
    fingerprint: tuple | None = None

    def validators(self) -> dict[str, str]:
        return validators(self.answer)


def validators(answer: ServerAnswer) -> dict[str, str]:
    """The conditional request's header fields a stored answer gives (RFC 9111 section 4.3.1)."""
    found = {}
    if (etag := answer.get("etag")) is not None:
        found["If-None-Match"] = etag
    if (modified := answer.get("last-modified")) is not None:
        found["If-Modified-Since"] = modified
    return found


def directives(answer: ServerAnswer) -> dict[str, str | None]:
    """Cache-Control's directives, lower-cased names (RFC 9111 section 5.2)."""
    found: dict[str, str | None] = {}
    for part in (answer.get("cache-control") or "").split(","):
        name, _, value = part.strip().partition("=")
        if name:
            found.setdefault(name.lower(), value.strip('"') if value else None)
    return found


def _date(value: str | None) -> datetime | None:
    try:
        parsed = parsedate_to_datetime(value) if value else None
    except (TypeError, ValueError):
        return None
    return parsed if parsed is None or parsed.tzinfo else parsed.replace(tzinfo=UTC)


def freshness_lifetime(answer: ServerAnswer) -> float:
    """RFC 9111 section 4.2.1: max-age, else Expires minus Date (an Expires that does not parse
    is in the past), else the heuristic from Last-Modified (section 4.2.2), else 0. The
    server's Date is the moment it answered: now."""
    found = directives(answer)
    if "max-age" in found:
        try:
            return max(0, int(found["max-age"] or ""))
        except ValueError:
            return 0
    if answer.get("expires") is not None:
        expires = _date(answer.get("expires"))
        return 0 if expires is None else max(0.0, (expires - datetime.now(UTC)).total_seconds())
    modified = _date(answer.get("last-modified"))
    if modified is not None:
        return max(0.0, (datetime.now(UTC) - modified).total_seconds() * HEURISTIC_FRACTION)
    return 0


def storable(method: str, answer: ServerAnswer, cache_mode: str) -> bool:
    """RFC 9111 section 3, for a private cache and the cells' GET requests: not no-store (in
    the response or the request's cache mode), and worth keeping: a lifetime or a validator."""
    if method != "GET" or cache_mode == "no-store" or "no-store" in directives(answer):
        return False
    if answer.status in (206, 304) or answer.status >= 600:
        return False
    return freshness_lifetime(answer) > 0 or bool(validators(answer))


def freshened(stored: ServerAnswer, not_modified: ServerAnswer) -> ServerAnswer:
    """RFC 9111 section 4.3.4 and 3.2: the stored response with each header field the 304
    carries replacing the stored fields of that name (Content-Length excepted)."""
    headers = {k: list(v) for k, v in stored.headers.items()}
    for name, values in not_modified.headers.items():
        if name not in NOT_UPDATED:
            headers[name] = list(values)
    return ServerAnswer(stored.status, headers, "stored response, freshened by a 304")


class HttpCache:
    """One cell's HTTP cache, keyed by URL (the cell's URLs are its own)."""

    def __init__(self) -> None:
        self.entries: dict[str, Stored] = {}

    def lookup(self, url: str, request_headers: dict[str, str],
               fingerprint: tuple | None = None) -> Stored | None:  # fmt: skip
        stored = self.entries.get(url)
        if stored is None or stored.fingerprint != fingerprint:
            return None
        lowered = {k.lower(): v for k, v in request_headers.items()}
        if any(name == "*" or lowered.get(name) != value for name, value in stored.varied.items()):
            return None  # RFC 9111 section 4.1: the Vary'd request headers must match
        return stored

    def store(self, url: str, answer: ServerAnswer, now: float, request_headers: dict[str, str],
              fingerprint: tuple | None = None) -> None:  # fmt: skip
        lowered = {k.lower(): v for k, v in request_headers.items()}
        varied = {name.strip().lower(): lowered.get(name.strip().lower())
                  for name in (answer.get("vary") or "").split(",") if name.strip()}  # fmt: skip
        kept = {k: v for k, v in answer.headers.items() if k != "set-cookie"}
        self.entries[url] = Stored(ServerAnswer(answer.status, kept, answer.note), now, varied,
                                   fingerprint)  # fmt: skip

    @staticmethod
    def fresh(stored: Stored, now: float) -> bool:
        """RFC 9111 section 4.2: fresh while its lifetime exceeds its age; no-cache in the
        response means every use is validated first (section 5.2.2.4)."""
        if "no-cache" in directives(stored.answer):
            return False
        return freshness_lifetime(stored.answer) > now - stored.stored_at


class CacheStep:
    """A mixin of the browser model (BrowserModel), which holds profile, host, now, http_cache,
    reached_api, the prediction p and the server (server_model.ServerSide); `revalidated` says
    whether the last answer is a stored response a 304 freshened."""

    revalidated = False
    conditional_sent = False  # whether the last request was conditional

    def network_or_cache(self, probe: Probe, hop: Hop, origin: str | None, has_auth: bool,
                         cookies: list[str]) -> ServerAnswer:  # fmt: skip
        """Fetch's HTTP-network-or-cache fetch: a fresh stored response answers without a
        request (self.reached_api False); a stale one with a validator is revalidated with a
        conditional request, and a 304 to it gives the stored response with the 304's header
        fields; a storable answer is stored."""
        self.revalidated = False
        key = f"{self.host}{hop.path}"
        sent = {**hop.headers, **({"origin": origin} if origin is not None else {})}
        mode = probe.cache
        if mode == "default" and any(k.lower() in CONDITIONAL_REQUEST_HEADERS
                                     for k in hop.headers):  # fmt: skip
            mode = "no-store"  # the page's own conditional request bypasses the cache
        # the engine's cache (profile): the standard's, or only WebKit's memory cache, which
        # keeps XMLHttpRequest responses for the very same request
        kind = self.profile.http_cache
        cached = hop.method == "GET" and (kind == "spec" or (kind == "xhr-memory-cache"
                                                             and probe.api == "xhr"))  # fmt: skip
        credentialed = probe.credentials == "include"
        fingerprint = (request_fingerprint(hop.method, probe.request_body, credentialed,
                                           hop.headers)
                       if kind == "xhr-memory-cache" else None)  # fmt: skip
        stored = (self.http_cache.lookup(key, sent, fingerprint)
                  if cached and mode not in ("no-store", "reload") else None)  # fmt: skip
        if stored is not None and (mode == "force-cache" or (
                mode == "default" and self.http_cache.fresh(stored, self.now))):  # fmt: skip
            self.reached_api = False
            self.conditional_sent = False
            where = f"{hop.method} {hop.path.split('?')[0]}"
            self.p.reasons.append(f"{where}: a fresh stored response answers it from the HTTP "
                                  "cache, no request")  # fmt: skip
            return stored.answer
        revalidating = stored is not None and bool(stored.validators())
        own = any(k.lower() in RECORDED_CONDITIONAL_HEADERS for k in hop.headers)
        self.conditional_sent = revalidating or own
        answer = self.server(hop.method, hop.path, origin, authorization=has_auth,
                             cookie=bool(cookies), request_headers=hop.headers)  # fmt: skip
        if revalidating and answer.status == 304:
            self.p.reasons.append(f"{hop.method} {hop.path.split('?')[0]}: revalidated (304), "
                                  "the stored response with the 304's header fields")  # fmt: skip
            answer = freshened(stored.answer, answer)
            self.revalidated = True
            self.http_cache.store(key, answer, self.now, sent, fingerprint)
        elif cached and self.reached_api and storable(hop.method, answer, mode):
            self.http_cache.store(key, answer, self.now, sent, fingerprint)
        return answer
