"""Why a cell was blocked (or lost a cookie or a header), in one sentence with a stable code, and
the smallest config change that fixes it.

Derived from the oracle's reasoning (its `reasons`, written from fixed templates in oracle.py)
and the scenario's resolved config, never from engine text: the engine's own message is stored
beside it, and tests/test_causes.py checks that the two agree. Codes follow Firefox's CORS
reason names where one exists (https://developer.mozilla.org/en-US/docs/Web/HTTP/CORS/Errors).
A fix is a change of CORSMiddleware keywords (or of the app's shape: `cors`, `cors_outermost`,
`auth_outside_cors`) that the host can apply to the running app and re-run; fixes outside the
app (nginx, the cookie itself, the browser's policy) are named but cannot be re-run here. No fix
is offered where the block is the point (the attacker page).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

from . import fetch_spec
from .oracle import Context, cors_model
from .scenario import CORS_KWARGS, RECONFIGURABLE_SHAPE, Probe

CODES = (
    "missing-allow-origin",
    "origin-mismatch",
    "multiple-allow-origin",
    "credentials-with-wildcard",
    "missing-allow-credentials",
    "header-not-allowed",
    "method-not-allowed",
    "preflight-status",
    "preflight-redirect",
    "invalid-allow-list",
    "redirect-mode-error",
    "mixed-content",
    "mixed-content-redirect",
    "redirect-to-other-scheme",
    "keepalive-quota",
    "exception-escaped-cors",
    "header-not-exposed",
    "cookie-samesite",
    "cookie-secure",
    "third-party-cookie-blocked",
    "no-cors-forbidden",
    "redirect-loop",
    "unexplained",
)
# keys the host can change on the running app (control port /reconfigure); others are not re-run
RECONFIGURABLE = {*CORS_KWARGS, *RECONFIGURABLE_SHAPE}


@dataclass
class Cause:
    code: str
    sentence: str
    fix: dict[str, Any] | None = None  # keyword/app-shape changes that fix it
    fix_note: str = ""  # how to fix where `fix` cannot express it, or why there is none
    verified: dict[str, Any] | None = field(default=None)  # filled by a fix re-run

    @property
    def rerunnable(self) -> bool:
        return bool(self.fix) and set(self.fix) <= RECONFIGURABLE

    def as_record(self) -> dict[str, Any]:
        return asdict(self)


class _Explainer:
    def __init__(self, probe: Probe, ctx: Context, page: str) -> None:
        self.probe, self.ctx, self.page = probe, ctx, page
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
            self.method() not in fetch_spec.SAFELISTED_METHODS or bool(self.unsafe_headers())
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

    def actual_failed(self, text: str, where: str) -> Cause:
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
        match = re.search(r"SameSite=(\w+)", text)
        samesite = match.group(1) if match else "Lax"
        return Cause(
            "cookie-samesite",
            f"{text}: a SameSite={samesite} cookie is not sent on a cross-site request",
            fix_note="set the cookie with SameSite=None; Secure "
            "(and expect third-party cookie blocking), or serve page and API same-site",
        )


def explain(
    probe: Probe, ctx: Context, page: str, reasons: list[str], outcome: str | None
) -> list[Cause]:
    """Causes for a cell, from the oracle's reasons for it; empty for a plain success."""
    explainer = _Explainer(probe, ctx, page)
    causes: list[Cause] = []
    for reason in reasons:
        cause = explainer.cause(reason)
        if cause is not None and cause.sentence not in {c.sentence for c in causes}:
            causes.append(cause)
    if not causes and outcome == "cors-error":
        causes.append(Cause("unexplained", "blocked, and the oracle has no reason for it"))
    return causes


# The engines' own wording, mapped to the same codes (Chromium's blink/renderer CORS error
# strings, Firefox's CORS "Reason:" texts: https://developer.mozilla.org/en-US/docs/Web/HTTP/
# Guides/CORS/Errors). Used to check that a cell's cause agrees with what the engine said.
ENGINE_PATTERNS = (
    (r"must not be the wildcard '\*' when the request's credentials mode is 'include'|"
     r"Credential is not supported if the CORS header .Access-Control-Allow-Origin. is .\*.",
     "credentials-with-wildcard"),
    (r"contains multiple values|Multiple CORS header", "multiple-allow-origin"),
    (r"No 'Access-Control-Allow-Origin' header is present|"
     r"CORS header .Access-Control-Allow-Origin. missing", "missing-allow-origin"),
    (r"that is not equal to the supplied origin|CORS header .Access-Control-Allow-Origin. does "
     r"not match", "origin-mismatch"),
    (r"Access-Control-Allow-Credentials' header in the response is|expected .true. in CORS "
     r"header .Access-Control-Allow-Credentials.", "missing-allow-credentials"),
    (r"is not allowed by Access-Control-Allow-Headers|is not allowed according to header "
     r".Access-Control-Allow-Headers.", "header-not-allowed"),
    (r"is not allowed by Access-Control-Allow-Methods|Did not find method in CORS header",
     "method-not-allowed"),
    (r"Redirect is not allowed for a preflight request|CORS request external redirect not "
     r"allowed", "preflight-redirect"),
    (r"does not have HTTP ok status|CORS preflight response did not succeed", "preflight-status"),
    (r"Cannot parse Access-Control-Allow-(Headers|Methods)|invalid token .* in CORS header "
     r".Access-Control-Allow-(Headers|Methods).", "invalid-allow-list"),
)  # fmt: skip
# An engine sees the wire, the cause names the config: pairs that describe one event.
SAME_EVENT = {
    ("exception-escaped-cors", "missing-allow-origin"),
    # Starlette refuses a preflight with 400 and still sends Access-Control-Allow-Origin
    ("header-not-allowed", "preflight-status"),
    ("method-not-allowed", "preflight-status"),
    # a 401/405 preflight without CORS headers: engines name the missing header first
    ("preflight-status", "missing-allow-origin"),
    ("missing-allow-origin", "preflight-status"),
    # a redirected preflight carries no CORS headers either; Firefox reports only that
    ("preflight-redirect", "missing-allow-origin"),
    ("preflight-redirect", "preflight-status"),
    # Firefox joins two Access-Control-Allow-Origin fields and reports "does not match 'a, *'"
    ("multiple-allow-origin", "origin-mismatch"),
}


def engine_codes(messages: list[str] | None) -> list[str]:
    """Codes for the engine's messages (one per message that has a known wording)."""
    codes = []
    for message in messages or []:
        for pattern, code in ENGINE_PATTERNS:
            if re.search(pattern, message):
                codes.append(code)
                break
    return codes


def agrees(cause_codes: list[str], messages_codes: list[str]) -> bool:
    """Does one of the cell's causes describe what one of the engine's messages says?"""
    return any(c == e or (c, e) in SAME_EVENT for c in cause_codes for e in messages_codes)
