"""The `cors-matrix` command (also `python -m cors_matrix`, and `python -m harness` in the
checkout): check, report, merge, releases, flake-check, doctor."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .check.options import add_check_options
from .report import write_junit, write_report
from .run.flake import run as flake_run
from .run.results import ARTIFACTS
from .run.shards import ShardError, merge_shards, missing_cells


def _report(args: argparse.Namespace) -> int:
    try:
        view = write_report(args.results, args.output, artifacts_root=args.artifacts_root,
                            history=args.baseline)  # fmt: skip
        if args.junit:
            write_junit(view, args.junit)
    except FileNotFoundError as exc:
        print(f"cors-matrix report: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # an output that is a directory, unwritable, a full disk
        print(f"cors-matrix report: cannot write {exc.filename}: {exc.strerror}", file=sys.stderr)
        return 2
    for problem in view["problems"]:
        print(f"warning: {problem}", file=sys.stderr)
    incomplete = _incomplete(args.results)
    if view["total_cells"] == 0:  # an empty report is no verdict
        print(f"cors-matrix report: no valid record in {', '.join(map(str, args.results))}",
              file=sys.stderr)  # fmt: skip
        return 1
    errors = view["totals"].get("error", 0)
    print(
        f"report: {args.output / 'index.html'} — {view['total_passed']}/{view['total_cells']} "
        f"cells as expected, {view['totals'].get('diverge', 0)} diverge, "
        + (f"{errors} failed to run, " if errors else "")
        + f"{len(view['findings'])} security findings"
    )
    new = [c for c in view["changes"] or [] if c["kind"] == "new divergence"]
    for change in new[:10]:  # a red nightly's answer, before anyone opens the report
        print(f"new divergence: {change['cell']}: {change['text']}")
    if len(new) > 10:
        print(f"... and {len(new) - 10} more new divergences (the report lists them all)")
    return 1 if incomplete or (args.fail_on_new_divergence and new) else 0


def _incomplete(paths: list[Path]) -> bool:
    """Say, per results file, the collected cells it has no record of (a cut file must not
    read as complete); True when any is missing."""
    incomplete = False
    for path in paths:
        try:
            found = missing_cells(path)
        except ShardError as exc:
            print(f"warning: {exc}; not compared", file=sys.stderr)
            continue
        if found and found[0]:
            missing, collected = found
            incomplete = True
            print(f"missing: {len(missing)} of {collected} collected cells have no record in "
                  f"{path} (a cut or unfinished file?), e.g. {'/'.join(missing[0])}",
                  file=sys.stderr)  # fmt: skip
    return incomplete


def _check(args: argparse.Namespace) -> int:
    from .check import run_check  # imports uvicorn, trustme and the engines: only when used
    from .run import interrupts
    from .serve import reaper

    watcher = reaper.Reaper()  # the app, the engines and the relay end with check
    interrupts.install(first_ends_run=True)  # Ctrl-C must not kill Playwright's loop mid-task
    try:
        with watcher.marking():
            return run_check(args)
    finally:
        interrupts.uninstall()
        watcher.stop()


def _doctor(args: argparse.Namespace) -> int:
    from .doctor import run as doctor

    return doctor()


def _releases(args: argparse.Namespace) -> int:
    from .report.releases_doc import releases_markdown

    missing = [str(p) for p in args.results if not p.is_file()]
    if missing:
        print(f"cors-matrix releases: results file not found: {', '.join(missing)}",
              file=sys.stderr)  # fmt: skip
        return 2
    try:
        text = releases_markdown(args.results)
    except ValueError as exc:
        print(f"cors-matrix releases: {exc}", file=sys.stderr)
        return 2
    if args.output:
        args.output.write_text(text)
    else:
        print(text)
    return 0


def _merge(args: argparse.Namespace) -> int:
    try:
        summary = merge_shards(args.results, args.output)
    except ShardError as exc:
        print(f"cors-matrix merge: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"cors-matrix merge: cannot write {exc.filename}: {exc.strerror}", file=sys.stderr)
        return 2
    for problem in summary["problems"]:
        print(f"warning: {problem}", file=sys.stderr)
    for cell in summary["missing"]:
        print(f"missing: {'/'.join(cell)} (no shard delivered this cell)", file=sys.stderr)
    for browser, reasons in sorted(summary["no_engine"].items()):
        print(f"not run: {browser} could not be had in {len(reasons)} cells: {reasons[0]}",
              file=sys.stderr)  # fmt: skip
    print(
        f"merged {len(args.results)} files into {args.output}: {summary['cells']} of "
        f"{summary['expected']} expected cells, {len(summary['missing'])} missing"
        + (f", {sum(map(len, summary['no_engine'].values()))} not run for want of an engine"
           if summary["no_engine"] else "")
    )  # fmt: skip
    return 1 if summary["missing"] or summary["no_engine"] else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="cors-matrix")
    sub = parser.add_subparsers(dest="command", required=True)
    report = sub.add_parser("report", help="render results files into an HTML report")
    report.add_argument("results", nargs="+", type=Path, help="JSON Lines results files")
    report.add_argument("-o", "--output", type=Path, default=Path("report"))
    report.add_argument(
        "--baseline", nargs="+", type=Path, action="append",
        help="a previous run's results files (its shards); repeat for several runs, oldest "
        "first: changes are against the last, and the report shows a per-engine trend",
    )  # fmt: skip
    report.add_argument("--junit", type=Path, help="also write JUnit XML here")
    report.add_argument("--artifacts-root", type=Path, default=Path(ARTIFACTS),
                        help="the run's artifact folder: only screenshots inside it are copied "
                        f"into the report (default ./{ARTIFACTS})")  # fmt: skip
    report.add_argument(
        "--fail-on-new-divergence",
        action="store_true",
        help="exit 1 when a cell diverges that did not in the baseline",
    )
    report.set_defaults(func=_report)
    check = sub.add_parser("check", help="your app under its real origins, 3 engines")
    add_check_options(check)
    check.set_defaults(func=_check)
    releases = sub.add_parser("releases", help="what changed between --starlette releases, "
                              "measured: a Markdown table per model change")  # fmt: skip
    releases.add_argument("results", nargs="+", type=Path, help="a --starlette run's records")
    releases.add_argument("-o", "--output", type=Path, help="write here instead of stdout")
    releases.set_defaults(func=_releases)
    merge = sub.add_parser("merge", help="unite shards' results; fail if a cell is missing")
    merge.add_argument("results", nargs="+", type=Path, help="each shard's JSON Lines file")
    merge.add_argument("-o", "--output", type=Path, required=True, help="merged JSON Lines")
    merge.set_defaults(func=_merge)
    flake = sub.add_parser("flake-check", help="run the matrix N times, list cells that changed")
    flake.add_argument("--runs", type=int, default=10)
    flake.add_argument("-o", "--output", type=Path, default=Path("results/flake"))
    flake.add_argument(
        "pytest_args",
        nargs="*",
        default=["scenarios/"],
        help="what to run (after --), default scenarios/",
    )
    flake.set_defaults(func=lambda a: flake_run(a.runs, a.output, a.pytest_args))
    doctor = sub.add_parser("doctor", help="which engines, Playwright and probe page this "
                            "install finds, and how to get what is missing")  # fmt: skip
    doctor.set_defaults(func=_doctor)
    args = parser.parse_args(argv)
    return args.func(args)
