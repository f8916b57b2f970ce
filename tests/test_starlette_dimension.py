"""`--cors-starlette VERSION` as a matrix dimension: a host per release, each in its own cached
venv; records name the release; the report shows where releases differ and which model entry says
why. Real runs in Chromium of scenarios/starlette-releases under the oldest and newest release."""

import json
import shutil
from pathlib import Path

import pytest

from cors_matrix.report import write_report

CATALOGUE = Path(__file__).resolve().parent.parent / "scenarios" / "starlette-releases"
OLDEST, NEWEST = "0.27.0", "1.10.0"
EXPECTED_EXPLANATIONS = {
    "wildcard-credentials-without-cookie / include-without-cookie": ["wildcard-credentials-mirror"],
    "vary-origin-wildcard / read-vary": ["vary-origin-always"],
    "vary-fields-kept / read-vary": ["vary-origin-always"],
    "query-method / query": ["query-method"],
    "private-network-option / preflighted-put": ["private-network"],
}


def test_two_releases_side_by_side_and_every_difference_explained(pytester, tmp_path):
    for path in CATALOGUE.glob("test_*.toml"):
        shutil.copy(path, pytester.path / path.name)
    results = tmp_path / "run.jsonl"
    run = pytester.runpytest_subprocess(
        "--cors-browser", "chromium", "--cors-starlette", OLDEST, "--cors-starlette", NEWEST,
        "--cors-results", str(results), "--no-cors-traces", "-p", "no:cacheprovider", "-rs",
    )  # fmt: skip
    records = [json.loads(line) for line in results.read_text().splitlines()]
    probes = sum(1 for _ in records) // 2
    run.assert_outcomes(passed=2 * probes - 1, skipped=1)  # 0.27 lacks allow_private_network
    for r in records:
        assert r["server_versions"]["starlette"] == r["starlette_axis"]
    run.stdout.fnmatch_lines([f"SKIPPED*not run: CORSMiddleware(allow_private_network=...) needs "
                              f"starlette >= 0.51 (this host runs {OLDEST})*"])  # fmt: skip

    view = write_report([results], tmp_path / "report", artifacts_root=tmp_path)
    got = {row["cell"]: [e["id"] for e in row["explained"]] for row in view["releases"]}
    assert got == EXPECTED_EXPLANATIONS
    query = next(row for row in view["releases"] if row["cell"] == "query-method / query")
    assert [(o["release"], o["label"]) for o in query["outcomes"]] == [
        (OLDEST, "CORS error"), (NEWEST, "readable")]  # fmt: skip
    html = (tmp_path / "report" / "index.html").read_text()
    assert 'id="f-starlette"' in html and "https://github.com/Kludex/starlette/pull/3489" in html
    assert {c["starlette"] for c in view["columns"]} == {OLDEST, NEWEST}


def test_a_release_the_model_does_not_know_is_refused_in_one_line(pytester):
    pytester.makefile(".toml", test_x=(CATALOGUE / "test_query_method.toml").read_text())
    run = pytester.runpytest_subprocess("--cors-starlette", "1.11.0", "-p", "no:cacheprovider")
    assert run.ret == pytest.ExitCode.USAGE_ERROR
    run.stderr.fnmatch_lines(["*starlette 1.11.0 is not modelled: cors-matrix knows starlette "
                              "0.27.x to 1.10.x*"])  # fmt: skip


def test_a_release_pip_cannot_install_stops_the_run_in_one_line(pytester, tmp_path, monkeypatch):
    monkeypatch.setenv("CORS_MATRIX_CACHE", str(tmp_path / "cache"))
    pytester.makefile(".toml", test_x=(CATALOGUE / "test_query_method.toml").read_text())
    run = pytester.runpytest_subprocess("--cors-browser", "chromium", "--cors-starlette", "0.27.99",
                                        "-p", "no:cacheprovider")  # fmt: skip
    assert run.ret == 3
    run.stdout.fnmatch_lines(["*starlette 0.27.99: pip could not install it into *"])
    assert not list((tmp_path / "cache").glob("*/*/.complete"))
