"""`cors-matrix check`: the whole check, from the command line to the exit code.

Order: start the app (its own process), learn its endpoints, log in over HTTP, pre-scan every
candidate Origin over HTTP, then the browsers: the frontends' battery and the reads from every
origin the server accepted (plus an unrelated site and `null`, to confirm the negatives), in
each engine, through the forward proxy that maps the declared hostnames to local servers.
Run files (the per-run CA's key, the app's log) live in a temporary directory unless
--keep-run-files; the report and check.jsonl go to --output.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import sys
import tempfile
import traceback
from argparse import Namespace
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..engines import EnginePool, failure_line, is_engine_failure
from ..engines.base import BROWSERS, DEFAULT_COOKIE_POLICY, EngineError, EngineUnavailable
from ..run.results import ResultsWriter
from ..serve.forward_proxy import ForwardProxy
from ..serve.host import build_pages_app
from ..serve.ledger import LedgerMiddleware, LedgerStore
from ..serve.probe_page import ProbePageMissing, probe_page_dir
from ..spec import fetch_spec
from . import corpus as corpus_mod
from .app_server import AppDied, AppProcess, ThreadServer, in_process, stop_all
from .attackers import attacker_origins, attacker_reads
from .battery import MISSING_PATH, attacker_battery, frontend_battery
from .browsers import Cell, Plan, run_engine
from .confirm import confirm
from .discovery import Discovery, discover, fetch_schemas
from .fixes import config_fix, expose_fix, missing_cors_fix, wildcard_fix
from .judging import judge
from .login import http_login
from .options import AUTH_MODES, Endpoint, UsageError, host_port, parse_endpoint, parse_origin
from .prescan import run_prescan
from .redact import redact, shown_command
from .relay import Relay
from .report import write_check_report
from .result import CheckResult
from .summary import Summary
from .verdict import build

EVERY_INTERFACE = re.compile(r"(?:^|[\s=])(0\.0\.0\.0|::|\[::\])(?=$|[\s:])")
MAX_TIMEOUT_S = 15  # below the engines' own script timeout (20 s)


def run_check(args: Namespace, engines: CheckEngines | None = None) -> int:
    """The command line's check: prints the verdict, returns the exit code."""
    return checked(args, engines).exit_code


def _no_verdict(message: str) -> CheckResult:
    print(f"cors-matrix check: {message}", file=sys.stderr)
    return CheckResult(2, f"no verdict: {message}")


def checked(args: Namespace, engines: CheckEngines | None = None) -> CheckResult:
    """The whole check as a CheckResult (what it printed is in it too)."""
    try:
        options = _validate(args)
    except UsageError as exc:
        return _no_verdict(str(exc))
    run_dir = Path(tempfile.mkdtemp(prefix="cors-matrix-check-"))
    try:
        return _check(args, options, run_dir, engines)
    except UsageError as exc:
        return _no_verdict(str(exc))
    except KeyboardInterrupt:
        return _no_verdict("interrupted; no verdict (exit 2)")
    except Exception as exc:  # a bug of ours must not look like a verdict
        (run_dir / "internal-error.txt").write_text(traceback.format_exc())
        keep = Path(args.output) / "internal-error.txt"
        try:
            keep.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(run_dir / "internal-error.txt", keep)
        except OSError:  # the output folder itself is the trouble: keep it beside the run
            keep = Path(tempfile.mkdtemp(prefix="cors-matrix-error-")) / "internal-error.txt"
            shutil.copy(run_dir / "internal-error.txt", keep)
        return _no_verdict(f"internal error, no verdict: {type(exc).__name__}: {exc} "
                           f"(traceback in {keep})")  # fmt: skip
    finally:
        if args.keep_run_files:
            target = Path(args.output) / "run-files"
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(run_dir, target)
        shutil.rmtree(run_dir, ignore_errors=True)


