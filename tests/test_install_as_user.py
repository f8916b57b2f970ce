"""cors-matrix as a user installs it: the wheel, built here, installed into a fresh venv of a
project in a temp folder that is not this clone. The project has its own `harness` package, a
pinned FastAPI, pytest, pytest-playwright 0.10 and the newest Playwright already installed, a
data file named like a test, and a test that leaves a detached process behind on purpose.

There: the install changes none of the project's pins; `cors-matrix check module:app` gives
its verdict; the project's scenario folder, a pytest-playwright test and `cors_check` run in
one session, in both orders and both plugin load orders; a session with no CORS test is left
alone; and cors-matrix in a venv of its own checks the app in the project's venv (--python).
Needs the package registry (pip) and Debian's Chromium (make engines)."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import psutil
import pytest
from test_cleanup import SCENARIO  # one allowed and one refused probe
from test_report import UNMODELLED  # a redirect the oracle does not serve: a divergence

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/lib/chromium/chromium"
# what the project had before cors-matrix: a FastAPI-0.115-era stack and the newest Playwright
PINS = ["fastapi==0.115.12", "uvicorn==0.34.0", "pytest==8.3.5", "pytest-playwright==0.10.0",
        "playwright==1.65.2"]  # fmt: skip

APP = """
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from harness import greeting  # the project's own `harness` package

app = FastAPI()
app.add_middleware(CORSMiddleware, allow_origins=["https://app.example.com"])


@app.get("/items/{item_id}")
def item(item_id: int):
    return {"id": item_id, "greeting": greeting()}
"""
CONFTEST = f"""
import pytest


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {{**browser_type_launch_args, "executable_path": "{CHROMIUM}"}}
"""
PAGE_TEST = """
def test_{name}(page):
    page.set_content("<h1>{name}</h1>")
    assert page.inner_text("h1") == "{name}"
"""
CHECK_TEST = """
import json, os, time

import psutil

from app.main import app


def browsers():
    \"\"\"Main Chromium processes of this session (not their renderers and helpers).\"\"\"
    found = set()
    for p in psutil.Process().children(recursive=True):
        try:
            if p.name() == "chromium" and p.parent().name() != "chromium":
                found.add(p.pid)
        except psutil.Error:
            pass
    return found


def test_{name}(cors_check):
    before, started = browsers(), time.monotonic()
    result = cors_check(app, "https://app.example.com", endpoints=["GET:/items/1"],
                        browsers=["chromium"])
    seconds, launched = time.monotonic() - started, len(browsers() - before)
    with open(os.environ["CHECK_TIMES"], "a") as out:
        out.write(json.dumps({{"seconds": seconds, "launched": launched}}) + "\\n")
    assert result, result.message
"""
UNIT_TEST = """
import os, signal, subprocess
from pathlib import Path

import pytest

from harness import greeting


def test_own_harness_package():
    assert greeting() == "hello from the project's harness"


def test_leaves_a_detached_process_on_purpose():
    sleeper = subprocess.Popen(["sleep", "300"], start_new_session=True)
    Path(os.environ["SLEEPER_PID"]).write_text(str(sleeper.pid))


def test_nothing_of_cors_matrix_is_active():
    if not os.environ.get("EXPECT_INERT"):  # a session with cells has the handlers, rightly
        pytest.skip("this session runs cells")
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL
    assert not [k for k in os.environ if k.startswith("CORS_MATRIX_RUN_")]
