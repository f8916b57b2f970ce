"""The oracle: what SHOULD cross the origin boundary, from the Fetch standard and Starlette's
source, never from observations.

`predict()` runs a small browser model (preflight, preflight cache, CORS check, exposed headers,
cookie jar with SameSite/Secure/third-party rules) against a model of the server (Starlette's
CORSMiddleware from starlette_model.py plus the endpoint table). The model has a few named
parameters (a Profile); the spec's values and each engine's known differences live in
data/engine_differences.toml with their sources. `expectations()` returns both answers: the
spec's, and the engine-adjusted one a cell is judged against.
"""

from __future__ import annotations

import ipaddress
import re
import tomllib
from dataclasses import dataclass, field, replace
from functools import cache
from importlib import resources
from typing import Any
from urllib.parse import urljoin, urlsplit

from . import PACKAGE, endpoints, fetch_spec, nginx
from .origins import Origin, api_origins, same_site, split_target, substitute_all
from .scenario import CookieSpec, Probe
from .starlette_model import LATEST, CORSMiddlewareModel, ServerAnswer

ANY_VALUE = "<any>"
"""Expected header value meaning: readable, value not predicted (e.g. Content-Length)."""

COMPARED_KEYS = (
    "outcome", "status", "headers", "preflights", "requests", "cookies_received",
    "authorization_received", "attempts",
)  # fmt: skip


class NotModelled(Exception):
    """The probe uses something the oracle does not model; the cell cannot be judged."""


@dataclass(frozen=True)
class Profile:
    """The model's parameters: where the spec leaves room, or engines deviate."""

    preflight_cache_cap_s: int
    preflight_cache_default_s: int
    lax_by_default: bool
    samesite_none_requires_secure: bool
    secure_cookies_on_loopback_http: bool
    preflight_cache_bypass_modes: tuple[str, ...] = ()
    credentialed_entry_serves_uncredentialed: bool = True
    mixed_content_exempts_loopback: bool = True
    preflight_origin_tainted: bool = True
    preflight_cache_serves_ip_hosts: bool = True
    applied: tuple[str, ...] = ()  # ids of the differences that shaped this profile


@dataclass(frozen=True)
class Difference:
    id: str
    engines: tuple[str, ...]
    parameter: str
    value: Any
    source: str


@cache
def _data() -> tuple[Profile, tuple[Difference, ...]]:
    text = resources.files(PACKAGE).joinpath("data/engine_differences.toml").read_text()
    raw = tomllib.loads(text)
    spec = Profile(
        **{
            **raw["spec"],
            "preflight_cache_bypass_modes": tuple(
                raw["spec"].get("preflight_cache_bypass_modes", ())
            ),
        }
    )
    diffs = tuple(
        Difference(
            d["id"],
            tuple(d["engines"]),
            d["parameter"],
            tuple(d["value"]) if isinstance(d["value"], list) else d["value"],
            d["source"],
        )
        for d in raw.get("difference", [])
    )
    for d in diffs:
        if not hasattr(spec, d.parameter):
            raise ValueError(f"engine_differences.toml: {d.id}: unknown parameter {d.parameter!r}")
    return spec, diffs


def spec_profile() -> Profile:
    return _data()[0]


def differences() -> tuple[Difference, ...]:
    return _data()[1]


def engine_profile(engine: str) -> Profile:
    """The spec profile with every difference recorded for `engine` applied."""
    profile = spec_profile()
    for d in differences():
        if engine in d.engines:
            profile = replace(profile, **{d.parameter: d.value}, applied=(*profile.applied, d.id))
    return profile


def is_loopback(host: str) -> bool:
    """localhost names and loopback addresses: potentially trustworthy over plain http."""
    host = host.strip("[]").lower()
    if host in ("localhost", "localhost.") or host.endswith((".localhost", ".localhost.")):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


