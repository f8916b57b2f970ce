"""Remote engines, against endpoints started here the way a user would run them elsewhere: a
Playwright server (`playwright run-server`), a standalone WebKitWebDriver (on its own Xvfb) and
a standalone chromedriver. The starter scenarios (scenarios/origins) run unchanged through them
and every record names the endpoint it ran at."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cors_matrix.engines.webdriver_backend import CHROMEDRIVER, WEBKIT_DRIVER, Xvfb
from cors_matrix.serve.nginx import free_port

ROOT = Path(__file__).resolve().parent.parent
STARTERS = ROOT / "scenarios" / "origins"


def wait_for_port(port: int, process: subprocess.Popen, what: str) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        assert process.poll() is None, f"{what} exited with {process.returncode}"
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"{what} did not listen on {port} within 20 s")


@pytest.fixture
def endpoint():
    """Start a server process on a free port; stop every one at the end."""
    started: list[subprocess.Popen] = []

    def start(args: list[str], what: str, env: dict | None = None) -> int:
        port = free_port()
        args = [a.replace("{port}", str(port)) for a in args]
        # own process group: `python -m playwright run-server` runs node as its child
        process = subprocess.Popen(
            args, env={**os.environ, **(env or {})}, start_new_session=True,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        started.append(process)
        wait_for_port(port, process, what)
        return port

    yield start
    for process in started:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def run_starters(tmp_path: Path, remotes: dict[str, str], policies: list[str], env=None):
    results = tmp_path / "run.jsonl"
    args = [sys.executable, "-m", "pytest", str(STARTERS), "-q", "-p", "no:cacheprovider",
            "--cors-results", str(results)]  # fmt: skip
    for engine, url in remotes.items():
        args += ["--cors-browser", engine, "--cors-remote", f"{engine}={url}"]
    for policy in policies:
        args += ["--cors-cookie-policy", policy]
    run = subprocess.run(args, cwd=tmp_path, capture_output=True, text=True, timeout=600,
                         env={**os.environ, **(env or {})})  # fmt: skip
    records = [json.loads(line) for line in results.read_text().splitlines()]
    return run, records


def test_playwright_server_runs_chromium_and_firefox(tmp_path, endpoint):
    port = endpoint([sys.executable, "-m", "playwright", "run-server", "--port", "{port}",
                     "--host", "127.0.0.1", "--unsafe"], "playwright run-server")  # fmt: skip
    url = f"ws://127.0.0.1:{port}/"
    # the server has no Playwright builds here: its executables are Debian's (hence --unsafe)
    env = {"CORS_MATRIX_CHROMIUM": "/usr/lib/chromium/chromium",
           "CORS_MATRIX_FIREFOX": "/usr/bin/firefox-esr"}  # fmt: skip
    run, records = run_starters(tmp_path, {"chromium": url, "firefox": url},
                                ["block-third-party", "allow-third-party"], env)  # fmt: skip
    ran = [r for r in records if r["verdict"] != "not-run"]
    assert run.returncode == 0, run.stdout[-3000:]
    assert ran and all(r["verdict"] == "match" for r in ran)
    assert {(r["browser"], r["cookie_policy"]) for r in ran} == {
        ("chromium", "block-third-party"), ("firefox", "block-third-party"),
        ("firefox", "allow-third-party"),
    }  # fmt: skip
    assert all(r["remote"] == url and r["engine_build"] == "remote" for r in ran)
    # the one policy a Playwright server cannot state for Chromium is not run, and says why
    skipped = {r["reason"] for r in records if r["verdict"] == "not-run"}
    assert len(skipped) == 1 and "cannot be set to allow third-party cookies" in skipped.pop()


def test_webdriver_endpoints_run_webkit_and_chromium(tmp_path, endpoint):
    xvfb = Xvfb()
    try:
        webkit = endpoint([WEBKIT_DRIVER, "--port={port}", "--host=127.0.0.1"],
                          "WebKitWebDriver", {"DISPLAY": xvfb.display})  # fmt: skip
        chromium = endpoint([CHROMEDRIVER, "--port={port}"], "chromedriver")
        remotes = {"webkit": f"http://127.0.0.1:{webkit}",
                   "chromium": f"http://127.0.0.1:{chromium}"}  # fmt: skip
        policies = ["block-third-party", "allow-third-party"]
        env = {"CORS_MATRIX_CHROMIUM": "/usr/lib/chromium/chromium"}
        run, records = run_starters(tmp_path, remotes, policies, env)
    finally:
        xvfb.close()
    assert run.returncode == 0, run.stdout[-3000:]
    assert {(r["browser"], r["cookie_policy"]) for r in records} == {
        (e, p) for e in ("webkit", "chromium") for p in ("block-third-party", "allow-third-party")
    }
    assert all(r["verdict"] == "match" for r in records)
    assert {r["remote"] for r in records} == set(remotes.values())


def test_bad_remote_option_is_one_line(tmp_path):
    run = subprocess.run([sys.executable, "-m", "pytest", "--cors-remote", "safari=http://x",
                          "-p", "no:cacheprovider"], cwd=tmp_path, capture_output=True,
                         text=True)  # fmt: skip
    assert run.returncode == 4
    assert "--cors-remote 'safari=http://x': expected ENGINE=URL" in run.stderr


@pytest.mark.parametrize(("args", "line"), [
    (["--cors-grid", "ftp://hub"], "--cors-grid 'ftp://hub': a Selenium Grid hub's URL is"),
    (["--cors-remote-proxy", "127.0.0.1"], "--cors-remote-proxy needs --cors-grid or"),
])  # fmt: skip
def test_bad_grid_options_are_one_line(tmp_path, args, line):
    run = subprocess.run([sys.executable, "-m", "pytest", *args, "-p", "no:cacheprovider"],
                         cwd=tmp_path, capture_output=True, text=True)  # fmt: skip
    assert run.returncode == 4 and line in run.stderr, run.stderr


def test_the_remote_proxy_serves_only_the_runs_origin_ports():
    """Every page and API port under both loopback names and schemes; not the control port."""
    from cors_matrix.serve.forward_proxy import ForwardProxy
    from cors_matrix.serve.servers import origin_routes

    class Host:
        manifest = {"pages": {"app": "http://localhost:1001"}, "pages_tls": {},
                    "apis": {"s": "https://localhost:1002"},
                    "control": "http://127.0.0.1:1003"}  # fmt: skip

    routes = origin_routes([Host()])
    assert {port for (_, _, port) in routes} == {1001, 1002}
    assert ("http", "127.0.0.1", 1002) in routes and ("https", "localhost", 1001) in routes
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        open_port = server.getsockname()[1]
        proxy = ForwardProxy(routes).start()
        try:
            with socket.create_connection(("127.0.0.1", proxy.port), 5) as client:
                client.sendall(f"GET http://127.0.0.1:{open_port}/ HTTP/1.1\r\n\r\n".encode())
                assert client.recv(100).startswith(b"HTTP/1.1 403")
        finally:
            proxy.stop()
        assert proxy.refused == [f"http://127.0.0.1:{open_port}/"]
