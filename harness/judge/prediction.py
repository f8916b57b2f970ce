"""What the oracle says a cell should observe (a Prediction), the context it is said for, and
how an observation is compared with it."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ..scenario.endpoints import TOKEN_PARAM
from ..spec.starlette_model import LATEST

ANY_VALUE = "<any>"
"""Expected header value meaning: readable, value not predicted (e.g. Content-Length)."""

COMPARED_KEYS = (
    "outcome", "status", "headers", "preflights", "requests", "cookies_received",
    "authorization_received", "attempts", "origin_headers", "methods", "readable_headers",
    "referers", "authorizations", "request_cookies", "preflight_request_headers",
    "conditional_requests", "final_url", "redirected", "body_headers",
)  # fmt: skip


def origin_name(origin: str | None, names: dict[str, str]) -> str | None:
    """An Origin header as the run's name for it ("app", "cross_site", ...; `names` maps
    name -> origin, first name wins): the same in every run whatever the ports. "null", an
    unnamed value and None (no header) stay as they are."""
    for name, value in names.items():
        if value == origin:
            return name
    return origin


def referrer_name(url: str | None, names: dict[str, str]) -> str | None:
    """A Referer header with its origin as the run's name for it ("app/", "api/__cm_page/"):
    the same in every run whatever the ports. Another URL and None (no header) stay as they
    are."""
    for name, origin in names.items():
        if url is not None and (url == origin or url.startswith(origin + "/")):
            return name + url[len(origin) :]
    return url


def url_name(url: str | None, names: dict[str, str]) -> str | None:
    """A URL the page read, as `referrer_name` writes it, without the cell's token parameter
    (the harness adds it to every URL of a cell, so the ledger can tell cells apart) and
    without userinfo, which no record may hold (XHR open()'s user and password: Chromium and
    Firefox keep them in responseURL, WebKit does not; not judged)."""
    if url is None:
        return None
    scheme, sep, rest = url.partition("://")
    authority, slash, tail = rest.partition("/")
    url = scheme + sep + authority.rpartition("@")[2] + slash + tail if sep else url
    base, mark, query = url.partition("?")
    kept = [part for part in query.split("&") if not part.startswith(TOKEN_PARAM + "=")]
    return referrer_name(base + (mark + "&".join(kept) if mark and kept else ""), names)


class NotModelled(Exception):
    """The probe uses something the oracle does not model; the cell cannot be judged."""


@dataclass(frozen=True)
class Context:
    """Where a probe runs: the page's and API's real origins and the server's resolved config."""

    page_origin: str
    api_origin: str
    server_kwargs: dict[str, Any]
    cors: bool = True
    cookie_policy: str = "block-third-party"
    cors_outermost: bool = False
    auth_outside_cors: bool = False
    proxy: str = "none"
    # every named origin ({app}, {cross_site}, ...) for placeholders in a probe's `reconfigure`
    origins: dict[str, str] = field(default_factory=dict)
    # raw routes ([[server.route]], placeholders substituted) and FastAPI's redirect_slashes
    routes: list[dict[str, Any]] = field(default_factory=list)
    redirect_slashes: bool = True
    # page = "sandboxed": the fetch's client has an opaque origin (a sandboxed iframe), so every
    # request carries Origin: null and is cross-origin and cross-site to everything
    opaque_initiator: bool = False
    # the Starlette release the host runs (its CORSMiddleware model), or exactly these changes
    starlette: str = LATEST
    starlette_changes: frozenset[str] | None = None
    # the engine sends every request through a proxy (--cors-remote-proxy): some engines
    # skip checks that need their own DNS then (firefox-preflight-cache-needs-dns-record)
    browser_proxied: bool = False

    @property
    def named_origins(self) -> dict[str, str]:
        """Name -> origin for every origin of the run, the API first: what an Origin header is
        called in `origin_headers` (origin_name), on the predicted and the observed side."""
        return {"api": self.api_origin, **self.origins}


@dataclass
class Prediction:
    outcome: str = "ok"
    status: int | None = None
    headers: dict[str, str | None] = field(default_factory=dict)
    preflights: int = 0
    requests: int = 0
    cookies_received: list[str] = field(default_factory=list)
    authorization_received: bool = False
    attempts: list[str] = field(default_factory=list)
    # the Origin header of every request the API saw, preflights included, in order: the run's
    # name for it ("app", "cross_site", ...), "null", or None when the request had none
    origin_headers: list[str | None] = field(default_factory=list)
    # the method of every request the API saw, in the same order (OPTIONS for a preflight)
    methods: list[str] = field(default_factory=list)
    # the name of every header the page can read from the last fetch's response (None: none)
    readable_headers: list[str] | None = None
    # the Referer header of every request the API saw, preflights included, in order
    # (referrer_name: "app/", "api/__cm_page/"; None: no header)
    referers: list[str | None] = field(default_factory=list)
    # whether each request the API saw carried Authorization, preflights included, in order
    authorizations: list[bool] = field(default_factory=list)
    # the sorted names of the cookies each request the API saw carried, preflights included
    request_cookies: list[list[str]] = field(default_factory=list)
    # the Access-Control-Request-Headers of each preflight the API saw, in order (None: none)
    preflight_request_headers: list[str | None] = field(default_factory=list)
    # whether each request the API saw was conditional (If-None-Match or If-Modified-Since: the
    # HTTP cache revalidating what it stored), preflights included, in order
    conditional_requests: list[bool] = field(default_factory=list)
    # the request-body-header names (Content-Type, -Encoding, -Language, -Location) each
    # request the API saw carried, sorted, preflights included ([]), in order: a redirect that
    # turns the request into a GET removes them (HTTP-redirect fetch, step 12)
    body_headers: list[list[str]] = field(default_factory=list)
    # the URL of the last response the page could read (Response.url, XHR's responseURL:
    # after redirects, no fragment), its origin as the run's name, the cell's token left out;
    # None when the page could not read one
    final_url: str | None = None
    # Response.redirected (fetch): whether the response the page got followed a redirect (its
    # URL list has more than one URL); false for an opaque one, whose URL list is empty; None
    # without a response, and for XHR, which has no such attribute
    redirected: bool | None = None
    reasons: list[str] = field(default_factory=list)
    differences: list[str] = field(default_factory=list)

    def compared(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in COMPARED_KEYS}

    def as_record(self) -> dict[str, Any]:
        return {
            **self.compared(),
            "reasons": self.reasons,
            "differences": self.differences,
        }


def headers_match(expected: dict[str, str | None], observed: dict[str, str | None]) -> bool:
    if set(expected) != set(observed):
        return False
    for name, value in expected.items():
        seen = observed.get(name)
        if value is not None and ANY_VALUE in value:  # "<any>" stands for any non-empty text
            pattern = ".+".join(re.escape(part) for part in value.split(ANY_VALUE))
            if seen is None or not re.fullmatch(pattern, seen, re.S):
                return False
        elif value != seen:
            return False
    return True


def compare(expected: dict[str, Any], observed: dict[str, Any]) -> list[str]:
    """The compared keys on which observation and expectation differ (empty: match)."""
    differing = []
    for key in COMPARED_KEYS:
        if key not in expected:  # an expectation recorded before the field existed
            continue
        if key == "headers":
            if not headers_match(expected[key], observed.get(key, {})):
                differing.append(key)
        elif expected[key] != observed.get(key):
            differing.append(key)
    return differing
