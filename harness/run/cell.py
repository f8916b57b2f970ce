"""One cell as a pytest test: launch or reuse its engine, ask the oracle, run the probe, judge
the observation, explain it (causes, fixes re-run with --cors-verify-fixes) and write its record.

The plugin (harness/run/plugin.py) collects cells and owns the session fixtures; this module is
what happens inside one of them.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from ..engines import EnginePool, failure_line
from ..engines.base import EngineError, EngineUnavailable, without_secrets
from ..judge import causes as causes_mod
from ..judge import oracle
from ..scenario import RECONFIGURABLE_SHAPE, Probe, Scenario, theme_of
from ..scenario.origins import domain_names, page_key, scenario_origins, substitute_all
from ..serve.raw_headers import needs_widening
from ..spec.starlette_model import (
    LATEST,
    UnsupportedOption,
    checked_newer,
    starlette_dependence,
)
from . import interrupts
from .probe import PageCache, observe, run_cell
from .results import ResultsWriter, artifact_dir, readable


class Cell:
    """One (scenario, probe, browser, cookie policy[, --cors-starlette release]), from the file it
    was collected from. `starlette` None: the installed release, no extra dimension."""

    def __init__(
        self,
        scenario: Scenario,
        probe: Probe,
        browser: str,
        policy: str,
        path: Path,
        starlette: str | None = None,
    ):
        self.scenario, self.probe, self.browser, self.policy, self.path = (
            scenario, probe, browser, policy, path,
        )  # fmt: skip
        self.starlette = starlette

    @property
    def key(self) -> list[str]:
        """As results.key_of reads it from the record: the release only as a dimension."""
        key = [self.scenario.name, self.probe.name, self.browser, self.policy]
        return [*key, self.starlette] if self.starlette else key


def base_record(cell: Cell, page_origin: str) -> dict[str, Any]:
    """What a cell's record says before it runs (also all a not-run record says)."""
    return {
        "scenario": cell.scenario.name,
        "probe": cell.probe.name,
        "theme": theme_of(cell.path),
        "description": cell.scenario.scenario.description,
        "source": str(cell.path),
        "browser": cell.browser,
        "browser_version": None,
        "engine_build": None,
        "driver": None,
        "cookie_policy": cell.policy,
        **({"starlette_axis": cell.starlette} if cell.starlette else {}),
        "page": cell.probe.page,
        "page_origin": page_origin,
        "url": None,
        "request": recorded_request(cell.probe),
    }


def recorded_request(probe) -> dict:
    """The probe as the record shows it: an XMLHttpRequest password (URL userinfo) masked."""
    dump = probe.model_dump(mode="json")
    if dump.get("password") is not None:
        dump["password"] = "***"
    return dump


