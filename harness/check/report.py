"""The check's HTML report: the verdict, findings by root cause, then per frontend a row per
request and a column per engine (frontend rows first), the attacker origins, the pre-scan, and
each cell's evidence (what the page saw, what the server saw) behind its own anchor."""

from __future__ import annotations

import json
import os
from pathlib import Path

from jinja2 import Environment, FileSystemLoader

from .summary import Summary

TEMPLATES = Path(__file__).resolve().parent / "templates"


def _rows(cells, role):
    """[(request kind, page origin, origin kind, {browser: cell})] in the order they ran."""
    rows: dict[tuple[str, str], dict] = {}
    for cell in cells:
        if cell.role == role:
            key = (cell.page_origin, cell.request.kind)
            rows.setdefault(
                key,
                {
                    "origin": cell.page_origin,
                    "kind": cell.origin_kind,
                    "request": cell.request.kind,
                    "by_browser": {},
                },
            )
            rows[key]["by_browser"][cell.browser] = cell
    return list(rows.values())


def write_check_report(summary: Summary, out: Path) -> Path:
    # always escaped: headers, bodies and origins come from the app under check
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=True)
    env.filters["pretty"] = lambda value: json.dumps(value, indent=1, sort_keys=True)
    browsers = sorted({c.browser for c in summary.cells})
    trusted = summary.prescan.trusted(summary.frontends) if summary.prescan else {}
    html = env.get_template("check.html.j2").render(
        s=summary, browsers=browsers,
        frontends=[(f, _rows([c for c in summary.cells if c.frontend == f], "frontend"))
                   for f in summary.frontends],
        attackers=_rows(summary.cells, "attacker"), trusted=trusted,
        confirmations=_rows(summary.confirmations, "attacker"),
    )  # fmt: skip
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / "index.html.tmp"
    tmp.write_text(html, encoding="utf-8")
    os.replace(tmp, out / "index.html")
    return out / "index.html"
