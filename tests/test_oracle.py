"""The oracle on its own: spec cases written from the Fetch standard and RFC 6265bis, engine
profiles from the differences file, and invariants over generated probes (fast, no browser)."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cors_matrix.judge import referrer as referrer_rules
from cors_matrix.judge.cookie_jar import domain_match, parse_set_cookie, path_matches, public_suffix
from cors_matrix.judge.engine_parsing import webkit_range_start
from cors_matrix.judge.oracle import (
    ANY_VALUE,
    Context,
    NotModelled,
    ParameterReads,
    compare,
    differences,
    engine_profile,
    expectations,
    predict,
    spec_profile,
)
from cors_matrix.judge.oracle import headers_match as compare_headers
from cors_matrix.judge.server_model import refused_header
from cors_matrix.scenario import Probe
from cors_matrix.spec import fetch_spec

APP, CROSS, ATTACKER, API = ("http://localhost:3000", "http://127.0.0.1:4000",
                             "http://127.0.0.1:5000", "http://localhost:8000")  # fmt: skip


def run(server, at=APP, policy="block-third-party", cors=True, **probe):
    """Predict `probe` run from the page origin `at` against API with `server` config."""
    ctx = Context(at, API, server, cors=cors, cookie_policy=policy)
    return predict(Probe(name="p", **probe), ctx)


EXACT = {"allow_origins": [APP], "allow_methods": ["*"], "allow_headers": ["*"]}
CREDS = {**EXACT, "allow_credentials": True}


# --- origins ---------------------------------------------------------------------------------
def test_listed_origin_reads_simple_get():
    p = run(EXACT, read_headers=["X-Total", "Content-Type"])
    assert (p.outcome, p.status, p.preflights, p.requests) == ("ok", 200, 0, 1)
    # X-Total is not safelisted and not exposed; Content-Type is safelisted
    assert p.headers == {"X-Total": None, "Content-Type": "application/json"}


def test_unlisted_origin_is_blocked_but_request_arrives():
    p = run(EXACT, at=CROSS)
    assert (p.outcome, p.status, p.requests, p.preflights) == ("cors-error", None, 1, 0)


@pytest.mark.parametrize("listed", [APP + "/", APP.replace("http", "https"), APP.upper()])
def test_near_miss_origins_never_match(listed):
    assert run({"allow_origins": [listed]}).outcome == "cors-error"


def test_regex_origin_is_full_match():
    assert run({"allow_origin_regex": r"http://localhost:\d+"}).outcome == "ok"
    assert run({"allow_origin_regex": r"http://localhost"}).outcome == "cors-error"


# --- wildcard and credentials ----------------------------------------------------------------
def test_wildcard_without_credentials_reads_uncredentialed_but_not_credentialed():
    assert run({"allow_origins": ["*"]}, at=ATTACKER).outcome == "ok"
    p = run({"allow_origins": ["*"]}, at=ATTACKER, credentials="include")
    assert p.outcome == "cors-error" and p.requests == 1


def test_wildcard_with_credentials_lets_attacker_read_credentialed_response():
    p = run({"allow_origins": ["*"], "allow_credentials": True}, at=ATTACKER, credentials="include")
    assert p.outcome == "ok"


def test_credentials_without_allow_credentials_fail_after_reaching_server():
    p = run(EXACT, credentials="include")
    assert (p.outcome, p.requests) == ("cors-error", 1)


# --- preflight -------------------------------------------------------------------------------
def test_put_with_custom_header_is_preflighted_once_then_cached():
    server = {
        "allow_origins": [APP],
        "allow_methods": ["GET", "PUT"],
        "allow_headers": ["X-Custom"],
    }
    p = run(server, method="PUT", headers={"X-Custom": "1"}, repeat=3)
    assert (p.outcome, p.preflights, p.requests) == ("ok", 1, 3)


def test_max_age_zero_preflights_every_time():
    server = {**EXACT, "max_age": 0}
    assert run(server, method="PUT", repeat=3).preflights == 3


def test_default_allow_methods_is_get_only():
    p = run({"allow_origins": [APP]}, method="PUT")
    assert (p.outcome, p.preflights, p.requests) == ("cors-error", 1, 0)


def test_lowercase_method_is_not_normalized_for_patch():
    assert fetch_spec.normalize_method("patch") == "patch"
    assert fetch_spec.normalize_method("put") == "PUT"
    p = run({"allow_origins": [APP], "allow_methods": ["PATCH"]}, method="patch")
    assert p.outcome == "cors-error" and p.requests == 0


def test_authorization_not_in_allow_headers_is_refused_before_request():
    p = run(
        {"allow_origins": [APP], "allow_headers": ["Content-Type"]},
        headers={"Authorization": "Bearer x"},
    )
    assert (p.outcome, p.preflights, p.requests, p.authorization_received) == (
        "cors-error",
        1,
        0,
        False,
    )


def test_star_allow_headers_mirrors_authorization_so_it_passes():
    p = run(CREDS, headers={"Authorization": "Bearer x"}, credentials="include")
    assert (p.outcome, p.authorization_received) == ("ok", True)


@pytest.mark.parametrize("content_type,preflight", [
    ("text/plain", False), ("application/x-www-form-urlencoded", False),
    ("multipart/form-data; boundary=x", False), ("application/json", True),
    ("text/plain; charset=utf-8", False),
])  # fmt: skip
def test_content_type_decides_preflight(content_type, preflight):
    p = run(EXACT, method="POST", headers={"Content-Type": content_type}, body="x")
    assert p.preflights == int(preflight)


def test_no_cors_is_opaque_and_still_reaches_server():
    p = run(
        {"allow_origins": []},
        at=ATTACKER,
        method="POST",
        mode="no-cors",
        body="x",
        headers={"Content-Type": "text/plain"},
    )
    assert (p.outcome, p.status, p.requests) == ("opaque", 0, 1)


def test_no_cors_rejects_non_simple_method_without_sending():
    # the Request constructor throws: no CORS check happened, and nothing was sent
    p = run(EXACT, mode="no-cors", method="PUT")
    assert (p.outcome, p.requests, p.preflights) == ("invalid-request", 0, 0)


def test_no_cors_drops_headers_that_are_not_no_cors_safelisted():
    p = run(EXACT, mode="no-cors", method="POST", body="x", headers={
        "Authorization": "Bearer t", "X-Custom": "1", "Accept-Language": "fr"})  # fmt: skip
    assert (p.outcome, p.requests, p.preflights, p.authorization_received) == (
        "opaque", 1, 0, False)  # fmt: skip


def test_without_cors_middleware_preflight_gets_405():
    p = run({}, cors=False, method="PUT")
    assert (p.outcome, p.preflights, p.requests) == ("cors-error", 1, 0)
    assert any("405" in r for r in p.reasons)


# --- response headers ------------------------------------------------------------------------
def test_exposed_header_is_readable():
    p = run({**EXACT, "expose_headers": ["X-Total"]}, read_headers=["X-Total"])
    assert p.headers == {"X-Total": "3"}


def test_expose_star_works_only_without_credentials():
    server = {**CREDS, "expose_headers": ["*"]}
    assert run(server, read_headers=["X-Total"]).headers == {"X-Total": "3"}
    assert run(server, read_headers=["X-Total"], credentials="include").headers == {"X-Total": None}


def test_error_500_escapes_cors_middleware():
    p = run(EXACT, path="/error")
    assert (p.outcome, p.requests) == ("cors-error", 1)


# --- cookies ---------------------------------------------------------------------------------
LAX = [{"name": "sid", "samesite": "Lax"}]
NONE_SECURE = [{"name": "sid", "samesite": "None", "secure": True}]
BOTH_PAGES = {**CREDS, "allow_origins": [APP, CROSS]}


def test_cookie_sent_only_with_include():
    assert run(CREDS, credentials="include", set_cookies=LAX).cookies_received == ["sid"]
    assert run(CREDS, credentials="same-origin", set_cookies=LAX).cookies_received == []
    assert run(CREDS, credentials="omit", set_cookies=LAX).cookies_received == []


def test_lax_cookie_stays_home_from_cross_site_page():
    p = run(
        BOTH_PAGES, at=CROSS, credentials="include", set_cookies=LAX, policy="allow-third-party"
    )
    assert p.cookies_received == []


@pytest.mark.parametrize("policy,sent", [("allow-third-party", ["sid"]), ("block-third-party", [])])
def test_none_secure_cookie_crosses_sites_only_if_policy_allows(policy, sent):
    p = run(BOTH_PAGES, at=CROSS, credentials="include", set_cookies=NONE_SECURE, policy=policy)
    assert p.cookies_received == sent


def test_samesite_none_without_secure_is_rejected():
    p = run(CREDS, credentials="include", set_cookies=[{"name": "sid", "samesite": "None"}])
    assert p.cookies_received == []


def test_cookie_set_by_cross_site_fetch_needs_none_and_allowed_third_party():
    fetch_lax = [{"name": "sid", "samesite": "Lax", "via": "fetch"}]
    fetch_none = [{**NONE_SECURE[0], "via": "fetch"}]
    kw = dict(at=CROSS, credentials="include", policy="allow-third-party")
    assert run(BOTH_PAGES, set_cookies=fetch_lax, **kw).cookies_received == []
    assert run(BOTH_PAGES, set_cookies=fetch_none, **kw).cookies_received == ["sid"]


# --- engine profiles -------------------------------------------------------------------------
def test_every_difference_has_a_source_url_and_a_known_parameter():
    assert differences()
    for d in differences():
        assert d.source.startswith("https://"), d.id
        assert hasattr(spec_profile(), d.parameter), d.id


def test_engine_profiles_apply_only_their_own_differences():
    assert engine_profile("chromium").lax_by_default is True
    assert engine_profile("firefox").lax_by_default is False
    assert engine_profile("webkit").secure_cookies_on_loopback_http is False
    assert spec_profile().preflight_cache_bypass_modes == ()


def test_unset_samesite_is_lax_in_chromium_only():
    ctx = Context(CROSS, API, {**BOTH_PAGES}, cookie_policy="allow-third-party")
    probe = Probe(
        name="p",
        page="cross_site",
        credentials="include",
        set_cookies=[{"name": "sid", "via": "navigation"}],
    )
    spec, chromium = expectations(probe, ctx, "chromium")
    assert spec.cookies_received == ["sid"] and chromium.cookies_received == []
    assert "chromium-lax-by-default" in chromium.differences


def test_cache_mode_bypass_is_an_engine_difference():
    server = {"allow_origins": [APP], "allow_methods": ["PUT"]}
    ctx = Context(APP, API, server)
    probe = Probe(name="p", method="PUT", cache="no-store", repeat=2)
    spec, chromium = expectations(probe, ctx, "chromium")
    _, webkit = expectations(probe, ctx, "webkit")
    assert (spec.preflights, chromium.preflights, webkit.preflights) == (1, 2, 1)


# --- comparison ------------------------------------------------------------------------------
def test_compare_names_differing_keys_and_any_value_matches_any_non_null():
    expected = {
        "outcome": "ok",
        "status": 200,
        "headers": {"Content-Length": ANY_VALUE},
        "preflights": 0,
        "requests": 1,
        "cookies_received": [],
        "authorization_received": False,
        "attempts": ["ok"],
    }
    observed = {**expected, "headers": {"Content-Length": "42"}}
    assert compare(expected, observed) == []
    assert compare(expected, {**observed, "headers": {"Content-Length": None}}) == ["headers"]
    assert compare(expected, {**observed, "requests": 2}) == ["requests"]


# --- invariants over generated probes (hundreds of cases, well under a second) ---------------
servers = st.fixed_dictionaries({}, optional={
    "allow_origins": st.lists(st.sampled_from([APP, CROSS, "*", APP + "/"]), max_size=2),
    "allow_methods": st.lists(st.sampled_from(["GET", "POST", "PUT", "DELETE", "*"]), max_size=3),
    "allow_headers": st.lists(st.sampled_from(["X-Custom", "Authorization", "*"]), max_size=2),
    "allow_credentials": st.booleans(),
    "max_age": st.sampled_from([0, 5, 600]),
})  # fmt: skip
probes = st.fixed_dictionaries({
    "method": st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH"]),
    "credentials": st.sampled_from(["omit", "same-origin", "include"]),
    "headers": st.dictionaries(st.sampled_from(["X-Custom", "Authorization", "Accept"]),
                               st.just("v"), max_size=2),
    "repeat": st.integers(1, 3),
    "page": st.sampled_from(["app", "cross_site", "attacker"]),
    "path": st.sampled_from(["/data", "/headers", "/error"]),
})  # fmt: skip
PAGES = {"app": APP, "cross_site": CROSS, "attacker": ATTACKER}


@settings(max_examples=400, deadline=None)
@given(server=servers, probe=probes)
def test_invariants(server, probe):
    p = run(server, at=PAGES[probe["page"]], **probe)
    assert p.outcome in ("ok", "http-error", "cors-error")
    assert len(p.attempts) == probe["repeat"]
    assert 0 <= p.preflights <= probe["repeat"]
    assert p.requests <= probe["repeat"]
    simple = probe["method"] in fetch_spec.SAFELISTED_METHODS and not (
        fetch_spec.unsafe_request_header_names(probe["headers"])
    )
    if simple:
        assert p.preflights == 0 and p.requests == probe["repeat"]
    if p.outcome != "cors-error":
        assert p.status is not None and p.requests >= 1
    origins = server.get("allow_origins", [])
    if PAGES[probe["page"]] not in origins and "*" not in origins:
        assert p.outcome == "cors-error"
    if "Authorization" in probe["headers"] and p.requests:
        assert p.authorization_received
    if probe["credentials"] != "include":
        assert p.cookies_received == []


# --- preflight cache over time and across requests -------------------------------------------
def test_preflight_expires_after_max_age():
    server = {**EXACT, "max_age": 1}
    assert run(server, method="PUT", repeat=2, delay_ms=1500).preflights == 2
    assert run(server, method="PUT", repeat=2, delay_ms=200).preflights == 1


def test_cache_key_header_and_credentials():
    server = {**CREDS}
    new_header = run(server, method="PUT", headers={"X-A": "1"},
                     then=[{"headers": {"X-A": "1", "X-B": "2"}}])  # fmt: skip
    assert new_header.preflights == 2
    assert (
        run(server, method="PUT", credentials="omit", then=[{"credentials": "include"}]).preflights
        == 2
    )
    assert (
        run(server, method="PUT", credentials="include", then=[{"credentials": "omit"}]).preflights
        == 1
    )


def test_firefox_keys_its_preflight_cache_by_credentials():
    ctx = Context(APP, API, CREDS)
    probe = Probe(name="p", method="PUT", credentials="include", then=[{"credentials": "omit"}])
    spec, firefox = expectations(probe, ctx, "firefox")
    assert (spec.preflights, firefox.preflights) == (1, 2)
    assert firefox.differences == ["firefox-preflight-cache-keyed-by-credentials"]


def test_one_attempt_per_fetch_on_every_path():
    """Each fetch leaves exactly one outcome, whichever way it ends."""
    probes = [
        dict(mode="no-cors", method="PUT"), dict(method="PUT"), dict(path="/error"),
        dict(mode="no-cors", method="POST", body="x"), dict(path="/redirect"),
    ]  # fmt: skip
    for probe in probes:
        assert len(run(EXACT, repeat=2, **probe).attempts) == 2, probe


# --- header lists and the server's own headers (issue 16) --------------------------------------
@pytest.mark.parametrize(
    "values,expected",
    [(None, None), (["GET, PUT"], ["GET", "PUT"]), (["GET", "PUT"], ["GET", "PUT"]),
     (["GET,, ,PUT"], ["GET", "PUT"]), ([""], [])],
)  # fmt: skip
def test_header_lists_are_extracted_across_repeated_fields(values, expected):
    assert fetch_spec.extract_list(values) == expected


@pytest.mark.parametrize("value", ["x y", "X-A;", "GET, PUT DELETE", '"quoted"', "a/b"])
def test_a_list_element_that_is_not_a_token_is_failure(value):
    with pytest.raises(fetch_spec.ListFailure):
        fetch_spec.extract_list([value])


def test_a_malformed_allow_headers_list_makes_the_preflight_a_network_error():
    server = {"allow_origins": [APP], "allow_headers": ["X-Custom", "Bad Header"]}
    p = run(server, headers={"X-Custom": "1"})
    assert (p.outcome, p.preflights, p.requests) == ("cors-error", 1, 0)
    assert any("does not parse" in r for r in p.reasons)
    assert run(server).outcome == "ok"  # no preflight: the list is never read


def test_a_malformed_allow_methods_list_makes_the_preflight_a_network_error():
    server = {"allow_origins": [APP], "allow_methods": ["GET", "PUT", "X,Y;"]}
    assert run(server, method="PUT").outcome == "cors-error"


def test_a_malformed_expose_list_exposes_nothing():
    server = {"allow_origins": [APP], "expose_headers": ["X-Total", "Bad Header"]}
    p = run(server, path="/headers", read_headers=["X-Total"])
    assert (p.outcome, p.headers) == ("ok", {"X-Total": None})


def test_the_servers_own_server_and_date_headers_are_readable_when_exposed():
    p = run({"allow_origins": [APP], "expose_headers": ["Server", "Date"]},
            read_headers=["Server", "Date"])  # fmt: skip
    assert p.headers == {"Server": "uvicorn", "Date": ANY_VALUE}
    assert run({"allow_origins": [APP]}, read_headers=["Server"]).headers == {"Server": None}


def test_uvicorn_puts_its_server_header_before_a_routes_own():
    route = {"path": "/s", "method": "*", "status": 200, "body": "",
             "headers": [["Server", "wptServe"], ["Access-Control-Allow-Origin", "*"],
                         ["Access-Control-Expose-Headers", "Server"]]}  # fmt: skip
    ctx = Context(APP, API, {}, cors=False, routes=[route])
    assert predict(Probe(name="p", path="/s", read_headers=["Server"]), ctx).headers == {
        "Server": "uvicorn, wptServe"
    }


def test_any_value_matches_inside_a_combined_value():
    assert compare_headers({"Date": "<any>, x"}, {"Date": "Tue, 1 Dec, x"})
    assert not compare_headers({"Date": "<any>, x"}, {"Date": "x"})


# --- raw routes and redirects (issue 16) ---------------------------------------------------------
OTHER = "http://127.0.0.1:8000"  # {api_other}: the same server under another host


def hop(path, location, status=307, allow=APP, creds=False):
    headers = [["Location", location], ["Access-Control-Allow-Origin", allow]]
    headers += [["Access-Control-Allow-Credentials", "true"]] if creds else []
    return {"path": path, "method": "*", "status": status, "body": "", "headers": headers}


def end(path, allow, creds=False):
    headers = [["Access-Control-Allow-Origin", allow]]
    headers += [["Access-Control-Allow-Credentials", "true"]] if creds else []
    return {"path": path, "method": "*", "status": 200, "body": "", "headers": headers}


def preflight_route(path, allow, headers):
    return {
        "path": path,
        "method": "OPTIONS",
        "status": 204,
        "body": "",
        "headers": [
            ["Access-Control-Allow-Origin", allow],
            ["Access-Control-Allow-Headers", headers],
        ],
    }


def routed(routes, **probe):
    ctx = Context(APP, API, {}, cors=False, routes=routes)
    return predict(Probe(name="p", **probe), ctx)


@pytest.mark.parametrize("allow,outcome", [("*", "ok"), ("null", "ok"), (APP, "cors-error")])
def test_a_cross_origin_hop_taints_the_origin(allow, outcome):
    p = routed([hop("/a", f"{OTHER}/b"), end("/b", allow)], path="/a")
    assert (p.outcome, p.requests) == (outcome, 2)


def test_a_same_origin_hop_keeps_the_page_origin():
    assert routed([hop("/a", "/b"), end("/b", APP)], path="/a").outcome == "ok"


def test_a_redirect_must_pass_the_cors_check_before_it_is_followed():
    no_cors = {**hop("/a", "/b"), "headers": [["Location", "/b"]]}
    p = routed([no_cors, end("/b", "*")], path="/a")
    assert (p.outcome, p.requests) == ("cors-error", 1)


def test_a_cross_origin_hop_drops_authorization_so_the_next_hop_needs_no_preflight():
    preflight = preflight_route("/a", APP, "Authorization")
    routes = [preflight, {**hop("/a", f"{OTHER}/b"), "method": "GET"}, end("/b", "*")]
    p = routed(routes, path="/a", headers={"Authorization": "Bearer t"})
    assert (p.outcome, p.preflights, p.requests) == ("ok", 1, 2)
    # request by request (observed.authorizations): never on a preflight, gone after the hop
    assert (p.methods, p.authorizations) == (["OPTIONS", "GET", "GET"], [False, True, False])
    # within one origin it stays, and the next URL needs its own preflight
    same = [preflight, {**hop("/a", "/b"), "method": "GET"},
            {**end("/b", APP), "method": "GET"}]  # fmt: skip
    p = routed(same, path="/a", headers={"Authorization": "Bearer t"})
    assert (p.outcome, p.preflights) == ("cors-error", 2)  # /b answers no preflight (405)


def test_credentials_in_the_location_are_a_network_error():
    p = routed([hop("/a", "http://u:p@localhost:8000/b"), end("/b", "*")], path="/a")
    assert (p.outcome, p.requests) == ("cors-error", 1)
    assert "credentials" in p.reasons[-1]


def test_redirect_slashes_answers_307_inside_cors_middleware():
    ctx = Context(APP, API, {"allow_origins": [APP], "allow_methods": ["*"]},
                  routes=[end("/items/", "*")])  # fmt: skip
    p = predict(Probe(name="p", path="/items"), ctx)
    assert (p.outcome, p.requests, p.preflights) == ("ok", 2, 0)
    p = predict(Probe(name="p", path="/items", method="PUT"), ctx)
    assert (p.outcome, p.requests, p.preflights) == ("ok", 2, 2)  # one preflight per URL
    off = Context(APP, API, {"allow_origins": [APP]}, routes=[end("/items/", "*")],
                  redirect_slashes=False)  # fmt: skip
    with pytest.raises(NotModelled):
        predict(Probe(name="p", path="/items"), off)


def test_a_redirect_to_a_303_turns_a_post_into_a_get_without_its_body_headers():
    preflight = preflight_route("/a", "*", "Content-Type")
    routes = [preflight, {**hop("/a", "/b", status=303, allow="*"), "method": "POST"},
              end("/b", "*")]  # fmt: skip
    p = routed(routes, path="/a", method="POST", body="x",
               headers={"Content-Type": "application/json"})  # fmt: skip
    # the POST with a JSON body needs a preflight at /a; the GET to /b none
    assert (p.outcome, p.preflights, p.requests) == ("ok", 1, 2)


MODES = [("follow", "ok", 200), ("error", "cors-error", None), ("manual", "opaque", 0)]


@pytest.mark.parametrize("mode,outcome,status", MODES)
def test_the_redirect_mode_applies_after_the_redirects_cors_check(mode, outcome, status):
    p = routed([hop("/a", "/b"), end("/b", APP)], path="/a", redirect=mode)
    assert (p.outcome, p.status, p.requests) == (outcome, status, 2 if mode == "follow" else 1)
    blocked = routed([{**hop("/a", "/b"), "headers": [["Location", "/b"]]}, end("/b", APP)],
                     path="/a", redirect=mode)  # fmt: skip
    assert blocked.outcome == "cors-error"  # no CORS headers on the redirect: fails first


def test_set_cookie_is_never_readable_even_when_exposed():
    route = {"path": "/c", "method": "*", "status": 200, "body": "", "headers": [
        ["Access-Control-Allow-Origin", "*"], ["Access-Control-Expose-Headers", "*, Set-Cookie"],
        ["Set-Cookie", "a=1"], ["Test", "X"]]}  # fmt: skip
    p = routed([route], path="/c", read_headers=["Set-Cookie", "Test"])
    assert p.headers == {"Set-Cookie": None, "Test": "X"}


# --- a same-origin page (page = "api") ---------------------------------------------------------
def same_origin(routes, **probe):
    ctx = Context(API, API, {}, cors=False, routes=routes)
    return predict(Probe(name="p", page="api", **probe), ctx)


def test_a_same_origin_fetch_needs_no_cors_and_reads_every_header():
    plain = {"path": "/l", "method": "*", "status": 200, "body": "", "headers": [["X-L", "1"]]}
    p = same_origin([plain], path="/l", method="PUT", headers={"X-Custom": "1"},
                    read_headers=["X-L"])  # fmt: skip
    assert (p.outcome, p.preflights, p.headers) == ("ok", 0, {"X-L": "1"})


def test_leaving_the_page_origin_is_cors_with_the_pages_origin_and_coming_back_is_tainted():
    out = {"path": "/out", "method": "*", "status": 307, "body": "",
           "headers": [["Location", f"{OTHER}/r"]]}  # fmt: skip
    assert same_origin([out, end("/r", API)], path="/out").outcome == "ok"
    back = hop("/back", f"{API}/l", allow=API)
    assert same_origin([back, end("/l", "null")], path="{api_other}/back").outcome == "ok"
    assert same_origin([back, end("/l", API)], path="{api_other}/back").outcome == "cors-error"


HTTPS_API, HTTPS_APP = "https://localhost:8000", "https://localhost:3000"


def test_a_redirect_from_an_https_page_to_http_is_blocked_as_mixed_content():
    routes = [hop("/items", "http://api.example.com/items/", allow=HTTPS_APP)]
    ctx = Context(HTTPS_APP, HTTPS_API, {}, cors=False, routes=routes)
    p = predict(Probe(name="p", path="/items"), ctx)
    assert (p.outcome, p.requests) == ("cors-error", 1)
    assert p.reasons[-1].startswith("mixed content")


def test_a_loopback_http_url_is_not_mixed_content_by_the_spec_but_is_in_webkit():
    # redirect_slashes behind TLS on loopback: the spec lets http://localhost through, and the
    # plain-http request to the TLS port fails; WebKit blocks it as mixed content first
    routes = [hop("/items", "http://localhost:8000/items/", allow=HTTPS_APP),
              end("/items/", HTTPS_APP)]  # fmt: skip
    ctx = Context(HTTPS_APP, HTTPS_API, {}, cors=False, routes=routes)
    p = predict(Probe(name="p", path="/items"), ctx)
    assert (p.outcome, p.requests) == ("cors-error", 1)
    assert "a port that speaks https" in p.reasons[-1]
    webkit = predict(Probe(name="p", path="/items"), ctx, engine_profile("webkit"))
    assert webkit.reasons[-1].startswith("mixed content")


def test_an_https_page_may_call_a_loopback_http_api_except_in_webkit():
    ctx = Context(HTTPS_APP, API, EXACT | {"allow_origins": [HTTPS_APP]})
    assert predict(Probe(name="p"), ctx).outcome == "ok"
    webkit = predict(Probe(name="p"), ctx, engine_profile("webkit"))
    assert (webkit.outcome, webkit.requests) == ("cors-error", 0)
    _, expected = expectations(Probe(name="p"), ctx, "webkit")
    assert expected.differences == ["webkit-mixed-content-blocks-loopback"]
    # an http page calling an https API is not mixed content
    back = Context(APP, HTTPS_API, EXACT)
    assert predict(Probe(name="p"), back, engine_profile("webkit")).outcome == "ok"


def test_a_difference_is_tried_only_when_the_model_read_its_parameter():
    """expectations() re-predicts without a difference only if the cell read its parameter:
    a plain GET from an http page never asks about mixed content's loopback rule."""
    (loopback,) = [d for d in differences() if d.id == "webkit-mixed-content-blocks-loopback"]
    plain = ParameterReads(engine_profile("webkit"))
    predict(Probe(name="p"), Context(APP, API, EXACT), plain)
    assert plain.read and loopback.parameter not in plain.read  # an http page: no such check
    _, expected = expectations(Probe(name="p"), Context(APP, API, EXACT), "webkit")
    assert expected.differences == []
    https = ParameterReads(engine_profile("webkit"))
    ctx = Context(HTTPS_APP, API, EXACT | {"allow_origins": [HTTPS_APP]})
    predict(Probe(name="p"), ctx, https)
    assert loopback.parameter in https.read
    assert expectations(Probe(name="p"), ctx, "webkit")[1].differences == [loopback.id]


