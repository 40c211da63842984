"""The one place numbers become text: money, percentages, counts, the solver gap.

Every table a person reads (terminal, HTML report, chart labels) formats through here, so a
figure reads the same everywhere:

=====================  ==============================  ==================================
``money(73.5e6)``      ``$73.5 M``                     compact; ``bn`` from 10^9
``money(5.3e8, CNY)``  ``CNY 529.2 M``                 another currency: the code first
``money_exact(11000)`` ``$11,000``                     whole units, thousands separated
``money_in(v, 1e6)``   ``35.83``                       ``money_scale``'s unit (M USD)
``percent(0.3)``       ``30 %``                        ``decimals=1``: ``30.0 %``
``percent(None)``      ``—``                           nothing to measure (empty period)
``gap(0.000238)``      ``0.024 %``                     two significant digits
``number(1267.05)``    ``1,267.05``                    ``number(1368)``: ``1,368``
=====================  ==============================  ==================================

Money is held in USD everywhere inside chipmix (catalogs, model, plan JSON); a
:class:`Currency` converts only for display (``per_usd`` units of the currency per USD).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from typing_extensions import TypeIs

#: What a figure that does not exist reads as (a share of an empty fleet, a missing value).
DASH = "—"


@dataclass(frozen=True)
class Currency:
    """A display currency: ISO 4217 ``code`` and its exchange rate ``per_usd``."""

    code: str = "USD"
    per_usd: float = 1.0

    def of(self, usd: float) -> float:
        """``usd`` in this currency."""
        return usd * self.per_usd

    @property
    def is_usd(self) -> bool:
        return self.code == "USD"

    def label(self, text: str) -> str:
        """``"USD"`` (or ``"M USD"``...) with this currency's code: ``label("M USD")``."""
        return text.replace("USD", self.code)

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "per_usd": self.per_usd}


USD = Currency()


def currency_of(obj: Any) -> Currency:
    """The display currency of a scenario, a plan or a plan dict (USD when none is set)."""
    if obj is None:
        return USD
    if isinstance(obj, Currency):
        return obj
    if hasattr(obj, "per_usd") and hasattr(obj, "code"):  # the scenario's currency block
        return Currency(str(obj.code), float(obj.per_usd))
    value = obj.get("currency") if isinstance(obj, dict) else getattr(obj, "currency", None)
    if value is None:
        return USD
    if isinstance(value, Currency):
        return value
    if isinstance(value, dict):
        return Currency(str(value.get("code", "USD")), float(value.get("per_usd", 1.0)))
    return Currency(str(getattr(value, "code", "USD")), float(getattr(value, "per_usd", 1.0)))


def _missing(value: Any) -> TypeIs[None]:
    """True for None, NaN and anything that is not a number (shown as a dash)."""
    if value is None:
        return True
    try:
        return math.isnan(float(value))
    except (TypeError, ValueError):
        return True


def money(usd: float | None, currency: Currency = USD, *, signed: bool = False) -> str:
    """Compact money: ``$73.5 M``, ``$1.23 bn``, ``$555,984``; ``—`` when missing."""
    if _missing(usd):
        return DASH
    v = currency.of(float(usd))
    sign = "+" if signed and v > 0 else ("-" if v < 0 else "")
    a = abs(v)
    if a >= 1e9:
        body = f"{a / 1e9:,.2f} bn"
    elif a >= 1e6:
        body = f"{a / 1e6:,.1f} M"
    else:
        body = f"{a:,.0f}"
    return f"{sign}${body}" if currency.is_usd else f"{sign}{currency.code} {body}"


def money_exact(usd: float | None, currency: Currency = USD) -> str:
    """Whole currency units with thousands separators: ``$11,000``, ``CNY 79,200``."""
    if _missing(usd):
        return DASH
    v = currency.of(float(usd))
    sign = "-" if v < 0 else ""
    body = f"{abs(v):,.0f}"
    return f"{sign}${body}" if currency.is_usd else f"{sign}{currency.code} {body}"


def money_scale(values: Iterable[float | None], currency: Currency = USD) -> tuple[float, str]:
    """Divisor (in USD) and unit label so the largest value reads naturally.

    ``money_scale([7.3e7])`` is ``(1e6, "M USD")``; with a currency the label names it and the
    divisor is in USD (divide USD figures by it to get the currency's millions).
    """
    finite = [abs(float(v)) * currency.per_usd for v in values if not _missing(v)]
    top = max(finite, default=0.0)
    for divisor, label in ((1e9, "bn"), (1e6, "M"), (1e3, "k")):
        if top >= divisor:
            return divisor / currency.per_usd, f"{label} {currency.code}"
    return 1.0 / currency.per_usd, currency.code


def money_in(usd: float | None, divisor: float, decimals: int = 2) -> str:
    """``usd`` in the unit ``money_scale`` chose (``divisor``): ``35.83`` for M USD; ``—`` if None.

    For a column of figures under one unit (``hedge (M USD)``): narrow, and comparable down
    the column.
    """
    if _missing(usd):
        return DASH
    return number(float(usd) / divisor, decimals)


def percent(fraction: float | None, decimals: int = 0, *, signed: bool = False,
            points: bool = False) -> str:
    """``0.3`` → ``30 %``; ``points`` for a difference of shares (``+5.0 pt``); ``—`` if None."""
    if _missing(fraction):
        return DASH
    v = float(fraction) * 100
    if round(v, decimals) == 0:
        v = 0.0  # no "-0 %"
    sign = "+" if signed and v > 0 else ""
    return f"{sign}{v:,.{decimals}f} {'pt' if points else '%'}"


def gap(value: float | None) -> str:
    """The solver's relative MIP gap as a percentage with two significant digits."""
    if _missing(value):
        return "n/a"
    v = float(value) * 100
    if v == 0:
        return "0 %"
    return f"{v:.2g} %" if abs(v) >= 1e-4 else f"{v:.1e} %"


def number(value: float | None, decimals: int | None = None, *, signed: bool = False) -> str:
    """Thousands-separated: whole numbers without decimals, others with two (or ``decimals``)."""
    if _missing(value):
        return DASH
    v = float(value)
    sign = "+" if signed and v > 0 else ""
    if decimals is None:
        decimals = 0 if float(v).is_integer() else 2
    text = f"{v:,.{decimals}f}"
    if text.lstrip("-").strip("0.,") == "":
        text = f"{0:.{decimals}f}"  # no "-0.00"
    return sign + text


def megawatts(value: float | None) -> str:
    """Power in MW: three significant digits below 100 MW (``0.0015``, ``3.24``).

    From 100 MW on, whole megawatts with separators.
    """
    if _missing(value):
        return DASH
    v = float(value)
    if v == 0:
        return "0"
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.3g}"


def compact(value: float | None, unit: str = "") -> str:
    """Three significant digits with k / M / bn: ``1.27 k``; for axis labels and headlines."""
    if _missing(value):
        return DASH
    v = float(value)
    a = abs(v)
    for divisor, suffix in ((1e9, " bn"), (1e6, " M"), (1e3, " k")):
        if a >= divisor:
            text = f"{v / divisor:.3g}{suffix}"
            break
    else:
        text = f"{v:.3g}"
    return f"{text} {unit}".rstrip() if unit else text


__all__ = [
    "DASH",
    "USD",
    "Currency",
    "compact",
    "currency_of",
    "gap",
    "megawatts",
    "money",
    "money_exact",
    "money_in",
    "money_scale",
    "number",
    "percent",
]
