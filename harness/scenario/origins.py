"""Named origins (like WPT's get_host_info) and the `{name}` placeholders that stand for them.

Scenario files never contain a port: ports are dynamic, so a config says `"{app}"` and the harness
substitutes the real origin once the servers have bound their sockets.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

# Which host each named page origin uses. `app` shares the API's site (localhost), the classic
# localhost:3000 -> localhost:8000 setup; `cross_site` and `attacker` are another site.
PAGE_HOSTS: dict[str, str] = {
    "app": "localhost",
    "cross_site": "127.0.0.1",
    "attacker": "127.0.0.1",
}
API_HOST = "localhost"
# The same API server reached under another host name: another origin and another site, for
# cross-origin redirect hops without a second server (like WPT's REMOTE_ORIGIN).
API_OTHER_HOST = "127.0.0.1"
# More names of the API, on the same port: other loopback addresses, so other origins, sites
# and cookie hosts than both and each other (WPT's second remote host; Mozilla's redirect chains
# through five servers).
API_LOOPBACK_NAMES: dict[str, str] = {
    "api_third": "127.0.0.2",
    "api_fourth": "127.0.0.3",
    "api_fifth": "127.0.0.4",
}
API_THIRD_HOST = API_LOOPBACK_NAMES["api_third"]
API_EXTRA_HOSTS = tuple(API_LOOPBACK_NAMES.values())
API_HOSTS = (API_HOST, API_OTHER_HOST, *API_EXTRA_HOSTS)
# `[server] hosts = "domains"`: the same servers under DNS names, each loopback name standing
# for a registrable domain (IANA's reserved example.* names, all three on the Public Suffix
# List's com/org/net, so every engine agrees on their sites). The engines reach them through
# the run's forward proxy (serve/forward_proxy.py): nothing outside the engines resolves them.
DOMAIN_HOSTS: dict[str, str] = {
    API_HOST: "example.com",
    API_OTHER_HOST: "example.org",
    API_THIRD_HOST: "example.net",
}
# Under domain names the API also answers on subdomains (WPT's www1/www2): same site as
# {api} (or {api_other}), other origins; what Domain= cookies and same-site hops need.
SUBDOMAIN_HOSTS: dict[str, str] = {
    "api_www1": "www1.example.com",
    "api_www2": "www2.example.com",
    "api_other_www1": "www1.example.org",
}
DOMAIN_NAMES = (*DOMAIN_HOSTS.values(), *SUBDOMAIN_HOSTS.values())
SERVER_NAMES = (*API_HOSTS, *DOMAIN_NAMES)
"""Every host name the run's servers are reached under, loopback and domain."""
# Each page also under a fixed scheme, for mixed-scheme probes (`page_scheme`): {app_http} is
# the http app page and {app_https} the https one, whatever the scenario's own scheme.
SCHEMED_PAGE_NAMES = tuple(
    f"{page}_{scheme}" for page in PAGE_HOSTS for scheme in ("http", "https")
)
ORIGIN_NAMES = (*PAGE_HOSTS, "api", "api_other", *API_LOOPBACK_NAMES, *SUBDOMAIN_HOSTS,
                *SCHEMED_PAGE_NAMES)  # fmt: skip
# {app} is the whole origin; {app_port} its port alone, for near-misses like "https://localhost:{app_port}"
PLACEHOLDERS = (*ORIGIN_NAMES, *(f"{name}_port" for name in ORIGIN_NAMES))

PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


class PlaceholderError(ValueError):
    """A `{name}` in a config string names no known origin."""


def unknown_placeholders(value: str) -> list[str]:
    """Return the `{name}` placeholders in `value` that are not known origin names."""
    return [m for m in PLACEHOLDER.findall(value) if m not in PLACEHOLDERS]


SAME_ORIGIN_PAGE = "/__cm_page"
"""Where the API's own origin serves the probe page (page = "api": a same-origin page)."""


def page_url(name: str, origin: str) -> str:
    """The probe page's URL on a page origin (what its fetches give as their referrer)."""
    return origin + (SAME_ORIGIN_PAGE + "/" if name == "api" else "/")  # sandboxed: {cross_site}


def page_origins(pages: dict[str, str], pages_tls: dict[str, str], tls: bool) -> dict[str, str]:
    """Every page origin a scenario can name: {app} etc. in the scenario's own scheme first,
    then {app_http}/{app_https} etc. (the https ones only where the host serves https pages)."""
    own = pages_tls if tls else pages
    schemed = {f"{name}_http": origin for name, origin in pages.items()}
    schemed.update({f"{name}_https": origin for name, origin in pages_tls.items()})
    return {**own, **schemed}


def page_key(page: str, page_scheme: str | None) -> str:
    """The origin name a probe's page runs on: `page`, or `page_<scheme>` for a mixed-scheme
    probe (page_scheme given)."""
    return f"{page}_{page_scheme}" if page_scheme else page


def api_origins(api: str) -> dict[str, str]:
    """{api}, {api_other}, {api_third}, {api_fourth} and {api_fifth} for one API origin (same
    scheme and port, another host each); for an API under a domain name (hosts = "domains"),
    {api}, {api_other}, {api_third} and the subdomains ({api_www1} ...) under theirs."""
    parts = urlsplit(api)
    at = f"{parts.scheme}://{{}}:{parts.port}".format
    if parts.hostname == DOMAIN_HOSTS[API_HOST]:
        return {
            "api": api,
            "api_other": at(DOMAIN_HOSTS[API_OTHER_HOST]),
            "api_third": at(DOMAIN_HOSTS[API_THIRD_HOST]),
            **{name: at(host) for name, host in SUBDOMAIN_HOSTS.items()},
        }
    return {
        "api": api,
        "api_other": at(API_OTHER_HOST),
        **{name: at(host) for name, host in API_LOOPBACK_NAMES.items()},
    }