# --- an opaque-origin initiator (page = "sandboxed") and keepalive ------------------------------
def sandboxed(server, **probe):
    ctx = Context(CROSS, API, server, opaque_initiator=True)
    return predict(Probe(name="p", page="sandboxed", **probe), ctx)


def test_an_opaque_origin_sends_null_and_matches_only_null_or_star():
    assert sandboxed({"allow_origins": [CROSS]}).outcome == "cors-error"
    assert sandboxed({"allow_origins": ["null"]}).outcome == "ok"
    assert sandboxed({"allow_origins": ["*"]}).outcome == "ok"
    # Starlette mirrors the listed "null" with credentials: any site's sandboxed iframe reads
    creds = sandboxed({"allow_origins": ["null"], "allow_credentials": True},
                      credentials="include")  # fmt: skip
    assert creds.outcome == "ok"


def test_an_opaque_origin_is_cross_origin_even_to_its_embedding_pages_server():
    same = Context(API, API, {}, cors=False, opaque_initiator=True,
                   routes=[{"path": "/l", "method": "*", "status": 200, "body": "",
                            "headers": []}])  # fmt: skip
    p = predict(Probe(name="p", page="sandboxed", path="/l"), same)
    assert (p.outcome, p.requests) == ("cors-error", 1)


@pytest.mark.parametrize("size, keepalive, outcome, requests", [
    (65536, True, "ok", 1), (65537, True, "cors-error", 0), (65537, False, "ok", 1),
])  # fmt: skip
def test_keepalive_bodies_are_limited_to_64_kib(size, keepalive, outcome, requests):
    p = run(EXACT, method="POST", body_size=size, keepalive=keepalive)
    assert (p.outcome, p.requests) == (outcome, requests)


