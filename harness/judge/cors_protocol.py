"""The Fetch standard's CORS protocol in the browser model: the CORS check, the CORS-preflight
fetch and the preflight cache."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

from ..scenario import Probe
from ..spec import fetch_spec
from ..spec.starlette_model import ServerAnswer


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


@dataclass
class CacheEntry:
    url: str
    expires: float  # model time, seconds
    credentials: bool
    methods: set[str]
    headers: set[str]
    wildcard_methods: bool
    wildcard_headers: bool


class CorsProtocol:
    """A mixin of the browser model (BrowserModel), which holds profile, ctx, cache, now and
    the prediction p, and asks its server (ServerSide.server)."""

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

        def covers(entry: CacheEntry) -> bool:
            method_ok = (
                # the use-CORS-preflight flag (XHR's upload listener) needs a method entry even
                # for a safelisted method (https://fetch.spec.whatwg.org/#main-fetch, step 5)
                (method in fetch_spec.SAFELISTED_METHODS and not req.upload_listener)
                or method in entry.methods
                or (entry.wildcard_methods and not credentials)
            )
            headers_ok = all(
                h in entry.headers
                or (
                    entry.wildcard_headers
                    and not credentials
                    and (
                        h != "authorization"
                        or self.profile.wildcard_allow_headers_covers_authorization
                    )
                )
                for h in unsafe
            )
            return method_ok and headers_ok

        # Credentialed requests use only credentialed entries; uncredentialed ones may use
        # either (unless the engine keys its cache by credentials).
        def usable(entry: CacheEntry) -> bool:
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
        forced: bool = False,
    ) -> str | None:
        """https://fetch.spec.whatwg.org/#cors-preflight-fetch ; None on success. `forced`:
        the request's use-CORS-preflight flag (XHR's upload listener)."""
        acrh = ",".join(unsafe) if unsafe else None
        answer = self.server(method, path, sent, acrh, preflight=True)
        self.p.preflights += int(self.reached_api)
        if self.reached_api:
            self.api_saw("OPTIONS", sent)
            self.p.preflight_request_headers.append(acrh)
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
        if methods is None and forced:
            # step 7: no Access-Control-Allow-Methods and the use-CORS-preflight flag set: the
            # request's own method is allowed (and cached)
            methods = [method]
        methods, headers = methods or [], headers or []
        lower_headers = {h.lower() for h in headers}
        if (
            method not in methods
            and method not in fetch_spec.SAFELISTED_METHODS
            and (credentials or "*" not in methods)
        ):
            return f"preflight: method {method} not in Access-Control-Allow-Methods {methods}"
        if ("authorization" in unsafe and "authorization" not in lower_headers
                and not (self.profile.wildcard_allow_headers_covers_authorization
                         and "*" in headers and not credentials)):  # fmt: skip
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
                CacheEntry(
                    url, self.now + max_age, credentials, set(methods) - {"*"},
                    lower_headers - {"*"}, "*" in methods, "*" in headers,
                )
            )  # fmt: skip
        return None
