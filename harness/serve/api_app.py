"""FastAPI app factory: one scenario's API, built from its [server] table.

Routes come from endpoints.ENDPOINTS (documented there and in
docs/scenario-format.md). CORSMiddleware is
added with the scenario's keyword arguments exactly as given, the way a user's app would do it.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from fastapi import FastAPI, HTTPException, Request, Response
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, RedirectResponse

from ..scenario.endpoints import ENDPOINTS, TOKEN_PARAM
from ..scenario.origins import SERVER_NAMES
from ..scenario.routes import nth_answer
from .ledger import _cookie_names


class ProbeFailure(RuntimeError):
    """Raised on purpose by /error: an exception no handler catches."""


async def _echo(request: Request) -> Response:
    body = (await request.body()).decode("utf-8", "replace")
    payload = {
        "method": request.method,
        "path": request.url.path,
        "query": dict(request.query_params),
        "header_names": sorted(request.headers.keys()),
        "cookies": _cookie_names(request.headers.get("cookie")),
        "authorization": "authorization" in request.headers,
        "body": body,
    }
    return JSONResponse(payload, headers=ENDPOINTS["/data"].headers)


async def _headers(request: Request) -> Response:
    return JSONResponse({"ok": True}, headers=ENDPOINTS["/headers"].headers)


async def _set_cookie(request: Request) -> Response:
    q = request.query_params
    response = JSONResponse({"set": q.get("name", "sid")})
    samesite = q.get("samesite")
    response.set_cookie(
        key=q.get("name", "sid"),
        value=q.get("value", "v1"),
        path="/",
        secure=q.get("secure") == "1",
        httponly=True,
        # None omits the attribute (Starlette's own default would be "lax").
        samesite=samesite.lower() if samesite else None,
        domain=q.get("domain") or None,  # a Domain attribute as given (hosts = "domains")
    )
    return response


async def _error(request: Request) -> Response:
    raise ProbeFailure("cors-matrix /error endpoint: deliberate unhandled exception")


async def _status(request: Request) -> Response:
    raise HTTPException(status_code=int(request.query_params.get("code", "401")))


async def _redirect(request: Request) -> Response:
    target = request.query_params.get("to", "/data")
    params = {TOKEN_PARAM: request.query_params.get(TOKEN_PARAM, "")}
    return RedirectResponse(f"{target}?{urlencode(params)}", status_code=307)


_HANDLERS = {
    "/data": _echo,
    "/headers": _headers,
    "/cookies/set": _set_cookie,
    "/error": _error,
    "/status": _status,
    "/redirect": _redirect,
}


class CloseEachConnection:
    """keep_alive = false: every answer says `Connection: close` (and uvicorn then closes the
    connection), so no request of the scenario arrives on a reused connection. What an engine
    does only on a reused one (Chromium resends a request answered 408 there) cannot happen."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        async def closing(message) -> None:
            if message["type"] == "http.response.start":
                kept = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"connection"]
                message = {**message, "headers": [*kept, (b"connection", b"close")]}
            await send(message)

        await self.app(scope, receive, closing if scope["type"] == "http" else send)


class RequireAuthorization:
    """A typical auth middleware: 401 for any request without an Authorization header.

    Put outside CORSMiddleware it also rejects preflights, which never carry credentials.
    """

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and not any(k == b"authorization" for k, _ in scope["headers"]):
            await JSONResponse({"detail": "Not authenticated"}, status_code=401)(
                scope, receive, send
            )
            return
        await self.app(scope, receive, send)


def with_cell_token(location: str, request: Request) -> str:
    """A Location on this same server (a path, or this server under any of its names)
    gets the cell's token, so that the ledger sees the next hop as the same cell's."""
    core = location.strip(" \t")  # padding is sent as written, around the URL (raw_headers)
    if core != location:
        lead = location[: len(location) - len(location.lstrip(" \t"))]
        trail = location[len(location.rstrip(" \t")) :]
        return lead + with_cell_token(core, request) + trail
    token = request.query_params.get(TOKEN_PARAM)
    parts = urlsplit(location)
    ours = not parts.netloc or (parts.port == request.url.port
                                and parts.hostname in SERVER_NAMES)  # fmt: skip
    if not token or not ours or TOKEN_PARAM in parts.query:
        return location
    query = f"{parts.query}&" if parts.query else ""
    return urlunsplit(parts._replace(query=query + urlencode({TOKEN_PARAM: token})))


class RawAnswer:
    """Answers exactly as the route says: its status, its header fields in order (repeated
    ones too), its body. An ASGI app, not a function: Starlette gives a function endpoint GET
    only when no methods are named, an app every method (SUPER, or * itself)."""

    def __init__(self, route: dict[str, Any]) -> None:
        self.route = route
        self.requests: dict[str, int] = {}  # cell token -> requests so far (a stateful route)

    async def __call__(self, scope, receive, send) -> None:
        request = Request(scope, receive)
        token = request.query_params.get(TOKEN_PARAM, "")
        index = self.requests.get(token, 0)
        self.requests[token] = index + 1
        answer = nth_answer(self.route, index)
        response = Response(content=answer["body"].encode(), status_code=answer["status"])
        fields = [(name.lower().encode("latin-1"),
                   (with_cell_token(value, request) if name.lower() == "location"
                    else value).encode("latin-1"))
                  for name, value in answer["headers"]]  # fmt: skip
        response.raw_headers = [*fields, *response.raw_headers]
        await response(scope, receive, send)


def build_app(
    middleware_kwargs: dict[str, Any],
    cors: bool = True,
    cors_outermost: bool = False,
    auth_outside_cors: bool = False,
    routes: list[dict[str, Any]] = (),
    redirect_slashes: bool = True,
):
    """The scenario's ASGI app; `middleware_kwargs` already have placeholders substituted.

    Default shape: app.add_middleware(CORSMiddleware, ...), as the guide shows.
    cors_outermost: CORSMiddleware(app, ...) wraps FastAPI's ServerErrorMiddleware too.
    auth_outside_cors: RequireAuthorization added after (so outside) CORSMiddleware.
    """
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None,
                  redirect_slashes=redirect_slashes)  # fmt: skip
    for route in routes:  # before the endpoints: a route may shadow one
        # a Starlette route without methods takes every method, also ones like SUPER
        methods = None if route["method"] == "*" else [route["method"]]
        app.router.add_route(route["path"], RawAnswer(route), methods=methods)
    for path, endpoint in ENDPOINTS.items():
        app.add_api_route(path, _HANDLERS[path], methods=list(endpoint.methods))
    if cors and not cors_outermost:
        app.add_middleware(CORSMiddleware, **middleware_kwargs)
    if auth_outside_cors:
        app.add_middleware(RequireAuthorization)
    if cors and cors_outermost:
        return CORSMiddleware(app, **middleware_kwargs)
    return app
