"""Result records -> a self-contained static HTML compatibility report (and JUnit XML).

Everything here is computed from records only (never from live objects): several results files
merge into one grid of (scenario, probe) rows x (engine, cookie policy) columns; duplicate and
conflicting cells are reported, not dropped; a baseline's records show what changed.
"""

from __future__ import annotations

import re
import shutil
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

from jinja2 import Environment, PackageLoader, select_autoescape

from . import PACKAGE, oracle
from .claims import FAILS, NOT_RUN, check_claims
from .probe import readable
from .results import ARTIFACTS, read_records
from .starlette_model import changes_between as starlette_changes_between
from .starlette_model import version_tuple

# scenario, probe, browser, cookie policy[, starlette release: only in --cors-starlette runs]
Key = tuple[str, ...]
SPEC_LINKS = {
    "preflight": "https://fetch.spec.whatwg.org/#cors-preflight-fetch",
    "cors-check": "https://fetch.spec.whatwg.org/#concept-cors-check",
    "expose": "https://fetch.spec.whatwg.org/#concept-filtered-response-cors",
    "cookie": "https://httpwg.org/http-extensions/draft-ietf-httpbis-rfc6265bis.html#name-samesite-cookies",
    "no-cors": "https://fetch.spec.whatwg.org/#concept-filtered-response-opaque",
}


def key_of(record: dict[str, Any]) -> Key:
    key = (
        record["scenario"],
        record["probe"],
        record["browser"],
        record.get("cookie_policy") or "unknown",
    )
    release = record.get("starlette_axis")
    return (*key, str(release)) if release else key


def column_label(column: tuple[str, ...]) -> str:
    """'chromium (block-third-party)', plus ', starlette 0.27.0' in a --cors-starlette run."""
    extra = f", starlette {column[2]}" if len(column) > 2 else ""
    return f"{column[0]} ({column[1]}{extra})"


def bucket(record: dict[str, Any]) -> str:
    """Colour bucket: spec (matches the spec itself), engine (matches an engine-adjusted
    expectation that departs from the spec), diverge, not-run, error (failed to run)."""
    if record["verdict"] in ("not-run", "error"):
        return record["verdict"]
    if record["verdict"] == "diverge":
        return "diverge"
    return "spec" if record.get("spec_agrees_with_expected", True) else "engine"


OUTCOME_LABELS = {
    "ok": "readable",
    "http-error": "readable (HTTP error)",
    "cors-error": "CORS error",
    "opaque": "opaque",
    "invalid-request": "refused by the page (invalid request, nothing sent)",
    "error": "page error (not CORS)",
    "timeout": "timed out",
}


def outcome_label(record: dict[str, Any]) -> str:
    if record["verdict"] == "error":
        return "failed to run"
    if record["verdict"] == "not-run" or not record.get("observed"):
        return "not run"
    return OUTCOME_LABELS.get(record["observed"]["outcome"], record["observed"]["outcome"])


def server_marks(record: dict[str, Any]) -> dict[str, Any] | None:
    """What the server saw, as short text marks beside the page's outcome (readable without
    colour): R n requests reached the server, P n preflights, C:name cookies that arrived, A
    Authorization arrived; `ran_blocked` when the page could not read the answer yet the
    request ran on the server (what users most often get wrong). None for a cell that did not
    run."""
    observed = record.get("observed")
    if record["verdict"] in ("not-run", "error") or not observed:
        return None
    requests, preflights = observed.get("requests") or 0, observed.get("preflights") or 0
    cookies = observed.get("cookies_received") or []
    marks = [{"text": f"R{requests}", "title": f"the request reached the server {requests}x"
              if requests else "the request never reached the server"}]  # fmt: skip
    if preflights:
        marks.append({"text": f"P{preflights}", "title": f"{preflights} preflight(s) reached it"})
    if cookies:
        more = f"+{len(cookies) - 1}" if len(cookies) > 1 else ""
        marks.append({"text": f"C:{cookies[0]}{more}",
                      "title": "cookies that arrived: " + ", ".join(cookies)})  # fmt: skip
    if observed.get("authorization_received"):
        marks.append({"text": "A", "title": "the Authorization header arrived"})
    ran_blocked = requests > 0 and not readable(observed.get("outcome"))
    if ran_blocked:
        marks.insert(0, {"text": "\u26a0 ran", "title": "the page could not read the answer, "
                         "but the request ran on the server"})  # fmt: skip
    return {"marks": marks, "ran_blocked": ran_blocked}


