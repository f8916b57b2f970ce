"""The HTML report: merging, conflicts, baseline changes, findings, JUnit; and the page itself
opened in real engines (counts, a click into a cell's evidence, a filter, a screenshot)."""

import json
import re
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from cors_matrix.cli import main as cli
from cors_matrix.engines import EnginePool
from cors_matrix.report import merge, write_report
from cors_matrix.run.results import SCHEMA

ROOT = Path(__file__).resolve().parent.parent


def record(
    scenario="s",
    probe="p",
    browser="chromium",
    verdict="match",
    outcome="ok",
    page="app",
    credentials="same-origin",
    theme="origins",
    cookies=(),
    policy="block-third-party",
):
    observed = {
        "outcome": outcome,
        "status": 200 if outcome == "ok" else None,
        "headers": {},
        "preflights": 0,
        "requests": 1,
        "cookies_received": list(cookies),
        "authorization_received": False,
        "attempts": [outcome],
        "errors": [],
    }
    return {
        "schema": SCHEMA,
        "scenario": scenario,
        "probe": probe,
        "browser": browser,
        "browser_version": "1.0",
        "cookie_policy": policy,
        "theme": theme,
        "page": page,
        "description": f"{scenario} shows something",
        "page_origin": "http://127.0.0.1:1",
        "url": "http://localhost:2/data?cm_probe=t",
        "request": {"method": "GET", "credentials": credentials},
        "observed": observed,
        "verdict": verdict,
        "reason": f"because {verdict}",
        "expected": {**observed, "reasons": ["no Access-Control-Allow-Origin"], "differences": []},
        "spec_agrees_with_expected": True,
        "ledger": [
            {
                "method": "GET",
                "path": "/data",
                "preflight": False,
                "status": 200,
                "origin": "http://127.0.0.1:1",
                "cookies": list(cookies),
                "authorization": False,
                "response_headers": {"access-control-allow-origin": ["http://127.0.0.1:1"]},
            }
        ],
    }


def write(path: Path, records, extra_lines=()):
    path.write_text("".join(json.dumps(r) + "\n" for r in records) + "".join(extra_lines))
    return path


RECORDS = [
    record("exact", "get", "chromium"),
    record("exact", "get", "firefox"),
    record("exact", "get", "webkit", verdict="diverge", outcome="cors-error"),
    record(
        "wild",
        "steal",
        "chromium",
        page="attacker",
        credentials="include",
        cookies=["sid"],
        theme="wildcard",
    ),
    record("wild", "steal", "firefox", verdict="not-run", outcome="ok", theme="wildcard"),
]


def test_merge_reports_duplicates_conflicts_and_bad_lines(tmp_path):
    a = write(tmp_path / "a.jsonl", RECORDS[:2])
    b = write(
        tmp_path / "b.jsonl",
        [RECORDS[0], record("exact", "get", "firefox", verdict="diverge", outcome="cors-error")],
        extra_lines=['{"schema": 1, "scenario": "trunc'],
    )
    merged = merge([a, b])
    assert len(merged.cells) == 2
    problems = "\n".join(merged.problems)
    assert "duplicate cell exact/get/chromium" in problems
    assert "conflicting cell exact/get/firefox" in problems
    assert "b.jsonl:3: not valid JSON" in problems
    assert list(merged.conflicts) == [("exact", "get", "firefox", "block-third-party")]


def test_view_counts_findings_and_baseline_changes(tmp_path):
    now = write(tmp_path / "now.jsonl", RECORDS)
    before = write(tmp_path / "before.jsonl", [record("exact", "get", "webkit"), RECORDS[0]])
    view = write_report([now], tmp_path / "out", baseline=[before])
    assert view["total_cells"] == 5 and view["total_passed"] == 3
    assert view["totals"]["diverge"] == 1 and view["totals"]["not-run"] == 1
    assert [(f["severity"], f["cell"]) for f in view["findings"]] == [("high", "wild / steal")]
    first = view["changes"][0]
    assert (first["kind"], first["cell"]) == (
        "new divergence",
        "exact/get/webkit/block-third-party",
    )
    assert (tmp_path / "out" / "index.html").is_file()


