"""Hypothesis strategies over the property cases of cors_matrix.spec.starlette_cases (the
same values its seeded `random_cases` draws from), for tests/test_starlette_model.py."""

from __future__ import annotations

from hypothesis import strategies as st

from cors_matrix.spec.starlette_cases import HEADERS, METHODS, ORIGINS, REGEXES, VARY

configs = st.fixed_dictionaries(
    {},
    optional={
        "allow_origins": st.lists(st.sampled_from([*ORIGINS, "*"]), max_size=3),
        "allow_methods": st.lists(st.sampled_from([*METHODS, "*"]), max_size=3),
        "allow_headers": st.lists(st.sampled_from([*HEADERS, "*"]), max_size=3),
        "allow_credentials": st.booleans(),
        "allow_origin_regex": st.sampled_from(REGEXES),
        "allow_private_network": st.booleans(),
        "expose_headers": st.lists(st.sampled_from(["X-Total", "X-Custom"]), max_size=2),
        "max_age": st.sampled_from([0, 1, 600, 86400]),
    },
)
requests = st.fixed_dictionaries(
    {
        "origin": st.one_of(st.none(), st.sampled_from(ORIGINS)),
        "preflight": st.booleans(),
        "method": st.sampled_from(METHODS[:5] + ["QUERY"]),
        "acrh": st.one_of(
            st.none(), st.lists(st.sampled_from(HEADERS), min_size=1, max_size=3).map(",".join)
        ),  # fmt: skip
        "acrpn": st.booleans(),
        "cookie": st.booleans(),
    }
)
cases = st.fixed_dictionaries(
    {"config": configs, "request": requests, "app_vary": st.sampled_from(VARY)}
)
