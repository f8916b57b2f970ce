"""Which requests to probe, from the app's OpenAPI schemas: every operation, at its real path.

Paths honour where the API really is: the path an app is mounted under, and the schema's
`servers` (FastAPI's root_path). Path parameters get a value of their type (uuid, integer,
enum...), JSON bodies a minimal valid value. Unsafe methods are only probed when asked
(`--writes`): a discovered `POST /logout` sent with the user's session would change the
findings, and the user's data. A GET whose path or operation says it ends something
(logout, signout, revoke, delete...) is treated the same: probed first, it logged the check's
own session out and every later request ran without it. What is skipped is counted and said.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx2

from .options import METHODS, Endpoint

OPENAPI_PATHS = ("/openapi.json", "/api/openapi.json", "/api/v1/openapi.json",
                 "/docs/openapi.json", "/api/docs/openapi.json")  # fmt: skip
SAMPLE_UUID = "00000000-0000-4000-8000-000000000000"
ENDS_SOMETHING = re.compile(
    r"log[-_]?out|sign[-_]?out|revoke|delete|destroy|remove|"
    r"unsubscribe|invalidate|terminate|deactivate",
    re.IGNORECASE,
)
WRITES_SKIPPED = "writes (POST/PUT/PATCH/DELETE; pass --writes to probe them)"
ENDERS_SKIPPED = "GETs that end something (logout, revoke, delete...; --writes probes them)"


@dataclass
class Discovery:
    endpoints: list[Endpoint] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)  # reason -> count
    sources: list[str] = field(default_factory=list)  # where the schemas came from

    def summary(self) -> str:
        found = len(self.endpoints) + sum(self.skipped.values())
        text = f"{found} operations in {', '.join(self.sources) or 'no schema'}"
        text += f"; probing {len(self.endpoints)}"
        for reason, count in self.skipped.items():
            text += f"; skipped {count} {reason}"
        return text


def fetch_schemas(port: int, api_origin: str, extra: list[str]) -> list[dict[str, Any]]:
    """The --serve route: schemas the app serves itself (the usual paths, plus --openapi)."""
    out = []
    host = urlsplit(api_origin).netloc
    for path in [*extra, *OPENAPI_PATHS]:
        try:
            response = httpx2.get(f"http://127.0.0.1:{port}{path}", headers={"Host": host},
                                  timeout=10)  # fmt: skip
            schema = response.json() if response.status_code == 200 else None
        except (httpx2.HTTPError, ValueError):
            continue
        if isinstance(schema, dict) and "paths" in schema:
            out.append({"prefix": "", "schema": schema, "source": path})
            if path not in extra:
                break  # the first usual path that answers; --openapi ones are all kept
    return out


def discover(schemas: list[dict[str, Any]], writes: bool, limit: int) -> Discovery:
    found = Discovery()
    seen: set[tuple[str, str]] = set()
    for entry in schemas:
        schema = entry.get("schema")
        if not isinstance(schema, dict):
            continue
        found.sources.append(entry.get("source") or f"the schema at {entry['prefix'] or '/'}")
        prefix = entry.get("prefix", "").rstrip("/") + _server_path(schema)
        for path, operations in (schema.get("paths") or {}).items():
            for method, operation in (operations or {}).items():
                method = method.upper()
                if method not in METHODS or not isinstance(operation, dict):
                    continue
                concrete = prefix + _fill(path, operation, schema)
                if (method, concrete) in seen:
                    continue
                seen.add((method, concrete))
                if method not in ("GET", "HEAD") and not writes:
                    _count(found, WRITES_SKIPPED)
                    continue
                if not writes and ends_something(path, operation):
                    _count(found, ENDERS_SKIPPED)
                    continue
                if len(found.endpoints) >= limit:
                    _count(found, f"beyond --max-endpoints {limit}")
                    continue
                found.endpoints.append(Endpoint(method, concrete, _body(operation, schema),
                                                "openapi"))  # fmt: skip
    return found


def ends_something(path: str, operation: dict[str, Any]) -> bool:
    """A safe method by its verb, but by its name a logout, a revocation or a deletion."""
    names = [path, str(operation.get("operationId", "")), str(operation.get("summary", ""))]
    return any(ENDS_SOMETHING.search(name) for name in names)


def _count(found: Discovery, reason: str) -> None:
    found.skipped[reason] = found.skipped.get(reason, 0) + 1


def _server_path(schema: dict[str, Any]) -> str:
    servers = schema.get("servers") or []
    if servers and isinstance(servers[0], dict):
        return urlsplit(servers[0].get("url", "")).path.rstrip("/")
    return ""


def _fill(path: str, operation: dict[str, Any], schema: dict[str, Any]) -> str:
    params = {p.get("name"): p for p in operation.get("parameters", []) if isinstance(p, dict)}
    while "{" in path and "}" in path:
        start = path.index("{")
        end = path.index("}", start)
        name = path[start + 1 : end].split(":")[0]
        param = params.get(name, {})
        value = sample(param.get("schema", {}), schema) if param else "1"
        value = value if value not in (None, "", [], {}) else "1"
        path = path[:start] + str(value) + path[end + 1 :]
    return path


def _body(operation: dict[str, Any], schema: dict[str, Any]) -> str | None:
    content = (operation.get("requestBody") or {}).get("content") or {}
    if "application/json" in content:
        return json.dumps(sample(content["application/json"].get("schema", {}), schema))
    return None


def sample(node: dict[str, Any], schema: dict[str, Any], depth: int = 0) -> Any:
    """A minimal value that satisfies a JSON Schema node (OpenAPI 3.0/3.1 subset)."""
    if depth > 8 or not isinstance(node, dict):
        return None
    if "$ref" in node:
        target: Any = schema
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target.get(part, {}) if isinstance(target, dict) else {}
        return sample(target, schema, depth + 1)
    for key in ("example", "default", "const"):
        if key in node:
            return node[key]
    if node.get("examples") and isinstance(node["examples"], list):
        return node["examples"][0]
    if node.get("enum"):
        return node["enum"][0]
    for key in ("anyOf", "oneOf", "allOf"):
        options = [o for o in node.get(key, []) if isinstance(o, dict) and o.get("type") != "null"]
        if options:
            return sample(options[0], schema, depth + 1)
    kind = node.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    if kind == "object" or "properties" in node:
        props = node.get("properties", {})
        return {name: sample(props[name], schema, depth + 1)
                for name in node.get("required", []) if name in props}  # fmt: skip
    if kind == "array":
        return []
    if kind in ("integer", "number"):
        return max(1, node.get("minimum", 1))
    if kind == "boolean":
        return True
    if kind == "string":
        fmt = node.get("format")
        if fmt == "uuid":
            return SAMPLE_UUID
        if fmt == "email":
            return "a@example.com"
        if fmt == "date-time":
            return "2026-01-01T00:00:00Z"
        if fmt == "date":
            return "2026-01-01"
        return "x" * max(1, node.get("minLength", 1))
    return None
