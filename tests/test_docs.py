"""The README and docs/ say only what works: their scenario examples load, their links lead
somewhere, and every plugin option is in the README's options table."""

import re
from pathlib import Path

import pytest

from cors_matrix.scenario import load_scenario

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
MINIMAL_PROBE = '\n[[probe]]\nname = "p"\npath = "/data"\n'


def _toml_examples():
    for page in PAGES:
        for n, block in enumerate(re.findall(r"```toml\n(.*?)```", page.read_text(), re.S)):
            yield pytest.param(block, id=f"{page.name}-{n}")


@pytest.mark.parametrize("example", list(_toml_examples()))
def test_every_scenario_example_loads(example, tmp_path):
    if "[[probe]]" not in example:  # a fragment that shows [server] only
        example += MINIMAL_PROBE
    path = tmp_path / "test_example.toml"
    path.write_text(example)
    assert load_scenario(path).probes


def test_every_relative_link_leads_to_a_file_or_heading():
    broken = []
    for page in PAGES:
        text = page.read_text()
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if re.match(r"[a-z]+:", target):
                continue
            file, _, anchor = target.partition("#")
            where = (page.parent / file).resolve() if file else page
            if not where.exists():
                broken.append(f"{page.name}: {target}")
            elif anchor and where.suffix == ".md" and anchor not in _anchors(where.read_text()):
                broken.append(f"{page.name}: {target} (no such heading)")
    assert broken == []


def _anchors(markdown: str) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens."""
    headings = re.findall(r"^#+ (.+)$", markdown, re.M)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}


def test_the_readme_options_table_lists_every_plugin_option():
    source = (ROOT / "harness" / "run" / "options.py").read_text()
    options = set(re.findall(r'"(--cors-[a-z-]+)"', source))
    table = (ROOT / "README.md").read_text().split("## Options", 1)[1].split("\n## ", 1)[0]
    assert options and {o for o in options if f"`{o}" not in table} == set()