def test_cli_writes_junit_and_fails_on_new_divergence(tmp_path, capsys):
    now = write(tmp_path / "now.jsonl", RECORDS)
    before = write(tmp_path / "before.jsonl", [record("exact", "get", "webkit")])
    junit = tmp_path / "junit.xml"
    code = cli(
        [
            "report",
            str(now),
            "-o",
            str(tmp_path / "r"),
            "--junit",
            str(junit),
            "--baseline",
            str(before),
            "--fail-on-new-divergence",
        ]
    )
    assert code == 1
    assert "3/5 cells as expected, 1 diverge, 1 security findings" in capsys.readouterr().out
    suites = ET.parse(junit).getroot()
    assert sum(int(s.get("failures")) for s in suites) == 1
    assert sum(int(s.get("skipped")) for s in suites) == 1
    assert cli(["report", str(tmp_path / "absent.jsonl"), "-o", str(tmp_path / "r")]) == 2


@pytest.mark.unit
def test_a_cell_added_diverging_is_a_new_divergence(tmp_path, capsys):
    """A scenario added red must turn the nightly red: it is no less new than a cell that
    matched before."""
    now = write(
        tmp_path / "now.jsonl",
        [record("old", "p"), record("added", "p", verdict="diverge"), record("added", "q")],
    )
    before = write(tmp_path / "before.jsonl", [record("old", "p")])
    code = cli(["report", str(now), "-o", str(tmp_path / "r"), "--baseline", str(before),
                "--fail-on-new-divergence"])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 1
    assert "new divergence: added/p/chromium/block-third-party: new cell, diverges: because " \
           "diverge" in out, out  # fmt: skip
    assert "added/q" not in out  # a new cell that matches is news, not a failure
    assert cli(["report", str(now), "-o", str(tmp_path / "r"), "--baseline", str(now),
                "--fail-on-new-divergence"]) == 0  # fmt: skip


@pytest.mark.unit
def test_a_baseline_written_before_a_compared_field_existed_is_not_a_change():
    """`methods` and `origin_headers` came after many baselines: a field one record lacks is
    not compared, a field both have still is."""
    from cors_matrix.report.merge import diff_baseline

    old, new = record("s", "p"), record("s", "p")
    new["observed"]["methods"], new["observed"]["origin_headers"] = ["GET"], ["app"]
    key = ("s", "p", "chromium", "block-third-party")
    assert diff_baseline({key: new}, {key: old}) == []
    moved = record("s", "p")
    moved["observed"]["methods"], moved["observed"]["origin_headers"] = ["GET"], ["null"]
    assert [c["kind"] for c in diff_baseline({key: moved}, {key: new})] == ["changed"]


def test_a_cell_that_failed_to_run_is_an_error_not_a_divergence(tmp_path, capsys):
    crashed = {**record("exact", "get", "firefox", verdict="error"), "observed": None,
               "reason": "cell failed to run: the page crashed"}  # fmt: skip
    now = write(tmp_path / "now.jsonl", [record("exact", "get", "chromium"), crashed])
    before = write(tmp_path / "before.jsonl", [record("exact", "get", "chromium"),
                                               record("exact", "get", "firefox")])  # fmt: skip
    junit = tmp_path / "junit.xml"
    code = cli(["report", str(now), "-o", str(tmp_path / "r"), "--junit", str(junit),
                "--baseline", str(before), "--fail-on-new-divergence"])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0, out  # a harness failure is no new divergence of an engine
    assert "1/2 cells as expected, 0 diverge, 1 failed to run" in out
    suites = ET.parse(junit).getroot()
    assert sum(int(s.get("errors")) for s in suites) == 1
    assert sum(int(s.get("failures")) for s in suites) == 0
    html = (tmp_path / "r" / "index.html").read_text()
    assert 'data-bucket="error"' in html and "failed to run" in html


@pytest.fixture(scope="module")
def engines():
    pool = EnginePool()
    yield pool
    pool.close()


@pytest.fixture
def report_url(tmp_path):
    write_report([write(tmp_path / "r.jsonl", RECORDS)], tmp_path / "report")
    return (tmp_path / "report" / "index.html").as_uri()


COUNT_JS = """async () => ({
  cells: document.querySelectorAll("#grid td[data-bucket]").length,
  diverge: document.querySelectorAll('#grid td[data-bucket="diverge"]').length,
  title: document.title,
})"""


def test_report_in_chromium_counts_click_filter_screenshot(page, report_url):
    """With pytest-playwright's own `page` (Debian's Chromium, tests/conftest.py): this test
    clicks like a person, beside the harness's engines in the same session."""
    _click_filter_screenshot(page, report_url)