"""


def run(args, cwd: Path, env: dict | None = None, timeout: float = 600):
    return subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})})  # fmt: skip


def ok(result) -> str:
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    return result.stdout


def freeze(python: Path) -> dict[str, str]:
    lines = ok(run([python, "-m", "pip", "freeze", "--all"], python.parent))
    return dict(line.split("==", 1) for line in lines.splitlines() if "==" in line)


def venv(path: Path) -> Path:
    ok(run([sys.executable, "-m", "venv", path], path.parent))
    return path / "bin" / "python"


@pytest.fixture(scope="module")
def dist(built_dist) -> Path:
    """The sdist, and the wheel built from that sdist (tests/conftest.py: built once)."""
    return built_dist


@pytest.fixture(scope="module")
def project(tmp_path_factory, dist) -> dict:
    """A user's project with its own venv and stack, then `pip install` of the wheel."""
    root = tmp_path_factory.mktemp("user-project")
    (root / "harness").mkdir()
    (root / "harness" / "__init__.py").write_text(
        'def greeting():\n    return "hello from the project\'s harness"\n'
    )
    (root / "app").mkdir()
    (root / "app" / "__init__.py").write_text("")
    (root / "app" / "main.py").write_text(APP)
    (root / "tests" / "data").mkdir(parents=True)
    (root / "tests" / "data" / "test_settings.toml").write_text('[server]\nhost = "0.0.0.0"\n')
    (root / "tests" / "conftest.py").write_text(CONFTEST)
    (root / "tests" / "test_unit.py").write_text(UNIT_TEST)
    (root / "cors").mkdir()
    (root / "cors" / "test_api.toml").write_text(SCENARIO)
    (root / "pytest.ini").write_text("[pytest]\npythonpath = .\n")
    python = venv(root / ".venv")
    ok(run([python, "-m", "pip", "install", "--quiet", *PINS], root))
    before = freeze(python)
    (wheel,) = dist.glob("cors_matrix-*.whl")
    ok(run([python, "-m", "pip", "install", "--quiet", wheel], root))
    after = freeze(python)
    return {"root": root, "python": python, "bin": python.parent, "before": before,
            "after": after, "wheel": wheel}  # fmt: skip


