"""`cors-matrix releases`: what changed for users between Starlette releases, measured.

From a `--cors-starlette A --cors-starlette B` run's records: per model change
(harness/spec/starlette_model.py)
between the oldest and newest release, every cell it explains, what each engine observed under
each release, and what that means for a user (an attacker page that can now read, an app page
that broke). Markdown, so it can live in docs/ and be regenerated from the next run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..run.results import readable as is_readable
from ..spec.starlette_model import changes_between, version_tuple
from .cell_view import outcome_label
from .merge import merge
from .sections import releases_view

ATTACKER_PAGES = ("attacker", "sandboxed")


def _meaning(records: list[dict[str, Any]]) -> str:
    """For a user: what the change did to this cell, from the oldest to the newest release."""
    old, new = records[0], records[-1]
    if old["verdict"] == "not-run" or new["verdict"] == "not-run":
        return "the config is refused (TypeError) in the older release"
    readable = [is_readable((r.get("observed") or {}).get("outcome")) for r in records]
    attacker = (old.get("page") or "") in ATTACKER_PAGES
    if readable[0] and not readable[-1]:
        return "safer: the attacker page lost its read" if attacker else "broke: the page's read"
    if readable[-1] and not readable[0]:
        return "less safe: the attacker page can now read" if attacker else "now works"
    old_h, new_h = (
        (old.get("observed") or {}).get("headers"),
        (new.get("observed") or {}).get("headers"),
    )
    if old_h != new_h:
        return f"readable headers differ: {old_h} -> {new_h}"
    return "the server saw something else (requests, preflights, cookies)"


def _cell_text(record: dict[str, Any]) -> str:
    return outcome_label(record) if record["verdict"] != "not-run" else "not run"


def releases_markdown(paths: list[Path]) -> str:
    merged = merge(paths)
    rows = releases_view(merged.cells) or []
    releases = sorted({k[4] for k in merged.cells if len(k) > 4}, key=version_tuple)
    if len(releases) < 2:
        raise ValueError(
            "these records are not from a run with two or more --cors-starlette releases"
        )
    engines = sorted({k[2] for k in merged.cells})
    builds = {}
    for record in merged.cells.values():
        if record.get("browser_version"):
            builds.setdefault(record["browser"], str(record["browser_version"]))
    lines = [
        f"# What changed for users between Starlette {releases[0]} and {releases[-1]}",
        "",
        "Measured, not predicted: `pytest scenarios/ "
        + " ".join(f"--cors-starlette {v}" for v in releases)
        + "`, then `cors-matrix releases` on its records. Engines: "
        + ", ".join(f"{e} {builds.get(e, '?')}" for e in engines)
        + "; cookie policy "
        + ", ".join(sorted({k[3] for k in merged.cells}))
        + ". Every row is a cell whose observation differs between the releases; the change that"
        " explains it is the model's entry (harness/spec/starlette_model.py), with its source.",
        "",
    ]
    header = ["cell", *engines, "for a user"]
    for change in changes_between(releases[0], releases[-1]):
        mine = [r for r in rows if change.id in [e["id"] for e in r["explained"]]]
        lines += [f"## `{change.id}` (since {change.since}): {change.source}", "",
                  f"Before: {change.before}. Since: {change.after}.", ""]  # fmt: skip
        if not mine:
            lines += ["No cell of this run differs by it as a page sees it, in any engine (the"
                      " server's answers differ: see the records' ledger).", ""]  # fmt: skip
            continue
        lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        by_cell: dict[str, dict[str, dict[str, Any]]] = {}
        for row in mine:  # key: scenario, probe, browser, policy
            by_cell.setdefault(row["cell"], {})[row["key"][2]] = row
        for cell, per_engine in sorted(by_cell.items()):
            texts, meaning = [], ""
            for engine in engines:
                row = per_engine.get(engine)
                if row is None:
                    texts.append("same in both")
                    continue
                records = [merged.cells[(*row["key"], o["release"])] for o in row["outcomes"]]
                texts.append(
                    " → ".join(
                        f"{o['release']}: {_cell_text(r)}"
                        for o, r in zip(row["outcomes"], records, strict=True)
                    )
                )
                meaning = meaning or _meaning(records)
            lines.append(f"| {cell} | " + " | ".join(texts) + f" | {meaning} |")
        lines.append("")
    unexplained = [r for r in rows if not r["explained"]]
    if unexplained:
        lines += ["## Not explained by any model entry", ""]
        lines += [f"- {r['cell']} in {r['column']}" for r in unexplained] + [""]
    return "\n".join(lines)