def test_the_keepalive_quota_is_checked_after_the_preflight():
    p = run(EXACT, method="PUT", body_size=70_000, keepalive=True)
    assert (p.outcome, p.preflights, p.requests) == ("cors-error", 1, 0)


def test_cookies_are_per_host_and_each_redirect_hop_sends_its_own():
    other = "http://127.0.0.1:8000"
    routes = [hop("/hop", f"{other}/end", allow=APP, creds=True), end("/end", "null", creds=True)]
    ctx = Context(APP, API, {}, cors=False, cookie_policy="allow-third-party", routes=routes)
    cookies = [{"name": "a", "samesite": "None", "secure": True, "server": "api_other"},
               {"name": "b"}]  # fmt: skip
    p = predict(Probe(name="p", path="/hop", credentials="include", set_cookies=cookies), ctx)
    assert (p.outcome, p.cookies_received) == ("ok", ["a", "b"])
    blocked = Context(APP, API, {}, cors=False, routes=routes)
    p = predict(Probe(name="p", path="/hop", credentials="include", set_cookies=cookies), blocked)
    assert p.cookies_received == ["b"]  # a is on another site: a third-party cookie


def test_firefox_preflights_after_a_redirect_as_the_page_and_not_as_null():
    # {api_other}/r (allows the page) redirects to {api}/p, which allows only null: the spec's
    # second preflight says Origin: null and passes; Firefox's says the page's origin and fails
    r = [{"path": "/r", "method": "OPTIONS", "status": 200, "body": "",
          "headers": [["Access-Control-Allow-Origin", APP],
                      ["Access-Control-Allow-Headers", "x-w3c"]]},
         {"path": "/r", "method": "GET", "status": 307, "body": "",
          "headers": [["Location", f"{API}/p"], ["Access-Control-Allow-Origin", APP]]},
         {"path": "/p", "method": "*", "status": 200, "body": "",
          "headers": [["Access-Control-Allow-Origin", "null"],
                      ["Access-Control-Allow-Headers", "x-w3c"]]}]  # fmt: skip
    ctx = Context(APP, API, {}, cors=False, routes=r)
    probe = Probe(name="p", path="{api_other}/r", headers={"x-w3c": "t"})
    assert predict(probe, ctx).outcome == "ok"
    firefox = predict(probe, ctx, engine_profile("firefox"))
    assert (firefox.outcome, firefox.preflights) == ("cors-error", 2)


def test_firefox_keeps_no_preflight_cache_for_an_ip_literal_host():
    route = [{"path": "/c", "method": "*", "status": 200, "body": "",
              "headers": [["Access-Control-Allow-Origin", APP],
                          ["Access-Control-Allow-Headers", "x-t"],
                          ["Access-Control-Max-Age", "600"]]}]  # fmt: skip
    ctx = Context(APP, API, {}, cors=False, routes=route)
    for path, firefox_preflights in (("/c", 1), ("{api_other}/c", 2)):
        probe = Probe(name="p", path=path, headers={"x-t": "1"}, repeat=2)
        assert predict(probe, ctx).preflights == 1
        assert predict(probe, ctx, engine_profile("firefox")).preflights == firefox_preflights


def test_firefox_preflights_an_ip_literal_host_each_time_unless_it_goes_through_a_proxy():
    """firefox-preflight-cache-needs-dns-record: CheckDNSCache dooms the entry without a DNS
    record, but returns early when a proxy is used (mIsProxyUsed)."""
    server = {"allow_origins": [APP], "allow_methods": ["PUT"], "max_age": 600}
    probe = Probe(name="p", method="PUT", repeat=2)
    direct = Context(APP, "http://127.0.0.1:8000", server)
    proxied = Context(APP, "http://127.0.0.1:8000", server, browser_proxied=True)
    assert predict(probe, direct, engine_profile("firefox")).preflights == 2
    assert predict(probe, proxied, engine_profile("firefox")).preflights == 1
    assert predict(probe, direct, engine_profile("chromium")).preflights == 1


# --- header values as a browser's HTTP parser hands them over (issue 30) ------------------------


@pytest.mark.parametrize("value", [" *  ", "\t*", f"  {APP} "])
def test_padding_around_allow_origin_is_not_part_of_the_value(value):
    """RFC 9110 section 5.5: "a field value does not include leading or trailing whitespace";
    the parser drops the OWS of RFC 9112 section 5 (field-line = field-name ":" OWS
    field-value OWS), so the CORS check (Fetch, CORS check step 3) compares "*" or the page's
    origin. WPT cors/origin.htm pads its Access-Control-Allow-Origin the same way."""
    assert routed([end("/a", value)], path="/a").outcome == "ok"


def test_padding_inside_a_value_stays():
    """Only the ends are stripped: "* x" is not "*"."""
    assert routed([end("/a", "* x")], path="/a").outcome == "cors-error"


def test_a_sparse_padded_allow_methods_list_still_allows_its_method():
    """Fetch, extract header list values, and RFC 9110 section 5.6.1: empty list elements and
    OWS around elements are allowed (Mozilla's test_CrossSiteXHR.html: "  ,,  PUT , ")."""
    preflight = {"path": "/a", "method": "OPTIONS", "status": 204, "body": "",
                 "headers": [["Access-Control-Allow-Origin", f" {APP} "],
                             ["Access-Control-Allow-Methods", "  ,,  PUT , "]]}  # fmt: skip
    p = routed([preflight, end("/a", APP)], path="/a", method="PUT")
    assert (p.outcome, p.preflights, p.requests) == ("ok", 1, 1)


