"""`--login`: sign in once over plain HTTP first, to verify it and learn how the app
authenticates (a cookie it sets, or a token in its JSON answer); each browser then logs in
itself from the frontend page, so its cookie jar holds the session as a real user's would.
A login that fails is exit 2 with the server's status: a check without the session would
judge the wrong thing.
"""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import httpx2

from .battery import Auth
from .options import Endpoint, UsageError, body_content_type

TOKEN_KEYS = ("access_token", "accessToken", "token", "id_token", "jwt", "auth_token")


def _find_token(data, depth: int = 0) -> str | None:
    if depth > 3 or not isinstance(data, dict):
        return None
    for key in TOKEN_KEYS:
        if isinstance(data.get(key), str) and data[key]:
            return data[key]
    for value in data.values():
        found = _find_token(value, depth + 1)
        if found:
            return found
    return None


STAND_IN_COOKIE = "cors_matrix_session=1"


def http_login(port: int, api_origin: str, frontend: str, login: Endpoint | None,
               mode: str) -> tuple[Auth, str, str]:  # fmt: skip
    """(how requests authenticate, a line saying what the login did, the Cookie header a
    logged-in browser would send: the login's own cookies, or a stand-in). The cookie's value
    is a secret: it goes to the pre-scan's requests only, never into a record or output."""
    if login is None:
        if mode == "bearer":
            raise UsageError("--auth bearer needs --login to obtain a token")
        chosen = "none" if mode == "auto" else mode
        return Auth(chosen), f"{chosen} (no --login given)", STAND_IN_COOKIE
    parts = urlsplit(api_origin)
    headers = {"Host": parts.netloc, "Origin": frontend, "X-Forwarded-Proto": parts.scheme}
    if login.body is not None:
        headers["Content-Type"] = body_content_type(login.body)
    try:
        response = httpx2.request(login.method, f"http://127.0.0.1:{port}{login.path}",
                                  headers=headers, content=login.body, timeout=30)  # fmt: skip
    except httpx2.HTTPError as exc:
        raise UsageError(f"--login {login.name}: the app did not answer ({exc})") from None
    status = response.status_code
    if not 200 <= status <= 399:
        snippet = response.text.strip().replace("\n", " ")[:120]
        raise UsageError(f"--login {login.name} failed: the app answered {status}"
                         + (f" ({snippet})" if snippet else ""))  # fmt: skip
    set_cookies = response.headers.get_list("set-cookie")
    pairs = [c.split(";", 1)[0].strip() for c in set_cookies]
    cookies = [pair.split("=", 1)[0].strip() for pair in pairs]
    samesite_none = tuple(name for name, header in zip(cookies, set_cookies, strict=True)
                          if "samesite=none" in header.lower().replace(" ", ""))  # fmt: skip
    try:
        token = _find_token(response.json())
    except (ValueError, json.JSONDecodeError):
        token = None
    if mode == "auto":
        mode = "cookie" if cookies else "bearer" if token else "none"
    if mode == "cookie" and not cookies:
        raise UsageError(f"--login {login.name} answered {status} but set no cookie "
                         "(--auth cookie); is it the right endpoint and body?")  # fmt: skip
    if mode == "bearer" and not token:
        raise UsageError(f"--login {login.name} answered {status} with no token in its JSON "
                         f"(looked for {', '.join(TOKEN_KEYS)})")  # fmt: skip
    did = f"{login.name} answered {status}"
    if cookies:
        did += f", set cookie {', '.join(cookies)}"
    if token:
        did += ", returned a token"
    # the real session: an app may answer a malformed stand-in with a 500 and no CORS headers
    jar = "; ".join(pair for pair in pairs if "=" in pair) or STAND_IN_COOKIE
    auth = Auth(mode, token if mode == "bearer" else None, samesite_none if mode == "cookie"
                else ())  # fmt: skip
    return auth, f"{mode} ({did})", jar