def test_the_wheel_carries_the_probe_page_under_its_own_name(dist):
    (wheel,) = dist.glob("cors_matrix-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "cors_matrix/probe_page/index.html" in names
    assert any(n.startswith("cors_matrix/probe_page/assets/") for n in names)
    assert not [n for n in names if n.startswith("harness/")]
    metadata = next(n for n in names if n.endswith(".dist-info/METADATA"))
    text = zipfile.ZipFile(wheel).read(metadata).decode()
    assert "License-Expression: MIT" in text
    assert "Classifier: Programming Language :: Python :: 3.11" in text
    entry_points = zipfile.ZipFile(wheel).read(metadata.replace("METADATA", "entry_points.txt"))
    assert b"cors-matrix = cors_matrix.cli:main" in entry_points
    (sdist,) = dist.glob("cors_matrix-*.tar.gz")
    print(f"\nwheel {wheel.stat().st_size / 1e3:.0f} kB, sdist {sdist.stat().st_size / 1e3:.0f} kB")


def test_installing_changes_none_of_the_projects_pins(project):
    before, after = project["before"], project["after"]
    for pin in PINS:
        name, wanted = pin.split("==")
        assert after[name] == before[name] == wanted, name
    changed = {n: (v, after[n]) for n, v in before.items() if n in after and after[n] != v}
    assert not changed, changed
    added = sorted(set(after) - set(before))
    print(f"\n{len(before)} packages before, {len(after)} after; added: {', '.join(added)}")


def test_check_gives_its_verdict_from_the_console_command(project):
    out = run([project["bin"] / "cors-matrix", "check", "app.main:app", "--frontend",
               "https://app.example.com", "--browser", "chromium", "-o", "check-out"],
              project["root"])  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr
    assert "verdict: PASS" in out.stdout
    assert "GET /items/{item_id}" in out.stdout or "GET /items/1" in out.stdout


def test_firefox_under_the_newest_playwright_says_why_in_one_line(project):
    out = run([project["bin"] / "cors-matrix", "doctor"], project["root"])
    lines = [line for line in out.stdout.splitlines() if line.strip().startswith("firefox")]
    assert len(lines) == 1 and "playwright 1.64.x only (this is 1.65.2)" in lines[0], out.stdout
    assert "chromium  found" in out.stdout


@pytest.mark.parametrize("order", ["cells-first", "playwright-first"])
def test_scenarios_pytest_playwright_and_cors_check_share_one_session(project, order, tmp_path):
    tests = project["root"] / "tests"
    for stale in tests.glob("test_[0-9]*.py"):
        stale.unlink()
    names = ["page_a", "check_a", "page_b", "check_b"]
    if order == "playwright-first":
        names = ["page_a", "check_a", "check_b", "page_b"]
    for n, name in enumerate(names):
        body = PAGE_TEST if name.startswith("page") else CHECK_TEST
        (tests / f"test_{n}_{name}.py").write_text(body.format(name=name))
    paths = ["cors", "tests"] if order == "cells-first" else ["tests", "cors"]
    times = tmp_path / "check-times.jsonl"
    env = {"CHECK_TIMES": str(times), "SLEEPER_PID": str(tmp_path / "sleeper")}
    # plugins load by entry point, or first by name (-p): either may come first
    for load_order in ([], ["-p", "cors_matrix"], ["-p", "playwright"]):
        out = run([project["bin"] / "pytest", *paths, "-p", "no:cacheprovider", *load_order,
                   "--cors-browser", "chromium", "--cors-results", tmp_path / "r.jsonl"],
                  project["root"], env)  # fmt: skip
        summary = (out.stdout.strip().splitlines() or [out.stderr[-2000:]])[-1]
        assert out.returncode == 0 and "8 passed, 1 skipped" in summary, (load_order, summary)
        assert "test_settings.toml" not in out.stdout
        records = [json.loads(line) for line in (tmp_path / "r.jsonl").read_text().splitlines()]
        assert sorted(r["verdict"] for r in records) == ["match", "match"]
        _stop_sleeper(tmp_path / "sleeper")
    calls = [json.loads(line) for line in times.read_text().splitlines()]
    assert len(calls) == 6  # two per session
    for first, second in zip(calls[::2], calls[1::2], strict=True):
        assert first["launched"] == 1 and second["launched"] == 0, calls  # engines are shared
    print(
        f"\ncors_check ({order}): first call {calls[0]['seconds']:.1f} s (with the launch), "
        f"second {calls[1]['seconds']:.1f} s"
    )


def _stop_sleeper(pid_file: Path) -> None:
    """The user's detached process outlived the session (os.kill(pid, 0) raises if it is
    gone); then it is ended here."""
    pid = int(pid_file.read_text())
    pid_file.unlink()
    os.kill(pid, 0)
    os.kill(pid, signal.SIGKILL)


def test_a_session_without_cors_tests_leaves_the_users_processes_alone(project, tmp_path):
    pid_file = tmp_path / "sleeper"
    out = run([project["bin"] / "pytest", "tests/test_unit.py", "tests/data", "-p",
               "no:cacheprovider"], project["root"],
              {"SLEEPER_PID": str(pid_file), "EXPECT_INERT": "1"})  # fmt: skip
    assert out.returncode == 0 and "3 passed" in out.stdout, out.stdout[-3000:]
    assert "test_settings.toml" not in out.stdout
    time.sleep(1)  # a reaper would end it right after the session
    _stop_sleeper(pid_file)


def test_cors_matrix_in_its_own_venv_checks_the_app_in_the_projects(project, tmp_path):
    """The pipx route: cors-matrix's stack never meets the project's."""
    tool = venv(tmp_path / "tool")
    ok(run([tool, "-m", "pip", "install", "--quiet", project["wheel"]], tmp_path))
    out = run([tool.parent / "cors-matrix", "check", "app.main:app", "--python",
               project["python"], "--cwd", project["root"], "--frontend",
               "https://app.example.com", "--browser", "chromium", "-o", tmp_path / "out"],
              tmp_path)  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr
    assert re.search(r"fastapi 0\.115\.12", out.stdout), out.stdout
    assert "verdict: PASS" in out.stdout


# --- the reusable workflow, on a repository that holds only a scenario folder -------------------

REUSABLE = ROOT / ".github" / "workflows" / "cors-matrix.yml"
# steps that cannot run on this machine, and why (the rest run for real, in order)
NOT_HERE = {
    "Install the engine": "apt's engines and Playwright's CDN; here the engines come from Debian",
    "Fetch the previous run's results as the baseline": "GitHub's API; here the previous run's "
    "uploaded report is copied to previous/ as `gh run download` would",
}


def _expand(value, context: dict) -> str:
    """A step's `env:` value with its ${{ inputs.x }} / ${{ matrix.x }} filled in."""
    return re.sub(r"\$\{\{\s*([\w.-]+)\s*\}\}", lambda m: str(context[m.group(1)]), str(value))


def _run_job(job: dict, cwd: Path, context: dict, python: Path) -> list:
    """Every `run:` step of a job, in order, as GitHub runs it (bash -eo pipefail), with only
    the values its `env:` gives; stops at the first failing step."""
    done = []
    for step in job["steps"]:
        if "run" not in step or step["name"] in NOT_HERE:
            continue
        assert "${{" not in step["run"], f"{step['name']}: an expression inside a script"
        env = {k: _expand(v, context) for k, v in step.get("env", {}).items()}
        env["PATH"] = f"{python.parent}:/usr/bin:/bin"
        done.append(subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c",
                                    step["run"]], cwd=cwd, env=env, capture_output=True,
                                   text=True, timeout=600))  # fmt: skip
        if done[-1].returncode != 0:
            break
    return done


