"""`python -m harness check`: the user's own app under its real origins, end to end in three
engines, plus its one-line usage errors."""

import http.server
import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from harness.check import UsageError, attacker_origins, parse_origin

ROOT = Path(__file__).resolve().parent.parent


def check(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "harness", "check", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=600)  # fmt: skip


def test_origins_are_normalised_and_non_origins_refused():
    assert parse_origin("HTTPS://App.Example.com:443") == "https://app.example.com"
    assert parse_origin("http://localhost:3000/") == "http://localhost:3000"
    for bad in ("app.example.com", "https://app.example.com/login", "ftp://x", "https://"):
        with pytest.raises(UsageError, match="is not an origin"):
            parse_origin(bad)


def test_attacker_origins_cover_the_usual_mistakes():
    got = dict(attacker_origins("https://app.example.com"))
    assert got["suffix lookalike"] == "https://app.example.com.evil.test"
    assert got["prefix lookalike"] == "https://evilapp.example.com"
    assert got["unescaped-dot lookalike"] == "https://appxexample.com"
    assert got["another subdomain"] == "https://evil.example.com"
    assert got["http instead of https"] == "http://app.example.com"
    assert got["null origin (sandboxed iframe)"] == "null"


@pytest.mark.parametrize(
    "args,message",
    [
        (["nosuchmodule:app"], "cannot import 'nosuchmodule'"),
        (["examples.guide_app.main:nope"], "has no attribute 'nope'"),
        (["examples.guide_app.main"], "expected module:attribute"),
    ],
)
def test_bad_app_is_one_line_and_exit_2(args, message):
    run = check(*args, "--frontend", "https://app.example.com")
    assert run.returncode == 2 and message in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1, run.stderr


def test_bad_frontend_and_failing_startup_are_one_line_and_exit_2(tmp_path):
    run = check("examples.guide_app.main:app", "--frontend", "https://app.example.com/x")
    assert run.returncode == 2 and "is not an origin" in run.stderr
    (tmp_path / "crashing.py").write_text(
        "from contextlib import asynccontextmanager\nfrom fastapi import FastAPI\n"
        "@asynccontextmanager\nasync def lifespan(app):\n"
        "    raise RuntimeError('database unreachable')\n    yield\n"
        "app = FastAPI(lifespan=lifespan)\n"
    )
    run = check("crashing:app", "--frontend", "https://a.example", "--endpoint", "GET:/x",
                "-o", str(tmp_path / "out"), cwd=tmp_path)  # fmt: skip
    assert run.returncode == 2
    assert "crashing:app failed on startup: RuntimeError: database unreachable" in run.stderr


COMMON = ["--frontend", "https://app.example.com", "--api-origin", "https://api.example.com",
          "--login", "POST:/login", "--endpoint", "GET:/items/1"]  # fmt: skip


def test_the_guide_example_works_in_three_engines_and_has_no_finding(tmp_path):
    run = check("examples.guide_app.main:app", *COMMON, "--endpoint", 'POST:/items {"n": 1}',
                "-o", str(tmp_path))  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    kinds = [line for line in run.stdout.splitlines() if line.startswith("  works in")]
    assert len(kinds) == 6 and all("(chromium, firefox, webkit)" in k for k in kinds), kinds
    assert "SECURITY" not in run.stdout
    assert (tmp_path / "index.html").is_file()
    # add_middleware puts CORSMiddleware inside ServerErrorMiddleware: a real 500 has no CORS
    # headers; reported with its cause and fix, but not counted in the exit code
    lines = run.stdout.splitlines()
    (note,) = [n for n in lines if n.startswith("  note: unreadable in chromium, firefox, webkit: "
                                                  "error response (500")]  # fmt: skip
    assert "escaped CORSMiddleware" in lines[lines.index(note) + 1]
    assert "app = CORSMiddleware(app, ...)" in lines[lines.index(note) + 2]


WRAPPED_APP = """
from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware

api = FastAPI()

@api.get("/items/{item_id}")
def item(item_id: int) -> dict:
    return {"id": item_id}

app = CORSMiddleware(api, allow_origins=["https://app.example.com"], allow_credentials=True,
                     allow_headers=["Authorization"])
"""


