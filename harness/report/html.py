"""Result records -> a self-contained static HTML compatibility report (and JUnit XML).

Everything here is computed from records only (never from live objects): several results files
merge into one grid of (scenario, probe) rows x (engine, cookie policy) columns; duplicate and
conflicting cells are reported, not dropped; a baseline's records show what changed.
"""

from __future__ import annotations

import shutil
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

from jinja2 import Environment, PackageLoader, select_autoescape

from ..run.results import ARTIFACTS
from .cell_view import (
    bucket,
    column_label,
    explanation,
    fix_in_real_origins,
    outcome_label,
    run_origins,
    security_finding,
    server_marks,
)
from .merge import Merged, diff_baseline, merge
from .sections import claims_view, column_order, fixes_verified, releases_view, slug, trend_view


def build_view(
    merged: Merged, baseline: Merged | None = None, history: list[Merged] | None = None
) -> dict[str, Any]:
    """Everything the template shows, as plain data."""
    cells = merged.cells
    columns = sorted({k[2:] for k in cells}, key=column_order)
    versions: dict[tuple[str, ...], set[str]] = defaultdict(set)
    for k, r in cells.items():
        if r.get("browser_version"):
            versions[k[2:]].add(str(r["browser_version"]))
    rows_by_theme: dict[str, list[dict[str, Any]]] = defaultdict(list)
    row_keys = sorted({(r.get("theme") or "general", k[0], k[1]) for k, r in cells.items()})
    counts: dict[tuple[str, ...], Counter] = defaultdict(Counter)
    findings, divergences, details = [], [], []
    verified = fixes_verified(cells.values())
    origins = run_origins(cells.values())
    for theme, scenario, probe in row_keys:
        row_cells = []
        description = ""
        for col in columns:
            record = cells.get((scenario, probe, *col))
            if record is None:
                row_cells.append(None)
                continue
            pages = origins.get(record.get("_file", ""), {})
            description = record.get("description", description)
            b = bucket(record)
            counts[col][b] += 1
            anchor = slug(scenario, probe, *col)
            conflict = (scenario, probe, *col) in merged.conflicts
            finding = security_finding(record)
            cell = {
                "anchor": anchor,
                "bucket": b,
                "label": outcome_label(record),
                "conflict": conflict,
                "record": record,
                "server": server_marks(record),
                "finding": finding,
            }
            row_cells.append(cell)
            if finding:
                findings.append(
                    {
                        **finding,
                        "anchor": anchor,
                        "cell": f"{scenario} / {probe}",
                        "column": column_label(col),
                    }
                )
            if b == "diverge":
                divergences.append(
                    {
                        "anchor": anchor,
                        "cell": f"{scenario} / {probe}",
                        "column": column_label(col),
                        "reason": record["reason"],
                    }
                )
            details.append(
                {
                    "anchor": anchor,
                    "record": record,
                    "bucket": b,
                    "label": cell["label"],
                    "explanation": explanation(record),
                    "causes": [
                        {
                            **c,
                            **verified.get((scenario, probe, c["code"]), {}),
                            "fix": fix_in_real_origins(c.get("fix"), record, pages),
                        }
                        for c in record.get("causes") or []
                    ],  # fmt: skip
                    "finding": finding,
                    "conflicts": merged.conflicts.get((scenario, probe, *col), []),
                }
            )
        codes = sorted({c["code"] for cell in row_cells if cell
                        for c in cell["record"].get("causes") or []})  # fmt: skip
        rows_by_theme[theme].append(
            {"scenario": scenario, "probe": probe, "cells": row_cells, "description": description,
             "codes": codes}
        )  # fmt: skip
    totals = Counter()
    for c in counts.values():
        totals.update(c)
    order = {"high": 0, "medium": 1, "low": 2}
    grouped: dict[tuple[str, str, str], dict[str, Any]] = {}
    for f in findings:  # one line per finding, naming every column it was confirmed in
        entry = grouped.setdefault((f["severity"], f["cell"], f["text"]), {**f, "columns": []})
        entry["columns"].append(f["column"])
    return {
        "generated": time.strftime("%Y-%m-%d %H:%M:%S"),
        "sources": merged.sources,
        "columns": [
            {
                "browser": col[0],
                "policy": col[1],
                "starlette": col[2] if len(col) > 2 else None,
                "versions": sorted(versions[col]),
                "counts": dict(counts[col]),
                "passed": counts[col]["spec"] + counts[col]["engine"],
                "run": sum(counts[col].values()) - counts[col]["not-run"],
            }
            for col in columns
        ],
        "releases": releases_view(cells),
        "themes": dict(sorted(rows_by_theme.items())),
        "totals": dict(totals),
        "total_passed": totals["spec"] + totals["engine"],
        "total_cells": sum(totals.values()),
        "findings": sorted(grouped.values(), key=lambda f: (order[f["severity"]], f["cell"])),
        "divergences": divergences,
        "details": details,
        "problems": merged.problems,
        "changes": diff_baseline(cells, baseline.cells) if baseline else None,
        "claims": claims_view(merged),
        "trend": trend_view(history or ([baseline] if baseline else []), merged),
    }


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
ZIP_SIGNATURE = b"PK\x03\x04"
ARTIFACT_KINDS = {"screenshot": (PNG_SIGNATURE, ".png"), "trace": (ZIP_SIGNATURE, ".trace.zip")}


