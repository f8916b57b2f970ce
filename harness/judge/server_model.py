"""The server side of the browser model: what the API (Starlette's CORSMiddleware model, the
endpoint table, the scenario's raw routes) answers, as uvicorn and nginx pass it on."""

from __future__ import annotations

import re
from typing import Any

from ..scenario import endpoints, proxy
from ..scenario.routes import nth_answer
from ..spec.starlette_model import CORSMiddlewareModel, ServerAnswer
from .prediction import ANY_VALUE, Context, NotModelled

# nginx adds add_header fields only to these statuses (no `always` in the guide's config):
# https://nginx.org/en/docs/http/ngx_http_headers_module.html#add_header
NGINX_ADD_HEADER_STATUSES = frozenset({200, 201, 204, 206, 301, 302, 303, 304, 307, 308})


def proxied(variant: str, answer: ServerAnswer) -> ServerAnswer:
    """The API's answer as nginx passes it on (see harness/serve/nginx.py for the variants)."""
    if variant in ("none", "pass"):
        return answer
    headers = {k: list(v) for k, v in answer.headers.items()}
    if variant == "strip":
        for name in proxy.HIDDEN:
            headers.pop(name.lower(), None)
    adds = {"add-allow-origin": {"Access-Control-Allow-Origin": "*"},
            "answer-options": proxy.GUIDE_HEADERS}.get(variant, {})  # fmt: skip
    if answer.status in NGINX_ADD_HEADER_STATUSES:
        for name, value in adds.items():  # added, not replaced: a second field if one exists
            headers.setdefault(name.lower(), []).append(value)
    return ServerAnswer(answer.status, headers, answer.note)


H11_FIELD_VALUE = re.compile(r"[ \t]*(?:[^\x00\s]+(?:[ \t]+[^\x00\s]+)*)?[ \t]*", re.ASCII)
"""What uvicorn's h11 accepts as a request header value (h11/_abnf.py: field-vchar is any byte
but NUL and whitespace, in runs with spaces and tabs between): a form feed, vertical tab, CR or
LF inside the value is a 400 before the app; other control characters pass."""


UVICORN_400 = {"content-type": ["text/plain; charset=utf-8"], "connection": ["close"],
               "content-length": [ANY_VALUE]}  # fmt: skip


def refused_header(headers: dict[str, str]) -> str | None:
    """The first request header whose value the host's server (uvicorn on h11) refuses, or
    None. Such a request is answered 400 "Invalid HTTP request received." (uvicorn
    h11_impl.send_400_response: no CORS headers) and never reaches the app or the ledger."""
    for name, value in headers.items():
        if not H11_FIELD_VALUE.fullmatch(value):
            return name
    return None


def without_empty_repeats(answer: ServerAnswer) -> ServerAnswer:
    """The answer as an engine that skips empty fields when it combines repeated ones sees it
    (firefox-combined-field-drops-empty-values): "" and "*" are "*"; fields all empty stay one
    empty value."""
    headers = {}
    for name, values in answer.headers.items():
        kept = [v for v in values if v.strip(" \t")]
        headers[name] = kept if kept or not values else [""]
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


class ServerSide:
    """The model's server: a mixin of the browser model (BrowserModel), which holds ctx, cors,
    host, reached_api, route_requests (requests so far per route index) and the prediction p."""

    def app_answer(self, method: str, path: str) -> tuple[ServerAnswer, bool]:
        """(answer, passes_through_cors_middleware)."""
        base = {"content-type": ["application/json"], "content-length": [ANY_VALUE]}
        bare, _, query = path.partition("?")
        routed = [r for r in self.ctx.routes if r["path"] == bare]
        if routed:  # a raw route answers exactly as written (FastAPI: 405 for other methods)
            index = next((i for i, r in enumerate(self.ctx.routes)
                          if r["path"] == bare and r["method"] in ("*", method)), None)  # fmt: skip
            if index is None:
                allowed = ", ".join(sorted({r["method"] for r in routed}))
                return ServerAnswer(405, {**base, "allow": [allowed]}), True
            # a stateful route answers the cell's requests in turn (routes.nth_answer)
            count = self.route_requests.get(index, 0)
            self.route_requests[index] = count + 1
            route = nth_answer(self.ctx.routes[index], count)
            headers: dict[str, list[str]] = {}
            for name, value in route["headers"]:
                headers.setdefault(name.lower(), []).append(value)
            # Starlette's Response adds Content-Length unless the route set its own, or the
            # status has no body (Response.init_headers: not for 1xx, 204 and 304)
            if route["status"] not in (204, 304):
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
        request_headers: dict[str, str] | None = None,
    ) -> ServerAnswer:
        """What the page's request gets back, through the proxy if there is one; sets
        self.reached_api (False when the proxy or uvicorn answered by itself). `cookie`: the
        request carries a Cookie header; `request_headers`: the page's request headers."""
        http_method = "OPTIONS" if preflight else method
        if self.ctx.proxy == "answer-options" and http_method == "OPTIONS":
            self.reached_api = False
            headers = {k.lower(): [v] for k, v in proxy.GUIDE_OPTIONS_HEADERS.items()}
            # add_header inside `if` replaces the location's add_header set: no ACAO here
            answer = ServerAnswer(204, headers, "nginx answered OPTIONS itself")
            return with_server_headers(answer, self.ctx.proxy)
        refused = refused_header(request_headers or {})
        if refused is not None:
            self.reached_api = False
            self.p.reasons.append(
                f"the server refused the request: header {refused}'s value "
                "has a control character (uvicorn's h11: 400 before the app)"
            )
            return ServerAnswer(400, UVICORN_400, "uvicorn: Invalid HTTP request received.")
        self.reached_api = True
        answer = self.api_server(method, path, origin, preflight_headers, preflight, authorization,
                                 cookie)  # fmt: skip
        answer = with_server_headers(proxied(self.ctx.proxy, answer), self.ctx.proxy)
        if self.profile.combined_field_drops_empty_values:
            answer = without_empty_repeats(answer)
        return answer

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
