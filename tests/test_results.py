"""Results files: one JSON line per cell; readers skip what a crash or another version left."""

import json

import pytest

from cors_matrix.run.results import SCHEMA, ResultsWriter, read_records

RECORD = {"scenario": "s", "probe": "p", "browser": "chromium", "browser_version": "1",
          "page_origin": "http://localhost:1", "url": "http://localhost:2/data", "observed": {},
          "expected": None, "verdict": "match", "reason": "r"}  # fmt: skip


def test_each_record_is_on_disk_as_soon_as_it_is_written(tmp_path):
    path = tmp_path / "r.jsonl"
    writer = ResultsWriter(path)
    writer.write(RECORD)
    # readable before close: a crash after this point loses nothing
    assert json.loads(path.read_text())["schema"] == SCHEMA
    writer.close()


def test_incomplete_records_are_refused(tmp_path):
    writer = ResultsWriter(tmp_path / "r.jsonl")
    with pytest.raises(ValueError, match="lacks"):
        writer.write({"scenario": "s"})
    with pytest.raises(ValueError, match="unknown verdict"):
        writer.write({**RECORD, "verdict": "ok"})
    writer.close()


def test_reader_skips_truncated_and_foreign_lines_and_says_so(tmp_path):
    path = tmp_path / "r.jsonl"
    good = json.dumps({"schema": SCHEMA, **RECORD})
    path.write_text(good + "\n" + json.dumps({"schema": 99, **RECORD}) + "\n" + good[:40])
    rows = list(read_records(path))
    assert [r is not None for _, r, _ in rows] == [True, False, False]
    assert "schema 99 is not 1" in rows[1][2]
    assert "not valid JSON" in rows[2][2] and ":3:" in rows[2][2]


def test_flake_check_lists_cells_whose_observation_changed(tmp_path):
    from cors_matrix.run.flake import compare_runs

    def observed(outcome):
        return {**RECORD, "schema": SCHEMA, "observed": {"outcome": outcome}}

    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    a.write_text(json.dumps(observed("ok")) + "\n")
    b.write_text(json.dumps(observed("cors-error")) + "\n")
    assert list(compare_runs([a, b])) == [("s", "p", "chromium", "unknown")]
    assert compare_runs([a, a]) == {}


def test_the_observation_names_origins_as_the_run_does_and_drops_connection_headers():
    from cors_matrix.run.probe import CellRun, observe

    attempt = {"outcome": "ok", "status": 200, "headers": {}, "errorName": None,
               "readableHeaders": ["connection", "content-length", "date"]}  # fmt: skip
    ledger = [{"preflight": True, "origin": "http://localhost:1", "method": "OPTIONS",
               "cookies": [], "authorization": False},
              {"preflight": False, "origin": "null", "method": "PUT", "cookies": [],
               "authorization": False}]  # fmt: skip
    seen = observe(CellRun("u", "t", [attempt], ledger, [], 0.0), {"app": "http://localhost:1"})
    assert seen["origin_headers"] == ["app", "null"] and seen["methods"] == ["OPTIONS", "PUT"]
    assert seen["readable_headers"] == ["content-length", "date"]