KEEPALIVE_QUOTA = 64 * 1024
"""Bytes of request bodies a fetch group may have in flight with keepalive (Fetch standard)."""


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


@dataclass
class _Cookie:
    name: str
    samesite: str | None
    secure: bool


@dataclass
class _CacheEntry:
    url: str
    expires: float  # model time, seconds
    credentials: bool
    methods: set[str]
    headers: set[str]
    wildcard_methods: bool
    wildcard_headers: bool


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


# nginx adds add_header fields only to these statuses (no `always` in the guide's config):
# https://nginx.org/en/docs/http/ngx_http_headers_module.html#add_header
NGINX_ADD_HEADER_STATUSES = frozenset({200, 201, 204, 206, 301, 302, 303, 304, 307, 308})


def proxied(variant: str, answer: ServerAnswer) -> ServerAnswer:
    """The API's answer as nginx passes it on (see harness/nginx.py for the variants)."""
    if variant in ("none", "pass"):
        return answer
    headers = {k: list(v) for k, v in answer.headers.items()}
    if variant == "strip":
        for name in nginx.HIDDEN:
            headers.pop(name.lower(), None)
    adds = {"add-allow-origin": {"Access-Control-Allow-Origin": "*"},
            "answer-options": nginx.GUIDE_HEADERS}.get(variant, {})  # fmt: skip
    if answer.status in NGINX_ADD_HEADER_STATUSES:
        for name, value in adds.items():  # added, not replaced: a second field if one exists
            headers.setdefault(name.lower(), []).append(value)
    return ServerAnswer(answer.status, headers, answer.note)


def with_server_headers(answer: ServerAnswer, proxy: str = "none") -> ServerAnswer:
    """Every answer carries the server's own `server` and `date`: uvicorn puts its defaults
    before the app's headers, whatever the app sent (uvicorn/protocols/http/h11_impl.py:
    `headers = self.default_headers + list(message["headers"])`; --server-header,
    --date-header), so a route's own Server arrives as a second field; nginx drops the
    upstream's Server and Date (proxy_hide_header's defaults) and sends its own. So an exposed
    `Server` is readable."""
    headers = {k: list(v) for k, v in answer.headers.items()}
    if proxy == "none":
        headers["server"] = ["uvicorn", *headers.get("server", [])]
        headers["date"] = [ANY_VALUE, *headers.get("date", [])]
    else:
        headers["server"] = [ANY_VALUE]
        headers["date"] = [ANY_VALUE]
    return ServerAnswer(answer.status, headers, answer.note)


def cors_model(ctx: Context, kwargs: dict[str, Any]) -> CORSMiddlewareModel:
    """CORSMiddleware(**kwargs) as the context's Starlette release has it (UnsupportedOption
    for an option that release lacks)."""
    return CORSMiddlewareModel.from_kwargs(kwargs, ctx.starlette, ctx.starlette_changes)


