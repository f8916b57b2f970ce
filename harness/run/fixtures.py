"""Session fixtures that start the expensive things once: the host process per Starlette
release (every scenario's API and the page origins), nginx in front of the proxied scenarios,
the forward proxy for remote engines, cors-matrix's own Playwright and the launched engines.

Nothing starts until a cell (or `cors_check`) asks: `own_processes` starts the reaper and the
Ctrl-C handler on first use, and marks only the processes cors-matrix itself starts."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from xprocess import XProcess

from ..engines import EnginePool, PlaywrightSession
from ..scenario.origins import DOMAIN_NAMES, SERVER_NAMES, Origin
from ..serve import nginx, reaper
from ..serve.forward_proxy import ForwardProxy
from ..serve.probe_page import ProbePageMissing, probe_page_dir
from ..serve.servers import HostError, host_spec, origin_routes, start_host
from ..serve.starlette_envs import EnvError, env_for
from . import interrupts
from .cell import Cell
from .collect import CELL
from .options import GRIDS, REMOTES
from .probe import PageCache


def own_processes(config: pytest.Config):
    """Enter before cors-matrix starts a process (host, nginx, engines): on first use the
    reaper starts watching this run and Ctrl-C/SIGTERM get the handler Playwright's loop needs;
    inside, started processes carry the run's mark, so the reaper ends them and nothing else."""
    if _REAPER not in config.stash:
        config.stash[_REAPER] = reaper.Reaper()
        config.add_cleanup(config.stash[_REAPER].stop)
        if interrupts.install(first_ends_run=True):  # Ctrl-C must not break Playwright's loop
            config.add_cleanup(interrupts.uninstall)
    return config.stash[_REAPER].marking()


_REAPER = pytest.StashKey["reaper.Reaper"]()


@pytest.fixture(scope="session")
def cors_cells(request) -> list[Cell]:
    return [i.stash[CELL] for i in request.session.items if CELL in i.stash]


@pytest.fixture(scope="session")
def cors_xprocess(request, tmpdir_factory):
    """pytest-xprocess on a run-private folder: no dependence on pytest's cache (which users
    may disable) and no sharing with a concurrent run in the same checkout."""
    with XProcess(request.config, tmpdir_factory.mktemp("xprocess")) as xprocess:
        yield xprocess
        # xprocess attaches these logs to failing reports; unregister them before closing
        request.config.__dict__.get("_extlogfiles", {}).clear()
        for resource in xprocess.resources:
            resource.release()


@pytest.fixture(scope="session")
def cors_hosts(request, cors_xprocess, cors_cells, tmp_path_factory):
    """One host process per Starlette release of the run (None: the installed one), each
    serving every collected scenario's API and the page origins."""
    try:
        fixture_dir = probe_page_dir(request.config.getoption("--cors-fixture-dir"))
    except ProbePageMissing as exc:
        pytest.exit(str(exc), returncode=4)
    scenarios = list({c.scenario.name: c.scenario for c in cors_cells}.values())
    releases = list(dict.fromkeys(c.starlette for c in cors_cells)) or [None]
    hosts, infos = {}, []
    try:
        for release in releases:
            try:
                python = env_for(release) if release else None
            except EnvError as exc:
                pytest.exit(str(exc), returncode=3)
            name = f"cors-matrix-host-{os.getpid()}" + (f"-starlette{release}" if release else "")
            with own_processes(request.config):
                try:
                    host, info = start_host(
                        cors_xprocess, name, host_spec(scenarios, fixture_dir),
                        tmp_path_factory.mktemp("host"), python,
                    )  # fmt: skip
                except HostError as exc:
                    pytest.exit(str(exc), returncode=3)
                infos.append(info)
                infos.append(_start_proxy(cors_xprocess, host, scenarios,
                                          tmp_path_factory.mktemp("nginx"), name))  # fmt: skip
            hosts[release] = host
        yield hosts
    finally:
        for info in reversed(infos):
            if info is not None:
                info.terminate()


@pytest.fixture(scope="session")
def cors_host(cors_hosts):
    """The host of the installed Starlette (or of the first --cors-starlette release)."""
    return cors_hosts.get(None) or next(iter(cors_hosts.values()))


