"""A cause: why a cell was blocked (or lost a cookie or a header), in one sentence with a
stable code, and the smallest config change that fixes it (see causes.py)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from ..scenario import CORS_KWARGS, RECONFIGURABLE_SHAPE

CODES = (
    "missing-allow-origin",
    "origin-mismatch",
    "tainted-origin",
    "multiple-allow-origin",
    "credentials-with-wildcard",
    "missing-allow-credentials",
    "header-not-allowed",
    "method-not-allowed",
    "preflight-status",
    "preflight-redirect",
    "invalid-allow-list",
    "redirect-mode-error",
    "mixed-content",
    "mixed-content-redirect",
    "redirect-to-other-scheme",
    "keepalive-quota",
    "exception-escaped-cors",
    "header-not-exposed",
    "cookie-samesite",
    "cookie-secure",
    "cookie-domain",
    "third-party-cookie-blocked",
    "no-cors-forbidden",
    "no-cors-redirect-mode",
    "mode-same-origin",
    "credentials-in-redirect-url",
    "redirect-checked-as-credentialed",
    "redirect-loop",
    "unexplained",
)
# keys the host can change on the running app (control port /reconfigure); others are not re-run
RECONFIGURABLE = {*CORS_KWARGS, *RECONFIGURABLE_SHAPE}


@dataclass
class Cause:
    code: str
    sentence: str
    fix: dict[str, Any] | None = None  # keyword/app-shape changes that fix it
    fix_note: str = ""  # how to fix where `fix` cannot express it, or why there is none
    verified: dict[str, Any] | None = field(default=None)  # filled by a fix re-run

    @property
    def rerunnable(self) -> bool:
        return bool(self.fix) and set(self.fix) <= RECONFIGURABLE

    def as_record(self) -> dict[str, Any]:
        return asdict(self)
