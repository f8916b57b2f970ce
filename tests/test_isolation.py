"""A cookie set during a cell by any route (here a plain probe of /cookies/set, not
set_cookies) is cleared when the cell ends: it never reaches a later cell on that host."""

import json

SCENARIO = """
[scenario]
name = "leak"

[server]
allow_origins = ["{app}"]
allow_credentials = true

[[probe]]
name = "a-setter"
description = "a credentialed fetch whose answer sets a cookie"
path = "/cookies/set?name=leaked&value=1&samesite=Lax"
credentials = "include"

[[probe]]
name = "a-setter-other-host"
description = "the same on the API's other host name (another cookie host)"
page = "cross_site"
path = "{api_other}/cookies/set?name=leaked2&value=1&samesite=Lax"
credentials = "include"

[[probe]]
name = "b-reader"
description = "a later cell: must not carry the first cell's cookie"
credentials = "include"

[[probe]]
name = "b-reader-other-host"
page = "cross_site"
path = "{api_other}/data"
credentials = "include"
"""


def test_a_cookie_set_by_a_plain_probe_never_reaches_the_next_cell(pytester):
    pytester.makefile(".toml", test_leak=SCENARIO)
    results = pytester.path / "run.jsonl"
    run = pytester.runpytest_subprocess("--cors-results", str(results), "-p", "no:cacheprovider",
                                        "--cors-require-browsers")  # fmt: skip
    records = [json.loads(line) for line in results.read_text().splitlines()]
    setters = [r for r in records if r["probe"].startswith("a-setter")]
    readers = [r for r in records if r["probe"].startswith("b-reader")]
    assert len(setters) == len(readers) == 6
    # the cookie was really set (the server said so), and really stayed behind
    assert all(r["ledger"][0]["response_headers"].get("set-cookie") for r in setters)
    assert [r["observed"]["cookies_received"] for r in readers] == [[]] * 6, readers
    run.assert_outcomes(passed=12)
