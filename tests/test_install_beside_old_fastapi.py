"""cors-matrix installs next to a project's older FastAPI/Starlette and judges by that release.

As a user would: a fresh venv with FastAPI 0.100.1 / Starlette 0.27.0 / uvicorn 0.23.2 already
installed, then `pip install` of the wheel built from this checkout. The three must stay as they
were, and `pytest scenarios/` (Chromium) in that venv must judge every cell against Starlette
0.27's model: every record names the releases its host ran, and a cell that 1.0 changed is
expected as 0.27 answers it. The ported suites (WPT, Mozilla) are left out but for their one
file with a CORSMiddleware: the others answer from raw routes (`cors = false`), whose judgement
no Starlette release changes, and the raw-route machinery on uvicorn 0.23 is run by the rest of
the catalogue (redirects/, response-headers/, errors/).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cors_matrix.serve.starlette_envs import versions_in

ROOT = Path(__file__).resolve().parent.parent
OLD = {"fastapi": "0.100.1", "starlette": "0.27.0", "uvicorn": "0.23.2"}
MIDDLEWARE_WPT = "scenarios/wpt/test_cors_preflight_not_cors_safelisted.toml"
PORTS = ("wpt", "mozilla")  # the ported suites' folders
# every theme folder but the ports, and the ports' one file with a CORSMiddleware (pytest's
# --ignore would drop that file too)
_THEMES = [d.name for d in sorted((ROOT / "scenarios").iterdir()) if d.is_dir()]
_WITHOUT_RAW_PORTS = [f"scenarios/{name}" for name in _THEMES
                      if name not in (*PORTS, "__pycache__")]  # fmt: skip
_WITHOUT_RAW_PORTS.append(MIDDLEWARE_WPT)


@pytest.mark.unit
def test_the_ports_have_one_file_with_a_cors_middleware():
    """What the run below leaves out: every other ported file answers from raw routes only."""
    with_middleware = [p.relative_to(ROOT).as_posix() for port in PORTS
                       for p in (ROOT / "scenarios" / port).glob("test_*.toml")
                       if "\ncors = false\n" not in p.read_text()]  # fmt: skip
    assert with_middleware == [MIDDLEWARE_WPT]


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
        [str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", *_WITHOUT_RAW_PORTS,
         "--cors-browser", "chromium", "--cors-results", str(results), "--no-cors-traces"],
        cwd=ROOT, capture_output=True, text=True, timeout=900, env=env,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    records = [json.loads(line) for line in results.read_text().splitlines()]
    assert len(records) > 150
    assert any(r["scenario"] == "wpt-cors-preflight-not-cors-safelisted" for r in records)
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
