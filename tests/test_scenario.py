"""Scenario files: valid ones load, every kind of bad one gives one line naming file and field."""

import asyncio
from pathlib import Path

import pytest

from cors_matrix.scenario import ScenarioError, load_scenario
from cors_matrix.scenario.origins import DOMAIN_NAMES, scenario_origins
from cors_matrix.serve.api_app import CloseEachConnection
from cors_matrix.serve.servers import host_spec

ROOT = Path(__file__).resolve().parent.parent

MINIMAL = """
[server]
allow_origins = ["{app}"]

[[probe]]
name = "get"
"""


def test_minimal_scenario_gets_defaults_and_name_from_file(write_scenario):
    scenario = load_scenario(write_scenario(MINIMAL, "test_minimal_thing.toml"))
    assert scenario.name == "minimal_thing"
    probe = scenario.probes[0]
    assert (probe.page, probe.method, probe.path, probe.credentials, probe.repeat) == (
        "app",
        "GET",
        "/data",
        "same-origin",
        1,
    )
    assert scenario.server.middleware_kwargs() == {"allow_origins": ["{app}"]}


def test_unset_server_keys_are_left_to_starlette(write_scenario):
    scenario = load_scenario(write_scenario(MINIMAL))
    assert "allow_methods" not in scenario.server.middleware_kwargs()
    assert scenario.server.cors is True


@pytest.mark.parametrize("path", sorted((ROOT / "scenarios").rglob("test_*.toml")), ids=str)
def test_every_catalogue_scenario_loads(path):
    scenario = load_scenario(path)
    assert scenario.scenario.description, f"{path} must say what it shows"


