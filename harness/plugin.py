"""The pytest plugin (entry point `pytest11: cors_matrix`): scenario files become test items.

A scenario file is a `test_*.toml` with a `[[probe]]` table, or any `test_*.toml` under a folder
named by the `cors_scenarios` ini option; other TOML files are the project's own data. Each
(scenario, probe, browser) is one item, id `path/test_x.toml::probe-name[chromium]`. Session
fixtures start the expensive things once (the host process with every scenario's API, the
engines); each cell gets a fresh page, a fresh token, and writes one JSON line the moment it
finishes.

The plugin lives inside other people's test suites, so it is inert until used: options are
all `--cors-*`, and nothing is started, no signal handler changed and no process ended in a
session that runs no cell and calls no `cors_check`. Then only processes cors-matrix itself
started carry the reaper's mark.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections import Counter
from importlib.metadata import PackageNotFoundError, version
from itertools import product
from pathlib import Path

import pytest
from xprocess import XProcess

from . import interrupts, nginx, reaper, shards
from .cell import Cell, run_item
from .engines import DRIVERS, EnginePool, PlaywrightSession
from .engines.base import BROWSERS, COOKIE_POLICIES, DEFAULT_COOKIE_POLICY
from .engines.remote import parse_grid, parse_remotes
from .forward_proxy import ForwardProxy
from .origins import Origin
from .probe import PageCache
from .probe_page import ProbePageMissing, probe_page_dir
from .results import ResultsInUse, ResultsWriter, read_records, results_lock
from .scenario import ScenarioError, load_scenario
from .servers import HostError, host_spec, origin_routes, start_host
from .starlette_envs import EnvError, checked_release, env_for
from .starlette_model import UnsupportedRelease, minor_of

DEFAULT_RESULTS = "results/latest.jsonl"
SCENARIO_MARK = re.compile(rb"^[ \t]*\[\[[ \t]*probe[ \t]*\]\]", re.MULTILINE)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("cors-matrix", "cors-matrix: CORS scenarios in real browsers")
    parser.addini(
        "cors_scenarios", type="paths", default=[],
        help="cors-matrix: folders whose every test_*.toml is a scenario (elsewhere only a "
        "test_*.toml with a [[probe]] table is)",
    )  # fmt: skip
    group.addoption(
        "--cors-browser", action="append", default=[], choices=BROWSERS,
        help="engine to run the scenario cells in (repeatable); default: chromium, firefox, "
        "webkit",
    )  # fmt: skip
    group.addoption(
        "--cors-cookie-policy", action="append", default=[], choices=COOKIE_POLICIES,
        help=f"third-party cookie policy every engine is set to (repeatable); "
             f"default: {DEFAULT_COOKIE_POLICY}",
    )  # fmt: skip
    group.addoption(
        "--cors-results",
        default=None,
        help=f"JSON Lines results file, rewritten per run (default {DEFAULT_RESULTS})",
    )
    group.addoption(
        "--cors-traces", action=argparse.BooleanOptionalAction, default=True,
        help="re-run every diverging cell in Chromium and Firefox once with a Playwright trace, "
        "kept beside its screenshot (--no-cors-traces: none)",
    )  # fmt: skip
    group.addoption(
        "--cors-driver",
        default="auto",
        choices=DRIVERS,
        help="force a backend where an engine has several (e.g. chromium via webdriver)",
    )
    group.addoption(
        "--cors-remote",
        action="append",
        default=[],
        metavar="ENGINE=URL",
        help="run ENGINE on a remote endpoint: ws://... a Playwright server, http://... a "
        "WebDriver endpoint (Grid, chromedriver, WebKitWebDriver); repeatable",
    )
    group.addoption(
        "--cors-grid", default=None, metavar="URL",
        help="a Selenium Grid (http://hub:4444): every engine not given by --cors-remote runs "
        "there, several sessions at once",
    )  # fmt: skip
    group.addoption(
        "--cors-remote-proxy", default=None, metavar="ADDRESS",
        help="remote browsers that cannot reach this machine's loopback reach the run's origins "
        "through a forward proxy listening on ADDRESS (an address of this machine they reach); "
        "it serves the run's declared origins only",
    )  # fmt: skip
    group.addoption(
        "--cors-verify-fixes",
        action="store_true",
        help="for each blocked cell with a config fix: re-run it with the fix applied, and from "
        "the attacker page, and record whether the fix works and stays closed",
    )
    group.addoption(
        "--cors-shard",
        default=None,
        metavar="I/N",
        help="run only the I-th of N deterministic slices of the cells (unite them with "
        "`cors-matrix merge`)",
    )
    group.addoption(
        "--cors-require-browsers",
        action="store_true",
        help="fail (instead of skip) cells whose engine is not installed",
    )
    group.addoption(
        "--cors-starlette", action="append", default=[], metavar="VERSION",
        help="also a matrix dimension: run the scenario host under this Starlette release (its "
        "own venv, built once and cached); repeatable; default: the installed Starlette",
    )  # fmt: skip
    group.addoption(
        "--cors-fixture-dir",
        default=None,
        help="the built probe page (default: the one installed with cors-matrix, or "
        "react_fixture/dist in a checkout; also $CORS_MATRIX_FIXTURE_DIR)",
    )


def _browsers(config: pytest.Config) -> list[str]:
    chosen = config.getoption("--cors-browser", default=None) or list(BROWSERS)
    return list(dict.fromkeys(chosen))


def _policies(config: pytest.Config) -> list[str]:
    return list(dict.fromkeys(config.getoption("--cors-cookie-policy") or [DEFAULT_COOKIE_POLICY]))


EVERY_INTERFACE = ("0.0.0.0", "::", "[::]")  # noqa: S104 - named only to warn about them


def _starlettes(config: pytest.Config) -> list[str | None]:
    """The --cors-starlette releases, or [None]: the installed one, no extra dimension."""
    return list(dict.fromkeys(config.getoption("--cors-starlette", default=None) or [None]))


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "cors_cell: one (scenario, probe, browser) cell")
    try:
        for release in _starlettes(config):
            minor_of(checked_release(release) if release is not None else version("starlette"))
    except (UnsupportedRelease, ValueError) as exc:
        raise pytest.UsageError(str(exc)) from None
    except PackageNotFoundError:
        raise pytest.UsageError("starlette is not installed; run `make setup`") from None
    config.stash[_COUNTS] = Counter()
    try:
        remotes = parse_remotes(config.getoption("--cors-remote", default=[]))
        grid = config.getoption("--cors-grid", default=None)
        if grid:  # every engine not given by --cors-remote
            remotes = {**{name: parse_grid(grid) for name in BROWSERS}, **remotes}
        config.stash[_GRIDS] = {grid} if grid else set()
        config.stash[_REMOTES] = remotes
    except ValueError as exc:
        raise pytest.UsageError(str(exc)) from None
    bind = config.getoption("--cors-remote-proxy", default=None)
    if bind and not remotes:
        raise pytest.UsageError("--cors-remote-proxy needs --cors-grid or --cors-remote")
    if bind in EVERY_INTERFACE and not hasattr(config, "workerinput"):
        sys.stderr.write(f"cors-matrix: --cors-remote-proxy {bind} listens on every interface "
                         "of this machine; give its address on the grid's network to narrow "
                         "it\n")  # fmt: skip


_COUNTS = pytest.StashKey[Counter]()
_REMOTES = pytest.StashKey[dict]()
_GRIDS = pytest.StashKey[set]()


def pytest_collect_file(file_path: Path, parent: pytest.Collector):
    if (
        file_path.suffix == ".toml"
        and file_path.name.startswith("test_")
        and is_scenario_file(file_path, parent.config.getini("cors_scenarios"))
    ):
        return ScenarioFile.from_parent(parent, path=file_path)
    return None


def is_scenario_file(path: Path, scenario_folders: list[Path]) -> bool:
    """Under a declared scenario folder every test_*.toml is one (a broken one gets its error);
    elsewhere only a file with a [[probe]] table: a project's own test_settings.toml is data."""
    if any(path.is_relative_to(folder) for folder in scenario_folders):
        return True
    try:
        return SCENARIO_MARK.search(path.read_bytes()) is not None
    except OSError:
        return False


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