def _validate(args: Namespace) -> dict[str, Any]:
    if not args.frontend:
        raise UsageError("give at least one --frontend ORIGIN")
    if bool(args.serve) == bool(args.app):
        raise UsageError("give either an app (module:app) or --serve 'COMMAND {port}', not "
                         + ("both" if args.serve else "neither"))  # fmt: skip
    if args.auth not in AUTH_MODES:
        raise UsageError(f"--auth {args.auth!r}: choose from {', '.join(AUTH_MODES)}")
    if not 0.5 <= args.timeout <= MAX_TIMEOUT_S:
        raise UsageError(f"--timeout {args.timeout:g}: between 0.5 and {MAX_TIMEOUT_S} seconds")
    if not 0 < args.start_timeout <= 3600:
        raise UsageError(f"--start-timeout {args.start_timeout:g}: between 0 and 3600 seconds")
    if args.max_attackers < 0:
        raise UsageError(f"--max-attackers {args.max_attackers}: 0 or more")
    if args.max_endpoints < 1:
        raise UsageError(f"--max-endpoints {args.max_endpoints}: 1 or more")
    if args.cwd is not None and not Path(args.cwd).is_dir():
        raise UsageError(f"--cwd {args.cwd!r}: no such directory")
    for browser in args.browser or []:
        if browser not in BROWSERS:
            raise UsageError(f"--browser {browser!r}: choose from {', '.join(BROWSERS)}")
    try:
        fixture = probe_page_dir(getattr(args, "fixture_dir", None))
    except ProbePageMissing as exc:  # in check's own words: its option is --fixture-dir
        raise UsageError(str(exc).replace("--cors-fixture-dir", "--fixture-dir")) from None
    out = Path(args.output)
    if out.exists() and not out.is_dir():
        raise UsageError(f"-o {args.output}: a file is there; give a folder for the report")
    for name in args.read_header or []:
        if not fetch_spec.is_token(name):
            raise UsageError(f"--read-header {name!r}: not a header name")
    return {
        "fixture": fixture,
        "frontends": list(dict.fromkeys(parse_origin(f) for f in args.frontend)),
        "api_origin": parse_origin(args.api_origin, "--api-origin"),
        "endpoints": [parse_endpoint(e) for e in args.endpoint],
        "login": parse_endpoint(args.login, "--login") if args.login else None,
    }


def _start_app(args: Namespace, run_dir: Path):
    cwd = str(Path(args.cwd or ".").resolve())
    if args.serve:
        return AppProcess.from_command(args.serve, run_dir, cwd).start(args.start_timeout)
    if isinstance(args.app, str):
        python = args.python or sys.executable
        app = AppProcess.from_target(args.app, python, args.factory, run_dir, cwd)
        return app.start(args.start_timeout)
    return in_process(args.app, getattr(args.app, "title", None) or "the app").start()


def _endpoints(args, options, app, api_origin) -> Discovery:
    if options["endpoints"]:
        found = Discovery(endpoints=options["endpoints"], sources=["--endpoint"])
        return found
    schemas = app.info.get("schemas") or []
    if args.serve or args.openapi:
        schemas = schemas + fetch_schemas(app.port, api_origin, args.openapi or [])
    found = discover(schemas, args.writes, args.max_endpoints)
    if not found.endpoints:
        why = found.summary() if schemas else "the app serves no OpenAPI schema"
        raise UsageError(f"no endpoint to probe ({why}): give --endpoint METHOD:/path")
    return found


class CheckEngines:
    """Engines kept across checks (the `cors_check` fixture: a session's second check must not
    launch them again) and the forward proxy they were launched with; each check points the
    proxy at its own servers. Each cell's URL carries its own token, so no cached preflight or
    answer of one check can serve another; cookies are cleared per page."""

    def __init__(self, pool: EnginePool, proxy: ForwardProxy) -> None:
        self.pool, self.proxy = pool, proxy


