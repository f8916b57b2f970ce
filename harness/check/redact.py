"""Secrets never reach check.jsonl or the report: cookie values, Authorization values and
login bodies are replaced, their names kept (what crossed is the point, not the secret)."""

from __future__ import annotations

import copy
import re
from typing import Any

from ..engines.base import without_secrets

HIDDEN = "<redacted>"
SECRET_NAME = r"[A-Za-z0-9_.-]*(?:secret|token|key|pass|pwd|auth|credential)[A-Za-z0-9_.-]*"
_ASSIGNED = re.compile(rf"(?i)(\b{SECRET_NAME}=)(\S+)")  # WEBUI_SECRET_KEY=..., --token=...
_OPTION = re.compile(rf"(?i)(--{SECRET_NAME}\s+)(\S+)")  # --password hunter2


def shown_command(command: str) -> str:
    """A --serve command as printed and reported: values of secret-looking variables and
    options, and URL passwords, hidden (the user passed them to the app, not to the output)."""
    command = _ASSIGNED.sub(lambda m: m[1] + "***", without_secrets(command))
    return _OPTION.sub(lambda m: m[1] + "***", command)


def _cookie(value: str) -> str:
    first, sep, attributes = value.partition(";")
    name = first.split("=", 1)[0].strip()
    return f"{name}={HIDDEN}{sep}{attributes}"


def redact(record: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(record)
    request = out.get("request") or {}
    headers = request.get("headers") or {}
    for name in list(headers):
        if name.lower() in ("authorization", "cookie"):
            scheme = str(headers[name]).split(" ", 1)[0] if " " in str(headers[name]) else ""
            headers[name] = f"{scheme} {HIDDEN}".strip()
    if str(out.get("probe", "")).startswith("frontend: login") and request.get("body"):
        request["body"] = HIDDEN
    for entry in out.get("ledger") or []:
        cookies = entry.get("response_headers", {}).get("set-cookie")
        if cookies:
            entry["response_headers"]["set-cookie"] = [_cookie(c) for c in cookies]
    observed = out.get("observed") or {}
    if str(out.get("probe", "")).startswith("frontend: login") and observed.get("body"):
        observed["body"] = HIDDEN  # a login answer carries the token
    return out