class ScenarioFile(pytest.File):
    """One scenario file: a collection error naming the file and field if it is invalid."""

    def collect(self):
        try:
            scenario = load_scenario(self.path)
        except ScenarioError as exc:
            raise self.CollectError(str(exc)) from None
        browsers = _browsers(self.config)
        policies = _policies(self.config)
        for probe in scenario.probes:
            for browser, policy, release in product(browsers, policies, _starlettes(self.config)):
                suffix = browser if len(policies) == 1 else f"{browser}-{policy}"
                suffix += f"-starlette{release}" if release else ""
                item = pytest.Function.from_parent(
                    self, name=f"{probe.name}[{suffix}]", callobj=_cell_function(),
                )  # fmt: skip
                item.stash[CELL] = Cell(scenario, probe, browser, policy, self.path, release)
                item.add_marker(pytest.mark.cors_cell)
                yield item

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, self.CollectError):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style)


CELL = pytest.StashKey[Cell]()


def _cell_function():
    def cell(cors_hosts, cors_engines, cors_pages, cors_results, request):
        item = request.node
        cell = item.stash[CELL]
        run_item(item, cell, cors_hosts[cell.starlette], cors_engines, cors_results, cors_pages,
                 item.config.stash[_COUNTS])  # fmt: skip

    return cell