def test_a_padded_location_is_followed_to_its_target():
    """The Location value, too, reaches the redirect steps without its padding."""
    p = routed([hop("/a", "  /b "), end("/b", APP)], path="/a")
    assert (p.outcome, p.requests) == ("ok", 2)


# --- no-cors and redirects (issue 30) -----------------------------------------------------------


def bare_hop(path, location, status=302):
    return {"path": path, "method": "*", "status": status, "body": "",
            "headers": [["Location", location]]}  # fmt: skip


def plain(path):
    return {"path": path, "method": "*", "status": 200, "body": "x", "headers": []}


@pytest.mark.parametrize("location", [f"{OTHER}/b", "/b"])
def test_a_no_cors_fetch_follows_a_redirect_each_hop_a_request(location):
    """Fetch, HTTP fetch: a redirect status with redirect mode "follow" goes to HTTP-redirect
    fetch whatever the response tainting; "opaque" tainting means no CORS check on any hop
    (WPT fetch/api/redirect/redirect-mode.any.js, no-cors cases)."""
    p = routed([bare_hop("/a", location), plain("/b")], path="/a", mode="no-cors")
    assert (p.outcome, p.requests) == ("opaque", 2)


@pytest.mark.parametrize("mode", ["manual", "error"])
def test_a_no_cors_fetch_with_a_redirect_mode_other_than_follow_sends_nothing(mode):
    """Fetch, main fetch, step "request's mode is "no-cors"": "If request's redirect mode is
    not "follow", then return a network error" - before scheme fetch, so no request at all."""
    p = routed([bare_hop("/a", f"{OTHER}/b"), plain("/b")], path="/a", mode="no-cors",
               redirect=mode)  # fmt: skip
    assert (p.outcome, p.requests) == ("cors-error", 0)


def test_a_same_origin_no_cors_fetch_keeps_its_redirect_mode():
    """The no-cors branch of main fetch is not taken for a same-origin request with basic
    tainting (the first branch is): redirect "manual" gives an opaque-redirect response."""
    ctx = Context(API, API, {}, cors=False, routes=[bare_hop("/a", "/b"), plain("/b")])
    p = predict(Probe(name="p", page="api", path="/a", mode="no-cors", redirect="manual"), ctx)
    assert (p.outcome, p.requests) == ("opaque", 1)


def test_a_no_cors_redirect_to_a_url_with_credentials_is_followed_except_in_chromium():
    """HTTP-redirect fetch steps 8-9 refuse a Location with credentials only for mode "cors"
    (to another origin) or "cors" tainting; Chromium blocks every subresource URL with
    embedded credentials (chromestatus 5669008342777856), a redirect's target included."""
    routes = [bare_hop("/a", "http://user:secret@localhost:8000/b"), plain("/b")]
    ctx = Context(APP, API, {}, cors=False, routes=routes)
    probe = Probe(name="p", path="/a", mode="no-cors")
    assert (predict(probe, ctx).outcome, predict(probe, ctx).requests) == ("opaque", 2)
    for engine in ("firefox", "webkit"):
        assert predict(probe, ctx, engine_profile(engine)).outcome == "opaque"
    chromium = predict(probe, ctx, engine_profile("chromium"))
    assert (chromium.outcome, chromium.requests) == ("cors-error", 1)
    assert "chromium-blocks-credentials-in-subresource-urls" in engine_profile("chromium").applied


def test_a_literal_star_covers_authorization_only_in_the_engines_not_in_the_spec():
    """Fetch, CORS-preflight fetch: Authorization is a CORS non-wildcard request-header name,
    so "*" in Access-Control-Allow-Headers does not cover it; the three engines still let it
    (chromestatus 5742041264816128, Firefox bug 1687364, WebKit's validateCrossOriginHeaders).
    With credentials "*" is a literal name for everyone."""
    preflight = {"path": "/a", "method": "OPTIONS", "status": 204, "body": "",
                 "headers": [["Access-Control-Allow-Origin", APP],
                             ["Access-Control-Allow-Headers", "*"],
                             ["Access-Control-Allow-Credentials", "true"]]}  # fmt: skip
    ctx = Context(APP, API, {}, cors=False, routes=[preflight, end("/a", APP, creds=True)])
    bare = Probe(name="p", path="/a", credentials="omit", headers={"Authorization": "t"})
    assert (predict(bare, ctx).outcome, predict(bare, ctx).requests) == ("cors-error", 0)
    with_cookies = bare.model_copy(update={"credentials": "include"})
    for engine in ("chromium", "firefox", "webkit"):
        profile = engine_profile(engine)
        assert f"{engine}-wildcard-allow-headers-covers-authorization" in profile.applied
        assert (predict(bare, ctx, profile).outcome, predict(bare, ctx, profile).requests) == (
            "ok", 1)  # fmt: skip
        assert predict(with_cookies, ctx, profile).outcome == "cors-error"


def test_a_delete_redirected_to_another_origin_is_preflighted_again():
    """Fetch, HTTP-redirect fetch step 12 changes the method only for a 301/302 POST or a 303:
    a DELETE keeps it and is preflighted again at the new origin, in every engine's answer.
    (WebKitGTK then sends that hop as a GET, NetworkDataTaskSoup.cpp shouldRedirectAsGET, after
    preflighting the DELETE: the ledger shows it; per-hop methods are not predicted yet.)"""

    def preflight(path):
        return {"path": path, "method": "OPTIONS", "status": 204, "body": "",
                "headers": [["Access-Control-Allow-Origin", "*"],
                            ["Access-Control-Allow-Methods", "DELETE"]]}  # fmt: skip

    routes = [
        preflight("/d"),
        preflight("/e"),
        {**hop("/d", f"{OTHER}/e", allow="*"), "method": "DELETE"},
        end("/e", "*"),
    ]
    ctx = Context(APP, API, {}, cors=False, routes=routes)
    probe = Probe(name="p", path="/d", method="DELETE")
    for profile in (None, *(engine_profile(e) for e in ("chromium", "firefox", "webkit"))):
        p = predict(probe, ctx, profile) if profile else predict(probe, ctx)
        assert (p.outcome, p.preflights, p.requests) == ("ok", 2, 2)


# --- mode "same-origin" and statuses past 599 (issue 30) ----------------------------------------


def test_mode_same_origin_to_another_origin_sends_nothing():
    """Fetch, main fetch step 12: request's mode is "same-origin" (and the URL is not the
    request's origin) -> return a network error, before any request."""
    p = routed([end("/a", "*")], path="/a", mode="same-origin")
    assert (p.outcome, p.requests, p.preflights) == ("cors-error", 0, 0)


def test_mode_same_origin_on_the_pages_own_origin_reads_everything():
    ctx = Context(API, API, {}, cors=False, routes=[plain("/a")])
    p = predict(Probe(name="p", page="api", path="/a", mode="same-origin"), ctx)
    assert (p.outcome, p.requests) == ("ok", 1)


def test_mode_same_origin_fails_on_a_redirect_to_another_origin_after_the_3xx():
    """HTTP-redirect fetch returns to main fetch for the next URL: the same step refuses it,
    after the redirect itself was answered (one request)."""
    ctx = Context(API, API, {}, cors=False, routes=[bare_hop("/a", f"{OTHER}/b"), plain("/b")])
    p = predict(Probe(name="p", page="api", path="/a", mode="same-origin"), ctx)
    assert (p.outcome, p.requests) == ("cors-error", 1)


@pytest.mark.parametrize("status", [699, 680, 790])
def test_a_status_past_599_is_an_answer_like_any_other(status):
    """Fetch: a response's status is any three-digit code; only the ok range (200-299) is
    special, so WPT cors/status's 699 is readable (not ok) when the CORS check passes."""
    p = routed([{**end("/a", APP), "status": status}], path="/a")
    assert (p.outcome, p.status, p.requests) == ("http-error", status, 1)


# --- the Origin header of each request (issue 30) ----------------------------------------------


def test_a_cors_request_to_another_origin_says_the_page_origin_on_preflight_and_request():
    """Fetch, "append a request Origin header": response tainting "cors" always sends it; the
    CORS-preflight request carries it too."""
    assert run(EXACT).origin_headers == [APP]
    assert run(EXACT, method="PUT").origin_headers == [APP, APP]


def test_a_same_origin_get_sends_no_origin_and_a_post_sends_it():
    """Basic tainting: only a method other than GET and HEAD appends Origin."""
    ctx = Context(API, API, {}, cors=False, routes=[plain("/d")])
    assert predict(Probe(name="p", page="api", path="/d"), ctx).origin_headers == [None]
    post = Probe(name="p", page="api", path="/d", method="POST", body="x")
    assert predict(post, ctx).origin_headers == ["api"]  # the run's name for that origin


def test_after_a_hop_away_from_another_origin_the_origin_is_null():
    """Fetch, "serializing a request origin": a redirect-tainted origin serializes as "null"
    (the first request is {api}, not the page's origin, so the hop to {api_other} taints)."""
    p = routed([hop("/a", f"{OTHER}/b"), end("/b", "*")], path="/a")
    assert (p.outcome, p.origin_headers) == ("ok", [APP, "null"])
    same = routed([hop("/a", "/b"), end("/b", APP)], path="/a")
    assert same.origin_headers == [APP, APP]


@pytest.mark.parametrize(
    "method,policy,sent",
    [("GET", None, None), ("POST", None, APP), ("POST", "no-referrer", "null"),
     ("POST", "same-origin", "null"), ("POST", "unsafe-url", APP)],
)  # fmt: skip
def test_a_no_cors_request_sends_origin_only_for_unsafe_methods_as_its_referrer_policy_says(
    method, policy, sent
):
    """Opaque tainting: no Origin for GET/HEAD; otherwise the referrer policy decides - "null"
    for no-referrer, and for same-origin when the URL is another origin."""
    extra = {"body": "x"} if method == "POST" else {}
    p = routed([plain("/d")], path="/d", mode="no-cors", method=method,
               referrer_policy=policy, **extra)  # fmt: skip
    assert (p.outcome, p.origin_headers) == ("opaque", [sent])


def delete_routes(location):
    allow = [["Access-Control-Allow-Origin", "*"], ["Access-Control-Allow-Methods", "DELETE"]]
    return [{"path": "/d", "method": "OPTIONS", "status": 204, "body": "", "headers": allow},
            {"path": "/e", "method": "OPTIONS", "status": 204, "body": "", "headers": allow},
            {**hop("/d", location, allow="*"), "method": "DELETE"},
            end("/e", "*")]  # fmt: skip


def test_a_delete_keeps_its_method_across_a_redirect_and_each_hop_is_preflighted():
    """Fetch, HTTP-redirect fetch step 12: only 301/302 POST and 303 change the method; the
    DELETE at the new origin needs its own CORS-preflight fetch (WPT fetch/api/redirect/
    redirect-method.any.js)."""
    p = routed(delete_routes(f"{OTHER}/e"), path="/d", method="DELETE")
    assert (p.outcome, p.methods) == ("ok", ["OPTIONS", "DELETE", "OPTIONS", "DELETE"])
    assert p.origin_headers == [APP, APP, "null", "null"]


def test_webkit_sends_a_delete_redirected_to_another_origin_as_a_preflighted_get():
    """WebKit differences (engine_differences.toml, with their sources): the soup backend's
    shouldRedirectAsGET turns a DELETE redirected cross-origin into a GET, and
    NetworkLoadChecker's sticky m_isSimpleRequest still preflights that GET."""
    ctx = Context(APP, API, {}, cors=False, routes=delete_routes(f"{OTHER}/e"))
    probe = Probe(name="p", path="/d", method="DELETE")
    webkit = predict(probe, ctx, engine_profile("webkit"))
    assert (webkit.outcome, webkit.methods) == ("ok", ["OPTIONS", "DELETE", "OPTIONS", "GET"])
    _, expected = expectations(probe, ctx, "webkit")
    assert set(expected.differences) == {"webkit-cross-origin-delete-redirects-as-get",
                                         "webkit-preflight-sticks-after-redirect"}  # fmt: skip
    # a same-origin redirect keeps the DELETE in WebKit too
    same = Context(APP, API, {}, cors=False, routes=delete_routes("/e"))
    assert predict(probe, same, engine_profile("webkit")).methods[-1] == "DELETE"