def under_domains(origins: dict[str, str]) -> dict[str, str]:
    """The run's loopback origins under their domain names (hosts = "domains"): the same
    servers and ports, another host each."""
    out = {}
    for name, origin in origins.items():
        parts = urlsplit(origin)
        host = DOMAIN_HOSTS.get(parts.hostname or "", parts.hostname)
        out[name] = f"{parts.scheme}://{host}:{parts.port}"
    return out


def domain_names(pages: dict[str, str], api: str) -> tuple[dict[str, str], str]:
    """A scenario's page origins and API origin under their domain names."""
    return under_domains(pages), under_domains({"api": api})["api"]


def scenario_origins(pages: dict[str, str], api: str, domains: bool) -> dict[str, str]:
    """Every named origin of a scenario's run, as its config and routes are filled in (the
    host) and judged (a cell): the pages (no sandboxed frame: it has no origin of its own)
    and the API's names; under domain names for hosts = "domains"."""
    pages = {k: v for k, v in pages.items() if not k.startswith("sandboxed")}
    if domains:
        pages, api = domain_names(pages, api)
    return {**pages, **api_origins(api)}


API_NAMES = ("api_other", *API_LOOPBACK_NAMES, *SUBDOMAIN_HOSTS)
"""The API's names a probe path may start with ("{api_other}/x"); "/x" is on {api}."""


def split_target(path: str) -> tuple[str, str]:
    """A probe path names its server: "/x" is on {api}, "{api_other}/x" on {api_other},
    "{api_third}/x" on {api_third} (and so on)."""
    for name in API_NAMES:
        if path.startswith("{" + name + "}"):
            return name, path[len(name) + 2 :]
    return "api", path


def with_ports(origins: dict[str, str]) -> dict[str, str]:
    """The origins plus a `<name>_port` entry for each."""
    return {**origins, **{f"{k}_port": str(Origin.parse(v).port) for k, v in origins.items()}}


def substitute(value: str, origins: dict[str, str], keep_unknown: bool = False) -> str:
    """Replace `{app}`, `{cross_site}`, `{attacker}`, `{api}` by real origins and `{app_port}`
    etc. by their ports.

    Other brace groups (a regex's `{2,3}`) are left alone; unknown identifiers are an error, or
    with `keep_unknown` stay as written (the report fills in only the origins a run shows).
    """
    if "{" not in value:
        return value  # nothing to fill in (most header values and paths)
    origins = with_ports(origins) if not any(k.endswith("_port") for k in origins) else origins

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in origins:
            if keep_unknown:
                return match.group(0)
            raise PlaceholderError(
                f"unknown placeholder {{{name}}}; known: "
                + ", ".join(f"{{{n}}}" for n in PLACEHOLDERS)
            )
        return origins[name]

    return PLACEHOLDER.sub(replace, value)


def substitute_all(value, origins: dict[str, str], keep_unknown: bool = False):
    """`substitute` applied through lists, dicts and strings; other values pass through. The
    `_port` entries are worked out once for the whole value (a cell's route table holds
    hundreds of strings), and only if a string has a placeholder (bench/judging.py)."""
    expanded: dict[str, str] = {}

    def through(item):
        if isinstance(item, str):
            if "{" not in item:
                return item
            if not expanded:
                has_ports = any(k.endswith("_port") for k in origins)
                expanded.update(origins if has_ports else with_ports(origins))
            return substitute(item, expanded, keep_unknown)
        if isinstance(item, list):
            return [through(v) for v in item]
        if isinstance(item, dict):
            return {k: through(v) for k, v in item.items()}
        return item

    return through(value)


DEFAULT_PORTS = {"http": 80, "https": 443}
"""The port a URL of each scheme has when it names none (and its origin's serialization omits)."""


@dataclass(frozen=True)
class Origin:
    """A parsed origin: scheme, host, port."""

    scheme: str
    host: str
    port: int

    @classmethod
    def parse(cls, text: str) -> Origin:
        parts = urlsplit(text)
        if not parts.scheme or not parts.hostname:
            raise ValueError(f"not an origin: {text!r}")
        port = parts.port or DEFAULT_PORTS[parts.scheme]
        return cls(parts.scheme, parts.hostname, port)

    def serialize(self) -> str:
        default = DEFAULT_PORTS.get(self.scheme)
        port = "" if self.port == default else f":{self.port}"
        return f"{self.scheme}://{self.host}{port}"

    @property
    def site(self) -> tuple[str, str]:
        """The schemeful site. Hosts here are localhost or IP literals, so the registrable domain
        is the host itself (an IP address is its own site)."""
        return (self.scheme, registrable_domain(self.host))


def registrable_domain(host: str) -> str:
    """A small public-suffix rule good for the hosts the harness uses.

    IP literals and single-label hosts are their own site; otherwise the last two labels
    (enough for example.com-style names; a full Public Suffix List is not needed here).
    """
    if ip_literal(host) or "." not in host:
        return host
    return ".".join(host.split(".")[-2:])


def ip_literal(host: str) -> bool:
    """An IPv6 host, or one of digits and dots (the URL parser reads a host ending in a number
    as IPv4): its own site, with no subdomains and no parent domain."""
    return ":" in host or bool(re.fullmatch(r"[0-9.]+", host))


def same_site(a: str, b: str) -> bool:
    """Whether two serialized origins are same-site (schemeful, as browsers use for cookies)."""
    return Origin.parse(a).site == Origin.parse(b).site