@pytest.hookimpl(trylast=True)  # after -k, -m and --lf deselected theirs: list what runs
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items) -> None:
    """Refuse duplicate scenario names (they would share one API server); list the whole
    collection's cells beside the results file; keep only this run's --cors-shard."""
    seen: dict[str, Path] = {}
    cells = [item for item in items if CELL in item.stash]
    for item in cells:
        cell = item.stash[CELL]
        first = seen.setdefault(cell.scenario.name, cell.path)
        if first != cell.path:
            raise pytest.UsageError(
                f"duplicate scenario name {cell.scenario.name!r} in {first} and {cell.path}; "
                "set [scenario] name to something unique"
            )
    try:
        shard = shards.parse_shard(config.getoption("--cors-shard"))
    except shards.ShardError as exc:
        raise pytest.UsageError(str(exc)) from None
    if cells:
        _claim_results(config)
    if cells and _worker_id(config) in (None, "gw0"):  # every xdist worker collects the same
        keys = [c.key for c in (i.stash[CELL] for i in cells)]
        shards.write_expected(_results_path(config), keys, config.getoption("--cors-shard"))
    if config.stash[_REMOTES]:  # one remote session per endpoint: group cells by engine
        position = {id(item): n for n, item in enumerate(items)}
        items.sort(key=lambda i: (*_engine_of(i), position[id(i)]))
    if shard is None:
        return
    order = {item.nodeid: n for n, item in enumerate(sorted(cells, key=lambda i: i.nodeid))}
    keep = [i for i in items if i.nodeid not in order or shards.in_shard(order[i.nodeid], shard)]
    kept = {id(i) for i in keep}
    dropped = [i for i in items if id(i) not in kept]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep


def _engine_of(item: pytest.Item) -> tuple[str, str]:
    cell = item.stash.get(CELL, None)
    return (cell.browser, cell.policy) if cell else ("", "")


def _results_path(config: pytest.Config) -> Path:
    return Path(config.getoption("--cors-results") or config.rootpath / DEFAULT_RESULTS)


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
        port = nginx.free_port()
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
    exactly the run's page and API origins (anything else: 403); None without the option."""
    bind = request.config.getoption("--cors-remote-proxy")
    if not bind:
        yield None
        return
    try:
        proxy = ForwardProxy(origin_routes(cors_hosts.values()), bind=bind).start()
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
    pool = EnginePool(config.getoption("--cors-driver"), config.stash[_REMOTES],
                      grids=config.stash[_GRIDS], remote_proxy=cors_remote_proxy,
                      playwright=cors_playwright,
                      own_processes=lambda: own_processes(config))  # fmt: skip
    yield pool
    pool.close()


def _worker_id(config: pytest.Config) -> str | None:
    """The pytest-xdist worker id (gw0, gw1, ...), or None in the controller or a plain run."""
    return getattr(config, "workerinput", {}).get("workerid")


