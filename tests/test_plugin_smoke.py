"""The plugin end to end, as a user runs it: pytest on a scenario file, real uvicorn, real
Chromium, a results file on disk."""

import json

import pytest

SCENARIO = """
[scenario]
name = "smoke"
description = "one allowed and one refused page origin"

[server]
allow_origins = ["{app}"]

[[probe]]
name = "allowed"
page = "app"

[[probe]]
name = "refused"
page = "attacker"
"""


def records(path):
    return {r["probe"]: r for r in map(json.loads, path.read_text().splitlines())}


def test_scenario_file_runs_in_real_chromium_and_writes_records(pytester):
    pytester.makefile(".toml", test_smoke=SCENARIO)
    results = pytester.path / "out" / "run.jsonl"
    run = pytester.runpytest_subprocess(
        "--cors-browser", "chromium", "--cors-results", str(results), "-p", "no:cacheprovider"
    )
    run.assert_outcomes(passed=2)
    run.stdout.fnmatch_lines(["*cells: 2 match, 0 diverge, 0 not run*"])
    got = records(results)
    allowed, refused = got["allowed"], got["refused"]
    assert allowed["verdict"] == refused["verdict"] == "match"
    assert allowed["observed"]["outcome"] == "ok" and allowed["observed"]["status"] == 200
    # the refused page saw a TypeError, yet the ledger shows the GET reached the server
    assert refused["observed"]["outcome"] == "cors-error"
    assert refused["observed"]["requests"] == 1
    assert refused["ledger"][0]["origin"] == refused["page_origin"]
    assert allowed["browser"] == "chromium" and allowed["browser_version"][0].isdigit()
    assert allowed["cookie_policy"] == "block-third-party"


def test_bad_scenario_is_a_collection_error_naming_file_and_field(pytester):
    pytester.makefile(".toml", test_bad='[[probe]]\nname = "p"\nmethod = "CONNECT"\n')
    run = pytester.runpytest_subprocess("--cors-browser", "chromium", "-p", "no:cacheprovider")
    assert run.ret == pytest.ExitCode.INTERRUPTED
    run.stdout.fnmatch_lines(["*test_bad.toml: probe?p?.method: method 'CONNECT' is forbidden*"])


def test_missing_react_build_stops_with_one_clear_line(pytester, tmp_path):
    pytester.makefile(".toml", test_smoke=SCENARIO)
    run = pytester.runpytest_subprocess(
        "--cors-browser", "chromium", "--cors-fixture-dir", str(tmp_path), "-p", "no:cacheprovider"
    )
    assert run.ret == 4
    run.stdout.fnmatch_lines([f"*--cors-fixture-dir {tmp_path}: no index.html there*"])
