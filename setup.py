"""Packaging glue pyproject.toml cannot express: the built probe page goes into the package.

The probe page is a Vite build of react_fixture/ (its source stays there). `build_py` copies
react_fixture/dist into the package as `probe_page/`, building it first with npm when it is
missing, so a wheel (and an sdist, which carries the build too) runs with nothing else on disk.
"""

import shutil
import subprocess
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.command.sdist import sdist

ROOT = Path(__file__).resolve().parent
FIXTURE = ROOT / "react_fixture"
BUILT = FIXTURE / "dist"


def ensure_probe_page() -> Path:
    """react_fixture/dist, built with npm if it is not there yet."""
    if (BUILT / "index.html").is_file():
        return BUILT
    if not (FIXTURE / "package.json").is_file():
        raise SystemExit(f"cors-matrix: no probe page: {BUILT} is missing and so is its source")
    if shutil.which("npm") is None:
        raise SystemExit(f"cors-matrix: {BUILT}/index.html is missing and npm is not installed "
                         "to build it (Node 20+: cd react_fixture && npm ci && npm run build)")
    for command in (["npm", "ci", "--no-audit", "--no-fund"], ["npm", "run", "build"]):
        subprocess.run(command, cwd=FIXTURE, check=True)
    return BUILT


class BuildWithProbePage(build_py):
    def run(self) -> None:
        super().run()
        target = Path(self.build_lib) / "cors_matrix" / "probe_page"
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(ensure_probe_page(), target)


class SdistWithProbePage(sdist):
    def run(self) -> None:
        ensure_probe_page()  # MANIFEST.in grafts react_fixture/dist
        super().run()


setup(cmdclass={"build_py": BuildWithProbePage, "sdist": SdistWithProbePage})
