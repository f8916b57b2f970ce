"""Scenario files: the TOML format's top level, and loading a file with one-line errors.

A scenario is data: the [server] table (server_table.py) is CORSMiddleware's keyword
arguments as given, each [[probe]] (probe_table.py) one fetch a page makes. See
docs/scenario-format.md for the full format.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError, field_validator, model_validator

from . import endpoints
from .origins import PLACEHOLDER, SUBDOMAIN_HOSTS
from .probe_table import Probe
from .server_table import ServerConfig
from .strict import NAME, ScenarioError, Strict, check_name

LOOPBACK_ONLY = ("api_fourth", "api_fifth")  # no domain names of their own


class ScenarioMeta(Strict):
    name: str | None = None
    description: str = ""

    _name = field_validator("name")(check_name)


class Scenario(Strict):
    scenario: ScenarioMeta = ScenarioMeta()
    server: ServerConfig = ServerConfig()
    probe: list[Probe] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_probes(self) -> Scenario:
        seen: set[str] = set()
        for p in self.probe:
            if p.name in seen:
                raise ValueError(f"duplicate probe name {p.name!r}")
            seen.add(p.name)
            if not self.server.knows_path(p.path):
                known = [*endpoints.ENDPOINTS, *(r.path for r in self.server.route)]
                raise ValueError(
                    f"probe[{p.name}].path: unknown endpoint "
                    f"{p.path.split('?')[0]!r}; known: {', '.join(known)}"
                )
        return self

    @model_validator(mode="after")
    def _host_names(self) -> Scenario:
        """The subdomains and Domain cookies exist under domain names only; the fourth and
        fifth API names under loopback names only."""
        domains = self.server.hosts == "domains"
        wrong = LOOPBACK_ONLY if domains else tuple(SUBDOMAIN_HOSTS)
        why = (': no such name with hosts = "domains"' if domains
               else ' needs [server] hosts = "domains"')  # fmt: skip
        for p in self.probe:
            for c in p.set_cookies:
                if c.server in wrong:
                    raise ValueError(f"probe[{p.name}].set_cookies: server {c.server!r}{why}")
                if c.domain is not None and not domains:
                    raise ValueError(f"probe[{p.name}].set_cookies: domain {c.domain!r}{why}")
        for name in PLACEHOLDER.findall(self.model_dump_json()):
            if name.removesuffix("_port") in wrong:
                raise ValueError(f"{{{name}}}{why}")
        return self

    @property
    def name(self) -> str:
        assert self.scenario.name is not None  # set by load_scenario
        return self.scenario.name

    @property
    def probes(self) -> list[Probe]:
        return self.probe


def _location(loc: tuple[Any, ...], data: dict[str, Any]) -> str:
    """Render a pydantic error location like `probe[get-with-cookie].headers`."""
    parts: list[str] = []
    node: Any = data
    for item in loc:
        if isinstance(item, int) and isinstance(node, list):
            entry = node[item] if item < len(node) else None
            label = entry.get("name") if isinstance(entry, dict) else None
            parts[-1] += f"[{label or item}]"
            node = entry
        else:
            parts.append(str(item))
            node = node.get(item) if isinstance(node, dict) else None
    return ".".join(parts) or "(file)"


def parse_scenario(data: dict[str, Any], source: str, default_name: str) -> Scenario:
    """Validate a scenario mapping; raise ScenarioError with a one-line message on any problem."""
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = _location(tuple(err["loc"]), data)
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        given = err.get("input")
        if err["type"] != "extra_forbidden" and isinstance(given, (str, int, float, bool)):
            if repr(given) not in msg:
                msg += f" (got {given!r})"
        more = f" (+{len(exc.errors()) - 1} more)" if len(exc.errors()) > 1 else ""
        where = "" if loc == "(file)" and msg.startswith("probe[") else f"{loc}: "
        line = f"{source}: {where}{msg}{more}".replace("\r", "\\r").replace("\n", "\\n")
        raise ScenarioError(line) from None
    if scenario.scenario.name is None:
        if not NAME.fullmatch(default_name):
            raise ScenarioError(
                f"{source}: the file name gives the scenario name "
                f"{default_name!r}, which may only use letters, digits, '.', "
                "'_' and '-': rename the file or set [scenario] name"
            )
        meta = scenario.scenario.model_copy(update={"name": default_name})
        scenario = scenario.model_copy(update={"scenario": meta})
    return scenario


def load_scenario(path: Path) -> Scenario:
    """Read and validate one scenario file."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{path}: malformed TOML: {exc}") from None
    except UnicodeDecodeError as exc:
        raise ScenarioError(f"{path}: not UTF-8 (byte {exc.start}); save it as UTF-8") from None
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read: {exc.strerror}") from None
    return parse_scenario(data, str(path), default_name=path.stem.removeprefix("test_"))


def theme_of(path: Path, root: Path | None = None) -> str:
    """A scenario's theme is the folder it lives in (scenarios/origins/test_x.toml -> origins)."""
    return path.parent.name if root is None or path.parent != root else "general"
