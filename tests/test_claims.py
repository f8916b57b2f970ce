"""The guide's claims as data, judged from observations (pure logic, no browser)."""

import pytest

from cors_matrix.report.claims import (
    FAILS,
    HOLDS,
    NOT_RUN,
    ClaimsError,
    check_claims,
    guide_claims,
    parse,
)

CLAIMS = parse("""
[[claim]]
id = 1
guide = "the browser blocks the request"
cells = [{ scenario = "s", probe = "p", if_true = { requests = 0 } }]

[[claim]]
id = 2
guide = "a preflight comes first"
cells = [{ scenario = "s", probe = "p", if_true = { preflights = ">=1", readable = true } }]
""")


def rec(browser, requests=1, preflights=0, outcome="ok", verdict="match", policy="block"):
    observed = {"outcome": outcome, "requests": requests, "preflights": preflights,
                "cookies_received": [], "authorization_received": False}  # fmt: skip
    return {"scenario": "s", "probe": "p", "browser": browser, "cookie_policy": policy,
            "verdict": verdict, "observed": observed}  # fmt: skip


def test_a_claim_holds_fails_or_is_not_run_per_engine():
    records = [rec("chromium", requests=0, outcome="cors-error"), rec("firefox"),
               rec("webkit", verdict="not-run")]  # fmt: skip
    first, second = check_claims(records, CLAIMS)
    assert first.per_engine == {"chromium": HOLDS, "firefox": FAILS, "webkit": NOT_RUN}
    assert second.per_engine == {"chromium": FAILS, "firefox": FAILS, "webkit": NOT_RUN}


def test_one_policy_against_the_claim_is_enough_to_fail_it():
    records = [rec("chromium", requests=0), rec("chromium", requests=1, policy="allow")]
    assert check_claims(records, CLAIMS)[0].per_engine == {"chromium": FAILS}


def test_every_shipped_claim_names_known_cells_and_conditions():
    import tomllib
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent / "scenarios"
    probes = set()
    for path in root.glob("*/test_*.toml"):
        data = tomllib.loads(path.read_text())
        name = data.get("scenario", {}).get("name") or path.stem[5:].replace("_", "-")
        probes |= {(name, p["name"]) for p in data["probe"]}
    claims = guide_claims()
    assert len(claims) >= 18
    for claim in claims:
        for check in claim.cells:
            assert (check.scenario, check.probe) in probes, (claim.id, check)


def test_an_unknown_condition_is_refused():
    with pytest.raises(ClaimsError, match="unknown condition 'colour'"):
        parse(
            '[[claim]]\nid = 1\nguide = "x"\n'
            'cells = [{ scenario = "s", probe = "p", if_true = { colour = "red" } }]'
        )
