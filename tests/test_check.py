"""`python -m cors_matrix check` on small apps shaped like real ones, in the three real engines:
each asserts the exit code and what is printed (findings, causes, statuses), not just that it
ran. The apps are in tests/check_apps/; the pure parts (corpus, discovery, explanations,
redaction) have fast tests at the end."""

import http.server
import io
import json
import os
import re
import subprocess
import sys
import threading
import time
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

from cors_matrix.check import UsageError, attacker_origins, parse_origin
from cors_matrix.check.options import check_parser
from cors_matrix.check.run import checked
from cors_matrix.run.fixtures import own_processes

ROOT = Path(__file__).resolve().parent.parent
APPS = ROOT / "tests" / "check_apps"
COMMON = ["--frontend", "https://app.example.com", "--api-origin", "https://api.example.com"]
OLD_RELEASES = ["fastapi==0.100.1", "starlette==0.27.0", "uvicorn==0.23.2"]


def check_cli(*args: str, cwd: Path = ROOT, timeout: int = 600) -> subprocess.CompletedProcess:
    """The real command line, `python -m cors_matrix check ARGS`, in a process of its own."""
    return subprocess.run([sys.executable, "-m", "cors_matrix", "check", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout)  # fmt: skip


@pytest.fixture
def check(request, monkeypatch):
    """`cors-matrix check ARGS` in this process: the command line's own `checked()` on the
    session's shared engines (those of `cors_check`), so a test pays no launch of three engines.
    The command line itself keeps its tests through check_cli (usage errors, start failures,
    the guide example end to end)."""
    engines = request.getfixturevalue("cors_check_engines")

    def run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
        out, err = io.StringIO(), io.StringIO()
        monkeypatch.chdir(cwd)
        with own_processes(request.config), redirect_stdout(out), redirect_stderr(err):
            result = checked(check_parser().parse_args(list(args)), engines)
        done = subprocess.CompletedProcess(args, result.exit_code, out.getvalue(), err.getvalue())
        done.result = result  # the CheckResult the cors_check fixture would return
        return done

    return run


def records(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "check.jsonl").open()]


def lines_with(run: subprocess.CompletedProcess, text: str) -> list[str]:
    return [line for line in run.stdout.splitlines() if text in line]


def verdict(run: subprocess.CompletedProcess) -> str:
    (line,) = lines_with(run, "verdict: ")
    return line


ALL = "chromium, firefox, webkit"


# --- usage errors: one line, exit 2 ------------------------------------------------------------


