"""The browser model: one probe's fetches, step by step as the Fetch standard's main fetch
takes them (request set-up, mixed content, preflight, the request, the CORS check, redirects,
the filtered response), against the modelled server. The steps live beside it: the server
(server_model), the cookie jar (cookie_jar), the CORS protocol and preflight cache
(cors_protocol), redirects (redirects), the HTTP cache (http_cache)."""

from __future__ import annotations

from urllib.parse import urlsplit

from ..scenario import Probe
from ..scenario.origins import api_origins, page_url, split_target, substitute, substitute_all
from ..spec import fetch_spec
from ..spec.fetch_spec import REQUEST_BODY_HEADERS, is_loopback
from ..spec.starlette_model import ServerAnswer
from . import referrer as referrer_rules
from .cookie_jar import Cookie, CookieJar, include_credentials
from .cors_protocol import CacheEntry, CorsProtocol
from .engine_parsing import webkit_safelisted
from .http_cache import CacheStep, HttpCache
from .prediction import Context, Prediction, origin_name, referrer_name, url_name
from .profile import Profile
from .redirects import Hop, Redirects
from .server_model import ServerSide, cors_model

DOWNGRADE_POLICIES = ("no-referrer-when-downgrade", "strict-origin",
                      "strict-origin-when-cross-origin")  # fmt: skip
"""Referrer policies under which an https origin sends Origin: null to a plain http URL."""

KEEPALIVE_QUOTA = 64 * 1024
"""Bytes of request bodies a fetch group may have in flight with keepalive (Fetch standard)."""


