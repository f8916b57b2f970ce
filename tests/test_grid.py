"""The matrix on a real Selenium Grid 4 whose nodes cannot reach this machine's loopback.

A hub on the host side of a veth pair, and nodes (Chromium twice, Firefox, WebKitGTK) with their
drivers and browsers in a network namespace of their own (harness/engines/grid.py). The
browsers reach the run's origins only through the harness's forward proxy
(--cors-remote-proxy), under the same names as a local run. scenarios/origins, a cookie
scenario and one under domain names (hosts = "domains", which the same proxy resolves) run
through the grid in three engines, two workers at once, and must observe exactly
what a local run observes; then a node is killed mid-run. Needs root (ip netns), as CI has.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import psutil
import pytest
from conftest import shared_catalogue_records

from cors_matrix.engines import grid as grid_mod
from cors_matrix.judge.oracle import COMPARED_KEYS
from cors_matrix.run.results import key_of

ROOT = Path(__file__).resolve().parent.parent
CELLS = ["scenarios/origins", "scenarios/credentials/test_cookie_include.toml",
         "scenarios/sites/test_subdomain_cookies.toml"]  # fmt: skip
SECRET = "S3cret-Grid-Key"
pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="ip netns needs root")


@pytest.fixture(scope="module")
def grid(tmp_path_factory):
    grid = grid_mod.start(tmp_path_factory.mktemp("grid"), netns=True, nodes={"chromium": 2})
    yield grid
    grid.stop()


def _pytest(*args: str, results: Path, basetemp: Path) -> list[str]:
    return [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args, "--cors-results",
            str(results), "--no-cors-traces", "--basetemp", str(basetemp)]  # fmt: skip


def _records(path: Path) -> dict[tuple, dict]:
    return {key_of(r): r for r in map(json.loads, path.read_text().splitlines())}


def _named(origin: str) -> tuple[str, str | None]:
    parts = urlsplit(origin)
    return parts.scheme, parts.hostname


def _inside(grid, code: str) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", "netns", "exec", grid.netns, sys.executable, "-c", code],
                          capture_output=True, text=True, timeout=30)  # fmt: skip


def test_the_nodes_cannot_reach_this_machines_loopback(grid):
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        connect = f"import socket; socket.create_connection(('127.0.0.1', {port}), 3)"
        assert _inside(grid, connect).returncode != 0  # refused: another loopback in there
    hub = grid.hub.removeprefix("http://").split(":")
    assert _inside(grid, f"import socket; socket.create_connection(('{hub[0]}', {hub[1]}), 3)"
                   ).returncode == 0  # the host side of the veth pair they do reach  # fmt: skip


class _SessionCounter(threading.Thread):
    """The most sessions the hub held at once while the run went on."""

    def __init__(self, grid) -> None:
        super().__init__(daemon=True)
        self.grid, self.most, self.done = grid, 0, threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.2):
            try:
                nodes = self.grid.status().get("nodes", [])
            except OSError:
                continue
            busy = sum(1 for n in nodes for s in n.get("slots", []) if s.get("session"))
            self.most = max(self.most, busy)


def _local_run(tmp_path: Path) -> tuple[dict[tuple, dict], str]:
    """The cells run here: from `make test`'s catalogue run when it names one
    (tests/conftest.py), else a run of their own (-n 2, as the grid's)."""
    shared = shared_catalogue_records(CELLS, {"chromium", "firefox", "webkit"})
    if shared is not None:
        return {key_of(r): r for r in shared}, "make test's catalogue run"
    local = tmp_path / "local.jsonl"
    started = time.monotonic()
    run = subprocess.run(_pytest(*CELLS, "-n", "2", results=local, basetemp=tmp_path / "l"),
                         cwd=ROOT, capture_output=True, text=True, timeout=900)  # fmt: skip
    assert run.returncode == 0, run.stdout[-3000:]
    return _records(local), f"{time.monotonic() - started:.1f} s local (-n 2)"


def test_scenarios_through_the_grid_observe_what_a_local_run_observes(grid, tmp_path):
    remote = tmp_path / "grid.jsonl"
    here, local = _local_run(tmp_path)

    counter = _SessionCounter(grid)
    counter.start()
    started = time.monotonic()
    # a cloud grid's form (the README's): its password never reaches the output or a record
    hub = grid.hub.replace("://", f"://alice:{SECRET}@", 1)
    run = subprocess.run(
        _pytest(*CELLS, "-n", "2", "--cors-grid", hub, "--cors-remote-proxy",
                grid.proxy_bind, results=remote, basetemp=tmp_path / "g"),
        cwd=ROOT, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    grid_s = time.monotonic() - started
    counter.done.set()
    assert run.returncode == 0, run.stdout[-3000:]
    assert SECRET not in run.stdout + run.stderr + remote.read_text()

    there = _records(remote)
    assert set(here) == set(there) and len(there) > 40
    assert {k[2] for k in there} == {"chromium", "firefox", "webkit"}
    for key, record in there.items():
        assert record["verdict"] == "match", (key, record["reason"])
        # the named origins stay named: same scheme and host (ports are each run's own)
        assert _named(record["page_origin"]) == _named(here[key]["page_origin"])
        for field in COMPARED_KEYS:  # identical, apart from timing
            assert record["observed"][field] == here[key]["observed"][field], (key, field)
        assert record["remote"] == grid.hub.replace("://", "://alice:***@", 1)
        assert record["node"] in grid.node_uris
        assert record["platform"] == "linux" and record["remote_browser"]
        assert record["browser_version"] == here[key]["browser_version"]
    assert counter.most >= 2  # sessions in parallel, on several nodes
    print(
        f"\ngrid: {len(there)} cells, 3 engines, up to {counter.most} sessions at once; "
        f"{grid_s:.1f} s through the grid (-n 2); local cells from {local}"
    )


def test_killing_a_node_mid_run_costs_only_the_cells_running_on_it(grid, tmp_path):
    results = tmp_path / "run.jsonl"
    command = _pytest("scenarios/origins", "--cors-browser", "chromium", "--cors-grid", grid.hub,
                      "--cors-remote-proxy", grid.proxy_bind, results=results,
                      basetemp=tmp_path / "b")  # fmt: skip
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True)  # fmt: skip
    killed = None
    deadline = time.monotonic() + 120
    while killed is None and time.monotonic() < deadline and process.poll() is None:
        lines = results.read_text().splitlines() if results.exists() else []
        if len(lines) >= 3:
            killed = json.loads(lines[-1])["node"]
            grid.kill_node(grid.node_of(killed))
        time.sleep(0.05)
    output, _ = process.communicate(timeout=300)
    assert killed is not None, output[-2000:]

    records = list(map(json.loads, results.read_text().splitlines()))
    collected = json.loads(results.with_name(results.name + ".cells.json").read_text())["cells"]
    assert len(records) == len(collected)  # every cell has its record
    lost = [r for r in records if r["verdict"] != "match"]
    assert 1 <= len(lost) <= 2, [(r["probe"], r["reason"]) for r in lost]
    for r in lost:
        assert r["verdict"] == "not-run" and "ended while the cell ran" in r["reason"]
        assert killed in r["reason"]
    after = records[records.index(lost[-1]) + 1 :]
    assert after and all(r["verdict"] == "match" and r["node"] != killed for r in after)
    assert process.returncode == 0, output[-2000:]  # not-run cells are skips, not failures
    leftovers = [p.info["cmdline"] for p in psutil.process_iter(["cmdline"])
                 if str(tmp_path / "b") in " ".join(p.info["cmdline"] or [])]  # fmt: skip
    assert not leftovers  # the run stopped everything it started
