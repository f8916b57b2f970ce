"""The oracle's model of CORSMiddleware answers exactly as the pinned Starlette does.

Generated configs and requests are sent to a real CORSMiddleware (in-process, no browser) and
to the model; status and every CORS response header must agree. This checks the model against
the thing it models, never against browser observations.
"""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from harness.starlette_model import CORSMiddlewareModel, ServerAnswer

ORIGINS = ["http://localhost:3000", "http://localhost:3000/", "http://127.0.0.1:8080",
           "https://localhost:3000", "http://LOCALHOST:3000", "null"]  # fmt: skip
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "put", "OPTIONS", "QUERY"]
HEADERS = ["X-Custom", "Authorization", "Content-Type", "x-custom", "Accept", "X-Other"]

configs = st.fixed_dictionaries(
    {},
    optional={
        "allow_origins": st.lists(st.sampled_from([*ORIGINS, "*"]), max_size=3),
        "allow_methods": st.lists(st.sampled_from([*METHODS, "*"]), max_size=3),
        "allow_headers": st.lists(st.sampled_from([*HEADERS, "*"]), max_size=3),
        "allow_credentials": st.booleans(),
        "allow_origin_regex": st.sampled_from([r"http://127\.0\.0\.1:\d+", r"http://localhost.*"]),
        "expose_headers": st.lists(st.sampled_from(["X-Total", "X-Custom"]), max_size=2),
        "max_age": st.sampled_from([0, 1, 600, 86400]),
    },
)
requests = st.fixed_dictionaries(
    {
        "origin": st.sampled_from(ORIGINS),
        "method": st.sampled_from(METHODS[:5]),
        "headers": st.one_of(st.none(), st.lists(st.sampled_from(HEADERS), min_size=1, max_size=3)),
    }
)

CORS_NAMES = ("access-control-allow-origin", "access-control-allow-credentials",
              "access-control-allow-methods", "access-control-allow-headers",
              "access-control-max-age", "access-control-expose-headers")  # fmt: skip


def _real(config):
    async def endpoint(request):
        return PlainTextResponse("ok")

    app = Starlette(
        routes=[Route("/r", endpoint, methods=["GET", "POST", "PUT", "PATCH", "DELETE"])],
        middleware=[Middleware(CORSMiddleware, **config)],
    )
    return TestClient(app)


def _cors_headers(headers) -> dict[str, str | None]:
    return {name: headers.get(name) for name in CORS_NAMES}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(config=configs, request=requests)
def test_preflight_answers_match_real_middleware(config, request):
    client = _real(config)
    headers = {"Origin": request["origin"], "Access-Control-Request-Method": request["method"]}
    if request["headers"]:
        headers["Access-Control-Request-Headers"] = ",".join(request["headers"])
    real = client.options("/r", headers=headers)
    model = CORSMiddlewareModel.from_kwargs(config).preflight(
        request["origin"], request["method"], headers.get("Access-Control-Request-Headers")
    )
    assert model.status == real.status_code
    assert {k: model.get(k) for k in CORS_NAMES} == _cors_headers(real.headers)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(config=configs, request=requests)
def test_simple_response_headers_match_real_middleware(config, request):
    real = _real(config).get("/r", headers={"Origin": request["origin"]})
    model = CORSMiddlewareModel.from_kwargs(config).add_simple_headers(
        request["origin"], ServerAnswer(200, {})
    )
    assert {k: model.get(k) for k in CORS_NAMES} == _cors_headers(real.headers)


def test_wildcard_with_credentials_mirrors_any_origin():
    """The guide says '*' cannot be combined with credentials; Starlette 1.10 mirrors instead."""
    model = CORSMiddlewareModel(allow_origins=["*"], allow_credentials=True)
    answer = model.add_simple_headers("http://evil.example", ServerAnswer(200, {}))
    assert answer.get("access-control-allow-origin") == "http://evil.example"
    assert answer.get("access-control-allow-credentials") == "true"


def test_lowercase_method_in_config_refuses_uppercase_preflight():
    answer = CORSMiddlewareModel(allow_origins=["http://a.test"], allow_methods=["put"]).preflight(
        "http://a.test", "PUT", None
    )
    assert answer.status == 400 and "method" in answer.note
