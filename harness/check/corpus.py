"""Origins an attacker could own, built from the declared frontends and the app's own config.

The classes are the ones origin-check scanners test (CORScanner, Corsy): any origin reflected,
`null`, http for https, prefix/suffix/substring lookalikes, truncations (app.example.co is
a different, buyable domain), an unescaped dot at every position, special characters, other
ports and subdomains. Beside every frontend, whatever its scheme: the local development
origins apps trust by accident (`http://localhost:5173`, `http://127.0.0.1:3000`, `[::1]`, one
random high port to tell "this port" from "any port"): a regex such as
`https://app\\.example\\.com|http://localhost(:[0-9]+)?` lets any local page read. From the
config, where it is known: every origin listed that is not a declared frontend, and
witnesses of each `allow_origin_regex` (strings the regex accepts, made by walking its parse
tree with "evil" wherever it repeats or takes any character).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

from ..scenario.origins import DEFAULT_PORTS
from .options import is_ip

try:  # Python 3.11 still ships the parser under this name (re._parser from 3.11 on)
    from re import _parser as sre_parse  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover
    import sre_parse  # type: ignore[no-redef]

# hostnames a page can have here: LDH labels (the per-run CA issues no certificate for "_")
LABEL = r"[a-z0-9]([a-z0-9-]*[a-z0-9])?"
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "[::1]")
DEV_PORTS = (None, 3000, 5173, 8000, 8080)  # the default port, then the dev servers' own
LOCAL_KIND = "local dev origin"
BROWSER_HOST = re.compile(rf"^(\[[0-9a-f:.]+\]|{LABEL}(\.{LABEL})*)$")


@dataclass(frozen=True)
class Candidate:
    origin: str
    kind: str  # the class, e.g. "suffix lookalike"
    frontend: str  # the frontend it was derived from

    @property
    def browser_sendable(self) -> bool:
        """Whether a real page can have this origin (a valid URL host, or null) and send it as
        written: a page at "https://App.example.com:443/" has, and sends, the origin
        https://app.example.com (a frontend's own, not an attacker's)."""
        if self.origin == "null":
            return True
        if never_sent(self.origin):
            return False
        parts = urlsplit(self.origin)
        try:
            port_ok = parts.port is None or 0 < parts.port < 65536
        except ValueError:
            return False
        return port_ok and bool(parts.hostname) and bool(BROWSER_HOST.match(parts.hostname))


SCHEME_PORTS = {**DEFAULT_PORTS, "ws": 80, "wss": 443}  # and the WebSocket schemes an entry names


def never_sent(origin: str) -> str | None:
    """Why no browser ever sends `origin` as an Origin header, or None when one may.

    A browser sends "null" or an origin's serialization (HTML, "ASCII serialization of an
    origin"): scheme://host[:port], scheme and host in lower case, no userinfo, no path, the
    scheme's default port left out. A config entry written otherwise (the guide's trailing
    slash, a missing scheme) matches no page; only these sure cases are named, anything
    else counts as sendable."""
    if origin == "null":
        return None
    scheme, sep, rest = origin.partition("://")
    if not sep:
        return "it has no scheme (an Origin is scheme://host[:port])"
    authority, slash, _ = rest.partition("/")
    for mark in "?#":
        authority, cut, _ = authority.partition(mark)
        slash = slash or cut
    if slash:
        return "it has a path (an Origin never ends in '/' or anything after the port)"
    if "@" in authority:
        return "it has userinfo (an Origin never carries a user or password)"
    if origin != origin.lower():
        return "it has upper-case letters (browsers send scheme and host in lower case)"
    if not origin.isascii():
        return "it has non-ASCII characters (browsers send a host in its ASCII form, xn--...)"
    port = authority.rpartition(":")[2] if not authority.endswith("]") else ""
    if port.isdigit() and int(port) == SCHEME_PORTS.get(scheme):
        return f"it writes out {scheme}'s default port {port}, which an Origin leaves out"
    return None