def test_the_reusable_workflow_runs_a_repository_holding_only_a_scenario_folder(project, tmp_path):
    import yaml

    jobs = yaml.safe_load(REUSABLE.read_text())["jobs"]
    repo = tmp_path / "their-repo"
    (repo / "cors").mkdir(parents=True)
    (repo / "cors" / "test_api.toml").write_text(SCENARIO)
    context = {"inputs.scenarios": "cors/", "inputs.package": project["wheel"],
               "matrix.engine": "chromium", "matrix.cookie-policy": "block-third-party",
               "inputs.accept-baseline": "false", "inputs.baseline": "previous"}  # fmt: skip

    def shard() -> None:
        """The shard job (chromium, one policy) on the repository as it is now."""
        shutil.rmtree(repo / "shards", ignore_errors=True)
        steps = _run_job(jobs["shard"], repo, context, project["python"])
        assert steps[-1].returncode == 0, steps[-1].stdout[-2000:] + steps[-1].stderr[-2000:]

    def night(accept: str = "false", baseline: str = "previous") -> subprocess.CompletedProcess:
        """The report job in its own checkout, after the last shard; a green one uploads the
        report that the next night downloads as 'previous'."""
        report_job = tmp_path / "report-job"
        shutil.rmtree(report_job, ignore_errors=True)
        shutil.copytree(repo, report_job, ignore=shutil.ignore_patterns("shards"))  # checkout
        shutil.copytree(repo / "shards", report_job / "downloaded")  # download-artifact
        if (tmp_path / "uploaded-report").is_dir():
            shutil.copytree(tmp_path / "uploaded-report", report_job / "previous")
        steps = _run_job(jobs["report"], report_job, {**context, "inputs.accept-baseline": accept,
                                                      "inputs.baseline": baseline},
                         project["python"])  # fmt: skip
        if steps[-1].returncode == 0:
            shutil.rmtree(tmp_path / "uploaded-report", ignore_errors=True)
            shutil.copytree(report_job / "cors-matrix-report", tmp_path / "uploaded-report")
        return steps[-1]

    shard()
    first = night()
    assert first.returncode == 0 and "this report starts the series" in first.stdout, first.stderr
    report = tmp_path / "uploaded-report"
    assert (report / "index.html").is_file() and (report / "junit.xml").is_file()
    records = [json.loads(line) for line in (report / "merged.jsonl").read_text().splitlines()]
    assert sorted(r["verdict"] for r in records) == ["match", "match"]

    (repo / "cors" / "test_unmodelled.toml").write_text(UNMODELLED)  # a real divergence
    shard()
    red = night()
    assert red.returncode == 1, red.stdout
    assert "new divergence: unmodelled-redirect/p/chromium" in red.stdout, red.stdout
    published = tmp_path / "report-job" / "cors-matrix-report"  # uploaded (if: always())
    (trace,) = (published / "artifacts").glob("*.zip")  # the shard's trace travelled with it
    assert f'href="artifacts/{trace.name}"' in (published / "index.html").read_text()
    still_red = night()  # a red night is no baseline: the next one compares with the first
    assert still_red.returncode == 1, still_red.stdout[-2000:]
    accepted = night(accept="true")
    assert accepted.returncode == 0 and "this run's results become the baseline" in accepted.stdout
    assert night().returncode == 0  # compared with the accepted run now

    shutil.copy(report / "merged.jsonl", repo / "cors" / "baseline.jsonl")  # a committed baseline
    assert night(baseline="cors/baseline.jsonl").returncode == 0
    missing = night(baseline="cors/nope.jsonl")
    assert missing.returncode == 2 and "no file 'cors/nope.jsonl'" in missing.stderr


# --- the nightly's shard and merge scripts as a non-root user, all three engines ----------------

NOBODY = 65534


