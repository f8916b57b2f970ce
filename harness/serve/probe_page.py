"""Where the built probe page (the React fixture's Vite build) is served from.

An installed wheel or sdist carries it inside the package (`probe_page/`, copied there by
setup.py when the package is built); a checkout has it in `react_fixture/dist` after
`make fixture`. A user can point elsewhere with --cors-fixture-dir or $CORS_MATRIX_FIXTURE_DIR.
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent.parent
PACKAGED = PACKAGE_DIR / "probe_page"
CHECKOUT = PACKAGE_DIR.parent / "react_fixture" / "dist"
VARIABLE = "CORS_MATRIX_FIXTURE_DIR"


class ProbePageMissing(Exception):
    """No built probe page where one was looked for; the message says where and what to do."""


def probe_page_dir(given: str | Path | None = None) -> Path:
    """The folder holding the built page's index.html: `given`, else $CORS_MATRIX_FIXTURE_DIR,
    else the packaged copy, else the checkout's build."""
    chosen = given or os.environ.get(VARIABLE)
    if chosen:
        path = Path(chosen).expanduser().resolve()
        if not (path / "index.html").is_file():
            source = "--cors-fixture-dir" if given else f"${VARIABLE}"
            raise ProbePageMissing(f"{source} {path}: no index.html there (a Vite build of "
                                   "react_fixture/: npm ci && npm run build)")  # fmt: skip
        return path
    for candidate in (PACKAGED, CHECKOUT):
        if (candidate / "index.html").is_file():
            return candidate
    raise ProbePageMissing(
        f"the built probe page is missing: neither {PACKAGED} (an installed cors-matrix carries "
        f"it) nor {CHECKOUT} (a checkout: run `make fixture`) has index.html; reinstall "
        "cors-matrix from a wheel or sdist, or give --cors-fixture-dir"
    )
