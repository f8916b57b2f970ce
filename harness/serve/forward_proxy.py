"""A forward proxy on loopback that makes declared hostnames reach local servers.

`check` must run the user's frontend and API under their real origins (app.example.com,
https, port 443): a stand-in like localhost would send the wrong Origin and test nothing. Every
engine is told to use this proxy (Playwright's proxy option, WebDriver's proxy capability), so
the names resolve to loopback inside the engines only: the machine's hosts file and DNS are
never touched. Only the routes given are served; anything else gets 403, so a page can never
reach the internet through it. CONNECT tunnels carry https (TLS stays end to end between the
engine and the local server); plain http requests are forwarded one per connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from urllib.parse import urlsplit

from ..scenario.origins import DEFAULT_PORTS

BIND_ADDRESS = "127.0.0.1"


class ForwardProxy:
    """routes: {(scheme, host, port): local port}; http ones are forwarded, https ones reached
    through CONNECT (http://localhost:5173 and https://localhost:5173 are two origins, two
    servers). Runs on its own thread and event loop."""

    def __init__(self, routes: dict[tuple[str, str, int], int], bind: str = BIND_ADDRESS) -> None:
        self.set_routes(routes)
        self.bind = bind  # where it listens: loopback, or an address remote browsers reach
        self.port = 0
        self.refused: list[str] = []  # what was asked for and not routed (for error messages)
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._error: OSError | None = None
        self._thread = threading.Thread(target=self._run, daemon=True, name="forward-proxy")

    def set_routes(self, routes: dict[tuple[str, str, int], int]) -> None:
        """Serve these routes from now on (each connection reads them when it arrives)."""
        self.routes = {(s, h.lower(), p): local for (s, h, p), local in routes.items()}

    @property
    def url(self) -> str:
        return f"http://{self.bind}:{self.port}"

    def start(self) -> ForwardProxy:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("forward proxy did not start within 10 s")
        if self._error is not None:  # at once, in its own words: not a thread's traceback
            raise self._error
        return self

    def stop(self) -> None:
        if self._loop.is_running():
            self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            server = self._loop.run_until_complete(asyncio.start_server(self._handle, self.bind, 0))
        except OSError as exc:  # an address this machine does not own, or no address at all
            self._error = OSError(exc.errno, exc.strerror or str(exc))
            self._loop.close()
            self._ready.set()
            return
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        try:
            self._loop.run_forever()
        finally:
            server.close()
            self._loop.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 15)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError):
            writer.close()
            return
        lines = head.decode("latin-1").split("\r\n")
        method, target, version = (lines[0].split(" ") + ["", ""])[:3]
        if method == "CONNECT":
            host, _, port = target.rpartition(":")
            if not port.isdigit():  # a malformed CONNECT: refused like any unknown target
                return await self._refuse(writer, target)
            local = self.routes.get(("https", host.lower().strip("[]"), int(port)))
            if local is None:
                return await self._refuse(writer, target)
            upstream = await asyncio.open_connection(BIND_ADDRESS, local)
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            await writer.drain()
            await _pipe_both(reader, writer, *upstream)
            return
        try:
            url = urlsplit(target)
            port = url.port or DEFAULT_PORTS.get(url.scheme, 80)
        except ValueError:  # a malformed target
            return await self._refuse(writer, target)
        local = self.routes.get((url.scheme, (url.hostname or "").lower(), port))
        if local is None:
            return await self._refuse(writer, target)
        path = url.path or "/"
        if url.query:
            path += "?" + url.query
        headers = [h for h in lines[1:] if h and not h.lower().startswith(("connection:",
                                                                           "proxy-"))]  # fmt: skip
        request = "\r\n".join([f"{method} {path} {version}", *headers, "Connection: close"])
        up_reader, up_writer = await asyncio.open_connection(BIND_ADDRESS, local)
        up_writer.write(request.encode("latin-1") + b"\r\n\r\n")
        await up_writer.drain()
        await _pipe_both(reader, writer, up_reader, up_writer)

    async def _refuse(self, writer: asyncio.StreamWriter, target: str) -> None:
        self.refused.append(target)
        writer.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        with contextlib.suppress(ConnectionError):
            await writer.drain()
        writer.close()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.IncompleteReadError):
        pass
    finally:
        with contextlib.suppress(Exception):
            writer.close()


async def _pipe_both(client_r, client_w, up_r, up_w) -> None:
    await asyncio.gather(_pipe(client_r, up_w), _pipe(up_r, client_w))
