"""The smallest fix for a blocked frontend request, in the app's own CORSMiddleware keywords.

Where the app's config is known (the `module:app` routes read it) and Starlette's middleware
is what answered: the oracle's model of that config is asked why the request fails
and harness/causes.py turns its reasons into a keyword change. The CORS answer does not depend
on the route, so the oracle's generic endpoint stands in for the app's. Where no CORS header
came back at all and the app has no CORSMiddleware (or its config is unknown, --serve): the
middleware to add, with the keywords this very request needs.
"""

from __future__ import annotations

from typing import Any

from .. import causes as causes_mod
from .. import fetch_spec, oracle
from ..scenario import RECONFIGURABLE_SHAPE, Probe
from .browsers import Cell


def _literal(value: Any, frontend: str) -> str:
    """A keyword value as Python source, with the {app} placeholder as the real frontend."""
    if isinstance(value, str):
        return repr(value.replace("{app}", frontend))
    if isinstance(value, list):
        return "[" + ", ".join(_literal(v, frontend) for v in value) + "]"
    return repr(value)


def _top_config(configs: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The app's one CORSMiddleware on the whole app (not a mount's), or None."""
    top = [c for c in configs if c.get("mount", "") == ""]
    return top[0] if len(top) == 1 else None


def config_fix(cell: Cell, configs: list[dict[str, Any]], api_origin: str) -> str | None:
    if cell.role != "frontend" or cell.readable or cell.page_origin == "null":
        return None
    config = _top_config(configs)
    if config is None or not isinstance(config["kwargs"].get("allow_origins", []), list):
        return None  # no config, several, or one the model does not take (a string)
    fix = _model_fix(cell, config, api_origin, cell.request.modelled_by)
    if cell.request.modelled_by == "/error":
        # a 500 needs the whole app wrapped, but first the request must pass at all: a
        # frontend the config does not allow gets that keyword change, and then the wrap
        plain = _model_fix(cell, config, api_origin, "/data")
        if plain and plain.startswith("CORSMiddleware("):
            return (
                f"{plain}, and wrap the whole app so that 500s carry it too: "
                "app = CORSMiddleware(app, ...)"
            )
    return fix


def _model_fix(cell: Cell, config: dict[str, Any], api_origin: str, path: str) -> str | None:
    """The first fix the oracle's causes give for this cell's request at the model's path."""
    spec = cell.request.spec
    probe = Probe(name="check", method=spec["method"], path=path,
                  headers=spec.get("headers", {}), body=spec.get("body"),
                  credentials=spec.get("credentials", "same-origin"))  # fmt: skip
    ctx = oracle.Context(cell.page_origin, api_origin, config["kwargs"],
                         cors_outermost=bool(config.get("wrapper")),
                         origins={"app": cell.frontend})  # fmt: skip
    try:
        _, expected = oracle.expectations(probe, ctx, cell.browser)
        found = causes_mod.explain(probe, ctx, "app", expected.reasons, expected.outcome)
    except Exception:  # noqa: BLE001 - a config the model cannot take gets no fix, not a crash
        return None
    for cause in found:
        if cause.fix and not set(cause.fix) & set(RECONFIGURABLE_SHAPE):
            keywords = ", ".join(f"{k}={_literal(v, cell.frontend)}" for k, v in cause.fix.items())
            return f"CORSMiddleware({keywords})"
        if cause.fix_note:
            return cause.fix_note
    return None


def missing_cors_fix(cell: Cell, configs: list[dict[str, Any]], config_seen: bool) -> str | None:
    """A blocked frontend request whose answers carried no CORS header at all, from an app
    without CORSMiddleware (or one whose config is unknown): the middleware it needs."""
    if cell.role != "frontend" or cell.readable or cell.page_origin == "null" or configs:
        return None
    answers = cell.record.get("ledger") or []
    if not answers or any("access-control-allow-origin" in e["response_headers"]
                          for e in answers):  # fmt: skip
        return None
    spec = cell.request.spec
    keywords = [f"allow_origins=[{cell.frontend!r}]"]
    if spec.get("credentials") == "include":
        keywords.append("allow_credentials=True")
    if spec["method"] != "GET":
        keywords.append(f"allow_methods=[{spec['method']!r}]")
    headers = [name for name, value in (spec.get("headers") or {}).items()
               if not fetch_spec.is_safelisted_request_header(name, value)]  # fmt: skip
    if headers:
        keywords.append(f"allow_headers={headers!r}")
    add = f"app.add_middleware(CORSMiddleware, {', '.join(keywords)})"
    if cell.request.modelled_by == "/error":  # only an outermost middleware reaches a 500
        add = f"app = CORSMiddleware(app, {', '.join(keywords)}) (wraps errors too)"
    if config_seen:
        return f"the app has no CORSMiddleware: {add}"
    return f"no CORS header came back; if the app has no CORS middleware: {add}"


def wildcard_fix(cell: Cell) -> str | None:
    """A blocked credentialed request answered `*` (Starlette before 1.0 does so under
    allow_origins=['*'] with credentials when no cookie comes yet, e.g. the login): the
    frontend's own origin is what a credentialed read needs."""
    if cell.role != "frontend" or cell.readable or cell.page_origin == "null":
        return None
    actual = [e for e in cell.record.get("ledger") or [] if not e["preflight"]]
    if cell.request.spec.get("credentials") != "include" or not actual:
        return None
    if actual[-1]["response_headers"].get("access-control-allow-origin") != ["*"]:
        return None
    return (
        f"CORSMiddleware(allow_origins=[{cell.frontend!r}], allow_credentials=True) instead "
        "of '*': a request with credentials is read only when Access-Control-Allow-Origin "
        "names its own origin"
    )


def expose_fix(cell: Cell, configs: list[dict[str, Any]]) -> str | None:
    """A readable answer whose --read-header the server sent but did not expose: the
    expose_headers keyword, with what the app already exposes where its config is known."""
    missing = cell.record.get("check", {}).get("unread_headers") or []
    actual = [e for e in cell.record.get("ledger") or [] if not e["preflight"]]
    sent = set(actual[-1].get("response_header_names") or []) if actual else set()
    names = [name for name in missing if name.lower() in sent]
    if cell.role != "frontend" or not cell.readable or not names:
        return None
    config = _top_config(configs)
    if config is not None:
        exposed = list(config["kwargs"].get("expose_headers") or [])
        return f"CORSMiddleware(expose_headers={exposed + names!r})"
    return (
        f"expose them: CORSMiddleware(expose_headers={names!r}) (the answer's "
        "Access-Control-Expose-Headers)"
    )
