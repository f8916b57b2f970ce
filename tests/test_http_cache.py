"""The HTTP cache rules of the browser model (RFC 9111, as Fetch's HTTP-network-or-cache fetch
uses them) and the stateful route's answer order: pure functions, no browser."""

import pytest

from cors_matrix.judge import http_cache
from cors_matrix.scenario.routes import nth_answer
from cors_matrix.spec.starlette_model import ServerAnswer


def answer(status=200, **headers):
    return ServerAnswer(status, {k.replace("_", "-"): [v] for k, v in headers.items()})


@pytest.mark.parametrize(
    ("headers", "lifetime"),
    [
        ({"cache_control": "max-age=60"}, 60),
        ({"cache_control": "private, max-age=3, must-revalidate"}, 3),
        ({"cache_control": "max-age=60", "expires": "Thu, 01 Dec 1994 16:00:00 GMT"}, 60),
        ({"expires": "Thu, 01 Dec 1994 16:00:00 GMT"}, 0),  # in the past
        ({"expires": "expires header"}, 0),  # does not parse: in the past (RFC 9111 5.3)
        ({"cache_control": "max-age=abc"}, 0),
        ({}, 0),  # nothing to go on
    ],
)
def test_freshness_lifetime(headers, lifetime):
    """RFC 9111 section 4.2.1: max-age wins over Expires; an Expires that does not parse is
    already past."""
    assert http_cache.freshness_lifetime(answer(**headers)) == lifetime


def test_heuristic_freshness_from_last_modified():
    """RFC 9111 section 4.2.2: 10% of the time since Last-Modified (Chromium, Firefox)."""
    old = answer(last_modified="Thu, 01 Dec 1994 10:00:00 GMT")
    assert http_cache.freshness_lifetime(old) > 365 * 24 * 3600  # decades ago: years fresh
    assert http_cache.freshness_lifetime(answer(last_modified="lastModified header")) == 0


@pytest.mark.parametrize(
    ("method", "headers", "mode", "stored"),
    [
        ("GET", {"cache_control": "max-age=60"}, "default", True),
        ("GET", {"etag": "v1"}, "default", True),  # a validator alone: revalidated later
        ("GET", {}, "default", False),  # neither lifetime nor validator: nothing to reuse
        ("GET", {"cache_control": "max-age=60, no-store"}, "default", False),
        ("GET", {"cache_control": "max-age=60"}, "no-store", False),
        ("POST", {"cache_control": "max-age=60"}, "default", False),
    ],
)
def test_storable(method, headers, mode, stored):
    assert http_cache.storable(method, answer(**headers), mode) is stored


def test_a_304_replaces_the_header_fields_it_carries():
    """RFC 9111 sections 4.3.4 and 3.2: each field the 304 has replaces the stored ones of
    that name (Access-Control-Allow-Origin too); the stored status and Content-Length stay."""
    stored = answer(access_control_allow_origin="*", content_length="7", a="1")
    merged = http_cache.freshened(stored, answer(304, access_control_allow_origin="x", a="2",
                                                 content_length="0"))  # fmt: skip
    assert merged.status == 200
    assert merged.get("access-control-allow-origin") == "x" and merged.get("a") == "2"
    assert merged.get("content-length") == "7"


def test_no_cache_means_every_use_is_revalidated():
    cache = http_cache.HttpCache()
    cache.store("u", answer(cache_control="max-age=60, no-cache", etag="v1"), 0.0, {})
    stored = cache.lookup("u", {})
    assert not cache.fresh(stored, 1.0)
    assert stored.validators() == {"If-None-Match": "v1"}


def test_vary_and_the_memory_caches_fingerprint_select_the_stored_response():
    """RFC 9111 section 4.1: the request headers Vary names must match; WebKit's memory cache
    reuses only for the very same request (CachedRawResource::canReuse)."""
    cache = http_cache.HttpCache()
    same = http_cache.request_fingerprint("GET", None, False, {"Content-Language": "1"})
    cache.store("u", answer(vary="Origin", cache_control="max-age=60"), 0.0,
                {"origin": "http://a"}, same)  # fmt: skip
    assert cache.lookup("u", {"origin": "http://a"}, same) is not None
    assert cache.lookup("u", {"origin": "http://b"}, same) is None
    other = http_cache.request_fingerprint("GET", None, False, {"Content-Language": "2"})
    assert cache.lookup("u", {"origin": "http://a"}, other) is None
    headers = {"Content-Language": "1", "Accept": "x"}
    accept_differs = http_cache.request_fingerprint("GET", None, False, headers)
    assert accept_differs == same  # Accept is one of the headers it ignores


