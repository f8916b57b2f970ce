"""The browser model's parameters (a Profile): the spec's values, and each engine's recorded
differences with their sources, both read from engine_differences.toml beside this file."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, replace
from functools import cache
from importlib import resources
from typing import Any


@dataclass(frozen=True)
class Profile:
    """The model's parameters: where the spec leaves room, or engines deviate."""

    preflight_cache_cap_s: int
    preflight_cache_default_s: int
    lax_by_default: bool
    samesite_none_requires_secure: bool
    secure_cookies_on_loopback_http: bool
    preflight_cache_bypass_modes: tuple[str, ...] = ()
    credentialed_entry_serves_uncredentialed: bool = True
    mixed_content_exempts_loopback: bool = True
    preflight_origin_tainted: bool = True
    preflight_cache_serves_ip_hosts: bool = True
    redirect_to_url_credentials_blocked: bool = False
    wildcard_allow_headers_covers_authorization: bool = False
    cross_origin_delete_redirects_as_get: bool = False
    preflight_sticks_after_redirect: bool = False
    sticky_preflight_keeps_first_headers: bool = False
    preflight_sticks_from_first_preflight: bool = False
    same_origin_redirect_as_get_keeps_origin: bool = False
    referrer_hidden_by_scheme: bool = False
    cross_site_relaxed_referrer_policy_ignored: bool = False
    third_party_referrer_cut_to_origin: bool = False
    combined_field_drops_empty_values: bool = False
    range_parsed_leniently: bool = False
    extra_forbidden_request_headers: tuple[str, ...] = ()
    partitioned_cookies: bool = True
    partitioned_cookies_escape_third_party_blocking: bool = True
    redirect_checked_with_first_credentials: bool = False
    redirected_preflight_keeps_first_referer: bool = False
    http_cache: str = "spec"  # spec | xhr-memory-cache
    revalidation_keeps_first_cors_check: bool = False
    location_read_as_latin1: bool = False
    url_escapes_normalised: bool = False
    applied: tuple[str, ...] = ()  # ids of the differences that shaped this profile


@dataclass(frozen=True)
class Difference:
    id: str
    engines: tuple[str, ...]
    parameter: str
    value: Any
    source: str


@cache
def _data() -> tuple[Profile, tuple[Difference, ...]]:
    text = resources.files(__package__).joinpath("engine_differences.toml").read_text()
    raw = tomllib.loads(text)
    spec = Profile(**{k: tuple(v) if isinstance(v, list) else v for k, v in raw["spec"].items()})
    diffs = tuple(
        Difference(
            d["id"],
            tuple(d["engines"]),
            d["parameter"],
            tuple(d["value"]) if isinstance(d["value"], list) else d["value"],
            d["source"],
        )
        for d in raw.get("difference", [])
    )
    for d in diffs:
        if not hasattr(spec, d.parameter):
            raise ValueError(f"engine_differences.toml: {d.id}: unknown parameter {d.parameter!r}")
    return spec, diffs


def spec_profile() -> Profile:
    return _data()[0]


def differences() -> tuple[Difference, ...]:
    return _data()[1]


@cache
def engine_profile(engine: str, without: str | None = None) -> Profile:
    """The spec profile with every difference recorded for `engine` applied, but the one whose
    id is `without` (what the engine would do without it). Built once: a Profile is frozen."""
    profile = spec_profile()
    for d in differences():
        if engine in d.engines and d.id != without:
            profile = replace(profile, **{d.parameter: d.value}, applied=(*profile.applied, d.id))
    return profile
