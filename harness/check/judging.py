"""One check cell judged: a frontend's read must work, an attacker origin's must not; the
severity of what an attacker origin read (the worst any engine showed), in the matrix's record
format (expected, verdict, reason)."""

from __future__ import annotations

from .browsers import Cell

SEVERITIES = ("HIGH", "medium", "low")


def severity(cell: Cell) -> str | None:
    """What an attacker origin's read exposed (None: nothing, or a public '*' answer)."""
    if cell.role != "attacker" or not cell.readable:
        return None
    if cell.request.spec.get("credentials") == "include":
        return "HIGH" if cell.observed["cookies_received"] else "medium"
    answer = cell.last_answer
    allow = answer["response_headers"].get("access-control-allow-origin") if answer else None
    return None if allow == ["*"] else "low"


def judge(cell: Cell) -> None:
    """Fill the record's expected/verdict/reason (the matrix's record format)."""
    check = cell.record["check"]
    if cell.role == "frontend":
        ok = cell.readable and not check["unread_headers"]
        cell.record["expected"] = {"outcome": "readable", "reasons": [
            "a declared frontend must be able to read this" if cell.request.declared else
            "a frontend should be able to read error responses (reported only)"]}  # fmt: skip
        cell.record["verdict"] = "match" if ok else "diverge"
        cell.record["reason"] = "works" if ok else check["why"]
        check["severity"] = None
        return
    check["severity"] = severity(cell)
    cell.record["expected"] = {
        "outcome": "unreadable",
        "reasons": ["an attacker origin must not read this"],
    }
    cell.record["verdict"] = "diverge" if check["severity"] else "match"
    cell.record["reason"] = (f"readable from {cell.page_origin} ({check['severity']})"
                             if check["severity"] else "not readable, as it should be")  # fmt: skip


def answered_2xx(cell: Cell) -> bool:
    return 200 <= (cell.record["check"]["status"] or 0) < 300


def personal(cell: Cell, cells: list[Cell]) -> bool:
    """A 2xx with credentials whose read without them (same origin, same endpoint) was not."""
    if not answered_2xx(cell) or cell.request.spec.get("credentials") != "include":
        return False
    bare = [
        c
        for c in cells
        if c.request.endpoint == cell.request.endpoint
        and c.browser == cell.browser
        and c.request.spec.get("credentials") == "omit"
    ]
    return bool(bare) and not any(answered_2xx(c) for c in bare)


def worst_level(levels) -> str | None:
    levels = [lv for lv in levels if lv]
    return min(levels, key=SEVERITIES.index) if levels else None


def engines_of(cells: list[Cell]) -> str:
    return ", ".join(sorted({c.browser for c in cells}))
