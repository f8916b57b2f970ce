"""Scenario files become test items, one per (scenario, probe, browser, cookie policy
[, Starlette release]): `path/test_x.toml::probe-name[chromium]`.

A scenario file is a `test_*.toml` with a `[[probe]]` table, or any `test_*.toml` under a folder
named by the `cors_scenarios` ini option; other TOML files are the project's own data."""

from __future__ import annotations

import re
from itertools import product
from pathlib import Path

import pytest

from ..scenario import ScenarioError, load_scenario
from . import shards
from .cell import Cell, run_item
from .options import COUNTS, REMOTES, browsers_of, policies_of, starlettes_of
from .results_file import claim_results, results_path, worker_id

SCENARIO_MARK = re.compile(rb"^[ \t]*\[\[[ \t]*probe[ \t]*\]\]", re.MULTILINE)


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


class ScenarioFile(pytest.File):
    """One scenario file: a collection error naming the file and field if it is invalid."""

    def collect(self):
        try:
            scenario = load_scenario(self.path)
        except ScenarioError as exc:
            raise self.CollectError(str(exc)) from None
        browsers = browsers_of(self.config)
        policies = policies_of(self.config)
        for probe in scenario.probes:
            for browser, policy, release in product(browsers, policies, starlettes_of(self.config)):
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
    def cell(cors_hosts, cors_engines, cors_domain_engines, cors_pages, cors_results, request):
        item = request.node
        cell = item.stash[CELL]
        domains = cell.scenario.server.hosts == "domains"
        run_item(item, cell, cors_hosts[cell.starlette], cors_engines, cors_results, cors_pages,
                 item.config.stash[COUNTS],
                 domain_engines=cors_domain_engines if domains else None)  # fmt: skip

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
        claim_results(config)
    if cells and worker_id(config) in (None, "gw0"):  # every xdist worker collects the same
        keys = [c.key for c in (i.stash[CELL] for i in cells)]
        shards.write_expected(results_path(config), keys, config.getoption("--cors-shard"))
    if config.stash[REMOTES]:  # one remote session per endpoint: group cells by engine
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
