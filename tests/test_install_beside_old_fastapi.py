"""cors-matrix installs next to a project's older FastAPI/Starlette and judges by that release.

As a user would: a fresh venv with FastAPI 0.100.1 / Starlette 0.27.0 / uvicorn 0.23.2 already
installed, then `pip install` of the wheel built from this checkout. The three must stay as they
were, and `pytest scenarios/` (Chromium) in that venv must judge every cell against Starlette
0.27's model: every record names the releases its host ran, and a cell that 1.0 changed is
expected as 0.27 answers it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from cors_matrix.serve.starlette_envs import versions_in

ROOT = Path(__file__).resolve().parent.parent
OLD = {"fastapi": "0.100.1", "starlette": "0.27.0", "uvicorn": "0.23.2"}


def _pip(python: Path, *args: str) -> None:
    run = subprocess.run([str(python), "-m", "pip", "install", "--quiet",
                          "--disable-pip-version-check", *args],
                         capture_output=True, text=True, timeout=900)  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]


def test_pip_install_keeps_the_projects_fastapi_and_the_run_judges_by_its_starlette(
    tmp_path, built_dist
):
    venv = tmp_path / "project-venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    _pip(python, *(f"{name}=={v}" for name, v in OLD.items()))
    (wheel,) = built_dist.glob("cors_matrix-*.whl")
    _pip(python, str(wheel))
    assert versions_in(python) == OLD  # pip changed none of the project's framework

    results = tmp_path / "results.jsonl"
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    run = subprocess.run(
        [str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", "scenarios/",
         "--cors-browser", "chromium", "--cors-results", str(results), "--no-cors-traces"],
        cwd=ROOT, capture_output=True, text=True, timeout=900, env=env,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    records = [json.loads(line) for line in results.read_text().splitlines()]
    assert len(records) > 400
    assert all(r["server_versions"] == OLD for r in records)
    not_run = [r for r in records if r["verdict"] != "match"]
    # the only cells not judged: an option 0.27 does not have, each saying so
    assert {r["scenario"] for r in not_run} == {"private-network-option"}
    assert all("needs starlette >= 0.51" in r["reason"] for r in not_run)
    # judged by 0.27's model: '*' with credentials and no cookie is not mirrored before 1.0
    (cell,) = [r for r in records if r["scenario"] == "wildcard-credentials-without-cookie"
               and r["probe"] == "include-without-cookie"]  # fmt: skip
    assert cell["expected"]["outcome"] == cell["observed"]["outcome"] == "cors-error"
    assert cell["starlette_changes"] == ["wildcard-credentials-mirror"]