def test_firefox_and_webkit_preflight_every_hop_once_the_first_request_needed_one():
    """A JSON POST answered 303 to another origin: Fetch's GET hop is safelisted, no second
    preflight (HTTP-redirect fetch step 12, then HTTP fetch). Firefox keeps the preflight flag
    across the redirect (HttpBaseChannel::SetupReplacementChannel); WebKit decides once
    (NetworkLoadChecker's m_isSimpleRequest) and asks for the first request's headers."""
    allow_post = [["Access-Control-Allow-Origin", "*"], ["Access-Control-Allow-Methods", "POST"],
                  ["Access-Control-Allow-Headers", "content-type"]]  # fmt: skip
    routes = [{"path": "/p", "method": "OPTIONS", "status": 204, "body": "", "headers": allow_post},
              {**hop("/p", f"{OTHER}/g", status=303, allow="*"), "method": "POST"},
              {"path": "/g", "method": "OPTIONS", "status": 204, "body": "",
               "headers": [["Access-Control-Allow-Origin", "*"]]},
              end("/g", "*")]  # fmt: skip
    ctx = Context(APP, API, {}, cors=False, routes=routes)
    probe = Probe(name="p", path="/p", method="POST", body="{}",
                  headers={"Content-Type": "application/json"})  # fmt: skip
    assert predict(probe, ctx).methods == ["OPTIONS", "POST", "GET"]
    firefox = predict(probe, ctx, engine_profile("firefox"))
    assert (firefox.outcome, firefox.methods) == ("ok", ["OPTIONS", "POST", "OPTIONS", "GET"])
    webkit = predict(probe, ctx, engine_profile("webkit"))  # /g's preflight allows no headers
    assert (webkit.outcome, webkit.methods) == ("cors-error", ["OPTIONS", "POST", "OPTIONS"])


# --- every readable header name (issue 30) ------------------------------------------------------


def expose_route(expose, creds=False):
    headers = [["Access-Control-Allow-Origin", APP], ["X-Total", "3"],
               ["Set-Cookie", "a=1"], ["Content-Type", "text/plain"]]  # fmt: skip
    headers += [["Access-Control-Expose-Headers", expose]] if expose else []
    headers += [["Access-Control-Allow-Credentials", "true"]] if creds else []
    return [{"path": "/h", "method": "*", "status": 200, "body": "x", "headers": headers}]


@pytest.mark.parametrize(
    "expose,creds,extra",
    [(None, False, []), ("X-Total", False, ["x-total"]),
     ("*", False, ["access-control-allow-origin", "access-control-expose-headers", "date",
                   "server", "x-total"]),
     ("*", True, [])],
)  # fmt: skip
def test_the_page_reads_safelisted_and_exposed_header_names_never_set_cookie(expose, creds, extra):
    """Fetch, CORS filtered response: the CORS-safelisted response-header names plus the
    exposed ones ("*" is every name, but only without credentials); Set-Cookie never (a
    forbidden response-header name)."""
    p = routed(expose_route(expose, creds), path="/h",
               credentials="include" if creds else "same-origin")  # fmt: skip
    assert p.readable_headers == sorted(["content-length", "content-type", *extra])


def test_a_same_origin_answer_shows_every_name_but_set_cookie_and_an_opaque_one_none():
    """Basic filtered response: all names but the forbidden ones; opaque: an empty list."""
    ctx = Context(API, API, {}, cors=False, routes=expose_route(None))
    p = predict(Probe(name="p", page="api", path="/h"), ctx)
    assert "set-cookie" not in p.readable_headers and "x-total" in p.readable_headers
    assert routed(expose_route(None), path="/h", mode="no-cors").readable_headers == []
    assert run(EXACT, at=CROSS).readable_headers is None  # a network error has no response


def test_connection_header_names_are_not_among_the_readable_ones():
    """RFC 9110 section 7.6.1: Connection and the names it governs describe the connection (a
    forward proxy in between answers with Connection: close), not the answer."""
    route = [{"path": "/h", "method": "*", "status": 200, "body": "x",
              "headers": [["Connection", "close"], ["Keep-Alive", "timeout=5"]]}]  # fmt: skip
    ctx = Context(API, API, {}, cors=False, routes=route)
    p = predict(Probe(name="p", page="api", path="/h"), ctx)
    assert "connection" not in p.readable_headers and "keep-alive" not in p.readable_headers


def test_a_same_origin_post_redirected_as_get_sends_no_origin_but_webkit_keeps_it():
    """Fetch: the GET after a 301/302/303 on the page's own origin is basic-tainted, so no
    Origin header (WPT fetch/api/redirect/redirect-method.any.js). WebKit rewrites the request
    and clears Origin only for a cross-origin hop (webkit-same-origin-redirect-as-get-keeps-
    origin)."""
    routes = [bare_hop("/r", "/m", status=303), plain("/m")]
    ctx = Context(API, API, {}, cors=False, routes=routes)
    probe = Probe(name="p", page="api", path="/r", method="POST", body="x")
    assert predict(probe, ctx).origin_headers == ["api", None]
    webkit = predict(probe, ctx, engine_profile("webkit"))
    assert (webkit.methods, webkit.origin_headers) == (["POST", "GET"], ["api", "api"])


# --- redirect statuses and their Location (WPT fetch/api/redirect/redirect-location, -count) ------
# (same_origin above: a fetch from the API's own origin, as WPT's RESOURCES_DIR fetches are)
@pytest.mark.parametrize(
    "redirect,outcome,status",
    [("follow", "http-error", 301), ("manual", "opaque", 0), ("error", "cors-error", None)],
)
def test_a_redirect_status_without_a_location_is_still_a_redirect_for_manual_and_error(
        redirect, outcome, status):  # fmt: skip
    """Fetch, HTTP fetch: "If internalResponse's status is a redirect status", switch on the
    redirect mode: "error" -> a network error, "manual" -> an opaque-redirect filtered
    response, whatever the Location; only "follow" (HTTP-redirect fetch step 4: "If
    locationURL is null, then return response") gives the 3xx itself."""
    no_location = {"path": "/a", "method": "*", "status": 301, "body": "", "headers": []}
    p = same_origin([no_location], path="/a", redirect=redirect)
    assert (p.outcome, p.status, p.requests) == (outcome, status, 1)


@pytest.mark.parametrize("location", ["data:text/plain;base64,cmVzcG9uc2UncyBib2R5", "invalidurl:"])
def test_a_location_whose_scheme_is_not_http_is_a_network_error_when_followed(location):
    """HTTP-redirect fetch step 6: "If locationURL's scheme is not an HTTP(S) scheme, then
    return a network error" ("invalidurl:" parses: its scheme is "invalidurl"); in mode
    "manual" the Location is never parsed: an opaque-redirect response."""
    routes = [bare_hop("/a", location)]
    followed = same_origin(routes, path="/a")
    assert (followed.outcome, followed.requests) == ("cors-error", 1)
    assert "not HTTP(S)" in " ".join(followed.reasons)
    assert same_origin(routes, path="/a", redirect="manual").outcome == "opaque"


def test_twenty_redirects_are_followed_and_the_twenty_first_is_a_network_error():
    """HTTP-redirect fetch step 7: "If request's redirect count is 20, then return a network
    error": 20 redirects reach the last answer (21 requests); a 21st is an error after it was
    received (21 requests, none more)."""
    chain = [bare_hop(f"/r{i}", f"/r{i + 1}") for i in range(21)] + [plain("/r21")]
    twenty = same_origin(chain, path="/r1")
    assert (twenty.outcome, twenty.status, twenty.requests) == ("ok", 200, 21)
    twenty_one = same_origin(chain, path="/r0")
    assert (twenty_one.outcome, twenty_one.requests) == ("cors-error", 21)
    assert "too many redirects" in " ".join(twenty_one.reasons)


def test_an_empty_location_is_the_same_url_again_until_the_twenty_first_redirect():
    """Fetch, location URL: the Location value parsed with the response's URL; "" parses to
    that URL itself, so mode "follow" loops until the redirect count is 20 (WPT
    redirect-empty-location.any.js: a TypeError) and mode "manual" is an opaque redirect."""
    routes = [bare_hop("/a", "")]
    looped = same_origin(routes, path="/a")
    assert (looped.outcome, looped.requests) == ("cors-error", 21)
    manual = same_origin(routes, path="/a", redirect="manual")
    assert (manual.outcome, manual.status, manual.requests) == ("opaque", 0, 1)


# --- the Referer of every request (Referrer Policy, determine request's referrer) ---------------
PAGE = "http://localhost:8000/__cm_page/"


@pytest.mark.parametrize(
    "policy,same,cross",
    [
        ("no-referrer", None, None),
        ("no-referrer-when-downgrade", PAGE, PAGE),
        ("same-origin", PAGE, None),
        ("origin", "http://localhost:8000/", "http://localhost:8000/"),
        ("strict-origin", "http://localhost:8000/", "http://localhost:8000/"),
        ("origin-when-cross-origin", PAGE, "http://localhost:8000/"),
        ("strict-origin-when-cross-origin", PAGE, "http://localhost:8000/"),
        ("unsafe-url", PAGE, PAGE),
    ],
)
def test_each_referrer_policy_gives_the_full_url_the_origin_or_nothing(policy, same, cross):
    """https://w3c.github.io/webappsec-referrer-policy/#determine-requests-referrer step 7,
    one branch per policy (no downgrade: http to http)."""
    determine = referrer_rules.determine
    assert determine(PAGE, policy, "http://localhost:8000/x", False) == same
    assert determine(PAGE, policy, "http://127.0.0.1:8000/x", False) == cross


def test_a_downgrade_is_by_trustworthiness_in_the_spec_and_by_scheme_in_engines():
    """The spec hides a potentially trustworthy referrer from a URL that is not one; http on
    a loopback host is potentially trustworthy (Secure Contexts), so an https page keeps its
    Referer to http://localhost. Every shipped engine compares schemes instead
    (*-referrer-hidden-by-scheme, each with its source)."""
    https_page = "https://localhost:3000/"
    for policy in ("strict-origin-when-cross-origin", "strict-origin"):
        assert referrer_rules.determine(https_page, policy, "http://localhost:8000/a",
                                        False) == "https://localhost:3000/"  # fmt: skip
        assert referrer_rules.determine(https_page, policy, "http://localhost:8000/a",
                                        True) is None  # fmt: skip
    assert referrer_rules.determine(https_page, "origin", "http://localhost:8000/a", True)
    for engine in ("chromium", "firefox", "webkit"):
        assert engine_profile(engine).referrer_hidden_by_scheme
        assert f"{engine}-referrer-hidden-by-scheme" in engine_profile(engine).applied


def test_a_referrer_cut_on_one_hop_stays_cut_and_a_redirect_header_changes_the_policy():
    """Fetch, main fetch: each hop sets request's referrer to the result of determining it
    from the last one, so an origin-only referrer stays origin-only back on the page's own
    origin (WPT redirect-referrer-override.any.js); HTTP-redirect fetch: "set request's
    referrer policy on redirect" from the 3xx's Referrer-Policy (last known token wins)."""
    routes = [
        {**bare_hop("/a", "/b"), "headers": [["Location", "/b"], ["Referrer-Policy", "origin"]]},
        plain("/b"),
    ]
    p = same_origin(routes, path="/a")
    assert p.referers == ["api/__cm_page/", "api/"]
    p = same_origin(routes, path="/a", referrer_policy="no-referrer")
    assert p.referers == [None, None]  # "no-referrer" once: every later hop has none too
    assert referrer_rules.policy_on_redirect("origin", "unknown, same-origin, nonsense") == (
        "same-origin"
    )
    assert referrer_rules.policy_on_redirect("origin", "") == "origin"