def run_item(
    item: pytest.Item,
    cell: Cell,
    host,
    engines: EnginePool,
    results: ResultsWriter,
    page_cache: PageCache,
    counts: Counter,
    domain_engines: EnginePool | None = None,
) -> None:
    """The body of a cell's test function; pytest.skip/fail say how it went. `domain_engines`:
    a hosts = "domains" cell runs in these (proxied) engines, under the domain names."""
    pages = host.pages_for(cell.scenario.name)
    api = host.api(cell.scenario.name)
    if domain_engines is not None:
        pages, api = domain_names(pages, api)
    page_origin = pages[page_key(cell.probe.page, cell.probe.page_scheme)]
    record = base_record(cell, page_origin)
    versions = host.manifest.get("versions") or {}
    record["server_versions"] = versions
    checked = checked_newer(versions.get("starlette"))
    if checked:  # a release newer than the model, judged by the newest one: and why
        record["starlette_checked"] = checked

    def not_run(reason: str, cause: str | None = None) -> None:
        """The cell could not run: its record says why, before pytest skips or fails it.
        `cause` "engine": the cell's engine could not be had (a nightly must not pass it)."""
        record.update(observed=None, expected=None, verdict="not-run", reason=reason)
        if cause:
            record["not_run_cause"] = cause
        results.write(record)
        counts["not-run"] += 1

    def stop(reason: str | None, failed: bool = False) -> None:
        """With a reason, the cell is not run: its record says why, then pytest skips it, or
        fails it when the run's own servers `failed`."""
        if reason:
            not_run(reason)
            if failed:
                pytest.fail(f"not run: {reason}", pytrace=False)
            pytest.skip(f"not run: {reason}")

    def stop_if_servers_died() -> None:
        """A dead host ends every remaining cell in a moment, each not run naming it; a dead
        nginx its scenarios' cells (not 27 divergences)."""
        stop(host.dead(), failed=True)
        stop(host.proxy_dead() if cell.scenario.server.proxy != "none" else None, failed=True)

    stop_if_servers_died()
    refused = host.manifest.get("raw_answers_refused")
    if refused and any(needs_widening(route) for route in cell.scenario.server.route_table()):
        stop(f"a route's padded header value or status past 599 cannot be sent: {refused}")
    if cell.scenario.server.proxy != "none":
        stop(host.manifest.get("proxy_unavailable"))
    if domain_engines is not None and cell.browser not in engines.remotes:
        engines = domain_engines  # launched behind the proxy that resolves the domain names
    elif domain_engines is not None and not engines.remote_proxy:
        stop('hosts = "domains" needs a proxy that resolves its names: local engines, or '
             "remote ones with --cors-remote-proxy")  # fmt: skip
    try:
        engine = engines.get(cell.browser, cell.policy)
    except EngineUnavailable as exc:
        not_run(str(exc), "engine")
        if item.config.getoption("--cors-require-browsers"):
            pytest.fail(f"{cell.browser} required but not available: {exc}", pytrace=False)
        pytest.skip(f"not run: {exc}")
    except EngineError as exc:
        not_run(str(exc), "engine")
        failed = f"{cell.browser}: {exc}"
    else:
        failed = None
    if failed:  # outside the except: one line, not the chain of engine errors behind it
        pytest.fail(failed, pytrace=False)
    record.update({k: v for k, v in engine.info.as_record().items() if k != "name"})
    record["browser_version"] = record.pop("version")

    origins = scenario_origins(pages, api, domain_engines is not None)
    record["origins"] = origins  # the run's named origins: the report writes fixes in them
    ctx = oracle.Context(
        page_origin=page_origin,
        api_origin=api,
        server_kwargs=substitute_all(cell.scenario.server.middleware_kwargs(), origins),
        cookie_policy=cell.policy,
        origins=origins,
        routes=substitute_all(cell.scenario.server.route_table(), origins),
        redirect_slashes=cell.scenario.server.redirect_slashes,
        opaque_initiator=cell.probe.page == "sandboxed",
        starlette=versions.get("starlette", LATEST),
        browser_proxied=bool(engines.proxy)
        or (bool(engines.remote_proxy) and cell.browser in engines.remotes),
        **cell.scenario.server.app_shape(),
    )
    try:
        spec, expected = oracle.expectations(cell.probe, ctx, cell.browser)
    except UnsupportedOption as exc:
        stop(str(exc))
    except oracle.NotModelled as exc:
        spec = expected = None
        unmodelled = str(exc)
    except Exception as exc:  # noqa: BLE001 - an input the oracle cannot take: this cell only
        reason = f"the oracle failed on this cell: {type(exc).__name__}: {exc}".splitlines()[0]
        record.update(observed=None, expected=None, verdict="error", reason=reason)
        results.write(record)
        counts["error"] += 1
        pytest.fail(reason, pytrace=False)
    else:
        unmodelled = None

    names = ctx.named_origins  # an Origin header's name, as the oracle names it

    def judge(run):
        observed = observe(run, names)
        if expected is None:
            verdict, reason, differing = (
                "diverge",
                f"oracle cannot predict this cell: {unmodelled}",
                [],
            )
        else:
            differing = oracle.compare(expected.compared(), observed)
            verdict = "diverge" if differing else "match"
            reason = (
                "observation matches the engine-adjusted expectation"
                if not differing
                else "observation differs from expectation on " + ", ".join(differing)
            )
        judged.update(observed=observed, verdict=verdict, reason=reason, differing=differing)
        return artifact_dir(item) / f"page-{cell.browser}.png" if verdict == "diverge" else None

    judged: dict[str, Any] = {}
    try:
        run = run_cell(
            engine, pages, api, cell.scenario, cell.probe, host.ledger, judge,
            reconfigure=lambda changes: host.reconfigure(cell.scenario.name, changes),
            page_cache=page_cache,
        )  # fmt: skip
    except Exception as exc:
        page_cache.forget(engine)
        stop_if_servers_died()  # the cell failed because they died: not an engine's doing
        alive = getattr(engine, "alive", None)
        session_gone = alive is not None and not alive()  # before discard() ends the session
        engines.discard(cell.browser, cell.policy)
        if session_gone:  # a remote session gone (its node), not the cell's doing
            at = without_secrets(engine.info.node or engine.info.remote or "?")
            stop(f"the remote session at {at} ended "
                 f"while the cell ran (its node went away): {failure_line(exc)}")  # fmt: skip
        record.update(
            observed=None,
            expected=expected.compared() if expected else None,
            verdict="error",  # the run failed, not the engine's answer: no divergence
            reason=f"cell failed to run: {exc}".splitlines()[0],
        )
        results.write(record)
        counts["error"] += 1
        pytest.fail(
            f"cell failed to run in {cell.browser}: {exc}\nhost log:\n{host.log_tail()}",
            pytrace=False,
        )
    if judged["verdict"] == "diverge":
        stop_if_servers_died()  # nginx died under the cell: what it saw says nothing of CORS
    verdict = judged["verdict"]
    causes = []
    if expected is not None:
        last = expected.origin_headers[-1] if expected.origin_headers else None
        causes = causes_mod.explain(cell.probe, ctx, cell.probe.page, expected.reasons,
                                    expected.outcome, last)  # fmt: skip
    if verdict == "diverge":
        got = judged["observed"]["outcome"]
        causes.append(causes_mod.Cause("unexplained", f"{cell.browser} gave {got}, which the "
                                       "oracle does not predict: see the divergence"))  # fmt: skip
    if verdict == "diverge" and item.config.getoption("--cors-traces"):
        run.artifacts.update(trace_rerun(item, cell, engine, host, pages, api, expected,
                                         page_cache, names))  # fmt: skip
    if item.config.getoption("--cors-verify-fixes") and verdict == "match":
        for cause in causes:
            if cause.rerunnable and cell.probe.reconfigure is None:
                cause.verified = verify_fix(cell, engine, host, pages, api, ctx, cause.fix,
                                            page_cache)  # fmt: skip
    record.update(
        url=run.url,
        token=run.token,
        duration_ms=run.duration_ms,
        ledger=run.ledger,
        setup_ledger=run.setup_ledger,
        observed=judged["observed"],
        expected=expected.as_record() if expected else None,
        spec=spec.as_record() if spec else None,
        spec_agrees_with_expected=(spec.compared() == expected.compared()) if spec else None,
        verdict=verdict,
        reason=judged["reason"],
    )
    record["causes"] = [c.as_record() for c in causes]
    if expected is not None and not ctx.cors:
        record["starlette_changes"] = []  # no CORSMiddleware: no Starlette change reaches it
    elif expected is not None:
        engine_profile = oracle.engine_profile(cell.browser)
        record["starlette_changes"] = starlette_dependence(
            lambda changes: oracle.predict(
                cell.probe, replace(ctx, starlette_changes=changes), engine_profile
            ).compared(),
            ctx.starlette, expected.compared(),
        )  # fmt: skip
    record["engine_message"] = run.engine_messages
    if run.engine_messages is None:
        record["engine_message_note"] = f"{engine.info.driver} exposes no console messages"
    elif not run.engine_messages:
        record["engine_message_note"] = f"{cell.browser} logged no CORS message"
    if run.artifacts:
        record["artifacts"] = run.artifacts
    results.write(record)
    counts[verdict] += 1
    if verdict == "diverge":
        pytest.fail(explain(cell, record, judged["differing"]), pytrace=False)


