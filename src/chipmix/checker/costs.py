"""Costs: capex, energy, porting and shortfall (nominal and discounted) and the objective."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chipmix.checker.params import Parameters
from chipmix.checker.report import Checker, fmt, num


def check_costs(
    chk: Checker,
    params: Parameters,
    spend: Mapping[tuple[str, int], float],
    use: Mapping[tuple[str, str, int], float],
    shortfall: Mapping[tuple[str, int], float],
    ported: Mapping[tuple[str, str], float],
    data: Mapping[str, Any],
) -> tuple[dict[str, float], dict[str, float]]:
    """Capex, energy, porting, shortfall (nominal and discounted) and the objective.

    ``spend`` is USD per (sku, t) at the purchase rows' tranche prices. A relaxed plan's
    porting cost is Σ port·fraction over its ``ported`` rows.
    """
    T = len(params.periods)
    capex_t = [0.0] * T
    energy_t = [0.0] * T
    short_t = [0.0] * T
    for (_sku, t), usd in spend.items():
        capex_t[t] += usd
    for (sku, _w, t), units in use.items():
        per_unit = params.energy_per_unit(sku, t)
        if per_unit is not None:
            energy_t[t] += per_unit * units
    for (w, t), short in shortfall.items():
        penalty = params.workloads[w].penalty
        if penalty is not None:
            short_t[t] += penalty * short
    porting = sum(params.port.get(key, 0.0) * fraction for key, fraction in ported.items())
    cost = {
        "capex": sum(capex_t),
        "energy": sum(energy_t),
        "porting": porting,
        "shortfall": sum(short_t),
    }
    cost["total"] = cost["capex"] + cost["energy"] + cost["porting"] + cost["shortfall"]
    disc = params.discount
    discounted = {
        "capex": sum(disc[t] * capex_t[t] for t in range(T)),
        "energy": sum(disc[t] * energy_t[t] for t in range(T)),
        "porting": porting,
        "shortfall": sum(disc[t] * short_t[t] for t in range(T)),
    }
    discounted["total"] = (
        discounted["capex"] + discounted["energy"] + discounted["porting"] + discounted["shortfall"]
    )
    cost["discounted_total"] = discounted["total"]

    plan_cost = dict(data.get("cost") or {})
    for key, mine in cost.items():
        theirs = num(plan_cost.get(key))
        chk.check("cost", chk.close(theirs, mine),
                  f"{key}: plan reports {fmt(theirs)} USD, recomputed {fmt(mine)} USD")
    plan_discounted = data.get("discounted_cost")
    if isinstance(plan_discounted, Mapping):
        for key, mine in discounted.items():
            if key in plan_discounted:
                theirs = num(plan_discounted.get(key))
                chk.check("cost", chk.close(theirs, mine),
                          f"discounted {key}: plan reports {fmt(theirs)} USD, "
                          f"recomputed {fmt(mine)} USD")
    objective = num(data.get("objective"))
    chk.check("objective", chk.close(objective, discounted["total"]),
              f": plan reports {fmt(objective)}, recomputed discounted total "
              f"{fmt(discounted['total'])}")
    return cost, discounted


__all__ = ["check_costs"]