def _origin(scheme: str, host: str, port: int | None) -> str:
    default = SCHEME_PORTS.get(scheme, 80)
    return f"{scheme}://{host}" + ("" if port in (None, default) else f":{port}")


def for_frontend(frontend: str) -> list[Candidate]:
    parts = urlsplit(frontend)
    scheme, host, port = parts.scheme, parts.hostname or "", parts.port
    out: list[tuple[str, str]] = []

    def add(kind: str, h: str, p: int | None = port, s: str = scheme) -> None:
        out.append((kind, _origin(s, h, p)))

    add("unrelated site", "evil.test")
    add("any origin (random)", f"cors-matrix-{secrets.token_hex(3)}.test")
    out.append(("null origin", "null"))
    add("http instead of https" if scheme == "https" else "https instead of http", host,
        s="http" if scheme == "https" else "https")  # fmt: skip
    real_port = port or SCHEME_PORTS.get(scheme, 80)
    other_ports = {p for p in (real_port + 1, 8080, 3000, 5173, 8000) if p != real_port}
    for other in sorted(other_ports)[:3]:
        add("same host, another port", host, other)
    if is_ip(host) or host == "localhost":
        add("another loopback name", "localhost" if is_ip(host) else "127.0.0.1")
        add("unrelated site", "evil.test", None)
    else:
        add("prefix lookalike", f"evil{host}")
        add("prefix lookalike", f"evil-{host}")
        add("suffix lookalike", f"{host}.evil.test")
        add("substring lookalike", f"{host}evil.test")
        add("substring lookalike", f"{host}-evil.test")
        for char in "_-~!$&'()*+,;=`{}|^%":
            add("special character", f"{host}{char}.evil.test")
        for i in range(len(host) - 1, 0, -1):  # truncations: app.example.co, app.example.c ...
            if "." in host[:i] and not host[:i].endswith("."):
                add("truncation", host[:i])
        for i, char in enumerate(host):  # an unescaped dot at every position
            if char == ".":
                add("unescaped-dot lookalike", host[:i] + "x" + host[i + 1 :])
        labels = host.split(".")
        if len(labels) >= 3:
            parent = ".".join(labels[1:])
            add("another subdomain", f"evil.{parent}")
            add("parent domain", parent)
        add("subdomain of the frontend", f"evil.{host}")
    for name in LOOPBACK_NAMES:
        for dev_port in DEV_PORTS:
            add(LOCAL_KIND, name, dev_port, "http")
    add(LOCAL_KIND, "localhost", None, "https")
    add(LOCAL_KIND, "localhost", 5173, "https")
    add(LOCAL_KIND, "localhost", 20000 + secrets.randbelow(40000), "http")  # any port?
    seen: set[str] = set()
    return [Candidate(o, k, frontend) for k, o in out if not (o in seen or seen.add(o))]


def regex_witnesses(pattern: str, limit: int = 12) -> list[str]:
    """Strings the pattern fully matches, biased towards attacker-controlled text: every `.`,
    repeat and class yields letters of "evil" where the pattern leaves room."""
    try:
        tree = sre_parse.parse(pattern)
    except (re.error, RecursionError, ValueError):
        return []
    results: set[str] = set()
    for flavour in ("evil", "x", ""):
        for text in _expand(list(tree), flavour, limit):
            try:
                if re.fullmatch(pattern, text):
                    results.add(text)
            except re.error:
                return []
    return sorted(results)[:limit]


def _expand(items, flavour: str, limit: int) -> list[str]:
    outs = [""]
    for op, av in items:
        parts = _one(op, av, flavour, limit)
        if not parts:
            return []
        outs = [a + b for a in outs for b in parts][:limit]
    return outs


