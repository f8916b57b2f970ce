"""The API endpoints every scenario server provides, described as data.

The app factory (api_app.py) builds its routes from this table and the oracle reads the same
table to know what a route answers (status, custom headers). Neither looks at observations.
"""

from __future__ import annotations

from dataclasses import dataclass, field

TOKEN_PARAM = "cm_probe"
"""Query parameter carrying the per-probe token the ledger keys on."""


@dataclass(frozen=True)
class Endpoint:
    path: str
    methods: tuple[str, ...]
    status: int
    doc: str
    # Response headers the route sets itself (before any CORS middleware adds its own).
    headers: dict[str, str] = field(default_factory=dict)
    # True when the route raises an unhandled exception (a 500 from ServerErrorMiddleware,
    # which sits outside CORSMiddleware: the answer carries no CORS headers).
    unhandled_error: bool = False


CUSTOM_HEADERS = {"X-Total": "3", "X-Custom": "custom-value"}

ENDPOINTS: dict[str, Endpoint] = {
    e.path: e
    for e in (
        Endpoint(
            "/data",
            ("GET", "POST", "PUT", "PATCH", "DELETE"),
            200,
            "JSON echo of what arrived (method, query, header names, cookie names, body); "
            "also sets X-Total: 3.",
            headers={"X-Total": "3"},
        ),
        Endpoint(
            "/headers",
            ("GET",),
            200,
            "Sets custom response headers X-Total: 3 and X-Custom: custom-value.",
            headers=dict(CUSTOM_HEADERS),
        ),
        Endpoint(
            "/cookies/set",
            ("GET", "POST"),
            200,
            "Sets one cookie from the query: name, value, samesite (Strict|Lax|None), secure "
            "(0|1), domain (its Domain attribute). Used by set_cookies (via a top-level "
            "navigation or a credentialed fetch).",
        ),
        Endpoint(
            "/error",
            ("GET", "POST", "PUT", "PATCH", "DELETE"),
            500,
            "Raises an unhandled exception: a 500 produced outside CORSMiddleware.",
            unhandled_error=True,
        ),
        Endpoint(
            "/status",
            ("GET", "POST", "PUT", "PATCH", "DELETE"),
            401,
            "Raises HTTPException with the query's `code` (default 401): handled inside "
            "CORSMiddleware, so the error response carries CORS headers.",
        ),
        Endpoint(
            "/redirect",
            ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"),
            307,
            "Redirects (307) to the query's `to` path on the same API, keeping the token; "
            "OPTIONS too, so a preflight that reaches the route (no CORSMiddleware) is "
            "redirected.",
        ),
    )
}


def query_values(path: str, name: str) -> list[str]:
    """Every value of a query parameter of a probe path, e.g. ["404"] in /status?code=404."""
    query = path.split("?", 1)[1] if "?" in path else ""
    return [value for key, _, value in (p.partition("=") for p in query.split("&")) if key == name]


def query_value(path: str, name: str) -> str | None:
    """A query parameter's value as the host reads it (Starlette's query_params: the last)."""
    values = query_values(path, name)
    return values[-1] if values else None


def status_of(endpoint: Endpoint, path: str) -> int:
    """The status a route answers for this probe path (/status takes it from the query)."""
    if endpoint.path == "/status":
        return int(query_value(path, "code") or endpoint.status)
    return endpoint.status


def find(path: str) -> Endpoint | None:
    """The endpoint for a probe path (query string ignored)."""
    return ENDPOINTS.get(path.split("?", 1)[0])
