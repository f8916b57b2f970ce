"""A Starlette newer than the model: judged by the newest model if its middleware agrees.

The day a new Starlette ships, a project that upgrades must not be refused outright. Before a
run, the installed CORSMiddleware answers the same seeded property cases the release tests use
(spec/starlette_cases.py, driven in process as ASGI by serve/starlette_driver.py); the model of
the newest modelled release answers them too. All agree: the run goes on, judged by that model,
and every record says which release was checked and how (`starlette_checked`). One differs: the
run is refused, naming the first differing case. The outcome is cached per version and per
hash of the installed starlette/middleware/cors.py, so it costs seconds once.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from ..spec.starlette_cases import agree, model_answer, random_cases, real_answer
from ..spec.starlette_model import LATEST, NEWEST, UnsupportedRelease, version_tuple

CASES = 600  # as many as tests/test_starlette_releases.py sends each release


def is_newer(version: str) -> bool:
    return version_tuple(version)[:2] > version_tuple(NEWEST)


def _cache_file(version: str, source: Path) -> Path:
    digest = hashlib.sha256(source.read_bytes()).hexdigest()[:16]
    base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return base / "cors-matrix" / f"starlette-{version}-{digest}.json"


def check_newer(version: str) -> str:
    """The installed `version` (newer than the model) against the newest model: the line the
    records carry when all cases agree, else UnsupportedRelease naming the first that does not."""
    from starlette.middleware import cors

    from .starlette_driver import answer

    cache = _cache_file(version, Path(cors.__file__))
    try:
        verdict = json.loads(cache.read_text())
    except (OSError, ValueError):
        verdict = _verdict(version, answer)
        try:
            cache.parent.mkdir(parents=True, exist_ok=True)
            tmp = cache.with_suffix(".tmp")
            tmp.write_text(json.dumps(verdict))
            tmp.replace(cache)
        except OSError:
            pass  # an unwritable cache only costs the check again next time
    if verdict["differs"]:
        raise UnsupportedRelease(
            f"starlette {version} is newer than the model ({NEWEST}.x) and its CORSMiddleware "
            f"answers differently: {verdict['differs']}; cors-matrix cannot judge it yet"
        )
    return (f"starlette {version} is newer than the model: judged by {LATEST}'s, whose answers "
            f"its CORSMiddleware matched in {verdict['cases']} of {verdict['cases']} property "
            "cases")  # fmt: skip


def _verdict(version: str, answer) -> dict:
    for case in random_cases(CASES):
        model, real = model_answer(case, LATEST), real_answer(answer(case))
        if not agree(model, real):
            request = case["request"]
            kind = "preflight" if request["preflight"] else request["method"]
            what = _difference(model, real, version)
            return {"version": version, "cases": CASES,
                    "differs": f"CORSMiddleware(**{case['config']}) and a {kind} from "
                               f"{request['origin']}: {what}"}  # fmt: skip
    return {"version": version, "cases": CASES, "differs": None}


def _difference(model: dict, real: dict, version: str) -> str:
    """Only what differs: the status, the CORS headers, or a config one side refused."""
    if "error" in model or "error" in real:
        said = real.get("error", "accepts the config")
        return f"the model says {model.get('error', 'ok')}, starlette {version}: {said}"
    fields = [("status", model["status"], real["status"])] + [
        (name, model["headers"][name], real["headers"][name]) for name in model["headers"]
    ]
    return "; ".join(f"{name} {a!r} in the model, {b!r} in starlette {version}"
                     for name, a, b in fields if a != b)  # fmt: skip