def _start_proxy(xprocess, host, scenarios, workdir: Path, host_name: str):
    """A real nginx in front of every scenario that asks for one; their API origin becomes
    nginx's. Without nginx, those scenarios' cells are not run (reason in host.manifest)."""
    proxied = {s.name: s.server.proxy for s in scenarios if s.server.proxy != "none"}
    if not proxied:
        return None
    reason = nginx.available()
    if reason:
        host.manifest["proxy_unavailable"] = reason
        return None
    routes, public = {}, {}
    for name, variant in proxied.items():
        port = nginx.free_api_port()
        routes[port] = (variant, Origin.parse(host.api(name)).port)
        public[name] = f"http://localhost:{port}"
    conf = nginx.write_config(workdir, routes)
    name = host_name.replace("-host-", "-nginx-")
    try:
        xprocess.ensure(name, nginx.make_starter(workdir, conf, list(routes)), restart=True)
    except (RuntimeError, TimeoutError) as exc:
        log = workdir / "logs" / "error.log"
        tail = log.read_text()[-1500:] if log.exists() else ""
        xprocess.getinfo(name).terminate()
        pytest.exit(f"nginx did not start: {exc}\n{tail}", returncode=3)
    host.manifest.setdefault("backends", {}).update({n: host.api(n) for n in proxied})
    host.manifest["apis"].update(public)
    info = xprocess.getinfo(name)
    host.manifest["proxy_pid"] = info.pid  # a cell of a proxy scenario checks it is alive
    return info


@pytest.fixture(scope="session")
def cors_remote_proxy(request, cors_hosts):
    """--cors-remote-proxy: a forward proxy on that address for remote browsers, serving
    exactly the run's page and API origins, under the loopback names and the domain names
    (hosts = "domains"; anything else: 403); None without the option."""
    bind = request.config.getoption("--cors-remote-proxy")
    if not bind:
        yield None
        return
    try:
        proxy = ForwardProxy(origin_routes(cors_hosts.values(), SERVER_NAMES), bind=bind).start()
    except (OSError, RuntimeError) as exc:
        pytest.exit(f"--cors-remote-proxy {bind}: cannot listen there: {exc}", returncode=3)
    yield proxy.url
    proxy.stop()


@pytest.fixture(scope="session")
def cors_playwright():
    """The session's one sync Playwright of cors-matrix, shared by the cells and `cors_check`,
    on a thread of its own: pytest-playwright's (in the main thread) and the user's asyncio
    tests never meet it."""
    session = PlaywrightSession()
    yield session
    session.close()


@pytest.fixture(scope="session")
def cors_engines(request, cors_remote_proxy, cors_playwright):
    """Launched engines, one per (browser, cookie policy), closed at the end of the session."""
    config = request.config
    pool = EnginePool(config.getoption("--cors-driver"), config.stash[REMOTES],
                      grids=config.stash[GRIDS], remote_proxy=cors_remote_proxy,
                      playwright=cors_playwright,
                      own_processes=lambda: own_processes(config))  # fmt: skip
    yield pool
    pool.close()


@pytest.fixture(scope="session")
def cors_domain_engines(request, cors_hosts, cors_playwright):
    """Engines for the cells of hosts = "domains" scenarios: their own launches, each sending
    every request through a forward proxy that serves the run's ports under the domain names
    (example.com ...), so the names resolve inside these engines only. Launched on first use,
    like cors_engines; the proxy is a thread on loopback."""
    config = request.config
    proxy = ForwardProxy(origin_routes(cors_hosts.values(), DOMAIN_NAMES)).start()
    pool = EnginePool(config.getoption("--cors-driver"), proxy=proxy.url,
                      playwright=cors_playwright,
                      own_processes=lambda: own_processes(config))  # fmt: skip
    yield pool
    pool.close()
    proxy.stop()


@pytest.fixture(scope="session")
def cors_pages(cors_engines, cors_domain_engines):
    """Open pages reused across cells (closed before the engines are)."""
    cache = PageCache()
    yield cache
    cache.close()