TRACED_ENGINES = ("chromium", "firefox")  # Playwright's traces; WebDriver has none


def trace_rerun(
    item, cell: Cell, engine, host, pages, api, expected, page_cache, names: dict[str, str]
) -> dict[str, str]:
    """A diverging cell runs once more with a Playwright trace (every call, the page's DOM and
    network at each step; `playwright show-trace` opens it). Tracing every cell would double
    Chromium's run and triple Firefox's, so only divergences pay for it; the record says
    whether the re-run diverged again."""
    if cell.browser not in TRACED_ENGINES or engine.info.driver != "playwright":
        return {}
    path = artifact_dir(item) / f"trace-{cell.browser}.zip"
    try:  # the cell's own pages and API: under domain names for hosts = "domains"
        rerun = run_cell(engine, pages, api, cell.scenario, cell.probe, host.ledger,
                         page_cache=page_cache, trace=path)  # fmt: skip
    except Exception as exc:  # evidence is best effort; the verdict stands
        return {"trace_error": str(exc).splitlines()[0]}
    if "trace" not in rerun.artifacts:
        return {}
    again = expected is None or bool(oracle.compare(expected.compared(), observe(rerun, names)))
    return {"trace": rerun.artifacts["trace"],
            "trace_note": "a re-run of the cell, which "
            + ("diverged again" if again else "matched this time (flaky?)")}  # fmt: skip


