"""The user's app, running as it runs for the user, in a process of its own.

Three ways in, one interface (`port`, `alive()`, `death()`, `info`, `stop()`):
- `module:app` (or a factory, `module:create_app()`): serve_app.py run by the user's
  interpreter (`--python`), which also reports the app's CORS keywords and OpenAPI schemas;
- `--serve "CMD {port}"`: the user's own command (any framework, their venv and .env);
- an app object (the Python API and the `cors_check` fixture): uvicorn on a thread of this
  process, the only route where the app shares the check's process.

The app's output goes to a log file (never a pipe that could fill and block it); when it fails
to start or dies, the error names it with the last line it printed.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

from ..serve.nginx import free_port
from ..serve.servers import answers
from .options import UsageError
from .redact import shown_command

RUNNER = Path(__file__).resolve().parent / "serve_app.py"
START_TIMEOUT_S = 60
STOP_GRACE_S = 0.5  # for open requests to finish before the connections are dropped
EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Exit)(: |$)")


class AppDied(Exception):
    """The app's process ended during the check."""


CONTROL = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _last_line(log: Path) -> str:
    """The app's last meaningful output line, without escape codes or control characters (it
    reaches the user's terminal)."""
    try:
        text = CONTROL.sub("", log.read_text(errors="replace"))
        lines = [line.strip() for line in text.splitlines()]
    except OSError:
        return ""
    lines = [line for line in lines if line]
    preferred = [line for line in lines if line.startswith("cors-matrix: ")]
    if preferred:
        return preferred[-1].removeprefix("cors-matrix: ")
    # the exception's own line says more than the server's "Application startup failed"
    errors = [line for line in lines if EXCEPTION_LINE.match(line)]
    return (errors or lines or [""])[-1]


class AppProcess:
    """The app in a child process (its own session: stopping it stops what it started)."""

    def __init__(self, argv: list[str], name: str, run_dir: Path, env: dict[str, str],
                 cwd: str, port: int | None, info_path: Path | None) -> None:  # fmt: skip
        self.name = name
        self.log = run_dir / "app.log"
        self.info: dict[str, Any] = {}
        self._info_path = info_path
        self.port = port or 0
        self._log_fh = open(self.log, "wb")
        self.proc = subprocess.Popen(
            argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=self._log_fh,
            stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip

    @classmethod
    def from_target(cls, target: str, python: str, factory: bool, run_dir: Path,
                    cwd: str) -> AppProcess:  # fmt: skip
        if ":" not in target or target.startswith(":") or target.endswith(":"):
            raise UsageError(f"app {target!r}: expected module:attribute, e.g. myproject.main:app")
        env = {**os.environ, "CORS_MATRIX_PARENT": str(os.getpid()), "PYTHONUNBUFFERED": "1"}
        if factory:
            env["CORS_MATRIX_FACTORY"] = "1"
        info = run_dir / "app-info.json"
        try:
            return cls([python, str(RUNNER), target, str(info)], target, run_dir, env, cwd,
                       None, info)  # fmt: skip
        except OSError as exc:
            raise UsageError(f"--python {python!r} cannot run: {exc.strerror}") from None

    @classmethod
    def from_command(cls, command: str, run_dir: Path, cwd: str) -> AppProcess:
        if "{port}" not in command:
            raise UsageError(
                f"--serve {shown_command(command)!r} has no {{port}}: the check "
                "picks the port, e.g. --serve 'uvicorn app.main:app --port {port}'"
            )
        port = free_port()
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "PORT": str(port)}
        argv = ["/bin/sh", "-c", command.replace("{port}", str(port))]
        return cls(argv, f"--serve {shown_command(command)!r}", run_dir, env, cwd, port, None)

    def start(self, timeout: float = START_TIMEOUT_S) -> AppProcess:
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                why = _last_line(self.log) or f"exit code {self.proc.returncode}"
                self.stop()
                raise UsageError(f"{self.name} failed on startup: {why}")
            if self._info_path is not None and not self.info and self._info_path.exists():
                self.info = json.loads(self._info_path.read_text())
                self.port = self.info["port"]
            if self.port and answers(f"http://127.0.0.1:{self.port}/"):  # any status counts
                return self
            if time.monotonic() > deadline:
                self.stop()
                raise UsageError(f"{self.name} did not answer HTTP within {timeout:.0f} s "
                                 f"(last output: {_last_line(self.log) or 'none'})")  # fmt: skip
            time.sleep(0.1)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def death(self) -> str:
        """Why the process is gone, for the error line."""
        code = self.proc.returncode
        how = f"killed by signal {-code}" if code is not None and code < 0 else f"exit code {code}"
        last = _last_line(self.log)
        return f"{self.name} exited during the check ({how})" + (f": {last}" if last else "")

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(10)
            except (ProcessLookupError, PermissionError):
                pass
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        self._log_fh.close()


class ThreadServer:
    """uvicorn on a loopback socket, on a thread of this process: the relay, the pages, or an
    app object. `server_header=False` for the relay, so the app's own headers pass once."""

    def __init__(self, app, name: str, certfile: str | None = None, lifespan: str = "off",
                 own_headers: bool = True) -> None:  # fmt: skip
        import uvicorn

        from ..serve.sockets import bind_socket

        self.name = name
        self.info: dict[str, Any] = {}
        self.socket = bind_socket()
        self.port = self.socket.getsockname()[1]
        extra = {"ssl_certfile": certfile} if certfile else {}
        config = uvicorn.Config(app, lifespan=lifespan, log_level="critical", proxy_headers=True,
                                forwarded_allow_ips="127.0.0.1", server_header=own_headers,
                                date_header=own_headers, **extra)  # fmt: skip
        self.server = uvicorn.Server(config)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True, name=name)

    def _run(self) -> None:
        try:
            asyncio.run(self.server.serve(sockets=[self.socket]))
        except BaseException as exc:
            self.error = exc

    def start(self, timeout: float = START_TIMEOUT_S) -> ThreadServer:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if self.error is not None or not self.thread.is_alive():
                raise UsageError(f"{self.name} failed on startup: {self.error or 'it exited'}")
            if time.monotonic() > deadline:
                raise UsageError(f"{self.name} did not start within {timeout:.0f} s")
            time.sleep(0.05)
        return self

    def alive(self) -> bool:
        return self.thread.is_alive()

    def death(self) -> str:
        return f"{self.name} stopped serving during the check ({self.error or 'thread ended'})"

    def stop(self) -> None:
        stop_all([self])


def stop_all(servers: list[ThreadServer]) -> None:
    """Graceful first (all at once, one grace period); then without waiting for the
    connections an engine that outlives this check keeps open (the `cors_check` fixture's
    shared engines): uvicorn would wait for them as long as the browser runs."""
    for server in servers:
        server.server.should_exit = True
    deadline = time.monotonic() + STOP_GRACE_S
    for server in servers:
        server.thread.join(max(0.0, deadline - time.monotonic()))
    for server in servers:
        if server.thread.is_alive():
            server.server.force_exit = True
            server.thread.join(10)


def in_process(app, name: str) -> ThreadServer:
    """An app object (Python API, `cors_check` fixture): served here, inspected like the
    subprocess route inspects it."""
    from . import serve_app

    server = ThreadServer(app, name, lifespan="auto")
    server.info = {"versions": serve_app._versions(), "app_type": type(app).__name__,
                   "cors": serve_app.find_cors(app), "schemas": serve_app.find_schemas(app),
                   "error_path": serve_app.add_error_route(app)}  # fmt: skip
    return server