def test_the_request_constructor_keeps_a_same_origin_referrer_and_falls_back_otherwise():
    """https://fetch.spec.whatwg.org/#dom-request steps 14-15: "" is "no-referrer"; a URL of
    another origin is "client" (the page's URL); an opaque-origin document gives none."""
    assert referrer_rules.initial(PAGE, "") is None
    assert referrer_rules.initial(PAGE, "/mine") == "http://localhost:8000/mine"
    assert referrer_rules.initial(PAGE, "http://127.0.0.1:9/x") == PAGE
    assert referrer_rules.initial(None, None) is None
    assert (
        referrer_rules.strip_url("http://u:p@localhost:8000/a?q=1#f")
        == "http://localhost:8000/a?q=1"
    )


def test_two_engines_send_only_the_origin_to_another_site_whatever_the_policy():
    """Referrer Policy step 6 lets a user agent cut a referrer "in the interests of minimizing
    data leakage": Firefox replaces unsafe-url, no-referrer-when-downgrade and
    origin-when-cross-origin by the default for a cross-site request
    (firefox-cross-site-relaxed-referrer-policy-ignored, ReferrerInfo.cpp), WebKit cuts a
    third-party request's referrer to its origin (webkit-third-party-referrer-cut-to-origin,
    NetworkDataTask.cpp); Chromium follows the spec's steps. Same-site requests keep it all."""
    page = "http://localhost:3000/"
    cross_site, same_site = "http://127.0.0.1:8000/a", "http://localhost:8000/a"
    spec = spec_profile()
    assert referrer_rules.for_hop(page + "p", "unsafe-url", cross_site, page, spec) == page + "p"
    for engine in ("firefox", "webkit"):
        profile = engine_profile(engine)
        assert referrer_rules.for_hop(page + "p", "unsafe-url", cross_site, page, profile) == page
        assert referrer_rules.for_hop(page + "p", "unsafe-url", same_site, page, profile) == (
            page + "p"
        )
        assert referrer_rules.for_hop(page + "p", "no-referrer", cross_site, page, profile) is None
    chromium = engine_profile("chromium")
    assert referrer_rules.for_hop(page + "p", "unsafe-url", cross_site, page, chromium) == (
        page + "p"
    )


# --- cookies set by the answers a page fetched (Fetch, HTTP-network fetch; RFC 6265bis) --------


def cookie_route(path, *set_cookies):
    return {"path": path, "method": "*", "status": 200, "body": "",
            "headers": [["Set-Cookie", c] for c in set_cookies]}  # fmt: skip


@pytest.mark.parametrize(
    "first,second,sent",
    [
        ("include", "include", ["a"]),
        ("omit", "include", []),
        ("include", "omit", []),
        ("same-origin", "same-origin", ["a"]),
    ],
)
def test_an_answers_set_cookie_is_stored_only_when_the_fetch_includes_credentials(
        first, second, sent):  # fmt: skip
    """HTTP-network fetch: "If includeCredentials is true, then the user agent should parse
    and store the Set-Cookie headers" (WPT fetch/api/credentials/cookies.any.js): a fetch
    with credentials omit stores nothing, and sends nothing."""
    p = same_origin([cookie_route("/c", "a=1")], path="/c", credentials=first,
                    then=[{"credentials": second}])  # fmt: skip
    assert p.cookies_received == sent


def test_a_cross_origin_fetch_with_default_credentials_ignores_set_cookie():
    """Fetch's default credentials mode "same-origin" includes none for a CORS request, so
    the answer's cookie is not stored: the next credentialed fetch carries nothing."""
    ctx = Context(APP, API, {}, cors=False, routes=[cookie_route("/c", "s=1; SameSite=Lax")])
    p = predict(Probe(name="p", path="/c", then=[{"credentials": "include"}]), ctx)
    assert p.cookies_received == []
    assert any("Set-Cookie ignored" in r for r in p.reasons)


def test_set_cookie_attributes_default_path_and_path_match():
    """RFC 6265bis 5.6 and 5.1.4: the default path is the request path's directory; a
    Max-Age of zero deletes; 5.6.3: the last non-empty Domain, without its leading dot,
    lower-cased."""
    parsed = parse_set_cookie("sid=1; SameSite=lax; Secure", "/session/login?x=1")
    assert (parsed.name, parsed.samesite, parsed.secure, parsed.path) == ("sid", "Lax", True,
                                                                          "/session")  # fmt: skip
    assert parse_set_cookie("sid=; Max-Age=0", "/a").delete
    assert parse_set_cookie("no-equals-sign", "/a") is None
    assert path_matches("/session/me", "/session") and path_matches("/session", "/session")
    assert not path_matches("/sessions", "/session") and not path_matches("/other", "/session")
    assert parse_set_cookie("sid=1; Domain=.Example.COM", "/a").domain == "example.com"
    assert parse_set_cookie("sid=1; Domain=example.com; Domain=", "/a").domain == "example.com"
    assert parse_set_cookie("sid=1", "/a").domain is None


def test_a_cells_cookie_paths_are_what_a_webdriver_clean_up_must_visit():
    """WebDriver deletes only the cookies its current document would send: the cell's end
    visits "/" and each Path an answer's cookie was set under (a login's default /session)."""
    from cors_matrix.run.probe import cookie_paths

    entries = [{"path": "/session/login", "response_headers": {"set-cookie": ["sid=1"]}},
               {"path": "/x", "response_headers": {"set-cookie": ["a=1; Path=/api/v1"]}},
               {"path": "/y", "response_headers": {}}]  # fmt: skip
    assert cookie_paths(entries) == ("/", "/api/v1", "/session")


# --- repeated fields combined, and XMLHttpRequest (issue 30: WPT cors/) -------------------------


def two_origins(path, first, second):
    return {"path": path, "method": "*", "status": 200, "body": "",
            "headers": [["Access-Control-Allow-Origin", first],
                        ["Access-Control-Allow-Origin", second]]}  # fmt: skip


@pytest.mark.parametrize("first,second", [("", "*"), ("*", ""), ("", APP), ("*", "*"), (APP, APP)])
def test_two_allow_origin_fields_are_one_combined_value_that_never_matches(first, second):
    """Fetch, "combine": every field's value joined with ", ", empty ones too ("" and "*" are
    ", *"), so two Access-Control-Allow-Origin fields never pass the CORS check (WPT
    cors/origin.htm, "Disallow multiple headers")."""
    ctx = Context(APP, API, {}, cors=False, routes=[two_origins("/a", first, second)])
    spec, chromium = expectations(Probe(name="p", path="/a"), ctx, "chromium")
    assert (spec.outcome, chromium.outcome) == ("cors-error", "cors-error")


@pytest.mark.parametrize(
    "first,second,outcome",
    [("", "*", "ok"), ("*", "", "ok"), ("", APP, "ok"), ("*", "*", "cors-error")],
)
def test_firefox_skips_an_empty_field_when_it_combines(first, second, outcome):
    """nsHttpHeaderArray::MergeHeader: merging an empty value is a no-op, and no ", " follows an
    empty first value: "" and "*" are "*" in Firefox (firefox-combined-field-drops-empty-values)."""
    ctx = Context(APP, API, {}, cors=False, routes=[two_origins("/a", first, second)])
    spec, firefox = expectations(Probe(name="p", path="/a"), ctx, "firefox")
    assert (spec.outcome, firefox.outcome) == ("cors-error", outcome)
    if outcome == "ok":
        assert firefox.differences == ["firefox-combined-field-drops-empty-values"]


def test_an_xhr_is_a_cors_fetch_like_any_other():
    """XHR, send(): a request with mode "cors" and credentials "same-origin" (withCredentials
    unset); its safelisted Accept: */* needs no preflight."""
    xhr = run(EXACT, api="xhr", method="POST", body="x")
    assert (xhr.outcome, xhr.preflights, xhr.requests) == ("ok", 0, 1)


def test_an_xhr_upload_listener_forces_a_preflight_and_caches_its_method():
    """XHR, send(): the upload listener flag sets the use-CORS-preflight flag, so a simple POST
    is preflighted (Fetch, main fetch step 5), and a preflight without Access-Control-Allow-
    Methods still caches the request's own method (CORS-preflight fetch step 7): the second
    POST uses the cache."""
    routes = [{"path": "/a", "method": "OPTIONS", "status": 204, "body": "",
               "headers": [["Access-Control-Allow-Origin", APP],
                           ["Access-Control-Max-Age", "600"]]}, end("/a", APP)]  # fmt: skip
    ctx = Context(APP, API, {}, cors=False, routes=routes)
    probe = Probe(name="p", api="xhr", path="/a", method="POST", body="x", upload_listener=True,
                  repeat=2)  # fmt: skip
    p = predict(probe, ctx)
    assert (p.outcome, p.preflights, p.requests) == ("ok", 1, 2)
    assert p.methods == ["OPTIONS", "POST", "POST"]


def test_an_upload_listener_preflight_cached_for_another_method_does_not_cover_post():
    """The use-CORS-preflight flag needs a method cache entry even for POST: an entry for PUT
    alone does not do (Fetch, main fetch step 5: "no method cache entry match")."""
    routes = [{"path": "/a", "method": "OPTIONS", "status": 204, "body": "",
               "headers": [["Access-Control-Allow-Origin", APP],
                           ["Access-Control-Allow-Methods", "PUT"],
                           ["Access-Control-Max-Age", "600"]]}, end("/a", APP)]  # fmt: skip
    ctx = Context(APP, API, {}, cors=False, routes=routes)
    probe = Probe(name="p", api="xhr", path="/a", method="POST", body="x", upload_listener=True,
                  repeat=2)  # fmt: skip
    assert predict(probe, ctx).preflights == 2


@pytest.mark.parametrize("fields,message", [
    ({"credentials": "omit"}, "no credentials 'omit'"),
    ({"mode": "no-cors"}, "cannot set mode"),
    ({"redirect": "manual"}, "cannot set redirect"),
    ({"cache": "no-store"}, "cannot set cache"),
    ({"referrer_policy": "no-referrer"}, "cannot set referrer_policy"),
    ({"keepalive": True, "method": "POST", "body": "x"}, "cannot set keepalive"),
    ({"page": "sandboxed"}, "not in the sandboxed iframe"),
    ({"then": [{"credentials": "omit"}]}, "no credentials 'omit'"),
])  # fmt: skip
def test_an_xhr_probe_refuses_what_xmlhttprequest_cannot_say(fields, message):
    with pytest.raises(ValueError, match=message):
        Probe(name="p", api="xhr", **fields)


def test_an_upload_listener_needs_xhr_and_a_body():
    with pytest.raises(ValueError, match="needs api = 'xhr'"):
        Probe(name="p", method="POST", body="x", upload_listener=True)
    with pytest.raises(ValueError, match="needs a body"):
        Probe(name="p", api="xhr", upload_listener=True)


def test_xhr_open_credentials_are_xhr_only_and_never_sent_to_a_cors_request():
    """XHR open() puts a username and password into the request's URL; Fetch adds URL
    credentials as Authorization only to an authentication fetch after a 401 whose response
    tainting is not "cors" (HTTP-network-or-cache fetch), so none of the requests carries it.
    fetch() has no such argument (a URL with credentials makes new Request() throw)."""
    with pytest.raises(ValueError, match="need api = 'xhr'"):
        Probe(name="p", user="u")
    p = run(
        {**EXACT, "allow_credentials": True},
        api="xhr",
        user="user",
        password="pw",
        credentials="include",
    )
    assert p.authorizations == [False] and p.outcome == "ok"


