"""The oracle: what SHOULD cross the origin boundary, from the Fetch standard and Starlette's
source, never from observations.

`predict()` runs a small browser model (preflight, preflight cache, CORS check, exposed headers,
cookie jar with SameSite/Secure/third-party rules) against a model of the server (Starlette's
CORSMiddleware from starlette_model.py plus the endpoint table). The model has a few named
parameters (a Profile); the spec's values and each engine's known differences live in
engine_differences.toml (beside it) with their sources. `expectations()` returns both answers: the
spec's, and the engine-adjusted one a cell is judged against.
"""

from __future__ import annotations

from ..scenario import Probe
from ..spec.fetch_spec import is_loopback
from .browser_model import BrowserModel
from .prediction import (
    ANY_VALUE,
    COMPARED_KEYS,
    Context,
    NotModelled,
    Prediction,
    compare,
    headers_match,
)
from .profile import Profile, differences, engine_profile, spec_profile
from .server_model import cors_model, proxied, with_server_headers

__all__ = ["ANY_VALUE", "COMPARED_KEYS", "Context", "NotModelled", "Prediction", "Profile",
           "compare", "cors_model", "differences", "engine_profile", "expectations",
           "headers_match", "is_loopback", "ParameterReads", "predict", "proxied", "spec_profile",
           "with_server_headers"]  # fmt: skip


def predict(probe: Probe, ctx: Context, profile: Profile | None = None) -> Prediction:
    """What should happen when the page at ctx.page_origin runs `probe` against the API."""
    return BrowserModel(probe, ctx, profile or spec_profile()).run()


def expectations(probe: Probe, ctx: Context, engine: str) -> tuple[Prediction, Prediction]:
    """(spec answer, engine-adjusted expectation) for one cell.

    The expectation names only the engine differences that change this cell's answer: each
    applied difference whose parameter the model read is dropped in turn, and kept if the
    answer then differs (a parameter the model never read cannot have changed it).
    """
    spec = predict(probe, ctx, spec_profile())
    profile = ParameterReads(engine_profile(engine))
    expected = predict(probe, ctx, profile)  # a Profile in all but name
    relevant = []
    for d in differences():
        if engine not in d.engines or d.parameter not in profile.read:
            continue
        without = engine_profile(engine, without=d.id)
        if predict(probe, ctx, without).compared() != expected.compared():
            relevant.append(d.id)
    expected.differences = relevant
    return spec, expected


class ParameterReads:
    """A profile that notes the name of every parameter the model reads from it, so that
    `expectations` re-predicts a cell only for the differences that could have shaped it."""

    def __init__(self, profile: Profile) -> None:
        self._profile = profile
        self.read: set[str] = set()

    def __getattr__(self, name: str):
        self.read.add(name)
        return getattr(self._profile, name)
