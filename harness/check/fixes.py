"""The smallest fix for a blocked frontend request, in the app's own CORSMiddleware keywords.

Only where the app's config is known (the `module:app` routes read it) and Starlette's
middleware is what answered: the oracle's model of that config is asked why the request fails
and harness/causes.py turns its reasons into a keyword change. The CORS answer does not depend
on the route, so the oracle's generic endpoint stands in for the app's.
"""

from __future__ import annotations

from typing import Any

from .. import causes as causes_mod
from .. import oracle
from ..scenario import RECONFIGURABLE_SHAPE, Probe
from .browsers import Cell


def _literal(value: Any, frontend: str) -> str:
    """A keyword value as Python source, with the {app} placeholder as the real frontend."""
    if isinstance(value, str):
        return repr(value.replace("{app}", frontend))
    if isinstance(value, list):
        return "[" + ", ".join(_literal(v, frontend) for v in value) + "]"
    return repr(value)


def config_fix(cell: Cell, configs: list[dict[str, Any]], api_origin: str) -> str | None:
    if cell.role != "frontend" or cell.readable or cell.page_origin == "null":
        return None
    top = [c for c in configs if c.get("mount", "") == ""]
    if len(top) != 1 or not isinstance(top[0]["kwargs"].get("allow_origins", []), list):
        return None  # no config, several, or one the model does not take (a string)
    config = top[0]
    spec = cell.request.spec
    probe = Probe(name="check", method=spec["method"], path=cell.request.modelled_by,
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
