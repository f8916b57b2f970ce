"""Clean-up, tested as a user meets it: the harness runs as a subprocess and is watched from
outside. After a pass, a failure, an exception inside a fixture, a browser crash and Ctrl-C,
no process the run started is left and the results file holds every finished cell as valid
JSON Lines."""

import json
import os
import signal
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = """
[server]
allow_origins = ["{app}"]
[[probe]]
name = "allowed"
[[probe]]
name = "refused"
page = "attacker"
"""
FAILING_TESTS = """
import pytest

@pytest.fixture
def broken(cors_host):
    raise RuntimeError("a fixture that fails after the servers are up")

def test_fixture_error(broken):
    pass

def test_plain_failure(cors_host, cors_engines):
    cors_engines.get("chromium", "block-third-party")
    assert False, "a failing test while servers and a browser are up"
"""


class Watched:
    """A pytest subprocess and every process it ever had."""

    def __init__(self, args: list[str], cwd: Path, own_group: bool = False) -> None:
        # output to a file, not a pipe: a pipe nobody reads fills up and blocks the run
        self.output = cwd / "pytest-output.txt"
        with open(self.output, "wb") as out:
            self.run = subprocess.Popen(
                [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
                stdout=out, stderr=subprocess.STDOUT, cwd=cwd, start_new_session=own_group,
            )  # fmt: skip
        self.parent = psutil.Process(self.run.pid)
        self.seen: dict[int, psutil.Process] = {}
        self.described: dict[int, tuple[str, int]] = {}  # pid -> (name, parent pid) when seen

    def poll_children(self) -> list[psutil.Process]:
        try:
            for child in self.parent.children(recursive=True):
                if child.pid not in self.seen:
                    self.seen[child.pid] = child
                    self.described[child.pid] = (_name(child), _ppid(child))
        except psutil.NoSuchProcess:
            pass
        return list(self.seen.values())

    def wait_until(self, condition, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.run.poll() is None:
            self.poll_children()
            if condition():
                return
            time.sleep(0.1)
        raise AssertionError("condition not reached while the run was alive")

    def finish(self, timeout: float = 180) -> str:
        deadline = time.monotonic() + timeout
        while self.run.poll() is None:  # keep watching: engines may be relaunched late
            self.poll_children()
            time.sleep(0.1)
            if time.monotonic() > deadline:
                self.kill_all()
                raise AssertionError(f"run did not finish in {timeout} s")
        output = self.output.read_text(errors="replace")
        _, alive = psutil.wait_procs(list(self.seen.values()), timeout=10)
        assert not alive, f"left running: {[(p.pid, _name(p)) for p in alive]}\n{output[-1500:]}"
        return output

    def kill_all(self) -> None:
        """A hung run must not outlive its test."""
        for process in [self.parent, *self.poll_children()]:
            try:
                process.kill()
            except psutil.Error:
                pass

    def names(self) -> set[str]:
        return {name for name, _ in self.described.values()}

    def browser_pids(self, name: str) -> set[int]:
        """Main browser processes: not forked by another process of the same name (renderers,
        GPU and zygote helpers are)."""
        names = {pid: n for pid, (n, _) in self.described.items()}
        return {pid for pid, (n, parent) in self.described.items()
                if n == name and names.get(parent) != name}  # fmt: skip


def _name(process: psutil.Process) -> str:
    try:
        return process.name()
    except psutil.NoSuchProcess:  # short-lived helpers come and go
        return "?"


def lines_of(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_pass_leaves_nothing_running(tmp_path):
    (tmp_path / "test_s.toml").write_text(SCENARIO)
    results = tmp_path / "run.jsonl"
    watched = Watched(["--cors-browser", "chromium", "--cors-browser", "webkit",
                       "--cors-results", str(results)], tmp_path)  # fmt: skip
    output = watched.finish()
    assert watched.run.returncode == 0, output[-2000:]
    assert any("MiniBrowser" in n or "WebKit" in n for n in watched.names())
    assert [r["verdict"] for r in lines_of(results)] == ["match"] * 4


def test_failure_and_fixture_exception_leave_nothing_running(tmp_path):
    (tmp_path / "test_s.toml").write_text(SCENARIO)
    (tmp_path / "test_failing.py").write_text(FAILING_TESTS)
    results = tmp_path / "run.jsonl"
    watched = Watched(["--cors-browser", "chromium", "--cors-results", str(results)], tmp_path)
    output = watched.finish()
    assert watched.run.returncode == 1, output[-2000:]
    assert "1 failed, 2 passed, 1 error" in output, output[-2000:]
    assert any("chrom" in n for n in watched.names()), watched.names()
    assert len(lines_of(results)) == 2


def test_browser_crash_mid_run_relaunches_and_leaves_nothing_running(tmp_path):
    results = tmp_path / "run.jsonl"
    # the catalogue without its WPT port (177 chromium cells, about 10 s): the kill must land
    # mid-run. With scenarios/origins (17 cells) a loaded CI machine once killed it after the
    # last cell.
    watched = Watched([str(ROOT / "scenarios"), "--ignore", str(ROOT / "scenarios" / "wpt"),
                       "--cors-browser", "chromium", "--cors-results", str(results)],
                      tmp_path)  # fmt: skip
    written = lambda: results.exists() and results.read_text().count("\n") >= 3  # noqa: E731
    watched.wait_until(written)
    watched.poll_children()
    (pid,) = watched.browser_pids("chromium")
    psutil.Process(pid).kill()
    done_at_kill = results.read_text().count("\n")
    output = watched.finish()
    records = lines_of(results)
    assert done_at_kill < len(records) - 10, "the kill did not land mid-run"
    collected = int(output.split(" passed")[0].split()[-1]) if " passed" in output else 0
    failed = sum(1 for r in records if r["reason"].startswith("cell failed to run"))
    assert failed <= 1, output[-2000:]  # at most the cell that was running when it died
    assert collected + failed == len(records), output[-2000:]
    assert len(watched.browser_pids("chromium")) >= 2, "the engine was not relaunched"


def _ppid(process: psutil.Process) -> int:
    try:
        return process.ppid()
    except psutil.NoSuchProcess:
        return -1


def test_sigint_mid_run_leaves_no_process_and_no_broken_line(tmp_path):
    results = tmp_path / "run.jsonl"
    watched = Watched([str(ROOT / "scenarios"), "--cors-browser", "chromium",
                       "--cors-browser", "webkit", "--cors-results", str(results)],
                      tmp_path)  # fmt: skip
    watched.wait_until(lambda: results.exists() and results.read_text().count("\n") >= 4, 60)
    assert any("WebKit" in n or "MiniBrowser" in n for n in watched.names()), watched.names()
    watched.run.send_signal(signal.SIGINT)
    output = watched.finish(timeout=60)
    assert watched.run.returncode == 2, output[-2000:]  # pytest's 'interrupted'
    lines = lines_of(results)
    assert len(lines) >= 3
    assert all(r["verdict"] in ("match", "diverge", "not-run") for r in lines)


def test_ctrl_c_in_a_terminal_reaches_every_process_and_leaves_none(tmp_path):
    """A terminal's Ctrl-C signals the whole foreground process group: the Playwright driver,
    the browsers, WebKitWebDriver, uvicorn and nginx get SIGINT at the same moment as pytest."""
    results = tmp_path / "run.jsonl"
    watched = Watched([str(ROOT / "scenarios"), "--cors-browser", "chromium",
                       "--cors-browser", "webkit", "--cors-results", str(results)], tmp_path,
                      own_group=True)  # fmt: skip
    watched.wait_until(lambda: results.exists() and results.read_text().count("\n") >= 4, 60)
    os.killpg(watched.run.pid, signal.SIGINT)
    output = watched.finish(timeout=60)
    assert watched.run.returncode == 2, output[-2000:]
    lines = lines_of(results)
    assert len(lines) >= 3
    assert all(r["verdict"] in ("match", "diverge", "not-run") for r in lines)


def _mid_run_with_webkit_and_nginx(tmp_path: Path) -> tuple[Watched, Path]:
    """A run caught mid-way with nginx, WebKit (WebKitWebDriver, MiniBrowser, its helpers),
    Xvfb, the host and Chromium all running. The WPT port after them keeps the run going for
    minutes: with only proxy/ and origins/ (68 cells, 10 s) a loaded CI machine once saw the
    condition as the run ended, and the signal went to a process that had already exited."""
    results = tmp_path / "run.jsonl"
    watched = Watched([str(ROOT / "scenarios" / "proxy"), str(ROOT / "scenarios" / "origins"),
                       str(ROOT / "scenarios" / "wpt"), "--cors-browser", "chromium",
                       "--cors-browser", "webkit", "--cors-results", str(results)],
                      tmp_path)  # fmt: skip
    watched.wait_until(lambda: results.exists() and results.read_text().count("\n") >= 4
                       and any("nginx" in n for n in watched.names())
                       and any("WebKit" in n or "MiniBrowser" in n for n in watched.names()),
                       90)  # fmt: skip
    assert watched.run.poll() is None, "the run ended before it could be signalled"
    return watched, results


def test_sigterm_mid_run_with_webkit_and_nginx_leaves_no_process(tmp_path):
    """What a CI runner's cancel sends: before, nginx, Xvfb, WebKitWebDriver, MiniBrowser and
    WebKit's helpers outlived the run every time (Python's default SIGTERM runs no teardown)."""
    watched, results = _mid_run_with_webkit_and_nginx(tmp_path)
    watched.run.send_signal(signal.SIGTERM)
    output = watched.finish(timeout=60)
    assert watched.run.returncode == 2, output[-2000:]
    assert all(r["verdict"] in ("match", "diverge", "not-run") for r in lines_of(results))


def test_sigkill_mid_run_with_webkit_and_nginx_leaves_no_process(tmp_path):
    """A SIGKILLed pytest runs no teardown: its children must notice on their own. Before the
    reaper, nginx, Xvfb, WebKitWebDriver, MiniBrowser, WebKit's helpers and the host stayed."""
    watched, results = _mid_run_with_webkit_and_nginx(tmp_path)
    started = len(watched.seen)
    watched.run.kill()
    watched.finish(timeout=30)  # asserts that none of the run's processes is left
    assert started >= 8, watched.names()  # host, nginx, Xvfb, the engines and their helpers
    assert all(r["verdict"] in ("match", "diverge", "not-run") for r in lines_of(results))


def test_a_second_ctrl_c_stops_at_once_with_exit_2_and_no_traceback(tmp_path):
    results = tmp_path / "run.jsonl"
    watched = Watched([str(ROOT / "scenarios" / "origins"), str(ROOT / "scenarios" / "wpt"),
                       "--cors-browser", "chromium", "--cors-browser", "webkit",
                       "--cors-results", str(results)], tmp_path, own_group=True)  # fmt: skip
    watched.wait_until(lambda: results.exists() and results.read_text().count("\n") >= 4, 60)
    os.killpg(watched.run.pid, signal.SIGINT)
    time.sleep(0.3)
    os.killpg(watched.run.pid, signal.SIGINT)
    output = watched.finish(timeout=30)
    assert watched.run.returncode == 2, output[-2000:]
    assert "Traceback" not in output, output[-2000:]
    assert all(r["verdict"] in ("match", "diverge", "not-run") for r in lines_of(results))


def test_a_host_that_dies_mid_run_ends_the_run_quickly_with_the_rest_not_run(tmp_path):
    """Before, with three engines the run never finished (WebKit cells waited ~120 s each)."""
    results = tmp_path / "run.jsonl"
    origins = ROOT / "scenarios" / "origins"
    engines = [a for b in ("chromium", "firefox", "webkit") for a in ("--cors-browser", b)]
    watched = Watched([str(origins), *engines, "--cors-results", str(results)], tmp_path)
    watched.wait_until(lambda: results.exists() and results.read_text().count("\n") >= 4, 90)
    host = next(
        p for p in watched.poll_children() if "cors_matrix.serve.host" in " ".join(_cmdline(p))
    )
    host.kill()
    killed_at = time.monotonic()
    output = watched.finish(timeout=120)
    took = time.monotonic() - killed_at
    assert watched.run.returncode == 1, output[-2000:]
    records = lines_of(results)
    cells = 3 * sum(len(tomllib.loads(f.read_text())["probe"]) for f in origins.glob("test_*.toml"))
    assert len(records) == cells, (len(records), cells)  # every cell has its record
    not_run = [r for r in records if r["verdict"] == "not-run"]
    assert not_run and all("host server" in r["reason"] and "exited" in r["reason"]
                           for r in not_run), not_run[:2]  # fmt: skip
    assert took < 60, took


def _cmdline(process: psutil.Process) -> list[str]:
    try:
        return process.cmdline()
    except psutil.Error:
        return []


def test_an_engine_that_crashes_while_launching_is_relaunched_and_its_cells_run(tmp_path):
    """Before, the launch failure was remembered: all of that engine's cells were lost."""
    marker = tmp_path / "crashed-once"
    wrapper = tmp_path / "chromium-crashing-once"
    # a real browser executable that dies the first time it is started, as a crash would
    wrapper.write_text(f"#!/bin/sh\nif [ ! -e {marker} ]; then touch {marker}; kill -SEGV $$; fi\n"
                       f'exec /usr/lib/chromium/chromium "$@"\n')  # fmt: skip
    wrapper.chmod(0o755)
    results = tmp_path / "run.jsonl"
    origins = ROOT / "scenarios" / "origins"
    env_before = os.environ.get("CORS_MATRIX_CHROMIUM")
    os.environ["CORS_MATRIX_CHROMIUM"] = str(wrapper)
    try:
        watched = Watched([str(origins), "--cors-browser", "chromium",
                           "--cors-results", str(results)], tmp_path)  # fmt: skip
    finally:
        if env_before is None:
            os.environ.pop("CORS_MATRIX_CHROMIUM")
        else:
            os.environ["CORS_MATRIX_CHROMIUM"] = env_before
    output = watched.finish(timeout=120)
    assert marker.exists(), "the first launch did not crash"
    assert watched.run.returncode == 0, output[-2000:]
    records = lines_of(results)
    cells = sum(len(tomllib.loads(f.read_text())["probe"]) for f in origins.glob("test_*.toml"))
    assert len(records) == cells and all(r["verdict"] == "match" for r in records), output[-2000:]
