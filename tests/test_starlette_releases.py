"""The model of every supported minor release answers as that release's real CORSMiddleware.

Each minor release from 0.27 to 1.10 (its newest patch) is installed from the package registry
into a venv of its own, cached under ~/.cache/cors-matrix-tests (built in parallel on the first
run). The same seeded cases go to that venv's middleware (harness/serve/starlette_driver.py,
run by the venv's python) and to the model of the release it reports. A release the model
does not know fails here, with the one-line refusal naming the supported range.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from cors_matrix.serve import starlette_driver
from cors_matrix.spec.starlette_cases import agree, model_answer, random_cases, real_answer
from cors_matrix.spec.starlette_model import MINOR_RELEASES, minor_of

CASES = random_cases(600)
DRIVER = Path(starlette_driver.__file__)  # stdlib + Starlette only: any venv runs it
PY = f"py{sys.version_info.major}{sys.version_info.minor}"


def _cache() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return base / "cors-matrix-tests" / "starlette-releases"


def _venv(minor: str) -> Path:
    """A venv with the newest patch of `minor` (and only its own dependencies)."""
    venv = _cache() / f"starlette-{minor}-{PY}"
    python = venv / "bin" / "python"
    if (venv / ".complete").is_file():
        return python
    subprocess.run([sys.executable, "-m", "venv", "--clear", "--without-pip", str(venv)],
                   check=True)  # fmt: skip
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet",
                    "--disable-pip-version-check", f"starlette=={minor}.*"],
                   check=True, timeout=600, capture_output=True)  # fmt: skip
    (venv / ".complete").write_text("")
    return python


@pytest.fixture(scope="module")
def venvs() -> dict[str, Path]:
    with ThreadPoolExecutor(6) as pool:
        return dict(zip(MINOR_RELEASES, pool.map(_venv, MINOR_RELEASES), strict=True))


@pytest.mark.parametrize("minor", MINOR_RELEASES)
def test_model_answers_as_the_real_middleware_of_the_release(venvs, minor):
    run = subprocess.run([str(venvs[minor]), str(DRIVER)], input=json.dumps(CASES),
                         capture_output=True, text=True, timeout=120)  # fmt: skip
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    release = out["starlette"]
    assert minor_of(release) == minor
    wrong = []
    for case, raw in zip(CASES, out["answers"], strict=True):
        model, real = model_answer(case, release), real_answer(raw)
        if not agree(model, real):
            wrong.append({"case": case, "model": model, "real": real})
    assert not wrong, f"{len(wrong)} of {len(CASES)} cases differ in {release}; first: {wrong[0]}"
