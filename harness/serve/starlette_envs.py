"""One cached venv per Starlette release, for `--cors-starlette VERSION`: the scenario host
runs there.

The harness itself (pytest, Playwright, the oracle) stays in its own environment; only the host
process, which serves the scenarios' FastAPI apps, runs under the chosen release. A venv is built
once (pip from the package registry: that release, a FastAPI that accepts it, uvicorn, trustme
for TLS scenarios) and reused by later runs; the harness package reaches it through a folder
holding only a link to it, so nothing else of the harness's environment leaks in.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from .. import PACKAGE
from ..spec.starlette_model import minor_of

HARNESS_PACKAGE = Path(__file__).resolve().parent.parent
PIP_TIMEOUT_S = 600


RELEASE = re.compile(r"[0-9]{1,4}\.[0-9]{1,4}(\.[0-9]{1,4})?")  # what --cors-starlette takes


class EnvError(RuntimeError):
    """A release's venv could not be built; one line naming the release and the cause."""


def checked_release(value: str) -> str:
    """A --cors-starlette value: N.N or N.N.N, matched in full. It names a folder of the
    cache and a pip requirement, so nothing else (a path, a space, an option) gets through."""
    if not isinstance(value, str) or not RELEASE.fullmatch(value):
        raise ValueError(f"--cors-starlette {value!r}: not a release number (N.N or N.N.N)")
    return value


def cache_root() -> Path:
    given = os.environ.get("CORS_MATRIX_CACHE")
    base = Path(given) if given else Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return (base if given else base / "cors-matrix") / "starlette-envs"


def requirements(version: str) -> list[str]:
    return [f"starlette=={version}", "fastapi>=0.100", "uvicorn>=0.23", "trustme>=1.1"]


def env_for(version: str, root: Path | None = None) -> Path:
    """The python of the venv for starlette `version` (built on first use; EnvError if pip
    fails, UnsupportedRelease for a release the model does not know)."""
    checked_release(version)
    minor_of(version)
    py = f"py{sys.version_info.major}{sys.version_info.minor}"
    root = (root or cache_root()).resolve()
    venv = root / f"starlette-{version}-{py}"
    if venv.resolve().parent != root:  # never reached after checked_release: fail closed
        raise EnvError(f"starlette {version}: {venv} is not inside the cache {root}")
    python = venv / "bin" / "python"
    if (venv / ".complete").is_file():
        return python
    venv.parent.mkdir(parents=True, exist_ok=True)
    with open(venv.with_name(venv.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # xdist workers may ask for the same one at once
        if not (venv / ".complete").is_file():
            _build(venv, version)
    return python


def _build(venv: Path, version: str) -> None:
    shutil.rmtree(venv, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    command = [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet",
               "--disable-pip-version-check", *requirements(version)]  # fmt: skip
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=PIP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise EnvError(f"starlette {version}: pip did not finish in {PIP_TIMEOUT_S}s") from None
    if done.returncode != 0:
        errors = [ln for ln in done.stderr.splitlines() if ln.startswith("ERROR")] or [
            done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "no output"
        ]
        raise EnvError(f"starlette {version}: pip could not install it into {venv}: {errors[0]}")
    installed = versions_in(python)
    (venv / ".complete").write_text(json.dumps(installed))


def versions_in(python: Path) -> dict[str, str]:
    """fastapi/starlette/uvicorn as installed for that interpreter."""
    code = ("import json, importlib.metadata as m; print(json.dumps({n: m.version(n) for n in "
            "('fastapi', 'starlette', 'uvicorn')}))")  # fmt: skip
    out = subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def harness_path(workdir: Path) -> Path:
    """A folder whose only entry is a link to the harness package: the host venv's PYTHONPATH."""
    folder = workdir / "harness-path"
    folder.mkdir(parents=True, exist_ok=True)
    link = folder / PACKAGE
    if not link.exists():
        link.symlink_to(HARNESS_PACKAGE, target_is_directory=True)
    return folder
