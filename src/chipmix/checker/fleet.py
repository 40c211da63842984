"""Allocation and fleet: use per SKU, workload and period; units in service; use ≤ fleet."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from chipmix.checker.params import Parameters
from chipmix.checker.report import ABS_TOL, Checker, fmt, num


def read_allocation(
    chk: Checker, params: Parameters, rows: Iterable[Mapping[str, Any]], t_of: Mapping[str, int]
) -> dict[tuple[str, str, int], float]:
    """use[k,w,t] from the allocation rows, checking names, signs and eligibility."""
    use: dict[tuple[str, str, int], float] = {}
    for row in rows:
        sku, w, label = str(row.get("sku")), str(row.get("workload")), str(row.get("period"))
        where = f"{sku} {w} {label}"
        known = chk.check("allocation", sku in params.skus, f"{where}: unknown SKU")
        known &= chk.check("allocation", w in params.workloads, f"{where}: unknown workload")
        known &= chk.check("allocation", label in t_of, f"{where}: period outside the horizon")
        if not known:
            continue
        t = t_of[label]
        units = num(row.get("units"))
        chk.check("allocation", (sku, w, t) not in use, f"{where}: listed twice")
        chk.check("allocation", units >= -ABS_TOL, f"{where}: {fmt(units)} units < 0")
        if abs(units) > ABS_TOL:
            chk.check("eligibility", (sku, w) in params.cap,
                      f"{where}: {fmt(units)} units in use but {sku} cannot serve {w} "
                      "(no figure for the metric, filtered by min_memory_gb / "
                      "min_interconnect_gbps, or excluded)")
            k = params.skus[sku]
            chk.check("eligibility", t < k.retire_t,
                      f"{where}: {fmt(units)} units in use after retirement "
                      f"({params.labels[k.retire_t] if k.retire_t < len(params.labels) else ''})")
            chk.check("eligibility", k.watts is not None,
                      f"{where}: {fmt(units)} units in use but {sku} has no power figure "
                      "(tdp_w): energy and power cannot be accounted")
        use[(sku, w, t)] = use.get((sku, w, t), 0.0) + units
    return use


def check_fleet(
    chk: Checker,
    params: Parameters,
    buy: Mapping[tuple[str, int], float],
    use: Mapping[tuple[str, str, int], float],
    plan_fleet: Iterable[Mapping[str, Any]],
    t_of: Mapping[str, int],
) -> dict[tuple[str, int], float]:
    """fleet[k,t] = inv[k] + Σ buy[k,τ] over τ + lead ≤ t < τ + lead + life, 0 from retirement."""
    T = len(params.periods)
    fleet: dict[tuple[str, int], float] = {}
    for sku, k in params.skus.items():
        for t in range(T):
            units = 0.0
            if t < k.retire_t:
                units = k.inventory
                for tau in range(T):
                    bought = buy.get((sku, tau), 0.0)
                    if bought and tau + k.lead <= t < tau + k.lead + k.life:
                        units += bought
            fleet[(sku, t)] = units

    reported: dict[tuple[str, int], float] = {}
    for row in plan_fleet:
        sku, label = str(row.get("sku")), str(row.get("period"))
        ok = chk.check("fleet", sku in params.skus and label in t_of,
                       f"{sku} {label}: unknown SKU or period in the fleet table")
        if ok:
            key = (sku, t_of[label])
            reported[key] = reported.get(key, 0.0) + num(row.get("units"))
    for sku in sorted(params.skus):
        for t in range(T):
            mine, theirs = fleet[(sku, t)], reported.get((sku, t), 0.0)
            if mine == 0 and (sku, t) not in reported:
                continue
            chk.check("fleet", chk.close(theirs, mine),
                      f"{sku} {params.labels[t]}: plan reports {fmt(theirs)} units, "
                      f"recomputed {fmt(mine)} (inventory + purchases in service)")

    in_use: dict[tuple[str, int], float] = {}
    for (sku, _w, t), units in use.items():
        in_use[(sku, t)] = in_use.get((sku, t), 0.0) + units
    for (sku, t), units in sorted(in_use.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        chk.check("allocation", chk.le(units, fleet[(sku, t)]),
                  f"{sku} {params.labels[t]}: {fmt(units)} units in use > fleet "
                  f"{fmt(fleet[(sku, t)])}")
    return fleet


__all__ = ["check_fleet", "read_allocation"]
