"""The report's sections beside the grid: fixes verified by a re-run, the guide's claims, the
Starlette releases and the trend over earlier runs."""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path
from typing import Any

from ..judge import oracle
from ..run.results import Key, key_of
from ..spec.starlette_model import changes_between as starlette_changes_between
from ..spec.starlette_model import version_tuple
from .cell_view import column_label, outcome_label
from .claims import FAILS, NOT_RUN, check_claims
from .merge import Merged


def slug(*parts: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", "--".join(parts)).strip("-")


def column_order(column: tuple[str, ...]) -> tuple[Any, ...]:
    engines = ("chromium", "firefox", "webkit")
    index = engines.index(column[0]) if column[0] in engines else len(engines)
    release = version_tuple(column[2]) if len(column) > 2 else ()
    return (index, column[1], release)


def fixes_verified(records) -> dict[tuple[str, str, str], dict[str, list[str]]]:
    """Per (scenario, probe, cause code): the engines whose re-run with the fix worked (readable
    from the page, still unreadable from the attacker unless it already was) and those where
    it did not."""
    out: dict[tuple[str, str, str], dict[str, list[str]]] = {}
    for record in records:
        for cause in record.get("causes") or []:
            check = cause.get("verified")
            if not check:
                continue
            entry = out.setdefault((record["scenario"], record["probe"], cause["code"]),
                                   {"verified_in": [], "failed_in": []})  # fmt: skip
            closed = check["attacker_blocked"] or check.get("attacker_allowed_before")
            ok = check["page_readable"] and closed
            where = entry["verified_in" if ok else "failed_in"]
            if record["browser"] not in where:
                where.append(record["browser"])
    for entry in out.values():
        entry["verified_in"].sort()
        entry["failed_in"].sort()
    return out


def _engines_of(*runs: Merged) -> list[str]:
    """The engines of these runs' cells, in the grid's column order."""
    engines = {k[2] for merged in runs for k in merged.cells}
    return sorted(engines, key=lambda b: column_order((b, "")))


def claims_view(merged: Merged) -> list[dict[str, Any]]:
    """The guide's claims this run has cells for, each judged per engine, with links to the
    cells that decide it (a run of a user's own scenarios usually has none: no section)."""
    engines = _engines_of(merged)
    rows = []
    for result in check_claims(list(merged.cells.values())):
        cells: dict[str, list[dict[str, Any]]] = {}
        for item in result.evidence:
            r = item["record"]
            policy = r.get("cookie_policy") or "unknown"
            cells.setdefault(f"{r['scenario']} / {r['probe']}", []).append({
                "anchor": slug(*key_of(r)),
                "text": f"{r['browser']} ({policy.split('-')[0]})",
                "engine": r["browser"], "as_claimed": item["as_claimed"],
            })  # fmt: skip
        if not cells:  # the run has none of the cells that decide it: no row at all
            continue
        per_engine = []
        for engine in engines:
            verdict = result.per_engine.get(engine, NOT_RUN)
            mine = [link for links in cells.values() for link in links if link["engine"] == engine]
            first = next((link for link in mine if verdict != FAILS or not link["as_claimed"]),
                         None)  # fmt: skip
            per_engine.append({"engine": engine, "verdict": verdict,
                               "anchor": first["anchor"] if first else None})  # fmt: skip
        rows.append({"id": result.claim.id, "guide": result.claim.guide,
                     "per_engine": per_engine, "cells": cells})  # fmt: skip
    return rows


def releases_view(cells: dict[Key, dict[str, Any]]) -> list[dict[str, Any]] | None:
    """In a --cors-starlette run: every cell whose outcome or compared observation differs between
    releases, with the model's changes that explain it (the changes between those releases
    that, by the oracle, decide the cell), or none (then it is unexplained)."""
    by_cell: dict[Key, dict[str, dict[str, Any]]] = defaultdict(dict)
    for key, record in cells.items():
        if len(key) > 4 and record["verdict"] != "error":
            by_cell[key[:4]][key[4]] = record
    if not by_cell:
        return None
    rows = []
    for key, per_release in sorted(by_cell.items()):
        releases = sorted(per_release, key=version_tuple)
        observed = {v: _observation(per_release[v]) for v in releases}
        if len(set(map(repr, observed.values()))) <= 1:
            continue
        deciding = set()
        for record in per_release.values():
            deciding.update(record.get("starlette_changes") or [])
        explained = [
            {"id": c.id, "since": c.since, "before": c.before, "after": c.after,
             "source": c.source}
            for c in starlette_changes_between(releases[0], releases[-1]) if c.id in deciding
        ]  # fmt: skip
        rows.append({
            "key": list(key), "cell": f"{key[0]} / {key[1]}", "column": column_label(key[2:]),
            "outcomes": [{"release": v, "label": outcome_label(per_release[v]),
                          "anchor": slug(*key, v), "verdict": per_release[v]["verdict"],
                          "reason": per_release[v].get("reason")}
                         for v in releases],
            "differs_in": sorted({k for v in releases for k, value in observed[v].items()
                                  if value != observed[releases[0]].get(k)}),
            "explained": explained,
        })  # fmt: skip
    return rows


def _observation(record: dict[str, Any]) -> dict[str, Any]:
    if record["verdict"] == "not-run":  # e.g. an option the release does not have
        return {"not run": record.get("reason")}
    observed = record.get("observed") or {}
    return {k: observed.get(k) for k in oracle.COMPARED_KEYS}


def trend_view(history: list[Merged], now: Merged) -> dict[str, Any] | None:
    """Per engine, cells as expected in each earlier run (oldest first) and now."""
    if not history:
        return None
    runs = [*history, now]
    engines = _engines_of(*runs)
    labels = [", ".join(Path(s).stem for s in m.sources) for m in history] + ["this run"]
    rows = []
    for engine in engines:
        points = []
        for m in runs:
            mine = [r for k, r in m.cells.items() if k[2] == engine]
            ran = [r for r in mine if r["verdict"] != "not-run"]
            passed = sum(1 for r in ran if r["verdict"] == "match")
            points.append({"passed": passed, "run": len(ran),
                           "rate": passed / len(ran) if ran else None})  # fmt: skip
        bars = "".join(" " if p["rate"] is None else SPARKS[min(7, int(p["rate"] * 7.999))]
                       for p in points)  # fmt: skip
        rows.append({"engine": engine, "points": points, "spark": bars})
    return {"labels": labels, "rows": rows}


SPARKS = "\u2581\u2582\u2583\u2584\u2585\u2586\u2587\u2588"