def _located(named: str, root: Path) -> Path | None:
    """An artifact file inside `root` (resolved, symlinks followed): where the record names it,
    or, for a shard that ran on another machine (a nightly job) and whose artifact folder was
    downloaded to `root`, at the same place under `root` (the part after `results/artifacts/`)."""
    candidates = [Path(named)]
    if f"{ARTIFACTS}/" in named:
        candidates.append(root / named.rsplit(f"{ARTIFACTS}/", 1)[1])
    for candidate in candidates:
        source = candidate.resolve()
        if source.is_relative_to(root) and source.is_file():
            return source
    return None


def _copy_artifacts(view: dict[str, Any], out: Path, root: Path) -> None:
    """Screenshots and traces become part of the static site (the report must work when
    moved). Only a file that really lies in the run's artifact folder and is what it claims
    (a PNG, a zip) is copied: a record (a poisoned shard in the nightly merge) may name any
    file, e.g. /proc/self/environ, and the report is published."""
    root = root.resolve()
    for detail in view["details"]:
        artifacts = detail["record"].get("artifacts") or {}
        for kind, (signature, suffix) in ARTIFACT_KINDS.items():
            named = artifacts.get(kind)
            if not named:
                continue
            source = _located(named, root)
            if source is None:
                view["problems"].append(f"{detail['anchor']}: {kind} {named!r} is not in the "
                                        f"artifact folder {root}; not copied")  # fmt: skip
                continue
            with open(source, "rb") as fh:
                if fh.read(len(signature)) != signature:
                    view["problems"].append(f"{detail['anchor']}: {kind} {named!r} is not a "
                                            f"{suffix.lstrip('.')} file; not copied")  # fmt: skip
                    continue
            target = out / "artifacts" / f"{detail['anchor']}{suffix}"
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
            detail[kind] = f"artifacts/{target.name}"


def render(view: dict[str, Any]) -> str:
    env = Environment(
        loader=PackageLoader(__package__, "templates"), autoescape=select_autoescape(["html", "j2"])
    )
    env.filters["pretty"] = _pretty
    return env.get_template("report.html.j2").render(**view)


def _pretty(value: Any) -> str:
    import json

    return json.dumps(value, indent=2, sort_keys=True, default=str)


def write_report(
    paths: list[Path],
    out: Path,
    baseline: list[Path] | None = None,
    artifacts_root: Path = Path(ARTIFACTS),
    history: list[list[Path]] | None = None,
) -> dict[str, Any]:
    """Merge, render and write `out/index.html` (plus the screenshots found under
    `artifacts_root`, the run's artifact folder); return the view. `baseline`: the previous
    run's files (what changed); `history`: earlier runs, oldest first, each its files (the
    trend; the last one is the baseline when `baseline` is not given)."""
    history = history or []
    if baseline is None and history:
        baseline = history[-1]
    every = [*paths, *(baseline or []), *(p for run in history for p in run)]
    missing = [str(p) for p in every if not p.is_file()]
    if missing:
        raise FileNotFoundError(f"results file not found: {', '.join(missing)}")
    earlier = [merge(run) for run in history]
    view = build_view(merge(paths), merge(baseline) if baseline else None, earlier)
    out.mkdir(parents=True, exist_ok=True)
    _copy_artifacts(view, out, artifacts_root)
    tmp = out / "index.html.tmp"
    tmp.write_text(render(view), encoding="utf-8")
    tmp.replace(out / "index.html")
    return view


def write_junit(view: dict[str, Any], path: Path) -> None:
    """One testcase per cell: divergences are failures, not-run cells are skipped, cells that
    failed to run are errors."""
    suites = ET.Element("testsuites", name="cors-matrix")
    by_column: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for d in view["details"]:
        r = d["record"]
        column = f"{r['browser']}-{r.get('cookie_policy')}"
        column += f"-starlette{r['starlette_axis']}" if r.get("starlette_axis") else ""
        by_column[column].append(d)
    for column, details in sorted(by_column.items()):
        suite = ET.SubElement(
            suites,
            "testsuite",
            name=column,
            tests=str(len(details)),
            failures=str(sum(d["bucket"] == "diverge" for d in details)),
            skipped=str(sum(d["bucket"] == "not-run" for d in details)),
            errors=str(sum(d["bucket"] == "error" for d in details)),
        )
        for d in details:
            r = d["record"]
            case = ET.SubElement(
                suite,
                "testcase",
                classname=f"{r.get('theme')}.{r['scenario']}",
                name=f"{r['probe']}[{column}]",
                time=str((r.get("duration_ms") or 0) / 1000),
            )
            if d["bucket"] == "diverge":
                ET.SubElement(case, "failure", message=r["reason"]).text = _pretty(
                    {"expected": r.get("expected"), "observed": r.get("observed")}
                )
            elif d["bucket"] == "not-run":
                ET.SubElement(case, "skipped", message=r["reason"])
            elif d["bucket"] == "error":
                ET.SubElement(case, "error", message=r["reason"])
    path.parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(suites).write(path, encoding="utf-8", xml_declaration=True)
