"""The Referer header each request carries: Referrer Policy's "determine request's referrer"
(https://w3c.github.io/webappsec-referrer-policy/#determine-requests-referrer), run again for
every hop of a fetch on the referrer the previous hop left (Fetch, main fetch: "set request's
referrer to the result of invoking determine request's referrer"), so a referrer once cut to
its origin, or dropped, stays so; and a redirect's Referrer-Policy header changes the policy
for the hops after it (https://w3c.github.io/webappsec-referrer-policy/#set-requests-referrer-policy-on-redirect).
A CORS preflight carries its request's referrer (Fetch, CORS-preflight fetch)."""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit

from ..scenario.origins import registrable_domain
from ..spec.fetch_spec import is_loopback

DEFAULT_POLICY = "strict-origin-when-cross-origin"
"""The request's referrer policy when neither the page nor the fetch sets one
(https://w3c.github.io/webappsec-referrer-policy/#default-referrer-policy)."""
POLICIES = frozenset({
    "no-referrer", "no-referrer-when-downgrade", "same-origin", "origin", "strict-origin",
    "origin-when-cross-origin", "strict-origin-when-cross-origin", "unsafe-url",
})  # fmt: skip
LOCAL_SCHEMES = frozenset({"about", "blob", "data"})
RELAXED_POLICIES = frozenset(
    {"unsafe-url", "no-referrer-when-downgrade", "origin-when-cross-origin"}
)
"""The policies that may send more than the origin to another origin."""


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"


def strip_url(url: str, origin_only: bool = False) -> str | None:
    """Strip url for use as a referrer: no credentials, no fragment; `origin_only`: the
    origin and "/". None ("no referrer") for a local scheme."""
    parts = urlsplit(url)
    if parts.scheme in LOCAL_SCHEMES:
        return None
    if origin_only:
        return origin_of(url) + "/"
    query = f"?{parts.query}" if parts.query else ""
    return f"{origin_of(url)}{parts.path or '/'}{query}"


def initial(page_url: str | None, referrer: str | None) -> str | None:
    """The request's referrer as new Request() leaves it (https://fetch.spec.whatwg.org/
    #dom-request steps 14-15): the page's URL ("client"), None for "" ("no-referrer"), or the
    given URL when it is same-origin with the page (another origin falls back to "client").
    `page_url` None: the client has no URL to give (an opaque-origin document:
    "If document's origin is an opaque origin, return no referrer")."""
    if page_url is None or referrer == "":
        return None
    if referrer is None:
        return page_url
    parsed = urljoin(page_url, referrer)
    if parsed == "about:client" or origin_of(parsed) != origin_of(page_url):
        return page_url
    return parsed


def determine(referrer: str | None, policy: str, url: str, hides_by_scheme: bool) -> str | None:
    """The Referer for a request to `url` whose current referrer is `referrer`, or None.
    The spec hides a referrer when it is potentially trustworthy and the URL is not;
    `hides_by_scheme` (every shipped engine, engine_differences.toml): when the referrer is
    https and the URL is not, whatever its host (http://localhost included)."""
    if referrer is None or policy == "no-referrer":
        return None
    full, origin = strip_url(referrer), strip_url(referrer, origin_only=True)
    if full is None:
        return None
    same_origin = origin_of(referrer) == origin_of(url)
    if hides_by_scheme:
        downgrade = urlsplit(referrer).scheme == "https" and urlsplit(url).scheme != "https"
    else:
        downgrade = _trustworthy(referrer) and not _trustworthy(url)
    if policy == "unsafe-url":
        return full
    if policy == "origin":
        return origin
    if policy == "same-origin":
        return full if same_origin else None
    if policy == "origin-when-cross-origin":
        return full if same_origin else origin
    if policy == "no-referrer-when-downgrade":
        return None if downgrade else full
    if policy == "strict-origin":
        return None if downgrade else origin
    # strict-origin-when-cross-origin
    if same_origin:
        return full
    return None if downgrade else origin


def for_hop(referrer: str | None, policy: str, url: str, page: str | None, profile) -> str | None:
    """determine() as an engine runs it (`profile`, a judge.profile.Profile): the spec lets a
    user agent "alter referrerURL or referrerOrigin ... in the interests of minimizing data
    leakage" (step 6), and two engines do so for a request to another site than the page's
    (`page` None: an opaque-origin page, which has no referrer anyway)."""
    cross_site = page is not None and _site(page) != _site(url)
    if cross_site and profile.cross_site_relaxed_referrer_policy_ignored:
        policy = DEFAULT_POLICY if policy in RELAXED_POLICIES else policy
    return engine_trimmed(determine(referrer, policy, url, profile.referrer_hidden_by_scheme),
                          url, page, profile)  # fmt: skip


def engine_trimmed(referer: str | None, url: str, page: str | None, profile) -> str | None:
    """A Referer as the engine's network layer sends it to `url`: cut to its origin for
    another site than the page's where the engine does so (profile)."""
    cross_site = page is not None and _site(page) != _site(url)
    if cross_site and referer is not None and profile.third_party_referrer_cut_to_origin:
        return strip_url(referer, origin_only=True)
    return referer


def policy_on_redirect(current: str, header: str | None) -> str:
    """Parse a Referrer-Policy header (https://w3c.github.io/webappsec-referrer-policy/
    #parse-referrer-policy-from-header): the last token the user agent knows wins; none: the
    request keeps its policy."""
    known = [t.strip().lower() for t in (header or "").split(",") if t.strip().lower() in POLICIES]
    return known[-1] if known else current


def _trustworthy(url: str) -> bool:
    """https://w3c.github.io/webappsec-secure-contexts/#is-url-trustworthy (the hosts a run
    uses): https, or a loopback host over http."""
    parts = urlsplit(url)
    return parts.scheme == "https" or (parts.scheme == "http" and is_loopback(parts.hostname or ""))


def _site(url: str) -> str:
    """The engines' cross-site test for a referrer: the hosts' registrable domains, whatever
    the scheme and port."""
    return registrable_domain(urlsplit(url).hostname or "")
