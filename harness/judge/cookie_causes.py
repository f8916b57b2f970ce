"""Causes for a cookie the browser did not store or send: its Secure and SameSite attributes,
its Domain, third-party blocking. A mixin of the causes' explainer (causes.py); no cookie
cause has a CORSMiddleware fix, so each names what to change instead."""

from __future__ import annotations

import re

from .cause import Cause


class CookieCauses:
    def cookie(self, text: str) -> Cause:
        if "SameSite=None without Secure" in text:
            return Cause(
                "cookie-secure",
                text + ": a SameSite=None cookie must be Secure",
                fix_note="set the cookie with SameSite=None; Secure",
            )
        if "Secure over http" in text:
            return Cause(
                "cookie-secure",
                text + ": this engine stores Secure cookies only over https",
                fix_note="serve the API over https",
            )
        if "third-party cookies blocked" in text:
            return Cause(
                "third-party-cookie-blocked",
                text + ": the page is cross-site to the API "
                "and the browser blocks third-party cookies; no CORS setting changes that",
                fix_note="serve page and API from one site (api.example.com for "
                "app.example.com), or send a token instead of a cookie",
            )
        if "does not domain-match" in text or "is a public suffix" in text:
            return Cause(
                "cookie-domain",
                text + ": a cookie's Domain must be the setting host or a site it belongs to, "
                "and not a public suffix (RFC 6265bis 5.7)",
                fix_note="give the Domain both hosts share (Domain=example.com for "
                "app.example.com and api.example.com), or none for a host-only cookie",
            )
        match = re.search(r"SameSite=(\w+)", text)
        samesite = match.group(1) if match else "Lax"
        return Cause(
            "cookie-samesite",
            f"{text}: a SameSite={samesite} cookie is not sent on a cross-site request",
            fix_note="set the cookie with SameSite=None; Secure "
            "(and expect third-party cookie blocking), or serve page and API same-site",
        )
