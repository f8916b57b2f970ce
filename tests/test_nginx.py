"""nginx variants: every generated config is valid for the real nginx, and the oracle's model of
each variant follows nginx's documented add_header rules."""

import subprocess

import pytest

from cors_matrix.judge.oracle import proxied
from cors_matrix.serve import nginx
from cors_matrix.spec.starlette_model import ServerAnswer

UPSTREAM = ServerAnswer(200, {"access-control-allow-origin": ["http://a.test"],
                              "access-control-allow-credentials": ["true"]})  # fmt: skip


@pytest.mark.skipif(nginx.available() is not None, reason="nginx not installed")
def test_every_variant_config_passes_nginx_t(tmp_path):
    routes = {18000 + i: (variant, 9000) for i, variant in enumerate(nginx.VARIANTS)}
    conf = nginx.write_config(tmp_path, routes)
    check = subprocess.run([nginx.NGINX, "-t", "-p", str(tmp_path), "-c", str(conf),
                            "-e", str(tmp_path / "logs/error.log")],
                           capture_output=True, text=True)  # fmt: skip
    assert check.returncode == 0, check.stderr


def test_pass_keeps_upstream_headers():
    assert proxied("pass", UPSTREAM).get("access-control-allow-origin") == "http://a.test"


def test_add_allow_origin_duplicates_on_2xx_only():
    assert (
        proxied("add-allow-origin", UPSTREAM).get("access-control-allow-origin")
        == "http://a.test, *"
    )
    not_found = ServerAnswer(404, {"access-control-allow-origin": ["http://a.test"]})
    assert (
        proxied("add-allow-origin", not_found).get("access-control-allow-origin") == "http://a.test"
    )


def test_strip_hides_every_cors_header():
    stripped = proxied("strip", UPSTREAM)
    assert not any(name.startswith("access-control-") for name in stripped.headers)


@pytest.mark.skipif(nginx.available() is not None, reason="nginx not installed")
def test_nginx_dying_mid_run_is_not_run_naming_it_not_divergences(tmp_path):
    """It was 27 divergences, nginx not named, and a nightly's --fail-on-new-divergence red."""
    import json
    import signal
    import sys
    import time
    from pathlib import Path

    import psutil

    root = Path(__file__).resolve().parent.parent
    results, base = tmp_path / "r.jsonl", tmp_path / "base"
    run = subprocess.Popen([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                            "scenarios/proxy", "--cors-browser", "chromium", "--cors-browser",
                            "firefox", "--cors-results",
                            str(results), "--no-cors-traces", "--basetemp", str(base)],
                           cwd=root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True)  # fmt: skip
    killed, deadline = None, time.monotonic() + 120
    while killed is None and time.monotonic() < deadline and run.poll() is None:
        if results.exists() and len(results.read_text().splitlines()) >= 2:
            for proc in psutil.process_iter(["name", "cmdline"]):
                line = " ".join(proc.info["cmdline"] or [])
                if proc.info["name"] == "nginx" and str(base) in line:
                    proc.send_signal(signal.SIGKILL)
                    killed = proc.pid
        time.sleep(0.05)
    output, _ = run.communicate(timeout=300)
    assert killed is not None, output[-2000:]
    records = [json.loads(line) for line in results.read_text().splitlines()]
    after = [r for r in records if r["verdict"] != "match"]
    assert after, output[-2000:]
    assert all(r["verdict"] == "not-run" for r in after), [r["reason"] for r in after]
    assert all(f"nginx (pid {killed})" in r["reason"] for r in after)
    assert run.returncode == 1  # a run whose helper died is not green
