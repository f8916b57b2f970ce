"""The browser model's cookie jar: RFC 6265bis storage and sending rules (SameSite, Secure,
third-party blocking) with the profile's choices."""

from __future__ import annotations

from dataclasses import dataclass

from ..scenario import CookieSpec
from ..scenario.origins import Origin, api_origins, ip_literal, same_site
from ..spec.fetch_spec import is_loopback


@dataclass
class Cookie:
    name: str
    samesite: str | None
    secure: bool
    path: str = "/"
    # CHIPS: kept in the partition of the top-level site it was set under (a cell has one)
    partitioned: bool = False
    # RFC 6265bis 5.7: sent to its host alone, or (a Domain attribute) to every host that
    # domain-matches the jar key's domain; the flag is part of the cookie's identity
    host_only: bool = True


@dataclass(frozen=True)
class SetCookie:
    """One Set-Cookie header as RFC 6265bis section 5.6 parses it (the attributes the model
    needs); `delete`: a Max-Age of zero or less removes the cookie."""

    name: str
    samesite: str | None
    secure: bool
    path: str
    delete: bool = False
    partitioned: bool = False
    domain: str | None = None  # the Domain attribute, as 5.6.3 leaves it


def cookie_path(value: str, request_path: str) -> str:
    """The path a Set-Cookie header's cookie is scoped to (RFC 6265bis 5.6.4 and 5.1.4): its
    Path attribute when it starts with "/", else the request path's directory."""
    path = None
    for attribute in value.split(";")[1:]:
        key, _, val = attribute.partition("=")
        if key.strip().lower() == "path" and val.strip().startswith("/"):
            path = val.strip()
    if path is not None:
        return path
    directory = request_path.split("?")[0].rsplit("/", 1)[0]
    return directory or "/"


def parse_set_cookie(value: str, request_path: str) -> SetCookie | None:
    """RFC 6265bis 5.6: name=value before the first ";", then attributes; None when the
    header is ignored (no "=" in the pair, or an empty name). The default path is the request
    path's directory (5.1.4); the last non-empty Domain attribute, without a leading "." and
    lower-cased (5.6.3)."""
    pair, *attributes = value.split(";")
    if "=" not in pair:
        return None
    name = pair.split("=", 1)[0].strip()
    if not name:
        return None
    samesite, secure, delete, partitioned, domain = None, False, False, False, None
    for attribute in attributes:
        key, _, val = attribute.partition("=")
        key, val = key.strip().lower(), val.strip()
        if key == "samesite":
            samesite = {"strict": "Strict", "lax": "Lax", "none": "None"}.get(val.lower())
        elif key == "secure":
            secure = True
        elif key == "max-age" and val.lstrip("-").isdigit():
            delete = int(val) <= 0
        elif key == "partitioned":
            partitioned = True
        elif key == "domain" and val:
            domain = val.removeprefix(".").lower()
    return SetCookie(name, samesite, secure, cookie_path(value, request_path), delete, partitioned,
                     domain)  # fmt: skip


def domain_match(host: str, domain: str) -> bool:
    """RFC 6265bis 5.1.3: the same string, or a host name (not an IP address) ending in
    "." + domain."""
    if host == domain:
        return True
    return host.endswith("." + domain) and not ip_literal(host)


def public_suffix(domain: str) -> bool:
    """A Domain attribute no cookie may claim (RFC 6265bis 5.7, step 9): a public suffix. The
    run's hosts are loopback names and IANA's example.com/org/net, whose public suffixes are
    their one-label names (com, org, net, localhost), as in the Public Suffix List."""
    return "." not in domain and not ip_literal(domain)


def include_credentials(credentials: str, same_origin: bool) -> bool:
    """Fetch's includeCredentials: credentials mode "include", or "same-origin" while the
    response tainting is "basic" (`same_origin`). It decides both the cookies a request sends
    and whether its answer's Set-Cookie is stored."""
    return credentials == "include" or (credentials == "same-origin" and same_origin)


def path_matches(request_path: str, cookie_path: str) -> bool:
    """RFC 6265bis 5.1.4 path-match."""
    path = request_path.split("?")[0] or "/"
    if path == cookie_path:
        return True
    return path.startswith(cookie_path) and (cookie_path.endswith("/")
                                             or path[len(cookie_path)] == "/")  # fmt: skip


