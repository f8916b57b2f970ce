"""The guide's claims checked against result records, per engine (the report's claims view).

The claims and what each would make its cells observe are data (harness/report/guide_claims.toml);
this module only reads observations: a claim holds in an engine when every named cell that ran
there observed what the claim predicts, does not hold when one did not, and is not run when
none of its cells ran in that engine.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from ..run.results import readable

HOLDS, FAILS, NOT_RUN = "holds", "does not hold", "not run"
CONDITIONS = ("outcome", "readable", "requests", "preflights", "cookies", "authorization")


class ClaimsError(ValueError):
    """The claims file says something this module cannot check."""


@dataclass(frozen=True)
class Check:
    scenario: str
    probe: str
    if_true: dict[str, Any]


@dataclass(frozen=True)
class Claim:
    id: int
    guide: str
    cells: tuple[Check, ...]


@dataclass
class ClaimResult:
    claim: Claim
    per_engine: dict[str, str] = field(default_factory=dict)  # browser -> HOLDS|FAILS|NOT_RUN
    evidence: list[dict[str, Any]] = field(default_factory=list)  # one per record looked at


def parse(text: str) -> list[Claim]:
    claims = []
    for raw in tomllib.loads(text).get("claim", []):
        checks = []
        for cell in raw["cells"]:
            unknown = set(cell["if_true"]) - set(CONDITIONS)
            if unknown:
                raise ClaimsError(f"claim {raw['id']}: unknown condition {sorted(unknown)[0]!r}; "
                                  f"known: {', '.join(CONDITIONS)}")  # fmt: skip
            checks.append(Check(cell["scenario"], cell["probe"], dict(cell["if_true"])))
        claims.append(Claim(int(raw["id"]), raw["guide"], tuple(checks)))
    return claims


@cache
def guide_claims() -> tuple[Claim, ...]:
    text = resources.files(__package__).joinpath("guide_claims.toml").read_text()
    return tuple(parse(text))


def _count_ok(expected: Any, seen: int) -> bool:
    if isinstance(expected, str) and expected.startswith(">="):
        return seen >= int(expected[2:])
    return seen == int(expected)


def observed_as_claimed(if_true: dict[str, Any], observed: dict[str, Any]) -> list[str]:
    """The conditions of `if_true` this observation contradicts (empty: as the claim says)."""
    wrong = []
    outcome = observed.get("outcome")
    for key, want in if_true.items():
        if key == "outcome":
            ok = outcome in (want if isinstance(want, list) else [want])
        elif key == "readable":
            ok = readable(outcome) == bool(want)
        elif key in ("requests", "preflights"):
            ok = _count_ok(want, int(observed.get(key) or 0))
        elif key == "cookies":
            ok = bool(observed.get("cookies_received")) == (want == "some")
        else:  # authorization
            ok = bool(observed.get("authorization_received")) == bool(want)
        if not ok:
            wrong.append(key)
    return wrong


def check_claims(
    records: list[dict[str, Any]], claims: tuple[Claim, ...] | list[Claim] | None = None
) -> list[ClaimResult]:
    """Each claim judged per browser over every record of its cells (all cookie policies)."""
    claims = guide_claims() if claims is None else claims
    browsers = sorted({r["browser"] for r in records})
    by_cell: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for record in records:
        by_cell.setdefault((record["scenario"], record["probe"]), []).append(record)
    results = []
    for claim in claims:
        result = ClaimResult(claim)
        verdicts: dict[str, list[bool]] = {b: [] for b in browsers}
        for check in claim.cells:
            for record in by_cell.get((check.scenario, check.probe), []):
                if record.get("verdict") in ("not-run", "error") or not record.get("observed"):
                    continue
                wrong = observed_as_claimed(check.if_true, record["observed"])
                verdicts[record["browser"]].append(not wrong)
                result.evidence.append({"record": record, "as_claimed": not wrong,
                                        "contradicts": wrong})  # fmt: skip
        for browser, seen in verdicts.items():
            result.per_engine[browser] = NOT_RUN if not seen else HOLDS if all(seen) else FAILS
        results.append(result)
    return results
