"""Metrics an export-control rule can test, derived from catalog columns.

All derived figures follow ``rules.md``; an unknown input (NaN) gives an unknown (NaN) result,
never 0, so a rule on it is *unknown* rather than silently passing.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from functools import cache
from typing import Any

import pandas as pd

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
    "performance_density": ("tpp", "die_area_mm2"),
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
BOOL_METRICS: frozenset[str] = frozenset({"datacenter"})
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


def _column(frame: pd.DataFrame, name: str, default: float = math.nan) -> pd.Series:
    if name in frame.columns:
        return pd.to_numeric(frame[name], errors="coerce").astype("float64")
    return pd.Series(default, index=frame.index, dtype="float64")


def derive_metrics(frame: pd.DataFrame) -> pd.DataFrame:
    """Return a copy of a catalog frame with the derived rule metrics added.

    Added columns:

    - ``tpp`` — Total Processing Performance: the catalog's ``tpp`` where given, else the
      maximum of dense rate × bit length over the precisions the row has (fp4×4, fp8×8,
      int8×8, int4×4, fp16×16, bf16×16); NaN when the row has none of them.
    - ``tpp_tf32`` — tf32 dense TFLOPS × 32 (NaN when unknown), and ``tpp_tf32_flag`` —
      True where counting TF32 would raise the TPP (TF32 is not counted; flag such rows).
    - ``performance_density`` — tpp / die_area_mm2 (TPP per mm²); NaN when either is unknown.
    - ``io_gbps`` — interconnect_gbps + pcie_gbps (GB/s bidirectional; the Oct 2022 rule
      counted all I/O except to DRAM). A missing ``pcie_gbps`` column counts as 0 (its
      documented default); a NaN cell stays unknown.
    - ``memory_bw_gbps`` — 1000 × memory_bw_tbps (GB/s).
    """
    out = frame.copy()
    rates = pd.DataFrame(
        {col: _column(frame, col) * bits for col, bits in TPP_BITS.items()}, index=frame.index
    )
    computed = rates.max(axis=1, skipna=True)
    given = _column(frame, "tpp")
    tpp = given.where(given.notna(), computed)
    out["tpp"] = tpp
    tf32 = _column(frame, TF32_COLUMN) * TF32_BITS
    out["tpp_tf32"] = tf32
    out["tpp_tf32_flag"] = (tf32 > tpp).fillna(False).astype(bool)
    area = _column(frame, "die_area_mm2")
    out["performance_density"] = tpp / area.where(area > 0)
    out["io_gbps"] = _column(frame, "interconnect_gbps") + _column(frame, "pcie_gbps", 0.0)
    out["memory_bw_gbps"] = 1000.0 * _column(frame, "memory_bw_tbps")
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
