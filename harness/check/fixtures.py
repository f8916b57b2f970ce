"""`cors_check`: the pytest fixture that checks a user's own app from their own test suite,
with engines launched once per session and shared by every call."""

from __future__ import annotations

import pytest

from ..engines import EnginePool
from ..run.fixtures import own_processes
from ..serve.forward_proxy import ForwardProxy


@pytest.fixture(scope="session")
def cors_check_engines(request, cors_playwright):
    """The engines every `cors_check` of the session shares (launched on the first check that
    needs them), and the forward proxy they go through."""
    from .run import CheckEngines

    config = request.config
    proxy = ForwardProxy({}).start()
    pool = EnginePool(proxy=proxy.url, playwright=cors_playwright,
                      own_processes=lambda: own_processes(config))  # fmt: skip
    yield CheckEngines(pool, proxy)
    pool.close()
    proxy.stop()


@pytest.fixture
def cors_check(request, tmp_path):
    """Check your own app from your own test suite (docs/check.md, "Check your app from pytest"):

    def test_cors(cors_check):
        result = cors_check(app, "https://app.example.com", endpoints=["GET:/items/1"])
        assert result, result.message

    Returns a CheckResult: true (and == 0) on PASS; its message names the findings and the
    blocked requests. Engines are launched once per session and shared by every call.
    """
    from . import check_app

    def run(app, frontend, **kwargs):
        frontends = [frontend] if isinstance(frontend, str) else list(frontend)
        kwargs.setdefault("output", tmp_path / "cors-check")
        engines = request.getfixturevalue("cors_check_engines")
        with own_processes(request.config):
            return check_app(app, frontends, engines=engines, **kwargs)

    return run