def _click_filter_screenshot(page, report_url: str) -> None:
    from playwright.sync_api import expect

    page.goto(report_url)
    counts = page.evaluate(COUNT_JS)
    assert counts["cells"] == len(RECORDS) and counts["diverge"] == 1
    assert "3/5 cells as expected" in counts["title"]
    page.click('#grid td[data-bucket="diverge"] a')
    detail = page.locator("section.detail.shown")
    expect(detail).to_be_visible()
    expect(detail).to_contain_text("the server saw")
    expect(detail).to_contain_text("access-control-allow-origin: http://127.0.0.1:1")
    page.check("#f-diverge")
    expect(page.locator("#grid tr.cells:not(.hidden)")).to_have_count(1)
    page.select_option("#f-engine", "firefox")
    assert page.locator('#grid td[data-browser="chromium"]:not(.hidden)').count() == 0
    shots = ROOT / "results" / "artifacts" / "report"
    shots.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shots / "report-filtered.png"), full_page=True)


@pytest.mark.parametrize("name", ["firefox", "webkit"])
def test_report_renders_in_other_engines(engines, report_url, name):
    page = engines.get(name, "block-third-party").new_page()
    try:
        page.goto(report_url)
        counts = page.run(COUNT_JS, None)
    finally:
        page.close()
    assert counts["cells"] == len(RECORDS) and counts["diverge"] == 1


def test_only_pngs_inside_the_artifact_folder_are_copied(tmp_path):
    """A poisoned shard may name any file as its screenshot; the report is published."""
    artifacts = tmp_path / "results" / "artifacts"
    (artifacts / "cell").mkdir(parents=True)
    good = artifacts / "cell" / "page-chromium.png"
    good.write_bytes(b"\x89PNG\r\n\x1a\n" + b"0" * 16)
    fake = artifacts / "cell" / "page-firefox.png"
    fake.write_bytes(b"SECRET=1\n")  # in the folder, but no PNG
    link = artifacts / "cell" / "page-webkit.png"
    link.symlink_to("/proc/self/environ")  # in the folder by name, outside it in fact
    moved = artifacts / "cell" / "page-moved.png"  # a nightly shard's, downloaded here
    moved.write_bytes(b"\x89PNG\r\n\x1a\n" + b"1" * 16)
    rows = [record(probe=name, verdict="diverge")
            for name in ("good", "outside", "fake", "link", "moved", "climb")]  # fmt: skip
    shots = (good, "/proc/self/environ", fake, link,
             "/home/runner/work/app/app/results/artifacts/cell/page-moved.png",
             "/x/results/artifacts/../../../../proc/self/environ")  # fmt: skip
    for row, shot in zip(rows, shots, strict=True):
        row["artifacts"] = {"screenshot": str(shot)}
    out = tmp_path / "report"
    view = write_report([write(tmp_path / "r.jsonl", rows)], out, artifacts_root=artifacts)
    copied = sorted((out / "artifacts").iterdir())
    assert sorted(p.read_bytes() for p in copied) == [good.read_bytes(), moved.read_bytes()]
    refused = [p for p in view["problems"] if "not copied" in p]
    assert len(refused) == 4, view["problems"]
    assert "SECRET" not in (out / "index.html").read_text()


MARKED = {  # three known cells of the catalogue and the server-side mark each must show
    ("origin-not-listed", "simple-get"): "\u26a0 ran",  # blocked in the page, ran on the server
    ("cookie-without-allow-credentials", "get-with-cookie"): "C:",  # the cookie arrived
    ("authorization-without-allow-credentials", "bearer-default-credentials-mode"): "A",
}


