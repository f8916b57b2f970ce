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


def test_a_session_without_cells_starts_nothing_and_leaves_toml_data_alone(pytester):
    """Inside a user's suite: no reaper mark, no signal handler, no results file, and a data
    file named like a test is not collected."""
    pytester.makefile(".toml", test_settings='[server]\nhost = "0.0.0.0"\n')
    pytester.makepyfile(
        test_user="""
import os, signal

def test_untouched():
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL
    assert not [k for k in os.environ if k.startswith("CORS_MATRIX_RUN_")]
"""
    )
    run = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    run.assert_outcomes(passed=1)
    assert "test_settings.toml" not in run.stdout.str()
    assert not (pytester.path / "results").exists()


def test_scenario_files_are_known_by_a_probe_table_or_a_declared_folder(tmp_path):
    from cors_matrix.run.collect import is_scenario_file

    data = tmp_path / "test_data.toml"
    data.write_text('[server]\nhost = "x"\n# [[probe]] in a comment is no table\n')
    scenario = tmp_path / "test_s.toml"
    scenario.write_text('[server]\nallow_origins = ["{app}"]\n\n  [[ probe ]]\nname = "p"\n')
    broken = tmp_path / "declared" / "test_broken.toml"
    broken.parent.mkdir()
    broken.write_text("not toml at all [")
    assert not is_scenario_file(data, [])
    assert is_scenario_file(scenario, [])
    assert not is_scenario_file(broken, [])
    assert is_scenario_file(broken, [tmp_path / "declared"])  # its error will be shown


def test_the_users_asyncio_tests_still_run_after_cells(pytester):
    """cors-matrix's sync Playwright lives on a thread of its own: the main thread keeps no
    running loop, so a later asyncio.run in the user's tests works."""
    pytester.makefile(".toml", test_a_smoke=SCENARIO)
    pytester.makepyfile(
        test_z_after="""
import asyncio

def test_asyncio_run_after_the_cells():
    assert asyncio.run(asyncio.sleep(0, result=42)) == 42
"""
    )
    run = pytester.runpytest_subprocess("--cors-browser", "chromium", "-p", "no:cacheprovider",
                                        "-p", "no:playwright")  # fmt: skip
    run.assert_outcomes(passed=3)
