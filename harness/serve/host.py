"""The server process: every scenario's API and the three page origins in ONE uvicorn process.

Process start-up (importing FastAPI) costs far more than an extra listening socket, so one
process binds a socket per API and per page origin, builds each scenario's app once the page
origins are known (placeholders need them), and dispatches each connection by the port it came
in on. A separate control port serves health and ledger reads to the harness only: it sends no
CORS headers, so no page can read it.

Run as: python -m cors_matrix.host SPEC.json MANIFEST.json (harness.host in the checkout)
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import uvicorn
from starlette.applications import Starlette
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from ..scenario import RECONFIGURABLE_SHAPE
from ..scenario.origins import (
    API_EXTRA_HOSTS,
    API_HOST,
    DOMAIN_NAMES,
    PAGE_HOSTS,
    SAME_ORIGIN_PAGE,
    page_origins,
    scenario_origins,
    substitute_all,
)
from .api_app import CloseEachConnection, build_app
from .ledger import LedgerMiddleware, LedgerStore
from .raw_headers import send_routes_as_written
from .sockets import BIND_ADDRESS, bind_api_sockets, bind_socket

READY_LINE = "cors-matrix host ready"


class PortDispatcher:
    """ASGI app that hands each request to the app owning the local port it arrived on; on an
    API port, paths under /__cm_page go to the probe page (a same-origin page, page = "api"),
    outside the ledger like every page load."""

    def __init__(self, apps: dict[int, Any], pages_app: Any = None,
                 api_ports: set[int] = frozenset()) -> None:  # fmt: skip
        self.apps = apps
        self.pages_app = pages_app
        self.api_ports = api_ports

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "lifespan":
            return
        port = scope["server"][1]
        path = scope.get("path", "")
        if port in self.api_ports and (path == SAME_ORIGIN_PAGE or path.startswith(
                SAME_ORIGIN_PAGE + "/")):  # fmt: skip
            inner = path[len(SAME_ORIGIN_PAGE) :] or "/"
            scope = {**scope, "path": inner, "raw_path": inner.encode()}
            await self.pages_app(scope, receive, send)
            return
        await self.apps[port](scope, receive, send)


def control_app(store: LedgerStore, manifest: dict[str, Any], reconfigure):
    async def health(request):
        return PlainTextResponse("ok")

    async def ledger(request):
        return JSONResponse(store.get(request.path_params["token"]))

    async def show_manifest(request):
        return JSONResponse(manifest)

    async def configure(request):
        """Rebuild one scenario's app with these CORSMiddleware kwargs (null: the original).

        Only the harness may call it: a browser sends Origin on every cross-origin POST, and a
        JSON body cannot be sent without a preflight this port never answers with CORS; so a
        page cannot change a config even blind (a text/plain "simple" POST is refused too).
        """
        content_type = request.headers.get("content-type", "")
        if "origin" in request.headers or not content_type.startswith("application/json"):
            return PlainTextResponse("control port: harness only", status_code=403)
        reconfigure(request.path_params["name"], await request.json())
        return PlainTextResponse("ok")

    app = Starlette(
        routes=[
            Route("/health", health),
            Route("/ledger/{token:path}", ledger),
            Route("/manifest", show_manifest),
            Route("/reconfigure/{name}", configure, methods=["POST"]),
        ]
    )
    own_host = urlsplit(manifest["control"]).netloc.encode()

    async def only_own_host(scope, receive, send):
        """Any other Host header is the shape of a DNS-rebinding read: refused."""
        host = dict(scope.get("headers", [])).get(b"host") if scope["type"] == "http" else own_host
        if host != own_host:
            await PlainTextResponse("control port: wrong Host", status_code=421)(
                scope, receive, send
            )
            return
        await app(scope, receive, send)

    return only_own_host


def build_pages_app(fixture_dir: Path) -> Starlette:
    """The React probe page's files, inside a Starlette app so that a missing file
    (favicon.ico) is a 404 and not a logged server error."""
    return Starlette(routes=[Mount("/", StaticFiles(directory=str(fixture_dir), html=True))])


def make_certificates(directory: Path) -> dict[str, str]:
    """A CA made for this run only and a server certificate for the API's and pages' names."""
    import trustme

    directory.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA(organization_name="cors-matrix per-run CA")
    server = ca.issue_cert("localhost", "127.0.0.1", *API_EXTRA_HOSTS, *DOMAIN_NAMES)
    paths = {"ca": str(directory / "ca.pem"), "cert": str(directory / "server.pem")}
    ca.cert_pem.write_to_path(paths["ca"])
    server.private_key_and_cert_chain_pem.write_to_path(paths["cert"])
    return paths


def server_versions() -> dict[str, str]:
    """The releases this host serves with: every record names them, the oracle models them."""
    from importlib.metadata import version

    return {name: version(name) for name in ("fastapi", "starlette", "uvicorn")}


def build(
    spec: dict[str, Any], tls_dir: Path | None = None
) -> tuple[dict[str, Any], PortDispatcher, list[socket.socket], list[socket.socket]]:
    """Bind every socket, build every app; return (manifest, the dispatcher over them, plain
    sockets, TLS sockets). TLS sockets exist only when a scenario asks for tls."""
    fixture_dir = Path(spec["fixture_dir"])
    if not (fixture_dir / "index.html").is_file():
        raise SystemExit(f"missing React build: {fixture_dir}/index.html; run `make fixture`")
    sockets: list[socket.socket] = []
    tls_sockets: list[socket.socket] = []
    apps: dict[int, Any] = {}

    def port_for(app: Any, tls: bool = False) -> int:
        sock = bind_socket()
        (tls_sockets if tls else sockets).append(sock)
        port = sock.getsockname()[1]
        apps[port] = app
        return port

    store = LedgerStore()
    pages_app = build_pages_app(fixture_dir)
    pages = {name: f"http://{host}:{port_for(pages_app)}" for name, host in PAGE_HOSTS.items()}
    wants_tls = any(
        server.get("tls") or server.get("tls_pages") for server in spec["servers"].values()
    )
    pages_tls = {
        name: f"https://{host}:{port_for(pages_app, tls=True)}"
        for name, host in (PAGE_HOSTS.items() if wants_tls else [])
    }
    apis: dict[str, str] = {}
    ports: dict[str, int] = {}

    def install(name: str, changes: dict[str, Any] | None = None) -> None:
        """(Re)build a scenario's app: its own config, updated by `changes` if given."""
        server, port = spec["servers"][name], ports[name]
        changes = dict(changes or {})
        shape = {k: server[k] for k in RECONFIGURABLE_SHAPE if k in server}
        shape.update({k: changes.pop(k) for k in RECONFIGURABLE_SHAPE if k in changes})
        raw = {**server["kwargs"], **changes}
        origins = scenario_origins(page_origins(pages, pages_tls, server.get("tls")),
                                   apis[name], server.get("hosts") == "domains")  # fmt: skip
        kwargs = substitute_all(raw, origins)
        routes = substitute_all(server.get("routes", []), origins)
        app = LedgerMiddleware(
            build_app(kwargs, routes=routes, redirect_slashes=server.get("redirect_slashes", True),
                      **shape), store, server_name=name)  # fmt: skip
        apps[port] = app if server.get("keep_alive", True) else CloseEachConnection(app)

    for name, server in spec["servers"].items():
        pair = bind_api_sockets()
        (tls_sockets if server.get("tls") else sockets).extend(pair)
        ports[name] = pair[0].getsockname()[1]
        scheme = "https" if server.get("tls") else "http"
        apis[name] = f"{scheme}://{API_HOST}:{ports[name]}"
        install(name)
    manifest: dict[str, Any] = {"pages": pages, "apis": apis, "pid": os.getpid(),
                                "versions": server_versions()}  # fmt: skip
    if wants_tls:
        manifest["pages_tls"] = pages_tls
        manifest.update(make_certificates(tls_dir or Path.cwd() / "tls"))
    control_port = port_for(None)
    manifest["control"] = f"http://{BIND_ADDRESS}:{control_port}"
    apps[control_port] = control_app(store, manifest, install)
    dispatcher = PortDispatcher(apps, pages_app, set(ports.values()))
    return manifest, dispatcher, sockets, tls_sockets


