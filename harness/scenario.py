"""Scenario files: the TOML format, its validation, and loading with one-line errors.

A scenario is data: the [server] table is CORSMiddleware's keyword arguments as given, each
[[probe]] one fetch a page makes. See README "Writing a scenario" for the full format.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from . import endpoints, fetch_spec
from .origins import (
    ORIGIN_NAMES,
    PLACEHOLDERS,
    split_target,
    substitute,
    unknown_placeholders,
)

PageName = Literal["app", "cross_site", "attacker", "api", "sandboxed"]
"""api: the API's own origin; sandboxed: an opaque-origin iframe (Origin: null) in {cross_site}."""


class ScenarioError(Exception):
    """A scenario file that cannot be used; the message is one line naming file, field, problem."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")  # names are pytest ids, URL tokens, anchors


def _check_name(value: str | None) -> str | None:
    if value is not None and not NAME.fullmatch(value):
        raise ValueError(f"name {value!r} may only use letters, digits, '.', '_' and '-'")
    return value


class ScenarioMeta(_Strict):
    name: str | None = None
    description: str = ""

    _name = field_validator("name")(_check_name)


ROUTE_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


class RawRoute(_Strict):
    """One path the server answers exactly as written (WPT's preflight.py in a table): any
    status, any headers (repeated, empty, malformed on purpose), a body. Placeholders work in
    header values; a Location on this server gets the cell's token appended, so the ledger
    sees every hop."""

    path: str
    method: str = Field("*", description="a method, or * for every method (OPTIONS too)")
    status: int = Field(200, ge=200, le=599)
    headers: list[list[str]] = []
    body: str = ""

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
    def _length(self) -> RawRoute:
        body = len(self.body.encode("utf-8"))
        for name, value in self.headers:
            if name.lower() == "content-length" and value.strip() != str(body):
                raise ValueError(f"route header Content-Length {value!r} is not the body's "
                                 f"{body} bytes (the server cannot send that)")  # fmt: skip
        return self

    def matches(self, method: str, path: str) -> bool:
        return self.path == path and self.method in ("*", method)


ROUTE_PATH = re.compile(r"/(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/]|%[0-9A-Fa-f]{2})*")


SAMPLE_ORIGINS = {name: "http://placeholder.test:1" for name in ORIGIN_NAMES}


def _check_location(value: str) -> None:
    """A Location the oracle and the browsers can both follow: not empty (the same URL again,
    a loop nobody models here) and, where it is absolute, a URL whose host and port parse."""
    if not value.strip():
        raise ValueError("route header 'Location' is empty (a redirect to the same URL)")
    sample = substitute(value.strip(), SAMPLE_ORIGINS)  # placeholders as the run fills them
    try:
        parts = urlsplit(sample)
        parts.port  # noqa: B018 - raises on a port out of range or not a number
    except ValueError as exc:
        raise ValueError(f"route header 'Location': {value!r} is not a URL ({exc})") from None


class ServerConfig(_Strict):
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
        "none", description="a real nginx in front of the API (see harness/nginx.py)"
    )
    tls: bool = Field(
        False, description="API and its pages over https, certificates from a per-run local CA"
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
        for shape in (*RECONFIGURABLE_SHAPE, "proxy", "tls", "route", "redirect_slashes"):
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


REFERRER_POLICIES = Literal[
    "",  # the empty policy: the default (strict-origin-when-cross-origin)
    "no-referrer",
    "no-referrer-when-downgrade",
    "same-origin",
    "origin",
    "strict-origin",
    "origin-when-cross-origin",
    "strict-origin-when-cross-origin",
    "unsafe-url",
]  # https://w3c.github.io/webappsec-referrer-policy/#referrer-policies


COOKIE_VALUE = re.compile(r"[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]*")
COOKIE_MAX = 4096  # RFC 6265bis: name + value


class CookieSpec(_Strict):
    name: str
    value: str = "v1"
    samesite: Literal["Strict", "Lax", "None"] | None = None
    secure: bool = False
    via: Literal["navigation", "fetch"] = "navigation"
    server: Literal["api", "api_other"] = "api"  # which name of the API sets it (another host)

    @field_validator("name")
    @classmethod
    def _token(cls, v: str) -> str:
        if not fetch_spec.is_token(v):
            raise ValueError(f"cookie name {v!r} is not a valid token")
        return v

    @field_validator("value")
    @classmethod
    def _octets(cls, v: str) -> str:
        if not COOKIE_VALUE.fullmatch(v):  # RFC 6265 cookie-octets: what every browser keeps
            raise ValueError(f"cookie value {v!r:.60}: only RFC 6265 cookie-octets (printable "
                             "ASCII without space, \", \\, comma and ;)")  # fmt: skip
        return v

    @model_validator(mode="after")
    def _size(self) -> CookieSpec:
        size = len(self.name) + len(self.value)
        if size > COOKIE_MAX:  # browsers drop larger ones whole
            raise ValueError(f"cookie {self.name!r}: name and value are {size} bytes, over "
                             f"{COOKIE_MAX}")  # fmt: skip
        return self


class ProbeStep(_Strict):
    """A follow-up fetch to the same URL with some fields changed (cache-key scenarios)."""

    method: str | None = None
    credentials: Literal["omit", "same-origin", "include"] | None = None
    cache: Literal["default", "no-store", "reload", "no-cache", "force-cache"] | None = None
    headers: dict[str, str] | None = None
    body: str | None = None


class Probe(_Strict):
    name: str
    description: str = ""
    page: PageName = "app"
    page_scheme: Literal["http", "https"] | None = Field(
        None, description="run the page over this scheme, whatever the API's (mixed scheme)"
    )
    method: str = "GET"
    path: str = "/data"
    credentials: Literal["omit", "same-origin", "include"] = "same-origin"
    mode: Literal["cors", "no-cors"] = "cors"
    cache: Literal["default", "no-store", "reload", "no-cache", "force-cache"] = "default"
    redirect: Literal["follow", "error", "manual"] = "follow"
    referrer: str | None = Field(None, description="fetch's referrer: '' for none, or a URL")
    referrer_policy: REFERRER_POLICIES | None = None
    headers: dict[str, str] = {}
    body: str | None = None
    body_size: int | None = Field(
        None, ge=0, le=1_000_000, description="a body of this many bytes ('x'), for size limits"
    )
    keepalive: bool = False
    repeat: int = Field(1, ge=1, le=10)
    delay_ms: int = Field(0, ge=0, le=10_000)
    then: list[ProbeStep] = []
    # CORSMiddleware keyword changes applied to the running server after the first fetch
    # (the developer "fixes the config"); the original config is restored after the probe.
    reconfigure: dict[str, Any] | None = None
    read_headers: list[str] = []
    set_cookies: list[CookieSpec] = []

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        return _check_name(v)

    @field_validator("method")
    @classmethod
    def _method(cls, v: str) -> str:
        if not fetch_spec.is_token(v):
            raise ValueError(f"method {v!r} is not a valid HTTP method token")
        if fetch_spec.is_forbidden_method(v):
            raise ValueError(f"method {v!r} is forbidden by the Fetch standard; browsers refuse it")
        return v

    @field_validator("path")
    @classmethod
    def _path(cls, v: str) -> str:
        bare = split_target(v)[1]
        if not bare.startswith("/"):
            raise ValueError(f"path {v!r} must start with / (or {{api_other}}/)")
        codes = endpoints.query_values(bare, "code") if bare.startswith("/status") else []
        if len(codes) > 1:
            raise ValueError(f"path {v!r}: code given {len(codes)} times; give it once")
        code = codes[0] if codes else None
        if code is not None and not (code.isdigit() and 200 <= int(code) <= 599):
            raise ValueError(f"path {v!r}: code {code!r} must be an HTTP status from 200 to 599")
        return v

    @field_validator("headers")
    @classmethod
    def _headers(cls, v: dict[str, str]) -> dict[str, str]:
        for name, value in v.items():
            if not fetch_spec.is_token(name):
                raise ValueError(f"header name {name!r} is not a valid token")
            if fetch_spec.is_forbidden_request_header(name, value):
                raise ValueError(
                    f"header {name!r} (value {value!r}) is a forbidden request header: a page "
                    "can never set it"
                )
            if not fetch_spec.is_valid_header_value(value) or not fetch_spec.is_byte_string(value):
                raise ValueError(f"header {name!r} has an invalid value {value!r}")
        return v

    @field_validator("read_headers")
    @classmethod
    def _read_headers(cls, v: list[str]) -> list[str]:
        for name in v:
            if not fetch_spec.is_token(name):
                raise ValueError(f"read_headers name {name!r} is not a valid header name")
        return v

    @model_validator(mode="after")
    def _body_allowed(self) -> Probe:
        method = fetch_spec.normalize_method(self.method)
        if self.page_scheme is not None and self.page == "api":
            raise ValueError("page_scheme cannot change the scheme of page = 'api' (the API's own)")
        if self.body is not None and self.body_size is not None:
            raise ValueError("use either body or body_size, not both")
        if self.request_body is not None and method in ("GET", "HEAD"):
            raise ValueError(f"a {method} request cannot have a body")
        if self.then and self.repeat != 1:
            raise ValueError("use either repeat or then, not both")
        for step in self.then:  # each follow-up must be a valid probe on its own
            Probe.model_validate(self.step_data(step))
        if self.reconfigure is not None:
            if len(self.attempts()) < 2:
                raise ValueError("reconfigure needs a second fetch (repeat >= 2 or then)")
            unknown = set(self.reconfigure) - set(CORS_KWARGS)
            if unknown:
                raise ValueError(
                    f"reconfigure: unknown CORSMiddleware argument {sorted(unknown)[0]!r}"
                )
            ServerConfig.model_validate(self.reconfigure)  # types checked like [server]
        return self

    @property
    def request_body(self) -> str | None:
        """The body the fetch sends: `body`, or `body_size` bytes of "x"."""
        return "x" * self.body_size if self.body_size is not None else self.body

    def step_data(self, step: ProbeStep) -> dict[str, Any]:
        data = self.model_dump(exclude={"then", "repeat"})
        data.update(step.model_dump(exclude_none=True))
        return data

    def attempts(self) -> list[Probe]:
        """Every fetch this probe makes, in order: `repeat` copies, or itself then each step."""
        if not self.then:
            return [self] * self.repeat
        return [self, *(Probe.model_validate(self.step_data(s)) for s in self.then)]


class Scenario(_Strict):
    scenario: ScenarioMeta = ScenarioMeta()
    server: ServerConfig = ServerConfig()
    probe: list[Probe] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_probes(self) -> Scenario:
        seen: set[str] = set()
        for p in self.probe:
            if p.name in seen:
                raise ValueError(f"duplicate probe name {p.name!r}")
            seen.add(p.name)
            if not self.server.knows_path(p.path):
                known = [*endpoints.ENDPOINTS, *(r.path for r in self.server.route)]
                raise ValueError(
                    f"probe[{p.name}].path: unknown endpoint "
                    f"{p.path.split('?')[0]!r}; known: {', '.join(known)}"
                )
        return self

    @property
    def name(self) -> str:
        assert self.scenario.name is not None  # set by load_scenario
        return self.scenario.name

    @property
    def probes(self) -> list[Probe]:
        return self.probe


def _location(loc: tuple[Any, ...], data: dict[str, Any]) -> str:
    """Render a pydantic error location like `probe[get-with-cookie].headers`."""
    parts: list[str] = []
    node: Any = data
    for item in loc:
        if isinstance(item, int) and isinstance(node, list):
            entry = node[item] if item < len(node) else None
            label = entry.get("name") if isinstance(entry, dict) else None
            parts[-1] += f"[{label or item}]"
            node = entry
        else:
            parts.append(str(item))
            node = node.get(item) if isinstance(node, dict) else None
    return ".".join(parts) or "(file)"


def parse_scenario(data: dict[str, Any], source: str, default_name: str) -> Scenario:
    """Validate a scenario mapping; raise ScenarioError with a one-line message on any problem."""
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = _location(tuple(err["loc"]), data)
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        given = err.get("input")
        if err["type"] != "extra_forbidden" and isinstance(given, (str, int, float, bool)):
            if repr(given) not in msg:
                msg += f" (got {given!r})"
        more = f" (+{len(exc.errors()) - 1} more)" if len(exc.errors()) > 1 else ""
        where = "" if loc == "(file)" and msg.startswith("probe[") else f"{loc}: "
        line = f"{source}: {where}{msg}{more}".replace("\r", "\\r").replace("\n", "\\n")
        raise ScenarioError(line) from None
    if scenario.scenario.name is None:
        if not NAME.fullmatch(default_name):
            raise ScenarioError(
                f"{source}: the file name gives the scenario name "
                f"{default_name!r}, which may only use letters, digits, '.', "
                "'_' and '-': rename the file or set [scenario] name"
            )
        meta = scenario.scenario.model_copy(update={"name": default_name})
        scenario = scenario.model_copy(update={"scenario": meta})
    return scenario


def load_scenario(path: Path) -> Scenario:
    """Read and validate one scenario file."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{path}: malformed TOML: {exc}") from None
    except UnicodeDecodeError as exc:
        raise ScenarioError(f"{path}: not UTF-8 (byte {exc.start}); save it as UTF-8") from None
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read: {exc.strerror}") from None
    return parse_scenario(data, str(path), default_name=path.stem.removeprefix("test_"))


def theme_of(path: Path, root: Path | None = None) -> str:
    """A scenario's theme is the folder it lives in (scenarios/origins/test_x.toml -> origins)."""
    return path.parent.name if root is None or path.parent != root else "general"