class BrowserModel(ServerSide, CookieJar, CorsProtocol, Redirects, CacheStep):
    """One probe's run through the browser model."""

    def __init__(self, probe: Probe, ctx: Context, profile: Profile) -> None:
        self.probe = probe
        self.ctx = ctx
        self.origins = ctx.named_origins
        self.profile = profile
        self.cors = cors_model(ctx, ctx.server_kwargs) if ctx.cors else None
        # (host or Domain, name, host-only): a cookie's identity (RFC 6265bis 5.7 step 22)
        self.jar: dict[tuple[str, str, bool], Cookie] = {}
        self.cache: list[CacheEntry] = []
        self.route_requests: dict[int, int] = {}  # a stateful route's count (server_model)
        self.http_cache = HttpCache()
        self.p = Prediction(differences=list(profile.applied))
        self.cookies_seen: set[str] = set()
        self.now = 0.0
        self.referer: str | None = None  # the Referer of the hop being sent (referrer.py)
        self.current_url = ctx.api_origin  # the URL of the hop being sent, as a browser has it
        self.redirects_followed = 0  # by the fetch being modelled, before its current hop
        self.referrer_page: str | None = None  # the page's URL (None: an opaque origin)
        self.reached_api = True
        self.host = ctx.api_origin  # the name the API is reached under ({api} or {api_other})
        self.api_names = set(api_origins(ctx.api_origin).values())
        # the engine's test of a CORS-safelisted request-header (the standard's, or WebKit's Range)
        self.safelisted = webkit_safelisted if profile.range_parsed_leniently else None

    def mixed_content(self, scheme: str, host: str) -> bool:
        """https://w3c.github.io/webappsec-mixed-content/#should-block-fetch : an https page's
        fetch of an http URL is blocked (also after a redirect), unless the URL is potentially
        trustworthy (a loopback host; https://w3c.github.io/webappsec-secure-contexts/
        #is-url-trustworthy) and the engine honours that."""
        if scheme != "http" or not self.ctx.page_origin.startswith("https:"):
            return False
        return not (is_loopback(host) and self.profile.mixed_content_exempts_loopback)

    def fetch_once(self, probe: Probe) -> None:
        """One fetch of the probe (or of one of its `then` steps) at model time self.now: the
        request set up, then hop by hop (the CORS-preflight fetch, the request, the CORS check,
        a redirect), until a response is filtered or the fetch fails."""
        hop = self.request_setup(probe)
        if hop is None:
            return
        credentials = probe.credentials == "include"
        body = probe.request_body
        start = urlsplit(self.host)
        if self.mixed_content(start.scheme, start.hostname or ""):
            self.finish_error(f"mixed content: an https page's fetch of {self.host} is blocked")
            return
        opaque = self.ctx.opaque_initiator  # an opaque origin is same-origin with no URL
        # an engine may check each cross-origin 3xx as credentialed when a "same-origin" fetch
        # started on the page's origin (profile); such a failure comes after the next hop's
        # preflight, before its request
        first_credentialed = (self.profile.redirect_checked_with_first_credentials
                              and probe.mode == "cors" and probe.credentials == "same-origin"
                              and not hop.cors)  # fmt: skip
        late_failure: str | None = None
        first_referer: str | None = None
        for _hop in range(21):
            self.redirects_followed = _hop
            url = f"{self.host}{hop.path.split('?')[0]}"
            self.current_url = self.host + fetch_spec.url_encoded(
                hop.path,
                self.profile.location_read_as_latin1,
                self.profile.url_escapes_normalised,
            )
            # main fetch: this hop's referrer, from the one the previous hop left; its
            # CORS-preflight fetch carries the same
            hop.referrer = self.referer = referrer_rules.for_hop(
                hop.referrer, hop.referrer_policy, url, self.referrer_page, self.profile
            )
            if _hop == 0:
                first_referer = self.referer
            sent = "null" if hop.tainted or opaque else self.ctx.page_origin  # the Origin header
            unsafe = fetch_spec.unsafe_request_header_names(hop.headers, self.safelisted)
            if hop.first_unsafe is None:  # the fetch's first request
                hop.first_unsafe = unsafe
                simple_method = hop.method in fetch_spec.SAFELISTED_METHODS
                hop.first_non_simple = not simple_method or bool(unsafe)
            # an engine may decide "preflight" once, for every hop of the fetch: from its first
            # request, or (WebKit) from the first hop it preflighted
            decided = (hop.preflighted if self.profile.preflight_sticks_from_first_preflight
                       else hop.first_non_simple)  # fmt: skip
            sticky = decided and self.profile.preflight_sticks_after_redirect
            if self.profile.sticky_preflight_keeps_first_headers:
                unsafe = hop.first_unsafe  # the engine asks about the first request's headers
            # XHR's upload listener sets the request's use-CORS-preflight flag: a preflight
            # whatever the method and headers (XHR, send(); Fetch, main fetch step 5)
            forced = probe.upload_listener
            needs_preflight = (
                hop.cors
                and probe.mode == "cors"
                and (hop.method not in fetch_spec.SAFELISTED_METHODS or bool(unsafe) or sticky
                     or forced)
            )  # fmt: skip
            hop.preflighted |= needs_preflight
            if needs_preflight and not self.cache_match(probe, url, credentials, hop.method,
                                                        unsafe):  # fmt: skip
                # the preflight carries the request's (tainted) origin, unless the engine makes
                # it a fresh CORS request from the page (profile): the page's Origin, and no
                # CORS check at all when it goes to the page's own origin
                fresh = not (self.profile.preflight_origin_tainted or opaque)
                referer = self.referer
                if _hop and self.profile.redirected_preflight_keeps_first_referer:
                    self.referer = referrer_rules.engine_trimmed(
                        first_referer, url, self.referrer_page, self.profile
                    )
                failure = self.preflight(
                    url, hop.path, hop.method, unsafe, credentials,
                    self.ctx.page_origin if fresh else sent,
                    check_cors=not (fresh and self.host == self.ctx.page_origin), forced=forced,
                )  # fmt: skip
                self.referer = referer
                if failure:
                    self.finish_error(failure)
                    return
            if late_failure:
                self.finish_error(late_failure)
                return
            if probe.keepalive and body is not None and len(body.encode()) > KEEPALIVE_QUOTA:
                # HTTP-network-or-cache fetch: keepalive bodies in flight may total 64 KiB; the
                # check comes after the CORS-preflight fetch (https://fetch.spec.whatwg.org/
                # #http-network-or-cache-fetch, "inflightKeepaliveBytes")
                self.finish_error(f"keepalive: a {len(body.encode())}-byte body is over the "
                                  f"{KEEPALIVE_QUOTA}-byte keepalive quota")  # fmt: skip
                return
            # the request itself is sent (and reaches the API unless a proxy answers it, or
            # the HTTP cache does)
            has_auth = any(k.lower() == "authorization" for k in hop.headers)
            cookies = self.cookies_to_send(probe.credentials, not hop.cors, self.host, hop.path)
            origin = self.origin_header(probe, hop, sent)
            hop.last_origin = origin
            answer = self.network_or_cache(probe, hop, origin, has_auth, cookies)
            if self.reached_api:
                self.p.requests += 1
                body_headers = sorted({k.lower() for k in hop.headers} & REQUEST_BODY_HEADERS)
                self.api_saw(hop.method, origin, has_auth, cookies, self.conditional_sent,
                             body_headers)  # fmt: skip
                self.cookies_seen.update(cookies)
                self.p.authorization_received |= has_auth
            self.store_response_cookies(answer.headers.get("set-cookie", []),
                                        include_credentials(probe.credentials, not hop.cors),
                                        self.host, hop.path)  # fmt: skip
            if probe.mode == "no-cors" and hop.cors:
                # response tainting "opaque": no CORS check, but a redirect is still followed
                # (HTTP fetch: redirect mode "follow" -> HTTP-redirect fetch), each hop a request
                followed = self.redirect(probe, hop, answer, url)
                if followed is not None:
                    if followed:
                        continue
                    return
                self.finish("opaque", 0, {})
                return
            # an engine may keep the stored response's CORS check after a 304 (profile)
            kept = self.revalidated and self.profile.revalidation_keeps_first_cors_check
            checked = hop.cors and not kept
            failure = self.cors_check(answer, credentials, sent) if checked else None
            if failure:
                self.finish_error(failure)
                return
            was_cors = hop.cors
            followed = self.redirect(probe, hop, answer, url)
            if followed is not None:
                if followed and first_credentialed and was_cors:
                    late = self.cors_check(answer, True, sent)
                    late_failure = late and (
                        f"the {answer.status} from another origin is checked as credentialed "
                        "(the fetch started on the page's origin): " + late
                    )
                if followed:
                    continue
                return
            self.finish(
                "ok" if 200 <= answer.status <= 299 else "http-error",
                answer.status,
                answer.headers,
                credentials,
                basic=not hop.cors,
            )
            return
        self.finish_error("too many redirects")

    def origin_header(self, probe: Probe, hop: Hop, serialized: str) -> str | None:
        """The Origin header of this hop's request, or None (https://fetch.spec.whatwg.org/
        #append-a-request-origin-header): always with response tainting "cors"; else only for
        a method other than GET and HEAD, and outside mode "cors" the referrer policy may make
        it "null". `serialized` is the request's serialized origin ("null" once tainted)."""
        if hop.cors and probe.mode == "cors":
            return serialized
        if hop.kept_origin is not None:
            return hop.kept_origin
        if hop.method in ("GET", "HEAD"):
            return None
        if probe.mode == "cors":
            return serialized
        policy = hop.referrer_policy
        own = urlsplit(self.ctx.page_origin)
        if policy == "no-referrer":
            return "null"
        if (
            policy in DOWNGRADE_POLICIES
            and own.scheme == "https"
            and (urlsplit(self.host).scheme != "https")
        ):
            return "null"
        if policy == "same-origin" and (hop.cors or self.ctx.opaque_initiator):
            return "null"
        return serialized

    def api_saw(self, method: str, origin: str | None, authorization: bool = False,
                cookies: list[str] = (), conditional: bool = False,
                body_headers: list[str] = ()) -> None:  # fmt: skip
        """A request (or preflight, never with Authorization or cookies: Fetch's CORS-preflight
        fetch copies no request header but Accept, and its credentials mode is "same-origin"
        on another origin) reached the API: its method, Origin, Referer, whether it carried
        Authorization and which cookies, in order."""
        self.p.methods.append(method)
        self.p.authorizations.append(authorization)
        self.p.request_cookies.append(sorted(set(cookies)))
        self.p.conditional_requests.append(conditional)
        self.p.body_headers.append(list(body_headers))
        self.p.origin_headers.append(origin_name(origin, self.origins))
        self.p.referers.append(referrer_name(self.referer, self.origins))

    def request_setup(self, probe: Probe) -> Hop | None:
        """new Request() and the start of main fetch: the method normalized, a no-cors
        request's guard, the body's Content-Type, the API host it starts on; None when the
        Request constructor throws (said in the prediction)."""
        method = fetch_spec.normalize_method(probe.method)
        # a header the engine forbids beyond the standard's list is silently not set
        extra = self.profile.extra_forbidden_request_headers
        headers = {k: v for k, v in probe.headers.items() if k.lower() not in extra}
        if probe.mode == "no-cors":
            if method not in fetch_spec.SAFELISTED_METHODS:
                # new Request(): "If mode is "no-cors" and method is not a CORS-safelisted
                # method, throw a TypeError" - nothing is sent (https://fetch.spec.whatwg.org/#dom-request)
                self.finish_invalid(f"no-cors allows only GET, HEAD and POST: the Request "
                                    f"constructor throws for {method} (TypeError)")  # fmt: skip
                return None
            # the headers' guard is "request-no-cors": other headers are silently not set
            # (https://fetch.spec.whatwg.org/#concept-headers-append)
            headers = {k: v for k, v in headers.items() if fetch_spec.is_no_cors_safelisted(k, v)}
        if probe.request_body is not None and not any(k.lower() == "content-type"
                                                      for k in headers):  # fmt: skip
            headers["Content-Type"] = "text/plain;charset=UTF-8"
        if probe.api == "xhr" and not any(k.lower() == "accept" for k in headers):
            headers["Accept"] = "*/*"  # XHR, send(): a safelisted default, never a preflight
        server, path = split_target(probe.path)
        self.host = api_origins(self.ctx.api_origin)[server]
        # response tainting: "basic" while the request stays on the page's own origin (page =
        # "api"), "cors" from the first cross-origin URL on (https://fetch.spec.whatwg.org/#main-fetch)
        cors = self.ctx.opaque_initiator or self.host != self.ctx.page_origin
        if probe.mode == "same-origin" and cors:
            # main fetch, step 12: "request's mode is "same-origin"" -> a network error, before
            # anything is sent (an opaque initiator is same-origin with no URL)
            self.finish_error(f"mode 'same-origin': {self.host} is another origin, a network "
                              "error before any request (Fetch, main fetch)")  # fmt: skip
            return None
        if probe.mode == "no-cors" and cors and probe.redirect != "follow":
            # main fetch, step 12, request's mode is "no-cors": "If request's redirect mode is
            # not "follow", then return a network error" - before anything is sent
            self.finish_error(f"no-cors with redirect mode {probe.redirect!r}: a network error "
                              "before any request (Fetch, main fetch)")  # fmt: skip
            return None
        client = None if self.ctx.opaque_initiator else page_url(probe.page, self.ctx.page_origin)
        self.referrer_page = client
        given = None if probe.referrer is None else substitute(probe.referrer, self.origins,
                                                                keep_unknown=True)  # fmt: skip
        return Hop(
            method,
            headers,
            path,
            cors=cors,
            referrer=referrer_rules.initial(client, given),
            referrer_policy=probe.referrer_policy or referrer_rules.DEFAULT_POLICY,
        )

    def finish_invalid(self, why: str) -> None:
        """The page's Request constructor threw: no request at all, and no CORS check."""
        self.finish_error(why)
        self.p.outcome = "invalid-request"
        self.p.attempts[-1] = "invalid-request"

    def finish_error(self, why: str) -> None:
        self.p.outcome, self.p.status = "cors-error", None
        self.p.final_url = self.p.redirected = None
        self.p.headers = {name: None for name in self.probe.read_headers}
        self.p.readable_headers = None
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
        readable = outcome in ("ok", "http-error")
        self.p.final_url = url_name(self.current_url, self.origins) if readable else None
        if self.probe.api == "xhr":
            self.p.redirected = None
        else:
            self.p.redirected = self.redirects_followed > 0 if readable else False
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
        self.p.readable_headers = [] if outcome == "opaque" else sorted(
            name for name in {n.lower() for n in headers}
            if name not in fetch_spec.FORBIDDEN_RESPONSE_HEADERS
            and name not in fetch_spec.CONNECTION_HEADERS
            and (basic or name in fetch_spec.SAFELISTED_RESPONSE_HEADERS or name in exposed
                 or wildcard)
        )  # fmt: skip
        self.p.attempts.append(outcome)

    def run(self) -> Prediction:
        self.set_cookies()
        for index, attempt in enumerate(self.probe.attempts()):
            # model time: the waits before every fetch but the first (a `then` step's own)
            self.now += attempt.delay_ms / 1000 if index else 0.0
            if index == 1 and self.probe.reconfigure is not None and self.cors is not None:
                changes = substitute_all(self.probe.reconfigure, self.origins)
                self.cors = cors_model(self.ctx, {**self.ctx.server_kwargs, **changes})
            self.fetch_once(attempt)
        self.p.cookies_received = sorted(self.cookies_seen)
        # drop repeated explanations, keep order
        self.p.reasons = list(dict.fromkeys(self.p.reasons))
        return self.p
