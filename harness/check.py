"""`python -m harness check myproject.main:app --frontend https://app.example.com`: the user's
own ASGI app, served under its real origins, probed from its frontends and from attacker
origins in real engines.

The app is imported as it is (its own CORSMiddleware, routes, auth, handlers) and served by
uvicorn on loopback with the ledger outside it; the React probe page is served for every
frontend and attacker origin. A forward proxy (harness/forward_proxy.py) that every engine
uses maps the declared hostnames to those local servers, so the engines send the real Origin
and same-site relations are real; https origins get certificates from a per-run CA (trustme).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import json
import os
import secrets
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from . import causes as causes_mod
from . import oracle
from .engines import EnginePool
from .engines.base import BROWSERS, DEFAULT_COOKIE_POLICY, EngineError, EngineUnavailable
from .forward_proxy import ForwardProxy
from .host import bind_socket, build_pages_app
from .interrupts import cleanup_unless_interrupted
from .ledger import LedgerMiddleware, LedgerStore
from .probe import RUN_SERIES_JS, CellRun, engine_messages, observe, readable, with_token
from .results import ResultsWriter
from .scenario import RECONFIGURABLE_SHAPE, Probe

FIXTURE = Path(__file__).resolve().parent.parent / "react_fixture" / "dist"
NULL_ORIGIN_JS = """
async (arg) => {
  // a sandboxed iframe without allow-same-origin: its fetches send Origin: null
  const frame = document.createElement("iframe");
  frame.sandbox = "allow-scripts";
  const id = Math.random().toString(36).slice(2);
  frame.srcdoc = `<script>
    const spec = ${JSON.stringify(arg.spec)};
    fetch(spec.url, {method: spec.method || "GET", headers: spec.headers || {},
                     body: spec.body, credentials: spec.credentials || "same-origin"})
      .then(async (r) => parent.postMessage({id: "${id}", outcome: r.ok ? "ok" : "http-error",
        status: r.status, headers: {}, body: await r.text(), errorName: null}, "*"))
      .catch((e) => parent.postMessage({id: "${id}", outcome: "cors-error", status: null,
        headers: {}, body: null, errorName: e.name, errorMessage: String(e.message)}, "*"));
  <\\/script>`;
  const answer = new Promise((resolve) => window.addEventListener("message", (e) => {
    if (e.data && e.data.id === id) resolve(e.data);
  }));
  document.body.appendChild(frame);
  const result = await Promise.race([answer, new Promise((r) => setTimeout(
    () => r({outcome: "timeout", status: null, headers: {}, body: null,
             errorName: "Timeout", errorMessage: "no answer from the sandboxed iframe"}), 10000))]);
  frame.remove();
  return [result];
}
"""


class UsageError(Exception):
    """A bad command line, app or origin: one line, exit code 2."""


def parse_origin(value: str, what: str = "--frontend") -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"{what} {value!r} is not an origin: expected http(s)://host[:port]")
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        raise UsageError(f"{what} {value!r} is not an origin: no path, query or user allowed")
    default = 443 if parts.scheme == "https" else 80
    port = "" if parts.port in (None, default) else f":{parts.port}"
    return f"{parts.scheme}://{parts.hostname.lower()}{port}"


def host_port(origin: str) -> tuple[str, int]:
    parts = urlsplit(origin)
    return parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80)


def load_app(target: str):
    module_name, _, attr = target.partition(":")
    if not module_name or not attr:
        raise UsageError(f"app {target!r}: expected module:attribute, e.g. myproject.main:app")
    sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:
        raise UsageError(f"cannot import {module_name!r}: {type(exc).__name__}: {exc}") from None
    app = getattr(module, attr, None)
    if app is None:
        raise UsageError(f"{module_name!r} has no attribute {attr!r}")
    if not callable(app):
        raise UsageError(f"{target} is not an ASGI app")
    return app


def cors_config(app) -> dict[str, Any] | None:
    """The CORSMiddleware keywords the app was given (add_middleware), for causes and fixes."""
    for middleware in getattr(app, "user_middleware", []) or []:
        if getattr(middleware.cls, "__name__", "") == "CORSMiddleware":
            return dict(middleware.kwargs)
    return None


def attacker_origins(frontend: str) -> list[tuple[str, str]]:
    """Origins chosen to break common mistakes in origin checks, for one frontend."""
    parts = urlsplit(frontend)
    host, scheme = parts.hostname or "", parts.scheme
    port = f":{parts.port}" if parts.port else ""
    labels = host.split(".")
    sibling = ".".join(["evil", *labels[1:]]) if len(labels) > 2 else f"evil.{host}"
    out = [
        ("unrelated site", f"{scheme}://evil.test{port}"),
        ("null origin (sandboxed iframe)", "null"),
        ("suffix lookalike", f"{scheme}://{host}.evil.test{port}"),
        ("prefix lookalike", f"{scheme}://evil{host}{port}"),
        ("substring lookalike", f"{scheme}://{host}evil.test{port}"),
        ("another subdomain", f"{scheme}://{sibling}{port}"),
    ]
    if "." in host:
        out.append(("unescaped-dot lookalike", f"{scheme}://{host.replace('.', 'x', 1)}{port}"))
    if scheme == "https":
        out.append(("http instead of https", f"http://{host}{port}"))
    return out


@dataclass
class Request:
    kind: str
    spec: dict[str, Any]
    declared: bool = True  # the frontend must be able to do this (else: reported, exit code 0)
    modelled_by: str = "/data"  # the harness endpoint that stands in for it in the oracle


ERROR_PATH = "/__cors_matrix_error__"


def add_error_route(app) -> str | None:
    """A route that raises an unhandled exception inside the user's app, first in its router
    (before any catch-all), so that the 500 goes through the app's own middleware and exception
    handlers as any real server error would; also through wrappers (app = CORSMiddleware(app)).
    None when no Starlette router is found."""
    seen = 0
    while getattr(app, "router", None) is None and hasattr(app, "app") and seen < 20:
        app, seen = app.app, seen + 1
    routes = getattr(getattr(app, "router", None), "routes", None)
    if not isinstance(routes, list):
        return None
    from starlette.routing import Route

    async def fail(request):
        raise RuntimeError("cors-matrix check: a deliberate unhandled error")

    routes.insert(0, Route(ERROR_PATH, fail, methods=["GET"]))
    return ERROR_PATH


def battery(
    endpoints: list[tuple[str, str, str | None]],
    read_header: list[str],
    error_path: str | None = None,
) -> list[Request]:
    out: list[Request] = []
    for method, path, body in endpoints:
        name = f"{method} {path}"
        if method == "GET":
            out.append(Request(f"simple {name}", {"method": "GET", "path": path}))
            out.append(
                Request(
                    f"{name} with Authorization: Bearer",
                    {
                        "method": "GET",
                        "path": path,
                        "headers": {"Authorization": "Bearer cors-matrix-check"},
                    },
                )
            )
            out.append(
                Request(
                    f"{name} with cookies (credentials: include)",
                    {"method": "GET", "path": path, "credentials": "include"},
                )
            )
            if read_header:
                out.append(
                    Request(
                        f"{name} reading {', '.join(read_header)}",
                        {"method": "GET", "path": path, "readHeaders": read_header},
                    )
                )
        else:
            spec = {
                "method": method,
                "path": path,
                "headers": {"Content-Type": "application/json"},
                "body": body if body is not None else "{}",
                "credentials": "include",
            }
            out.append(Request(f"JSON {name}", spec))
            out.append(Request(f"JSON {name} twice (preflight cache)", {**spec, "repeat": 2}))
    out.append(
        Request(
            "error response (404)",
            {"method": "GET", "path": "/__cors_matrix_missing__", "credentials": "include"},
        )
    )
    if error_path is not None:
        out.append(
            Request(
                "error response (500, unhandled exception)",
                {"method": "GET", "path": error_path, "credentials": "include"},
                declared=False,  # a stock FastAPI app fails it; reported, not the exit code
                modelled_by="/error",
            )
        )
    return out


def discover_endpoints(app, limit: int = 8) -> list[tuple[str, str, str | None]]:
    """Endpoints from the app's OpenAPI schema (FastAPI): path parameters and JSON bodies
    filled with minimal valid values; without a schema, its GET routes without parameters."""
    schema = None
    if callable(getattr(app, "openapi", None)):
        try:
            schema = app.openapi()
        except Exception:
            schema = None
    found: list[tuple[str, str, str | None]] = []
    if schema:
        for path, operations in schema.get("paths", {}).items():
            for method, operation in operations.items():
                if method.upper() not in ("GET", "POST", "PUT", "PATCH", "DELETE"):
                    continue
                concrete = path
                for param in operation.get("parameters", []):
                    if param.get("in") == "path":
                        value = sample(param.get("schema", {}), schema)
                        concrete = concrete.replace("{" + param["name"] + "}", str(value))
                body = None
                content = operation.get("requestBody", {}).get("content", {})
                if "application/json" in content:
                    body = json.dumps(sample(content["application/json"].get("schema", {}), schema))
                found.append((method.upper(), concrete, body))
        return found[:limit]
    for route in getattr(app, "routes", []):
        path, methods = getattr(route, "path", None), getattr(route, "methods", None)
        if path and methods and "{" not in path and "GET" in methods:
            found.append(("GET", path, None))
    return found[:limit]


def sample(node: dict[str, Any], schema: dict[str, Any], depth: int = 0) -> Any:
    """A minimal value that satisfies a JSON Schema node (OpenAPI 3.1 subset)."""
    if depth > 6:
        return None
    if "$ref" in node:
        target: Any = schema
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target.get(part, {})
        return sample(target, schema, depth + 1)
    for key in ("example", "default"):
        if key in node:
            return node[key]
    if "enum" in node:
        return node["enum"][0]
    for key in ("anyOf", "oneOf", "allOf"):
        options = [o for o in node.get(key, []) if o.get("type") != "null"]
        if options:
            return sample(options[0], schema, depth + 1)
    kind = node.get("type")
    if kind == "object" or "properties" in node:
        props = node.get("properties", {})
        return {name: sample(props[name], schema, depth + 1)
                for name in node.get("required", []) if name in props}  # fmt: skip
    if kind == "array":
        return []
    if kind == "integer" or kind == "number":
        return max(1, node.get("minimum", 1))
    if kind == "boolean":
        return True
    if kind == "string":
        return "a@example.com" if node.get("format") == "email" else "x" * node.get("minLength", 1)
    return None


@contextlib.contextmanager
def _running(server: _Server, what: str) -> Iterator[_Server]:
    server.start(what)
    try:
        yield server
    finally:
        server.stop()


class _Server:
    """One uvicorn server on a loopback socket, in a thread (the user's app or the pages)."""

    def __init__(self, app, certfile: str | None, lifespan: str = "off") -> None:
        import uvicorn

        self.socket = bind_socket()
        self.port = self.socket.getsockname()[1]
        self.startup_failure: str | None = None
        extra = {"ssl_certfile": certfile} if certfile else {}
        config = uvicorn.Config(
            self._watch_lifespan(app), lifespan=lifespan, log_level="critical", **extra
        )
        self.server = uvicorn.Server(config)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _watch_lifespan(self, app):
        """Keep the app's own startup error (the lifespan.startup.failed message) for the
        one-line error; uvicorn itself only says it exited."""

        async def wrapped(scope, receive, send):
            if scope["type"] != "lifespan":
                return await app(scope, receive, send)

            async def watching_send(message):
                if message["type"] == "lifespan.startup.failed":
                    lines = str(message.get("message", "")).strip().splitlines()
                    self.startup_failure = lines[-1] if lines else "startup failed"
                await send(message)

            return await app(scope, receive, watching_send)

        return wrapped

    def _run(self) -> None:
        try:
            asyncio.run(self.server.serve(sockets=[self.socket]))
        except BaseException as exc:  # startup failures surface in start()
            self.error = exc

    def start(self, what: str) -> _Server:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if self.error is not None or not self.thread.is_alive():
                why = self.startup_failure or self.error or "server exited"
                raise UsageError(f"{what} failed on startup: {why}")
            if time.monotonic() > deadline:
                raise UsageError(f"{what} did not start within 30 s")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@dataclass
class Cell:
    frontend: str
    page_label: str
    page_origin: str
    request: Request
    browser: str
    record: dict[str, Any] = field(default_factory=dict)


def run_check(args) -> int:
    try:
        frontends = [parse_origin(f) for f in args.frontend]
        api_origin = parse_origin(args.api_origin, "--api-origin")
        endpoints = [_parse_endpoint(e) for e in args.endpoint]
        login = _parse_endpoint(args.login) if args.login else None
        app = load_app(args.app) if isinstance(args.app, str) else args.app
    except UsageError as exc:
        print(f"harness check: {exc}", file=sys.stderr)
        return 2
    endpoints = endpoints or discover_endpoints(app)
    if not endpoints:
        print("harness check: no endpoint to probe: give --endpoint METHOD:/path", file=sys.stderr)
        return 2
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    pages = {f: [("frontend", f)] + attacker_origins(f) for f in frontends}
    try:
        return _run(app, frontends, api_origin, endpoints, login, pages, args, out)
    except UsageError as exc:
        print(f"harness check: {exc}", file=sys.stderr)
        return 2


def check_app(
    app,
    frontends: list[str],
    api_origin: str = "https://api.example.com",
    endpoints: list[str] = (),
    login: str | None = None,
    read_header: list[str] = (),
    browsers: list[str] | None = None,
    cookie_policy: str = DEFAULT_COOKIE_POLICY,
    output: str | Path = "report/check",
) -> int:
    """The same check from Python (or the `cors_check` pytest fixture): `app` is an ASGI app
    object or "module:attr"; returns the exit code (0: works, no finding)."""
    from argparse import Namespace

    return run_check(Namespace(
        app=app, frontend=list(frontends), api_origin=api_origin, endpoint=list(endpoints),
        login=login, read_header=list(read_header), browser=browsers,
        cookie_policy=cookie_policy, output=str(output),
    ))  # fmt: skip


def _parse_endpoint(value: str) -> tuple[str, str, str | None]:
    method, _, rest = value.partition(":")
    path, _, body = rest.partition(" ")
    if method.upper() not in ("GET", "POST", "PUT", "PATCH", "DELETE") or not path.startswith("/"):
        raise UsageError(f"--endpoint {value!r}: expected METHOD:/path, e.g. GET:/items/1")
    return method.upper(), path, body or None


def _run(app, frontends, api_origin, endpoints, login, pages, args, out: Path) -> int:
    import trustme

    hostnames = sorted(
        {host_port(o)[0] for group in pages.values() for _, o in group if o != "null"}
        | {host_port(api_origin)[0]}
    )
    ca = trustme.CA(organization_name="cors-matrix check per-run CA")
    cert_path = out / "check-server.pem"
    ca.issue_cert(*hostnames).private_key_and_cert_chain_pem.write_to_path(str(cert_path))
    store = LedgerStore()
    requests = battery(endpoints, args.read_header, add_error_route(app))
    api_tls = api_origin.startswith("https:")
    api_server = _Server(
        LedgerMiddleware(app, store, server_name="app"),
        str(cert_path) if api_tls else None,
        lifespan="auto",
    )
    cells: list[Cell] = []
    with contextlib.ExitStack() as stack:  # every server started is stopped, also on failure
        stack.enter_context(
            _running(api_server, args.app if isinstance(args.app, str) else "the app")
        )
        static = build_pages_app(FIXTURE)
        plain = stack.enter_context(_running(_Server(static, None), "page server"))
        tls = stack.enter_context(_running(_Server(static, str(cert_path)), "page server (https)"))
        routes = {host_port(api_origin): api_server.port}
        for group in pages.values():
            for _, origin in group:
                if origin != "null":
                    routes[host_port(origin)] = (
                        tls.port if origin.startswith("https:") else plain.port
                    )
        proxy = ForwardProxy(routes).start()
        stack.callback(proxy.stop)
        (out / "check.jsonl").write_text("")  # rewritten per run, like the matrix's results
        results = ResultsWriter(out / "check.jsonl")
        stack.callback(results.close)
        pool = EnginePool(proxy=proxy.url)
        stack.callback(pool.close)
        config = cors_config(app)
        for browser in args.browser or list(BROWSERS):
            try:
                engine = pool.get(browser, args.cookie_policy)
            except (EngineUnavailable, EngineError) as exc:
                print(f"{browser}: not run: {exc}", file=sys.stderr)
                continue
            for frontend, group in pages.items():
                made = _probe_group(engine, browser, frontend, group, api_origin, requests,
                                    login, store, config, args)  # fmt: skip
                for cell in made:  # on disk as soon as a group is done
                    results.write(cell.record)
                cells += made
    return _verdict(cells, frontends, out, args)


def _probe_group(
    engine, browser, frontend, group, api_origin, requests, login, store, config, args
) -> list[Cell]:
    """The battery from the frontend, then from each attacker origin in the same browser: the
    user logged in on the frontend first (its cookies are in the jar), as in a real attack."""
    made: list[Cell] = []
    page = engine.new_page()

    def end_group() -> None:
        try:
            page.clear_cookies([api_origin])
        finally:
            page.close()

    with cleanup_unless_interrupted(end_group):
        page.goto(frontend + "/")
        if login is not None:
            method, path, body = login
            spec = {
                "url": api_origin + path,
                "method": method,
                "credentials": "include",
                "headers": {"Content-Type": "application/json"} if body else {},
                "body": body,
            }
            page.run(RUN_SERIES_JS, {"specs": [spec], "delayMs": 0})
        for label, origin in group:
            page.goto((frontend if origin == "null" else origin) + "/")
            for request in requests:
                if label != "frontend" and "twice" in request.kind:
                    continue
                cell = Cell(frontend, label, origin, request, browser)
                _run_one(cell, page, engine, api_origin, store, config, args)
                made.append(cell)
    return made


def _run_one(cell: Cell, page, engine, api_origin, store, config, args) -> None:
    token = f"check.{secrets.token_hex(6)}"
    spec = dict(cell.request.spec)
    repeat = spec.pop("repeat", 1)
    url = with_token(api_origin + spec.pop("path"), token)
    spec["url"] = url
    seen_before = len(page.messages() or [])
    if cell.page_origin == "null":
        attempts = page.run(NULL_ORIGIN_JS, {"spec": spec})
    else:
        attempts = page.run(RUN_SERIES_JS, {"specs": [spec] * repeat, "delayMs": 0})
    messages = engine_messages(page, seen_before, token, attempts)
    ledger = store.get(token)
    observed = observe(CellRun(url, token, attempts, ledger, [], 0.0))
    frontend = cell.page_label == "frontend"
    ok = readable(observed["outcome"]) == frontend
    must = (
        "a declared frontend must be able to read this"
        if cell.request.declared
        else "a frontend should be able to read error responses to show them "
        "(reported only: does not change the exit code)"
    )
    found_causes = []
    if not readable(observed["outcome"]) and config is not None and cell.page_origin != "null":
        found_causes = _causes(cell, config, api_origin)
    cell.record = {
        "scenario": f"check {cell.frontend}",
        "probe": f"{cell.page_label}: {cell.request.kind}",
        "theme": cell.frontend,
        "description": f"{cell.request.kind} from {cell.page_label} {cell.page_origin}",
        "source": "harness check",
        "browser": cell.browser,
        "browser_version": engine.info.version,
        "engine_build": engine.info.engine_build,
        "driver": engine.info.driver,
        "cookie_policy": engine.info.cookie_policy,
        "page": "app" if frontend else "attacker",
        "page_origin": cell.page_origin,
        "url": url,
        "token": token,
        "request": cell.request.spec,
        "observed": observed,
        "expected": {
            "outcome": "readable" if frontend else "unreadable",
            "reasons": [must if frontend else "an attacker origin must not be able to read this"],
        },
        "spec": None,
        "verdict": "match" if ok else "diverge",
        "reason": (
            "works as declared"
            if ok and frontend
            else "blocked, as it should be"
            if ok
            else "blocked for a declared frontend"
            if frontend and cell.request.declared
            else "unreadable for the frontend, which sees a CORS error instead (reported only)"
            if frontend
            else "readable from an attacker origin"
        ),
        "ledger": ledger,
        "causes": [c.as_record() for c in found_causes],
        "engine_message": messages,
    }


def _causes(cell: Cell, config: dict[str, Any], api_origin: str):
    """Why a request was blocked, from the app's own CORSMiddleware keywords (route-agnostic:
    the CORS answer does not depend on the route, so the oracle's generic endpoint stands in)."""
    spec = cell.request.spec
    probe = Probe(
        name="check",
        method=spec["method"],
        path=cell.request.modelled_by,
        headers=spec.get("headers", {}),
        body=spec.get("body"),
        credentials=spec.get("credentials", "same-origin"),
    )
    origins = {"app": cell.frontend}
    ctx = oracle.Context(cell.page_origin, api_origin, config, origins=origins)
    try:
        _, expected = oracle.expectations(probe, ctx, cell.browser)
    except oracle.NotModelled:
        return []
    page = "app" if cell.page_label == "frontend" else "attacker"
    return causes_mod.explain(probe, ctx, page, expected.reasons, expected.outcome)


def _verdict(cells: list[Cell], frontends: list[str], out: Path, args) -> int:
    from .report import write_report

    failing = False
    for frontend in frontends:
        print(f"\n{frontend}")
        own = [c for c in cells if c.frontend == frontend and c.page_label == "frontend"]
        for kind in dict.fromkeys(c.request.kind for c in own):
            group = [c for c in own if c.request.kind == kind]
            works = sorted(c.browser for c in group if readable(c.record["observed"]["outcome"]))
            blocked = [c for c in group if c.browser not in works]
            if not blocked:
                print(f"  works in all engines ({', '.join(works)}): {kind}")
                continue
            declared = group[0].request.declared
            failing = failing or declared
            why = next((c.record["causes"][0] for c in blocked if c.record["causes"]), None)
            where = ", ".join(sorted(c.browser for c in blocked))
            line = f"  BLOCKED in {where}: {kind}"
            if works:
                line = f"  works in {', '.join(works)} only; blocked in {where}: {kind}"
            if not declared:
                line = (f"  note: unreadable in {where}: {kind}; the frontend sees a CORS error "
                        "instead of the error itself (not counted in the exit code)")  # fmt: skip
            print(line)
            if why:
                print(f"      why: {why['sentence']}")
                fix = why.get("fix") or {}
                if fix and not set(fix) & set(RECONFIGURABLE_SHAPE):  # keywords, not app shape
                    print(f"      fix: CORSMiddleware({_kwargs(fix, frontend)})")
                elif why.get("fix_note"):
                    print(f"      fix: {why['fix_note']}")
    findings: dict[tuple[str, str, str], list[Cell]] = {}
    for cell in cells:
        if cell.page_label != "frontend" and readable(cell.record["observed"]["outcome"]):
            key = (cell.frontend, f"{cell.page_label} {cell.page_origin}", cell.request.kind)
            findings.setdefault(key, []).append(cell)
    if findings:
        failing = True
        print("\nSECURITY FINDINGS (an attacker origin could read the answer):")
        for (_frontend, attacker, kind), group in findings.items():
            observed = group[0].record["observed"]
            credentialed = group[0].request.spec.get("credentials") == "include" and (
                observed["cookies_received"] or observed["authorization_received"]
            )
            severity = "HIGH" if credentialed else "medium"
            engines = ", ".join(sorted(c.browser for c in group))
            sent = " with the user's cookies" if observed["cookies_received"] else ""
            print(f"  [{severity}] {attacker} reads {kind!r}{sent} (confirmed in {engines})")
        print(
            "  fix: allow exactly the frontends: allow_origins="
            f"{json.dumps(frontends)} and no broad allow_origin_regex"
        )
    write_report([out / "check.jsonl"], out)
    print(f"\nreport: {out / 'index.html'}")
    return 1 if failing else 0


def _kwargs(fix: dict[str, Any], frontend: str) -> str:
    return ", ".join(f"{k}={json.dumps(v).replace('{app}', frontend)}" for k, v in fix.items())


__all__ = [
    "run_check",
    "check_app",
    "parse_origin",
    "attacker_origins",
    "UsageError",
]
