"""The fast pre-scan: every candidate Origin against every endpoint, over plain HTTP, no browser.

What a server answers to an Origin decides nothing by itself (the browser enforces), but it
tells which origins are worth a browser: an origin the server echoes in
Access-Control-Allow-Origin is one it trusts. Safe endpoints get the real GET; the others get
only the preflight a browser would send (OPTIONS), so nothing is changed on the server.
Safe requests go twice, with a Cookie header and without: some servers decide by it (Starlette
before 0.28 answered `*` to cookie-less requests under allow_origins=["*"] with credentials,
and mirrored the Origin only when a cookie came along, which an attacker's request carries).
Sent straight to the app's process with the API origin's Host, as the relay would.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx2

from .corpus import Candidate
from .options import Endpoint

CONCURRENCY = 16


@dataclass
class Answer:
    origin: str
    kind: str
    endpoint: str  # "GET /items/1"
    method: str  # what was sent: GET or OPTIONS
    status: int | None
    allow_origin: list[str] = field(default_factory=list)
    allow_credentials: bool = False
    vary: str = ""
    error: str | None = None
    with_cookie: bool = False  # sent with a Cookie header, as a browser sends a user's

    @property
    def echoed(self) -> bool:
        """The server named exactly this origin (one value): it trusts it."""
        return self.allow_origin == [self.origin]

    @property
    def wildcard(self) -> bool:
        return self.allow_origin == ["*"]

    def as_record(self) -> dict:
        return self.__dict__ | {"echoed": self.echoed}


@dataclass
class Prescan:
    answers: list[Answer]
    sent: int
    seconds: float

    def trusted(self, declared: list[str]) -> dict[str, list[Answer]]:
        """Origins beyond the declared frontends the server echoed, with those answers."""
        out: dict[str, list[Answer]] = {}
        for answer in self.answers:
            if answer.echoed and answer.origin not in declared:
                out.setdefault(answer.origin, []).append(answer)
        return out

    def answered_origins(self) -> set[str]:
        """Origins that got any Access-Control-Allow-Origin back: the app has a CORS layer."""
        return {a.origin for a in self.answers if a.allow_origin}

    def mirrors_only_with_cookie(self) -> bool:
        """Every Origin echoed to a simple request was echoed only with a Cookie header, and
        the same request without one got `*`: Starlette before 1.0 under allow_origins=['*']."""
        plain = {(a.endpoint, a.origin): a for a in self.answers
                 if a.method != "OPTIONS" and not a.with_cookie}  # fmt: skip
        echoed = [a for a in self.answers if a.method != "OPTIONS" and a.echoed]
        return bool(echoed) and all(
            a.with_cookie and plain.get((a.endpoint, a.origin), a).wildcard for a in echoed
        )

    def missing_vary(self) -> list[str]:
        """Endpoints whose Access-Control-Allow-Origin depends on the Origin but whose answer
        lacks Vary: Origin: a shared cache can serve one origin's answer to another."""
        by_endpoint: dict[tuple[str, bool], list[Answer]] = {}
        for answer in self.answers:  # compared within one variant (with or without a cookie)
            if answer.method != "OPTIONS" and answer.status is not None:
                by_endpoint.setdefault((answer.endpoint, answer.with_cookie), []).append(answer)
        out: list[str] = []
        for (endpoint, _), answers in by_endpoint.items():
            values = {tuple(a.allow_origin) for a in answers}
            echoing = [a for a in answers if a.echoed]
            if len(values) > 1 and any("origin" not in _tokens(a.vary) for a in echoing):
                out.append(endpoint)
        return list(dict.fromkeys(out))


def _tokens(vary: str) -> set[str]:
    return {t.strip().lower() for t in vary.split(",")}


def run_prescan(port: int, api_origin: str, endpoints: list[Endpoint], origins: list[Candidate],
                timeout_s: float, auth_header: str | None, cookie: str) -> Prescan:  # fmt: skip
    """`cookie`: the Cookie header a logged-in user's browser would send (names from the login,
    or a stand-in). In a thread of its own when this one has a running loop (a sync Playwright
    in the same pytest session keeps one there), where asyncio.run would refuse."""
    scan = _scan(port, api_origin, endpoints, origins, timeout_s, auth_header, cookie)
    if not _loop_running():
        return asyncio.run(scan)
    with ThreadPoolExecutor(1, thread_name_prefix="cors-matrix-prescan") as pool:
        return pool.submit(asyncio.run, scan).result()


def _loop_running() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


async def _scan(port, api_origin, endpoints, origins, timeout_s, auth_header, cookie) -> Prescan:
    loop = asyncio.get_running_loop()
    started = loop.time()
    parts = urlsplit(api_origin)
    host = parts.netloc
    gate = asyncio.Semaphore(CONCURRENCY)
    async with httpx2.AsyncClient(timeout=timeout_s) as client:

        async def one(endpoint: Endpoint, candidate: Candidate, with_cookie: bool) -> Answer:
            headers = {"Host": host, "Origin": candidate.origin,
                       "X-Forwarded-Proto": parts.scheme}  # fmt: skip
            if endpoint.safe:
                method = endpoint.method
                if auth_header:
                    headers["Authorization"] = auth_header
                if with_cookie:
                    headers["Cookie"] = cookie
            else:
                method = "OPTIONS"
                headers["Access-Control-Request-Method"] = endpoint.method
                headers["Access-Control-Request-Headers"] = "content-type"
            request = httpx2.Request(method, f"http://127.0.0.1:{port}{endpoint.path}",
                                     headers=headers)  # fmt: skip
            answer = Answer(candidate.origin, candidate.kind, endpoint.name, method, None,
                            with_cookie=with_cookie)  # fmt: skip
            async with gate:
                try:  # the head only: a stream (text/event-stream) never ends
                    response = await client.send(request, stream=True)
                    await response.aclose()
                except httpx2.HTTPError as exc:
                    answer.error = f"{type(exc).__name__}: {exc}".strip()
                    return answer
            answer.status = response.status_code
            answer.allow_origin = response.headers.get_list("access-control-allow-origin")
            answer.allow_credentials = (
                response.headers.get("access-control-allow-credentials", "").strip() == "true"
            )
            answer.vary = ", ".join(response.headers.get_list("vary"))
            return answer

        jobs = [one(e, c, False) for e in endpoints for c in origins]
        jobs += [one(e, c, True) for e in endpoints if e.safe for c in origins]
        answers = list(await asyncio.gather(*jobs))
    return Prescan(answers, len(answers), round(loop.time() - started, 2))
