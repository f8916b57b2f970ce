"""A raw route as plain data (RawRoute.model_dump(), as the host and the oracle get it), read
without pydantic: the host also runs under old FastAPI releases."""

from __future__ import annotations

from typing import Any


def nth_answer(route: dict[str, Any], index: int) -> dict[str, Any]:
    """The answer a cell's `index`-th request (from 0) to a route gets: the route's own first,
    then its `then` answers in order (a stateful route), the last one from then on."""
    answers = [route, *route.get("then", [])]
    return answers[min(index, len(answers) - 1)]