def test_marks_evidence_beside_the_grid_and_a_claim_in_a_real_report(tmp_path, page):
    """A real run of three catalogue cells in Chromium, its report opened in Chromium: each
    cell's marks say what its record says the server saw; a click opens the evidence beside
    the grid (no jump to the end of the page); a claim links to its deciding cell."""
    from playwright.sync_api import expect

    results = tmp_path / "run.jsonl"
    files = [
        ROOT / "scenarios" / "origins" / "test_origin_not_listed.toml",
        ROOT / "scenarios" / "credentials" / "test_cookie_without_allow_credentials.toml",
        ROOT / "scenarios" / "headers" / "test_authorization_without_allow_credentials.toml",
    ]
    run = subprocess.run([sys.executable, "-m", "pytest", *map(str, files), "-q", "-p",
                          "no:cacheprovider", "--cors-browser", "chromium", "--cors-results",
                          str(results)], capture_output=True, text=True, timeout=300,
                         cwd=tmp_path)  # fmt: skip
    assert run.returncode == 0, run.stdout[-2000:]
    records = {
        (r["scenario"], r["probe"]): r
        for r in map(json.loads, results.read_text().split("\n")[:-1])
    }
    write_report([results], tmp_path / "report")
    page.set_viewport_size({"width": 1400, "height": 900})
    page.goto((tmp_path / "report" / "index.html").as_uri())
    for (scenario, probe), mark in MARKED.items():
        record = records[(scenario, probe)]
        anchor = f"{scenario}--{probe}--chromium--block-third-party"
        cell = page.locator(f'td[data-anchor="{anchor}"]')
        marks = cell.locator(".marks abbr").all_inner_texts()
        observed = record["observed"]
        assert f"R{observed['requests']}" in marks, (anchor, marks)
        assert any(m.startswith(mark) for m in marks), (anchor, marks)
        ran_blocked = observed["requests"] > 0 and observed["outcome"] not in ("ok", "http-error")
        assert ("\u26a0 ran" in marks) == ran_blocked, marks
        assert any(m.startswith("C:") for m in marks) == bool(observed["cookies_received"])
        assert ("A" in marks) == observed["authorization_received"], marks
    blocked = page.locator(
        'td[data-anchor="origin-not-listed--simple-get--chromium--block-third-party"]'
    )
    assert "ran-blocked" in blocked.get_attribute("class")
    before = page.evaluate("window.scrollY")
    blocked.locator("a").click()
    detail = page.locator("#origin-not-listed--simple-get--chromium--block-third-party")
    expect(detail).to_be_visible()
    expect(detail).to_contain_text("1 request(s)")
    grid, panel = page.locator("#grid").bounding_box(), detail.bounding_box()
    assert panel["x"] >= grid["x"] + grid["width"], (grid, panel)  # beside the grid
    assert 0 <= panel["y"] < 900, panel  # in view, not at the end of the page
    assert abs(page.evaluate("window.scrollY") - before) < 900
    assert (
        page.evaluate("location.hash")
        == "#origin-not-listed--simple-get--chromium--block-third-party"
    )
    page.locator("#claims-section > summary").click()  # collapsed below the grid
    claim = page.locator("#claim-8")  # "without allow_credentials the cookie is not sent"
    expect(claim.locator('td[data-engine="chromium"]')).to_have_attribute(
        "data-verdict", "does not hold"
    )
    claim.locator('td[data-engine="chromium"] a').click()
    shown = page.locator("section.detail.shown")
    expect(shown).to_have_attribute(
        "id", "cookie-without-allow-credentials--get-with-cookie--chromium--block-third-party"
    )
    expect(shown).to_contain_text("cookies sid")


UNMODELLED = """
[scenario]
name = "unmodelled-redirect"
description = "a redirect to a page origin, which the oracle does not serve: a divergence"

[server]
cors = false

[[server.route]]
path = "/x"
status = 307
headers = [["Location", "{app}/"], ["Access-Control-Allow-Origin", "{app}"]]

[[probe]]
name = "p"
path = "/x"
"""


def test_a_diverging_cell_gets_a_playwright_trace_linked_from_the_report(tmp_path):
    import zipfile

    (tmp_path / "test_unmodelled.toml").write_text(UNMODELLED)
    results = tmp_path / "run.jsonl"
    subprocess.run([sys.executable, "-m", "pytest", str(tmp_path / "test_unmodelled.toml"), "-q",
                    "-p", "no:cacheprovider", "--cors-browser", "chromium",
                    "--cors-browser", "firefox",
                    "--cors-results", str(results)], capture_output=True, timeout=300,
                   cwd=tmp_path)  # fmt: skip
    records = [json.loads(line) for line in results.read_text().splitlines()]
    assert [r["verdict"] for r in records] == ["diverge", "diverge"]
    for record in records:
        trace = Path(record["artifacts"]["trace"])
        assert "diverged again" in record["artifacts"]["trace_note"]
        with zipfile.ZipFile(trace) as z:  # a real Playwright trace of the re-run
            events = z.read("trace.trace").decode()
        assert "cm_probe=unmodelled-redirect.p." in events and '"type":"before"' in events
    artifacts = tmp_path / "results" / "artifacts"
    view = write_report([results], tmp_path / "report", artifacts_root=artifacts)
    html = (tmp_path / "report" / "index.html").read_text()
    for detail in view["details"]:
        assert (tmp_path / "report" / detail["trace"]).is_file()
        assert f'href="{detail["trace"]}"' in html
    assert "playwright show-trace" in html