def _check(args: Namespace, options: dict[str, Any], run_dir: Path,
           engines: CheckEngines | None) -> CheckResult:  # fmt: skip
    frontends, api_origin = options["frontends"], options["api_origin"]
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    with contextlib.ExitStack() as stack:  # every server and engine started is stopped
        wide = args.serve and EVERY_INTERFACE.search(args.serve)
        if wide:
            print(f"note: the --serve command listens on every interface ({wide[1]}): the app "
                  "is reachable from other machines while the check runs; 127.0.0.1 keeps it "
                  "on this one", file=sys.stderr)  # fmt: skip
        app = _start_app(args, run_dir)
        stack.callback(app.stop)
        name = (
            args.serve
            and f"--serve {shown_command(args.serve)!r}"
            or (args.app if isinstance(args.app, str) else app.name)
        )
        configs = app.info.get("cors") or []
        found = _endpoints(args, options, app, api_origin)
        auth, auth_line, jar = http_login(app.port, api_origin, frontends[0], options["login"],
                                     args.auth)  # fmt: skip
        prescan = None
        candidates = corpus_mod.corpus(frontends, configs, api_origin)
        if not args.no_prescan:
            targets = found.endpoints[:40] or [Endpoint("GET", MISSING_PATH)]
            declared = [corpus_mod.Candidate(f, "declared frontend", f) for f in frontends]
            prescan = run_prescan(app.port, api_origin, targets, declared + candidates,
                                  args.timeout, auth.authorization, jar)  # fmt: skip
            if not app.alive():
                raise UsageError(f"{app.death()} (during the HTTP pre-scan, before any browser "
                                 "ran: an endpoint that ends the process?)")  # fmt: skip
        attackers = attacker_origins(frontends, candidates, prescan, args.max_attackers)
        reads = attacker_battery(found.endpoints, auth.mode)
        plan = Plan(api_origin, auth, options["login"],
                    frontend_battery(found.endpoints, auth, args.read_header,
                                     app.info.get("error_path")),
                    reads, attackers, args.timeout,
                    attacker_reads(reads, attackers, prescan))  # fmt: skip
        discovered = [e.name for e in found.endpoints if e.source == "openapi"]
        summary = Summary(name, app.info.get("versions", {}), api_origin, frontends, auth_line,
                          found.summary(), prescan, configs, [],
                          config_seen="cors" in app.info, discovered=discovered,
                          cookie_policy=args.cookie_policy,
                          samesite_none=auth.samesite_none)  # fmt: skip
        store = LedgerStore()
        routes = _serve_origins(stack, app, api_origin, frontends, attackers, store, run_dir,
                                options["fixture"])  # fmt: skip
        results = ResultsWriter(_fresh(out / "check.jsonl"))
        stack.callback(results.close)
        if engines is None:
            proxy = ForwardProxy(routes).start()
            stack.callback(proxy.stop)
            pool = EnginePool(proxy=proxy.url)
            stack.callback(pool.close)
        else:  # the session's engines: only the routes are this check's
            pool = engines.pool
            engines.proxy.set_routes(routes)
            stack.callback(engines.proxy.set_routes, {})

        answered = prescan.answered_origins() if prescan else set()
        trusted_others = sorted(o for o in answered if o not in frontends)

        def writer(kept: list[Cell]) -> Callable[[Cell], None]:
            def write(cell: Cell) -> None:
                fix = (config_fix(cell, configs, api_origin)
                       or missing_cors_fix(cell, configs, summary.config_seen,
                                           cell.frontend in answered, trusted_others)
                       or wildcard_fix(cell)
                       or expose_fix(cell, configs))  # fmt: skip
                if fix:
                    cell.record["fix"] = fix
                cell.record = redact(cell.record)  # the report reads the same redacted record
                results.write(cell.record)
                kept.append(cell)  # kept as it finishes: an app that dies loses none

            return write

        write = writer(summary.cells)

        for browser in args.browser or list(BROWSERS):
            try:
                engine = pool.get(browser, args.cookie_policy)
            except (EngineUnavailable, EngineError) as exc:
                summary.problems.append(f"{browser}: not run: {failure_line(exc)}")
                continue
            try:
                run_engine(engine, browser, plan, store, app, write, judge)
            except AppDied as exc:
                summary.fatal = str(exc)
                break
            except Exception as exc:  # a page or session that crashed: that engine's cells
                if not is_engine_failure(exc):  # stop, the others go on; exit 1, not PASS
                    raise
                summary.problems.append(f"{browser}: the engine failed mid-check: "
                                        f"{failure_line(exc)}")  # fmt: skip
                pool.discard(browser, args.cookie_policy)
        if summary.fatal is None:
            try:
                summary.unconfirmed = confirm(pool, plan, summary, store, app,
                                              writer(summary.confirmations), judge)  # fmt: skip
            except AppDied as exc:
                summary.fatal = str(exc)
            except Exception as exc:
                if not is_engine_failure(exc):
                    raise
                summary.unconfirmed = f"the engine failed: {failure_line(exc)}"
        for cell in summary.cells:
            if cell.observed["outcome"] == "timeout" and cell.role == "frontend":
                summary.problems.append(f"{cell.browser}: {cell.request.kind} "
                                        f"{cell.record['check']['why']}")  # fmt: skip
        build(summary)
        print("\n".join(summary.lines))
        write_check_report(summary, out)
        print(f"report: {out / 'index.html'}")
        return _result(summary, out / "index.html")


