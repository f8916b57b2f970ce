"""Each engine through the one interface, and the same probe giving the same result whichever
backend drives Chromium. These need the Debian engines (make engines)."""

import json
from importlib.metadata import version
from pathlib import Path

import pytest

from cors_matrix.engines import EnginePool
from cors_matrix.judge.oracle import COMPARED_KEYS

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def pool():
    engines = EnginePool()
    yield engines
    engines.close()


@pytest.mark.parametrize("name", ["chromium", "firefox", "webkit"])
@pytest.mark.parametrize("policy", ["block-third-party", "allow-third-party"])
def test_engine_runs_async_script_and_reports_real_version(pool, name, policy):
    engine = pool.get(name, policy)
    page = engine.new_page()
    try:
        page.goto("about:blank")
        assert page.run("async (n) => { await null; return n + 1; }", 41) == 42
    finally:
        page.close()
    info = engine.info
    assert info.name == name and info.cookie_policy == policy
    assert info.version[0].isdigit(), info.version  # an engine version, not a UA string
    assert info.driver == ("webdriver" if name == "webkit" else "playwright")


def test_firefox_bidi_route_needs_the_pinned_playwright():
    """Stock Firefox runs through Playwright's BiDi channel; 1.65 breaks it at new_context
    (emulation.setMediaFeaturesOverride). Upgrading must be a deliberate, tested change."""
    assert version("playwright") == "1.64.1", "re-check the Firefox BiDi route before upgrading"


def _observations(pytester, driver):
    results = pytester.path / f"{driver}.jsonl"
    scenarios = [
        str(ROOT / "scenarios" / d) for d in ("origins", "methods", "headers", "credentials")
    ]
    run = pytester.runpytest_subprocess(
        *scenarios,
        "--cors-browser",
        "chromium",
        "--cors-driver",
        driver,
        "--cors-results",
        str(results),
        "-p",
        "no:cacheprovider",
    )
    assert run.ret == 0, run.stdout.str()[-2000:]
    rows = [json.loads(line) for line in results.read_text().splitlines()]
    assert {r["driver"] for r in rows} == {driver}
    return {(r["scenario"], r["probe"]): {k: r["observed"][k] for k in COMPARED_KEYS} for r in rows}


def test_same_probe_same_result_via_playwright_and_webdriver(pytester):
    via_playwright = _observations(pytester, "playwright")
    via_webdriver = _observations(pytester, "webdriver")
    assert len(via_playwright) >= 10
    assert via_playwright == via_webdriver


@pytest.mark.unit
def test_a_remote_urls_password_is_never_shown_or_recorded():
    from cors_matrix.engines.base import EngineInfo, without_secrets

    assert without_secrets("at http://alice:K3y@hub:4444/wd/hub: refused") == (
        "at http://alice:***@hub:4444/wd/hub: refused"
    )
    assert without_secrets("wss://TOKEN@cloud.example/pw") == "wss://***@cloud.example/pw"
    assert without_secrets("http://hub:4444 and mailto:a@b") == "http://hub:4444 and mailto:a@b"
    info = EngineInfo("chromium", "1", "remote", "webdriver", "block-third-party", "x",
                      remote="https://u:p%40ss@grid.example/wd/hub")  # fmt: skip
    assert info.as_record()["remote"] == "https://u:***@grid.example/wd/hub"
    assert info.remote.startswith("https://u:p%40ss@")  # the connection keeps it
