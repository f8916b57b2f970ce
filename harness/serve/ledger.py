"""The server's side of the story: an outermost ASGI layer that writes down every request.

It wraps the whole scenario app (outside CORSMiddleware and FastAPI's ServerErrorMiddleware), so
it sees preflights the browser sends, requests whose answers the page may never read, and the
exact status and CORS headers that went back. Entries are keyed by the per-probe token in the
query string and read back over the host's control port, never through a browser.
"""

from __future__ import annotations

import time
from collections import defaultdict
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qs

from ..scenario.endpoints import TOKEN_PARAM
from ..spec.fetch_spec import REQUEST_BODY_HEADERS

UNTOKENED = "_untokened"


def _cookie_names(header: str | None) -> list[str]:
    if not header:
        return []
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(header)
    except Exception:  # a malformed Cookie header still tells us names arrived
        return sorted({part.split("=", 1)[0].strip() for part in header.split(";") if part.strip()})
    return sorted(jar.keys())


class LedgerStore:
    """In-memory entries per token; one store per host process."""

    def __init__(self) -> None:
        self._entries: dict[str, list[dict[str, Any]]] = defaultdict(list)

    def add(self, token: str, entry: dict[str, Any]) -> None:
        self._entries[token].append(entry)

    def get(self, token: str) -> list[dict[str, Any]]:
        return list(self._entries.get(token, ()))


class LedgerMiddleware:
    """ASGI middleware recording request and response facts for each HTTP request."""

    def __init__(self, app, store: LedgerStore, server_name: str) -> None:
        self.app = app
        self.store = store
        self.server_name = server_name

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        token = query.get(TOKEN_PARAM, [UNTOKENED])[0]
        method = scope["method"]
        entry: dict[str, Any] = {
            "server": self.server_name,
            "method": method,
            "path": scope["path"],
            "preflight": method == "OPTIONS" and "access-control-request-method" in headers,
            "origin": headers.get("origin"),
            "access_control_request_method": headers.get("access-control-request-method"),
            "access_control_request_headers": headers.get("access-control-request-headers"),
            "cookies": _cookie_names(headers.get("cookie")),
            "authorization": "authorization" in headers,
            "content_type": headers.get("content-type"),
            # which request-body-header names it carried (gone after a redirect to GET)
            "body_headers": sorted(n for n in REQUEST_BODY_HEADERS if n in headers),
            "sec_fetch_mode": headers.get("sec-fetch-mode"),
            "sec_fetch_site": headers.get("sec-fetch-site"),
            "referer": headers.get("referer"),
            # a conditional request the browser's HTTP cache made to revalidate what it stored
            "if_none_match": headers.get("if-none-match"),
            "if_modified_since": headers.get("if-modified-since"),
            "status": None,
            "response_headers": {},
            "at": time.time(),
        }

        async def recording_send(message) -> None:
            if message["type"] == "http.response.start":
                entry["status"] = message["status"]
                response_headers: dict[str, list[str]] = defaultdict(list)
                for k, v in message.get("headers", []):
                    name = k.decode("latin-1").lower()
                    if name.startswith("access-control-") or name in (
                        "vary",
                        "set-cookie",
                        "location",
                    ):
                        response_headers[name].append(v.decode("latin-1"))
                entry["response_headers"] = dict(response_headers)
                # every name, so "absent" and "not exposed" can be told apart
                entry["response_header_names"] = sorted(
                    {k.decode("latin-1").lower() for k, _ in message.get("headers", [])}
                )
            await send(message)

        self.store.add(token, entry)
        try:
            await self.app(scope, receive, recording_send)
        except Exception:
            if entry["status"] is None:
                entry["status"] = 500
            raise