def _result(summary: Summary, report: Path) -> CheckResult:
    blocked = [f"{c.browser}: {c.request.kind}: {c.record['check'].get('why') or 'not readable'}"
               for c in summary.cells if c.role == "frontend" and c.request.declared
               and c.record.get("verdict") == "diverge"]  # fmt: skip
    verdict = next((line.strip() for line in reversed(summary.lines)
                    if line.strip().startswith("verdict:")), "no verdict")  # fmt: skip
    return CheckResult(summary.exit_code, verdict,
                       [f"{f['severity']}: {f['headline']}" for f in summary.findings],
                       blocked,
                       list(summary.problems), report, "\n".join(summary.lines),
                       list(summary.notes))  # fmt: skip


def _fresh(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("")
    return path


def _serve_origins(stack, app, api_origin, frontends, attackers, store, run_dir,
                   fixture: Path) -> dict[tuple[str, str, int], int]:  # fmt: skip
    """The relay for the API origin and the probe page for every page origin; returns the
    forward proxy's routes to them."""
    import trustme

    pages = [o for f in frontends for o in [f, *(o for _, o in attackers[f])] if o != "null"]
    hosts = sorted({host_port(o)[0].strip("[]") for o in [*pages, api_origin]})
    ca = trustme.CA(organization_name="cors-matrix check per-run CA")
    cert = run_dir / "check-server.pem"
    ca.issue_cert(*hosts).private_key_and_cert_chain_pem.write_to_path(str(cert))
    scheme = api_origin.split(":", 1)[0]
    relay_app = LedgerMiddleware(Relay(app.port, scheme), store, server_name="app")
    started: list[ThreadServer] = []  # stopped together, whichever of them started
    stack.callback(stop_all, started)
    relay = ThreadServer(relay_app, "the relay to the app", str(cert) if scheme == "https"
                         else None, lifespan="on", own_headers=False).start()  # fmt: skip
    started.append(relay)
    static = build_pages_app(fixture)
    plain = ThreadServer(static, "page server").start()
    started.append(plain)
    tls = ThreadServer(static, "page server (https)", str(cert)).start()
    started.append(tls)
    routes = {}
    for origin in pages:
        routes[_route_key(origin)] = tls.port if origin.startswith("https:") else plain.port
    routes[_route_key(api_origin)] = relay.port
    return routes


def _route_key(origin: str) -> tuple[str, str, int]:
    host, port = host_port(origin)
    return origin.split(":", 1)[0], host, port


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
    engines: CheckEngines | None = None,
    **options: Any,
) -> CheckResult:
    """The same check from Python (or the `cors_check` pytest fixture): `app` is an ASGI app
    object or "module:attr"; returns a CheckResult, true and equal to 0 when every declared
    request works with no finding and no problem. `options` are the other command-line options
    by their dest name; `engines` keeps launched engines across calls."""
    from .options import check_parser

    defaults = vars(check_parser().parse_args(["--frontend", "x"]))
    return checked(Namespace(**{
        **defaults, **options, "app": app, "frontend": list(frontends), "api_origin": api_origin,
        "endpoint": list(endpoints), "login": login, "read_header": list(read_header),
        "browser": browsers, "cookie_policy": cookie_policy, "output": str(output),
    }), engines)  # fmt: skip
