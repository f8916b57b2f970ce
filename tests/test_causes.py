"""Causes of blocked cells: the code, the sentence, the fix, and their agreement with what the
engines themselves say."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import shared_catalogue_records

from cors_matrix.judge.causes import explain
from cors_matrix.judge.engine_messages import agrees, engine_codes
from cors_matrix.judge.oracle import Context, expectations
from cors_matrix.scenario import Probe

ROOT = Path(__file__).resolve().parent.parent
APP, ATTACKER, API = "http://localhost:3000", "http://127.0.0.2:4000", "http://localhost:8000"
ORIGINS = {"app": APP, "attacker": ATTACKER, "api": API}


def causes_for(probe: dict, kwargs: dict, page: str = "app", **shape):
    probe = Probe(name="p", page=page, **probe)
    origin = APP if page == "app" else ATTACKER
    ctx = Context(origin, API, kwargs, origins=ORIGINS, **shape)
    _, expected = expectations(probe, ctx, "chromium")
    return explain(probe, ctx, page, expected.reasons, expected.outcome)


def test_trailing_slash_names_the_origin_and_the_fix():
    (cause,) = causes_for({}, {"allow_origins": [APP + "/"]})
    assert cause.code == "missing-allow-origin"
    assert f"'{APP}/' has a trailing slash" in cause.sentence
    assert cause.fix == {"allow_origins": ["{app}"]}


def test_authorization_not_listed_fixes_allow_headers():
    (cause,) = causes_for({"headers": {"Authorization": "Bearer t"}},
                          {"allow_origins": [APP], "allow_headers": ["Content-Type"]})  # fmt: skip
    assert cause.code == "header-not-allowed" and "'authorization'" in cause.sentence
    assert cause.fix == {"allow_headers": ["Content-Type", "Authorization"]}


def test_star_in_allow_headers_is_echoed_by_starlette_so_authorization_passes():
    """Fetch's '*' never covers Authorization, but Starlette answers '*' by echoing the
    requested names, so nothing is blocked (the guide's worry does not apply here)."""
    assert causes_for({"headers": {"Authorization": "Bearer t"}},
                      {"allow_origins": [APP], "allow_headers": ["*"]}) == []  # fmt: skip


def test_the_attacker_gets_no_fix():
    (cause,) = causes_for({}, {"allow_origins": [APP]}, page="attacker")
    assert cause.fix is None and cause.fix_note.startswith("intended")


def test_unhandled_exception_fix_is_wrapping_the_app():
    (cause,) = causes_for({"path": "/error"}, {"allow_origins": [APP]})
    assert cause.code == "exception-escaped-cors" and cause.fix == {"cors_outermost": True}


def test_method_and_credentials_and_exposed_headers():
    (method,) = causes_for({"method": "PUT"}, {"allow_origins": [APP], "allow_methods": ["get"]})
    assert method.code == "method-not-allowed" and "case-sensitive" in method.sentence
    (creds,) = causes_for({"credentials": "include"}, {"allow_origins": [APP]})
    assert creds.code == "missing-allow-credentials" and creds.fix == {"allow_credentials": True}
    (hidden,) = causes_for({"read_headers": ["X-Total"]}, {"allow_origins": [APP]})
    assert hidden.code == "header-not-exposed" and hidden.fix == {"expose_headers": ["X-Total"]}


def test_no_app_config_fix_when_nginx_sends_the_wildcard():
    """Found by --cors-verify-fixes: changing the app cannot fix a '*' that nginx adds itself."""
    causes = causes_for({"credentials": "include"}, {}, proxy="answer-options", cors=False)
    assert [c.code for c in causes] == ["credentials-with-wildcard"]
    assert causes[0].fix is None and "nginx" in causes[0].fix_note


def test_a_plain_success_has_no_cause():
    assert causes_for({}, {"allow_origins": [APP]}) == []


def test_engine_wording_maps_to_codes():
    chromium = ("Access to fetch at 'x' from origin 'y' has been blocked by CORS policy: Request "
                "header field authorization is not allowed by Access-Control-Allow-Headers in "
                "preflight response.")  # fmt: skip
    firefox = ("The Same Origin Policy disallows reading the remote resource at x. (Reason: CORS "
               "header ‘Access-Control-Allow-Origin’ missing). Status code: 200.")  # fmt: skip
    assert engine_codes([chromium, firefox]) == ["header-not-allowed", "missing-allow-origin"]
    assert agrees(["exception-escaped-cors"], ["missing-allow-origin"])
    assert not agrees(["header-not-allowed"], ["credentials-with-wildcard"])


THEMES = [f"scenarios/{t}" for t in
          ("origins", "headers", "methods", "wildcard", "errors", "proxy")]  # fmt: skip


@pytest.fixture(scope="module")
def catalogue_records(tmp_path_factory):
    """Chromium's and Firefox's records of six themes: from `make test`'s catalogue run when it
    names one (tests/conftest.py), else from a run of their own."""
    shared = shared_catalogue_records(THEMES, {"chromium", "firefox"})
    if shared is not None:
        return shared
    out = tmp_path_factory.mktemp("causes") / "run.jsonl"
    subprocess.run([sys.executable, "-m", "pytest", *(str(ROOT / t) for t in THEMES), "-q",
                    "-p", "no:cacheprovider", "--cors-browser", "chromium", "--cors-browser",
                    "firefox", "--cors-results", str(out)],
                   capture_output=True, timeout=900, cwd=out.parent)  # fmt: skip
    return [json.loads(line) for line in out.read_text().splitlines()]


def test_cause_codes_agree_with_what_chromium_and_firefox_say(catalogue_records):
    compared = {"chromium": 0, "firefox": 0}
    for record in catalogue_records:
        said = engine_codes(record.get("engine_message"))
        if not said:
            continue
        codes = [c["code"] for c in record["causes"]]
        assert agrees(codes, said), (record["scenario"], record["probe"], codes,
                                     record["engine_message"])  # fmt: skip
        compared[record["browser"]] += 1
    assert min(compared.values()) >= 15, compared


# blocks that happen before (or beside) any CORS check: the TypeError is real, the engine's
# console line (if any) is not a CORS message
NOT_A_CORS_CHECK = {"keepalive-quota", "mixed-content", "redirect-to-other-scheme",
                    "mode-same-origin"}  # fmt: skip


def test_every_blocked_cell_has_a_cause_and_the_engine_said_something(catalogue_records):
    for record in catalogue_records:
        if record["verdict"] != "match":
            continue
        if record["observed"]["outcome"] == "cors-error":
            codes = [c["code"] for c in record["causes"]]
            assert codes and "unexplained" not in codes, (record["scenario"], record["probe"])
            if set(codes) <= NOT_A_CORS_CHECK:  # the engine logs no CORS line for these
                continue
            if record["browser"] == "firefox" and record["scenario"] == "keepalive":
                continue  # Firefox logs no console line for a blocked keepalive fetch
            #           (seen here, reason not looked into; its cause code is still checked)
            where = (record["browser"], record["scenario"], record["probe"])
            assert record["engine_message"], (where, record.get("engine_message_note"))


def test_a_redirect_that_tainted_the_origin_is_named_as_such():
    """After a cross-origin redirect the request's Origin is null (HTTP-redirect fetch): the
    cause says so, and offers no allow_origins change (the page's origin is already there)."""
    probe = Probe(name="p", path="/data")
    ctx = Context(APP, API, {"allow_origins": [APP]}, origins=ORIGINS)
    (cause,) = explain(probe, ctx, "app", ["no Access-Control-Allow-Origin"], "cors-error", "null")
    assert cause.code == "tainted-origin" and cause.fix is None and "null" in cause.sentence
    reason = f"Access-Control-Allow-Origin '{APP}' does not match 'null'"
    (mismatch,) = explain(probe, ctx, "app", [reason], "cors-error", "null")
    assert mismatch.code == "tainted-origin"
    (untainted,) = explain(
        probe, ctx, "app", ["no Access-Control-Allow-Origin"], "cors-error", "app"
    )
    assert untainted.code == "missing-allow-origin"


def test_a_refused_cookie_domain_is_named_as_such():
    cookie = {"name": "s", "domain": "x.example.com"}  # not a site localhost belongs to
    (cause,) = causes_for({"credentials": "include", "set_cookies": [cookie]},
                          {"allow_origins": [APP], "allow_credentials": True})  # fmt: skip
    assert cause.code == "cookie-domain" and "Domain=x.example.com" in cause.sentence


def test_verify_fixes_reruns_from_the_cells_own_pages_under_domain_names_too(tmp_path):
    """--cors-verify-fixes (make report's run): a blocked cell's fix is applied to the running
    app and the probe re-run from its own page and from the attacker's. A hosts = "domains"
    cell re-runs under its domain names (once it navigated to the loopback page and failed)."""
    out = tmp_path / "run.jsonl"
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                          str(ROOT / "scenarios/origins/test_trailing_slash.toml"),
                          str(ROOT / "scenarios/sites/test_subdomain_cookies.toml"),
                          "-k", "simple-get or redirect or chain or a-put", "--cors-browser",
                          "chromium",
                          "--cors-verify-fixes", "--no-cors-traces", "--cors-results", str(out)],
                         capture_output=True, text=True, timeout=600, cwd=tmp_path)  # fmt: skip
    assert run.returncode == 0, run.stdout[-3000:]
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert {r["verdict"] for r in records} == {"match"}
    by_scenario = {}
    for record in records:
        for cause in record["causes"]:
            by_scenario.setdefault(record["scenario"], []).append(cause)
    (slash,) = by_scenario["origin-trailing-slash"]
    assert slash["verified"] == {"browser": "chromium", "attacker_allowed_before": False,
                                 "page_readable": True, "attacker_blocked": True,
                                 "oracle_agrees": True}  # fmt: skip
    domains = {c["code"]: c for c in by_scenario["subdomain-cookies"]}
    # the PUT's fix, re-run from example.com and from the attacker's example.org
    assert domains["method-not-allowed"]["verified"] == slash["verified"]
    # the tainted redirects name their cause and offer no config change to verify
    assert (
        domains["tainted-origin"]["fix"] is None and domains["tainted-origin"]["verified"] is None
    )
    assert set(domains) == {"method-not-allowed", "tainted-origin"}
