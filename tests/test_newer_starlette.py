"""A Starlette newer than the model is checked at run time, not refused outright.

No such release exists yet, so one is made: the installed Starlette, copied under a version the
model does not know (1.11.0) and put first on the path of a real `pytest scenarios` run. Its
CORSMiddleware is 1.10's, so the seeded property cases all agree: the cells run, judged by the
newest model, and each record says so. Then the copy's middleware is changed (one more second
of Access-Control-Max-Age): the run is refused before any cell, naming the first case where the
middleware and the model differ."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import starlette
from test_cleanup import SCENARIO  # one allowed and one refused probe

NEWER = "1.11.0"


def _newer_starlette(site: Path) -> Path:
    """The installed Starlette as version NEWER, in `site`; returns its cors.py."""
    package = site / "starlette"
    shutil.copytree(Path(starlette.__file__).parent, package,
                    ignore=shutil.ignore_patterns("__pycache__"))  # fmt: skip
    init = package / "__init__.py"
    init.write_text(re.sub(r'__version__ = "[^"]+"', f'__version__ = "{NEWER}"', init.read_text()))
    info = site / f"starlette-{NEWER}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: starlette\nVersion: {NEWER}\n")
    return package / "middleware" / "cors.py"


def _run(tmp_path: Path, site: Path, name: str) -> subprocess.CompletedProcess:
    (tmp_path / "test_api.toml").write_text(SCENARIO)
    env = {**os.environ, "PYTHONPATH": str(site), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    return subprocess.run(
        [sys.executable, "-m", "pytest", str(tmp_path / "test_api.toml"), "-q", "-p",
         "no:cacheprovider", "--cors-browser", "chromium", "--no-cors-traces",
         "--cors-results", str(tmp_path / name)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def test_a_newer_starlette_that_agrees_runs_and_one_that_differs_is_refused(tmp_path):
    site = tmp_path / "site"
    cors = _newer_starlette(site)
    run = _run(tmp_path, site, "agrees.jsonl")
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    records = [json.loads(line) for line in (tmp_path / "agrees.jsonl").read_text().splitlines()]
    assert [r["verdict"] for r in records] == ["match", "match"]
    for record in records:
        assert record["server_versions"]["starlette"] == NEWER  # the copy served the cells
        assert record["starlette_checked"] == (
            f"starlette {NEWER} is newer than the model: judged by 1.10.0's, whose answers its "
            "CORSMiddleware matched in 600 of 600 property cases"
        )
    (cached,) = (tmp_path / "cache" / "cors-matrix").glob(f"starlette-{NEWER}-*.json")

    source = cors.read_text()
    changed = source.replace("str(max_age)", "str(max_age + 1)")  # Access-Control-Max-Age
    assert changed != source
    cors.write_text(changed)
    refused = _run(tmp_path, site, "differs.jsonl")
    assert refused.returncode == 4, refused.stdout[-2000:]  # a usage error, before any cell
    line = next(x for x in refused.stderr.splitlines() if "newer than the model" in x)
    assert f"starlette {NEWER} is newer than the model (1.10.x) and its CORSMiddleware " \
           "answers differently: CORSMiddleware(**{" in line  # fmt: skip
    assert line.endswith(
        "access-control-max-age '600' in the model, '601' in starlette 1.11.0; "
        "cors-matrix cannot judge it yet"
    ), line  # only what differs
    assert not (tmp_path / "differs.jsonl").exists()
    assert len(list(cached.parent.glob(f"starlette-{NEWER}-*.json"))) == 2  # keyed by cors.py