@pytest.mark.parametrize(
    "args,message",
    [
        (["nosuchmodule:app"], "cannot import 'nosuchmodule'"),
        (["examples.guide_app.main:nope"], "has no attribute 'nope'"),
        (["examples.guide_app.main"], "expected module:attribute"),
        (["tests.check_apps.factory:create_app"], "use tests.check_apps.factory:create_app()"),
        (["--serve", "uvicorn main:app"], "has no {port}"),
        (["examples.guide_app.main:app", "--serve", "x {port}"], "not both"),
        (["examples.guide_app.main:app", "--timeout", "99"], "--timeout 99"),
        (["examples.guide_app.main:app", "--login", "nocolon"], "--login 'nocolon'"),
        (["examples.guide_app.main:app", "--api-origin", "https://a:99999"], "not an origin"),
        (
            ["examples.guide_app.main:app", "--cwd", "/no/such/dir"],
            "--cwd '/no/such/dir': no such directory",
        ),
        (["examples.guide_app.main:app", "--start-timeout", "-5"], "--start-timeout -5"),
        (["examples.guide_app.main:app", "--max-attackers", "-1"], "--max-attackers -1"),
        (["examples.guide_app.main:app", "--max-endpoints", "0"], "--max-endpoints 0"),
        (["examples.guide_app.main:app", "--api-origin", "https://a:0"], "port 0"),
        (["examples.guide_app.main:app", "--read-header", "bad header"], "not a header name"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args, message, tmp_path):
    run = check_cli(*args, "--frontend", "https://app.example.com", "-o", str(tmp_path))
    assert run.returncode == 2 and message in run.stderr, run.stderr
    assert len(run.stderr.strip().splitlines()) == 1, run.stderr


def test_a_serve_commands_secrets_never_reach_the_output_or_report(tmp_path, check):
    command = ("env APP_SECRET_KEY=s3cr3t-value DB=postgres://u:db-pa55@h/x " + serve(
        "tests.check_apps.public_wildcard:app") + " --log-level warning")  # fmt: skip
    run = check("--serve", command, *COMMON, "--browser", "chromium", "-o", str(tmp_path))
    assert run.returncode == 0, run.stdout + run.stderr
    assert "APP_SECRET_KEY=***" in run.stdout and "u:***@h" in run.stdout
    shown = run.stdout + run.stderr + (tmp_path / "index.html").read_text()
    shown += (tmp_path / "check.jsonl").read_text()
    assert "s3cr3t-value" not in shown and "db-pa55" not in shown


def test_an_output_that_is_a_file_is_one_line_not_a_traceback(tmp_path):
    (tmp_path / "report").write_text("a file")
    run = check_cli("examples.guide_app.main:app", "--frontend", "https://app.example.com", "-o",
                str(tmp_path / "report"))  # fmt: skip
    assert run.returncode == 2 and "a file is there; give a folder" in run.stderr, run.stderr
    assert len(run.stderr.strip().splitlines()) == 1, run.stderr


def test_an_apps_escape_codes_never_reach_the_terminal(tmp_path):
    command = "sh -c 'printf \"\\033[2J\\033[31mboom\\007\\n\"; exit 3' {port}"
    run = check_cli(
        "--serve", command, "--frontend", "https://app.example.com", "-o", str(tmp_path)
    )
    assert run.returncode == 2 and "boom" in run.stderr, run.stderr
    assert not any(c in run.stderr + run.stdout for c in "\x1b\x07"), repr(run.stderr)


def test_a_serve_command_on_every_interface_is_said_in_one_line(tmp_path, check):
    wide = serve("tests.check_apps.public_wildcard:app") + " --host 0.0.0.0"
    run = check("--serve", wide, *COMMON, "--browser", "chromium", "-o", str(tmp_path))
    assert run.returncode == 0, run.stdout + run.stderr
    (note,) = [x for x in run.stderr.splitlines() if x.startswith("note: ")]
    assert "listens on every interface (0.0.0.0)" in note


def test_failing_startup_and_failed_login_are_exit_2_with_the_reason(tmp_path):
    (tmp_path / "crashing.py").write_text(
        "from contextlib import asynccontextmanager\nfrom fastapi import FastAPI\n"
        "@asynccontextmanager\nasync def lifespan(app):\n"
        "    raise RuntimeError('database unreachable')\n    yield\n"
        "app = FastAPI(lifespan=lifespan)\n"
    )
    run = check_cli("crashing:app", "--frontend", "https://a.example", "--endpoint", "GET:/x",
                "-o", str(tmp_path / "out"), cwd=tmp_path)  # fmt: skip
    assert run.returncode == 2
    assert "crashing:app failed on startup:" in run.stderr and "database unreachable" in run.stderr
    run = check_cli("tests.check_apps.bearer_form:app", *COMMON, "--login",
                "POST:/token username=alice&password=wrong", "-o", str(tmp_path))  # fmt: skip
    assert run.returncode == 2
    assert "--login POST /token failed: the app answered 401" in run.stderr, run.stderr


# --- apps that pass ------------------------------------------------------------------------------


def test_the_guide_example_passes_in_three_engines(tmp_path):
    run = check_cli("examples.guide_app.main:app", *COMMON, "--login", "POST:/login",
                "--endpoint", "GET:/items/1", "--endpoint", 'POST:/items {"n": 1}',
                "-o", str(tmp_path))  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    assert verdict(run).startswith("verdict: PASS")
    assert "auth: cookie (POST /login answered 200, set cookie session)" in run.stdout
    for request in ("login POST /login:", "GET /items/1:",
                    "POST /items (sent twice: preflight cache)"):  # fmt: skip
        (line,) = lines_with(run, request)
        assert line.startswith("  ok ") and f"readable in {ALL}" in line, line
    assert "SECURITY" not in run.stdout
    # add_middleware puts CORSMiddleware inside ServerErrorMiddleware: the 500 has no CORS
    # headers; a note with its cause and fix, not counted in the exit code
    lines = run.stdout.splitlines()
    (note,) = [n for n in lines if n.startswith("  note ") and "500, unhandled" in n]
    assert "outside CORSMiddleware" in lines[lines.index(note) + 1]
    assert "app = CORSMiddleware(app, ...)" in lines[lines.index(note) + 2]
    assert (tmp_path / "index.html").is_file()
    # the run files (the per-run CA's private key) stay out of the user's directories
    assert not list(tmp_path.rglob("*.pem")) and not (ROOT / "check-server.pem").exists()
    # secrets are redacted in the records: the cookie's name stays, its value does not
    text = (tmp_path / "check.jsonl").read_text() + (tmp_path / "index.html").read_text()
    assert "s3cret" not in text and "session=&lt;redacted&gt;" in text


def test_a_factory_an_api_mounted_under_api_and_uuid_paths(tmp_path, check):
    run = check("tests.check_apps.factory:create_app()", *COMMON, "--login", "POST:/login",
                "-o", str(tmp_path / "factory"))  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    (line,) = lines_with(run, "GET /items/1:")
    assert f"readable in {ALL} (status 200)" in line
    run = check("tests.check_apps.mounted_api:app", *COMMON, "--login", "POST:/api/login",
                "-o", str(tmp_path / "mounted"))  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    for path in ("GET /api/items/1", "GET /api/orders/00000000-0000-4000-8000-000000000000",
                 "GET /health"):  # fmt: skip
        (line,) = lines_with(run, path + ":")
        assert f"readable in {ALL} (status 200)" in line, line
    # POST /api/login, /api/items and /api/logout are writes: counted, never sent
    assert "probing 3; skipped 3 writes" in run.stdout
    assert not [r for r in records(tmp_path / "mounted") if "/logout" in r["url"]]


def test_a_form_login_and_a_bearer_token_frontend(tmp_path, check):
    run = check("tests.check_apps.bearer_form:app", *COMMON, "--login",
                "POST:/token username=alice&password=wonderland", "-o", str(tmp_path))  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    assert "auth: bearer (POST /token answered 200, returned a token)" in run.stdout
    (line,) = lines_with(run, "GET /me:")
    assert f"readable in {ALL} (status 200)" in line, line
    me = [r for r in records(tmp_path) if r["probe"] == "frontend: GET /me"]
    assert {r["observed"]["authorization_received"] for r in me} == {True}
    assert {r["request"]["credentials"] for r in me} == {"same-origin"}
    assert "tok-alice" not in (tmp_path / "check.jsonl").read_text()  # the token is redacted


def test_a_cookieless_public_api_writes_work_and_get_no_credentials_advice(tmp_path, check):
    run = check("tests.check_apps.public_wildcard:app", *COMMON, "--writes", "-o", str(tmp_path))
    assert run.returncode == 0, run.stdout + run.stderr
    assert "auth: none" in run.stdout
    (line,) = lines_with(run, "POST /things")
    assert line.startswith("  ok ") and ALL in line
    assert "allow_credentials" not in run.stdout and "SECURITY" not in run.stdout


# --- unsafe apps: findings, exit 1 ---------------------------------------------------------------


def _finding(run, severity: str, text: str) -> str:
    found = [line for line in lines_with(run, f"[{severity}]") if text in line]
    assert found, run.stdout
    return found[0]


def test_wildcard_with_credentials_and_a_lifespan_that_calls_os_exit(tmp_path, check):
    run = check("tests.check_apps.wildcard_exit:app", *COMMON, "--login", "POST:/login",
                "-o", str(tmp_path))  # fmt: skip
    assert run.returncode == 1, run.stdout + run.stderr
    assert verdict(run).startswith("verdict: FAIL")
    line = _finding(run, "HIGH", "allow_origins=['*'] with allow_credentials=True")
    assert "readable by any origin" in line and f"(confirmed in {ALL})" in line
    # same-site origins get the SameSite=None cookie even under block-third-party: HIGH in all
    same_site = [r for r in records(tmp_path) if r["page_origin"] == "https://evilapp.example.com"
                 and r["check"]["severity"] == "HIGH"]  # fmt: skip
    assert {r["browser"] for r in same_site} == set(ALL.split(", "))
    assert (tmp_path / "index.html").is_file() and records(tmp_path)


def test_allow_origins_as_a_string_lets_a_truncated_domain_in(tmp_path, check):
    run = check("tests.check_apps.string_origins:app", *COMMON, "--login", "POST:/login",
                "--cookie-policy", "allow-third-party", "-o", str(tmp_path))  # fmt: skip
    assert run.returncode == 1, run.stdout + run.stderr
    line = _finding(run, "HIGH", "allow_origins is the string 'https://app.example.com'")
    assert f"confirmed in {ALL}" in line
    (read,) = [x for x in lines_with(run, " reads ") if x.strip().startswith(
        "https://app.example.co (truncation)")]  # fmt: skip
    assert f"HIGH in {ALL}" in read


def test_an_unescaped_dot_in_allow_origin_regex(tmp_path, check):
    run = check("tests.check_apps.regex_dot:app", *COMMON, "--login", "POST:/login",
                "-o", str(tmp_path))  # fmt: skip
    assert run.returncode == 1, run.stdout + run.stderr
    # medium with third-party cookies blocked; HIGH once confirmed with them allowed
    line = _finding(run, "HIGH", "allow_origin_regex='https://(www|app).example.com'")
    assert "medium where they are blocked" in line
    assert any(x.strip().startswith("https://appxexample.com (unescaped-dot lookalike)")
               and ALL in x for x in lines_with(run, " reads "))  # fmt: skip


def test_a_hand_written_middleware_that_reflects_any_origin(tmp_path, check):
    run = check("tests.check_apps.reflect_any:app", *COMMON, "--login", "POST:/login",
                "-o", str(tmp_path))  # fmt: skip
    assert run.returncode == 1, run.stdout + run.stderr
    line = _finding(run, "HIGH", "the server echoes any Origin")
    assert f"confirmed in {ALL}" in line
    _finding(run, "medium", "no Vary: Origin")  # the echo varies and says nothing of it


def test_null_in_allow_origins(tmp_path, check):
    run = check("tests.check_apps.null_trusted:app", *COMMON, "--login", "POST:/login",
                "-o", str(tmp_path))  # fmt: skip
    assert run.returncode == 1, run.stdout + run.stderr
    line = _finding(run, "HIGH", "allow_origins lists 'null'")  # confirmed with 3rd-party
    assert f"confirmed in {ALL}" in line and "medium where they are blocked" in line
    nulls = [r for r in records(tmp_path) if r["page_origin"] == "null"]
    assert {r["ledger"][0]["origin"] for r in nulls} == {"null"}


def test_config_entries_no_browser_sends_are_notes_and_the_check_passes(tmp_path, check):
    """A missing scheme, a trailing slash, upper case, a default port: Starlette compares the
    whole string, so no page reads through them; said per entry, with why, and no finding."""
    dead = [
        "app.example.com",
        "https://app.example.com/",
        "https://App.example.com",
        "https://app.example.com:443",
    ]  # the app's entries beside https://app.example.com
    run = check("tests.check_apps.dead_origins:app", *COMMON, "--login", "POST:/login",
                "-o", str(tmp_path))  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    assert verdict(run).startswith("verdict: PASS")
    assert "SECURITY FINDINGS" not in run.stdout
    notes = lines_with(run, "but no browser sends it")
    assert [n.split("'")[1] for n in notes] == dead  # each named once, in the config's order
    for entry, why in zip(
        dead, ["no scheme", "a path", "upper-case", "default port 443"], strict=True
    ):
        (line,) = [n for n in notes if f"'{entry}'" in n]
        assert why in line, line
    assert "Notes (reported only)" in (tmp_path / "index.html").read_text()
    assert run.result and [n.strip() for n in notes] == run.result.notes  # cors_check's result
    assert "notes:" in run.result.message


def test_a_frontend_listed_with_a_trailing_slash_is_blocked_and_the_fix_says_why(tmp_path, check):
    run = check("tests.check_apps.trailing_slash:app", *COMMON, "--endpoint", "GET:/items/1",
                "-o", str(tmp_path))  # fmt: skip
    assert run.returncode == 1, run.stdout + run.stderr
    (blocked,) = lines_with(run, "GET /items/1:")
    assert blocked.startswith("  BLOCKED") and ALL in blocked
    fix = run.stdout.split(blocked, 1)[1].splitlines()[2]
    assert fix.strip() == ("fix: CORSMiddleware(allow_origins=['https://app.example.com']) (the "
                           "configured origin 'https://app.example.com/' has a trailing slash "
                           "and never matches)"), fix  # fmt: skip
    (note,) = lines_with(run, "but no browser sends it")
    assert "'https://app.example.com/'" in note and "it has a path" in note
    assert "SECURITY FINDINGS" not in run.stdout  # the entry lets no page read


def test_the_insecure_example_regex_is_high_from_a_lookalike(tmp_path, check):
    run = check("examples.insecure_app.main:app", *COMMON, "--login", "POST:/login",
                "--endpoint", "GET:/items/1", "-o", str(tmp_path))  # fmt: skip
    assert run.returncode == 1, run.stdout + run.stderr
    _finding(run, "HIGH", r"allow_origin_regex='https://.*example\\.com'")
    assert any(x.strip().startswith("https://evilapp.example.com (prefix lookalike)") and
               f"HIGH in {ALL}" in x for x in lines_with(run, " reads "))  # fmt: skip
    (line,) = lines_with(run, "GET /items/1:")
    assert line.startswith("  ok ")


# --- what cannot reach a verdict says so -------------------------------------------------------


def test_a_slow_endpoint_an_ip_frontend_and_read_headers(tmp_path, check):
    run = check("tests.check_apps.slow:app", "--frontend", "http://127.0.0.1:5173",
                "--api-origin", "http://127.0.0.1:8000", "--timeout", "1", "--read-header",
                "X-Total", "--read-header", "X-Hidden", "-o", str(tmp_path))  # fmt: skip
    assert run.returncode == 1, run.stdout + run.stderr
    (slow,) = lines_with(run, "GET /slow:")
    assert slow.startswith("  TIMEOUT") and ALL in slow
    assert "timed out after 1 s: the app received it and did not answer" in run.stdout
    (fast,) = lines_with(run, "GET /fast:")
    assert fast.startswith("  BLOCKED") and "status 200" in fast
    assert "X-Hidden: sent, but not in Access-Control-Expose-Headers (x-total)" in run.stdout
    assert "X-Total:" not in run.stdout  # exposed, so read
    # an IP frontend: no lookalike hostnames built from the IP (the corpus test has the rest)
    pages = {r["page_origin"] for r in records(tmp_path)}
    assert "http://evil.test:5173" in pages and not [p for p in pages if "evil127" in p]


def test_an_app_that_dies_mid_check_is_exit_2_and_keeps_its_results(tmp_path, check):
    run = check("tests.check_apps.dies:app", *COMMON, "--no-prescan", "-o", str(tmp_path))
    assert run.returncode == 2, run.stdout + run.stderr
    assert verdict(run).startswith("verdict: INCOMPLETE — tests.check_apps.dies:app exited "
                                   "during the check (exit code 3)")  # fmt: skip
    (ok,) = lines_with(run, "GET /a:")
    assert ok.startswith("  ok ")
    assert len(records(tmp_path)) >= 2 and (tmp_path / "index.html").is_file()
    # with the pre-scan, GET /b ends it before any browser: said so, exit 2
    run = check("tests.check_apps.dies:app", *COMMON, "-o", str(tmp_path))
    assert run.returncode == 2 and "during the HTTP pre-scan" in run.stderr, run.stderr


def test_an_https_page_calling_an_http_api_is_explained(tmp_path, check):
    run = check("examples.guide_app.main:app", "--frontend", "https://app.example.com",
                "--api-origin", "http://localhost:8000", "--endpoint", "GET:/items/1",
                "-o", str(tmp_path))  # fmt: skip
    assert run.returncode == 1, run.stdout + run.stderr
    (line,) = lines_with(run, "GET /items/1:")
    assert "BLOCKED" in line and "in webkit (works in chromium, firefox)" in line, line
    assert "never reached the server: mixed content" in run.stdout


# --- the user's own environment ----------------------------------------------------------------


@pytest.fixture(scope="module")
def old_venv(tmp_path_factory) -> Path:
    """A venv with an older FastAPI/Starlette than the harness's, as a real project has."""
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    venv = cache / "cors-matrix-tests" / "-".join(OLD_RELEASES).replace("==", "")
    python = venv / "bin" / "python"
    if not (venv / ".complete").exists():
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", *OLD_RELEASES],
                       check=True, timeout=300)  # fmt: skip
        (venv / ".complete").write_text("")
    return venv


def test_an_app_in_another_venv_with_an_old_starlette_through_serve(old_venv, tmp_path, check):
    run = check("--serve", f"{old_venv}/bin/uvicorn old_starlette:app --port {{port}}",
                "--cwd", str(APPS), *COMMON, "--login", "POST:/login",
                "-o", str(tmp_path / "serve"))  # fmt: skip
    assert run.returncode == 1, run.stdout + run.stderr
    # Starlette 0.27 answers `*` to the cookie-less login: no credentialed read of it
    (login,) = lines_with(run, "login POST /login")
    assert login.startswith("  BLOCKED") and ALL in login
    assert "allowed origin '*', which never admits a request with credentials" in run.stdout
    assert ("fix: CORSMiddleware(allow_origins=['https://app.example.com'], "
            "allow_credentials=True) instead of '*'") in run.stdout  # fmt: skip
    # ... and mirrors every Origin once the session cookie comes along (and only then)
    line = _finding(run, "HIGH", "the server echoes any Origin")
    assert f"confirmed in {ALL}" in line
    assert "only when the request carries a Cookie (without one it answers '*')" in line
    # the same app by module:app in that venv's interpreter: its versions are read from there
    run = check("old_starlette:app", "--python", str(old_venv / "bin" / "python"), "--cwd",
                str(APPS), *COMMON, "--login", "POST:/login", "--browser", "chromium",
                "-o", str(tmp_path / "python"))  # fmt: skip
    assert run.returncode == 1, run.stdout + run.stderr
    assert "(fastapi 0.100.1, starlette 0.27.0, uvicorn 0.23.2)" in run.stdout
    line = _finding(run, "HIGH", "allow_origins=['*'] with allow_credentials=True")
    assert "Starlette before 1.0 then answers '*' to a request without a Cookie" in line


class _WrongServer(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(418)
        self.send_header("Access-Control-Allow-Origin", "*")
        self.end_headers()
        self.wfile.write(b"the user's own dev server, not the app under check")

    def log_message(self, *args):
        pass


def test_localhost_origins_go_through_the_proxy_not_to_the_users_dev_servers(tmp_path):
    """localhost:3000 -> localhost:8000: engines bypass proxies for loopback by default; the
    check's must not. The user's own dev servers often hold those ports."""
    servers = []
    for port in (3000, 8000):
        try:
            servers.append(http.server.ThreadingHTTPServer(("127.0.0.1", port), _WrongServer))
        except OSError:  # taken already: by something that is not the app under check either
            continue
        threading.Thread(target=servers[-1].serve_forever, daemon=True).start()
    env_app = "examples.guide_app.main:app"
    try:
        run = subprocess.run(
            [sys.executable, "-m", "cors_matrix", "check", env_app, "--frontend",
             "http://localhost:3000", "--api-origin", "http://localhost:8000", "--endpoint",
             "GET:/items/1", "-o", str(tmp_path)],
            cwd=ROOT, capture_output=True, text=True, timeout=600,
            env={**os.environ, "ALLOWED_ORIGINS": "http://localhost:3000"},
        )  # fmt: skip
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()
    assert run.returncode == 0, run.stdout + run.stderr
    (line,) = lines_with(run, "GET /items/1:")
    assert f"readable in {ALL} (status 200)" in line


def test_the_pytest_fixture_checks_an_app_object(cors_check, monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT))  # examples/ is not installed; a user's app would be
    from examples.guide_app.main import app

    code = cors_check(
        app, "https://app.example.com", api_origin="https://api.example.com",
        login="POST:/login", endpoints=["GET:/items/1"], browsers=["chromium"],
    )  # fmt: skip
    assert code == 0


# --- what a check cannot see it says; it never ends its own session ------------------------------


def serve(module_app: str) -> str:
    """--serve with the app run as a user runs it (the config is then unknown to the check)."""
    return f"{sys.executable} -m uvicorn {module_app} --port {{port}}"


def test_a_regex_trusting_local_pages_behind_an_https_frontend_fails_under_serve(tmp_path, check):
    """MLflow's shape: no config to read, yet the loopback origins are tried and found."""
    run = check("--serve", serve("tests.check_apps.loopback_regex:app"), *COMMON, "--login",
                "POST:/login", "--browser", "chromium", "-o", str(tmp_path))  # fmt: skip
    assert run.returncode == 1, run.stdout + run.stderr
    assert verdict(run).startswith("verdict: FAIL")
    reads = [x for x in lines_with(run, " reads ") if x.strip().startswith("http://localhost")]
    assert reads, run.stdout
    local = [r for r in records(tmp_path) if r["page_origin"].startswith("http://localhost")]
    assert any(r["check"]["severity"] for r in local)
    # medium under block-third-party; run again with third-party cookies allowed: HIGH
    line = _finding(run, "HIGH", "readable by")
    assert "with credentials allowed (confirmed in chromium); HIGH where third-party" in line
    assert "the session cookie session is SameSite=None; confirmed: " in line
    assert line.endswith("in chromium with allow-third-party), medium where they are blocked")
    again = [r for r in records(tmp_path) if r["cookie_policy"] == "allow-third-party"
             and r["check"]["role"] == "attacker"]  # fmt: skip
    assert any(r["check"]["severity"] == "HIGH" for r in again)
    assert {r["page_origin"] for r in again} <= {r["page_origin"] for r in local}


def test_a_public_api_under_serve_passes_saying_public_and_what_was_not_seen(tmp_path, check):
    run = check("--serve", serve("tests.check_apps.public_wildcard:app"), *COMMON,
                "--browser", "chromium", "-o", str(tmp_path))  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    line = verdict(run)
    assert "public API: any origin reads it without credentials" in line
    assert "not seen: the app's CORS config (--serve)" in line
    assert "cors-matrix check module:app" in line


def test_a_get_logout_in_the_schema_is_not_probed(tmp_path, check):
    run = check("tests.check_apps.logout_get:app", *COMMON, "--login", "POST:/login",
                "--browser", "chromium", "-o", str(tmp_path))  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    assert "skipped 1 GETs that end something" in run.stdout
    assert not [r for r in records(tmp_path) if "/logout" in r["url"]]
    (me,) = lines_with(run, "GET /me:")
    assert "status 200" in me  # the session held to the end


def test_a_session_that_ends_mid_check_is_said_and_no_pass(tmp_path, check):
    run = check("tests.check_apps.logout_get:app", *COMMON, "--login", "POST:/login",
                "--endpoint", "GET:/logout", "--endpoint", "GET:/me",
                "--browser", "chromium", "-o", str(tmp_path))  # fmt: skip
    assert run.returncode == 1, run.stdout + run.stderr
    (line,) = lines_with(run, "stopped arriving")
    assert "chromium: the session's cookies stopped arriving after GET /logout" in line


def test_a_schema_whose_paths_miss_the_mount_finds_the_mounted_schema(tmp_path, check):
    run = check("--serve", serve("tests.check_apps.schema_without_prefix:app"), *COMMON,
                "--login", "POST:/api/login", "--browser", "chromium",
                "-o", str(tmp_path))  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    assert "endpoints: 3 operations in /api/openapi.json" in run.stdout
    (line,) = lines_with(run, "GET /api/items/1:")
    assert line.strip().startswith("ok") and "(status 200)" in line


def test_a_schema_whose_paths_miss_the_mount_gives_no_verdict(tmp_path, check):
    run = check("--serve", serve("tests.check_apps.schema_without_prefix:hollow"), *COMMON,
                "--login", "POST:/api/login", "--browser", "chromium",
                "-o", str(tmp_path))  # fmt: skip
    assert run.returncode == 2, run.stdout + run.stderr
    line = verdict(run)
    assert line.startswith("verdict: INCOMPLETE — 1 of 1 endpoints from the app's schema "
                           "answer 404 (e.g. GET /items/1)"), line  # fmt: skip
    assert "--endpoint METHOD:/path" in line


def test_an_app_without_cors_gets_the_middleware_it_needs_as_its_fix(tmp_path, check):
    run = check("tests.check_apps.no_cors:app", *COMMON, "--login", "POST:/login", "--writes",
                "--browser", "chromium", "-o", str(tmp_path))  # fmt: skip
    assert run.returncode == 1, run.stdout + run.stderr
    lines = run.stdout.splitlines()
    at = lines.index(next(x for x in lines if "GET /items/1:" in x))
    assert lines[at].strip().startswith("BLOCKED")
    assert lines[at + 2].strip() == (
        "fix: the app has no CORSMiddleware: app.add_middleware(CORSMiddleware, "
        "allow_origins=['https://app.example.com'], allow_credentials=True)"
    )
    # the JSON write is preflighted: Starlette's preflight checks the method and the header
    at = lines.index(next(x for x in lines if "POST /items:" in x))
    assert "allow_methods=['POST'], allow_headers=['Content-Type']" in lines[at + 2]
    # and one line for all: the union of what each request needs
    at = lines.index("No CORS header on any of these answers; one line for all of them:")
    assert lines[at + 1].strip() == (
        "app.add_middleware(CORSMiddleware, allow_origins=['https://app.example.com'], "
        "allow_credentials=True, allow_methods=['POST'], allow_headers=['Content-Type'])"
    )


def test_a_frontend_the_config_does_not_allow_gets_its_origin_before_any_wrap(tmp_path, check):
    run = check("tests.check_apps.other_frontend:app", *COMMON, "--login", "POST:/login",
                "--browser", "chromium", "-o", str(tmp_path))  # fmt: skip
    assert run.returncode == 1, run.stdout + run.stderr
    lines = run.stdout.splitlines()
    add = ("fix: CORSMiddleware(allow_origins=['https://admin.example.com', "
           "'https://app.example.com'])")  # fmt: skip
    at = lines.index(next(x for x in lines if "GET /items/1:" in x))
    assert lines[at].strip().startswith("BLOCKED") and lines[at + 2].strip() == add
    at = lines.index(next(x for x in lines if "error response (500" in x))
    assert lines[at + 2].strip() == add + (", and wrap the whole app so that 500s carry it "
                                          "too: app = CORSMiddleware(app, ...)")  # fmt: skip
    _finding(run, "HIGH", "allow_origins lists origins that are not declared frontends")
    assert (
        'fix: allow_origins=["https://app.example.com"], or, if they are your own '
        "frontends too, declare them: --frontend https://admin.example.com"
    ) in run.stdout


def test_under_serve_a_500_of_an_app_with_cors_gets_the_wrap_not_add_a_middleware(tmp_path, check):
    run = check("--serve", serve("tests.check_apps.error_route:app"), *COMMON,
                "--endpoint", "GET:/boom", "--endpoint", "GET:/items/1",
                "--browser", "chromium", "-o", str(tmp_path))  # fmt: skip
    assert run.returncode == 1, run.stdout + run.stderr
    lines = run.stdout.splitlines()
    at = lines.index(next(x for x in lines if "GET /boom:" in x))
    assert lines[at].strip().startswith("BLOCKED") and "status 500" in lines[at]
    assert lines[at + 2].strip() == (
        "fix: the app's other answers carry CORS headers, its errors do not (an exception "
        "escaped the CORS middleware): wrap the whole app: app = CORSMiddleware(app, ...)"
    )
    assert "one line for all of them" not in run.stdout


def test_under_serve_a_frontend_the_cors_never_answers_gets_add_it_not_add_cors(tmp_path, check):
    """Agno under --serve: its CORS answered the local origins the pre-scan tried, never the
    frontend; the fix said a route was outside the middleware."""
    run = check("--serve", serve("tests.check_apps.loopback_regex:app"), "--frontend",
                "https://other.example.com", "--api-origin", "https://api.example.com",
                "--endpoint", "GET:/items/1", "--browser", "chromium",
                "-o", str(tmp_path))  # fmt: skip
    assert run.returncode == 1, run.stdout + run.stderr
    lines = run.stdout.splitlines()
    at = lines.index(next(x for x in lines if "GET /items/1:" in x))
    assert lines[at + 2].strip().startswith("fix: the app's CORS answers other origins (http://")
    assert lines[at + 2].endswith("but never https://other.example.com: add it to the origins "
                                  "it allows, e.g. CORSMiddleware(allow_origins=[..., "
                                  "'https://other.example.com'])")  # fmt: skip


def test_an_event_stream_is_judged_by_its_head_without_a_timeout(tmp_path, check):
    run = check("tests.check_apps.event_stream:app", *COMMON, "--endpoint", "GET:/events",
                "--timeout", "5", "-o", str(tmp_path))  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    (line,) = lines_with(run, "GET /events:")
    assert line.strip().startswith("ok") and f"readable in {ALL} (status 200)" in line
    events = [r for r in records(tmp_path) if "/events" in r["url"]]
    assert events and not [r for r in events if r["observed"]["outcome"] == "timeout"]


def test_a_quiet_stream_in_firefox_is_said_as_what_it_is_and_no_pass(tmp_path, check):
    """Firefox resolves fetch() only with the first body byte (measured on stock ESR without
    any proxy): the head alone cannot be judged there, and the line says why."""
    run = check("tests.check_apps.event_stream:app", *COMMON, "--endpoint", "GET:/quiet",
                "--timeout", "2", "--browser", "firefox", "-o", str(tmp_path))  # fmt: skip
    assert run.returncode == 1, run.stdout + run.stderr
    (problem,) = lines_with(run, "firefox: GET /quiet ")
    assert "the app answered 200 but sent no body byte in that time" in problem
    assert "Firefox hands a response to the page only with its first body byte" in problem


def test_one_regex_is_one_finding_and_its_example_is_a_readable_200(tmp_path, check):
    run = check("tests.check_apps.regex_dot:app", *COMMON, "--login", "POST:/login",
                "--browser", "chromium", "--max-attackers", "2", "-o", str(tmp_path))  # fmt: skip
    assert run.returncode == 1, run.stdout + run.stderr
    (finding,) = [x for x in run.stdout.splitlines() if x.strip().startswith("[")]
    assert "allow_origin_regex=" in finding
    assert "more origin(s) trusted in the HTTP pre-scan, not confirmed in a browser" in finding
    reads = [x for x in lines_with(run, " reads ") if not x.strip().startswith("[")]
    assert reads and all(" reads GET /items/1 " in x for x in reads), reads


def test_a_header_sent_but_not_exposed_gets_the_expose_headers_fix(tmp_path, check):
    run = check("tests.check_apps.unexposed_header:app", *COMMON, "--read-header",
                "X-Total-Count", "--browser", "chromium", "-o", str(tmp_path))  # fmt: skip
    assert run.returncode == 1, run.stdout + run.stderr
    lines = run.stdout.splitlines()
    at = lines.index(next(x for x in lines if "GET /items:" in x))
    assert "X-Total-Count: sent, but not in Access-Control-Expose-Headers" in lines[at + 1]
    assert lines[at + 2].strip() == (
        "fix: CORSMiddleware(expose_headers=['X-Request-Id', 'X-Total-Count'])"
    )


# --- pure parts ----------------------------------------------------------------------------------


@pytest.mark.unit
def test_origins_are_normalised_and_non_origins_refused():
    assert parse_origin("HTTPS://App.Example.com:443") == "https://app.example.com"
    assert parse_origin("http://localhost:3000/") == "http://localhost:3000"
    for bad in ("app.example.com", "https://app.example.com/login", "ftp://x", "https://"):
        with pytest.raises(UsageError, match="is not an origin"):
            parse_origin(bad)


@pytest.mark.unit
@pytest.mark.parametrize(
    ("origin", "why"),
    [
        ("null", None),  # a sandboxed page, a file: sent
        ("http://localhost:5173", None),
        ("http://[::1]:5173", None),
        ("chrome-extension://abcdefgh", None),  # an extension's page: sent
        ("http://app.example.com:8080", None),
        ("localhost:5173", "no scheme"),
        ("app.example.com", "no scheme"),
        ("http://localhost:5173/", "a path"),
        ("https://app.example.com?x=1", "a path"),
        ("http://u:pw@app.example.com", "userinfo"),
        ("HTTPS://app.example.com", "upper-case"),
        ("http://app.example.com:80", "default port 80"),
        ("https://bücher.example", "non-ASCII"),
        ("https://xn--bcher-kva.example", None),
        ("wss://app.example.com:443", "default port 443"),
    ],
)
def test_origins_no_browser_sends(origin, why):
    """HTML's serialization of an origin: "null" or scheme://host[:port] in lower case, no
    userinfo or path, the default port left out; only those sure cases are named."""
    from cors_matrix.check.corpus import never_sent

    said = never_sent(origin)
    assert (said is None) if why is None else (why in said), said


@pytest.mark.unit
def test_the_corpus_has_the_scanner_classes():
    got = {c.origin: c.kind for c in attacker_origins("https://app.example.com")}
    assert got["https://app.example.com.evil.test"] == "suffix lookalike"
    assert got["https://evilapp.example.com"] == "prefix lookalike"
    assert got["https://app.example.co"] == "truncation"
    assert got["https://appxexample.com"] == got["https://app.examplexcom"] == (
        "unescaped-dot lookalike")  # fmt: skip
    assert got["https://evil.example.com"] == "another subdomain"
    assert got["http://app.example.com"] == "http instead of https"
    assert got["null"] == "null origin"
    assert got["https://app.example.com:444"] == "same host, another port"
    assert any(k == "any origin (random)" for k in got.values())
    ip = {c.origin for c in attacker_origins("http://127.0.0.1:5173")}
    assert {"http://127.0.0.1:5174", "http://localhost:5173"} <= ip
    assert all("evil127" not in o for o in ip)


@pytest.mark.unit
def test_regex_witnesses_are_accepted_by_the_regex_and_not_the_frontend():
    from cors_matrix.check.corpus import regex_witnesses

    for pattern in (r"https://.*example\.com", r"https://[a-z]+\.example\.com",
                    r"https://(www|app).example.com"):  # fmt: skip
        witnesses = regex_witnesses(pattern)
        assert witnesses and all(re.fullmatch(pattern, w) for w in witnesses), pattern
    assert "https://evilexample.com" in regex_witnesses(r"https://.*example\.com")
    assert "https://evil.example.com" in regex_witnesses(r"https://[a-z]+\.example\.com")


@pytest.mark.unit
def test_discovery_honours_mounts_servers_and_parameter_types():
    from cors_matrix.check.discovery import discover

    schema = {
        "servers": [{"url": "/v1"}],
        "paths": {
            "/things/{thing_id}": {
                "get": {"parameters": [{"name": "thing_id", "in": "path",
                                        "schema": {"type": "string", "format": "uuid"}}]},
                "delete": {},
            },
            "/n/{n}": {"get": {"parameters": [{"name": "n", "in": "path",
                                               "schema": {"type": "integer"}}]}},
        },
    }  # fmt: skip
    found = discover([{"prefix": "/api", "schema": schema}], writes=False, limit=50)
    assert [e.name for e in found.endpoints] == [
        "GET /api/v1/things/00000000-0000-4000-8000-000000000000",
        "GET /api/v1/n/1",
    ]
    assert "skipped 1 writes" in found.summary()
    found = discover([{"prefix": "", "schema": schema}], writes=True, limit=2)
    assert [e.method for e in found.endpoints] == ["GET", "DELETE"]
    assert "skipped 1 beyond --max-endpoints 2" in found.summary()


def _entry(preflight: bool, status: int, **headers) -> dict:
    return {"preflight": preflight, "status": status, "access_control_request_headers":
            headers.pop("asked", None), "response_headers": {k.replace("_", "-"): [v]
            for k, v in headers.items()}}  # fmt: skip


@pytest.mark.unit
@pytest.mark.parametrize(
    "spec,ledger,expected",
    [
        ({"method": "PUT", "credentials": "include"},
         [_entry(True, 200, access_control_allow_origin="https://a.test",
                 access_control_allow_credentials="true", access_control_allow_methods="GET",
                 asked="content-type")],
         "does not allow method PUT"),
        ({"method": "GET", "headers": {"Authorization": "x"}},
         [_entry(True, 200, access_control_allow_origin="*", access_control_allow_methods="*",
                 access_control_allow_headers="*", asked="authorization")],
         "does not allow header authorization"),
        ({"method": "GET", "credentials": "include"},
         [_entry(False, 200, access_control_allow_origin="*")],
         "allowed origin '*', which never admits a request with credentials"),
        ({"method": "POST"}, [_entry(False, 500)], "500 answer carried no Access-Control-"),
        ({"method": "GET"}, [_entry(True, 405)], "preflight (OPTIONS) refused with status 405"),
    ],
)  # fmt: skip
def test_explanations_follow_the_fetch_standard(spec, ledger, expected):
    from cors_matrix.check.explain import why_unreadable

    observed = {"outcome": "cors-error", "errors": []}
    why = why_unreadable(spec, "https://a.test", "https://api.test", observed, ledger, 10)
    assert expected in why, why


def _attacker_cell(origin: str, path: str, status: int, cookies: list[str]):
    from cors_matrix.check.battery import Request
    from cors_matrix.check.browsers import Cell
    from cors_matrix.check.judging import judge

    spec = {"method": "GET", "path": path, "credentials": "include"}
    cell = Cell("https://app.example.com", "attacker", origin, "another subdomain",
                Request(f"GET {path} with the user's cookies", spec), "chromium")  # fmt: skip
    outcome = "ok" if status < 400 else "http-error"  # both readable (probe.readable)
    cell.record = {"token": f"t{status}{path}", "observed": {
        "outcome": outcome, "cookies_received": cookies, "body": "{}"},
        "ledger": [{"preflight": False, "status": status,
                    "response_headers": {"access-control-allow-origin": [origin]}}],
        "check": {"status": status, "why": None, "unread_headers": []}}  # fmt: skip
    judge(cell)
    return cell


@pytest.mark.unit
def test_a_findings_example_is_its_most_severe_readable_2xx_whatever_ran_first(tmp_path):
    from cors_matrix.check.report import write_check_report
    from cors_matrix.check.summary import Summary
    from cors_matrix.check.verdict import build

    origin = "https://evil.example.com"
    cells = [_attacker_cell(origin, "/missing", 404, ["session"]),  # ran first, also HIGH
             _attacker_cell(origin, "/public", 200, []),  # a 200, but only medium
             _attacker_cell(origin, "/items/1", 200, ["session"])]  # fmt: skip
    summary = build(Summary("app", {}, "https://api.example.com", ["https://app.example.com"],
                            "cookie", "3 operations", None, [], cells))  # fmt: skip
    (example,) = [x for x in summary.lines if x.strip().startswith(origin)]
    assert " reads GET /items/1 with the user's cookies and 1 more: HIGH in chromium" in example
    assert summary.findings[0]["severity"] == "HIGH" and summary.exit_code == 1
    # the report leads with the verdict and what its exit code means
    html = write_check_report(summary, tmp_path).read_text()
    assert '<p class="verdict">verdict: FAIL — 1 finding(s)' in html
    assert "(exit 1: FAIL, findings or blocked requests)" in html


@pytest.mark.unit
def test_redaction_keeps_names_and_drops_values():
    from cors_matrix.check.redact import redact

    record = {
        "probe": "frontend: login POST /login",
        "request": {"body": "password=x", "headers": {"Authorization": "Bearer abc"}},
        "observed": {"body": '{"t":"abc"}'},
        "ledger": [{"response_headers": {"set-cookie": ["sid=abc; Path=/; HttpOnly"]}}],
    }
    out = json.dumps(redact(record))  # fmt: skip
    assert "abc" not in out and "password=x" not in out
    assert "sid=<redacted>; Path=/; HttpOnly" in out and "Bearer <redacted>" in out


@pytest.mark.unit
def test_the_relay_lets_go_of_a_stream_the_browser_left(tmp_path):
    """Gradio under check: event streams the page cancelled were read from the app forever,
    each holding a relay connection, until every later request hung with no answer."""
    import asyncio as aio
    import socket as sock

    from starlette.applications import Starlette
    from starlette.responses import StreamingResponse
    from starlette.routing import Route

    from cors_matrix.check.app_server import ThreadServer
    from cors_matrix.check.relay import Relay

    open_streams = []

    async def beats():
        open_streams.append(1)
        try:
            while True:
                yield b"data: beat\n\n"
                await aio.sleep(0.05)
        finally:
            open_streams.pop()

    async def events(request):
        return StreamingResponse(beats(), media_type="text/event-stream")

    app = ThreadServer(Starlette(routes=[Route("/events", events)]), "stream-app").start()
    relay = ThreadServer(Relay(app.port, "http"), "relay", own_headers=False).start()
    try:
        for _ in range(3):  # the browser reads the head, then cancels the body
            with sock.create_connection(("127.0.0.1", relay.port), timeout=5) as client:
                client.sendall(b"GET /events HTTP/1.1\r\nHost: api.example.com\r\n\r\n")
                assert client.recv(4096).startswith(b"HTTP/1.1 200")
        deadline = time.monotonic() + 5
        while open_streams and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not open_streams, f"{len(open_streams)} streams still read from the app"
    finally:
        relay.stop()
        app.stop()


@pytest.mark.unit
def test_attacker_reads_are_where_the_prescan_saw_trust_capped_per_origin():
    from cors_matrix.check.attackers import BASELINE_READS, READS_PER_ATTACKER, attacker_reads
    from cors_matrix.check.battery import attacker_battery
    from cors_matrix.check.options import Endpoint
    from cors_matrix.check.prescan import Answer, Prescan

    endpoints = [Endpoint("GET", f"/e{i}") for i in range(10)]
    reads = attacker_battery(endpoints)
    echo, other, elsewhere = "https://any.test", "https://no.test", "https://one.test"
    answers = [Answer(echo, "k", e.name, "GET", 200, [echo], True) for e in endpoints]
    answers += [Answer(other, "k", e.name, "GET", 200 if i == 7 else 404, [])
                for i, e in enumerate(endpoints)]  # fmt: skip
    answers += [Answer(elsewhere, "k", e.name, "GET", 200, [elsewhere] if i == 9 else [])
                for i, e in enumerate(endpoints)]  # fmt: skip
    attackers = {"https://app.test": [("k", echo), ("k", other), ("k", elsewhere)]}
    got = attacker_reads(reads, attackers, Prescan(answers, len(answers), 0.1))
    endpoints_of = {o: {r.endpoint for r in rs} for o, rs in got.items()}
    assert len(endpoints_of[echo]) == READS_PER_ATTACKER  # each read twice: with and without
    assert len(got[echo]) == 2 * READS_PER_ATTACKER
    assert len(endpoints_of[other]) == BASELINE_READS and "GET /e7" in endpoints_of[other]
    assert "GET /e9" in endpoints_of[elsewhere]  # where it is trusted, first
    assert attacker_reads(reads, attackers, None) == {}  # no pre-scan: every read