def test_a_then_step_waits_its_own_delay_before_it():
    """`then` steps with their own delay_ms (WPT cors/preflight-cache.htm: a second fetch at
    once from the cache, a third after 1.5 s past a max-age of 1 preflights again)."""
    server = {**EXACT, "max_age": 1}
    probe = {"method": "PUT", "then": [{"delay_ms": 0}, {"delay_ms": 1500}]}
    p = run(server, **probe)
    assert (p.preflights, p.requests) == (2, 3)
    assert p.methods == ["OPTIONS", "PUT", "PUT", "OPTIONS", "PUT"]


@pytest.mark.parametrize(
    "value,safelisted",
    [("bytes=100-200", True), ("bytes=200-", True), ("bytes=0-0", True),
     ("bytes=-200", False),  # a suffix range: parsed, but its start is null
     ("BYTES=100-200", False), ("bytes =100-200", False), ("bytes=100 -200", False),
     ("bytes=200-100", False), ("bytes=100-200,300-400", False), ("bytes=0--1", False),
     ("bytes=+5-", False), ("100-200", False), ("bytes=100-200\x0c", False),
     (f"bytes=1{'0' * 60}-2{'0' * 60}", False)],  # 129 bytes: over the 128-byte limit
)  # fmt: skip
def test_range_is_safelisted_only_as_a_simple_range(value, safelisted):
    """Fetch, CORS-safelisted request-header `range`: "parse a single range header value"
    without whitespace succeeds and its start is not null (WPT cors-safelisted-request-header)."""
    assert fetch_spec.is_safelisted_request_header("Range", value) is safelisted
    assert (fetch_spec.unsafe_request_header_names({"Range": value}) == []) is safelisted


@pytest.mark.parametrize(
    "value,start",
    [("bytes=100-200", 100), ("BYTES=100-200", 100), ("Bytes=200-", 200), ("bytes=+5-", 5),
     ("bytes=0-+100", 0), ("bytes=\x0c100-200", 100), ("bytes=100-200\x0c", 100),
     ("bytes=-200", None), ("bytes=0--1", None), ("bytes =100-200", None),
     ("bytes\x0c=100-200", None), ("bytes=200-100", None), ("bytes=100-200hello", None)],
)  # fmt: skip
def test_webkits_range_parser(value, start):
    """WebCore HTTPParsers.cpp parseRange (RangeAllowWhitespace::No) and WTF parseInteger:
    "bytes" in any case, a "+" sign and whitespace such as form feed around each number, no
    suffix range for a safelisted header (webkit-range-parsed-leniently)."""
    assert webkit_range_start(value) == start


def test_webkit_sends_an_upper_case_range_without_a_preflight():
    routes = [end("/a", "*")]
    ctx = Context(APP, API, {}, cors=False, routes=routes)
    probe = Probe(name="p", path="/a", method="POST", body="x", headers={"Range": "BYTES=1-2"})
    spec, webkit = expectations(probe, ctx, "webkit")
    assert (spec.preflights, webkit.preflights, webkit.outcome) == (1, 0, "ok")
    assert webkit.differences == ["webkit-range-parsed-leniently"]


@pytest.mark.parametrize(
    "value,refused",
    [
        ("a b\tc", False),
        (" x ", False),
        ("caf\xe9", False),
        ("\x01", False),
        ("x\x7f", False),
        ("x\x0cy", True),
        ("\x0bx", True),
    ],
)
def test_the_server_refuses_a_request_header_value_with_whitespace_control_characters(
    value, refused
):
    """uvicorn's h11 (h11/_abnf.py field_value): runs of any byte but NUL and whitespace, with
    spaces and tabs between; a form feed or vertical tab inside is a 400 before the app, so the
    ledger never sees it (a value like "\x01" passes)."""
    assert (refused_header({"X-A": value}) == "X-A") is refused
    if refused:
        p = routed([preflight_route("/a", "*", "X-A"), end("/a", "*")], path="/a",
                   headers={"X-A": value})  # fmt: skip
        assert (p.outcome, p.preflights, p.requests) == ("cors-error", 1, 0)


def test_chromium_drops_a_page_set_user_agent():
    """User-Agent is not a forbidden request-header in the standard (a page may set it, and it
    needs a preflight); Chromium still forbids it and drops it without an error
    (chromium-user-agent-still-forbidden), so there is no preflight (Mozilla's
    test_CrossSiteXHR.html)."""
    ctx = Context(CROSS, API, {}, cors=False, routes=[end("/a", CROSS)])
    probe = Probe(name="p", path="/a", headers={"User-Agent": "myValue"})
    spec, chromium = expectations(probe, ctx, "chromium")
    assert (spec.preflights, spec.outcome) == (1, "cors-error")  # the preflight allows nothing
    assert (chromium.preflights, chromium.outcome) == (0, "ok")
    assert chromium.differences == ["chromium-user-agent-still-forbidden"]


@pytest.mark.parametrize(
    "engine,policy,sent",
    [("chromium", "block-third-party", ["sid"]), ("firefox", "block-third-party", []),
     ("webkit", "block-third-party", []), ("firefox", "allow-third-party", ["sid"])],
)  # fmt: skip
def test_a_partitioned_cookie_from_another_site(engine, policy, sent):
    """CHIPS: a Partitioned (and Secure) cookie is kept for the top-level site even where
    third-party cookies are blocked (Chromium); Firefox's reject-foreign and WebKitGTK's jar
    (no Partitioned attribute) block it as any third-party cookie."""
    tls_api = "https://localhost:8000"
    route = {"path": "/a", "method": "*", "status": 200, "body": "",
             "headers": [["Access-Control-Allow-Origin", CROSS],
                         ["Access-Control-Allow-Credentials", "true"],
                         ["Set-Cookie", "sid=1; Partitioned; Secure; SameSite=None"]]}  # fmt: skip
    ctx = Context(CROSS, tls_api, {}, cors=False, cookie_policy=policy, routes=[route])
    probe = Probe(name="p", path="/a", credentials="include", then=[{"credentials": "include"}])
    _, expected = expectations(probe, ctx, engine)
    assert expected.request_cookies == [[], sent]


def test_a_partitioned_cookie_needs_secure():
    """CHIPS: Partitioned without Secure is rejected (not by WebKitGTK, which ignores the
    attribute)."""
    route = {"path": "/a", "method": "*", "status": 200, "body": "",
             "headers": [["Access-Control-Allow-Origin", APP],
                         ["Access-Control-Allow-Credentials", "true"],
                         ["Set-Cookie", "p=1; Partitioned; SameSite=Lax"]]}  # fmt: skip
    ctx = Context(APP, API, {}, cors=False, routes=[route])
    probe = Probe(name="p", path="/a", credentials="include", then=[{"credentials": "include"}])
    spec, webkit = expectations(probe, ctx, "webkit")
    assert (spec.request_cookies, webkit.request_cookies) == ([[], []], [[], ["p"]])


def test_webkit_preflights_after_a_redirect_only_once_it_has_preflighted():
    """WebKit NetworkLoadChecker: m_isSimpleRequest turns false only in
    checkCORSRequestWithPreflight, so a DELETE that starts on the page's own origin (no
    preflight) and is sent to another origin as a GET (webkit-cross-origin-delete-redirects-as-get)
    is not preflighted (webkit-preflight-sticks-from-the-first-preflighted-hop)."""
    routes = [hop("/a", f"{OTHER}/b"), end("/b", API)]
    ctx = Context(API, API, {}, cors=False, routes=routes)
    probe = Probe(name="p", path="/a", method="DELETE", page="api")
    _, webkit = expectations(probe, ctx, "webkit")
    assert (webkit.methods, webkit.outcome) == (["DELETE", "GET"], "ok")
    assert "webkit-preflight-sticks-from-the-first-preflighted-hop" in webkit.differences


@pytest.mark.parametrize(
    ("credentials", "start", "creds_on_302", "webkit_outcome"),
    [
        ("same-origin", "/a", False, "cors-error"),  # the difference
        ("same-origin", "/a", True, "ok"),  # the 302 allows credentials
        ("omit", "/a", False, "ok"),  # no credentials to check with
        ("same-origin", "{api_other}/b", False, "ok"),  # started on the other origin
    ],
)  # fmt: skip
def test_webkit_checks_a_later_cross_origin_redirect_with_the_first_credentials(
    credentials, start, creds_on_302, webkit_outcome
):
    """Fetch, HTTP-redirect fetch: a 3xx is CORS-checked with the credentials of the moment;
    "same-origin" includes none once the request left the page's origin, so the spec passes
    every case. WebKit's web process (DocumentThreadableLoader fixes storedCredentialsPolicy at
    the start; SubresourceLoader::checkRedirectionCrossOriginAccessControl) checks each later
    cross-origin 3xx as credentialed: after the next hop's preflight, before its request."""
    routes = [hop("/a", f"{OTHER}/b"), hop("/b", f"{OTHER}/c", status=302, allow=API,
                                           creds=creds_on_302), end("/c", API)]  # fmt: skip
    ctx = Context(API, API, {}, cors=False, routes=routes)
    probe = Probe(name="p", path=start, page="api", credentials=credentials)
    spec, webkit = expectations(probe, ctx, "webkit")
    assert spec.outcome == "ok"
    assert webkit.outcome == webkit_outcome
    if webkit_outcome == "cors-error":
        assert webkit.methods == ["GET", "GET"]  # the request to /c is never sent
        assert "webkit-redirect-checked-with-first-credentials" in webkit.differences


def test_webkit_gives_a_redirected_preflight_the_first_referer():
    """Fetch: a preflight carries its request's referrer, determined again at every hop from
    the one the previous hop left (cut to the origin at the first cross-origin hop, and kept
    so). WebKit's NetworkLoadChecker::checkCORSRedirectedRequest restores the first request's
    header fields, so the preflight of a hop back on the page's origin carries the page's full
    URL (Mozilla's test_CrossSiteXHR.html redirect case 18)."""
    routes = [preflight_route("/b", API, "x-h"), preflight_route("/c", "null", "x-h"),
              hop("/a", f"{OTHER}/b"), hop("/b", "http://localhost:8000/c", allow=API),
              end("/c", "null")]  # fmt: skip
    ctx = Context(API, API, {}, cors=False, routes=routes)
    probe = Probe(name="p", path="/a", page="api", credentials="omit", method="POST",
                  body="x", headers={"X-H": "1"})  # fmt: skip
    spec, webkit = expectations(probe, ctx, "webkit")
    page = "api/__cm_page/"
    assert spec.referers[-2:] == ["api/", "api/"]  # the preflight of /c, then /c
    assert webkit.referers[-2:] == [page, "api/"]


def cached_route(path, then_status=200, **then_headers):
    first = [["Access-Control-Allow-Origin", "*"], ["Cache-Control", "max-age=1"], ["ETag", "e1"]]
    then = [[k.replace("_", "-"), v] for k, v in then_headers.items()]
    return {"path": path, "method": "*", "status": 200, "body": "one", "headers": first,
            "then": [{"status": then_status, "headers": then, "body": ""}]}  # fmt: skip


@pytest.mark.parametrize(
    ("engine", "api", "requests"),
    [("chromium", "fetch", 1), ("firefox", "xhr", 1), ("webkit", "fetch", 2), ("webkit", "xhr", 1)],
)  # fmt: skip
def test_a_fresh_stored_response_answers_without_a_request(engine, api, requests):
    """Fetch, HTTP-network-or-cache fetch, and RFC 9111 section 4.2: within max-age the stored
    response answers. The WebKit the harness drives has no HTTP cache (an ephemeral automation
    session), only its memory cache, which keeps XMLHttpRequest responses (a buffered body:
    CachedRawResource::canReuse) for the very same request."""
    route = cached_route("/c", access_control_allow_origin="*")  # a second answer allowed too
    ctx = Context(CROSS, API, {}, cors=False, routes=[route])
    probe = Probe(name="p", path="/c", api=api, then=[{}])
    _, expected = expectations(probe, ctx, engine)
    assert expected.requests == requests and expected.outcome == "ok"


