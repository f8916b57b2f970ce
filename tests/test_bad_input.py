"""Bad input at the command line, as a user meets it: one clear line naming the problem and a
non-zero exit (scenario-file errors are in test_scenario.py and test_loader_properties.py)."""

import pytest

SCENARIO = '[scenario]\nname = "{name}"\n[[probe]]\nname = "p"\n'


def test_duplicate_scenario_name_across_files_names_both(pytester):
    pytester.makefile(".toml", test_one=SCENARIO.format(name="same"))
    pytester.mkdir("sub").joinpath("test_two.toml").write_text(SCENARIO.format(name="same"))
    run = pytester.runpytest_subprocess("--browser", "chromium", "-p", "no:cacheprovider")
    assert run.ret == pytest.ExitCode.USAGE_ERROR
    run.stderr.fnmatch_lines(["*duplicate scenario name 'same' in *test_*.toml and *test_*.toml;*"])


@pytest.mark.parametrize(
    "option,value", [("--browser", "safari"), ("--cookie-policy", "never"),
                     ("--cors-driver", "selenium")],
)  # fmt: skip
def test_unknown_option_values_name_the_option_and_the_choices(pytester, option, value):
    run = pytester.runpytest_subprocess(option, value, "-p", "no:cacheprovider")
    assert run.ret == pytest.ExitCode.USAGE_ERROR
    run.stderr.fnmatch_lines([f"*argument {option}: invalid choice: '{value}' (choose from*"])


def test_missing_engine_is_not_run_with_the_fix_or_a_failure_when_required(pytester, monkeypatch):
    pytester.makefile(".toml", test_one=SCENARIO.format(name="one"))
    results = pytester.path / "run.jsonl"
    monkeypatch.setenv("CORS_MATRIX_FIREFOX", "/nonexistent/firefox")
    args = ["--browser", "firefox", "--cors-results", str(results), "-p", "no:cacheprovider"]
    run = pytester.runpytest_subprocess(*args)
    run.assert_outcomes(skipped=1)
    assert '"verdict": "not-run"' in results.read_text()
    reason = "/nonexistent/firefox not found; $CORS_MATRIX_FIREFOX points there"
    assert reason in results.read_text()
    required = pytester.runpytest_subprocess(*args, "--require-browsers")
    required.assert_outcomes(failed=1)
    required.stdout.fnmatch_lines(["*firefox required but not available: /nonexistent/firefox*"])