FIRST_SCREEN = [  # two themes: a security finding (an attacker page reads) and blocked reads
    ROOT / "scenarios" / "wildcard" / "test_wildcard_with_credentials.toml",
    ROOT / "scenarios" / "origins" / "test_origin_not_listed.toml",
]


def test_the_first_screen_answers_what_crossed_and_what_is_wrong(tmp_path, page):
    """A real run opened at 1400x900: the grid starts on the first screen, a finding is marked
    in the grid itself, the evidence panel is wide and its JSON unbroken, fixes name the run's
    origins, "nothing diverged" is said, and at 390 px the page does not scroll sideways."""
    from playwright.sync_api import expect

    results = tmp_path / "run.jsonl"
    run = subprocess.run([sys.executable, "-m", "pytest", *map(str, FIRST_SCREEN), "-q", "-p",
                          "no:cacheprovider", "--cors-browser", "chromium", "--cors-results",
                          str(results)], capture_output=True, text=True, timeout=300,
                         cwd=tmp_path)  # fmt: skip
    assert run.returncode == 0, run.stdout[-2000:]
    records = [json.loads(line) for line in results.read_text().splitlines()]
    write_report([results], tmp_path / "report")
    page.set_viewport_size({"width": 1400, "height": 900})
    page.goto((tmp_path / "report" / "index.html").as_uri())
    first_row = page.locator("#grid tr.cells").first.bounding_box()
    assert first_row["y"] + first_row["height"] <= 900, first_row  # no scrolling to the grid
    # every attacker read is marked in the grid, and nothing else is
    readable = {"ok", "http-error"}
    attacker_reads = {f"{r['scenario']}--{r['probe']}--chromium--block-third-party"
                      for r in records if r["page"] == "attacker"
                      and r["observed"]["outcome"] in readable}  # fmt: skip
    marked = set(page.locator("td.finding").evaluate_all("els => els.map(e => e.dataset.anchor)"))
    assert attacker_reads and marked == attacker_reads
    cell = page.locator(f'td[data-anchor="{sorted(attacker_reads)[0]}"]')
    expect(cell.locator(".alarm")).to_have_text("\u26a0 attacker reads")
    # the evidence beside the grid: wide, and its JSON is never broken inside a word
    cell.locator("a").click()
    shown = page.locator("section.detail.shown")
    assert shown.bounding_box()["width"] >= 450
    for pre in shown.locator("pre").all():
        lines = pre.inner_text().rstrip("\n").count("\n") + 1
        height = pre.evaluate("el => el.scrollHeight - parseFloat(getComputedStyle(el).paddingTop)"
                              " - parseFloat(getComputedStyle(el).paddingBottom)")  # fmt: skip
        line = pre.evaluate("el => parseFloat(getComputedStyle(el).lineHeight)")
        assert height <= (lines + 0.5) * line, (lines, height, line)  # one box per line
    # a fix names the run's own origins, not placeholders
    fixed = next(r for r in records if any(c.get("fix") for c in r["causes"]))
    page.locator(f'td[data-anchor="{fixed["scenario"]}--{fixed["probe"]}--chromium--'
                 'block-third-party"] a').click()  # fmt: skip
    cause = page.locator("section.detail.shown dd ul").filter(has_text="fix:").first
    expect(cause).to_contain_text(fixed["page_origin"])
    assert not re.search(r"\{[a-z_]+\}", cause.locator("code").last.inner_text())
    # nothing diverged: said below the grid, and by the filter
    assert {r["verdict"] for r in records} == {"match"}
    expect(page.locator("#nothing-diverged")).to_be_visible()
    page.locator("#f-diverge").check()
    expect(page.locator("#filter-empty")).to_contain_text("Nothing diverged")
    # a phone: the page itself never scrolls sideways (the grid scrolls in its own box)
    page.set_viewport_size({"width": 390, "height": 844})
    page.locator("#f-diverge").uncheck()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
