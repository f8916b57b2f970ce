"""What `check_app` and the `cors_check` fixture return: the verdict as data, and as the
message a failing assertion prints (the findings and blocked requests, not `assert 1 == 0`).

    result = cors_check(app, "https://app.example.com")
    assert result, result.message     # or: assert result == 0 (the exit code)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class CheckResult:
    exit_code: int  # 0 PASS, 1 FAIL, 2 no verdict (a usage error, the app died, interrupted)
    verdict: str  # the "verdict: ..." line, or the one-line error when there is no verdict
    findings: list[str] = field(default_factory=list)  # "HIGH: <headline>", most severe first
    blocked: list[str] = field(default_factory=list)  # declared requests a frontend cannot read
    problems: list[str] = field(default_factory=list)  # what could not be seen or run
    report: Path | None = None  # the HTML report
    text: str = ""  # everything check printed
    notes: list[str] = field(default_factory=list)  # config that does nothing (no exit change)

    @property
    def passed(self) -> bool:
        return self.exit_code == 0

    def __bool__(self) -> bool:
        return self.passed

    def __eq__(self, other: object) -> bool:
        """`result == 0` compares the exit code, as the command line's exit status."""
        if isinstance(other, int):
            return self.exit_code == other
        return NotImplemented

    __hash__ = None  # mutable, compared by exit code

    @property
    def message(self) -> str:
        parts = [self.verdict]
        for title, items in (("findings", self.findings), ("blocked", self.blocked),
                             ("problems", self.problems), ("notes", self.notes)):  # fmt: skip
            if items:
                parts.append(f"{title}:")
                parts.extend(f"  - {item}" for item in items)
        if self.report is not None:
            parts.append(f"report: {self.report}")
        return "\n".join(parts)

    def __repr__(self) -> str:
        return f"CheckResult(exit {self.exit_code})\n{self.message}"
