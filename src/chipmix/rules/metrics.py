"""Metrics an export-control rule can test, derived from catalog columns.

All derived figures follow ``rules.md``; an unknown input (NaN) gives an unknown (NaN) result,
never 0, so a rule on it is *unknown* rather than silently passing.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

import pandas as pd

from chipmix.errors import InputError
from chipmix.inputs.catalog import FIELDS

#: Dense-rate column -> bit length of the operation, for Total Processing Performance.
#: TF32 and FP32 are deliberately absent (see the caveat in the export-rules reference:
#: TF32 is a 19-bit format stored in 32 bits; counting it would change Chinese parts' TPP).
TPP_BITS: dict[str, int] = {
    "fp4_dense_tflops": 4,
    "fp8_dense_tflops": 8,
    "int8_dense_tops": 8,
    "int4_dense_tops": 4,
    "fp16_dense_tflops": 16,
    "bf16_dense_tflops": 16,
}
#: The column and bit length behind the ``tpp_tf32_flag`` annotation.
TF32_COLUMN, TF32_BITS = "tf32_dense_tflops", 32

#: Derived metrics and the catalog columns each one is computed from.
DERIVED: dict[str, tuple[str, ...]] = {
    "tpp": ("tpp", *TPP_BITS),
    "performance_density": ("tpp", "die_area_mm2", "performance_density"),
    "io_gbps": ("interconnect_gbps", "pcie_gbps"),
    "memory_bw_gbps": ("memory_bw_tbps",),
    "tpp_tf32": (TF32_COLUMN,),
}

#: Numeric catalog columns (formats.md); the catalog schema adds any it defines on top.
CATALOG_NUMERIC: tuple[str, ...] = (
    *TPP_BITS,
    "tf32_dense_tflops",
    "fp32_tflops",
    "tpp",
    "performance_density",
    "die_area_mm2",
    "memory_gb",
    "memory_bw_tbps",
    "interconnect_gbps",
    "pcie_gbps",
    "tdp_w",
    "price_usd",
    "server_size",
    "supply_per_quarter",
    "lead_quarters",
    "efficiency_training",
    "efficiency_inference",
)

#: Metrics about the row or the scenario that are not numbers.
BOOL_METRICS: frozenset[str] = frozenset({"datacenter", "us_available"})
TEXT_METRICS: frozenset[str] = frozenset({"origin", "vendor", "sku", "buyer"})


@cache
def numeric_metrics() -> frozenset[str]:
    """Every numeric metric a condition may compare: catalog numeric columns and derived ones."""
    names = set(CATALOG_NUMERIC) | set(DERIVED)
    names.update(name for name, spec in FIELDS.items() if spec.kind == "float")
    return frozenset(names)


@cache
def known_metrics() -> frozenset[str]:
    """Every metric name a condition may use."""
    return numeric_metrics() | BOOL_METRICS | TEXT_METRICS


def fmt_number(value: Any) -> str:
    """A number as a short text: 4992.0 -> '4992', 6.04358 -> '6.044', 4707.2 -> '4707.2'."""
    if isinstance(value, bool):
        return "true" if value else "false"
    try:
        x = float(value)
    except (TypeError, ValueError):
        return str(value)
    r = round(x, 1 if abs(x) >= 100 else 3)
    return str(int(r)) if r == int(r) else repr(r)


@dataclass(frozen=True)
class Interval:
    """The values a figure known only as a bound can take: ``[lo, hi]``, either end open.

    Catalog figures are >= 0, so an upper bound ``< 4800`` is ``[0, 4800)``. A threshold test
    on an interval is decided when every value in it gives the same answer
    (:meth:`decide`), and unknown otherwise.
    """

    lo: float = 0.0
    hi: float = math.inf
    lo_open: bool = False
    hi_open: bool = True

    @classmethod
    def of_bound(cls, bound: Any) -> Interval:
        """The interval of a catalog :class:`~chipmix.catalog.Bound`."""
        strict = bound.op in ("<", ">")
        if bound.op in ("<", "<="):
            return cls(0.0, float(bound.value), False, strict)
        return cls(float(bound.value), math.inf, strict, True)

    @classmethod
    def point(cls, value: float) -> Interval:
        return cls(float(value), float(value), False, False)

    @property
    def is_point(self) -> bool:
        return self.lo == self.hi and not (self.lo_open or self.hi_open)

    def intersect(self, other: Interval) -> Interval | None:
        """The common part, or None when there is none."""
        lo, lo_open = max((self.lo, self.lo_open), (other.lo, other.lo_open))
        hi, hi_open = min((self.hi, not self.hi_open), (other.hi, not other.hi_open))
        hi_open = not hi_open
        if lo > hi or (lo == hi and (lo_open or hi_open)):
            return None
        return Interval(lo, hi, lo_open, hi_open)

    def __add__(self, other: Interval) -> Interval:
        return Interval(self.lo + other.lo, self.hi + other.hi,
                        self.lo_open or other.lo_open, self.hi_open or other.hi_open)

    def scale(self, factor: float) -> Interval:
        """``factor × self`` for ``factor > 0``."""
        return Interval(self.lo * factor, self.hi * factor, self.lo_open, self.hi_open)

    def divide(self, other: Interval) -> Interval | None:
        """``self / other`` for intervals of values >= 0; None when ``other`` may be 0."""
        if other.lo <= 0:
            return None
        hi = self.hi / other.lo if math.isfinite(self.hi) else math.inf
        lo = self.lo / other.hi if math.isfinite(other.hi) else 0.0
        lo_open = (self.lo_open or other.hi_open) if lo > 0 else False
        return Interval(lo, hi, lo_open, self.hi_open or other.lo_open or math.isinf(hi))

    def maximum(self, other: Interval) -> Interval:
        """The interval of ``max(x, y)`` for x in self, y in other."""
        lo, lo_open = max((self.lo, not self.lo_open), (other.lo, not other.lo_open))
        hi, hi_closed = max((self.hi, not self.hi_open), (other.hi, not other.hi_open))
        return Interval(lo, hi, not lo_open, not hi_closed)

    def decide(self, op: str, limit: float) -> bool | None:
        """``x OP limit`` for every x in the interval: True, False, or None (it depends)."""
        above = self.lo > limit or (self.lo == limit and self.lo_open)  # every x > limit
        at_least = self.lo >= limit  # every x >= limit
        below = self.hi < limit or (self.hi == limit and self.hi_open)  # every x < limit
        at_most = self.hi <= limit  # every x <= limit
        if op == ">=":
            return True if at_least else False if below else None
        if op == ">":
            return True if above else False if at_most else None
        if op == "<=":
            return True if at_most else False if above else None
        if op == "<":
            return True if below else False if at_least else None
        outside = above or below
        if op == "==":
            return False if outside else (True if self.is_point else None)
        if op == "!=":
            return True if outside else (False if self.is_point else None)
        raise ValueError(op)

    def text(self) -> str:
        """``"< 4800"``, ``"≥ 1600"``, ``"1600–4800"``: for reasons and tables."""
        if self.lo <= 0 and not self.lo_open:
            if math.isinf(self.hi):
                return "≥ 0"
            return f"{'<' if self.hi_open else '≤'} {fmt_number(self.hi)}"
        if math.isinf(self.hi):
            return f"{'>' if self.lo_open else '≥'} {fmt_number(self.lo)}"
        return f"{fmt_number(self.lo)}–{fmt_number(self.hi)}"

    def __str__(self) -> str:
        return self.text()


def _column(frame: pd.DataFrame, name: str, default: float = math.nan) -> pd.Series:
    if name in frame.columns:
        return pd.to_numeric(frame[name], errors="coerce").astype("float64")
    return pd.Series(default, index=frame.index, dtype="float64")


#: The frame column derive_metrics adds: per row, {metric: Interval} for every metric known
#: only as a bound (None for rows without one).
METRIC_BOUNDS = "metric_bounds"


def derive_metrics(frame: pd.DataFrame) -> pd.DataFrame:
    """Return a copy of a catalog frame with the derived rule metrics added.

    Added columns:

    - ``tpp`` — Total Processing Performance: the catalog's ``tpp`` where given, else the
      maximum of dense rate × bit length over the precisions the row has (fp4×4, fp8×8,
      int8×8, int4×4, fp16×16, bf16×16); NaN when the row has none of them.
    - ``tpp_tf32`` — tf32 dense TFLOPS × 32 (NaN when unknown), and ``tpp_tf32_flag`` —
      True where counting TF32 would raise the TPP (TF32 is not counted; flag such rows).
    - ``performance_density`` — the catalog's ``performance_density`` where given, else
      tpp / die_area_mm2 (TPP per mm²); NaN when either is unknown.
    - ``io_gbps`` — interconnect_gbps + pcie_gbps (GB/s bidirectional; the Oct 2022 rule
      counted all I/O except to DRAM). A missing ``pcie_gbps`` column counts as 0 (its
      documented default); a NaN cell stays unknown.
    - ``memory_bw_gbps`` — 1000 × memory_bw_tbps (GB/s).
    - ``metric_bounds`` — for rows with figures known only as a bound (the catalog frame's
      ``bounds`` column), ``{metric: Interval}`` for each catalog column and derived metric
      the bounds constrain; the metric's own column stays NaN. A catalog ``tpp`` bound is
      intersected with what the throughput columns give (their maximum is a lower bound of
      the true TPP); a contradiction is an InputError.
    """
    out = frame.copy()
    rates = pd.DataFrame(
        {col: _column(frame, col) * bits for col, bits in TPP_BITS.items()}, index=frame.index
    )
    computed = rates.max(axis=1, skipna=True)
    given = _column(frame, "tpp")
    tpp = given.where(given.notna(), computed)
    tf32 = _column(frame, TF32_COLUMN) * TF32_BITS
    area = _column(frame, "die_area_mm2")
    density = _column(frame, "performance_density")
    bounds = frame["bounds"] if "bounds" in frame.columns else None
    if bounds is not None and bounds.notna().any():
        has = bounds.map(lambda b: bool(b) if isinstance(b, dict) else False)
        # a row whose TPP or density is (partly) a bound has no point figure for them
        for sku in frame.index[has.to_numpy()]:
            row_bounds = bounds.at[sku]
            if "tpp" in row_bounds or any(col in row_bounds for col in TPP_BITS):
                tpp.at[sku] = math.nan
    out["tpp"] = tpp
    out["tpp_tf32"] = tf32
    out["tpp_tf32_flag"] = (tf32 > tpp).fillna(False).astype(bool)
    computed_density = tpp / area.where(area > 0)
    out["performance_density"] = density.where(density.notna(), computed_density)
    out["io_gbps"] = _column(frame, "interconnect_gbps") + _column(frame, "pcie_gbps", 0.0)
    out["memory_bw_gbps"] = 1000.0 * _column(frame, "memory_bw_tbps")
    metric_bounds: list[Any] = [None] * len(frame)
    if bounds is not None:
        for i, sku in enumerate(frame.index):
            row_bounds = bounds.iat[i]
            if isinstance(row_bounds, dict) and row_bounds:
                intervals = _row_intervals(frame, sku, row_bounds)
                for metric in intervals:
                    if metric in out.columns:
                        out.at[sku, metric] = math.nan
                metric_bounds[i] = intervals or None
    out[METRIC_BOUNDS] = pd.Series(metric_bounds, index=frame.index, dtype=object)
    return out


def _value(frame: pd.DataFrame, sku: Any, column: str, bounds: Mapping[str, Any],
           default: float | None = None) -> Interval | None:
    """A catalog figure as an interval: a point, its bound, or None when unknown."""
    if column in bounds:
        return Interval.of_bound(bounds[column])
    if column in frame.columns:
        value = pd.to_numeric(pd.Series([frame.at[sku, column]]), errors="coerce").iloc[0]
        if not pd.isna(value):
            return Interval.point(float(value))
    elif default is not None:
        return Interval.point(default)
    return None


def _row_intervals(frame: pd.DataFrame, sku: Any, bounds: Mapping[str, Any]) -> dict[str, Interval]:
    """Every catalog column and derived metric the row's bounds constrain, as intervals."""
    out: dict[str, Interval] = {col: Interval.of_bound(b) for col, b in bounds.items()}
    where = f"catalog {frame.at[sku, 'catalog']}" if "catalog" in frame.columns else None

    def contradiction(metric: str, bound: Interval, other: Interval, what: str) -> InputError:
        return InputError(
            "contradictory figures", file=where, location=f"SKU {sku}", field=metric,
            value=bound.text(), expected=f"a bound that {what} ({metric} {other.text()})",
        )

    # TPP: the maximum of dense rate x bits over the precisions the row has
    rates = [iv.scale(bits) for col, bits in TPP_BITS.items()
             if (iv := _value(frame, sku, col, bounds)) is not None]
    from_rates: Interval | None = None
    for iv in rates:
        from_rates = iv if from_rates is None else from_rates.maximum(iv)
    tpp = _value(frame, sku, "tpp", bounds)
    if tpp is not None and "tpp" in bounds and from_rates is not None:
        # published rates are achievable: their maximum is a lower bound of the true TPP
        floor = Interval(from_rates.lo, math.inf, from_rates.lo_open, True)
        both = tpp.intersect(floor)
        if both is None:
            raise contradiction("tpp", tpp, floor, "the throughput columns allow")
        tpp = both
    elif tpp is None:
        tpp = from_rates
    if tpp is not None and not tpp.is_point:
        out["tpp"] = tpp
    # performance density: the catalog's, else tpp / die area, narrowed by a catalog bound
    density = _value(frame, sku, "performance_density", bounds)
    area = _value(frame, sku, "die_area_mm2", bounds)
    computed = tpp.divide(area) if tpp is not None and area is not None else None
    if density is None or ("performance_density" in bounds and computed is None):
        density = density if computed is None else computed
    elif "performance_density" in bounds and computed is not None:
        both = density.intersect(computed)
        if both is None:
            raise contradiction("performance_density", density, computed,
                                "tpp / die_area_mm2 allows")
        density = both
    if density is not None and not density.is_point:
        out["performance_density"] = density
    # I/O and memory bandwidth
    ic = _value(frame, sku, "interconnect_gbps", bounds)
    pcie = _value(frame, sku, "pcie_gbps", bounds, default=0.0)
    if ic is not None and pcie is not None and not (ic + pcie).is_point:
        out["io_gbps"] = ic + pcie
    bw = _value(frame, sku, "memory_bw_tbps", bounds)
    if bw is not None and not bw.is_point:
        out["memory_bw_gbps"] = bw.scale(1000.0)
    return out


def is_unknown(value: Any) -> bool:
    """True for an empty cell: None, NaN or pandas NA."""
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def missing_inputs(metric: str, row: Mapping[str, Any]) -> list[str]:
    """The catalog columns whose absence makes ``metric`` unknown for ``row``.

    For a derived metric these are its unknown inputs (``performance_density`` with a known
    TPP but no die area gives ``["die_area_mm2"]``); an unknown TPP is reported as ``tpp``.
    """
    if metric == "tpp":
        return ["tpp"]
    if metric == "performance_density":  # the catalog's own column is optional, not "missing"
        missing = [c for c in ("tpp", "die_area_mm2") if is_unknown(row.get(c))]
        return missing or [metric]
    if metric in DERIVED:
        deps = DERIVED[metric]
        # pcie_gbps defaults to 0 when a frame has no such column (formats.md)
        missing = [
            d
            for d in deps
            if d != "tpp" and is_unknown(row.get(d, 0.0 if d == "pcie_gbps" else None))
        ]
        if "tpp" in deps and is_unknown(row.get("tpp")):
            missing.insert(0, "tpp")
        return missing or [metric]
    return [metric]
