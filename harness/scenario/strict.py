"""The format's shared pieces: strict pydantic models (unknown keys and wrong types are
errors, nothing is coerced), the names a scenario gives, and the one-line error."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict


class ScenarioError(Exception):
    """A scenario file that cannot be used; the message is one line naming file, field, problem."""


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")  # names are pytest ids, URL tokens, anchors


def check_name(value: str | None) -> str | None:
    if value is not None and not NAME.fullmatch(value):
        raise ValueError(f"name {value!r} may only use letters, digits, '.', '_' and '-'")
    return value
