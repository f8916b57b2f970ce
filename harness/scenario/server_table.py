"""The `[server]` table: CORSMiddleware's keyword arguments as given, the app's shape
(`cors`, `cors_outermost`, `auth_outside_cors`), nginx in front, TLS, and raw routes
answered exactly as written."""

from __future__ import annotations

import re
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator

from ..spec import fetch_spec
from . import endpoints
from .origins import ORIGIN_NAMES, PLACEHOLDERS, split_target, substitute, unknown_placeholders
from .strict import Strict

ROUTE_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


class RouteAnswer(Strict):
    """One answer of a raw route: any status, any headers (repeated, empty, malformed on
    purpose), a body. Placeholders work in header values; a Location on this server gets the
    cell's token appended, so the ledger sees every hop."""

    # any final status HTTP/1.1 can carry (three digits; 1xx are interim, not an answer):
    # WPT's cors/ sends 699, 680 and 790
    status: int = Field(200, ge=200, le=999)
    headers: list[list[str]] = []
    body: str = ""

    @field_validator("headers")
    @classmethod
    def _headers(cls, v: list[list[str]]) -> list[list[str]]:
        for pair in v:
            if len(pair) != 2:
                raise ValueError(f"route header {pair!r}: expected [name, value]")
            name, value = pair
            if not fetch_spec.is_token(name):
                raise ValueError(f"route header name {name!r} is not a valid token")
            if any(c in value for c in "\r\n\x00"):
                raise ValueError(f"route header {name!r}: CR, LF and NUL cannot be sent")
            try:
                value.encode("latin-1")
            except UnicodeEncodeError:
                raise ValueError(f"route header {name!r}: value {value!r} is not Latin-1") from None
            bad = unknown_placeholders(value)
            if bad:
                raise ValueError(f"route header {name!r}: unknown placeholder {{{bad[0]}}}")
            if name.lower() == "location":
                _check_location(value)
        return v

    @model_validator(mode="after")
    def _length(self) -> RouteAnswer:
        body = len(self.body.encode("utf-8"))
        for name, value in self.headers:
            if name.lower() == "content-length" and value.strip() != str(body):
                raise ValueError(f"route header Content-Length {value!r} is not the body's "
                                 f"{body} bytes (the server cannot send that)")  # fmt: skip
        return self


class RawRoute(RouteAnswer):
    """One path the server answers exactly as written (WPT's preflight.py in a table). With
    `then` it is stateful (WPT's 304.py): a cell's first request to it gets the route's own
    answer, the next ones the answers in `then` in order, and the last one after that."""

    path: str
    method: str = Field("*", description="a method, or * for every method (OPTIONS too)")
    then: list[RouteAnswer] = []

    @field_validator("path")
    @classmethod
    def _path(cls, v: str) -> str:
        if not v.startswith("/") or "?" in v or "#" in v:
            raise ValueError(f"route path {v!r} must start with / and have no query")
        if not ROUTE_PATH.fullmatch(v):  # braces would be Starlette path parameters
            raise ValueError(
                f"route path {v!r}: one literal path (letters, digits, "
                "-._~!$&'()*+,;=:@/ and %XX; no {placeholders} or spaces)"
            )
        return v

    @field_validator("method")
    @classmethod
    def _method(cls, v: str) -> str:
        if v != "*" and v not in ROUTE_METHODS:
            raise ValueError(f"route method {v!r}: one of {', '.join(ROUTE_METHODS)} or *")
        return v

    def matches(self, method: str, path: str) -> bool:
        return self.path == path and self.method in ("*", method)


ROUTE_PATH = re.compile(r"/(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/]|%[0-9A-Fa-f]{2})*")


SAMPLE_ORIGINS = {name: "http://placeholder.test:1" for name in ORIGIN_NAMES}


def _check_location(value: str) -> None:
    """A Location the oracle and the browsers can both follow: where it is absolute, a URL
    whose host and port parse (an empty one is the same URL again: a loop until the 21st
    redirect, which the model follows too)."""
    sample = substitute(value.strip(), SAMPLE_ORIGINS)  # placeholders as the run fills them
    try:
        parts = urlsplit(sample)
        parts.port  # noqa: B018 - raises on a port out of range or not a number
    except ValueError as exc:
        raise ValueError(f"route header 'Location': {value!r} is not a URL ({exc})") from None


