"""Property cases for checking the CORSMiddleware model against a real middleware.

A case is a CORSMiddleware config, a request (preflight or not, with or without Origin, Cookie,
requested headers and private network) and the Vary fields the app itself sends. The model's
answer for a release and the real middleware's answer (serve/starlette_driver.py) must agree on
the status and every CORS header, Vary included. The project's release tests use these cases,
and so does the run-time check of a Starlette newer than the model (serve/newer_starlette.py).
"""

from __future__ import annotations

import random

from .starlette_model import CORSMiddlewareModel, ServerAnswer, UnsupportedOption

ORIGINS = ["http://localhost:3000", "http://localhost:3000/", "http://127.0.0.1:8080",
           "https://localhost:3000", "http://LOCALHOST:3000", "null"]  # fmt: skip
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "put", "OPTIONS", "QUERY"]
HEADERS = ["X-Custom", "Authorization", "Content-Type", "x-custom", "Accept", "X-Other"]
REGEXES = [r"http://127\.0\.0\.1:\d+", r"http://localhost.*"]
VARY = [[], ["Accept-Encoding"], ["Accept-Encoding", "Cookie"]]
COMPARED = ("access-control-allow-origin", "access-control-allow-credentials",
            "access-control-allow-methods", "access-control-allow-headers",
            "access-control-max-age", "access-control-expose-headers",
            "access-control-allow-private-network", "vary")  # fmt: skip


def random_cases(count: int, seed: int = 17) -> list[dict]:
    """The same `count` cases on every run: a seeded draw over the same values as `cases`."""
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        config: dict = {}
        pick = rng.random
        if pick() < 0.8:
            config["allow_origins"] = rng.sample([*ORIGINS, "*"], rng.randint(0, 3))
        if pick() < 0.6:
            config["allow_methods"] = rng.sample([*METHODS, "*"], rng.randint(0, 3))
        if pick() < 0.6:
            config["allow_headers"] = rng.sample([*HEADERS, "*"], rng.randint(0, 3))
        if pick() < 0.6:
            config["allow_credentials"] = pick() < 0.5
        if pick() < 0.3:
            config["allow_origin_regex"] = rng.choice(REGEXES)
        if pick() < 0.15:
            config["allow_private_network"] = pick() < 0.5
        if pick() < 0.3:
            config["expose_headers"] = rng.sample(["X-Total", "X-Custom"], rng.randint(1, 2))
        if pick() < 0.3:
            config["max_age"] = rng.choice([0, 1, 600, 86400])
        acrh = ",".join(rng.sample(HEADERS, rng.randint(1, 3))) if pick() < 0.5 else None
        request = {
            "origin": rng.choice(ORIGINS) if pick() < 0.9 else None,
            "preflight": pick() < 0.5,
            "method": rng.choice(METHODS[:5] + ["QUERY"]),
            "acrh": acrh,
            "acrpn": pick() < 0.2,
            "cookie": pick() < 0.5,
        }
        out.append({"config": config, "request": request, "app_vary": rng.choice(VARY)})
    return out


def model_answer(case: dict, release: str) -> dict:
    """What the model of `release` says the middleware answers (as the driver reports it)."""
    try:
        model = CORSMiddlewareModel.from_kwargs(case["config"], starlette=release)
    except UnsupportedOption as exc:
        return {"error": str(exc)}
    request = case["request"]
    app = ServerAnswer(200, {"vary": list(case["app_vary"])} if case["app_vary"] else {})
    if request["preflight"] and request["origin"] is not None:
        answer = model.preflight(request["origin"], request["method"], request["acrh"],
                                 private_network=request["acrpn"])  # fmt: skip
    else:
        answer = model.add_simple_headers(request["origin"], app, cookie=request["cookie"])
    return {"status": answer.status, "headers": {k: answer.get(k) for k in COMPARED}}


def real_answer(raw: dict) -> dict:
    """The driver's answer in the same shape: repeated fields joined as a browser joins them."""
    if "error" in raw:
        return {"error": raw["error"]}
    joined: dict[str, list[str]] = {}
    for name, value in raw["headers"]:
        joined.setdefault(name, []).append(value)
    return {
        "status": raw["status"],
        "headers": {k: ", ".join(joined[k]) if k in joined else None for k in COMPARED},
    }


def agree(model: dict, real: dict) -> bool:
    """Same status and headers; or both refused the config (the model names the option)."""
    if "error" in model or "error" in real:
        return ("error" in model) == ("error" in real)
    return model == real