def test_a_500_is_readable_when_cors_wraps_the_whole_app(tmp_path):
    (tmp_path / "wrapped.py").write_text(WRAPPED_APP)
    run = check("wrapped:app", "--frontend", "https://app.example.com", "--endpoint",
                "GET:/items/1", "-o", str(tmp_path / "out"), cwd=tmp_path)  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    assert ("works in all engines (chromium, firefox, webkit): error response (500, unhandled "
            "exception)") in run.stdout  # fmt: skip
    records = [json.loads(line) for line in (tmp_path / "out" / "check.jsonl").open()]
    statuses = {r["observed"]["status"] for r in records
                if "500" in r["probe"] and r["page"] == "app"}  # fmt: skip
    assert statuses == {500}


def test_an_over_broad_regex_is_a_finding_confirmed_from_lookalikes(tmp_path):
    run = check("examples.insecure_app.main:app", *COMMON, "-o", str(tmp_path))
    assert run.returncode == 1, run.stdout + run.stderr
    assert "SECURITY FINDINGS" in run.stdout
    high = [line for line in run.stdout.splitlines() if line.startswith("  [HIGH]")]
    assert any(
        "https://evilapp.example.com" in line
        and "with the user's cookies" in line
        and "(confirmed in chromium, firefox, webkit)" in line
        for line in high
    ), high
    # the real frontend still works, and unrelated sites stay out
    assert "works in all engines (chromium, firefox, webkit): simple GET /items/1" in run.stdout
    assert "https://evil.test reads" not in run.stdout


def test_the_pytest_fixture_checks_an_app_object(cors_check, monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT))  # examples/ is not installed; a user's app would be
    from examples.guide_app.main import app

    code = cors_check(
        app, "https://app.example.com", api_origin="https://api.example.com",
        login="POST:/login", endpoints=["GET:/items/1"], browsers=["chromium"],
    )  # fmt: skip
    assert code == 0


class _WrongServer(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(418)
        self.send_header("Access-Control-Allow-Origin", "*")
        self.end_headers()
        self.wfile.write(b"the user's own dev server, not the app under check")

    def log_message(self, *args):
        pass


def test_localhost_origins_also_go_through_the_proxy(tmp_path, monkeypatch):
    """The classic dev setup, localhost:3000 -> localhost:8000: engines bypass proxies for
    loopback by default; the check's engines must not. The user's own dev servers often hold
    those ports: here something else answers on them, and the check must not reach it."""
    servers = []
    for port in (3000, 8000):
        try:
            servers.append(http.server.ThreadingHTTPServer(("127.0.0.1", port), _WrongServer))
        except OSError:  # taken already: by something that is not the app under check either
            continue
        threading.Thread(target=servers[-1].serve_forever, daemon=True).start()
    monkeypatch.setenv("ALLOWED_ORIGINS", "http://localhost:3000")
    try:
        run = check("examples.guide_app.main:app", "--frontend", "http://localhost:3000",
                    "--api-origin", "http://localhost:8000", "--endpoint", "GET:/items/1",
                    "-o", str(tmp_path))  # fmt: skip
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()
    assert run.returncode == 0, run.stdout + run.stderr
    assert "works in all engines (chromium, firefox, webkit): simple GET /items/1" in run.stdout
    records = [json.loads(line) for line in (tmp_path / "check.jsonl").open()]
    assert {r["observed"]["status"] for r in records if r["probe"] == "frontend: simple GET "
            "/items/1"} == {200}  # fmt: skip


def test_endpoints_are_discovered_from_the_openapi_schema():
    from fastapi import FastAPI
    from pydantic import BaseModel

    from harness.check import discover_endpoints

    class Item(BaseModel):
        name: str
        price: float
        tags: list[str] = []

    app = FastAPI()

    @app.put("/things/{thing_id}")
    def put(thing_id: int, item: Item) -> Item:
        return item

    @app.get("/health")
    def health() -> dict:
        return {}

    assert discover_endpoints(app) == [
        ("PUT", "/things/1", '{"name": "x", "price": 1}'),
        ("GET", "/health", None),
    ]