BAD = [
    ("[server\n", "malformed TOML"),
    ('[server]\nallow_origin = ["x"]\n[[probe]]\nname = "p"\n', "server.allow_origin: unknown key"),
    ('[server]\nallow_credentials = "yes"\n[[probe]]\nname = "p"\n', "server.allow_credentials:"),
    ('[[probe]]\nname = "p"\n[[probe]]\nname = "p"\n', "duplicate probe name 'p'"),
    (
        '[server]\nallow_origins = ["{frontend}"]\n[[probe]]\nname = "p"\n',
        "unknown placeholder {frontend}",
    ),
    ('[[probe]]\nname = "p"\npath = "/nope"\n', "probe[p].path: unknown endpoint '/nope'"),
    (
        '[[probe]]\nname = "p"\nheaders = { "Bad Header" = "1" }\n',
        "probe[p].headers: header name 'Bad Header'",
    ),
    ('[[probe]]\nname = "p"\nheaders = { Cookie = "a=b" }\n', "forbidden request header"),
    (
        '[[probe]]\nname = "p"\nmethod = "CONNECT"\n',
        "probe[p].method: method 'CONNECT' is forbidden",
    ),
    ('[[probe]]\nname = "p"\nbody = "x"\n', "a GET request cannot have a body"),
    ('[[probe]]\nname = "p"\npage = "evil"\n', "probe[p].page:"),
    ('[[probe]]\nname = "p"\nrepeat = 0\n', "probe[p].repeat:"),
    ('[[probe]]\nname = "p"\ncredentials = "always"\n', "probe[p].credentials:"),
    ('[scenario]\nname = "x"\n', "probe: Field required"),
    ('[[probe]]\nname = "p"\nset_cookies = [{ name = "a b" }]\n', "cookie name 'a b'"),
    ('[[probe]]\nname = "p"\nheaders = { X-A = "a\\nb" }\n', "header 'X-A' has an invalid value"),
    ('[[probe]]\nname = "a\\nb"\n', "probe[a\\nb].name: name 'a\\nb' may only use letters"),
    ('[scenario]\nname = "a b"\n[[probe]]\nname = "p"\n', "scenario.name: name 'a b'"),
    ('[server]\ntls = true\nproxy = "pass"\n[[probe]]\nname = "p"\n', "tls with a proxy"),
    # issue 20: validated at load, each naming the value given
    (
        '[server]\nallow_origin_regex = "https://(a"\n[[probe]]\nname = "p"\n',
        "allow_origin_regex 'https://(a' is not a valid regular expression",
    ),
    ('[[probe]]\nname = "p"\npath = "/status?code=abc"\n', "code 'abc' must be an HTTP status"),
    ('[[probe]]\nname = "p"\npath = "/status?code=999"\n', "code '999' must be an HTTP status"),
    (
        '[[probe]]\nname = "p"\nmethod = "POST"\nheaders = { X-HTTP-Method-Override = "TRACE" }\n',
        "header 'X-HTTP-Method-Override' (value 'TRACE') is a forbidden request header",
    ),
    ('[[probe]]\nname = "p"\nheaders = { X-A = "€" }\n', "header 'X-A' has an invalid value"),
    ('[[probe]]\nname = "p"\nread_headers = ["X Total"]\n', "read_headers name 'X Total'"),
    (
        '[server]\nexpose_headers = ["X-A\\r\\nX-B: 1"]\n[[probe]]\nname = "p"\n',
        "expose_headers entry 'X-A\\r\\nX-B: 1' cannot be sent",
    ),
    ('[[probe]]\nname = "p"\npage = "evil"\n', "(got 'evil')"),
    ('[[probe]]\nname = "p"\nrepeat = -1\n', "(got -1)"),
    # raw routes (issue 16)
    ('[[server.route]]\npath = "x"\n[[probe]]\nname = "p"\n', "route path 'x' must start"),
    (
        '[[server.route]]\npath = "/a"\nmethod = "TRACE"\n[[probe]]\nname = "p"\n',
        "route method 'TRACE'",
    ),
    (
        '[[server.route]]\npath = "/a"\nstatus = 99\n[[probe]]\nname = "p"\n',
        "server.route[0].status:",
    ),
    (
        '[[server.route]]\npath = "/a"\nheaders = [["X"]]\n[[probe]]\nname = "p"\n',
        "expected [name, value]",
    ),
    (
        '[[server.route]]\npath = "/a"\nheaders = [["X-A", "a\\r\\nb"]]\n[[probe]]\nname = "p"\n',
        "CR, LF and NUL cannot be sent",
    ),
    (
        '[[server.route]]\npath = "/a"\nheaders = [["X-A", "é€"]]\n[[probe]]\nname = "p"\n',
        "is not Latin-1",
    ),
    (
        '[[server.route]]\npath = "/a"\nheaders = [["Location", "{nope}/b"]]\n[[probe]]\n'
        'name = "p"\n',
        "unknown placeholder {nope}",
    ),
    (
        '[[server.route]]\npath = "/a/"\n[[probe]]\nname = "p"\npath = "/b"\n',
        "probe[p].path: unknown endpoint '/b'",
    ),
    # issue 27: each of these loaded, then crashed the host or the oracle mid-run, or was
    # read one way by the loader and another by the host
    (
        '[[server.route]]\npath = "/a"\nbody = "abc"\nheaders = [["Content-Length", "5"]]\n'
        '[[probe]]\nname = "p"\n',
        "route header Content-Length '5' is not the body's 3 bytes",
    ),
    (
        '[[probe]]\nname = "p"\n[[probe.set_cookies]]\nname = "a"\nvalue = "é"\n',
        "cookie value 'é': only RFC 6265 cookie-octets",
    ),
    (
        '[[probe]]\nname = "p"\n[[probe.set_cookies]]\nname = "a"\nvalue = "' + "x" * 4100 + '"\n',
        "cookie 'a': name and value are 4101 bytes, over 4096",
    ),
    ('[server]\nmax_age = -5\n[[probe]]\nname = "p"\n', "server.max_age: Input should be greater"),
    (
        '[[probe]]\nname = "p"\npath = "/status?code=200&code=abc"\n',
        "code given 2 times; give it once",
    ),
    (
        '[[server.route]]\npath = "/{x}"\n[[probe]]\nname = "p"\n',
        "route path '/{x}': one literal path",
    ),
    (
        '[[server.route]]\npath = "/{p:path}"\n[[probe]]\nname = "p"\n',
        "route path '/{p:path}': one literal path",
    ),
    (
        '[[server.route]]\npath = "/a"\nheaders = [["Location", "http://x.test:99999/"]]\n'
        '[[probe]]\nname = "p"\n',
        "route header 'Location': 'http://x.test:99999/' is not a URL (Port out of range",
    ),
    (
        '[[server.route]]\npath = "/a"\nheaders = [["Location", "http://[::1/"]]\n'
        '[[probe]]\nname = "p"\n',
        "route header 'Location': 'http://[::1/' is not a URL (Invalid IPv6 URL)",
    ),
    # the subdomains and Domain cookies exist under domain names only (hosts = "domains")
    ('[[probe]]\nname = "p"\npath = "{api_www1}/data"\n',
     '{api_www1} needs [server] hosts = "domains"'),
    ('[[probe]]\nname = "p"\nset_cookies = [{ name = "s", server = "api_www2" }]\n',
     "probe[p].set_cookies: server 'api_www2' needs [server] hosts = \"domains\""),
    ('[[probe]]\nname = "p"\nset_cookies = [{ name = "s", domain = "example.com" }]\n',
     "probe[p].set_cookies: domain 'example.com' needs [server] hosts = \"domains\""),
    ('[server]\nhosts = "domains"\n[[probe]]\nname = "p"\npath = "{api_fifth}/data"\n',
     '{api_fifth}: no such name with hosts = "domains"'),
    ('[server]\nhosts = "domains"\nproxy = "pass"\n[[probe]]\nname = "p"\n',
     'hosts = "domains" with a proxy is not supported'),
    ('[server]\nhosts = "dns"\n[[probe]]\nname = "p"\n', "server.hosts:"),
    ('[server]\nkeep_alive = false\nproxy = "pass"\n[[probe]]\nname = "p"\n',
     "keep_alive = false with a proxy is not supported"),
    ('[[probe]]\nname = "p"\npath = "/redirect?to={api_other}/data"\n',
     "probe[p].path: path '/redirect?to={api_other}/data': a {name} can only start a path"),
    ('[[probe]]\nname = "p"\nset_cookies = [{ name = "s", domain = "a.com; Secure" }]\n',
     "cookie domain 'a.com; Secure': a host name"),
]  # fmt: skip


