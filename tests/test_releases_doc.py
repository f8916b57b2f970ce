"""The release comparison (report section and `python -m harness releases`) from records."""

import json

from cors_matrix.cli import main
from cors_matrix.report.releases_doc import releases_markdown
from cors_matrix.run.results import SCHEMA


def _record(probe, release, outcome, changes, page="attacker", headers=None):
    return {
        "schema": SCHEMA, "scenario": "s", "probe": probe, "browser": "chromium",
        "cookie_policy": "block-third-party", "starlette_axis": release, "page": page,
        "page_origin": "http://localhost:1", "url": "http://127.0.0.1:2/data", "expected": {},
        "verdict": "match", "reason": "", "browser_version": "156",
        "observed": {"outcome": outcome, "headers": headers or {}}, "starlette_changes": changes,
    }  # fmt: skip


def _write(tmp_path, records):
    path = tmp_path / "run.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def test_each_difference_is_explained_by_the_change_between_the_releases(tmp_path):
    path = _write(tmp_path, [
        _record("mirror", "0.27.0", "cors-error", ["wildcard-credentials-mirror"]),
        _record("mirror", "1.10.0", "ok", ["wildcard-credentials-mirror"]),
        _record("same", "0.27.0", "ok", []), _record("same", "1.10.0", "ok", []),
        _record("odd", "0.27.0", "ok", [], page="app"),
        _record("odd", "1.10.0", "cors-error", [], page="app"),
    ])  # fmt: skip
    text = releases_markdown([path])
    row = next(line for line in text.splitlines() if line.startswith("| s / mirror"))
    assert "0.27.0: CORS error → 1.10.0: readable" in row
    assert "less safe: the attacker page can now read" in row
    assert "s / same" not in text
    # a difference no model entry explains is listed as such, not hidden
    assert "## Not explained by any model entry\n\n- s / odd in chromium" in text
    assert "`query-method` (since 1.7)" in text  # every change between the releases has a part


def test_records_without_two_releases_are_refused_in_one_line(tmp_path, capsys):
    path = _write(tmp_path, [{**_record("p", None, "ok", []), "starlette_axis": None}])
    assert main(["releases", str(path)]) == 2
    assert capsys.readouterr().err.strip().endswith("two or more --cors-starlette releases")
    assert main(["releases", str(tmp_path / "nope.jsonl")]) == 2