def _reason_source(reason: str) -> str:
    lower = reason.lower()
    if "cookie" in lower:
        return SPEC_LINKS["cookie"]
    if "no-cors" in lower:
        return SPEC_LINKS["no-cors"]
    if "expose" in lower:
        return SPEC_LINKS["expose"]
    if "preflight" in lower:
        return SPEC_LINKS["preflight"]
    return SPEC_LINKS["cors-check"]


def explanation(record: dict[str, Any]) -> list[dict[str, str]]:
    """The oracle's reasoning as sentences with a source link each (spec or engine difference)."""
    expected = record.get("expected") or {}
    sources = {d.id: d.source for d in oracle.differences()}
    lines = [{"text": r, "source": _reason_source(r)} for r in expected.get("reasons", [])]
    for diff in expected.get("differences", []):
        source = sources.get(diff, "")
        url = source.split(" ", 1)[0] if source else ""
        lines.append({"text": f"engine difference applied: {diff}", "source": url})
    if not lines and expected:
        lines.append(
            {"text": "the request passed every CORS check", "source": SPEC_LINKS["cors-check"]}
        )
    return lines


def security_finding(record: dict[str, Any]) -> dict[str, Any] | None:
    """A page origin that no sane config allows (`attacker`) could read the API's answer."""
    observed = record.get("observed") or {}
    if record.get("page") != "attacker" or not readable(observed.get("outcome")):
        return None
    request = record.get("request") or {}
    credentialed = request.get("credentials") == "include"
    with_secrets = bool(observed.get("cookies_received")) or observed.get("authorization_received")
    severity = "high" if credentialed and with_secrets else "medium" if credentialed else "low"
    what = "a credentialed response" if credentialed else "the response"
    if with_secrets:
        what += " (cookies/Authorization arrived)"
    return {"severity": severity, "text": f"the attacker origin can read {what}"}


@dataclass
class Merged:
    cells: dict[Key, dict[str, Any]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)  # skipped lines, duplicates, conflicts
    conflicts: dict[Key, list[dict[str, Any]]] = field(default_factory=dict)
    sources: list[str] = field(default_factory=list)


def _same_observation(a: dict[str, Any], b: dict[str, Any]) -> bool:
    def core(r):
        obs = r.get("observed") or {}
        return r["verdict"], {k: obs.get(k) for k in oracle.COMPARED_KEYS}

    return core(a) == core(b)


def merge(paths: list[Path]) -> Merged:
    """Read every file; the first record of a cell wins, later ones are duplicates or conflicts."""
    merged = Merged(sources=[str(p) for p in paths])
    for path in paths:
        for _, record, problem in read_records(path):
            if problem:
                merged.problems.append(problem)
                continue
            key = key_of(record)
            record["_file"] = str(path)
            first = merged.cells.get(key)
            if first is None:
                merged.cells[key] = record
            elif _same_observation(first, record):
                merged.problems.append(
                    f"duplicate cell {'/'.join(key)} in {path} (same observation)"
                )
            else:
                merged.conflicts.setdefault(key, [first]).append(record)
                merged.problems.append(
                    f"conflicting cell {'/'.join(key)}: {first['_file']} says "
                    f"{outcome_label(first)}/{first['verdict']}, {path} says "
                    f"{outcome_label(record)}/{record['verdict']}"
                )
    return merged


