"""Causes found in the CORS-preflight fetch: what the probe's preflight must be allowed, and why
a preflight failed (its status, a refused method or request header). A mixin of the causes'
explainer (causes.py), which holds probe, ctx, kwargs, model and the attacker flag."""

from __future__ import annotations

from typing import Any

from ..spec import fetch_spec
from .cause import Cause


class PreflightCauses:
    def preflight_needs(self) -> dict[str, Any]:
        """Methods/headers a preflighted probe also needs once its origin is allowed."""
        if self.model is None and not self.needs_preflight():
            return {}
        needs: dict[str, Any] = {}
        allowed_methods = self.model.allow_methods if self.model else ["GET"]
        if self.needs_preflight() and self.method() not in allowed_methods:
            needs["allow_methods"] = [*allowed_methods, self.method()]
        allowed_headers = self.model.allow_headers if self.model else []
        missing = [h for h in self.unsafe_headers() if h not in allowed_headers]
        if missing and "*" not in self.kwargs.get("allow_headers", []):
            needs["allow_headers"] = [*self.kwargs.get("allow_headers", []), *missing]
        return needs

    def needs_preflight(self) -> bool:
        return self.probe.mode == "cors" and (
            self.method() not in fetch_spec.SAFELISTED_METHODS
            or bool(self.unsafe_headers())
            or self.probe.upload_listener  # XHR's use-CORS-preflight flag
        )

    def preflight_failed(self, status: int, failure: str) -> Cause:
        if 300 <= status <= 399:
            if self.attacker:
                return self.intended("preflight-redirect", f"the preflight got a {status} redirect")
            return Cause(
                "preflight-redirect",
                f"the preflight was answered with a {status} "
                "redirect; browsers never follow a redirect for a preflight",
                fix=self.add_cors() if self.model is None else None,
                fix_note="answer OPTIONS at the requested URL (CORSMiddleware does); "
                "point the page at the final URL",
            )
        if self.ctx.proxy == "answer-options":
            return Cause(
                "missing-allow-origin",
                f"nginx answered the preflight itself ({status}) "
                "without Access-Control-Allow-Origin",
                fix_note="let OPTIONS through to the app, or add the header with "
                "`always` inside the if block",
            )
        if status == 401 and self.ctx.auth_outside_cors:
            return Cause(
                "preflight-status",
                "the preflight got 401: the auth middleware outside "
                "CORSMiddleware refuses OPTIONS (preflights never carry credentials)",
                fix={"auth_outside_cors": False},
                fix_note="add CORSMiddleware last, so it answers preflights first",
            )
        if status == 405 and self.model is None:
            if self.attacker:
                return self.intended("preflight-status", "the preflight got 405 (no CORS)")
            return Cause(
                "preflight-status",
                "the preflight got 405: the app has no "
                "CORSMiddleware, and the route has no OPTIONS handler",
                fix=self.add_cors(),
            )
        cause = self.actual_failed(failure, f"on the preflight ({status})")
        if cause.fix is not None and not self.attacker:
            cause.fix = {**cause.fix, **self.preflight_needs()}
        return cause

    def preflight_status(self, status: int, note: str) -> Cause:
        if "method" in note:
            return self.method_refused(self.method(), f"the preflight got {status} ({note})")
        if "headers" in note:
            missing = [
                h
                for h in self.unsafe_headers()
                if h not in (self.model.allow_headers if self.model else [])
            ]
            return self.headers_refused(
                missing or self.unsafe_headers(), f"the preflight got {status}"
            )
        return Cause(
            "preflight-status",
            f"the preflight got {status} ({note}); it must be 2xx",
            fix_note="answer OPTIONS with 2xx (CORSMiddleware does)",
        )

    def method_refused(self, method: str, detail: str) -> Cause:
        if self.attacker:
            return self.intended("method-not-allowed", f"{method} is not allowed")
        allowed = self.kwargs.get("allow_methods", ["GET"])
        note = (
            " (method names are case-sensitive: list them in upper case)"
            if any(m != m.upper() for m in allowed)
            else ""
        )
        return Cause(
            "method-not-allowed",
            f"{detail}: {method} is not in allow_methods {allowed}{note}",
            fix={"allow_methods": [*allowed, method]},
        )

    def headers_refused(self, names: list[str], detail: str) -> Cause:
        listed = ", ".join(repr(n) for n in names)
        if self.attacker:
            return self.intended("header-not-allowed", f"{listed} not allowed")
        current = list(self.kwargs.get("allow_headers", []))
        proper = ["Authorization" if n == "authorization" else n for n in names]
        return Cause(
            "header-not-allowed",
            f"{detail} because {listed} is not in allow_headers {current}",
            fix={"allow_headers": [*current, *proper]},
        )
