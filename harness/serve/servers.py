"""Starting and talking to the host process (harness/serve/host.py) through pytest-xprocess.

The starter is declarative (args, pattern, timeout) plus a real readiness check: every page and
API socket answers HTTP before a probe runs. Reads of the ledger go to the control port.
"""

from __future__ import annotations

import contextlib
import json
import os
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from xprocess import ProcessStarter

from .. import PACKAGE
from ..scenario import Scenario
from ..scenario.origins import API_HOSTS, page_origins
from .host import READY_LINE
from .reaper import process_state
from .starlette_envs import harness_path

STARTUP_TIMEOUT_S = 30
LEDGER_TIMEOUT_S = 5


def _alive_elsewhere(pid: int) -> str:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return "gone"
    except PermissionError:
        pass
    return "running"


class HostError(RuntimeError):
    """The host process could not be started or did not answer."""


def host_spec(scenarios: list[Scenario], fixture_dir: Path) -> dict[str, Any]:
    """What the host process needs: the React build and each scenario's server table."""
    return {
        "fixture_dir": str(fixture_dir),
        "servers": {
            s.name: {
                **s.server.app_shape(),
                "tls": s.server.tls,
                "hosts": s.server.hosts,
                "keep_alive": s.server.keep_alive,
                "tls_pages": s.server.tls or any(p.page_scheme == "https" for p in s.probe),
                "routes": s.server.route_table(),
                "redirect_slashes": s.server.redirect_slashes,
                "kwargs": s.server.middleware_kwargs(),
            }
            for s in scenarios
        },
    }


def http_get(url: str, timeout: float, cafile: str | None = None) -> bytes:
    context = ssl.create_default_context(cafile=cafile) if cafile else None
    with urllib.request.urlopen(url, timeout=timeout, context=context) as response:  # noqa: S310
        return response.read()


def _gone(pid: int) -> bool:
    state = (process_state(pid) or "gone") if Path("/proc").is_dir() else _alive_elsewhere(pid)
    return state in ("Z", "X", "gone")


@dataclass
class Host:
    """A running host process: its origins and its ledger."""

    manifest: dict[str, Any]
    log_path: Path

    @property
    def pages(self) -> dict[str, str]:
        return self.manifest["pages"]

    def dead(self) -> str | None:
        """Why the host cannot serve any more (None while it runs): checked before each cell,
        so a host that died ends the run in a moment, every later cell not run with this."""
        pid = self.manifest.get("pid")
        if pid is None or not _gone(pid):
            return None
        last = self.log_tail(5).strip().splitlines()
        return f"the host server (pid {pid}) exited" + (f"; its log ends: {last[-1]}" if last
                                                        else "")  # fmt: skip

    def proxy_dead(self) -> str | None:
        """Why the nginx in front of the proxy scenarios cannot serve (None while it runs)."""
        pid = self.manifest.get("proxy_pid")
        if pid is None or not _gone(pid):
            return None
        return (f"nginx (pid {pid}), the proxy in front of this scenario's API, exited during "
                "the run")  # fmt: skip

    def pages_for(self, scenario: str) -> dict[str, str]:
        """The page origins a scenario's probes run on: https ones for a tls scenario, and
        `api`, the scenario's API origin itself (a same-origin page); `sandboxed` is the
        {cross_site} page, whose fetches run in an opaque-origin iframe."""
        api = self.manifest["apis"][scenario]
        tls = api.startswith("https:")
        pages = page_origins(self.manifest["pages"], self.manifest.get("pages_tls", {}), tls)
        sandboxed = {"sandboxed" + k[len("cross_site") :]: v for k, v in pages.items()
                     if k.startswith("cross_site")}  # fmt: skip
        return {**pages, "api": api, **sandboxed}

    def api(self, scenario: str) -> str:
        return self.manifest["apis"][scenario]

    def ledger(self, token: str) -> list[dict[str, Any]]:
        url = f"{self.manifest['control']}/ledger/{token}"
        try:
            return json.loads(http_get(url, LEDGER_TIMEOUT_S))
        except (urllib.error.URLError, TimeoutError) as exc:
            raise HostError(f"ledger read timed out or failed ({url}): {exc}") from exc

    def reconfigure(self, scenario: str, changes: dict[str, Any] | None) -> None:
        """Swap the scenario's running app for one with `changes` (None: back to the original)."""
        request = urllib.request.Request(
            f"{self.manifest['control']}/reconfigure/{scenario}",
            data=json.dumps(changes).encode(), method="POST",
            headers={"Content-Type": "application/json"},
        )  # fmt: skip
        with urllib.request.urlopen(request, timeout=LEDGER_TIMEOUT_S):  # noqa: S310
            pass

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no host log)"


