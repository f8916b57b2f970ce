"""The server process: every scenario's API and the three page origins in ONE uvicorn process.

Process start-up (importing FastAPI) costs far more than an extra listening socket, so one
process binds a socket per API and per page origin, builds each scenario's app once the page
origins are known (placeholders need them), and dispatches each connection by the port it came
in on. A separate control port serves health and ledger reads to the harness only: it sends no
CORS headers, so no page can read it.

Run as: python -m harness.host SPEC.json MANIFEST.json
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

import uvicorn
from starlette.applications import Starlette
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route
from starlette.staticfiles import StaticFiles

from .api_app import build_app
from .ledger import LedgerMiddleware, LedgerStore
from .origins import API_HOST, PAGE_HOSTS, substitute_all

READY_LINE = "cors-matrix host ready"
BIND_ADDRESS = "127.0.0.1"


def bind_socket() -> socket.socket:
    """A loopback socket on a free port, bound now so the port cannot be taken meanwhile."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted connections inherit this on Linux. Without it, uvicorn's separate header and
    # body writes meet the client's delayed ACK: ~40 ms per response (bench/engines.py).
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((BIND_ADDRESS, 0))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


class PortDispatcher:
    """ASGI app that hands each request to the app owning the local port it arrived on."""

    def __init__(self, apps: dict[int, Any]) -> None:
        self.apps = apps

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "lifespan":
            return
        port = scope["server"][1]
        await self.apps[port](scope, receive, send)


def control_app(store: LedgerStore, manifest: dict[str, Any], reconfigure) -> Starlette:
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

    return Starlette(
        routes=[
            Route("/health", health),
            Route("/ledger/{token:path}", ledger),
            Route("/manifest", show_manifest),
            Route("/reconfigure/{name}", configure, methods=["POST"]),
        ]
    )


def build(spec: dict[str, Any]) -> tuple[dict[str, Any], dict[int, Any], list[socket.socket]]:
    """Bind every socket, build every app; return (manifest, port->app, sockets)."""
    fixture_dir = Path(spec["fixture_dir"])
    if not (fixture_dir / "index.html").is_file():
        raise SystemExit(f"missing React build: {fixture_dir}/index.html; run `make fixture`")
    sockets: list[socket.socket] = []
    apps: dict[int, Any] = {}

    def port_for(app: Any) -> int:
        sock = bind_socket()
        sockets.append(sock)
        port = sock.getsockname()[1]
        apps[port] = app
        return port

    store = LedgerStore()
    pages_app = StaticFiles(directory=str(fixture_dir), html=True)
    pages = {name: f"http://{host}:{port_for(pages_app)}" for name, host in PAGE_HOSTS.items()}
    apis: dict[str, str] = {}
    ports: dict[str, int] = {}

    def install(name: str, changes: dict[str, Any] | None = None) -> None:
        """(Re)build a scenario's app: its own config, updated by `changes` if given."""
        server, port = spec["servers"][name], ports[name]
        changes = dict(changes or {})
        shape_keys = ("cors", "cors_outermost", "auth_outside_cors")
        shape = {k: server[k] for k in shape_keys if k in server}
        shape.update({k: changes.pop(k) for k in shape_keys if k in changes})
        raw = {**server["kwargs"], **changes}
        kwargs = substitute_all(raw, {**pages, "api": apis[name]})
        apps[port] = LedgerMiddleware(build_app(kwargs, **shape), store, server_name=name)

    for name in spec["servers"]:
        sock = bind_socket()
        sockets.append(sock)
        ports[name] = sock.getsockname()[1]
        apis[name] = f"http://{API_HOST}:{ports[name]}"
        install(name)
    manifest: dict[str, Any] = {"pages": pages, "apis": apis, "pid": os.getpid()}
    control_port = port_for(None)
    manifest["control"] = f"http://{BIND_ADDRESS}:{control_port}"
    apps[control_port] = control_app(store, manifest, install)
    return manifest, apps, sockets


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
    manifest, apps, sockets = build(spec)
    tmp = manifest_path.with_suffix(".tmp")
    tmp.write_text(json.dumps(manifest, indent=2))
    tmp.replace(manifest_path)
    threading.Thread(target=_exit_when_orphaned, args=(os.getppid(),), daemon=True).start()
    config = uvicorn.Config(
        PortDispatcher(apps), lifespan="off", log_level="warning", access_log=False
    )
    server = uvicorn.Server(config)
    print(f"{READY_LINE} control={manifest['control']}", flush=True)
    asyncio.run(server.serve(sockets=sockets))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