def _claim_results(config: pytest.Config) -> None:
    """One run at a time per results file: once a session has cells, its controller holds a
    lock on the file for the run, and a second run on the same path is refused, naming the
    first. A session without cells neither locks nor creates it."""
    if _RESULTS_PATH in config.stash or config.option.collectonly:
        return
    if _worker_id(config) is None:
        path = _results_path(config)
        if path.is_dir():
            raise pytest.UsageError(f"--cors-results {path} is a directory; give a file path")
        try:
            config.stash[_RESULTS_LOCK] = results_lock(path)
            with open(path, "a"):  # writable, before any cell runs
                pass
        except ResultsInUse as exc:
            raise pytest.UsageError(str(exc)) from None
        except OSError as exc:
            raise pytest.UsageError(
                f"--cors-results {path}: cannot write: {exc.strerror}"
            ) from None
        config.stash[_RESULTS_PATH] = path


def _empty_results_once(config: pytest.Config) -> None:
    """The results file is rewritten per run, but only once the run has a cell to write: a
    run that runs nothing (a bad file, an empty shard, a usage error) keeps the last one."""
    if not config.stash.get(_RESULTS_EMPTIED, False):
        config.stash[_RESULTS_EMPTIED] = True
        _results_path(config).write_text("")


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_node_collection_finished(node, ids) -> None:
    """pytest-xdist: the controller claims and empties the file before it hands any worker a
    cell."""
    if any(".toml::" in nodeid for nodeid in ids):
        try:
            _claim_results(node.config)
        except pytest.UsageError as exc:
            pytest.exit(str(exc), returncode=pytest.ExitCode.USAGE_ERROR)
        _empty_results_once(node.config)


@pytest.fixture(scope="session")
def cors_check_engines(request, cors_playwright):
    """The engines every `cors_check` of the session shares (launched on the first check that
    needs them), and the forward proxy they go through."""
    from .check.run import CheckEngines

    config = request.config
    proxy = ForwardProxy({}).start()
    pool = EnginePool(proxy=proxy.url, playwright=cors_playwright,
                      own_processes=lambda: own_processes(config))  # fmt: skip
    yield CheckEngines(pool, proxy)
    pool.close()
    proxy.stop()


@pytest.fixture
def cors_check(request, tmp_path):
    """Check your own app from your own test suite (see README "Check your app from pytest"):

    def test_cors(cors_check):
        result = cors_check(app, "https://app.example.com", endpoints=["GET:/items/1"])
        assert result, result.message

    Returns a CheckResult: true (and == 0) on PASS; its message names the findings and the
    blocked requests. Engines are launched once per session and shared by every call.
    """
    from .check import check_app

    def run(app, frontend, **kwargs):
        frontends = [frontend] if isinstance(frontend, str) else list(frontend)
        kwargs.setdefault("output", tmp_path / "cors-check")
        engines = request.getfixturevalue("cors_check_engines")
        with own_processes(request.config):
            return check_app(app, frontends, engines=engines, **kwargs)

    return run


@pytest.fixture(scope="session")
def cors_pages(cors_engines):
    """Open pages reused across cells (closed before the engines are)."""
    cache = PageCache()
    yield cache
    cache.close()


@pytest.fixture(scope="session")
def cors_results(request):
    """Appends one line per cell; under pytest-xdist every worker appends to the same file,
    each line in a single write (see ResultsWriter)."""
    if _worker_id(request.config) is None:  # a plain run; under xdist the controller did it
        _empty_results_once(request.config)
    writer = ResultsWriter(_results_path(request.config))
    yield writer
    writer.close()


_RESULTS_PATH = pytest.StashKey[Path]()
_RESULTS_LOCK = pytest.StashKey[object]()
_RESULTS_EMPTIED = pytest.StashKey[bool]()


def pytest_terminal_summary(terminalreporter, exitstatus, config: pytest.Config) -> None:
    counts = config.stash.get(_COUNTS, None)
    path = config.stash.get(_RESULTS_PATH, None)
    if not counts and path is not None and path.exists():  # xdist: the workers counted
        counts = Counter(r["verdict"] for _, r, _ in read_records(path) if r)
    if not counts:
        return
    terminalreporter.section("cors-matrix")
    terminalreporter.write_line(
        f"cells: {counts['match']} match, {counts['diverge']} diverge, {counts['not-run']} not run"
        + (f", {counts['error']} error (failed to run)" if counts["error"] else "")
    )
    if path is not None:
        terminalreporter.write_line(f"results: {path}")
        terminalreporter.write_line(f"HTML report: cors-matrix report {path} -o report/")