def answers(url: str, cafile: str | None = None) -> bool:
    """Whether a server answers HTTP at `url`; any status counts (an auth layer may say 401)."""
    try:
        http_get(url if cafile else url.replace("localhost", "127.0.0.1"), 2, cafile)
    except urllib.error.HTTPError:
        return True
    except Exception:
        return False
    return True


def _all_answer(manifest: dict[str, Any]) -> bool:
    urls = [manifest["control"] + "/health", *manifest["pages"].values()]
    urls += [*manifest.get("pages_tls", {}).values()]
    urls += [origin + "/headers" for origin in manifest["apis"].values()]
    ca = manifest.get("ca")
    return all(answers(url, ca if url.startswith("https:") else None) for url in urls)


def origin_routes(hosts, names=API_HOSTS) -> dict[tuple[str, str, int], int]:
    """Forward-proxy routes: every port of the hosts' page and API origins (nginx's included),
    under each of `names` (the loopback names, for browsers elsewhere; DOMAIN_NAMES, for
    hosts = "domains") and both schemes, to the same local port, so a request the scenario
    makes to a wrong scheme fails as it would here. The control port is not among them."""
    ports = set()
    for host in hosts:
        manifest = host.manifest
        for origin in [*manifest["pages"].values(), *manifest.get("pages_tls", {}).values(),
                       *manifest["apis"].values()]:  # fmt: skip
            ports.add(urlsplit(origin).port)
    return {(scheme, name, port): port for port in ports for scheme in ("http", "https")
            for name in names}  # fmt: skip


def host_args(spec_path: Path, manifest_path: Path, python: Path | None = None) -> list[str]:
    """The host under this interpreter, or under `python` (a --cors-starlette release's venv)."""
    executable = str(python) if python else sys.executable
    return [executable, "-u", "-m", f"{PACKAGE}.serve.host", str(spec_path), str(manifest_path)]


def host_env(python: Path | None, workdir: Path) -> dict[str, str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    if python is not None:  # the venv sees the harness package and nothing else of ours
        env["PYTHONPATH"] = str(harness_path(workdir))
        env.pop("PYTHONHOME", None)
    return env


def _ready(manifest_path: Path) -> bool:
    try:
        return _all_answer(json.loads(manifest_path.read_text()))
    except (OSError, ValueError):
        return False


def make_starter(
    spec_path: Path, manifest_path: Path, python: Path | None = None
) -> type[ProcessStarter]:
    """A ProcessStarter for one host process with the given spec and manifest files."""

    class HostStarter(ProcessStarter):
        args = host_args(spec_path, manifest_path, python)
        pattern = READY_LINE
        timeout = STARTUP_TIMEOUT_S
        max_read_lines = 200
        terminate_on_interrupt = True
        env = host_env(python, spec_path.parent)

        def startup_check(self) -> bool:
            return _ready(manifest_path)

    return HostStarter


def start_host(
    xprocess, name: str, spec: dict[str, Any], workdir: Path, python: Path | None = None
) -> tuple[Host, Any]:
    """Start the host under xprocess (under `python`, a release's venv, if given); return
    (Host, xprocess info to terminate it with)."""
    workdir.mkdir(parents=True, exist_ok=True)
    spec_path = workdir / "host-spec.json"
    manifest_path = workdir / "host-manifest.json"
    manifest_path.unlink(missing_ok=True)
    spec_path.write_text(json.dumps(spec, indent=2))
    try:
        _, log_path = xprocess.ensure(
            name, make_starter(spec_path, manifest_path, python), restart=True
        )
    except (RuntimeError, TimeoutError) as exc:
        info = xprocess.getinfo(name)
        log = Path(str(info.logpath))
        tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
        info.terminate()
        raise HostError(
            f"host process did not become ready within {STARTUP_TIMEOUT_S}s: {exc}\n{tail}"
        ) from None
    host = Host(json.loads(manifest_path.read_text()), Path(str(log_path)))
    return host, xprocess.getinfo(name)


@contextlib.contextmanager
def host_process(spec: dict[str, Any], workdir: Path) -> Iterator[Host]:
    """The host outside pytest (benchmarks, CLI): same process, same readiness check."""
    workdir.mkdir(parents=True, exist_ok=True)
    spec_path, manifest_path = workdir / "host-spec.json", workdir / "host-manifest.json"
    spec_path.write_text(json.dumps(spec))
    log_path = workdir / "host.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(host_args(spec_path, manifest_path), stdout=log,
                                   stderr=subprocess.STDOUT)  # fmt: skip
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while not _ready(manifest_path):
            if process.poll() is not None or time.monotonic() > deadline:
                raise HostError(f"host process not ready: {log_path.read_text()[-2000:]}")
            time.sleep(0.05)
        yield Host(json.loads(manifest_path.read_text()), log_path)
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
