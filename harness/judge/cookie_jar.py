"""The browser model's cookie jar: RFC 6265bis storage and sending rules (SameSite, Secure,
third-party blocking) with the profile's choices."""

from __future__ import annotations

from dataclasses import dataclass

from ..scenario import CookieSpec
from ..scenario.origins import Origin, api_origins, same_site


@dataclass
class Cookie:
    name: str
    samesite: str | None
    secure: bool


class CookieJar:
    """A mixin of the browser model (BrowserModel), which holds probe, ctx, profile, jar and
    the prediction p."""

    def effective_samesite(self, cookie: Cookie | CookieSpec) -> str:
        if cookie.samesite is None:
            return "Lax" if self.profile.lax_by_default else "None"
        return cookie.samesite

    def same_site_as_page(self, origin: str) -> bool:
        return not self.ctx.opaque_initiator and same_site(self.ctx.page_origin, origin)

    def store_cookie(self, spec: CookieSpec, top_level: bool) -> None:
        where = api_origins(self.ctx.api_origin)[spec.server]
        same = top_level or self.same_site_as_page(where)
        samesite = self.effective_samesite(spec)
        if (
            spec.samesite == "None"
            and not spec.secure
            and self.profile.samesite_none_requires_secure
        ):
            self.p.reasons.append(f"cookie {spec.name} rejected: SameSite=None without Secure")
            return
        api = Origin.parse(self.ctx.api_origin)
        if (
            spec.secure
            and api.scheme != "https"
            and not self.profile.secure_cookies_on_loopback_http
        ):
            self.p.reasons.append(f"cookie {spec.name} rejected: Secure over http")
            return
        if not same:
            if self.ctx.cookie_policy == "block-third-party":
                self.p.reasons.append(f"cookie {spec.name} not stored: third-party cookies blocked")
                return
            if samesite != "None":
                self.p.reasons.append(
                    f"cookie {spec.name} not stored: SameSite={samesite} set by a cross-site fetch"
                )
                return
        self.jar[(Origin.parse(where).host, spec.name)] = Cookie(
            spec.name, spec.samesite, spec.secure
        )

    def set_cookies(self) -> None:
        for spec in self.probe.set_cookies:
            if spec.via == "navigation":
                self.store_cookie(spec, top_level=True)
            else:
                # A credentialed simple GET from the page to /cookies/set: Set-Cookie is processed
                # in HTTP-network fetch, before (and regardless of) the CORS check.
                self.store_cookie(spec, top_level=False)

    def cookies_to_send(self, credentials: str, same_origin: bool, origin: str) -> list[str]:
        """Fetch's includeCredentials (mode include, or same-origin for a same-origin request:
        response tainting basic), then the jar's cookies for `origin`'s host."""
        if not (credentials == "include" or credentials == "same-origin" and same_origin):
            return []
        host = Origin.parse(origin).host
        jar = [cookie for (where, _), cookie in self.jar.items() if where == host]
        same = self.same_site_as_page(origin)
        if not same and self.ctx.cookie_policy == "block-third-party":
            if jar:
                self.p.reasons.append("cookies withheld: third-party cookies blocked")
            return []
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
