"""What Starlette's CORSMiddleware answers for a given config, modelled from its source.

Source: starlette 1.10.0, starlette/middleware/cors.py (pinned in pyproject.toml; the plugin
refuses to judge against another version). Pure: no Starlette import, so the oracle stays a
model and not a call into the thing under test. Notable facts read from the source:
- allow_methods defaults to ("GET",); "*" expands to DELETE GET HEAD OPTIONS PATCH POST PUT QUERY;
  the preflight's method test is case-sensitive (a config "put" refuses "PUT").
- allow_origins=["*"] with allow_credentials=True mirrors ANY request Origin (and sends
  Access-Control-Allow-Credentials: true): any site can read credentialed responses.
- allow_headers=["*"] mirrors Access-Control-Request-Headers back verbatim.
- a refused preflight is 400 "Disallowed CORS origin|method|headers", still with its headers.
- simple responses get Access-Control-Allow-Credentials/Expose-Headers even when the origin is
  not allowed (but no Access-Control-Allow-Origin).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

SOURCE = "https://github.com/encode/starlette/blob/1.10.0/starlette/middleware/cors.py"
STARLETTE_VERSION = "1.10.0"
ALL_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT", "QUERY")
SAFELISTED_HEADERS = {"Accept", "Accept-Language", "Content-Language", "Content-Type"}


@dataclass
class ServerAnswer:
    status: int
    headers: dict[str, list[str]] = field(default_factory=dict)
    note: str = ""

    def get(self, name: str) -> str | None:
        """A header's value as a browser would see it: repeated fields joined with ', '."""
        values = self.headers.get(name.lower())
        return ", ".join(values) if values else None


class CORSMiddlewareModel:
    """Mirror of CORSMiddleware.__init__/preflight_response/send for one config."""

    def __init__(
        self,
        allow_origins=(),
        allow_methods=("GET",),
        allow_headers=(),
        allow_credentials=False,
        allow_origin_regex=None,
        allow_private_network=False,
        expose_headers=(),
        max_age=600,
    ) -> None:
        if "*" in allow_methods:
            allow_methods = ALL_METHODS
        self.regex = re.compile(allow_origin_regex) if allow_origin_regex is not None else None
        self.allow_all_origins = "*" in allow_origins
        self.allow_all_headers = "*" in allow_headers
        self.explicit_preflight_origin = not self.allow_all_origins or allow_credentials
        self.allow_origins = list(allow_origins)
        self.allow_methods = list(allow_methods)
        self.allow_credentials = allow_credentials
        self.allow_private_network = allow_private_network

        self.simple_headers: dict[str, str] = {}
        if self.allow_all_origins:
            self.simple_headers["access-control-allow-origin"] = "*"
        if allow_credentials:
            self.simple_headers["access-control-allow-credentials"] = "true"
        if expose_headers:
            self.simple_headers["access-control-expose-headers"] = ", ".join(expose_headers)

        pre: dict[str, str] = {
            "vary": "Origin, Access-Control-Request-Method, Access-Control-Request-Headers, "
            "Access-Control-Request-Private-Network"
        }
        if not self.explicit_preflight_origin:
            pre["access-control-allow-origin"] = "*"
        pre["access-control-allow-methods"] = ", ".join(self.allow_methods)
        pre["access-control-max-age"] = str(max_age)
        merged = sorted(SAFELISTED_HEADERS | set(allow_headers))
        if merged and not self.allow_all_headers:
            pre["access-control-allow-headers"] = ", ".join(merged)
        if allow_credentials:
            pre["access-control-allow-credentials"] = "true"
        self.preflight_headers = pre
        self.allow_headers = [h.lower() for h in merged]

    @classmethod
    def from_kwargs(cls, kwargs: dict[str, Any]) -> CORSMiddlewareModel:
        return cls(**kwargs)

    def is_allowed_origin(self, origin: str) -> bool:
        if self.allow_all_origins:
            return True
        if self.regex is not None and self.regex.fullmatch(origin):
            return True
        return origin in self.allow_origins

    def preflight(self, origin: str, method: str, request_headers: str | None) -> ServerAnswer:
        headers = dict(self.preflight_headers)
        failures: list[str] = []
        if self.is_allowed_origin(origin):
            if self.explicit_preflight_origin:
                headers["access-control-allow-origin"] = origin
        else:
            failures.append("origin")
        if method not in self.allow_methods:
            failures.append("method")
        if self.allow_all_headers and request_headers is not None:
            headers["access-control-allow-headers"] = request_headers
        elif request_headers is not None:
            for header in [h.lower() for h in request_headers.split(",")]:
                if header.strip() not in self.allow_headers:
                    failures.append("headers")
                    break
        as_lists = {k: [v] for k, v in headers.items()}
        if failures:
            return ServerAnswer(400, as_lists, "Disallowed CORS " + ", ".join(failures))
        return ServerAnswer(200, as_lists, "preflight accepted")

    def add_simple_headers(self, origin: str | None, answer: ServerAnswer) -> ServerAnswer:
        """CORSMiddleware.send: headers added to a response the app produced."""
        headers = {k: list(v) for k, v in answer.headers.items()}
        if origin is not None:
            for k, v in self.simple_headers.items():
                headers[k] = [v]
        explicit = origin is not None and (
            (self.allow_all_origins and self.allow_credentials)
            or (not self.allow_all_origins and self.is_allowed_origin(origin))
        )
        if explicit:
            headers["access-control-allow-origin"] = [origin]
        vary = ", ".join([*headers.get("vary", []), "Origin"])
        headers["vary"] = [vary]
        return ServerAnswer(answer.status, headers, answer.note)
