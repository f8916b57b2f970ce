"""What Starlette's CORSMiddleware answers for a given config, in each supported release.

Modelled from the released source (starlette/middleware/cors.py, and MutableHeaders in
datastructures.py) of every minor release from 0.27 to 1.10. Each behaviour change in that span
is a `Change` with the release that brought it and its source; a model is built for one release
and applies exactly the changes that release has. Pure: no Starlette import, so the oracle stays
a model and not a call into the thing under test (tests/test_starlette_releases.py checks it
against the real middleware of every supported minor release, each in its own venv).

Facts common to every supported release:
- allow_methods defaults to ("GET",); "*" expands to every known method; the preflight's method
  test is case-sensitive (a config "put" refuses "PUT").
- allow_headers=["*"] mirrors Access-Control-Request-Headers back verbatim.
- a refused preflight is 400 "Disallowed CORS origin|method|headers", still with its headers.
- simple responses get Access-Control-Allow-Credentials/Expose-Headers even when the origin is
  not allowed (but no Access-Control-Allow-Origin).
- allow_origins=["*"] with allow_credentials=True mirrors the request's Origin on preflights.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

SOURCE = "https://github.com/Kludex/starlette/blob/{version}/starlette/middleware/cors.py"
OLDEST, NEWEST = "0.27", "1.10"  # the supported range, by minor release
# every minor release in the range (a patch release is judged by its minor's model)
MINOR_RELEASES = (
    *(f"0.{n}" for n in range(27, 53)),
    *(f"1.{n}" for n in range(0, 11)),
)
LATEST = "1.10.0"
SAFELISTED_HEADERS = {"Accept", "Accept-Language", "Content-Language", "Content-Type"}
PREFLIGHT_VARY = ("Origin, Access-Control-Request-Method, Access-Control-Request-Headers, "
                  "Access-Control-Request-Private-Network")  # fmt: skip


@dataclass(frozen=True)
class Change:
    """One behaviour change of CORSMiddleware: what releases before `since` do, and after."""

    id: str
    since: str
    before: str
    after: str
    source: str


CHANGES = (
    Change(
        "private-network",
        "0.51",
        before="no allow_private_network option (passing it is a TypeError); a preflight's "
        "Access-Control-Request-Private-Network is ignored",
        after="allow_private_network=True answers Access-Control-Allow-Private-Network: true; "
        "without it, a preflight asking for the private network is refused (400)",
        source="https://github.com/Kludex/starlette/pull/3065 (commit 49d4de92)",
    ),
    Change(
        "wildcard-credentials-mirror",
        "1.0",
        before="allow_origins=['*']: a response mirrors the request's Origin only when the "
        "request carries a Cookie header, whatever allow_credentials says; otherwise '*'",
        after="allow_origins=['*'] with allow_credentials=True mirrors every Origin (any site "
        "reads credentialed responses, cookie or not); without allow_credentials always '*'",
        source="https://github.com/Kludex/starlette/pull/3137 (commit 02b6ed7b)",
    ),
    Change(
        "query-method",
        "1.7",
        before="allow_methods=['*'] means DELETE GET HEAD OPTIONS PATCH POST PUT",
        after="allow_methods=['*'] also allows QUERY",
        source="https://github.com/Kludex/starlette/pull/3489",
    ),
    Change(
        "vary-origin-always",
        "1.7",
        before="Vary: Origin only on a response whose Origin was mirrored, merged into the app's "
        "first Vary field (further Vary fields are dropped); a request without Origin is "
        "passed through untouched",
        after="Vary: Origin on every response (a denied or missing Origin, a wildcard config "
        "too), after all of the app's Vary fields",
        source="https://github.com/Kludex/starlette/pull/3516",
    ),
    Change(
        "preflight-vary-inputs",
        "1.7",
        before="a preflight answer says Vary: Origin only when it mirrors the origin (none for "
        "allow_origins=['*'] without credentials)",
        after=f"every preflight answer says Vary: {PREFLIGHT_VARY}",
        source="https://github.com/Kludex/starlette/pull/3517",
    ),
)
CHANGE_IDS = tuple(c.id for c in CHANGES)
OPTION_SINCE = {"allow_private_network": "private-network"}  # options a change introduced


class UnsupportedRelease(ValueError):
    """A Starlette release the model does not know."""


class UnsupportedOption(ValueError):
    """A CORSMiddleware option that the modelled release does not have."""


def version_tuple(version: str) -> tuple[int, ...]:
    """'0.32.0.post1' -> (0, 32, 0); only the numeric release segments count."""
    parts = []
    for piece in version.split("."):
        digits = re.match(r"\d+", piece)
        if not digits:
            break
        parts.append(int(digits.group()))
    return tuple(parts)


_CHECKED_NEWER: dict[str, str] = {}
"""Releases newer than the model whose installed CORSMiddleware answered every property case as
the newest model does (serve/newer_starlette.py), with the line their records carry. Per
process: each pytest process (an xdist worker too) checks, from a cache, at configure."""


def accept_newer(version: str, note: str) -> None:
    _CHECKED_NEWER[version] = note


def checked_newer(version: str | None) -> str | None:
    """The note of a newer release judged by the newest model, None for a modelled one."""
    return _CHECKED_NEWER.get(version) if version else None


def minor_of(version: str) -> str:
    """The minor release a version belongs to (the newest one for a checked newer release),
    or UnsupportedRelease naming the range."""
    if version in _CHECKED_NEWER:
        return NEWEST
    numbers = version_tuple(version)
    minor = ".".join(str(n) for n in numbers[:2])
    if len(numbers) < 2 or minor not in MINOR_RELEASES:
        raise UnsupportedRelease(
            f"starlette {version} is not modelled: cors-matrix knows starlette {OLDEST}.x to "
            f"{NEWEST}.x (harness/spec/starlette_model.py); install one of those"
        )
    return minor


def changes_in(version: str) -> frozenset[str]:
    """The ids of the changes a release has (UnsupportedRelease outside the range)."""
    minor = version_tuple(minor_of(version))
    return frozenset(c.id for c in CHANGES if version_tuple(c.since) <= minor)


def changes_between(a: str, b: str) -> list[Change]:
    """The changes that differ between two releases, oldest first."""
    differ = changes_in(a) ^ changes_in(b)
    return [c for c in CHANGES if c.id in differ]


def change(change_id: str) -> Change:
    return next(c for c in CHANGES if c.id == change_id)


@dataclass
class ServerAnswer:
    status: int
    headers: dict[str, list[str]] = field(default_factory=dict)
    note: str = ""

    def get(self, name: str) -> str | None:
        """A header's value as a browser would see it: each field's value without its leading
        and trailing whitespace (RFC 9110 section 5.5: "a field value does not include leading
        or trailing whitespace"; RFC 9112 section 5: field-line = field-name ":" OWS
        field-value OWS, the parser drops the OWS), then repeated fields joined with ", "
        (Fetch, https://fetch.spec.whatwg.org/#concept-header-list-get)."""
        values = self.headers.get(name.lower())
        return ", ".join(v.strip(" \t") for v in values) if values else None


class CORSMiddlewareModel:
    """Mirror of CORSMiddleware.__init__/preflight_response/send for one config, as the release
    with `changes` (default: the newest supported release) has them."""

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
        *,
        changes: frozenset[str] | None = None,
    ) -> None:
        self.changes = changes_in(LATEST) if changes is None else frozenset(changes)
        if "*" in allow_methods:
            allow_methods = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")
            if "query-method" in self.changes:
                allow_methods = (*allow_methods, "QUERY")
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

        pre: dict[str, str] = {}
        if "preflight-vary-inputs" in self.changes:
            pre["vary"] = PREFLIGHT_VARY
        elif self.explicit_preflight_origin:
            pre["vary"] = "Origin"  # the origin itself is set in preflight() if allowed
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
    def from_kwargs(
        cls,
        kwargs: dict[str, Any],
        starlette: str = LATEST,
        changes: frozenset[str] | None = None,
    ) -> CORSMiddlewareModel:
        """The model of CORSMiddleware(**kwargs) in release `starlette` (or with exactly
        `changes`); UnsupportedOption for an option that release does not have."""
        changes = changes_in(starlette) if changes is None else changes
        for option, change_id in OPTION_SINCE.items():
            if option in kwargs and change_id not in changes:
                raise UnsupportedOption(
                    f"CORSMiddleware({option}=...) needs starlette >= {change(change_id).since} "
                    f"(this host runs {starlette}): a TypeError in this release"
                )
        return cls(**kwargs, changes=changes)

    def is_allowed_origin(self, origin: str) -> bool:
        if self.allow_all_origins:
            return True
        if self.regex is not None and self.regex.fullmatch(origin):
            return True
        return origin in self.allow_origins

    def preflight(
        self,
        origin: str,
        method: str,
        request_headers: str | None,
        private_network: bool = False,
    ) -> ServerAnswer:
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
        if private_network and "private-network" in self.changes:
            if self.allow_private_network:
                headers["access-control-allow-private-network"] = "true"
            else:
                failures.append("private-network")
        as_lists = {k: [v] for k, v in headers.items()}
        if failures:
            return ServerAnswer(400, as_lists, "Disallowed CORS " + ", ".join(failures))
        return ServerAnswer(200, as_lists, "preflight accepted")

    def add_simple_headers(
        self, origin: str | None, answer: ServerAnswer, cookie: bool = False
    ) -> ServerAnswer:
        """CORSMiddleware.send: headers added to a response the app produced. `cookie`:
        whether the request carried a Cookie header (releases before 1.0 look at it)."""
        headers = {k: list(v) for k, v in answer.headers.items()}
        vary_always = "vary-origin-always" in self.changes
        if origin is None:  # older releases pass such a request through untouched
            if vary_always:
                headers["vary"] = [", ".join([*headers.get("vary", []), "Origin"])]
            return ServerAnswer(answer.status, headers, answer.note)
        for k, v in self.simple_headers.items():
            headers[k] = [v]
        if "wildcard-credentials-mirror" in self.changes:
            mirror_wildcard = self.allow_credentials
        else:
            mirror_wildcard = cookie
        explicit = (self.allow_all_origins and mirror_wildcard) or (
            not self.allow_all_origins and self.is_allowed_origin(origin)
        )
        if explicit:
            headers["access-control-allow-origin"] = [origin]
        if vary_always:
            headers["vary"] = [", ".join([*headers.get("vary", []), "Origin"])]
        elif explicit:  # MutableHeaders.add_vary_header: the first Vary field, the rest dropped
            first = headers.get("vary", [])[:1]
            headers["vary"] = [", ".join([*first, "Origin"])]
        return ServerAnswer(answer.status, headers, answer.note)


def starlette_dependence(predict, starlette: str, expected: Any) -> list[str]:
    """The changes that decide a cell: each one that, flipped alone in release `starlette`,
    changes what `predict(changes)` (the oracle's compared expectation) says. A flip that makes
    the config invalid (an option the release lacks) counts as a change."""
    active = changes_in(starlette)
    deciding = []
    for entry in CHANGES:
        try:
            other = predict(active ^ {entry.id})
        except UnsupportedOption:
            other = None
        if other != expected:
            deciding.append(entry.id)
    return deciding