class CookieJar:
    """A mixin of the browser model (BrowserModel), which holds probe, ctx, profile, jar and
    the prediction p."""

    def effective_samesite(self, cookie: Cookie | CookieSpec) -> str:
        if cookie.samesite is None:
            return "Lax" if self.profile.lax_by_default else "None"
        return cookie.samesite

    def same_site_as_page(self, origin: str) -> bool:
        return not self.ctx.opaque_initiator and same_site(self.ctx.page_origin, origin)

    def store_cookie(self, spec: CookieSpec | SetCookie, top_level: bool,
                     where: str | None = None) -> None:  # fmt: skip
        """Store a cookie the API at `where` (default: the scenario's set_cookies server) sets,
        unless a rule refuses it (said in the prediction's reasons)."""
        if where is None:
            where = api_origins(self.ctx.api_origin)[spec.server]
        setter = Origin.parse(where)
        domain = (spec.domain or "").removeprefix(".").lower() or None
        if domain is not None and public_suffix(domain):
            if domain != setter.host:  # RFC 6265bis 5.7 step 9
                self.p.reasons.append(f"cookie {spec.name} rejected: Domain={domain} is a public "
                                      "suffix")  # fmt: skip
                return
            domain = None  # the host itself: a host-only cookie
        if domain is not None and not domain_match(setter.host, domain):  # step 10
            self.p.reasons.append(f"cookie {spec.name} rejected: Domain={domain} does not "
                                  f"domain-match {setter.host}")  # fmt: skip
            return
        same = top_level or self.same_site_as_page(where)
        samesite = self.effective_samesite(spec)
        partitioned = getattr(spec, "partitioned", False) and self.profile.partitioned_cookies
        if partitioned and not spec.secure:
            # CHIPS: "Partitioned" without "Secure" is rejected
            self.p.reasons.append(f"cookie {spec.name} rejected: Partitioned without Secure")
            return
        if (
            spec.samesite == "None"
            and not spec.secure
            and self.profile.samesite_none_requires_secure
        ):
            self.p.reasons.append(f"cookie {spec.name} rejected: SameSite=None without Secure")
            return
        if spec.secure and not self.secure_scheme(setter):
            self.p.reasons.append(f"cookie {spec.name} rejected: Secure over http")
            return
        if not same:
            if self.ctx.cookie_policy == "block-third-party" and not (
                partitioned and self.profile.partitioned_cookies_escape_third_party_blocking
            ):
                self.p.reasons.append(f"cookie {spec.name} not stored: third-party cookies blocked")
                return
            if samesite != "None":
                self.p.reasons.append(
                    f"cookie {spec.name} not stored: SameSite={samesite} set by a cross-site fetch"
                )
                return
        key = (domain or setter.host, spec.name, domain is None)
        if getattr(spec, "delete", False):
            self.jar.pop(key, None)
            return
        self.jar[key] = Cookie(spec.name, spec.samesite, spec.secure, getattr(spec, "path", "/"),
                               partitioned, host_only=domain is None)  # fmt: skip

    def secure_scheme(self, origin: Origin) -> bool:
        """RFC 6265bis 5.7 step 8 and 5.8.3: a Secure cookie is set and sent over a secure
        scheme only: https, or a loopback host over http where the engine counts it as one."""
        return origin.scheme == "https" or (
            is_loopback(origin.host) and self.profile.secure_cookies_on_loopback_http
        )

    def store_response_cookies(self, values: list[str], include_credentials: bool, where: str,
                               request_path: str) -> None:  # fmt: skip
        """Fetch, HTTP-network fetch: "If includeCredentials is true, the user agent should
        parse and store the Set-Cookie headers" of every response, a redirect's included,
        before (and whatever) the CORS check; a fetch without credentials stores none."""
        if not values:
            return
        if not include_credentials:
            self.p.reasons.append("Set-Cookie ignored: the fetch does not include credentials")
            return
        for value in values:
            parsed = parse_set_cookie(value, request_path)
            if parsed is not None:
                self.store_cookie(parsed, top_level=False, where=where)

    def set_cookies(self) -> None:
        for spec in self.probe.set_cookies:
            if spec.via == "navigation":
                self.store_cookie(spec, top_level=True)
            else:
                # A credentialed simple GET from the page to /cookies/set: Set-Cookie is processed
                # in HTTP-network fetch, before (and regardless of) the CORS check.
                self.store_cookie(spec, top_level=False)

    def cookies_to_send(self, credentials: str, same_origin: bool, origin: str,
                        path: str = "/") -> list[str]:  # fmt: skip
        """Fetch's includeCredentials, then the jar's cookies for `origin`'s host and `path`."""
        if not include_credentials(credentials, same_origin):
            return []
        target = Origin.parse(origin)
        host = target.host
        jar = [cookie for (where, *_), cookie in self.jar.items()
               if (where == host if cookie.host_only else domain_match(host, where))
               and path_matches(path, cookie.path)
               and (not cookie.secure or self.secure_scheme(target))]  # fmt: skip
        same = self.same_site_as_page(origin)
        if not same and self.ctx.cookie_policy == "block-third-party":
            # partitioned cookies stay available where the engine exempts them (CHIPS)
            exempt = self.profile.partitioned_cookies_escape_third_party_blocking
            kept = [c for c in jar if c.partitioned and exempt]
            if len(kept) < len(jar):
                self.p.reasons.append("cookies withheld: third-party cookies blocked")
            jar = kept
        sent = []
        for cookie in jar:
            samesite = self.effective_samesite(cookie)
            if samesite in ("Strict", "Lax") and not same:
                self.p.reasons.append(
                    f"cookie {cookie.name} withheld: SameSite={samesite}, cross-site page"
                )
                continue
            sent.append(cookie.name)
        return sorted(sent)
