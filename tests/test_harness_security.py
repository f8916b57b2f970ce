"""The harness guarding itself: every socket is loopback-only, the control port (ledger,
reconfigure) answers no CORS, so a page the engines load cannot read or drive it."""

import ipaddress
import urllib.request
from pathlib import Path

import psutil
import pytest

from cors_matrix.engines import EnginePool
from cors_matrix.run.probe import RUN_SERIES_JS
from cors_matrix.scenario import parse_scenario
from cors_matrix.scenario.origins import API_EXTRA_HOSTS
from cors_matrix.serve.servers import host_process, host_spec

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "react_fixture" / "dist"
SCENARIO = parse_scenario({"server": {"allow_origins": ["*"]}, "probe": [{"name": "p"}]},
                          "inline", "open")  # fmt: skip


@pytest.fixture(scope="module")
def host(tmp_path_factory):
    with host_process(host_spec([SCENARIO], FIXTURE), tmp_path_factory.mktemp("host")) as h:
        yield h


def test_every_listening_socket_is_loopback(host):
    listening = [c for c in psutil.net_connections("tcp") if c.status == psutil.CONN_LISTEN]
    ports = {int(u.rsplit(":", 1)[1]) for u in [*host.pages.values(), host.api("open"),
                                                  host.manifest["control"]]}  # fmt: skip
    ours = [c for c in listening if c.laddr.port in ports]
    api_port = int(host.api("open").rsplit(":", 1)[1])
    # each port once on 127.0.0.1; the API's also on each of API_EXTRA_HOSTS ({api_third}...)
    assert len(ours) == len(ports) + len(API_EXTRA_HOSTS), (ours, ports)
    assert {c.laddr.ip for c in ours} == {"127.0.0.1", *API_EXTRA_HOSTS}
    assert {c.laddr.port for c in ours if c.laddr.ip != "127.0.0.1"} == {api_port}
    assert all(ipaddress.ip_address(c.laddr.ip).is_loopback for c in ours)


@pytest.mark.parametrize("method", ["GET", "OPTIONS"])
def test_control_port_sends_no_cors_headers(host, method):
    request = urllib.request.Request(
        host.manifest["control"] + "/ledger/anything", method=method,
        headers={"Origin": host.pages["attacker"], "Access-Control-Request-Method": "GET"},
    )  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            headers = response.headers
    except urllib.error.HTTPError as exc:
        headers = exc.headers
    assert not [h for h in headers if h.lower().startswith("access-control-")]


def test_a_page_cannot_read_the_ledger_or_reconfigure_in_a_real_browser(host):
    pool = EnginePool()
    try:
        page = pool.get("chromium", "block-third-party").new_page()
        page.goto(host.pages["app"] + "/")
        control = host.manifest["control"]
        specs = [{"url": f"{control}/ledger/x"}, {"url": f"{control}/manifest"},
                 {"url": f"{control}/reconfigure/open", "method": "POST",
                  "headers": {"Content-Type": "application/json"}, "body": "{}"},
                 {"url": f"{control}/reconfigure/open", "method": "POST", "mode": "no-cors",
                  "headers": {"Content-Type": "text/plain"}, "body": '{"allow_origins": []}'},
                 {"url": f"{host.api('open')}/data"}]  # fmt: skip
        attempts = page.run(RUN_SERIES_JS, {"specs": specs, "delayMs": 0})
        page.close()
    finally:
        pool.close()
    assert [a["outcome"] for a in attempts[:3]] == ["cors-error"] * 3
    # the blind text/plain POST was refused: the API still answers with its own config
    assert attempts[4]["outcome"] == "ok"


def test_a_server_that_never_answers_is_a_named_timeout_not_a_hang(host):
    """Hangs are bugs: the probe's own timer turns a silent server into an error naming it."""
    import socket

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen()
    url = f"http://127.0.0.1:{silent.getsockname()[1]}/data"
    pool = EnginePool()
    try:
        page = pool.get("chromium", "block-third-party").new_page()
        page.goto(host.pages["app"] + "/")
        with pytest.raises(Exception, match=f"probe timed out after 500 ms waiting for GET {url}"):
            page.run(RUN_SERIES_JS, {"specs": [{"url": url}], "delayMs": 0, "timeoutMs": 500})
    finally:
        pool.close()
        silent.close()


@pytest.mark.parametrize("name", ["attacker.example", "localhost", "127.0.0.2"])
def test_the_control_port_answers_only_its_own_host(host, name):
    """A DNS-rebinding page reaches the port under another name: refused before any route."""
    import http.client

    port = int(host.manifest["control"].rsplit(":", 1)[1])
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    connection.request("GET", "/manifest", headers={"Host": f"{name}:{port}"})
    refused = connection.getresponse()
    assert refused.status == 421 and b"pid" not in refused.read()
    with urllib.request.urlopen(host.manifest["control"] + "/health", timeout=5) as ok:
        assert ok.status == 200  # its own name still works


def test_a_malformed_connect_is_refused_not_a_traceback():
    import socket

    from cors_matrix.serve.forward_proxy import ForwardProxy

    proxy = ForwardProxy({}).start()
    try:
        with socket.create_connection(("127.0.0.1", proxy.port), timeout=5) as sock:
            sock.sendall(b"CONNECT example.test:notaport HTTP/1.1\r\n\r\n")
            assert sock.recv(64).startswith(b"HTTP/1.1 403")
    finally:
        proxy.stop()
    assert proxy.refused == ["example.test:notaport"]
