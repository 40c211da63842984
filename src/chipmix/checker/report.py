"""The checker's ledger.

:class:`VerifyReport` (what :func:`~chipmix.checker.verify` returns) and :class:`Checker`, which
counts checks per family and words violations.

Two numbers agree when ``|a - b| <= 1e-6 + tolerance * max(|a|, |b|)``; an inequality
``a <= b`` holds when ``a <= b + 1e-6 + tolerance * max(|a|, |b|)``. The absolute part
absorbs the plan's rounding of continuous quantities (:mod:`chipmix.numbers`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

#: Absolute tolerance added to every comparison.
ABS_TOL = 1e-6


@dataclass
class VerifyReport:
    """The outcome of :func:`verify`.

    Attributes
    ----------
    ok : True when no check failed.
    checks : the number of individual checks evaluated (one per constraint instance or
        reported figure compared); ``recomputed["checks"]`` breaks it down by family.
    violations : one human-readable line per failed check.
    recomputed : the checker's own figures: ``cost`` (nominal, USD), ``discounted_cost``,
        ``objective``, ``fleet``, ``delivered``, ``shares``, ``availability`` and ``checks``.
    notes : remarks that are not violations (e.g. "no decisions to check").
    """

    ok: bool
    checks: int
    violations: list[str]
    recomputed: dict[str, Any]
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "checks": self.checks,
            "violations": list(self.violations),
            "notes": list(self.notes),
            "recomputed": self.recomputed,
        }

    def summary(self) -> str:
        """One line: ``ok: 412 checks`` or ``3 violations in 412 checks``."""
        if self.ok:
            extra = f" ({'; '.join(self.notes)})" if self.notes else ""
            return f"ok: {self.checks} checks{extra}"
        n = len(self.violations)
        return f"{n} violation{'s' if n != 1 else ''} in {self.checks} checks"

    def __str__(self) -> str:
        return "\n".join([self.summary(), *self.violations])


def fmt(x: float | None) -> str:
    """A number as a planner reads it: 1600, 1533.7, 2.5e+07, unlimited."""
    if x is None:
        return "none"
    if math.isinf(x):
        return "unlimited" if x > 0 else "-unlimited"
    if math.isnan(x):
        return "nan"
    if x == int(x) and abs(x) < 1e15:
        return str(int(x))
    return f"{x:.10g}"


class Checker:
    """Counts checks per family and collects violations."""

    def __init__(self, tolerance: float) -> None:
        self.tolerance = tolerance
        self.counts: dict[str, int] = {}
        self.violations: list[str] = []
        self.notes: list[str] = []

    def slack(self, a: float, b: float) -> float:
        magnitude = max(abs(a), abs(b)) if math.isfinite(a) and math.isfinite(b) else 0.0
        return ABS_TOL + self.tolerance * magnitude

    def close(self, a: float, b: float) -> bool:
        if math.isinf(a) or math.isinf(b):
            return a == b
        return abs(a - b) <= self.slack(a, b)

    def le(self, a: float, b: float) -> bool:
        """A <= b within tolerance (b may be inf)."""
        if math.isinf(b) and b > 0:
            return True
        return a <= b + self.slack(a, b)

    def check(self, family: str, ok: bool, message: str) -> bool:
        self.counts[family] = self.counts.get(family, 0) + 1
        if not ok:
            sep = "" if message.startswith(":") else " "
            self.violations.append(f"{family}{sep}{message}")
        return ok

    def fail(self, family: str, message: str) -> None:
        self.check(family, False, message)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def num(value: Any) -> float:
    """A plan figure as a float (NaN when missing)."""
    if value is None:
        return math.nan
    return float(value)


__all__ = ["ABS_TOL", "Checker", "VerifyReport", "fmt", "num"]
