"""Property tests of the scenario loader: whatever a user writes, the loader either returns a
scenario or raises ScenarioError with one line that starts with the file's path. Nothing else
(no KeyError, no pydantic traceback, no multi-line message) may escape."""

import json
import tomllib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cors_matrix.scenario import ScenarioError, load_scenario

ROOT = Path(__file__).resolve().parent.parent
CATALOGUE = sorted((ROOT / "scenarios").rglob("test_*.toml"))

SERVER_KEYS = ["allow_origins", "allow_methods", "allow_headers", "allow_credentials",
               "allow_origin_regex", "expose_headers", "max_age", "cors", "proxy",
               "allow_origins_env", "cors_outermost", "bogus"]  # fmt: skip
PROBE_KEYS = ["name", "page", "method", "path", "headers", "body", "credentials", "mode", "cache",
              "repeat", "delay_ms", "read_headers", "set_cookies", "expect", "bogus"]  # fmt: skip

text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)
interesting = st.sampled_from(
    ["{app}", "{cross_site}", "{nope}", "*", "GET", "CONNECT", "Authorization", "Cookie",
     "/data", "/nope", "app", "attacker", "include", "omit", "Bad Header", "", "a\nb"]
)  # fmt: skip
scalar = st.one_of(text, interesting, st.integers(-5, 10**6), st.booleans())
value = st.one_of(
    scalar,
    st.lists(st.one_of(text, interesting), max_size=3),
    st.dictionaries(st.one_of(text, interesting), st.one_of(text, interesting), max_size=2),
)


def toml_string(v: str) -> str:
    """A JSON string is a TOML basic string, except that TOML also wants DEL escaped."""
    return json.dumps(v, ensure_ascii=False).replace("\x7f", "\\u007f")


def toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return toml_string(v)
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    return "{" + ", ".join(f"{toml_string(k)} = {toml_value(x)}"
                           for k, x in v.items()) + "}"  # fmt: skip


def toml_doc(server: dict, probes: list[dict]) -> str:
    lines = ["[server]"] + [f"{k} = {toml_value(v)}" for k, v in server.items()]
    for probe in probes:
        lines.append("[[probe]]")
        lines += [f"{k} = {toml_value(v)}" for k, v in probe.items()]
    return "\n".join(lines) + "\n"


def loads_or_one_line_error(path: Path) -> None:
    try:
        load_scenario(path)
    except ScenarioError as exc:
        message = str(exc)
        assert message.startswith(f"{path}: "), message
        assert "\n" not in message, message


SETTINGS = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip


@SETTINGS
@given(
    server=st.dictionaries(st.sampled_from(SERVER_KEYS), value, max_size=4),
    probes=st.lists(st.dictionaries(st.sampled_from(PROBE_KEYS), value, max_size=5), max_size=3),
)
def test_any_document_loads_or_fails_with_one_line(tmp_path, server, probes):
    path = tmp_path / "test_generated.toml"
    path.write_text(toml_doc(server, probes))
    tomllib.loads(path.read_text())  # the generator itself writes valid TOML
    loads_or_one_line_error(path)


@SETTINGS
@given(data=st.binary(max_size=200))
def test_any_bytes_load_or_fail_with_one_line(tmp_path, data):
    path = tmp_path / "test_bytes.toml"
    path.write_bytes(data)
    loads_or_one_line_error(path)


@SETTINGS
@given(source=st.sampled_from(CATALOGUE), data=st.data())
def test_catalogue_files_with_one_field_replaced(tmp_path, source, data):
    """Near-valid documents reach deeper validation than random ones."""
    doc = tomllib.loads(source.read_text())
    server = doc.get("server", {})
    probes = doc.get("probe", [])
    if probes and data.draw(st.booleans()):
        probe = probes[data.draw(st.integers(0, len(probes) - 1))]
        probe[data.draw(st.sampled_from(PROBE_KEYS))] = data.draw(value)
    else:
        server[data.draw(st.sampled_from(SERVER_KEYS))] = data.draw(value)
    path = tmp_path / "test_mutated.toml"
    path.write_text(toml_doc(server, probes))
    loads_or_one_line_error(path)


@pytest.mark.parametrize("source", CATALOGUE[:3], ids=lambda p: p.name)
def test_the_generator_round_trips_real_scenarios(tmp_path, source):
    """Guard for the mutation test: unmutated catalogue files written back still load."""
    doc = tomllib.loads(source.read_text())
    path = tmp_path / "test_copy.toml"
    path.write_text(toml_doc(doc.get("server", {}), doc.get("probe", [])))
    load_scenario(path)
