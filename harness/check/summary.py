"""A check's Summary: everything its verdict and its report say, as plain data, filled by
check/run.py and worded by verdict.py and findings.py."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .browsers import Cell
from .prescan import Prescan


@dataclass
class Summary:
    """Everything the verdict and the report say, as plain data."""

    app: str
    versions: dict[str, Any]
    api_origin: str
    frontends: list[str]
    auth: str
    discovery: str
    prescan: Prescan | None
    configs: list[dict[str, Any]]
    cells: list[Cell]
    problems: list[str] = field(default_factory=list)
    fatal: str | None = None  # the app died: exit 2 after what is known is said
    config_seen: bool = True  # False under --serve: the app's CORS keywords are unknown
    cookie_policy: str = "block-third-party"  # the engines' third-party cookie policy
    samesite_none: tuple[str, ...] = ()  # the login's SameSite=None cookies
    discovered: list[str] = field(default_factory=list)  # endpoints found in the schemas
    cookie_only: bool = False  # the pre-scan saw Origins echoed only with a Cookie header
    confirmations: list[Cell] = field(default_factory=list)  # medium reads, other policy
    unconfirmed: str | None = None  # why that confirmation could not run
    lines: list[str] = field(default_factory=list)
    findings: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # config that does nothing: said, not failed
    exit_code: int = 1
