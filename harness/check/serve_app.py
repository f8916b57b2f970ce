"""Serve the user's ASGI app in the user's own interpreter, for `harness check module:app`.

Run as a script (`python /path/to/serve_app.py TARGET INFO.json`) by whichever Python the user
names with `--python`: it imports nothing from cors-matrix, only the standard library, the
user's app and the uvicorn installed beside it. So the app runs with its own FastAPI/Starlette,
in its own process: its exit, hang or output cannot end the check.

Before serving it writes INFO.json (atomically): the port, versions, every CORSMiddleware's
keywords it can find (add_middleware, wrappers, mounted sub-apps), each OpenAPI schema with the
path it is mounted under, and the path of a route that raises (for the 500 probe).
"""

from __future__ import annotations

import ctypes
import importlib
import inspect
import json
import os
import signal
import socket
import sys
import threading
import time

ERROR_PATH = "/__cors_matrix_error__"
KEYWORDS = ("allow_origins", "allow_methods", "allow_headers", "allow_credentials",
            "allow_origin_regex", "expose_headers", "max_age", "allow_private_network")  # fmt: skip


def fail(message: str, code: int = 3) -> None:
    print(f"cors-matrix: {message}", file=sys.stderr, flush=True)
    sys.exit(code)


def load(target: str):
    spec, _, attr = target.partition(":")
    factory = attr.endswith("()")
    attr = attr.removesuffix("()")
    if not spec or not attr:
        fail(f"app {target!r}: expected module:attribute, e.g. myproject.main:app")
    sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(spec)
    except Exception as exc:
        fail(f"cannot import {spec!r}: {type(exc).__name__}: {exc}")
    app = getattr(module, attr, None)
    if app is None:
        fail(f"{spec!r} has no attribute {attr!r}")
    if factory or os.environ.get("CORS_MATRIX_FACTORY") == "1":
        try:
            app = app()
        except Exception as exc:
            fail(f"factory {spec}:{attr}() raised {type(exc).__name__}: {exc}")
    elif inspect.isfunction(app) and not _takes_asgi_arguments(app):
        fail(f"{target} is a function of no ASGI arguments, probably an app factory: "
             f"use {spec}:{attr}() or --factory")  # fmt: skip
    if not callable(app):
        fail(f"{target} is not an ASGI app")
    return app


def _takes_asgi_arguments(function) -> bool:
    try:
        return len(inspect.signature(function).parameters) >= 3
    except (TypeError, ValueError):
        return True


def _plain(value):
    """JSON-safe copy of a middleware keyword (sets, tuples, compiled patterns)."""
    if hasattr(value, "pattern"):
        return value.pattern
    if isinstance(value, (set, frozenset, tuple, list)):
        return [_plain(v) for v in value]
    return value if isinstance(value, (str, int, float, bool, type(None))) else repr(value)


def _from_instance(mw) -> dict:
    """Keywords of an already built CORSMiddleware (app = CORSMiddleware(app, ...))."""
    out = {"allow_origins": _plain(getattr(mw, "allow_origins", [])),
           "allow_methods": _plain(getattr(mw, "allow_methods", ["GET"])),
           "allow_credentials": bool(getattr(mw, "allow_credentials", False) or
                                     "Access-Control-Allow-Credentials" in
                                     getattr(mw, "simple_headers", {}))}  # fmt: skip
    if getattr(mw, "allow_all_headers", False):
        out["allow_headers"] = ["*"]
    elif getattr(mw, "allow_headers", None) is not None:
        out["allow_headers"] = _plain(mw.allow_headers)
    regex = getattr(mw, "allow_origin_regex", None)
    if regex is not None:
        out["allow_origin_regex"] = _plain(regex)
    expose = getattr(mw, "simple_headers", {}).get("Access-Control-Expose-Headers")
    if expose:
        out["expose_headers"] = [h.strip() for h in expose.split(",")]
    return out


