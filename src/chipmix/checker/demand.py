"""Demand: delivery + shortfall meets demand; shortfall only with a penalty; the delivered table."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from chipmix.checker.params import Parameters
from chipmix.checker.report import ABS_TOL, Checker, fmt, num


def delivered_by_workload(
    params: Parameters, use: Mapping[tuple[str, str, int], float]
) -> dict[tuple[str, int], float]:
    """Σ_k cap[k,w]·use[k,w,t] per (workload, t) (ineligible use delivers nothing)."""
    total: dict[tuple[str, int], float] = {}
    for (sku, w, t), units in use.items():
        total[(w, t)] = total.get((w, t), 0.0) + params.cap.get((sku, w), 0.0) * units
    return total


def check_demand(
    chk: Checker,
    params: Parameters,
    delivered: Mapping[tuple[str, int], float],
    plan_delivered: Iterable[Mapping[str, Any]],
    t_of: Mapping[str, int],
) -> dict[tuple[str, int], float]:
    """Σ_k cap·use + short ≥ demand; shortfall only with a penalty; the delivered table.

    Returns the plan's shortfall per (workload, t) (a decision reported in ``delivered``).
    """
    T = len(params.periods)
    rows: dict[tuple[str, int], Mapping[str, Any]] = {}
    for row in plan_delivered:
        w, label = str(row.get("workload")), str(row.get("period"))
        ok = chk.check("delivered", w in params.workloads and label in t_of,
                       f"{w} {label}: unknown workload or period in the delivered table")
        if ok:
            chk.check("delivered", (w, t_of[label]) not in rows, f"{w} {label}: listed twice")
            rows[(w, t_of[label])] = row
    shortfall: dict[tuple[str, int], float] = {}
    for t in range(T):
        for w, wl in params.workloads.items():
            where = f"{w} {params.labels[t]}"
            demand = wl.demand[t]
            got = delivered.get((w, t), 0.0)
            reported = rows.get((w, t))
            short = num(reported.get("shortfall")) if reported is not None else 0.0
            if math.isnan(short):
                short = 0.0
            shortfall[(w, t)] = short
            if reported is None:
                chk.check("delivered", not (demand > 0 or got > ABS_TOL),
                          f"{where}: no row in the delivered table (demand {fmt(demand)}, "
                          f"delivered {fmt(got)})")
            else:
                chk.check("delivered", chk.close(num(reported.get("demand")), demand),
                          f"{where}: plan reports demand {fmt(num(reported.get('demand')))}, "
                          f"scenario says {fmt(demand)}")
                chk.check("delivered", chk.close(num(reported.get("delivered")), got),
                          f"{where}: plan reports delivered {fmt(num(reported.get('delivered')))}, "
                          f"recomputed {fmt(got)} from the allocation")
            if abs(short) > ABS_TOL:
                chk.check("shortfall", short >= 0, f"{where}: shortfall {fmt(short)} < 0")
                chk.check("shortfall", wl.penalty is not None,
                          f"{where}: shortfall {fmt(short)} but demand is hard "
                          "(no shortfall_penalty)")
            if demand > 0 or got > 0 or short:
                chk.check("demand", chk.le(demand, got + short),
                          f"{where}: delivered {fmt(got)} + shortfall {fmt(short)} < "
                          f"demand {fmt(demand)}")
    return shortfall


__all__ = ["check_demand", "delivered_by_workload"]
