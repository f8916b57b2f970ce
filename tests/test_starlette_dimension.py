"""`--cors-starlette VERSION` as a matrix dimension: a host per release, each in its own cached
venv; records name the release; the report shows where releases differ and which model entry says
why. Real runs in Chromium of scenarios/starlette-releases under the oldest and newest release."""

import json
import shutil
import sys
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


@pytest.mark.parametrize("value", ["1.0.0/../../x", "1.0.0 --index-url http://x",
                                   "", "1.0.0rc1", "1", "../1.0"])  # fmt: skip
def test_a_release_that_is_no_release_number_is_refused_and_touches_nothing(
    value, pytester, tmp_path, monkeypatch
):
    """Earlier, only the leading digits were read: the value became a path the harness
    rmtree'd and filled with a venv, outside its cache (here: tmp_path/x-pyNN)."""
    victim = tmp_path / f"x-py{sys.version_info.major}{sys.version_info.minor}"
    victim.mkdir()
    (victim / "keep").write_text("the user's")
    monkeypatch.setenv("CORS_MATRIX_CACHE", str(tmp_path / "cache"))
    pytester.makefile(".toml", test_x=(CATALOGUE / "test_query_method.toml").read_text())
    run = pytester.runpytest_subprocess("--cors-starlette", value, "-p", "no:cacheprovider")
    assert run.ret == pytest.ExitCode.USAGE_ERROR
    run.stderr.fnmatch_lines([f"*--cors-starlette {value!r}: not a release number (N.N or N.N.N)*"])
    assert (victim / "keep").read_text() == "the user's"
    assert not (tmp_path / "cache").exists()


def test_env_for_refuses_a_path_before_any_file_system_change(tmp_path):
    from cors_matrix.serve.starlette_envs import env_for

    victim = tmp_path / f"x-py{sys.version_info.major}{sys.version_info.minor}"
    victim.mkdir()
    with pytest.raises(ValueError, match="not a release number"):
        env_for("1.0.0/../../x", root=tmp_path / "cache")
    assert victim.is_dir() and not (tmp_path / "cache").exists()