class ServerConfig(Strict):
    """CORSMiddleware keyword arguments; defaults are Starlette 1.10's own defaults."""

    cors: bool = Field(True, description="false: no CORSMiddleware at all")
    # App shape (not CORSMiddleware arguments): where the middleware sits.
    cors_outermost: bool = Field(
        False, description="wrap the whole app (outside ServerErrorMiddleware), the 500 fix"
    )
    auth_outside_cors: bool = Field(
        False, description="an auth middleware outside CORSMiddleware: 401 without Authorization"
    )
    # allow_origins read from an ALLOWED_ORIGINS environment variable the way the guide's code
    # does: [o.strip() for o in value.split(",")]; "split-only" drops the .strip() (a common slip)
    allow_origins_env: str | None = None
    allow_origins_env_parsing: Literal["guide", "split-only"] = "guide"
    proxy: Literal["none", "pass", "add-allow-origin", "strip", "answer-options"] = Field(
        "none", description="a real nginx in front of the API (see harness/serve/nginx.py)"
    )
    tls: bool = Field(
        False, description="API and its pages over https, certificates from a per-run local CA"
    )
    keep_alive: bool = Field(
        True,
        description="false: every answer closes its connection (Connection: close), so no "
        "request arrives on a reused one",
    )
    hosts: Literal["loopback", "domains"] = Field(
        "loopback",
        description="domains: every origin under a DNS name (example.com ...), reached through "
        "a forward proxy inside the engines; adds the subdomains {api_www1} ...",
    )
    allow_origins: list[str] = []
    allow_methods: list[str] = ["GET"]
    allow_headers: list[str] = []
    allow_credentials: bool = False
    allow_origin_regex: str | None = None
    allow_private_network: bool = False
    expose_headers: list[str] = []
    max_age: int = Field(
        600,
        ge=0,
        description="seconds; a negative one is not modelled (engines parse it differently)",
    )
    # raw routes, inside CORSMiddleware when cors is on (set cors = false for a server that
    # answers only what the routes say)
    route: list[RawRoute] = []
    redirect_slashes: bool = Field(
        True, description="FastAPI's default: /items answers 307 to /items/ when only that exists"
    )

    @model_validator(mode="after")
    def _placeholders_known(self) -> ServerConfig:
        if self.tls and self.proxy != "none":
            raise ValueError("tls with a proxy is not supported (nginx listens on http)")
        if self.hosts == "domains" and self.proxy != "none":
            raise ValueError('hosts = "domains" with a proxy is not supported (nginx is '
                             "reached under a loopback name)")  # fmt: skip
        if not self.keep_alive and self.proxy != "none":
            raise ValueError("keep_alive = false with a proxy is not supported (nginx keeps its "
                             "own connections to the browser)")  # fmt: skip
        strings = [*self.allow_origins, *(v for v in [self.allow_origin_regex] if v)]
        if self.allow_origins_env is not None:
            if "allow_origins" in self.model_fields_set:
                raise ValueError("give allow_origins or allow_origins_env, not both")
            strings.append(self.allow_origins_env)
        for value in strings:
            bad = unknown_placeholders(value)
            if bad:
                raise ValueError(
                    f"unknown placeholder {{{bad[0]}}} in {value!r}; known: "
                    + ", ".join(f"{{{n}}}" for n in PLACEHOLDERS)
                )
        if self.allow_origin_regex is not None:  # Starlette compiles it at start-up
            try:
                re.compile(re.sub(r"\{[a-z_]+\}", "x", self.allow_origin_regex))
            except re.error as exc:
                raise ValueError(
                    f"allow_origin_regex {self.allow_origin_regex!r} is not a "
                    f"valid regular expression: {exc}"
                ) from None
        for key in ("allow_origins", "allow_methods", "allow_headers", "expose_headers"):
            for value in getattr(self, key):  # they become header values
                if any(c in value for c in "\r\n\x00") or not fetch_spec.is_byte_string(value):
                    raise ValueError(
                        f"{key} entry {value!r} cannot be sent in a header (CR, LF, "
                        "NUL or a character above U+00FF)"
                    )
        return self

    def middleware_kwargs(self) -> dict[str, Any]:
        """The keyword arguments as the scenario gave them (unset ones left to Starlette)."""
        given = self.model_dump(exclude_unset=True)
        for shape in (*RECONFIGURABLE_SHAPE, "proxy", "tls", "hosts", "keep_alive", "route",
                      "redirect_slashes"):  # fmt: skip
            given.pop(shape, None)
        env = given.pop("allow_origins_env", None)
        parsing = given.pop("allow_origins_env_parsing", "guide")
        if env is not None:
            given["allow_origins"] = origins_from_env(env, parsing)
        return given

    def route_table(self) -> list[dict[str, Any]]:
        """The raw routes as plain data (for the host and the oracle)."""
        return [r.model_dump() for r in self.route]

    def knows_path(self, path: str) -> bool:
        """A probe path this server answers: an endpoint, a route, or (redirect_slashes) a
        route's path with or without its trailing slash."""
        bare = split_target(path)[1].split("?", 1)[0]
        paths = {r.path for r in self.route}
        if self.redirect_slashes:
            paths |= {p.rstrip("/") if p.endswith("/") else p + "/" for p in paths if p != "/"}
        return endpoints.find(bare) is not None or bare in paths

    def app_shape(self) -> dict[str, Any]:
        """How the app around CORSMiddleware is built (the oracle models the same shape)."""
        return {
            "cors": self.cors,
            "cors_outermost": self.cors_outermost,
            "auth_outside_cors": self.auth_outside_cors,
            "proxy": self.proxy,
        }


def origins_from_env(value: str, parsing: str = "guide") -> list[str]:
    """The guide's code for ALLOWED_ORIGINS (Handling Multiple Origins Dynamically):
    `[origin.strip() for origin in value.split(',')] if value else []`."""
    if not value:
        return []
    parts = value.split(",")
    return [p.strip() for p in parts] if parsing == "guide" else parts


# App-shape keys the running host can change too (control port /reconfigure, --cors-verify-fixes)
RECONFIGURABLE_SHAPE = ("cors", "cors_outermost", "auth_outside_cors")
CORS_KWARGS = (
    "allow_origins", "allow_methods", "allow_headers", "allow_credentials",
    "allow_origin_regex", "allow_private_network", "expose_headers", "max_age",
)  # fmt: skip
