"""The plugin's options (all `--cors-*`, it lives inside other people's suites) and the
checks of their values at configure time: a bad value is a usage error naming the option."""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from importlib.metadata import PackageNotFoundError, version

import pytest

from ..engines import DRIVERS
from ..engines.base import BROWSERS, COOKIE_POLICIES, DEFAULT_COOKIE_POLICY
from ..engines.remote import parse_grid, parse_remotes
from ..serve.newer_starlette import check_newer, is_newer
from ..serve.starlette_envs import checked_release
from ..spec.starlette_model import UnsupportedRelease, accept_newer, minor_of

DEFAULT_RESULTS = "results/latest.jsonl"


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


def browsers_of(config: pytest.Config) -> list[str]:
    chosen = config.getoption("--cors-browser", default=None) or list(BROWSERS)
    return list(dict.fromkeys(chosen))


def policies_of(config: pytest.Config) -> list[str]:
    return list(dict.fromkeys(config.getoption("--cors-cookie-policy") or [DEFAULT_COOKIE_POLICY]))


EVERY_INTERFACE = ("0.0.0.0", "::", "[::]")  # noqa: S104 - named only to warn about them


def starlettes_of(config: pytest.Config) -> list[str | None]:
    """The --cors-starlette releases, or [None]: the installed one, no extra dimension."""
    return list(dict.fromkeys(config.getoption("--cors-starlette", default=None) or [None]))


def _modelled_or_checked(release: str, installed: bool) -> None:
    """A modelled release, or the installed one newer than the model whose middleware agrees
    with the newest model (UnsupportedRelease otherwise, naming the range or the case)."""
    try:
        minor_of(release)
    except UnsupportedRelease:
        if not (installed and is_newer(release)):
            raise
        accept_newer(release, check_newer(release))


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "cors_cell: one (scenario, probe, browser) cell")
    try:
        for release in starlettes_of(config):
            _modelled_or_checked(checked_release(release) if release is not None
                                 else version("starlette"), installed=release is None)  # fmt: skip
    except (UnsupportedRelease, ValueError) as exc:
        raise pytest.UsageError(str(exc)) from None
    except PackageNotFoundError:
        raise pytest.UsageError("starlette is not installed; run `make setup`") from None
    config.stash[COUNTS] = Counter()
    try:
        remotes = parse_remotes(config.getoption("--cors-remote", default=[]))
        grid = config.getoption("--cors-grid", default=None)
        if grid:  # every engine not given by --cors-remote
            remotes = {**{name: parse_grid(grid) for name in BROWSERS}, **remotes}
        config.stash[GRIDS] = {grid} if grid else set()
        config.stash[REMOTES] = remotes
    except ValueError as exc:
        raise pytest.UsageError(str(exc)) from None
    bind = config.getoption("--cors-remote-proxy", default=None)
    if bind and not remotes:
        raise pytest.UsageError("--cors-remote-proxy needs --cors-grid or --cors-remote")
    if bind in EVERY_INTERFACE and not hasattr(config, "workerinput"):
        sys.stderr.write(f"cors-matrix: --cors-remote-proxy {bind} listens on every interface "
                         "of this machine; give its address on the grid's network to narrow "
                         "it\n")  # fmt: skip


COUNTS = pytest.StashKey[Counter]()
REMOTES = pytest.StashKey[dict]()
GRIDS = pytest.StashKey[set]()