def find_cors(app, prefix: str = "", depth: int = 0) -> list[dict]:
    """Every CORSMiddleware in the app: in user_middleware lists, as wrappers, in mounts."""
    found: list[dict] = []
    if depth > 12 or app is None:
        return found
    if type(app).__name__ == "CORSMiddleware":
        found.append({"mount": prefix, "wrapper": True, "kwargs": _from_instance(app)})
    for mw in getattr(app, "user_middleware", None) or []:
        if getattr(getattr(mw, "cls", None), "__name__", "") == "CORSMiddleware":
            kwargs = getattr(mw, "kwargs", None) or getattr(mw, "options", None) or {}
            found.append(
                {
                    "mount": prefix,
                    "wrapper": False,
                    "kwargs": {k: _plain(v) for k, v in kwargs.items() if k in KEYWORDS},
                }
            )
    inner = getattr(app, "app", None)
    if inner is not None and inner is not app and not hasattr(app, "router"):
        found += find_cors(inner, prefix, depth + 1)
    for route in getattr(getattr(app, "router", None), "routes", None) or []:
        if type(route).__name__ == "Mount" and getattr(route, "app", None) is not None:
            found += find_cors(route.app, prefix + route.path, depth + 1)
    return found


def find_schemas(app, prefix: str = "", depth: int = 0) -> list[dict]:
    """Each OpenAPI schema with the path its app is mounted under (FastAPI apps)."""
    out: list[dict] = []
    if depth > 12 or app is None:
        return out
    while not hasattr(app, "router") and getattr(app, "app", None) is not None and depth < 12:
        app, depth = app.app, depth + 1
    if callable(getattr(app, "openapi", None)):
        try:
            out.append({"prefix": prefix, "schema": app.openapi()})
        except Exception as exc:
            out.append({"prefix": prefix, "error": f"{type(exc).__name__}: {exc}"})
    for route in getattr(getattr(app, "router", None), "routes", None) or []:
        if type(route).__name__ == "Mount" and getattr(route, "app", None) is not None:
            out += find_schemas(route.app, prefix + route.path, depth + 1)
    return out


def add_error_route(app) -> str | None:
    """A route that raises, first in the outermost router: its 500 passes through the app's
    own middleware and exception handlers like any real server error."""
    seen = 0
    while getattr(app, "router", None) is None and hasattr(app, "app") and seen < 20:
        app, seen = app.app, seen + 1
    routes = getattr(getattr(app, "router", None), "routes", None)
    if not isinstance(routes, list):
        return None
    try:
        from starlette.routing import Route
    except ImportError:
        return None

    async def fail_on_purpose(request):
        raise RuntimeError("cors-matrix check: a deliberate unhandled error")

    routes.insert(0, Route(ERROR_PATH, fail_on_purpose, methods=["GET"]))
    return ERROR_PATH


def _versions() -> dict:
    from importlib import metadata

    out = {"python": sys.version.split()[0]}
    for name in ("fastapi", "starlette", "uvicorn"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def _die_with_parent(parent: int) -> None:
    """The check may be killed outright: the app must not outlive it."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, daemon=True).start()


SHUTDOWN_GRACE_S = 2


def _short_shutdown(uvicorn) -> dict:
    """A request the app never answers (a probe that timed out) would hold uvicorn's shutdown
    until the check kills it 10 s later; after SHUTDOWN_GRACE_S its connections are closed and
    the app's own shutdown hooks still run. uvicorn 0.26 and later (older ones keep waiting)."""
    import inspect

    takes = "timeout_graceful_shutdown" in inspect.signature(uvicorn.Config).parameters
    return {"timeout_graceful_shutdown": SHUTDOWN_GRACE_S} if takes else {}


def main(argv: list[str]) -> None:
    target, info_path = argv[0], argv[1]
    _die_with_parent(int(os.environ.get("CORS_MATRIX_PARENT", os.getppid())))
    try:
        import uvicorn
    except ImportError:
        fail(f"uvicorn is not installed for {sys.executable}: pip install uvicorn there")
    app = load(target)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    info = {"port": sock.getsockname()[1], "pid": os.getpid(), "versions": _versions(),
            "app_type": type(app).__name__, "cors": find_cors(app),
            "schemas": find_schemas(app), "error_path": add_error_route(app)}  # fmt: skip
    tmp = info_path + ".tmp"
    with open(tmp, "w") as fh:
        json.dump(info, fh)
    os.replace(tmp, info_path)
    config = uvicorn.Config(app, lifespan="auto", log_level="warning", proxy_headers=True,
                            forwarded_allow_ips="127.0.0.1",
                            **_short_shutdown(uvicorn))  # fmt: skip
    uvicorn.Server(config).run(sockets=[sock])


if __name__ == "__main__":
    main(sys.argv[1:])