def diff_baseline(
    now: dict[Key, dict[str, Any]], before: dict[Key, dict[str, Any]]
) -> list[dict[str, Any]]:
    """What changed since the baseline, new divergences first."""
    changes = []
    for key in sorted(set(now) | set(before)):
        a, b = before.get(key), now.get(key)
        label = "/".join(key)
        if b is None:
            changes.append(
                {"rank": 4, "kind": "removed", "cell": label, "text": "cell no longer run"}
            )
        elif a is None:
            rank = 0 if b["verdict"] == "diverge" else 3
            changes.append(
                {"rank": rank, "kind": "new", "cell": label, "text": f"new cell: {b['verdict']}"}
            )
        elif b["verdict"] == "error" and a["verdict"] != "error":
            changes.append(
                {"rank": 1, "kind": "new error", "cell": label,
                 "text": f"was {a['verdict']}, now failed to run: {b['reason']}"}
            )  # fmt: skip
        elif b["verdict"] == "diverge" and a["verdict"] != "diverge":
            changes.append(
                {
                    "rank": 0,
                    "kind": "new divergence",
                    "cell": label,
                    "text": f"was {a['verdict']}, now diverges: {b['reason']}",
                }
            )
        elif a["verdict"] == "diverge" and b["verdict"] != "diverge":
            changes.append(
                {"rank": 1, "kind": "fixed", "cell": label, "text": f"now {b['verdict']}"}
            )
        elif not _same_observation(a, b):
            changes.append(
                {
                    "rank": 2,
                    "kind": "changed",
                    "cell": label,
                    "text": f"observed {outcome_label(a)} then, {outcome_label(b)} now",
                }
            )
    return sorted(changes, key=lambda c: (c["rank"], c["cell"]))


def slug(*parts: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", "--".join(parts)).strip("-")


def _column_order(column: tuple[str, ...]) -> tuple[Any, ...]:
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
    return sorted(engines, key=lambda b: _column_order((b, "")))


def claims_view(merged: Merged) -> list[dict[str, Any]]:
    """The guide's claims, each judged per engine, with links to the cells that decide it."""
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


def build_view(
    merged: Merged, baseline: Merged | None = None, history: list[Merged] | None = None
) -> dict[str, Any]:
    """Everything the template shows, as plain data."""
    cells = merged.cells
    columns = sorted({k[2:] for k in cells}, key=_column_order)
    versions: dict[tuple[str, ...], set[str]] = defaultdict(set)
    for k, r in cells.items():
        if r.get("browser_version"):
            versions[k[2:]].add(str(r["browser_version"]))
    rows_by_theme: dict[str, list[dict[str, Any]]] = defaultdict(list)
    row_keys = sorted({(r.get("theme") or "general", k[0], k[1]) for k, r in cells.items()})
    counts: dict[tuple[str, ...], Counter] = defaultdict(Counter)
    findings, divergences, details = [], [], []
    verified = fixes_verified(cells.values())
    for theme, scenario, probe in row_keys:
        row_cells = []
        description = ""
        for col in columns:
            record = cells.get((scenario, probe, *col))
            if record is None:
                row_cells.append(None)
                continue
            description = record.get("description", description)
            b = bucket(record)
            counts[col][b] += 1
            anchor = slug(scenario, probe, *col)
            conflict = (scenario, probe, *col) in merged.conflicts
            cell = {
                "anchor": anchor,
                "bucket": b,
                "label": outcome_label(record),
                "conflict": conflict,
                "record": record,
                "server": server_marks(record),
            }
            row_cells.append(cell)
            finding = security_finding(record)
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
                        {**c, **verified.get((scenario, probe, c["code"]), {})}
                        for c in record.get("causes") or []
                    ],
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
            source = Path(named).resolve()  # symlinks followed
            if not source.is_relative_to(root) or not source.is_file():
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
        loader=PackageLoader(PACKAGE, "templates"), autoescape=select_autoescape(["html", "j2"])
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