@pytest.mark.parametrize(
    ("engine", "api", "outcome"),
    [("chromium", "xhr", "cors-error"), ("firefox", "fetch", "cors-error"),
     ("webkit", "xhr", "ok"), ("webkit", "fetch", "cors-error")],
)  # fmt: skip
def test_a_304_that_changes_access_control_allow_origin(engine, api, outcome):
    """WPT cors/304.htm "A 304 can change Access-Control-Allow-Origin": the stale stored
    response is revalidated, the 304's header fields replace the stored ones (RFC 9111 section
    3.2) and the CORS check reads the result: a network error. WebKit's memory cache keeps the
    check the stored response passed (SubresourceLoader::didReceiveResponse returns before
    checkResponseCrossOriginAccessControl on a 304); its fetch() has no cache, and the 304
    itself, without a matching origin, fails."""
    route = cached_route("/c", 304, access_control_allow_origin="http://other.example")
    ctx = Context(CROSS, API, {}, cors=False, routes=[route])
    probe = Probe(name="p", path="/c", api=api, then=[{"delay_ms": 2000}])
    _, expected = expectations(probe, ctx, engine)
    assert (expected.requests, expected.outcome) == (2, outcome)


def test_each_preflight_asks_for_the_unsafe_header_names_sorted():
    """Fetch, CORS-preflight fetch: Access-Control-Request-Headers is the CORS-unsafe
    request-header names, lower-cased, sorted and joined with "," (no space); a preflight
    forced by XHR's upload listener asks for none."""
    p = run(EXACT, method="PUT", headers={"X-B": "1", "X-A": "2", "Accept": "*/*"})
    assert p.preflight_request_headers == ["x-a,x-b"]
    forced = run(EXACT, api="xhr", method="POST", body="x", upload_listener=True)
    assert forced.preflight_request_headers == [None]


# --- Domain cookies under domain names (hosts = "domains"; RFC 6265bis 5.1.3, 5.6.3, 5.7) ------

D_APP, D_API, D_CROSS = (
    "http://example.com:3000",
    "http://example.com:8000",
    "http://example.org:4000",
)


def on_domains(cookie: dict, path: str = "{api_www1}/data", at: str = D_APP, profile=None):
    """A credentialed GET from a page under the domain names, after the API set `cookie`."""
    ctx = Context(at, D_API, {"allow_origins": [D_APP], "allow_credentials": True},
                  origins={"app": D_APP, "cross_site": D_CROSS})  # fmt: skip
    probe = Probe(name="p", path=path, credentials="include", set_cookies=[cookie])
    return predict(probe, ctx, profile) if profile else predict(probe, ctx)


@pytest.mark.parametrize(
    "cookie,path,sent,reason",
    [
        # 5.7 step 10: a Domain the host domain-matches: sent to every host under it
        ({"domain": "example.com"}, "{api_www1}/data", ["sid"], None),
        ({"domain": ".EXAMPLE.com"}, "{api_www2}/data", ["sid"], None),  # 5.6.3: dot, case
        ({"domain": "example.com", "server": "api_www1"}, "/data", ["sid"], None),
        ({}, "{api_www1}/data", [], None),  # host-only: its own host alone
        ({}, "/data", ["sid"], None),
        (
            {"domain": "www1.example.com"},
            "{api_www1}/data",
            [],
            "Domain=www1.example.com does not domain-match example.com",
        ),
        ({"domain": "com"}, "/data", [], "Domain=com is a public suffix"),  # step 9
        ({"domain": "example.org"}, "{api_other}/data", [], "does not domain-match"),
        # step 8: http://example.com is no secure scheme (http://localhost may be one)
        ({"secure": True}, "/data", [], "Secure over http"),
    ],
)
def test_a_domain_cookie_reaches_the_hosts_that_domain_match_it(cookie, path, sent, reason):
    p = on_domains({"name": "sid", "samesite": "Lax", **cookie}, path)
    assert p.cookies_received == sent
    assert reason is None or any(reason in r for r in p.reasons), p.reasons


def test_a_domain_cookie_stays_lax_for_another_site_and_strict_goes_to_a_sibling():
    """Subdomains are the same site (5.2): SameSite=Strict goes from the API's own page to
    www2; a Lax one is withheld from the page on example.org."""
    strict = {"name": "sid", "samesite": "Strict", "domain": "example.com"}
    assert on_domains(strict, "{api_www2}/data", at=D_API).cookies_received == ["sid"]
    lax = {"name": "sid", "samesite": "Lax", "domain": "example.com"}
    assert on_domains(lax, at=D_CROSS).cookies_received == []


def test_a_secure_cookie_on_loopback_http_is_the_engines_choice_not_on_a_domain():
    """Secure contexts: http://localhost is potentially trustworthy (Chromium and Firefox set
    Secure cookies there, WebKit does not); http://example.com never is."""
    secure = {"name": "sid", "samesite": "Lax", "secure": True}
    chromium, webkit = engine_profile("chromium"), engine_profile("webkit")
    loopback = Probe(name="p", path="/data", credentials="include", set_cookies=[secure])
    assert predict(loopback, Context(APP, API, CREDS), chromium).cookies_received == ["sid"]
    assert predict(loopback, Context(APP, API, CREDS), webkit).cookies_received == []
    assert on_domains(secure, "/data", profile=chromium).cookies_received == []


def test_domain_match_and_public_suffix_as_the_run_uses_them():
    assert domain_match("www1.example.com", "example.com")
    assert domain_match("example.com", "example.com")
    assert not domain_match("badexample.com", "example.com")
    assert not domain_match("example.com", "www1.example.com")
    assert not domain_match("1.127.0.0.1", "0.0.1") and not domain_match("127.0.0.1", "0.0.1")
    assert public_suffix("com") and public_suffix("localhost")
    assert not public_suffix("example.com") and not public_suffix("127.0.0.1")


def test_a_set_cookie_with_domain_from_a_subdomain_answer_reaches_the_parent():
    """A redirect's own Set-Cookie (HTTP-network fetch) with Domain=example.com, from www1,
    goes with the next hop, to example.com; a host-only one would not."""
    hop = {"path": "/hop", "method": "*", "status": 307, "body": "",
           "headers": [["Set-Cookie", "s=1; Domain=example.com; SameSite=Lax"],
                       ["Set-Cookie", "h=1; SameSite=Lax"], ["Location", D_API + "/data"],
                       ["Access-Control-Allow-Origin", D_APP],
                       ["Access-Control-Allow-Credentials", "true"]]}  # fmt: skip
    ctx = Context(D_APP, D_API, {"allow_origins": [D_APP], "allow_credentials": True},
                  routes=[hop], origins={"app": D_APP})  # fmt: skip
    p = predict(Probe(name="p", path="{api_www1}/hop", credentials="include"), ctx)
    assert p.request_cookies == [[], ["s"]]


def test_a_host_only_cookie_and_a_domain_cookie_of_one_name_are_two_cookies():
    """RFC 6265bis 5.7 step 22: a cookie is replaced by one of the same name, domain,
    host-only flag and path; a host-only sid does not replace the Domain=example.com sid."""
    both = [{"name": "sid", "samesite": "Lax", "domain": "example.com"},
            {"name": "sid", "value": "v2", "samesite": "Lax"}]  # fmt: skip
    ctx = Context(D_APP, D_API, {"allow_origins": [D_APP], "allow_credentials": True},
                  origins={"app": D_APP})  # fmt: skip
    probe = Probe(name="p", path="{api_www1}/data", credentials="include", set_cookies=both)
    assert predict(probe, ctx).cookies_received == ["sid"]


# --- Response.redirected (https://fetch.spec.whatwg.org/#dom-response-redirected) -------------

HOP = {"path": "/hop", "method": "*", "status": 307, "body": "", "headers": [["Location", "/l"]]}
END = {"path": "/l", "method": "*", "status": 200, "body": "", "headers": []}


@pytest.mark.parametrize(
    "probe,redirected",
    [
        ({"path": "/hop"}, True),  # the URL list holds /hop and /l
        ({"path": "/l"}, False),  # WPT redirect-method: "false on not-redirected responses"
        ({"path": "/hop", "redirect": "manual"}, False),  # opaque-redirect: an empty URL list
        ({"path": "/hop", "mode": "no-cors"}, True),  # same origin: a basic response
        ({"path": "/hop", "redirect": "error"}, None),  # a network error: no response
        ({"path": "/hop", "api": "xhr"}, None),  # XMLHttpRequest has no such attribute
    ],
)
def test_response_redirected_is_whether_the_url_list_grew(probe, redirected):
    """The getter "returns true if this's response's URL list's size is greater than 1"; a
    filtered opaque or opaque-redirect response has an empty one."""
    assert same_origin([HOP, END], **probe).redirected is redirected


def test_an_opaque_response_after_a_redirect_is_not_redirected():
    """A cross-origin no-cors fetch that followed a redirect: its opaque filtered response has
    an empty URL list, so Response.redirected is false."""
    ctx = Context(APP, API, {}, cors=False, routes=[HOP, END])
    p = predict(Probe(name="p", path="/hop", mode="no-cors"), ctx)
    assert (p.outcome, p.requests, p.redirected) == ("opaque", 2, False)


# --- request-body-header names along redirects (HTTP-redirect fetch, step 12) ---------------


def _hop(status):
    return {"path": "/r", "method": "*", "status": status, "body": "",
            "headers": [["Location", "/l"]]}  # fmt: skip


@pytest.mark.parametrize(
    "status,method,second",
    [
        (303, "POST", []),  # 303: every method but HEAD becomes GET, body and its headers go
        (301, "POST", []),  # 301/302: POST becomes GET
        (302, "PUT", ["content-language", "content-type"]),  # PUT stays PUT, with its body
        (307, "POST", ["content-language", "content-type"]),  # 307/308 keep everything
        (308, "POST", ["content-language", "content-type"]),
    ],
)
def test_a_redirect_to_get_removes_the_request_body_headers(status, method, second):
    """HTTP-redirect fetch, step 12: when the method becomes GET, "for each headerName of
    request-body-header name, delete headerName from request's header list" (WPT
    redirect-method.any.js); a string body's Content-Type is set by the body's extraction."""
    p = same_origin([_hop(status), END], path="/r", method=method, body="x",
                    headers={"Content-Language": "en"})  # fmt: skip
    assert p.body_headers == [["content-language", "content-type"], second]


def test_a_get_answered_303_keeps_its_headers():
    """Step 12's condition is "303 and request's method is not GET or HEAD": a GET follows
    the 303 unchanged, with the body-header names it had (WPT "Redirect 303 with GET"; the
    three engines agree)."""
    p = same_origin([_hop(303), END], path="/r", headers={"Content-Language": "en"})
    assert (p.methods, p.body_headers) == (["GET", "GET"], [["content-language"]] * 2)


def test_a_preflight_carries_no_body_header_and_no_cors_drops_the_unsafe_ones():
    """The CORS-preflight request copies no header but Accept; a no-cors request's guard
    drops a non-safelisted Content-Type, and the body's extraction then sets text/plain."""
    ctx = Context(APP, API, {"allow_origins": [APP], "allow_methods": ["*"],
                             "allow_headers": ["*"]})  # fmt: skip
    put = predict(Probe(name="p", path="/data", method="PUT", body="x"), ctx)
    assert (put.preflights, put.body_headers) == (1, [[], ["content-type"]])
    json_no_cors = Probe(name="p", path="/data", method="POST", mode="no-cors", body="{}",
                         headers={"Content-Type": "application/json"})  # fmt: skip
    assert predict(json_no_cors, ctx).body_headers == [["content-type"]]
