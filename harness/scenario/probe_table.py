"""A `[[probe]]` table: one fetch a page makes (method, headers, credentials, mode,
redirect, cache, body), the cookies set before it, and its repeats and `then` steps."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from ..spec import fetch_spec
from . import endpoints
from .origins import PLACEHOLDER, split_target
from .server_table import CORS_KWARGS, ServerConfig
from .strict import Strict, check_name

PageName = Literal["app", "cross_site", "attacker", "api", "sandboxed"]
"""api: the API's own origin; sandboxed: an opaque-origin iframe (Origin: null) in {cross_site}."""


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
DOMAIN_VALUE = re.compile(r"\.?[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*")


class CookieSpec(Strict):
    name: str
    value: str = "v1"
    samesite: Literal["Strict", "Lax", "None"] | None = None
    secure: bool = False
    via: Literal["navigation", "fetch"] = "navigation"
    server: Literal["api", "api_other", "api_third", "api_fourth", "api_fifth", "api_www1",
                    "api_www2", "api_other_www1"] = "api"  # fmt: skip
    # its Domain attribute as written (hosts = "domains": "example.com" shares it with every
    # subdomain); None: a host-only cookie
    domain: str | None = None

    @field_validator("domain")
    @classmethod
    def _domain(cls, v: str | None) -> str | None:
        if v is not None and not DOMAIN_VALUE.fullmatch(v):
            raise ValueError(f"cookie domain {v!r:.60}: a host name (letters, digits, '-', '.')")
        return v

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


class ProbeStep(Strict):
    """A follow-up fetch to the same URL with some fields changed (cache-key scenarios)."""

    method: str | None = None
    credentials: Literal["omit", "same-origin", "include"] | None = None
    cache: Literal["default", "no-store", "reload", "no-cache", "force-cache"] | None = None
    headers: dict[str, str] | None = None
    body: str | None = None
    delay_ms: int | None = Field(
        None, ge=0, le=10_000, description="the wait before this step (default: the probe's)"
    )


class Probe(Strict):
    name: str
    description: str = ""
    page: PageName = "app"
    page_scheme: Literal["http", "https"] | None = Field(
        None, description="run the page over this scheme, whatever the API's (mixed scheme)"
    )
    method: str = "GET"
    path: str = "/data"
    credentials: Literal["omit", "same-origin", "include"] = "same-origin"
    mode: Literal["cors", "no-cors", "same-origin"] = "cors"
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
    api: Literal["fetch", "xhr"] = Field(
        "fetch", description="xhr: sent with XMLHttpRequest (as axios does) instead of fetch"
    )
    upload_listener: bool = Field(
        False, description="xhr: a listener on xhr.upload (sets the use-CORS-preflight flag)"
    )
    # xhr: XMLHttpRequest.open()'s username and password, which go into the request's URL
    # (Mozilla's test_CrossSiteXHR.html gives them to a cross-origin XHR)
    user: str | None = Field(None, pattern=r"^[\x21-\x7e]*$")
    password: str | None = Field(None, pattern=r"^[\x21-\x7e]*$")
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
        return check_name(v)

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
            raise ValueError(
                f"path {v!r} must start with / (or {{api_other}}/, {{api_third}}/ ...)"
            )
        if PLACEHOLDER.search(bare):  # it would be sent as written, braces and all
            raise ValueError(f"path {v!r}: a {{name}} can only start a path (to send a fetch "
                             "to another origin on its way, give a route a Location; a literal "
                             "brace is %7B)")  # fmt: skip
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
        self._xhr_can_say()
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

    def _xhr_can_say(self) -> None:
        """XMLHttpRequest has no mode, cache, redirect, referrer or keepalive option, and only
        two credentials modes (XHR, send(): withCredentials gives "include", else
        "same-origin"); a probe asking it for more would silently send something else."""
        if self.upload_listener and self.api != "xhr":
            raise ValueError("upload_listener is an XMLHttpRequest listener: needs api = 'xhr'")
        if self.upload_listener and self.request_body is None:
            raise ValueError("upload_listener needs a body (an upload to listen to)")
        if (self.user is not None or self.password is not None) and self.api != "xhr":
            raise ValueError("user and password are XMLHttpRequest.open() arguments: need "
                             "api = 'xhr' (fetch() refuses a URL with credentials)")  # fmt: skip
        if self.api != "xhr":
            return
        if self.page == "sandboxed":
            raise ValueError("api = 'xhr' runs in the page itself, not in the sandboxed iframe")
        if self.credentials == "omit":
            raise ValueError("api = 'xhr' has no credentials 'omit': withCredentials gives "
                             "'include', else 'same-origin'")  # fmt: skip
        fixed = {"mode": "cors", "cache": "default", "redirect": "follow",
                 "referrer": None, "referrer_policy": None, "keepalive": False}  # fmt: skip
        for key, value in fixed.items():
            if getattr(self, key) != value:
                raise ValueError(f"api = 'xhr' cannot set {key} ({getattr(self, key)!r}): "
                                 "XMLHttpRequest has no such option")  # fmt: skip

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
