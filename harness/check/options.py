"""What the user said on the command line, parsed and checked: one-line errors, exit code 2."""

from __future__ import annotations

import argparse
import ipaddress
import json
from dataclasses import dataclass
from urllib.parse import urlsplit

from ..engines.base import BROWSERS, COOKIE_POLICIES, DEFAULT_COOKIE_POLICY
from ..scenario.origins import DEFAULT_PORTS

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
    if port == 0:
        raise UsageError(f"{what} {value!r} is not an origin: port 0")
    shown = "" if port in (None, DEFAULT_PORTS[parts.scheme]) else f":{port}"
    host = parts.hostname.lower()
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    return f"{parts.scheme}://{host}{shown}"


def host_port(origin: str) -> tuple[str, int]:
    parts = urlsplit(origin)
    return parts.hostname or "", parts.port or DEFAULT_PORTS.get(parts.scheme, 80)


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


def add_check_options(check: argparse.ArgumentParser) -> None:
    check.add_argument("app", nargs="?", help="module:attribute of your ASGI app (or a factory: "
                       "module:create_app()), run by --python; or use --serve")  # fmt: skip
    check.add_argument(
        "--serve",
        metavar="COMMAND",
        help="the command you run your app with, "
        "with {port} for the port, e.g. 'uvicorn app.main:app --port {port}'",
    )
    check.add_argument("--python", help="the interpreter that runs module:app (your venv's); "
                       "default: this one")  # fmt: skip
    check.add_argument("--factory", action="store_true", help="module:attr is an app factory")
    check.add_argument("--cwd", help="directory to run the app in (default: here)")
    check.add_argument("--frontend", action="append", default=[],
                       help="an origin your frontend runs on (repeatable)")  # fmt: skip
    check.add_argument(
        "--api-origin",
        default="https://api.example.com",
        help="the origin the API is served on (default https://api.example.com)",
    )
    check.add_argument(
        "--endpoint",
        action="append",
        default=[],
        help="METHOD:/path[ BODY] to probe (repeatable; always probed); "
        "default: every safe operation of the app's OpenAPI schema",
    )
    check.add_argument(
        "--writes",
        action="store_true",
        help="also probe discovered POST/PUT/PATCH/DELETE operations",
    )
    check.add_argument("--max-endpoints", type=int, default=50)
    check.add_argument(
        "--openapi",
        action="append",
        default=[],
        help="path of the app's OpenAPI JSON (with --serve; repeatable)",
    )
    check.add_argument("--login", help="METHOD:/path[ BODY] that signs in: JSON or form body "
                       "(e.g. 'POST:/token username=a&password=b')")  # fmt: skip
    check.add_argument(
        "--auth",
        default="auto",
        help="cookie | bearer | none; default: "
        "inferred from the login answer (a cookie set, or a token returned)",
    )
    check.add_argument(
        "--read-header",
        action="append",
        default=[],
        help="a response header the frontend must be able to read",
    )
    check.add_argument(
        "--timeout",
        type=float,
        default=10.0,
        help="seconds per request before it counts as timed out (max 15)",
    )
    check.add_argument(
        "--start-timeout",
        type=float,
        default=60.0,
        help="seconds the app may take to answer HTTP after starting",
    )
    check.add_argument(
        "--max-attackers",
        type=int,
        default=10,
        help="trusted attacker origins confirmed in browsers, per frontend",
    )
    check.add_argument("--no-prescan", action="store_true", help="skip the HTTP pre-scan")
    check.add_argument("--browser", action="append", choices=BROWSERS)
    check.add_argument("--cookie-policy", default=DEFAULT_COOKIE_POLICY, choices=COOKIE_POLICIES)
    check.add_argument("-o", "--output", default="report/check", help="report directory")
    check.add_argument("--fixture-dir", help="the built probe page (default: the one installed "
                       "with cors-matrix)")  # fmt: skip
    check.add_argument(
        "--keep-run-files",
        action="store_true",
        help="keep the per-run CA key "
        "and the app's log in OUTPUT/run-files (default: a temporary directory)",
    )


def check_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cors-matrix check")
    add_check_options(parser)
    return parser
