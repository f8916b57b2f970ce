"""The oracle's model of CORSMiddleware answers exactly as the installed Starlette does.

Generated cases (tests/starlette_cases.py) go to the real CORSMiddleware, in process and
driven as ASGI (harness/serve/starlette_driver.py), and to the model of the installed release;
status and every CORS response header, Vary included, must agree. This checks the model
against the thing it models, never against browser observations.
tests/test_starlette_releases.py does the same for every supported minor release, each in its
own venv.
"""

from importlib.metadata import version

import pytest
from hypothesis import HealthCheck, given, settings
from starlette_cases import cases

from cors_matrix.serve.starlette_driver import answer
from cors_matrix.spec.starlette_cases import agree, model_answer, real_answer
from cors_matrix.spec.starlette_model import (
    CHANGES,
    MINOR_RELEASES,
    CORSMiddlewareModel,
    ServerAnswer,
    UnsupportedOption,
    UnsupportedRelease,
    changes_between,
    changes_in,
    minor_of,
)

INSTALLED = version("starlette")


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=cases)
def test_model_of_the_installed_release_answers_as_its_middleware(case):
    model, real = model_answer(case, INSTALLED), real_answer(answer(case))
    assert agree(model, real), (model, real)


def test_wildcard_with_credentials_mirrors_any_origin():
    """The guide says '*' cannot be combined with credentials; Starlette 1.10 mirrors instead."""
    model = CORSMiddlewareModel(allow_origins=["*"], allow_credentials=True)
    answer = model.add_simple_headers("http://evil.example", ServerAnswer(200, {}))
    assert answer.get("access-control-allow-origin") == "http://evil.example"
    assert answer.get("access-control-allow-credentials") == "true"


def test_before_1_0_the_wildcard_mirrors_only_a_request_with_a_cookie():
    model = CORSMiddlewareModel.from_kwargs(
        {"allow_origins": ["*"], "allow_credentials": True}, starlette="0.52.1"
    )
    plain = model.add_simple_headers("http://evil.example", ServerAnswer(200, {}))
    with_cookie = model.add_simple_headers("http://evil.example", ServerAnswer(200, {}), True)
    assert plain.get("access-control-allow-origin") == "*"
    assert with_cookie.get("access-control-allow-origin") == "http://evil.example"


def test_lowercase_method_in_config_refuses_uppercase_preflight():
    answer = CORSMiddlewareModel(allow_origins=["http://a.test"], allow_methods=["put"]).preflight(
        "http://a.test", "PUT", None
    )
    assert answer.status == 400 and "method" in answer.note


def test_an_option_the_release_lacks_is_refused_naming_the_release():
    with pytest.raises(UnsupportedOption, match=r"needs starlette >= 0\.51 .*0\.50\.0"):
        CORSMiddlewareModel.from_kwargs({"allow_private_network": True}, starlette="0.50.0")


@pytest.mark.parametrize("release", ["0.26.1", "1.11.0", "2.0.0", "banana"])
def test_a_release_outside_the_range_is_refused_in_one_line_naming_the_range(release):
    with pytest.raises(UnsupportedRelease) as info:
        changes_in(release)
    assert str(info.value).count("\n") == 0 and "0.27.x to 1.10.x" in str(info.value)


def test_patch_and_post_releases_take_their_minor_release_model():
    assert minor_of("0.32.0.post1") == "0.32" and minor_of("1.4.1") == "1.4"
    assert changes_in("0.50.0") == frozenset() and changes_in("1.10.0") == {c.id for c in CHANGES}
    assert [c.id for c in changes_between("0.27.0", "1.0.1")] == [
        "private-network", "wildcard-credentials-mirror"]  # fmt: skip


def test_every_change_names_a_source_and_a_modelled_release():
    for change in CHANGES:
        assert change.source.startswith("https://github.com/Kludex/starlette/pull/")
        assert change.since in MINOR_RELEASES and change.before and change.after