@pytest.mark.parametrize("text,expected", BAD, ids=[e for _, e in BAD])
def test_bad_scenarios_give_one_line_naming_file_and_field(write_scenario, text, expected):
    path = write_scenario(text)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(str(path) + ": ")
    assert expected in message


def test_missing_file_is_a_scenario_error(tmp_path):
    with pytest.raises(ScenarioError, match="cannot read"):
        load_scenario(tmp_path / "test_absent.toml")


def test_origins_from_env_as_the_guide_parses_them(write_scenario):
    text = '[server]\nallow_origins_env = "{app}, {cross_site}"\n[[probe]]\nname = "p"\n'
    kwargs = load_scenario(write_scenario(text)).server.middleware_kwargs()
    assert kwargs == {"allow_origins": ["{app}", "{cross_site}"]}
    split_only = text.replace("[[probe]]", 'allow_origins_env_parsing = "split-only"\n[[probe]]')
    kwargs = load_scenario(write_scenario(split_only, "test_b.toml")).server.middleware_kwargs()
    assert kwargs == {"allow_origins": ["{app}", " {cross_site}"]}


def test_env_origins_and_allow_origins_are_exclusive(write_scenario):
    text = (
        '[server]\nallow_origins = ["{app}"]\nallow_origins_env = "{app}"\n[[probe]]\nname = "p"\n'
    )
    with pytest.raises(ScenarioError, match="not both"):
        load_scenario(write_scenario(text))


def test_route_paths_and_their_slash_twins_are_probe_paths(tmp_path):
    text = ('[[server.route]]\npath = "/items/"\n[[probe]]\nname = "a"\npath = "/items"\n'
            '[[probe]]\nname = "b"\npath = "/items/?x=1"\n')  # fmt: skip
    (tmp_path / "test_r.toml").write_text(text)
    scenario = load_scenario(tmp_path / "test_r.toml")
    assert [p.path for p in scenario.probes] == ["/items", "/items/?x=1"]
    assert scenario.server.route_table()[0]["method"] == "*"


