"""A reverse relay from the API origin to the app's own process, with the ledger outside it.

The engines talk to the API origin (through the forward proxy); this relay terminates TLS for
it, records every request in the ledger, and passes request and response through unchanged:
every header as the app sent it (repeated ones too), the body as raw bytes, the original Host.
Like a TLS-terminating proxy it adds X-Forwarded-Proto/For (uvicorn trusts them from
127.0.0.1), and it is served with uvicorn's own `server`/`date` headers off, so the app's pass
through once. Hop-by-hop headers are not forwarded (RFC 9110 section 7.6.1).
"""

from __future__ import annotations

import asyncio

import httpx2

HOP_BY_HOP = {b"connection", b"keep-alive", b"proxy-connection", b"transfer-encoding", b"te",
              b"trailer", b"upgrade", b"proxy-authorization", b"proxy-authenticate"}  # fmt: skip
UNREACHABLE_STATUS = 502


class Relay:
    def __init__(self, upstream_port: int, scheme: str, timeout_s: float = 60) -> None:
        self.base = f"http://127.0.0.1:{upstream_port}"
        self.scheme = scheme
        # no pool limit: each browser request is one upstream request, streams included
        self.client = httpx2.AsyncClient(
            timeout=timeout_s,
            limits=httpx2.Limits(max_connections=None, max_keepalive_connections=20),
        )
        self.unreachable = 0  # requests the app did not answer

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await self.client.aclose()
            await send({"type": "lifespan.shutdown.complete"})
            return
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = [(k, v) for k, v in scope["headers"] if k.lower() not in HOP_BY_HOP]
        client = (scope.get("client") or ("127.0.0.1", 0))[0]
        headers += [(b"x-forwarded-proto", self.scheme.encode()),
                    (b"x-forwarded-for", client.encode())]  # fmt: skip
        target = scope.get("raw_path") or scope["path"].encode()
        if scope.get("query_string"):
            target += b"?" + scope["query_string"]
        request = httpx2.Request(scope["method"], self.base + target.decode("latin-1"),
                                 headers=headers, content=body)  # fmt: skip
        try:
            response = await self.client.send(request, stream=True)
        except httpx2.HTTPError as exc:
            self.unreachable += 1
            text = f"cors-matrix relay: the app did not answer ({type(exc).__name__})".encode()
            await send({"type": "http.response.start", "status": UNREACHABLE_STATUS,
                        "headers": [(b"content-type", b"text/plain"),
                                    (b"content-length", str(len(text)).encode())]})  # fmt: skip
            await send({"type": "http.response.body", "body": text})
            return
        try:
            out = [(k.lower(), v) for k, v in response.headers.raw if k.lower() not in HOP_BY_HOP]
            await send({"type": "http.response.start", "status": response.status_code,
                        "headers": out})  # fmt: skip
            await _until_disconnect(self._pump(response, send), receive)
        finally:
            await response.aclose()

    @staticmethod
    async def _pump(response: httpx2.Response, send) -> None:
        async for chunk in response.aiter_raw():
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})


async def _until_disconnect(pump, receive) -> None:
    """Pass the body on until it ends or the browser goes away. A stream (text/event-stream,
    a long poll) that the page cancelled would otherwise be read from the app forever, each
    holding one of the relay's connections, until none is left for the next request."""

    async def gone() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass

    tasks = [asyncio.ensure_future(pump), asyncio.ensure_future(gone())]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        if tasks[0] in done:
            tasks[0].result()  # the pump's own error, if any
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
