"""Why a cell was blocked (or lost a cookie or a header), in one sentence with a stable code, and
the smallest config change that fixes it.

Derived from the oracle's reasoning (its `reasons`, written from fixed templates in the browser
model's steps) and the scenario's resolved config, never from engine text: the engine's own
message is stored beside it, and tests/test_causes.py checks that the two agree. Codes follow
Firefox's CORS reason names where one exists (https://developer.mozilla.org/en-US/docs/Web/HTTP/CORS/Errors).
A fix is a change of CORSMiddleware keywords (or of the app's shape: `cors`, `cors_outermost`,
`auth_outside_cors`) that the host can apply to the running app and re-run; fixes outside the
app (nginx, the cookie itself, the browser's policy) are named but cannot be re-run here. No fix
is offered where the block is the point (the attacker page).
"""

from __future__ import annotations

import re
from typing import Any

from ..scenario import Probe
from ..spec import fetch_spec
from .cause import CODES, RECONFIGURABLE, Cause
from .cookie_causes import CookieCauses
from .oracle import Context, cors_model
from .preflight_causes import PreflightCauses

__all__ = ["CODES", "RECONFIGURABLE", "Cause", "explain"]


class _Explainer(PreflightCauses, CookieCauses):
    def __init__(self, probe: Probe, ctx: Context, page: str, last_origin: str | None = None):
        self.probe, self.ctx, self.page = probe, ctx, page
        # the last request said Origin: null though its page has an origin: a cross-origin
        # redirect tainted it (Fetch, HTTP-redirect fetch)
        self.tainted = last_origin == "null" and page != "sandboxed" and not ctx.opaque_initiator
        self.kwargs = dict(ctx.server_kwargs)
        self.model = cors_model(ctx, self.kwargs) if ctx.cors else None
        # the first name of an origin wins: {app} before {app_https} (they can be one origin)
        self.names = {origin: name for name, origin in reversed(ctx.origins.items())}
        # pages that should be refused: the attacker, and an opaque origin (Origin: null), which
        # any site can take on with a sandboxed iframe
        self.attacker = page in ("attacker", "sandboxed")

    # --- helpers --------------------------------------------------------------------------
    def placeholder(self, origin: str) -> str:
        name = self.names.get(origin)
        return f"{{{name}}}" if name else origin

    def origins_with(self, replace: str | None = None) -> list[str]:
        """allow_origins with the page's origin in (replacing `replace` if given)."""
        current = [self.placeholder(o) for o in self.kwargs.get("allow_origins", [])]
        mine = self.placeholder(self.ctx.page_origin)
        if replace is not None:
            return [mine if o == self.placeholder(replace) else o for o in current]
        return [*[o for o in current if o != "*"], mine]

    def add_cors(self) -> dict[str, Any]:
        """The fix for an app without CORSMiddleware: add it, allowing this page's origin and
        what its probe needs."""
        return {
            "cors": True,
            "allow_origins": [self.placeholder(self.ctx.page_origin)],
            **self.preflight_needs(),
        }

    def unsafe_headers(self) -> list[str]:
        return fetch_spec.unsafe_request_header_names(self.probe.headers)

    def method(self) -> str:
        return fetch_spec.normalize_method(self.probe.method)

    def intended(self, code: str, sentence: str) -> Cause:
        return Cause(
            code,
            sentence
            + (
                "; the sandboxed page's Origin: null is refused, as it should be"
                if self.page == "sandboxed"
                else "; the attacker page is refused, as it should be"
            ),
            fix_note="intended: do not allow this origin",
        )

    # --- origins --------------------------------------------------------------------------
    def origin_refused(self, where: str) -> Cause:
        page = self.ctx.page_origin
        if self.attacker:
            return self.intended("missing-allow-origin", f"no Access-Control-Allow-Origin {where}")
        if self.model is None:
            return Cause(
                "missing-allow-origin",
                f"no Access-Control-Allow-Origin {where}: the app has no CORSMiddleware",
                fix=self.add_cors(),
            )
        configured = self.kwargs.get("allow_origins", [])
        for origin in configured:
            if origin == page:
                continue
            slip = None
            if origin.rstrip("/") == page:
                slip = "has a trailing slash and never matches"
            elif origin.strip() == page:
                slip = "has surrounding whitespace (split without strip) and never matches"
            elif origin.lower() == page.lower():
                slip = "differs in case; origins are compared exactly"
            elif origin.split("://", 1)[-1] == page.split("://", 1)[-1]:
                slip = "has another scheme; the page is " + page.split("://")[0]
            if slip:
                return Cause(
                    "missing-allow-origin",
                    f"no Access-Control-Allow-Origin {where}: the configured origin "
                    f"{origin!r} {slip}",
                    fix={"allow_origins": self.origins_with(replace=origin)},
                )
        regex = self.kwargs.get("allow_origin_regex")
        detail = f"{page!r} is not in allow_origins {configured}"
        if regex:
            detail += f" and does not fully match allow_origin_regex {regex!r}"
        return Cause(
            "missing-allow-origin",
            f"no Access-Control-Allow-Origin {where}: {detail}",
            fix={"allow_origins": self.origins_with(), **self.preflight_needs()},
        )

    # --- reasons -> causes ----------------------------------------------------------------
    def cause(self, text: str) -> Cause | None:
        """The cause behind one of the oracle's reasons."""
        if text.startswith("cookie"):  # also "cookies ..."
            return self.cookie(text)
        if text.startswith("header ") and "not exposed" in text:
            name = text.split()[1]
            return Cause(
                "header-not-exposed",
                f"the response carries {name} but the page cannot "
                "read it: it is not in expose_headers",
                fix={"expose_headers": [*self.kwargs.get("expose_headers", []), name]},
            )
        if text.startswith("no-cors with redirect mode"):
            return Cause(
                "no-cors-redirect-mode",
                "a no-cors fetch with redirect 'manual' or 'error' is a network error before "
                "anything is sent (Fetch, main fetch)",
                fix_note="use redirect 'follow' with mode 'no-cors', or mode 'cors'",
            )
        if text.startswith("mode 'same-origin'"):
            return Cause(
                "mode-same-origin",
                "the fetch uses mode 'same-origin' and its URL (or a redirect's target) is "
                "another origin: a network error, which no CORS header can allow",
                fix_note="use mode 'cors' (the default) and allow the page's origin on the API",
            )
        if text.startswith("redirect to a URL with credentials"):
            return Cause(
                "credentials-in-redirect-url",
                "the redirect's Location carries user:password@, which a CORS request to "
                "another origin may not follow (Fetch, HTTP-redirect fetch) and Chromium "
                "follows for no subresource at all",
                fix_note="redirect to a URL without credentials; send them in Authorization",
            )
        if text.startswith("no-cors"):
            return Cause(
                "no-cors-forbidden",
                "mode 'no-cors' allows only GET, HEAD and POST: the page's Request constructor "
                "throws before anything is sent (other headers are dropped without an error)",
                fix_note="use mode 'cors'",
            )
        if text.startswith("mixed content: the"):
            return Cause(
                "mixed-content-redirect",
                "the server redirected the https page's request to an http:// URL, which the "
                "browser blocks as mixed content (e.g. a TLS proxy in front of uvicorn without "
                "--proxy-headers: redirect_slashes builds the Location from http)",
                fix_note="run uvicorn with --proxy-headers (and --forwarded-allow-ips) so the "
                "app sees https, or call the URL the app expects (with its trailing slash)",
            )
        if text.startswith("mixed content: an https page"):
            return Cause(
                "mixed-content",
                "the https page calls an http:// API, which the browser blocks as mixed content "
                "before sending anything (WebKit even for http://localhost)",
                fix_note="serve the API over https (or, in development, the page over http)",
            )
        if text.startswith("keepalive:"):
            return Cause(
                "keepalive-quota",
                text.removeprefix("keepalive: ") + ": the browser refuses the fetch before "
                "sending it (all keepalive bodies in flight share 64 KiB)",
                fix_note="send large bodies without keepalive, or in parts under 64 KiB",
            )
        if "a port that speaks" in text:
            return Cause(
                "redirect-to-other-scheme",
                "the server redirected to its own host and port under the other scheme (an "
                "http:// Location from an app behind TLS): the connection fails; on a real host "
                "name an https page would block it as mixed content first",
                fix_note="run uvicorn with --proxy-headers (and --forwarded-allow-ips) so the "
                "app sees https, or call the URL the app expects (with its trailing slash)",
            )
        if text.startswith("redirect mode 'error'"):
            return Cause(
                "redirect-mode-error",
                "the request was made with redirect: 'error', and the server answered a redirect",
                fix_note="call the final URL, or fetch with redirect: 'follow'",
            )
        if "is checked as credentialed (the fetch started on the page's origin)" in text:
            return Cause(
                "redirect-checked-as-credentialed",
                "the fetch started on the page's own origin and was redirected twice; WebKit "
                "checks the other origin's redirect as a credentialed response, so it needs "
                "Access-Control-Allow-Credentials: true and the exact origin (Chromium and "
                "Firefox do not): " + text.rpartition(": ")[2],
                fix_note="fetch with credentials: 'omit' when no cookie is needed, or answer the "
                "redirect on the other origin with Access-Control-Allow-Credentials: true and "
                "the page's exact origin",
            )
        if text == "too many redirects":
            return Cause(
                "redirect-loop",
                "the redirect chain exceeds 20 hops",
                fix_note="fix the redirect target",
            )
        if text.startswith("preflight: an Access-Control-Allow-* list does not parse"):
            return self.invalid_list()
        match = re.match(r"preflight answered (\d+) with (.*)", text)
        if match:
            return self.preflight_failed(int(match.group(1)), match.group(2))
        match = re.match(r"preflight answered (\d+) \((.*)\)", text)
        if match:
            return self.preflight_status(int(match.group(1)), match.group(2))
        match = re.match(r"preflight: method (\S+) not in", text)
        if match:
            return self.method_refused(match.group(1), text)
        if text.startswith("preflight: Authorization is not covered"):
            return self.headers_refused(
                ["authorization"],
                "'*' in allow_headers does not cover "
                "Authorization (Fetch: the wildcard never includes it)",
            )
        match = re.match(r"preflight: header (\S+) not in", text)
        if match:
            return self.headers_refused(
                [match.group(1)],
                "'*' does not apply to credentialed requests" if "*" in text else "not listed",
            )
        return self.actual_failed(text, "on the response")

    def invalid_list(self) -> Cause:
        """An allow_methods/allow_headers entry that is not a token: the browser cannot parse
        the list, so every preflight fails; the fix drops the entries that are no token."""
        fix = {}
        for key in ("allow_methods", "allow_headers"):
            given = self.kwargs.get(key, [])
            if any(not fetch_spec.is_token(v) and v != "*" for v in given):
                fix[key] = [v for v in given if fetch_spec.is_token(v) or v == "*"]
        return Cause(
            "invalid-allow-list",
            "an Access-Control-Allow-Methods/-Headers entry is not a valid token, so the "
            "browser cannot parse the list and fails every preflight",
            fix=fix or None,
            fix_note="" if fix else "send only token names in Access-Control-Allow-*",
        )

    def tainted_origin(self) -> Cause:
        sentence = ("the request followed a redirect to another origin, so its Origin is null "
                    "(a cross-origin redirect taints it): only Access-Control-Allow-Origin: "
                    "null, or * without credentials, lets the page read the answer")  # fmt: skip
        if self.attacker:
            return self.intended("tainted-origin", sentence)
        return Cause("tainted-origin", sentence,
                     fix_note="let the page fetch the final URL itself, or redirect only "
                     "within one origin; allowing 'null' would let every sandboxed page read "
                     "it too")  # fmt: skip

    def actual_failed(self, text: str, where: str) -> Cause:
        refused_null = text == "no Access-Control-Allow-Origin" or text.endswith(
            " does not match 'null'"
        )
        if self.tainted and refused_null:
            return self.tainted_origin()
        if text == "no Access-Control-Allow-Origin":
            if self.probe.path.startswith("/error") and not self.ctx.cors_outermost and self.model:
                return Cause(
                    "exception-escaped-cors",
                    "the 500 response carries no CORS headers because the exception "
                    "escaped CORSMiddleware (ServerErrorMiddleware sits outside it)",
                    fix={"cors_outermost": True},
                    fix_note="wrap the whole app: app = CORSMiddleware(app, ...)",
                )
            if self.ctx.auth_outside_cors and not any(
                h.lower() == "authorization" for h in self.probe.headers
            ):
                return Cause(
                    "missing-allow-origin",
                    "the 401 from the auth middleware outside "
                    "CORSMiddleware carries no CORS headers",
                    fix={"auth_outside_cors": False},
                    fix_note="add CORSMiddleware last, so it runs outside the auth",
                )
            if self.ctx.proxy == "strip":
                return Cause(
                    "missing-allow-origin",
                    "nginx strips the Access-Control-* headers the app sent",
                    fix_note="remove proxy_hide_header for them in nginx",
                )
            return self.origin_refused(where)
        match = re.match(r"Access-Control-Allow-Origin '(.*)' does not match '(.*)'", text)
        if match:
            sent = match.group(1)
            if "," in sent:
                return Cause(
                    "multiple-allow-origin",
                    f"Access-Control-Allow-Origin came twice "
                    f"({sent!r}): nginx adds its own next to the app's",
                    fix_note="add the header in nginx only once (or only in the app)",
                )
            if sent == "*" and self.ctx.proxy in ("add-allow-origin", "answer-options"):
                return Cause(
                    "credentials-with-wildcard",
                    "nginx sends Access-Control-Allow-Origin: * itself, and a credentialed "
                    "request cannot be answered with *",
                    fix_note="let the app answer CORS (drop nginx's add_header), or send the "
                    "checked $http_origin and Access-Control-Allow-Credentials: true from nginx",
                )
            if sent == "*":
                if self.attacker:
                    return self.intended(
                        "credentials-with-wildcard",
                        "a credentialed request "
                        "cannot be answered with Access-Control-Allow-Origin: *",
                    )
                return Cause(
                    "credentials-with-wildcard",
                    "a credentialed request cannot be answered with Access-Control-Allow-Origin: *",
                    fix={"allow_origins": self.origins_with(), "allow_credentials": True},
                )
            if self.attacker:
                return self.intended("origin-mismatch", f"Access-Control-Allow-Origin is {sent!r}")
            return Cause(
                "origin-mismatch",
                f"Access-Control-Allow-Origin is {sent!r}, not the page's {self.ctx.page_origin!r}",
                fix_note="send the request's own origin (nginx: $http_origin after a "
                "whitelist check), or let the app answer",
            )
        if text.startswith("credentialed request but no Access-Control-Allow-Credentials"):
            if self.attacker:
                return self.intended(
                    "missing-allow-credentials",
                    "no Access-Control-Allow-Credentials: true on a credentialed request",
                )
            return Cause(
                "missing-allow-credentials",
                "a credentialed request (credentials: "
                "'include') needs Access-Control-Allow-Credentials: true; "
                "allow_credentials is off",
                fix={"allow_credentials": True},
            )
        return Cause("unexplained", text)


def explain(
    probe: Probe,
    ctx: Context,
    page: str,
    reasons: list[str],
    outcome: str | None,
    last_origin: str | None = None,
) -> list[Cause]:
    """Causes for a cell, from the oracle's reasons for it; empty for a plain success.
    `last_origin`: the Origin header of the last request (the oracle's `origin_headers`)."""
    explainer = _Explainer(probe, ctx, page, last_origin)
    causes: list[Cause] = []
    for reason in reasons:
        cause = explainer.cause(reason)
        if cause is not None and cause.sentence not in {c.sentence for c in causes}:
            causes.append(cause)
    if not causes and outcome == "cors-error":
        causes.append(Cause("unexplained", "blocked, and the oracle has no reason for it"))
    return causes