def _as_nobody(args: list[str], home: Path, env: dict | None = None, timeout: float = 600):
    """A command as the unprivileged user `nobody`, with a clean environment (GitHub's runners
    run jobs as a non-root user; WebKitGTK must work there)."""
    passed = {k: v for k, v in os.environ.items() if k.startswith("PIP_")}
    command = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", "env", "-i",
               f"HOME={home}", "PATH=/usr/bin:/bin",
               *(f"{k}={v}" for k, v in {**passed, **(env or {})}.items()), *args]  # fmt: skip
    return subprocess.run(command, cwd=home, capture_output=True, text=True, timeout=timeout)


class _WebProcesses(threading.Thread):
    """The user namespaces of every WebKitWebProcess `nobody` runs meanwhile, and whether a
    bwrap ran: under bubblewrap a web process has a user namespace of its own."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.seen: set[str] = set()
        self.done = threading.Event()
        self.start()

    def run(self) -> None:
        while not self.done.wait(0.05):
            for p in psutil.process_iter(["name", "uids"]):
                try:
                    if p.info["uids"].real != NOBODY:
                        continue
                    if p.info["name"] == "WebKitWebProces":
                        self.seen.add(os.readlink(f"/proc/{p.pid}/ns/user"))
                    elif p.info["name"] == "bwrap":
                        self.seen.add("bwrap")
                except (psutil.Error, OSError):
                    pass

    def stop(self) -> set[str]:
        self.done.set()
        self.join()
        return self.seen


@pytest.mark.skipif(os.geteuid() != 0, reason="switching to an unprivileged user needs root")
def test_the_nightly_scripts_run_every_engine_as_an_unprivileged_user(dist):
    """What the workflow's jobs do after installing, as `nobody`: a venv with the wheel, then
    nightly-shard.sh per engine and nightly-merge.sh. (The engine install itself, apt and
    `playwright install`, cannot run here: the engines are Debian's.) WebKitGTK's MiniBrowser
    (API 4.1) starts its web process without the bubblewrap sandbox unless given
    --enable-sandbox, so it needs no user namespace (docs/engines.md)."""
    import tempfile

    from test_nightly import SCENARIO as SMALL  # three probes: app, attacker, cross-site

    home = Path(tempfile.mkdtemp(prefix="cors-matrix-nobody-"))
    try:
        for name in ("nightly-shard.sh", "nightly-merge.sh"):
            shutil.copy(ROOT / "scripts" / name, home / name)
        shutil.copy(ROOT / "constraints.txt", home)
        (wheel,) = dist.glob("cors_matrix-*.whl")
        shutil.copy(wheel, home)
        (home / "cors").mkdir()
        (home / "cors" / "test_small.toml").write_text(SMALL)
        subprocess.run(["chown", "-R", f"{NOBODY}:{NOBODY}", str(home)], check=True)
        made = _as_nobody(["/usr/bin/python3", "-m", "venv", "venv"], home)
        assert made.returncode == 0, made.stderr
        pip = _as_nobody(["venv/bin/pip", "install", "--quiet", "-c", "constraints.txt",
                          wheel.name], home)  # fmt: skip
        assert pip.returncode == 0, pip.stderr[-3000:]
        env = {"PYTHON": str(home / "venv" / "bin" / "python"), "SCENARIOS": "cors/"}
        for engine in ("chromium", "firefox", "webkit"):
            watch = _WebProcesses() if engine == "webkit" else None
            shard = _as_nobody(["bash", "nightly-shard.sh", engine, "block-third-party", "shards"],
                               home, env)  # fmt: skip
            assert shard.returncode == 0 and "3 passed" in shard.stdout, shard.stdout[-2000:]
        seen = watch.stop()
        assert seen, "no WebKitWebProcess of nobody's was seen while the WebKit shard ran"
        assert seen == {os.readlink("/proc/self/ns/user")}, seen  # no sandbox, no namespace
        merge = _as_nobody(["bash", "nightly-merge.sh", "shards", "report"], home, env)
        assert merge.returncode == 0, merge.stdout + merge.stderr
        assert "9 of 9 expected cells, 0 missing" in merge.stdout
        lines = (home / "report" / "merged.jsonl").read_text().splitlines()
        merged = [json.loads(line) for line in lines]
        assert {r["browser"] for r in merged} == {"chromium", "firefox", "webkit"}
        assert all(r["verdict"] == "match" for r in merged), [r["reason"] for r in merged]
    finally:
        shutil.rmtree(home, ignore_errors=True)