def _exit_when_orphaned(parent: int) -> None:
    """If the harness that started us dies without stopping us, stop ourselves."""
    while True:
        time.sleep(0.5)
        if os.getppid() != parent:
            os.kill(os.getpid(), signal.SIGTERM)
            return


def main(argv: list[str]) -> int:
    spec_path, manifest_path = Path(argv[0]), Path(argv[1])
    spec = json.loads(spec_path.read_text())
    manifest, dispatcher, sockets, tls_sockets = build(spec, manifest_path.parent / "tls")
    refused = send_routes_as_written()
    if refused:
        manifest["raw_answers_refused"] = refused
    tmp = manifest_path.with_suffix(".tmp")
    tmp.write_text(json.dumps(manifest, indent=2))
    tmp.replace(manifest_path)
    threading.Thread(target=_exit_when_orphaned, args=(os.getppid(),), daemon=True).start()

    # h11 always (uvicorn would take httptools where it is installed): the same server in
    # every project, and the one whose header check raw_headers widens
    common = {"lifespan": "off", "log_level": "warning", "access_log": False, "http": "h11"}
    servers = [(uvicorn.Server(uvicorn.Config(dispatcher, **common)), sockets)]
    if tls_sockets:  # uvicorn's TLS is per server: a second one on the same loop
        tls = uvicorn.Config(dispatcher, ssl_certfile=manifest["cert"], **common)
        servers.append((uvicorn.Server(tls), tls_sockets))

    async def serve_all() -> None:
        await asyncio.gather(*(server.serve(sockets=socks) for server, socks in servers))

    print(f"{READY_LINE} control={manifest['control']}", flush=True)
    asyncio.run(serve_all())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