@pytest.mark.parametrize("stem", ["test_with space", "test_caf\u00e9"])
def test_a_file_name_that_cannot_be_a_scenario_name_says_so(tmp_path, stem):
    path = tmp_path / f"{stem}.toml"
    path.write_text('[[probe]]\nname = "p"\n')
    with pytest.raises(ScenarioError, match="rename the file or set \\[scenario\\] name"):
        load_scenario(path)
    path.write_text('[scenario]\nname = "fine"\n[[probe]]\nname = "p"\n')
    assert load_scenario(path).name == "fine"


@pytest.mark.parametrize("value,widened", [(" *  ", True), ("\t*", True), ("* ", True),
                                           ("a\x0bb", True), ("*", False), ("a b", False),
                                           ("", False)])  # fmt: skip
def test_which_values_need_the_widened_h11(value, widened):
    """h11 sends a value only if it has no padding and no whitespace but SP/HTAB inside;
    the host widens it (raw_headers), and a cell whose route needs that says so if it cannot."""
    from cors_matrix.serve.raw_headers import SENDABLE_VALUE, padded

    assert padded(value) is widened
    assert SENDABLE_VALUE.fullmatch(value.encode("latin-1"))


def test_a_status_past_599_needs_the_widened_uvicorn():
    from cors_matrix.serve.raw_headers import needs_widening

    assert needs_widening({"status": 699, "headers": []})
    assert not needs_widening({"status": 599, "headers": [["X", "a b"]]})
    assert needs_widening({"status": 200, "headers": [["X", " a"]]})


def test_a_domains_run_names_the_same_servers_under_dns_names():
    """hosts = "domains": every origin keeps its scheme and port and takes its host's domain
    name; the API gets its subdomains; the sandboxed frame has no origin of its own."""
    pages = {"app": "http://localhost:3000", "cross_site": "http://127.0.0.1:4000",
             "sandboxed": "http://127.0.0.1:4000"}  # fmt: skip
    named = scenario_origins(pages, "https://localhost:8000", domains=True)
    assert named == {
        "app": "http://example.com:3000",
        "cross_site": "http://example.org:4000",
        "api": "https://example.com:8000",
        "api_other": "https://example.org:8000",
        "api_third": "https://example.net:8000",
        "api_www1": "https://www1.example.com:8000",
        "api_www2": "https://www2.example.com:8000",
        "api_other_www1": "https://www1.example.org:8000",
    }
    loopback = scenario_origins(pages, "http://localhost:8000", domains=False)
    assert loopback["api_fifth"] == "http://127.0.0.4:8000" and "api_www1" not in loopback
    assert set(named.values()) - set(pages.values()) <= {
        f"{scheme}://{host}:{port}" for scheme in ("http", "https") for host in DOMAIN_NAMES
        for port in (3000, 4000, 8000)
    }  # fmt: skip


def test_keep_alive_false_reaches_the_host_and_closes_every_answer(write_scenario):
    """keep_alive = false: the host wraps the scenario's app so that every answer says
    Connection: close (replacing any Connection the app gave), which uvicorn obeys."""
    scenario = load_scenario(
        write_scenario('[server]\nkeep_alive = false\n[[probe]]\nname = "p"\n')
    )
    spec = host_spec([scenario], Path("dist"))
    assert spec["servers"][scenario.name]["keep_alive"] is False
    assert "keep_alive" not in scenario.server.middleware_kwargs()
    sent = []

    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 408,
                    "headers": [(b"Connection", b"keep-alive"), (b"x-a", b"1")]})  # fmt: skip
        await send({"type": "http.response.body", "body": b""})

    async def record(message):
        sent.append(message)

    asyncio.run(CloseEachConnection(app)({"type": "http"}, None, record))
    assert sent[0]["headers"] == [(b"x-a", b"1"), (b"connection", b"close")]
    assert sent[1] == {"type": "http.response.body", "body": b""}
