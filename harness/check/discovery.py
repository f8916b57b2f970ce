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

from .battery import MISSING_PATH
from .options import METHODS, Endpoint

SAMPLE_SIZE = 6  # GETs per schema placement tried (placed)
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
    """The --serve route: schemas the app serves itself (--openapi ones, all kept; of the usual
    paths, the first whose paths are where the API answers: see `placed`)."""
    given, usual = [], []
    host = urlsplit(api_origin).netloc
    for path in [*extra, *OPENAPI_PATHS]:
        try:
            response = httpx2.get(f"http://127.0.0.1:{port}{path}", headers={"Host": host},
                                  timeout=10)  # fmt: skip
            schema = response.json() if response.status_code == 200 else None
        except (httpx2.HTTPError, ValueError):
            continue
        if isinstance(schema, dict) and "paths" in schema:
            entry = {"prefix": "", "schema": schema, "source": path}
            (given if path in extra else usual).append(entry)
    return given + placed(usual, port, host)


def placed(usual: list[dict[str, Any]], port: int, host: str) -> list[dict[str, Any]]:
    """A schema's paths may miss where the API is served: a mount or a proxy prefix the
    schema does not name, or `servers` that the paths already include. Each schema is tried
    as given, without its `servers`, and under the folder it was served from; the first
    placement whose sample GETs mostly reach a route wins (none: the first, and the verdict
    says the run is hollow)."""
    options: list[dict[str, Any]] = []
    for entry in usual:
        folder = entry["source"].rsplit("/", 1)[0]
        for prefix, servers in (("", True), ("", False), (folder, False)):
            option = entry | {"prefix": prefix, "servers": servers}
            if (prefix, servers) != ("", True):
                option["source"] = f"{entry['source']} under {prefix or '/'}"
            if _where(option) not in {_where(o) for o in options if o["schema"] is entry["schema"]}:
                options.append(option)
    if len(options) <= 1:
        return options[:1]
    with httpx2.Client(timeout=10, headers={"Host": host}) as client:
        lacks = _answer(client, port, MISSING_PATH)
        for option in options:
            sample = [e for e in discover([option], False, SAMPLE_SIZE).endpoints if e.safe]
            answers = [_answer(client, port, e.path) for e in sample]
            missing = [a for a in answers if a is None or (a[0] == 404 and a == lacks)]
            if sample and len(missing) * 2 <= len(sample):
                return [option]
    return options[:1]


def _where(option: dict[str, Any]) -> str:
    """Where a placement puts the schema's paths."""
    server = _server_path(option["schema"]) if option.get("servers", True) else ""
    return option["prefix"].rstrip("/") + server


def _answer(client: httpx2.Client, port: int, path: str) -> tuple[int, bytes] | None:
    """Status, and a 404's body (the head only otherwise: a stream never ends)."""
    try:
        with client.stream("GET", f"http://127.0.0.1:{port}{path}") as response:
            body = response.read()[:2000] if response.status_code == 404 else b""
            return response.status_code, body
    except httpx2.HTTPError:
        return None


def discover(schemas: list[dict[str, Any]], writes: bool, limit: int) -> Discovery:
    found = Discovery()
    seen: set[tuple[str, str]] = set()
    for entry in schemas:
        schema = entry.get("schema")
        if not isinstance(schema, dict):
            continue
        found.sources.append(entry.get("source") or f"the schema at {entry['prefix'] or '/'}")
        prefix = _where(entry)
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
