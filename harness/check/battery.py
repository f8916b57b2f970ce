"""The requests a check sends, shaped like the real frontend's.

`--auth cookie`: `credentials: "include"`; `--auth bearer`: an `Authorization: Bearer` header
with the token the login returned, no cookies; `--auth none`: neither (a public API). From
attacker origins only reads are sent, with the cookies a browser attaches by itself and
without: an attacker page has the user's cookies in the jar, never the frontend's token.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .options import Endpoint, body_content_type

MISSING_PATH = "/__cors_matrix_missing__"


@dataclass
class Request:
    kind: str  # what the line says, e.g. "GET /items/1"
    spec: dict[str, Any]  # window.corsProbe's argument without the url, plus "path"
    declared: bool = True  # frontends must be able to read it (else reported only)
    repeat: int = 1
    modelled_by: str = "/data"  # the oracle's endpoint that stands in for it (fixes)
    read_headers: list[str] = field(default_factory=list)
    endpoint: str | None = None

    @property
    def path(self) -> str:
        return self.spec["path"]


@dataclass(frozen=True)
class Auth:
    mode: str  # cookie | bearer | none
    token: str | None = None
    samesite_none: tuple[str, ...] = ()  # session cookies a third-party context may carry

    @property
    def authorization(self) -> str | None:
        """The Authorization header the frontend sends (bearer mode), else None."""
        return f"Bearer {self.token}" if self.mode == "bearer" and self.token else None

    def shape(self, spec: dict[str, Any]) -> dict[str, Any]:
        headers = dict(spec.get("headers") or {})
        if self.authorization:
            headers["Authorization"] = self.authorization
        credentials = "include" if self.mode == "cookie" else "same-origin"
        return {**spec, "headers": headers, "credentials": credentials}


def frontend_battery(endpoints: list[Endpoint], auth: Auth, read_headers: list[str],
                     error_path: str | None) -> list[Request]:  # fmt: skip
    out: list[Request] = []
    first_write = True
    for endpoint in endpoints:
        spec: dict[str, Any] = {"method": endpoint.method, "path": endpoint.path}
        if not endpoint.safe:
            spec["body"] = endpoint.body if endpoint.body is not None else "{}"
            spec["headers"] = {"Content-Type": body_content_type(spec["body"])}
        request = Request(endpoint.name, auth.shape(spec), endpoint=endpoint.name)
        if endpoint.safe and read_headers:
            request.read_headers = list(read_headers)
            request.spec["readHeaders"] = list(read_headers)
        if not endpoint.safe and first_write:  # the second one shows the preflight cache
            request.repeat, first_write = 2, False
            request.kind += " (sent twice: preflight cache)"
        out.append(request)
    out.append(Request("a path the app lacks (usually a 404)",
                       auth.shape({"method": "GET", "path": MISSING_PATH})))  # fmt: skip
    if error_path is not None:
        out.append(Request("error response (500, unhandled exception)",
                           auth.shape({"method": "GET", "path": error_path}),
                           declared=False, modelled_by="/error"))  # fmt: skip
    return out


def attacker_battery(endpoints: list[Endpoint], auth_mode: str = "cookie") -> list[Request]:
    """Each read twice, credentialed and not; "the user's cookies" only where the app's
    session is a cookie (else the credentialed read just carries whatever the jar has)."""
    credentialed = "with the user's cookies" if auth_mode == "cookie" else "with credentials"
    reads = [e for e in endpoints if e.safe]
    stand_in = not reads
    if stand_in:  # no readable endpoint given: a missing path still shows what is trusted
        reads = [Endpoint("GET", MISSING_PATH, None, "stand-in")]
    out = []
    for endpoint in reads:
        base = {"method": endpoint.method, "path": endpoint.path}
        out.append(
            Request(
                f"{endpoint.name} {credentialed}",
                {**base, "credentials": "include"},
                endpoint=endpoint.name,
            )
        )
        out.append(Request(f"{endpoint.name} without credentials",
                           {**base, "credentials": "omit"}, endpoint=endpoint.name))  # fmt: skip
    return out
