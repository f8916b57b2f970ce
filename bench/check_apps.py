"""`check` on every small app in tests/check_apps/: command, exit code, wall time, findings.

    .venv/bin/python bench/check_apps.py [--browser chromium ...] [--old-venv PATH]

Prints a Markdown table (the issue note's figures come from it). --old-venv adds the
FastAPI 0.100 / Starlette 0.27 app through --serve from that venv.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FRONT = ["--frontend", "https://app.example.com", "--api-origin", "https://api.example.com"]
LOGIN = ["--login", "POST:/login"]
APPS = [
    ("examples.guide_app.main:app", [*FRONT, *LOGIN, "--endpoint", "GET:/items/1"]),
    ("examples.insecure_app.main:app", [*FRONT, *LOGIN, "--endpoint", "GET:/items/1"]),
    ("tests.check_apps.wildcard_exit:app", [*FRONT, *LOGIN]),
    ("tests.check_apps.string_origins:app", [*FRONT, *LOGIN]),
    ("tests.check_apps.regex_dot:app", [*FRONT, *LOGIN]),
    ("tests.check_apps.reflect_any:app", [*FRONT, *LOGIN]),
    ("tests.check_apps.null_trusted:app", [*FRONT, *LOGIN]),
    ("tests.check_apps.factory:create_app()", [*FRONT, *LOGIN]),
    ("tests.check_apps.mounted_api:app", [*FRONT, "--login", "POST:/api/login"]),
    ("tests.check_apps.bearer_form:app",
     [*FRONT, "--login", "POST:/token username=alice&password=wonderland"]),
    ("tests.check_apps.public_wildcard:app", [*FRONT, "--writes"]),
    ("tests.check_apps.slow:app", ["--frontend", "http://127.0.0.1:5173", "--api-origin",
                                   "http://127.0.0.1:8000", "--timeout", "2"]),
    ("tests.check_apps.dies:app", [*FRONT, "--no-prescan"]),
]  # fmt: skip


def run(target: list[str], extra: list[str], browsers: list[str], cwd: Path) -> tuple:
    out = Path(tempfile.mkdtemp(prefix="check-bench-"))
    argv = [sys.executable, "-m", "cors_matrix", "check", *target, *extra, "-o", str(out)]
    argv += [a for b in browsers for a in ("--browser", b)]
    started = time.monotonic()
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=900)
    seconds = time.monotonic() - started
    findings = [
        re.sub(r"\(confirmed in [^)]*\)", "", line.strip())[:90]
        for line in done.stdout.splitlines()
        if re.match(r"  \[(HIGH|medium|low)\]", line)
    ]
    if done.returncode == 2:
        findings = [(done.stderr.strip().splitlines() or ["?"])[-1][:90]] + [
            line.strip() for line in done.stdout.splitlines() if line.startswith("verdict:")
        ]
    return done.returncode, seconds, findings


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--browser", action="append", default=[])
    parser.add_argument("--old-venv", type=Path)
    args = parser.parse_args()
    jobs = [([target], extra, ROOT) for target, extra in APPS]
    if args.old_venv:
        serve = f"{args.old_venv}/bin/uvicorn old_starlette:app --port {{port}}"
        jobs.append((["--serve", serve], [*FRONT, *LOGIN], ROOT / "tests" / "check_apps"))
    print("| app | exit | wall s | findings (or why no verdict) |\n|---|---|---|---|")
    for target, extra, cwd in jobs:
        code, seconds, findings = run(target, extra, args.browser, cwd)
        print(f"| `{' '.join(target)}` | {code} | {seconds:.1f} | "
              f"{'; '.join(findings) or 'none'} |", flush=True)  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
