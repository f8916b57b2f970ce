"""What the user said on the command line, parsed and checked: one-line errors, exit code 2."""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass
from urllib.parse import urlsplit

METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
SAFE_METHODS = ("GET", "HEAD")
AUTH_MODES = ("auto", "cookie", "bearer", "none")


class UsageError(Exception):
    """A bad command line, app or origin: one line, exit code 2."""


def parse_origin(value: str, what: str = "--frontend") -> str:
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError as exc:
        raise UsageError(f"{what} {value!r} is not an origin: {exc}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"{what} {value!r} is not an origin: expected http(s)://host[:port]")
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        raise UsageError(f"{what} {value!r} is not an origin: no path, query or user allowed")
    default = 443 if parts.scheme == "https" else 80
    shown = "" if port in (None, default) else f":{port}"
    host = parts.hostname.lower()
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    return f"{parts.scheme}://{host}{shown}"


def host_port(origin: str) -> tuple[str, int]:
    parts = urlsplit(origin)
    return parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80)


def is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    body: str | None = None
    source: str = "--endpoint"  # or "openapi"

    @property
    def name(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def safe(self) -> bool:
        return self.method in SAFE_METHODS


def parse_endpoint(value: str, what: str = "--endpoint") -> Endpoint:
    method, colon, rest = value.partition(":")
    path, _, body = rest.partition(" ")
    if not colon or method.upper() not in METHODS or not path.startswith("/"):
        raise UsageError(f"{what} {value!r}: expected METHOD:/path[ BODY], e.g. POST:/login "
                         '\'{"user": "a"}\' or POST:/token username=a&password=b')  # fmt: skip
    return Endpoint(method.upper(), path, body or None, what)


def body_content_type(body: str | None) -> str | None:
    """JSON when the body parses as JSON, else a form (what an OAuth2 password login sends)."""
    if body is None:
        return None
    try:
        json.loads(body)
    except ValueError:
        return "application/x-www-form-urlencoded"
    return "application/json"
