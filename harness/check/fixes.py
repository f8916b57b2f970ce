"""The smallest fix for a blocked frontend request, in the app's own CORSMiddleware keywords.

Where the app's config is known (the `module:app` routes read it) and Starlette's middleware
is what answered: the oracle's model of that config is asked why the request fails
and harness/judge/causes.py turns its reasons into a keyword change. The CORS answer does not depend
on the route, so the oracle's generic endpoint stands in for the app's. Where no CORS header
came back at all and the app has no CORSMiddleware (or its config is unknown, --serve): the
middleware to add, with the keywords this very request needs.
"""

from __future__ import annotations

from typing import Any

from ..judge import causes as causes_mod
from ..judge import oracle
from ..scenario import RECONFIGURABLE_SHAPE, Probe
from ..spec import fetch_spec
from .browsers import Cell

SLIP = "the configured origin "
"""How the oracle's causes name an allow_origins entry that is the page's origin written
another way (judge/causes.py origin_refused)."""


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
            # the frontend written another way in the config (a trailing slash, case, scheme)
            slip = cause.sentence.partition(": ")[2] if SLIP in cause.sentence else ""
            return f"CORSMiddleware({keywords})" + (f" ({slip})" if slip else "")
        if cause.fix_note:
            return cause.fix_note
    return None


def _no_cors_at_all(cell: Cell, configs: list[dict[str, Any]]) -> bool:
    """A blocked frontend request whose answers carried no CORS header, from an app without
    CORSMiddleware (or whose config is unknown)."""
    if cell.role != "frontend" or cell.readable or cell.page_origin == "null" or configs:
        return False
    answers = cell.record.get("ledger") or []
    return bool(answers) and not any("access-control-allow-origin" in e["response_headers"]
                                     for e in answers)  # fmt: skip


def _keywords(frontends: list[str], specs: list[dict[str, Any]]) -> str:
    """CORSMiddleware keywords that let these requests through from these frontends."""
    keywords = [f"allow_origins={frontends!r}"]
    if any(spec.get("credentials") == "include" for spec in specs):
        keywords.append("allow_credentials=True")
    methods, headers = [], []
    for spec in specs:
        extra = [name for name, value in (spec.get("headers") or {}).items()
                 if not fetch_spec.is_safelisted_request_header(name, value)]  # fmt: skip
        headers += [h for h in extra if h not in headers]
        preflighted = bool(extra) or spec["method"] not in fetch_spec.SAFELISTED_METHODS
        if preflighted and spec["method"] != "GET" and spec["method"] not in methods:
            methods.append(spec["method"])  # Starlette's preflight checks it; a simple POST not
    if methods:
        keywords.append(f"allow_methods={methods!r}")
    if headers:
        keywords.append(f"allow_headers={headers!r}")
    return ", ".join(keywords)


def missing_cors_fix(cell: Cell, configs: list[dict[str, Any]], config_seen: bool,
                     cors_elsewhere: bool = False, trusted=()) -> str | None:  # fmt: skip
    """The middleware a blocked request needs, where no CORS header came back at all.
    `cors_elsewhere`: other answers of the app did carry CORS headers for this frontend (the
    pre-scan saw them), so this answer bypassed a CORS layer; `trusted`: origins the app's
    CORS does answer when it never answers this frontend (its list lacks it)."""
    if not _no_cors_at_all(cell, configs):
        return None
    if not cors_elsewhere and trusted:
        shown = ", ".join(trusted[:3]) + (" ..." if len(trusted) > 3 else "")
        return (f"the app's CORS answers other origins ({shown}) but never {cell.frontend}: "
                f"add it to the origins it allows, e.g. CORSMiddleware(allow_origins=[..., "
                f"{cell.frontend!r}])")  # fmt: skip
    if cors_elsewhere:
        status = (cell.record.get("check") or {}).get("status")
        if status is not None and status >= 500:
            return ("the app's other answers carry CORS headers, its errors do not (an "
                    "exception escaped the CORS middleware): wrap the whole app: "
                    "app = CORSMiddleware(app, ...)")  # fmt: skip
        return (
            "the app's other answers carry CORS headers, this one does not: a route or "
            "mounted app outside its CORS middleware? Put the middleware around it"
        )
    keywords = _keywords([cell.frontend], [cell.request.spec])
    add = f"app.add_middleware(CORSMiddleware, {keywords})"
    if cell.request.modelled_by == "/error":  # only an outermost middleware reaches a 500
        add = f"app = CORSMiddleware(app, {keywords}) (wraps errors too)"
    if config_seen:
        return f"the app has no CORSMiddleware: {add}"
    return f"no CORS header came back; if the app has no CORS middleware: {add}"


def missing_cors_all(cells: list[Cell], configs: list[dict[str, Any]],
                     cors_elsewhere: bool = False) -> str | None:  # fmt: skip
    """One line for every declared request that got no CORS header at all: the union of
    what each needs, from every frontend (not when the app has CORS for some answers)."""
    if cors_elsewhere or any("access-control-allow-origin" in e["response_headers"]
                             for c in cells for e in c.record.get("ledger") or []):  # fmt: skip
        return None
    blocked = [c for c in cells if c.request.declared and _no_cors_at_all(c, configs)]
    if len({c.request.kind for c in blocked}) < 2:
        return None  # one request: its own fix line says it all
    frontends = list(dict.fromkeys(c.frontend for c in blocked))
    specs = list({c.request.kind: c.request.spec for c in blocked}.values())
    return f"app.add_middleware(CORSMiddleware, {_keywords(frontends, specs)})"


def wildcard_fix(cell: Cell) -> str | None:
    """A blocked credentialed request answered `*` (Starlette before 1.0 does so under
    allow_origins=['*'] with credentials when no cookie comes yet, e.g. the login): the
    frontend's own origin is what a credentialed read needs."""
    if cell.role != "frontend" or cell.readable or cell.page_origin == "null":
        return None
    answer = cell.last_answer
    if cell.request.spec.get("credentials") != "include" or answer is None:
        return None
    if answer["response_headers"].get("access-control-allow-origin") != ["*"]:
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
    answer = cell.last_answer
    sent = set(answer.get("response_header_names") or []) if answer else set()
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
