"""Which attacker origins a check tries, and what each reads: the baseline (an unrelated
site, null) plus the origins the pre-scan saw trusted, each reading the endpoints where it was
trusted (the user's own data first), so an app that echoes any Origin on many endpoints costs a
bounded number of browser cells."""

from __future__ import annotations

from .battery import Request
from .prescan import Prescan

BASELINE_KINDS = ("unrelated site", "null origin")
READS_PER_ATTACKER = 6  # endpoints read from each attacker origin the pre-scan saw trusted
BASELINE_READS = 2  # endpoints read from an origin trusted nowhere: it must stay unreadable


def attacker_origins(
    frontends, candidates, prescan, limit: int
) -> dict[str, list[tuple[str, str]]]:
    """Per frontend: the baseline (an unrelated site, null) plus every origin the pre-scan saw
    trusted that a page can have, one per class first, up to `limit` per frontend."""
    trusted = prescan.trusted(frontends) if prescan is not None else {}
    out: dict[str, list[tuple[str, str]]] = {}
    for frontend in frontends:
        mine = [c for c in candidates if c.frontend == frontend and c.browser_sendable]
        chosen = [c for c in mine if c.kind in BASELINE_KINDS][:2]
        hits = [c for c in mine if c.origin in trusted and c not in chosen]
        by_kind: dict[str, list] = {}
        for c in hits:
            by_kind.setdefault(c.kind, []).append(c)
        firsts = [group[0] for group in by_kind.values()]
        rest = [c for c in hits if c not in firsts]
        chosen += (firsts + rest)[: max(0, limit)]
        out[frontend] = [(c.kind, c.origin) for c in chosen]
    return out


def attacker_reads(reads: list[Request], attackers, prescan: Prescan | None,
                   limit: int = READS_PER_ATTACKER) -> dict[str, list[Request]]:  # fmt: skip
    """Per attacker origin, the reads worth a browser: those the pre-scan saw it trusted at,
    one per distinct answer first (a mount with its own CORS), then answers that are 2xx only
    with the cookie (the user's own data), then other 2xx, up to `limit` endpoints; an origin
    trusted nowhere gets the first `BASELINE_READS` (it must stay unreadable there). Without a
    pre-scan, every read. A server that echoes any Origin on 50 endpoints would otherwise
    cost 100 cells per origin per engine."""
    if prescan is None:
        return {}
    names = list(dict.fromkeys(r.endpoint for r in reads))
    answers: dict[tuple[str, str], list] = {}
    for answer in prescan.answers:
        answers.setdefault((answer.origin, answer.endpoint), []).append(answer)
    out: dict[str, list[Request]] = {}
    for origin in {o for pairs in attackers.values() for _, o in pairs}:

        def rank(name: str, origin: str = origin) -> tuple[bool, bool, bool]:
            seen = answers.get((origin, name), [])
            ok = {a.with_cookie for a in seen if a.status and 200 <= a.status < 300}
            return (not any(a.echoed for a in seen),
                    ok != {True},  # 2xx only with the cookie: the user's own data first
                    not ok)  # fmt: skip

        ranked = sorted(names, key=rank)
        trusted = [n for n in ranked if not rank(n)[0]]
        if not trusted:
            chosen = ranked[:BASELINE_READS]
        else:
            shapes: dict[tuple, str] = {}
            for name in trusted:
                shape = tuple(sorted({(tuple(a.allow_origin), a.allow_credentials)
                                      for a in answers[(origin, name)]}))  # fmt: skip
                shapes.setdefault(shape, name)
            firsts = list(shapes.values())
            chosen = (firsts + [n for n in trusted if n not in firsts])[: max(limit, len(firsts))]
        out[origin] = [r for r in reads if r.endpoint in chosen]
    return out