def test_a_stateful_routes_answers_come_in_order_and_the_last_repeats():
    route = {"status": 200, "headers": [], "body": "a",
             "then": [{"status": 304, "headers": [], "body": ""}]}  # fmt: skip
    assert [nth_answer(route, i)["status"] for i in range(4)] == [200, 304, 304, 304]
    assert nth_answer({"status": 204, "headers": [], "body": ""}, 3)["status"] == 204


@pytest.mark.parametrize(
    ("location", "latin1", "url"),
    [
        ("/top.txt?%E2%98%83%e2%98%83", False, "/top.txt?%E2%98%83%e2%98%83"),  # escapes stay
        ("/top.txt?\xe2\x98\x83", False, "/top.txt?%E2%98%83"),  # each byte percent-encoded
        ("/top.txt?%\xe2\x98\x83", False, "/top.txt?%%E2%98%83"),  # "%" stays
        ("/top.txt?\xff", False, "/top.txt?%FF"),
        ("/top.txt?\xe2\x98\x83", True, "/top.txt?%C3%A2%C2%98%C2%83"),  # WebKitGTK: twice
        ("/top.txt?\xff", True, "/top.txt?%C3%AF%C2%BF%C2%BD"),  # U+FFFD first, then twice
    ],
)
def test_a_location_with_raw_bytes_as_the_final_url(location, latin1, url):
    """WPT fetch/api/redirect/redirect-location-escape.tentative (whatwg/fetch#883): the URL
    parser percent-encodes each byte past ASCII of a Location and leaves "%" alone; WebKitGTK
    reads the bytes as Latin-1 after libsoup's g_utf8_make_valid."""
    from cors_matrix.spec.fetch_spec import url_encoded

    assert url_encoded(location, latin1) == url


@pytest.mark.parametrize(
    ("location", "url"),
    [
        ("/top.txt?%E2%98%83%e2%98%83", "/top.txt?%E2%98%83%E2%98%83"),  # WPT case 1
        ("/top.txt?\xe2\x98\x83%e2%98%83", "/top.txt?%C3%A2%C2%98%C2%83%E2%98%83"),  # case 3
        ("/a%7eb/%41?q=%7E%2f%2F", "/a~b/A?q=~%2F%2F"),  # unreserved decoded, others upper
        ("/top.txt?%%e2%g1%", "/top.txt?%%E2%g1%"),  # a "%" without two hex digits stays
    ],
)
def test_webkitgtk_sends_every_url_with_its_escapes_normalised(location, url):
    """WebKitGTK's URL::createGUri (URLGLib.cpp) parses with G_URI_FLAGS_ENCODED_PATH/QUERY and
    GLib's uri_normalize (guri.c) upper-cases each escape that is not an unreserved character
    and decodes the others (RFC 3986 §6.2.2); the response's URL is read back from that GUri."""
    from cors_matrix.spec.fetch_spec import url_encoded

    assert url_encoded(location, True, escapes_normalised=True) == url
    assert url_encoded(location) != url  # the URL parser keeps every escape as it came


def test_the_final_url_leaves_the_cells_token_out():
    from cors_matrix.judge.prediction import url_name

    names = {"api": "http://localhost:8000"}
    assert url_name("http://localhost:8000/a?x=1&cm_probe=t", names) == "api/a?x=1"
    assert url_name("http://localhost:8000/a?cm_probe=t", names) == "api/a"
    assert url_name(None, names) is None


def test_the_final_url_never_holds_userinfo():
    """No record may hold URL userinfo (XHR open()'s user and password)."""
    from cors_matrix.judge.prediction import url_name

    names = {"api": "http://localhost:8000"}
    assert url_name("http://user:pw@localhost:8000/m4?cm_probe=t", names) == "api/m4"
    assert url_name("http://:pw@localhost:8000/m5", names) == "api/m5"
