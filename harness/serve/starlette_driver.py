"""Answers CORS cases with the real CORSMiddleware of whatever Starlette this Python has.

Standard library and Starlette only: tests/test_starlette_releases.py runs this file with the
python of each supported release's venv (cases on stdin, answers on stdout, both JSON), and
tests/test_starlette_model.py imports `answer` in the harness's own environment. The ASGI app is
driven directly (no HTTP client), so nothing but Starlette has to be installed.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import sys


def _request_headers(request: dict) -> list[tuple[bytes, bytes]]:
    headers = []
    if request["origin"] is not None:
        headers.append((b"origin", request["origin"].encode()))
    if request["preflight"]:
        headers.append((b"access-control-request-method", request["method"].encode()))
    if request["acrh"] is not None:
        headers.append((b"access-control-request-headers", request["acrh"].encode()))
    if request["acrpn"]:
        headers.append((b"access-control-request-private-network", b"true"))
    if request["cookie"]:
        headers.append((b"cookie", b"sid=1"))
    return headers


async def _answer(case: dict) -> dict:
    from starlette.middleware.cors import CORSMiddleware

    async def app(scope, receive, send):
        fields = [(b"content-type", b"text/plain")]
        fields += [(b"vary", value.encode()) for value in case["app_vary"]]
        await send({"type": "http.response.start", "status": 200, "headers": fields})
        await send({"type": "http.response.body", "body": b"ok"})

    try:
        middleware = CORSMiddleware(app, **case["config"])
    except TypeError as exc:  # an option this release does not have
        return {"error": f"TypeError: {exc}"}
    request = case["request"]
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
        "method": "OPTIONS" if request["preflight"] else request["method"],
        "scheme": "http", "path": "/r", "raw_path": b"/r", "query_string": b"",
        "root_path": "", "headers": _request_headers(request), "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80), "extensions": {},
    }  # fmt: skip
    messages = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        messages.append(message)

    await middleware(scope, receive, send)
    start = next(m for m in messages if m["type"] == "http.response.start")
    return {
        "status": start["status"],
        "headers": [[k.decode("latin-1").lower(), v.decode("latin-1")]
                    for k, v in start.get("headers", [])],
    }  # fmt: skip


def answer(case: dict) -> dict:
    if asyncio._get_running_loop() is None:
        return asyncio.run(_answer(case))
    # a sync Playwright in this thread (pytest-playwright's `page` in the same session) keeps
    # its loop running here: drive the middleware on a thread of its own
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, _answer(case)).result()


def main() -> None:
    import starlette

    cases = json.load(sys.stdin)
    json.dump({"starlette": starlette.__version__, "answers": [answer(c) for c in cases]},
              sys.stdout)  # fmt: skip


if __name__ == "__main__":
    main()
