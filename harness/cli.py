"""`python -m harness ...`: entry points that work on result records (no pytest needed)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .engines.base import BROWSERS, COOKIE_POLICIES, DEFAULT_COOKIE_POLICY
from .flake import run as flake_run
from .report import write_junit, write_report
from .results import ARTIFACTS
from .shards import ShardError, merge_shards


def _report(args: argparse.Namespace) -> int:
    try:
        view = write_report(args.results, args.output, artifacts_root=args.artifacts_root,
                            history=args.baseline)  # fmt: skip
    except FileNotFoundError as exc:
        print(f"harness report: {exc}", file=sys.stderr)
        return 2
    if args.junit:
        write_junit(view, args.junit)
    for problem in view["problems"]:
        print(f"warning: {problem}", file=sys.stderr)
    if view["total_cells"] == 0:  # an empty report is no verdict
        print(f"harness report: no valid record in {', '.join(map(str, args.results))}",
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
    return 1 if args.fail_on_new_divergence and new else 0


def _check(args: argparse.Namespace) -> int:
    from . import interrupts, reaper
    from .check import run_check  # imports uvicorn, trustme and the engines: only when used

    stop_watching = reaper.start()  # the app, the engines and the relay end with check
    interrupts.install(first_ends_run=True)  # Ctrl-C must not kill Playwright's loop mid-task
    try:
        return run_check(args)
    finally:
        interrupts.uninstall()
        stop_watching()


def _releases(args: argparse.Namespace) -> int:
    from .releases_doc import releases_markdown

    missing = [str(p) for p in args.results if not p.is_file()]
    if missing:
        print(f"harness releases: results file not found: {', '.join(missing)}", file=sys.stderr)
        return 2
    try:
        text = releases_markdown(args.results)
    except ValueError as exc:
        print(f"harness releases: {exc}", file=sys.stderr)
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
        print(f"harness merge: {exc}", file=sys.stderr)
        return 2
    for problem in summary["problems"]:
        print(f"warning: {problem}", file=sys.stderr)
    for cell in summary["missing"]:
        print(f"missing: {'/'.join(cell)} (no shard delivered this cell)", file=sys.stderr)
    print(
        f"merged {len(args.results)} files into {args.output}: {summary['cells']} of "
        f"{summary['expected']} expected cells, {len(summary['missing'])} missing"
    )
    return 1 if summary["missing"] else 0


def add_check_options(check: argparse.ArgumentParser) -> None:
    check.add_argument("app", nargs="?", help="module:attribute of your ASGI app (or a factory: "
                       "module:create_app()), run by --python; or use --serve")  # fmt: skip
    check.add_argument(
        "--serve",
        metavar="COMMAND",
        help="the command you run your app with, "
        "with {port} for the port, e.g. 'uvicorn app.main:app --port {port}'",
    )
    check.add_argument("--python", help="the interpreter that runs module:app (your venv's); "
                       "default: this one")  # fmt: skip
    check.add_argument("--factory", action="store_true", help="module:attr is an app factory")
    check.add_argument("--cwd", help="directory to run the app in (default: here)")
    check.add_argument("--frontend", action="append", default=[],
                       help="an origin your frontend runs on (repeatable)")  # fmt: skip
    check.add_argument(
        "--api-origin",
        default="https://api.example.com",
        help="the origin the API is served on (default https://api.example.com)",
    )
    check.add_argument(
        "--endpoint",
        action="append",
        default=[],
        help="METHOD:/path[ BODY] to probe (repeatable; always probed); "
        "default: every safe operation of the app's OpenAPI schema",
    )
    check.add_argument(
        "--writes",
        action="store_true",
        help="also probe discovered POST/PUT/PATCH/DELETE operations",
    )
    check.add_argument("--max-endpoints", type=int, default=50)
    check.add_argument(
        "--openapi",
        action="append",
        default=[],
        help="path of the app's OpenAPI JSON (with --serve; repeatable)",
    )
    check.add_argument("--login", help="METHOD:/path[ BODY] that signs in: JSON or form body "
                       "(e.g. 'POST:/token username=a&password=b')")  # fmt: skip
    check.add_argument(
        "--auth",
        default="auto",
        help="cookie | bearer | none; default: "
        "inferred from the login answer (a cookie set, or a token returned)",
    )
    check.add_argument(
        "--read-header",
        action="append",
        default=[],
        help="a response header the frontend must be able to read",
    )
    check.add_argument(
        "--timeout",
        type=float,
        default=10.0,
        help="seconds per request before it counts as timed out (max 15)",
    )
    check.add_argument(
        "--start-timeout",
        type=float,
        default=60.0,
        help="seconds the app may take to answer HTTP after starting",
    )
    check.add_argument(
        "--max-attackers",
        type=int,
        default=10,
        help="trusted attacker origins confirmed in browsers, per frontend",
    )
    check.add_argument("--no-prescan", action="store_true", help="skip the HTTP pre-scan")
    check.add_argument("--browser", action="append", choices=BROWSERS)
    check.add_argument("--cookie-policy", default=DEFAULT_COOKIE_POLICY, choices=COOKIE_POLICIES)
    check.add_argument("-o", "--output", default="report/check", help="report directory")
    check.add_argument(
        "--keep-run-files",
        action="store_true",
        help="keep the per-run CA key "
        "and the app's log in OUTPUT/run-files (default: a temporary directory)",
    )


def check_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m harness check")
    add_check_options(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness")
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
    args = parser.parse_args(argv)
    return args.func(args)
