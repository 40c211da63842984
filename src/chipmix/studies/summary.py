"""One plan as a flat list of figures: the rows of ``compare`` and the columns of ``sweep``.

Metric names are dotted and stable (``cost.total``, ``units.vendor.Huawei``,
``domestic_share.2024Q1``); each has a unit (:data:`UNITS` and :func:`unit_of`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from chipmix.model.data import catalog_of
from chipmix.numbers import table_number
from chipmix.planner.extract import group_sums

#: Cost keys of a plan, in report order.
COST_KEYS = ("total", "discounted_total", "capex", "energy", "porting", "shortfall")

UNITS = {
    "status": "",
    "objective": "USD (discounted)",
    "cost.total": "USD",
    "cost.discounted_total": "USD (discounted)",
    "cost.capex": "USD",
    "cost.energy": "USD",
    "cost.porting": "USD",
    "cost.shortfall": "USD",
    "units.total": "units",
}

METRIC_UNITS = {
    "bf16_pflops": "PFLOPS-periods (bf16)",
    "fp8_pflops": "PFLOPS-periods (fp8)",
    "int8_pops": "POPS-periods (int8)",
    "memory_bw_tbps": "TB/s-periods",
    "memory_tb": "TB-periods",
}


def unit_of(metric: str, workload_metrics: Mapping[str, str] | None = None) -> str:
    """The unit of a summary metric name."""
    if metric in UNITS:
        return UNITS[metric]
    if metric.startswith("units."):
        return "units"
    if metric.startswith("spend."):
        return "USD"
    if metric.startswith("domestic_share."):
        return "share (0-1)"
    if metric.startswith("shortfall."):
        name = metric.split(".", 1)[1]
        kind = (workload_metrics or {}).get(name)
        return METRIC_UNITS.get(kind or "", "metric units x periods")
    return ""


def sku_table(scenario) -> pd.DataFrame:
    """``vendor`` and ``origin`` per SKU id of the scenario's catalogs."""
    frame = catalog_of(scenario).frame  # a sweep worker's variants share one loaded catalog
    return frame[["vendor", "origin"]].copy()


def plan_summary(plan, skus: pd.DataFrame, workloads: list[str] | None = None) -> dict[str, Any]:
    """The plan's figures as ``{metric: value}`` (NaN for figures a failed plan lacks).

    ``skus`` maps SKU ids to ``vendor`` and ``origin`` (:func:`sku_table`). Numbers follow
    the one output policy (:mod:`chipmix.numbers`), like the plan's JSON: solver noise in
    the last bits must not make the same plan look different when another process solved it.
    """
    return {key: _rounded(value) for key, value in _summary(plan, skus, workloads).items()}


def _rounded(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    return table_number(value)


def _summary(plan, skus: pd.DataFrame, workloads: list[str] | None) -> dict[str, Any]:
    nan = math.nan
    out: dict[str, Any] = {"status": plan.status.value}
    has = plan.ok
    out["objective"] = float(plan.objective) if has and plan.objective is not None else nan
    for key in COST_KEYS:
        value = plan.cost.get(key) if has else None
        out[f"cost.{key}"] = float(value) if value is not None else nan
    purchases = plan.purchases
    if has and len(purchases):
        vendor_of, origin_of = skus["vendor"].to_dict(), skus["origin"].to_dict()
        sku = purchases["sku"].tolist()
        vendor = [_known(vendor_of.get(k)) for k in sku]
        origin = [_known(origin_of.get(k)) for k in sku]
        units = purchases["units"].to_numpy(dtype=float)
        spend = purchases["spend"].to_numpy(dtype=float)
        out["units.total"] = float(np.where(np.isnan(units), 0.0, units).sum())
        for prefix, values, keys in (("units.vendor", units, vendor),
                                     ("units.origin", units, origin),
                                     ("spend.vendor", spend, vendor),
                                     ("spend.origin", spend, origin)):
            for name, value in _sums_by(keys, values).items():
                out[f"{prefix}.{name}"] = value
        out["units.sku"] = {str(k): v for k, v in _sums_by(sku, units).items()}
    else:
        out["units.total"] = 0.0 if has else nan
        out["units.sku"] = {}
    shares = plan.shares
    share_of = dict(zip(shares["period"], shares["domestic"], strict=True)) if has else {}
    for period in plan.periods:
        value = share_of.get(period)
        out[f"domestic_share.{period}"] = float(value) if value is not None else nan
    delivered = plan.delivered
    names = list(workloads or [])
    if has and len(delivered):
        short = _sums_by(delivered["workload"].tolist(),
                         delivered["shortfall"].to_numpy(dtype=float))
        for name in dict.fromkeys([*names, *short]):
            value = short.get(name, 0.0)
            out[f"shortfall.{name}"] = 0.0 if abs(value) < 1e-9 else value
    else:
        for name in names:
            out[f"shortfall.{name}"] = 0.0 if has else nan
    return out


def _known(value: Any) -> Any:
    """A SKU's vendor or origin, ``?`` where the catalog has none (as ``fillna("?")``)."""
    return "?" if value is None or (isinstance(value, float) and math.isnan(value)) else value


def _sums_by(keys: list[Any], values: np.ndarray) -> dict[Any, float]:
    """``pd.Series(values).groupby(keys).sum()`` as a dict in sorted key order, bit for bit."""
    names = sorted(set(keys))
    code = {name: i for i, name in enumerate(names)}
    sums = group_sums(np.fromiter((code[k] for k in keys), dtype=np.int64, count=len(keys)),
                      values, len(names))
    return dict(zip(names, sums.tolist(), strict=True))


def top_skus(units_by_sku: Mapping[str, float], n: int = 3) -> str:
    """``"nvidia-h20: 3496, huawei-ascend-910b: 1272"``: the ``n`` SKUs bought most."""
    ranked = sorted(units_by_sku.items(), key=lambda kv: (-kv[1], kv[0]))[:n]
    return ", ".join(f"{sku}: {_compact(units)}" for sku, units in ranked)


def _compact(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.3g}"


def problem_text(plan) -> str:
    """One line on why a plan has no decisions ('' when it has)."""
    if plan.ok:
        return ""
    if plan.diagnosis and plan.diagnosis.get("summary"):
        return str(plan.diagnosis["summary"])
    return plan.message or plan.status.value
