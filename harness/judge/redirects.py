"""Redirects in the browser model: the Fetch standard's HTTP-redirect fetch, one hop at a time
(https://fetch.spec.whatwg.org/#http-redirect-fetch): the redirect mode, mixed content, a
Location with credentials, a port that speaks the other scheme, the tainted origin and the
headers a cross-origin hop or a 303 drops."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from ..scenario import Probe
from ..spec import fetch_spec
from ..spec.starlette_model import ServerAnswer
from . import referrer as referrer_rules
from .prediction import NotModelled


@dataclass
class Hop:
    """The request as it travels its redirects: what a redirect may change."""

    method: str
    headers: dict[str, str]
    path: str
    cors: bool  # response tainting "cors": the request has left the page's own origin
    tainted: bool = False  # the origin is tainted: Origin: null from the next request on
    first_unsafe: list[str] | None = None  # unsafe header names of the fetch's first request
    first_non_simple: bool = False  # whether the fetch's first request needed a preflight
    preflighted: bool = False  # whether a hop of the fetch so far needed a preflight
    last_origin: str | None = None  # the Origin header the previous request carried
    kept_origin: str | None = None  # an Origin header an engine keeps sending (profile)
    referrer: str | None = None  # the request's referrer (None: "no-referrer"), see referrer.py
    referrer_policy: str = referrer_rules.DEFAULT_POLICY


class Redirects:
    """A mixin of the browser model (BrowserModel), which holds ctx, host and api_names and
    finishes the prediction (finish, finish_error)."""

    def redirect(self, probe: Probe, hop: Hop, answer: ServerAnswer, url: str) -> bool | None:
        """After the CORS check: None when the answer is no redirect to follow (not a
        redirect status, or one without a Location in mode "follow": the response is that
        answer), True to fetch the next hop (`hop` and self.host updated), False when the
        fetch ended here (the prediction says how)."""
        if answer.status not in fetch_spec.REDIRECT_STATUSES:
            return None
        # HTTP fetch: the CORS check above comes first, then the redirect mode, whatever
        # the Location (a redirect status is enough)
        if probe.redirect == "error":
            self.finish_error(f"redirect mode 'error': the {answer.status} is a network "
                              "error")  # fmt: skip
            return False
        if probe.redirect == "manual":  # an opaque-redirect filtered response
            self.finish("opaque", 0, {})
            return False
        # HTTP-redirect fetch steps 3-5: no Location -> the response itself; a Location
        # whose scheme is not HTTP(S) (data:, "invalidurl:") -> a network error
        values = answer.headers.get("location")
        if not values:
            return None
        target = urlsplit(urljoin(url, values[0].strip(" \t")))
        if target.scheme not in ("http", "https"):
            self.finish_error(f"the {answer.status}'s Location has the scheme "
                              f"'{target.scheme}:', not HTTP(S): a network error")  # fmt: skip
            return False
        where = f"{target.scheme}://{target.hostname}:{target.port}"
        if self.mixed_content(target.scheme, target.hostname or ""):
            self.finish_error(f"mixed content: the {answer.status} redirects an https "
                              f"page's request to {where}")  # fmt: skip
            return False
        credentials_in_url = bool(target.username or target.password)
        if credentials_in_url and self.profile.redirect_to_url_credentials_blocked:
            self.finish_error("redirect to a URL with credentials (user:password@): this engine "
                              "blocks a subresource URL with embedded credentials")  # fmt: skip
            return False
        if (
            credentials_in_url
            and probe.mode == "cors"
            and (hop.cors or where != self.ctx.page_origin)
        ):
            # HTTP-redirect fetch steps 8-9: mode "cors" and a cross-origin target, or
            # response tainting "cors"; a no-cors request follows it
            self.finish_error("redirect to a URL with credentials (user:password@), a "
                              "network error for a CORS request")  # fmt: skip
            return False
        other_scheme = where.replace(target.scheme, "https" if target.scheme == "http"
                                     else "http", 1)  # fmt: skip
        if where not in self.api_names and other_scheme in self.api_names:
            # the API's port under the other scheme: plain http to a TLS port (or the
            # reverse) fails at the connection, before any request
            self.finish_error(f"the {answer.status} redirects to {where}, a port that "
                              f"speaks {urlsplit(other_scheme).scheme}: the connection "
                              "fails")  # fmt: skip
            return False
        if probe.mode == "same-origin" and where != self.ctx.page_origin:
            # the redirect's next fetch is main fetch again: mode "same-origin" and another
            # origin -> a network error, after the 3xx itself was received
            self.finish_error(f"mode 'same-origin': the {answer.status} redirects to {where}, "
                              "another origin: a network error (Fetch, main fetch)")  # fmt: skip
            return False
        if where not in self.api_names:
            raise NotModelled(f"a redirect to {where}, which the model does not serve")
        # set request's referrer policy on redirect: the 3xx's Referrer-Policy, if it has one
        hop.referrer_policy = referrer_rules.policy_on_redirect(
            hop.referrer_policy, answer.get("referrer-policy")
        )
        # HTTP-redirect fetch, step 12: a 303 for a method other than GET or HEAD, or a
        # 301/302 for POST, becomes a GET without the body and its headers (a GET answered
        # 303 stays as it is, headers and all)
        as_get = (answer.status == 303 and hop.method not in ("GET", "HEAD")
                  or (answer.status in (301, 302) and hop.method == "POST"))  # fmt: skip
        if self.profile.cross_origin_delete_redirects_as_get and where != self.host:
            as_get = as_get or hop.method == "DELETE"
        if where == self.host and as_get and self.profile.same_origin_redirect_as_get_keeps_origin:
            hop.kept_origin = hop.last_origin  # the header stays on the rewritten request
        if where != self.host:
            hop.kept_origin = None
            # a cross-origin hop: the origin is tainted (Origin: null from now on) and
            # the CORS non-wildcard request-header name (Authorization) is removed
            hop.tainted = hop.tainted or self.ctx.page_origin != self.host
            hop.headers = {k: v for k, v in hop.headers.items() if k.lower() != "authorization"}
            self.host = where
            hop.cors = hop.cors or where != self.ctx.page_origin
        hop.path = target.path + (f"?{target.query}" if target.query else "")
        if as_get:
            hop.method = "GET"  # and the body and its headers go
            hop.headers = {k: v for k, v in hop.headers.items()
                           if k.lower() not in fetch_spec.REQUEST_BODY_HEADERS}  # fmt: skip
        return True
