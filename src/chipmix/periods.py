"""Planning periods: quarters (``2024Q1``) and months (``2024-01``).

A horizon is a run of consecutive periods of one kind. Maps keyed by period in a scenario are
step functions: each value holds from its period until the next key.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Literal, TypeVar

Kind = Literal["Q", "M"]
T = TypeVar("T")

# ASCII digits only: "２０２４Q1" (full-width) or "١٢٠" is not a period
_QUARTER = re.compile(r"^(\d{4})\s*[Qq]([1-4])$", re.ASCII)
_MONTH = re.compile(r"^(\d{4})-(\d{2})$", re.ASCII)

PERIOD_EXPECTED = "a period like 2024Q1 (quarter) or 2024-01 (month)"


@dataclass(frozen=True, order=True)
class Period:
    """One quarter or month. Ordered by (kind, ordinal)."""

    kind: Kind
    ordinal: int  # quarters: year*4 + q-1; months: year*12 + m-1

    @property
    def year(self) -> int:
        return self.ordinal // (4 if self.kind == "Q" else 12)

    @property
    def index(self) -> int:
        """1-based quarter (1..4) or month (1..12) within the year."""
        return self.ordinal % (4 if self.kind == "Q" else 12) + 1

    @property
    def per_year(self) -> int:
        return 4 if self.kind == "Q" else 12

    @property
    def months(self) -> int:
        """Calendar months in one period (3 for a quarter, 1 for a month)."""
        return 3 if self.kind == "Q" else 1

    # start, end and days are read in every inner loop of prepare: computed once per period
    # (kept in the instance's __dict__; equality, hashing and order use the fields only)
    @cached_property
    def start(self) -> dt.date:
        first_month = (self.index - 1) * 3 + 1 if self.kind == "Q" else self.index
        return dt.date(self.year, first_month, 1)

    @cached_property
    def end(self) -> dt.date:
        """First day after the period (exclusive end)."""
        return self.shift(1).start

    @cached_property
    def days(self) -> int:
        return (self.end - self.start).days

    @property
    def hours(self) -> float:
        return 24.0 * self.days

    def shift(self, n: int) -> Period:
        return Period(self.kind, self.ordinal + n)

    def __sub__(self, other: Period) -> int:
        if self.kind != other.kind:
            raise ValueError("cannot subtract a month from a quarter")
        return self.ordinal - other.ordinal

    def contains(self, day: dt.date) -> bool:
        return self.start <= day < self.end

    def fraction_before(self, day: dt.date) -> float:
        """Share of this period's days strictly before ``day`` (0..1)."""
        if day <= self.start:
            return 0.0
        if day >= self.end:
            return 1.0
        return (day - self.start).days / self.days

    def __str__(self) -> str:
        if self.kind == "Q":
            return f"{self.year}Q{self.index}"
        return f"{self.year}-{self.index:02d}"

    def __repr__(self) -> str:
        return f"Period({str(self)!r})"


def parse_period(text: object, kind: Kind | None = None) -> Period:
    """Parse ``2024Q1`` or ``2024-01``; raise ValueError naming what was expected.

    With ``kind`` given, the period must be of that kind (a horizon's periods are all
    quarters or all months).
    """
    if isinstance(text, Period):
        period = text
    else:
        if isinstance(text, dt.date):
            raise ValueError(f"{PERIOD_EXPECTED}, not a full date")
        s = str(text).strip()
        m = _QUARTER.match(s)
        if m:
            period = Period("Q", int(m.group(1)) * 4 + int(m.group(2)) - 1)
        else:
            m = _MONTH.match(s)
            if not m or not 1 <= int(m.group(2)) <= 12:
                raise ValueError(PERIOD_EXPECTED)
            period = Period("M", int(m.group(1)) * 12 + int(m.group(2)) - 1)
    if kind is not None and period.kind != kind:
        want = "a quarter like 2024Q1" if kind == "Q" else "a month like 2024-01"
        raise ValueError(f"{want} (the horizon is in {'quarters' if kind == 'Q' else 'months'})")
    return period


def period_key(text: object) -> str | None:
    """The canonical spelling of a period.

    The canonical spelling of ``text`` when it names a period (``2024q1`` and ``2024 Q1``
    give ``2024Q1``), else None. Two keys of one mapping with the same period key are the
    same period spelt twice.
    """
    if not isinstance(text, str):
        return None
    try:
        return str(parse_period(text))
    except ValueError:
        return None


def period_range(start: Period, end: Period) -> list[Period]:
    """Every period from ``start`` to ``end`` inclusive."""
    if start.kind != end.kind:
        raise ValueError("start and end must both be quarters or both months")
    if end < start:
        raise ValueError(f"end {end} is before start {start}")
    return [Period(start.kind, o) for o in range(start.ordinal, end.ordinal + 1)]


def period_of(day: dt.date, kind: Kind) -> Period:
    """The period of ``kind`` that contains ``day``."""
    if kind == "Q":
        return Period("Q", day.year * 4 + (day.month - 1) // 3)
    return Period("M", day.year * 12 + day.month - 1)


def step_values(
    points: Mapping[Period, T], periods: Sequence[Period], before: T | None = None
) -> list[T | None]:
    """Expand a step function to one value per period.

    Each key's value holds from its period until the next key; periods before the first key
    get ``before``. Keys before the first period still set the value the horizon starts with.
    """
    ordered = sorted(points.items())
    out: list[T | None] = []
    i = -1
    for p in periods:
        while i + 1 < len(ordered) and ordered[i + 1][0] <= p:
            i += 1
        out.append(ordered[i][1] if i >= 0 else before)
    return out


def years_from_start(periods: Iterable[Period]) -> list[float]:
    """``y[t]``: years from the first period, in whole periods (index/4 or index/12)."""
    periods = list(periods)
    if not periods:
        return []
    first = periods[0]
    return [(p - first) / p.per_year for p in periods]