class _Model:
    """One probe's run through the browser model."""

    def __init__(self, probe: Probe, ctx: Context, profile: Profile) -> None:
        self.probe = probe
        self.ctx = ctx
        self.origins = {"api": ctx.api_origin, **ctx.origins}
        self.profile = profile
        self.cors = cors_model(ctx, ctx.server_kwargs) if ctx.cors else None
        self.jar: dict[tuple[str, str], _Cookie] = {}  # (host, name): cookies are per host
        self.cache: list[_CacheEntry] = []
        self.p = Prediction(differences=list(profile.applied))
        self.cookies_seen: set[str] = set()
        self.now = 0.0
        self.reached_api = True
        self.host = ctx.api_origin  # the name the API is reached under ({api} or {api_other})
        self.api_names = set(api_origins(ctx.api_origin).values())

    # --- the server -------------------------------------------------------------------------
    def app_answer(self, method: str, path: str) -> tuple[ServerAnswer, bool]:
        """(answer, passes_through_cors_middleware)."""
        base = {"content-type": ["application/json"], "content-length": [ANY_VALUE]}
        bare, _, query = path.partition("?")
        routed = [r for r in self.ctx.routes if r["path"] == bare]
        if routed:  # a raw route answers exactly as written (FastAPI: 405 for other methods)
            route = next((r for r in routed if r["method"] in ("*", method)), None)
            if route is None:
                allowed = ", ".join(sorted({r["method"] for r in routed}))
                return ServerAnswer(405, {**base, "allow": [allowed]}), True
            headers: dict[str, list[str]] = {}
            for name, value in route["headers"]:
                headers.setdefault(name.lower(), []).append(value)
            # Starlette's Response adds Content-Length unless the route set its own
            headers.setdefault("content-length", [ANY_VALUE])
            return ServerAnswer(route["status"], headers, "raw route"), True
        endpoint = endpoints.find(path)
        if endpoint is None and self.ctx.redirect_slashes and bare != "/":
            # Starlette's Router: no route matched, the path with/without its trailing slash
            # does: 307 to that URL, built from the request's own scheme, Host and query
            other = bare[:-1] if bare.endswith("/") else bare + "/"
            if any(r["path"] == other for r in self.ctx.routes):
                location = f"{self.host}{other}" + (f"?{query}" if query else "")
                return ServerAnswer(307, {"location": [location], "content-length": ["0"]},
                                    "redirect_slashes"), True  # fmt: skip
        if endpoint is None:
            raise NotModelled(f"unknown endpoint {path}")
        if method not in endpoint.methods:
            return ServerAnswer(405, {**base, "allow": [", ".join(endpoint.methods)]}), True
        if endpoint.unhandled_error:  # passes through CORS only when CORS wraps everything
            # ServerErrorMiddleware sits outside an added CORSMiddleware: no CORS headers on this
            # 500, unless CORSMiddleware wraps the whole app.
            plain = {"content-type": ["text/plain; charset=utf-8"], "content-length": [ANY_VALUE]}
            note = "unhandled exception: a 500 from ServerErrorMiddleware"
            return ServerAnswer(500, plain, note), self.ctx.cors_outermost
        headers = {**base, **{k.lower(): [v] for k, v in endpoint.headers.items()}}
        if endpoint.path == "/redirect":
            headers["location"] = [endpoints.query_value(path, "to") or "/data"]
        return ServerAnswer(endpoints.status_of(endpoint, path), headers), True

    def server(
        self,
        method: str,
        path: str,
        origin: str,
        preflight_headers: str | None = None,
        preflight: bool = False,
        authorization: bool = False,
        cookie: bool = False,
    ) -> ServerAnswer:
        """What the page's request gets back, through the proxy if there is one; sets
        self.reached_api (False when the proxy answered by itself). `cookie`: the request
        carries a Cookie header."""
        http_method = "OPTIONS" if preflight else method
        if self.ctx.proxy == "answer-options" and http_method == "OPTIONS":
            self.reached_api = False
            headers = {k.lower(): [v] for k, v in nginx.GUIDE_OPTIONS_HEADERS.items()}
            # add_header inside `if` replaces the location's add_header set: no ACAO here
            answer = ServerAnswer(204, headers, "nginx answered OPTIONS itself")
            return with_server_headers(answer, self.ctx.proxy)
        self.reached_api = True
        answer = self.api_server(method, path, origin, preflight_headers, preflight, authorization,
                                 cookie)  # fmt: skip
        return with_server_headers(proxied(self.ctx.proxy, answer), self.ctx.proxy)

    def api_server(
        self,
        method: str,
        path: str,
        origin: str,
        preflight_headers: str | None,
        preflight: bool,
        authorization: bool,
        cookie: bool = False,
    ) -> ServerAnswer:
        """What the API answers. Layers, outside in: [CORS if outermost], [auth if outside
        CORS], ServerErrorMiddleware, [CORS if added], the routes."""
        outermost_cors = self.cors if self.ctx.cors_outermost else None
        if preflight and outermost_cors is not None:
            return outermost_cors.preflight(origin, method, preflight_headers)
        if self.ctx.auth_outside_cors and not authorization:
            body = {"content-type": ["application/json"], "content-length": [ANY_VALUE]}
            answer = ServerAnswer(401, body, "auth middleware outside CORSMiddleware refused it")
            if outermost_cors is None:
                return answer
            return outermost_cors.add_simple_headers(origin, answer, cookie)
        if preflight:
            if self.cors is not None:
                return self.cors.preflight(origin, method, preflight_headers)
            answer, _ = self.app_answer("OPTIONS", path)
            return answer
        answer, through = self.app_answer(method, path)
        if self.cors is not None and through:
            answer = self.cors.add_simple_headers(origin, answer, cookie)
        return answer

    # --- cookies (RFC 6265bis with the profile's choices) -------------------------------------
    def effective_samesite(self, cookie: _Cookie | CookieSpec) -> str:
        if cookie.samesite is None:
            return "Lax" if self.profile.lax_by_default else "None"
        return cookie.samesite

    def same_site_as_page(self, origin: str) -> bool:
        return not self.ctx.opaque_initiator and same_site(self.ctx.page_origin, origin)

    def store_cookie(self, spec: CookieSpec, top_level: bool) -> None:
        where = api_origins(self.ctx.api_origin)[spec.server]
        same = top_level or self.same_site_as_page(where)
        samesite = self.effective_samesite(spec)
        if (
            spec.samesite == "None"
            and not spec.secure
            and self.profile.samesite_none_requires_secure
        ):
            self.p.reasons.append(f"cookie {spec.name} rejected: SameSite=None without Secure")
            return
        api = Origin.parse(self.ctx.api_origin)
        if (
            spec.secure
            and api.scheme != "https"
            and not self.profile.secure_cookies_on_loopback_http
        ):
            self.p.reasons.append(f"cookie {spec.name} rejected: Secure over http")
            return
        if not same:
            if self.ctx.cookie_policy == "block-third-party":
                self.p.reasons.append(f"cookie {spec.name} not stored: third-party cookies blocked")
                return
            if samesite != "None":
                self.p.reasons.append(
                    f"cookie {spec.name} not stored: SameSite={samesite} set by a cross-site fetch"
                )
                return
        self.jar[(Origin.parse(where).host, spec.name)] = _Cookie(
            spec.name, spec.samesite, spec.secure
        )

    def set_cookies(self) -> None:
        for spec in self.probe.set_cookies:
            if spec.via == "navigation":
                self.store_cookie(spec, top_level=True)
            else:
                # A credentialed simple GET from the page to /cookies/set: Set-Cookie is processed
                # in HTTP-network fetch, before (and regardless of) the CORS check.
                self.store_cookie(spec, top_level=False)

    def cookies_to_send(self, credentials: str, same_origin: bool, origin: str) -> list[str]:
        """Fetch's includeCredentials (mode include, or same-origin for a same-origin request:
        response tainting basic), then the jar's cookies for `origin`'s host."""
        if not (credentials == "include" or credentials == "same-origin" and same_origin):
            return []
        host = Origin.parse(origin).host
        jar = [cookie for (where, _), cookie in self.jar.items() if where == host]
        same = self.same_site_as_page(origin)
        if not same and self.ctx.cookie_policy == "block-third-party":
            if jar:
                self.p.reasons.append("cookies withheld: third-party cookies blocked")
            return []
        sent = []
        for cookie in jar:
            samesite = self.effective_samesite(cookie)
            if samesite in ("Strict", "Lax") and not same:
                self.p.reasons.append(
                    f"cookie {cookie.name} withheld: SameSite={samesite}, cross-site page"
                )
                continue
            sent.append(cookie.name)
        return sorted(sent)

    def mixed_content(self, scheme: str, host: str) -> bool:
        """https://w3c.github.io/webappsec-mixed-content/#should-block-fetch : an https page's
        fetch of an http URL is blocked (also after a redirect), unless the URL is potentially
        trustworthy (a loopback host; https://w3c.github.io/webappsec-secure-contexts/
        #is-url-trustworthy) and the engine honours that."""
        if scheme != "http" or not self.ctx.page_origin.startswith("https:"):
            return False
        return not (is_loopback(host) and self.profile.mixed_content_exempts_loopback)

    # --- CORS algorithms ---------------------------------------------------------------------
    def cors_check(self, answer: ServerAnswer, credentials: bool, sent: str) -> str | None:
        """https://fetch.spec.whatwg.org/#concept-cors-check against the Origin the request
        carried (`sent`: the page's, or "null" after a cross-origin redirect); None on
        success, else why not."""
        origin = answer.get("access-control-allow-origin")
        if origin is None:
            return "no Access-Control-Allow-Origin"
        if not credentials and origin == "*":
            return None
        if origin != sent:
            return f"Access-Control-Allow-Origin {origin!r} does not match {sent!r}"
        if not credentials:
            return None
        if answer.get("access-control-allow-credentials") != "true":
            return "credentialed request but no Access-Control-Allow-Credentials: true"
        return None

    def cache_match(
        self, req: Probe, url: str, credentials: bool, method: str, unsafe: list[str]
    ) -> bool:
        if req.cache in self.profile.preflight_cache_bypass_modes:
            return False
        host = urlsplit(url).hostname or ""
        if (not self.profile.preflight_cache_serves_ip_hosts and _is_ip(host)
                and not self.ctx.browser_proxied):  # fmt: skip
            return False

        def covers(entry: _CacheEntry) -> bool:
            method_ok = (
                method in fetch_spec.SAFELISTED_METHODS
                or method in entry.methods
                or (entry.wildcard_methods and not credentials)
            )
            headers_ok = all(
                h in entry.headers
                or (entry.wildcard_headers and not credentials and h != "authorization")
                for h in unsafe
            )
            return method_ok and headers_ok

        # Credentialed requests use only credentialed entries; uncredentialed ones may use
        # either (unless the engine keys its cache by credentials).
        def usable(entry: _CacheEntry) -> bool:
            if credentials:
                return entry.credentials
            return not entry.credentials or self.profile.credentialed_entry_serves_uncredentialed

        return any(
            e.url == url and e.expires > self.now and usable(e) and covers(e) for e in self.cache
        )

    def preflight(
        self,
        url: str,
        path: str,
        method: str,
        unsafe: list[str],
        credentials: bool,
        sent: str,
        check_cors: bool = True,
    ) -> str | None:
        """https://fetch.spec.whatwg.org/#cors-preflight-fetch ; None on success."""
        acrh = ",".join(unsafe) if unsafe else None
        answer = self.server(method, path, sent, acrh, preflight=True)
        self.p.preflights += int(self.reached_api)
        failure = self.cors_check(answer, credentials, sent) if check_cors else None
        if failure:
            return f"preflight answered {answer.status} with {failure}"
        if not 200 <= answer.status <= 299:
            return f"preflight answered {answer.status} ({answer.note or 'not ok'})"
        try:  # a malformed list makes the preflight a network error
            methods = fetch_spec.extract_list(answer.headers.get("access-control-allow-methods"))
            headers = fetch_spec.extract_list(answer.headers.get("access-control-allow-headers"))
        except fetch_spec.ListFailure as exc:
            return f"preflight: an Access-Control-Allow-* list does not parse ({exc})"
        methods, headers = methods or [], headers or []
        lower_headers = {h.lower() for h in headers}
        if (
            method not in methods
            and method not in fetch_spec.SAFELISTED_METHODS
            and (credentials or "*" not in methods)
        ):
            return f"preflight: method {method} not in Access-Control-Allow-Methods {methods}"
        if "authorization" in unsafe and "authorization" not in lower_headers:
            return "preflight: Authorization is not covered by '*' and not listed"
        for name in unsafe:
            if name not in lower_headers and (credentials or "*" not in headers):
                return f"preflight: header {name} not in Access-Control-Allow-Headers {headers}"
        max_age_raw = answer.get("access-control-max-age")
        try:
            max_age = (
                int(max_age_raw)
                if max_age_raw is not None
                else self.profile.preflight_cache_default_s
            )
        except ValueError:
            max_age = self.profile.preflight_cache_default_s
        max_age = min(max_age, self.profile.preflight_cache_cap_s)
        if max_age > 0:
            self.cache.append(
                _CacheEntry(
                    url, self.now + max_age, credentials, set(methods) - {"*"},
                    lower_headers - {"*"}, "*" in methods, "*" in headers,
                )
            )  # fmt: skip
        return None

    def fetch_once(self, probe: Probe) -> None:
        """One fetch of the probe (or of one of its `then` steps) at model time self.now."""
        method = fetch_spec.normalize_method(probe.method)
        credentials = probe.credentials == "include"
        headers = dict(probe.headers)
        if probe.mode == "no-cors":
            if method not in fetch_spec.SAFELISTED_METHODS:
                # new Request(): "If mode is "no-cors" and method is not a CORS-safelisted
                # method, throw a TypeError" - nothing is sent (https://fetch.spec.whatwg.org/#dom-request)
                self.finish_invalid(f"no-cors allows only GET, HEAD and POST: the Request "
                                    f"constructor throws for {method} (TypeError)")  # fmt: skip
                return
            # the headers' guard is "request-no-cors": other headers are silently not set
            # (https://fetch.spec.whatwg.org/#concept-headers-append)
            headers = {k: v for k, v in headers.items() if fetch_spec.is_no_cors_safelisted(k, v)}
        body = probe.request_body
        if body is not None and not any(k.lower() == "content-type" for k in headers):
            headers["Content-Type"] = "text/plain;charset=UTF-8"
        unsafe = fetch_spec.unsafe_request_header_names(headers)
        server, path = split_target(probe.path)
        self.host = api_origins(self.ctx.api_origin)[server]
        tainted = False
        # response tainting: "basic" while the request stays on the page's own origin (page =
        # "api"), "cors" from the first cross-origin URL on (https://fetch.spec.whatwg.org/#main-fetch)
        start = urlsplit(self.host)
        if self.mixed_content(start.scheme, start.hostname or ""):
            self.finish_error(f"mixed content: an https page's fetch of {self.host} is blocked")
            return
        opaque = self.ctx.opaque_initiator  # an opaque origin is same-origin with no URL
        cors = opaque or self.host != self.ctx.page_origin
        for _hop in range(21):
            url = f"{self.host}{path.split('?')[0]}"
            sent = "null" if tainted or opaque else self.ctx.page_origin  # the Origin header
            unsafe = fetch_spec.unsafe_request_header_names(headers)
            needs_preflight = (
                cors
                and probe.mode == "cors"
                and (method not in fetch_spec.SAFELISTED_METHODS or bool(unsafe))
            )
            if needs_preflight and not self.cache_match(probe, url, credentials, method, unsafe):
                # the preflight carries the request's (tainted) origin, unless the engine makes
                # it a fresh CORS request from the page (profile): the page's Origin, and no
                # CORS check at all when it goes to the page's own origin
                fresh = not (self.profile.preflight_origin_tainted or opaque)
                failure = self.preflight(
                    url, path, method, unsafe, credentials,
                    self.ctx.page_origin if fresh else sent,
                    check_cors=not (fresh and self.host == self.ctx.page_origin),
                )  # fmt: skip
                if failure:
                    self.finish_error(failure)
                    return
            if probe.keepalive and body is not None and len(body.encode()) > KEEPALIVE_QUOTA:
                # HTTP-network-or-cache fetch: keepalive bodies in flight may total 64 KiB; the
                # check comes after the CORS-preflight fetch (https://fetch.spec.whatwg.org/
                # #http-network-or-cache-fetch, "inflightKeepaliveBytes")
                self.finish_error(f"keepalive: a {len(body.encode())}-byte body is over the "
                                  f"{KEEPALIVE_QUOTA}-byte keepalive quota")  # fmt: skip
                return
            # the request itself is sent (and reaches the API unless a proxy answers it)
            has_auth = any(k.lower() == "authorization" for k in headers)
            cookies = self.cookies_to_send(probe.credentials, not cors, self.host)
            answer = self.server(method, path, sent, authorization=has_auth, cookie=bool(cookies))
            if self.reached_api:
                self.p.requests += 1
                self.cookies_seen.update(cookies)
                self.p.authorization_received |= has_auth
            if probe.mode == "no-cors" and cors:
                self.finish("opaque", 0, {})
                return
            failure = self.cors_check(answer, credentials, sent) if cors else None
            if failure:
                self.finish_error(failure)
                return
            if answer.status in (301, 302, 303, 307, 308) and answer.get("location"):
                # HTTP fetch: the CORS check above comes first, then the redirect mode
                if probe.redirect == "error":
                    self.finish_error(f"redirect mode 'error': the {answer.status} is a network "
                                      "error")  # fmt: skip
                    return
                if probe.redirect == "manual":  # an opaque-redirect filtered response
                    self.finish("opaque", 0, {})
                    return
                # https://fetch.spec.whatwg.org/#http-redirect-fetch
                target = urlsplit(urljoin(url, answer.headers["location"][0]))
                where = f"{target.scheme}://{target.hostname}:{target.port}"
                if self.mixed_content(target.scheme, target.hostname or ""):
                    self.finish_error(f"mixed content: the {answer.status} redirects an https "
                                      f"page's request to {where}")  # fmt: skip
                    return
                if (target.username or target.password) and (cors or where != self.ctx.page_origin):
                    # a CORS response, or a cross-origin target (HTTP-redirect fetch)
                    self.finish_error("redirect to a URL with credentials (user:password@), a "
                                      "network error for a CORS request")  # fmt: skip
                    return
                other_scheme = where.replace(target.scheme, "https" if target.scheme == "http"
                                             else "http", 1)  # fmt: skip
                if where not in self.api_names and other_scheme in self.api_names:
                    # the API's port under the other scheme: plain http to a TLS port (or the
                    # reverse) fails at the connection, before any request
                    self.finish_error(f"the {answer.status} redirects to {where}, a port that "
                                      f"speaks {urlsplit(other_scheme).scheme}: the connection "
                                      "fails")  # fmt: skip
                    return
                if where not in self.api_names:
                    raise NotModelled(f"a redirect to {where}, which the model does not serve")
                if where != self.host:
                    # a cross-origin hop: the origin is tainted (Origin: null from now on) and
                    # the CORS non-wildcard request-header name (Authorization) is removed
                    tainted = tainted or self.ctx.page_origin != self.host
                    headers = {k: v for k, v in headers.items() if k.lower() != "authorization"}
                    self.host = where
                    cors = cors or where != self.ctx.page_origin
                path = target.path + (f"?{target.query}" if target.query else "")
                if (
                    answer.status == 303
                    and method != "HEAD"
                    or (answer.status in (301, 302) and method == "POST")
                ):
                    method = "GET"  # and the body and its headers go
                    headers = {k: v for k, v in headers.items()
                               if k.lower() not in fetch_spec.REQUEST_BODY_HEADERS}  # fmt: skip
                continue
            self.finish(
                "ok" if 200 <= answer.status <= 299 else "http-error",
                answer.status,
                answer.headers,
                credentials,
                basic=not cors,
            )
            return
        self.finish_error("too many redirects")

    def finish_invalid(self, why: str) -> None:
        """The page's Request constructor threw: no request at all, and no CORS check."""
        self.finish_error(why)
        self.p.outcome = "invalid-request"
        self.p.attempts[-1] = "invalid-request"

    def finish_error(self, why: str) -> None:
        self.p.outcome, self.p.status = "cors-error", None
        self.p.headers = {name: None for name in self.probe.read_headers}
        self.p.reasons.append(why)
        self.p.attempts.append("cors-error")

    def finish(
        self,
        outcome: str,
        status: int,
        headers: dict[str, list[str]],
        credentials: bool = False,
        basic: bool = False,
    ) -> None:
        """`basic`: a same-origin response (basic filtered): every header but the forbidden
        ones is readable, no exposure needed."""
        self.p.outcome, self.p.status = outcome, status
        answer = ServerAnswer(status, headers)
        try:  # a list that does not parse exposes nothing (CORS filtered response)
            listed = fetch_spec.extract_list(headers.get("access-control-expose-headers")) or []
        except fetch_spec.ListFailure as exc:
            listed = []
            self.p.reasons.append(f"Access-Control-Expose-Headers does not parse ({exc})")
        exposed = {h.lower() for h in listed}
        wildcard = "*" in exposed and not credentials
        readable: dict[str, str | None] = {}
        for name in self.probe.read_headers:
            lower = name.lower()
            value = answer.get(lower)
            visible = (outcome != "opaque" and lower not in fetch_spec.FORBIDDEN_RESPONSE_HEADERS
                       and (basic or lower in fetch_spec.SAFELISTED_RESPONSE_HEADERS
                            or lower in exposed or wildcard))  # fmt: skip
            readable[name] = value if visible else None
            if value is not None and not visible and outcome != "opaque":
                self.p.reasons.append(
                    f"header {name} sent but not exposed (Access-Control-Expose-Headers)"
                )
        self.p.headers = readable
        self.p.attempts.append(outcome)

    def run(self) -> Prediction:
        self.set_cookies()
        for index, attempt in enumerate(self.probe.attempts()):
            self.now = index * self.probe.delay_ms / 1000
            if index == 1 and self.probe.reconfigure is not None and self.cors is not None:
                changes = substitute_all(self.probe.reconfigure, self.origins)
                self.cors = cors_model(self.ctx, {**self.ctx.server_kwargs, **changes})
            self.fetch_once(attempt)
        self.p.cookies_received = sorted(self.cookies_seen)
        # drop repeated explanations, keep order
        self.p.reasons = list(dict.fromkeys(self.p.reasons))
        return self.p


def predict(probe: Probe, ctx: Context, profile: Profile | None = None) -> Prediction:
    """What should happen when the page at ctx.page_origin runs `probe` against the API."""
    return _Model(probe, ctx, profile or spec_profile()).run()


def expectations(probe: Probe, ctx: Context, engine: str) -> tuple[Prediction, Prediction]:
    """(spec answer, engine-adjusted expectation) for one cell.

    The expectation names only the engine differences that change this cell's answer: each
    applied difference is dropped in turn, and kept if the answer then differs.
    """
    spec = predict(probe, ctx, spec_profile())
    profile = engine_profile(engine)
    expected = predict(probe, ctx, profile)
    relevant = []
    for diff_id in profile.applied:
        without = spec_profile()
        for d in differences():
            if engine in d.engines and d.id != diff_id:
                without = replace(without, **{d.parameter: d.value})
        if predict(probe, ctx, without).compared() != expected.compared():
            relevant.append(diff_id)
    expected.differences = relevant
    return spec, expected


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
        if key == "headers":
            if not headers_match(expected[key], observed.get(key, {})):
                differing.append(key)
        elif expected[key] != observed.get(key):
            differing.append(key)
    return differing
