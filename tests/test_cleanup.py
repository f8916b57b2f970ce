"""Ctrl-C in the middle of a run: every process the harness started is gone afterwards and the
results file holds every finished cell as valid JSON Lines."""

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent


def test_sigint_mid_run_leaves_no_process_and_no_broken_line(tmp_path):
    results = tmp_path / "run.jsonl"
    run = subprocess.Popen(
        [sys.executable, "-m", "pytest", str(ROOT / "scenarios"), "-q", "-p", "no:cacheprovider",
         "--browser", "chromium", "--browser", "webkit", "--cors-results", str(results)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=tmp_path,
    )  # fmt: skip
    parent = psutil.Process(run.pid)
    deadline = time.monotonic() + 60
    seen: dict[int, psutil.Process] = {}
    # every process the run ever had, until cells of both engines are written; then interrupt
    while time.monotonic() < deadline:
        for child in parent.children(recursive=True):
            seen.setdefault(child.pid, child)
        if results.exists() and results.read_text().count("\n") >= 4:
            break
        time.sleep(0.1)
    started = list(seen.values())
    names = set()
    for process in started:
        try:
            names.add(process.name())
        except psutil.NoSuchProcess:  # short-lived helpers (e.g. a shell wrapper) come and go
            pass
    assert any("WebKit" in n or "MiniBrowser" in n for n in names), names
    run.send_signal(signal.SIGINT)
    output = run.communicate(timeout=60)[0].decode()
    assert run.returncode == 2, output[-2000:]  # pytest's 'interrupted'
    gone, alive = psutil.wait_procs(started, timeout=10)
    assert not alive, f"left running: {[(p.pid, p.name()) for p in alive]}"
    lines = results.read_text().splitlines()
    assert len(lines) >= 3
    assert all(json.loads(line)["verdict"] in ("match", "diverge", "not-run") for line in lines)
