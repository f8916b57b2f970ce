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
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from test_cleanup import SCENARIO  # one allowed and one refused probe

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
def dist(tmp_path_factory) -> Path:
    """The sdist, and the wheel built from that sdist (so the sdist must carry the page)."""
    out = tmp_path_factory.mktemp("dist")
    ok(run([sys.executable, "-m", "build", "--outdir", out, ROOT], ROOT))
    return out


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
