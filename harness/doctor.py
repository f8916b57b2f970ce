"""`cors-matrix doctor`: what this install can drive, and how to get what it cannot.

Asks the same discovery the runs use (engines.discover), so what it says is what a run does.
Exit 0 when every engine is found, 1 otherwise (a run still runs the found ones; the others'
cells are "not run" with the same reason).
"""

from __future__ import annotations

import platform
import sys
from importlib.metadata import PackageNotFoundError, version

from .engines import discover
from .engines.base import BROWSERS, EngineUnavailable
from .serve.newer_starlette import is_newer
from .serve.probe_page import ProbePageMissing, probe_page_dir
from .spec.starlette_model import NEWEST, UnsupportedRelease, minor_of

DEBIAN = ("sudo apt-get install chromium chromium-driver firefox-esr xvfb webkit2gtk-driver "
          "libwebkit2gtk-4.1-0   # nginx-light for the proxy scenarios")  # fmt: skip
PLAYWRIGHT_BUILDS = "python -m playwright install --with-deps chromium firefox"
MACOS = ("python -m playwright install chromium firefox   # WebKit here is WebKitGTK "
         "(Linux only): on macOS its cells are not run")  # fmt: skip


def _version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def run() -> int:
    starlette = _version("starlette")
    try:
        minor_of(starlette)
        modelled = "modelled"
    except (UnsupportedRelease, ValueError) as exc:
        modelled = f"NOT modelled: {exc}"
        if starlette != "not installed" and is_newer(starlette):
            modelled = (f"newer than the model ({NEWEST}.x): each run first checks its "
                        "CORSMiddleware against the newest model")  # fmt: skip
    print(f"cors-matrix {_version('cors-matrix')} (python {platform.python_version()}, "
          f"{sys.executable})")  # fmt: skip
    print(f"  playwright {_version('playwright')}, starlette {starlette} ({modelled}), "
          f"fastapi {_version('fastapi')}, uvicorn {_version('uvicorn')}")  # fmt: skip
    try:
        print(f"  probe page: {probe_page_dir()}")
    except ProbePageMissing as exc:
        print(f"  probe page: MISSING: {exc}")
    missing = []
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        for name in BROWSERS:
            try:
                route = discover(playwright, name)
                where = route.executable or getattr(playwright, name).executable_path
                print(f"  {name:9} found: {route.build} build via {route.backend}: {where}")
            except EngineUnavailable as exc:
                missing.append(name)
                print(f"  {name:9} NOT FOUND: {exc}")
    if not missing:
        print("every engine is found")
        return 0
    print(f"\nmissing: {', '.join(missing)}; their cells say 'not run' with the reason above. "
          "To get them:")  # fmt: skip
    print(f"  Debian/Ubuntu (the engines cors-matrix is tested with): {DEBIAN}")
    print(f"  any Linux, Playwright's own builds:  {PLAYWRIGHT_BUILDS}")
    print(f"  macOS: {MACOS}")
    return 1
