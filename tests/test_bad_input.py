"""Bad input at the command line, as a user meets it: one clear line naming the problem and a
non-zero exit (scenario-file errors are in test_scenario.py and test_loader_properties.py)."""

import pytest

SCENARIO = '[scenario]\nname = "{name}"\n[[probe]]\nname = "p"\n'


def test_duplicate_scenario_name_across_files_names_both(pytester):
    pytester.makefile(".toml", test_one=SCENARIO.format(name="same"))
    pytester.mkdir("sub").joinpath("test_two.toml").write_text(SCENARIO.format(name="same"))
    run = pytester.runpytest_subprocess("--cors-browser", "chromium", "-p", "no:cacheprovider")
    assert run.ret == pytest.ExitCode.USAGE_ERROR
    run.stderr.fnmatch_lines(["*duplicate scenario name 'same' in *test_*.toml and *test_*.toml;*"])


@pytest.mark.parametrize(
    "option,value", [("--cors-browser", "safari"), ("--cors-cookie-policy", "never"),
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
    args = ["--cors-browser", "firefox", "--cors-results", str(results), "-p", "no:cacheprovider"]
    run = pytester.runpytest_subprocess(*args)
    run.assert_outcomes(skipped=1)
    assert '"verdict": "not-run"' in results.read_text()
    reason = "/nonexistent/firefox not found; $CORS_MATRIX_FIREFOX points there"
    assert reason in results.read_text()
    required = pytester.runpytest_subprocess(*args, "--cors-require-browsers")
    required.assert_outcomes(failed=1)
    required.stdout.fnmatch_lines(["*firefox required but not available: /nonexistent/firefox*"])


def test_report_and_flake_check_without_anything_to_judge_exit_non_zero(tmp_path):
    import subprocess
    import sys

    def harness(*args):
        return subprocess.run([sys.executable, "-m", "cors_matrix", *args], capture_output=True,
                              text=True, timeout=120, cwd=tmp_path)  # fmt: skip

    empty, binary = tmp_path / "empty.jsonl", tmp_path / "binary.jsonl"
    empty.write_text("")
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe{not json\n")
    for path in (empty, binary):
        run = harness("report", str(path), "-o", str(tmp_path / "out"))
        assert run.returncode == 1 and "no valid record" in run.stderr, run.stderr
        assert "Traceback" not in run.stderr
    run = harness("flake-check", "--runs", "0")
    assert run.returncode == 2 and "at least 2 runs" in run.stderr
    (tmp_path / "none").mkdir()
    nothing = str(tmp_path / "none")
    run = harness("flake-check", "--runs", "2", "-o", str(tmp_path / "f"), "--", nothing)
    assert run.returncode == 2 and "no cell ran" in run.stderr, run.stdout + run.stderr


def test_a_results_path_that_is_a_directory_is_one_line(pytester):
    pytester.makefile(".toml", test_one=SCENARIO.format(name="one"))
    folder = pytester.mkdir("results-dir")
    run = pytester.runpytest_subprocess("--cors-results", str(folder), "-p", "no:cacheprovider")
    assert run.ret == pytest.ExitCode.USAGE_ERROR
    run.stderr.fnmatch_lines([f"*--cors-results {folder} is a directory; give a file path*"])


def test_a_remote_proxy_on_every_interface_is_said_in_one_line(pytester):
    run = pytester.runpytest_subprocess("--cors-grid", "http://127.0.0.1:9", "--cors-remote-proxy",
                                        "0.0.0.0", "-p", "no:cacheprovider")  # fmt: skip
    run.stderr.fnmatch_lines(["cors-matrix: --cors-remote-proxy 0.0.0.0 listens on every "
                              "interface of this machine; *"])  # fmt: skip


def test_a_refused_grid_is_one_line_per_cell_without_its_password(pytester):
    """It printed ~100 urllib3 retry warnings, and a hub URL's password in every one."""
    import socket

    with socket.socket() as unused:  # a port nothing listens on: connection refused
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    pytester.makefile(".toml", test_one=SCENARIO.format(name="one"))
    results = pytester.path / "run.jsonl"
    run = pytester.runpytest_subprocess("--cors-grid", f"http://alice:Pa55word@127.0.0.1:{port}",
                                        "--cors-browser", "chromium", "--cors-results",
                                        str(results), "-p", "no:cacheprovider")  # fmt: skip
    text = "\n".join(run.outlines + run.errlines) + results.read_text()
    assert "Pa55word" not in text and "Retrying" not in text
    run.stdout.fnmatch_lines(
        [
            f"chromium: chromium at http://alice:***@127.0.0.1:{port} failed to "
            "start: cannot connect (*Connection refused) (launch failed once)"
        ]
    )


@pytest.mark.parametrize("address", ["10.99.99.99", "not an address"])
def test_a_remote_proxy_address_this_machine_cannot_listen_on_is_one_line(pytester, address):
    pytester.makefile(".toml", test_one=SCENARIO.format(name="one"))
    run = pytester.runpytest_subprocess("--cors-grid", "http://127.0.0.1:9", "--cors-remote-proxy",
                                        address, "--cors-browser", "chromium",
                                        "-p", "no:cacheprovider")  # fmt: skip
    text = "\n".join(run.outlines + run.errlines)
    assert f"--cors-remote-proxy {address}: cannot listen there: [Errno" in text
    assert "Traceback" not in text, text