def verify_fix(
    cell: Cell,
    engine,
    host,
    pages: dict[str, str],
    api: str,
    ctx,
    fix: dict[str, Any],
    page_cache: PageCache,
) -> dict[str, Any]:
    """Re-run the probe with `fix` applied to the running app: from its own page (it must now
    be readable) and from the attacker page (it must stay unreadable). Through the same page
    cache as the cells: a WebDriver engine has one window, and a page opened beside the cache
    would navigate it away under the cache's feet."""
    kwargs = {k: v for k, v in fix.items() if k not in RECONFIGURABLE_SHAPE}
    fixed_ctx = replace(
        ctx,
        server_kwargs={**ctx.server_kwargs, **substitute_all(kwargs, ctx.origins)},
        **{k: v for k, v in fix.items() if k in RECONFIGURABLE_SHAPE},
    )
    outcome = {}  # from the cell's own pages (under domain names for hosts = "domains")
    host.reconfigure(cell.scenario.name, fix)
    with interrupts.cleanup_unless_interrupted(lambda: host.reconfigure(cell.scenario.name, None)):
        for page in dict.fromkeys([cell.probe.page, "attacker"]):
            probe = cell.probe.model_copy(update={"page": page})
            run = run_cell(
                engine, pages, api, cell.scenario, probe, host.ledger, page_cache=page_cache
            )
            outcome[page] = observe(run)["outcome"]
    _, predicted = oracle.expectations(cell.probe, fixed_ctx, cell.browser)
    before = oracle.cors_model(ctx, ctx.server_kwargs) if ctx.cors else None
    return {
        "browser": cell.browser,
        # the attacker could read it before the fix already (e.g. a broad allow_origin_regex)
        "attacker_allowed_before": bool(before and before.is_allowed_origin(pages["attacker"])),
        "page_readable": readable(outcome[cell.probe.page]),
        "attacker_blocked": outcome["attacker"] in ("cors-error", "opaque"),
        "oracle_agrees": predicted.outcome == outcome[cell.probe.page],
    }


def explain(cell: Cell, record: dict[str, Any], differing: list[str]) -> str:
    obs, exp = record["observed"], record["expected"]
    lines = [
        f"{cell.scenario.name}::{cell.probe.name} in {cell.browser} {record['browser_version']}: "
        f"{record['reason']}",
        f"  page {record['page_origin']} -> {cell.probe.method} {record['url']}",
    ]
    if exp is None:
        return "\n".join(lines + [f"  observed: {obs}"])
    for key in oracle.COMPARED_KEYS:
        mark = "!=" if key in differing else "=="
        lines.append(f"  {key:24} expected {exp[key]!r} {mark} observed {obs[key]!r}")
    if exp["reasons"]:
        lines.append("  oracle: " + "; ".join(exp["reasons"]))
    if obs.get("errors"):
        lines.append("  page errors: " + "; ".join(obs["errors"]))
    lines.append("  ledger (what reached the server):")
    for e in record["ledger"]:
        lines.append(
            f"    {e['method']} {e['path']} preflight={e['preflight']} status={e['status']} "
            f"origin={e['origin']} cookies={e['cookies']} auth={e['authorization']} "
            f"cors={e['response_headers']}"
        )
    if not record["ledger"]:
        lines.append("    (nothing)")
    return "\n".join(lines)