def _one(op, av, flavour: str, limit: int) -> list[str]:
    name = str(op)
    if name == "LITERAL":
        return [chr(av)]
    if name == "NOT_LITERAL":
        return ["e" if chr(av) != "e" else "x"]
    if name == "ANY":
        return [flavour[:1] or "e"]
    if name == "IN":
        return [_in_char(av, flavour)]
    if name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
        low, high, sub = av
        inner = _expand(list(sub), flavour, limit)
        if not inner:
            return []
        count = max(low, 1)
        outs = [i * count for i in inner]
        accepts = _single_char(list(sub))
        if flavour and accepts and (high == sre_parse.MAXREPEAT or high >= len(flavour)):
            if len(flavour) >= low and all(accepts(c) for c in flavour):
                outs.insert(0, flavour)  # `.*` or `[a-z]+`: room for a whole word
        if low == 0:
            outs.append("")
        return list(dict.fromkeys(outs))[:limit]
    if name == "SUBPATTERN":
        return _expand(list(av[-1]), flavour, limit)
    if name == "BRANCH":
        out: list[str] = []
        for branch in av[1]:
            out += _expand(list(branch), flavour, limit)
        return out[:limit]
    if name in ("AT", "ASSERT", "ASSERT_NOT", "GROUPREF"):
        return [""]
    return []


def _single_char(items):
    """For a one-character pattern (`.`, a class, a literal): which characters it accepts."""
    if len(items) != 1:
        return None
    op, av = items[0]
    name = str(op)
    if name == "ANY":
        return lambda c: c != "\n"
    if name == "IN":
        return lambda c: _class_accepts(av, c)
    if name == "LITERAL":
        return lambda c: ord(c) == av
    return None


def _in_char(av, flavour: str) -> str:
    """A character the class accepts, preferring the flavour's letters."""
    wanted = [*(flavour or "e"), "e", "x", "a", "0", "-", "."]
    for char in wanted:
        if _class_accepts(av, char):
            return char
    for code in range(32, 127):
        if _class_accepts(av, chr(code)):
            return chr(code)
    return "e"


def _class_accepts(av, char: str) -> bool:
    code, negate, hit = ord(char), False, False
    for op, value in av:
        name = str(op)
        if name == "NEGATE":
            negate = True
        elif name == "LITERAL" and value == code:
            hit = True
        elif name == "RANGE" and value[0] <= code <= value[1]:
            hit = True
        elif name == "CATEGORY":
            category = str(value)
            if ("DIGIT" in category and char.isdigit()) or (
                "WORD" in category and (char.isalnum() or char == "_")
            ):
                hit = "NOT" not in category
            elif "SPACE" in category and char.isspace():
                hit = "NOT" not in category
    return hit != negate


def from_config(configs: list[dict], frontends: list[str]) -> list[Candidate]:
    """Origins the app's own CORSMiddleware keywords accept that are not declared frontends."""
    out: list[Candidate] = []
    declared = set(frontends)
    anchor = frontends[0] if frontends else ""
    for config in configs:
        kwargs = config.get("kwargs", {})
        origins = kwargs.get("allow_origins") or []
        if isinstance(origins, str):  # Starlette then tests `origin in "..."`: substrings pass
            out.append(Candidate(origins, "configured origin (string)", anchor))
            out += [
                Candidate(origins[:i], "substring of the allow_origins string", anchor)
                for i in range(len(origins) - 1, 8, -1)
                if _looks_like_origin(origins[:i])
            ]
        else:
            out += [Candidate(o, "configured origin", anchor)
                    for o in origins if o != "*" and o not in declared]  # fmt: skip
        pattern = kwargs.get("allow_origin_regex")
        if pattern:
            for witness in regex_witnesses(pattern):
                if witness not in declared and _looks_like_origin(witness):
                    out.append(Candidate(witness, "matches allow_origin_regex", anchor))
    return out


def _looks_like_origin(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc) and parts.path == ""


def corpus(frontends: list[str], configs: list[dict], api_origin: str) -> list[Candidate]:
    """Every candidate once; never a frontend, never the API's own origin (same-origin)."""
    seen = {*frontends, api_origin}
    out: list[Candidate] = []
    for candidate in [c for f in frontends for c in for_frontend(f)] + from_config(
        configs, frontends
    ):
        if candidate.origin not in seen:
            seen.add(candidate.origin)
            out.append(candidate)
    return out
