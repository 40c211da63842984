"""Independent plan checker: ``verify(plan, scenario) -> VerifyReport``.

Recomputes every parameter of the planning model (``docs/planning-model.md``) from the
*inputs* — the scenario, its catalogs and the export-control timeline
(:mod:`chipmix.checker.params`) — and then every constraint and the objective from the
plan's *decisions* (purchases, allocation, ported workloads, shortfall), one module per
table: :mod:`.purchases`, :mod:`.fleet` (allocation and fleet), :mod:`.demand`,
:mod:`.porting`, :mod:`.policies` (share, vendor cap, budget, power), :mod:`.availability`,
:mod:`.costs`. It is a second implementation on purpose: plain scalar loops written from the
documentation, never importing the model code (``chipmix.model``, ``chipmix.solve``,
``chipmix.planner``): only the base, inputs and rules layers (``tests/test_layers.py``).

Each comparison is one *check* of a named family (``supply``, ``price``, ``fleet``,
``demand``, ...); a failed check is a violation, a line that names the family, the SKU /
workload / period, the plan's value and the limit::

    supply nvidia-h800 2023Q4: bought 1600 units > 1533.7 purchasable

Tolerances: :mod:`chipmix.checker.report`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from chipmix.checker.availability import check_availability
from chipmix.checker.costs import check_costs
from chipmix.checker.demand import check_demand, delivered_by_workload
from chipmix.checker.fleet import check_fleet, read_allocation
from chipmix.checker.params import Parameters, derive_parameters
from chipmix.checker.policies import check_policies
from chipmix.checker.porting import check_porting
from chipmix.checker.purchases import check_purchases
from chipmix.checker.report import Checker, VerifyReport
from chipmix.errors import InputError
from chipmix.inputs.scenario import load_scenario
from chipmix.inputs.solver import Status

__all__ = ["Parameters", "VerifyReport", "derive_parameters", "verify"]

#: Statuses that carry decisions to check.
PLAN_STATUSES = Status.with_plan()


#: keys every plan JSON carries (formats.md); a file without them is not a plan
REQUIRED_KEYS = ("scenario", "status", "periods", "purchases", "allocation")


def _as_dict(plan: Any) -> dict[str, Any]:
    if hasattr(plan, "to_dict") and not isinstance(plan, Mapping):
        return plan.to_dict()
    if not isinstance(plan, Mapping):
        raise InputError(
            "not a plan", value=type(plan).__name__,
            expected="a plan JSON object (formats.md: scenario, status, periods, purchases, ...)",
        )
    missing = [key for key in REQUIRED_KEYS if key not in plan]
    if missing:
        raise InputError(
            "not a plan: missing " + ", ".join(missing),
            expected="the keys of a plan JSON (formats.md: " + ", ".join(REQUIRED_KEYS) + ", ...)",
        )
    return dict(plan)


def verify(
    plan: Any,
    scenario: Any,
    tolerance: float = 1e-6,
    *,
    catalog: Any = None,
    timeline: Any = None,
) -> VerifyReport:
    """Check a plan against its scenario from scratch.

    Parameters
    ----------
    plan : a :class:`chipmix.planner.Plan` or its JSON dict (formats.md).
    scenario : the :class:`chipmix.inputs.scenario.Scenario` the plan was made for, or a path to
        its YAML.
    tolerance : relative tolerance of every comparison (an absolute 1e-6 is always added).
    catalog, timeline : optional prebuilt inputs (default: from the scenario).

    Returns
    -------
    VerifyReport — ``ok`` when every constraint holds and every reported figure (fleet,
    delivered, shares, availability, costs, objective) matches the recomputation.
    """
    if isinstance(scenario, (str, Path)):
        scenario = load_scenario(scenario)
    data = _as_dict(plan)
    chk = Checker(tolerance)
    notes = chk.notes
    status = str(data.get("status", "")).lower()
    purchases = list(data.get("purchases") or [])
    allocation = list(data.get("allocation") or [])

    if status not in PLAN_STATUSES:
        if purchases or allocation:
            chk.fail("status", f"{status or 'missing'}: the plan has no decisions but lists "
                     f"{len(purchases)} purchases and {len(allocation)} allocations")
            return VerifyReport(False, chk.total, chk.violations, {"checks": dict(chk.counts)})
        notes.append(f"no decisions to check: status {status or 'missing'}")
        return VerifyReport(True, 0, [], {"checks": {}}, notes)

    params = derive_parameters(scenario, catalog=catalog, timeline=timeline)
    relaxed = bool((data.get("solver") or {}).get("relaxed", False))
    if relaxed:
        notes.append("relaxed plan: fractional servers allowed")
    t_of = {label: t for t, label in enumerate(params.labels)}

    chk.check("status", True, "")
    plan_periods = [str(p) for p in data.get("periods") or []]
    chk.check("periods", plan_periods == params.labels,
              f": plan has {plan_periods} != horizon {params.labels}")

    buy = check_purchases(chk, params, purchases, t_of, relaxed)
    use = read_allocation(chk, params, allocation, t_of)
    fleet = check_fleet(chk, params, buy, use, data.get("fleet") or [], t_of)
    delivered = delivered_by_workload(params, use)
    shortfall = check_demand(chk, params, delivered, data.get("delivered") or [], t_of)
    ported = check_porting(chk, params, use, data.get("ported") or [], relaxed)
    shares = check_policies(chk, params, buy, use, data.get("shares") or [], t_of)
    check_availability(chk, params, data.get("availability") or [], t_of)
    cost, discounted = check_costs(
        chk, params, buy, use, shortfall, ported, data
    )

    recomputed = _recomputed(params, cost, discounted, fleet, delivered, shortfall, shares)
    recomputed["checks"] = dict(chk.counts)
    ok = not chk.violations
    return VerifyReport(ok, chk.total, list(chk.violations), recomputed, notes)


def _recomputed(params: Parameters, cost: dict[str, float], discounted: dict[str, float],
                fleet: Mapping[tuple[str, int], float],
                delivered: Mapping[tuple[str, int], float],
                shortfall: Mapping[tuple[str, int], float],
                shares: list[dict[str, Any]]) -> dict[str, Any]:
    """The checker's own figures, in the plan's table shapes."""
    T = len(params.periods)
    return {
        "cost": cost,
        "discounted_cost": discounted,
        "objective": cost["discounted_total"],
        "fleet": [
            {"period": params.labels[t], "sku": k, "units": fleet[(k, t)]}
            for t in range(T)
            for k in sorted(params.skus)
            if fleet[(k, t)] > 0
        ],
        "delivered": [
            {"period": params.labels[t], "workload": w, "demand": wl.demand[t],
             "delivered": delivered.get((w, t), 0.0), "shortfall": shortfall.get((w, t), 0.0)}
            for t in range(T)
            for w, wl in params.workloads.items()
            if wl.demand[t] > 0 or delivered.get((w, t), 0.0) > 0
        ],
        "shares": shares,
        "availability": [
            {"period": params.labels[t], "sku": k, "status": params.status[(k, t)],
             "supply": None if math.isinf(params.supply[(k, t)]) else params.supply[(k, t)],
             "unit_price": params.price[(k, t)], "reason": params.unbuyable.get((k, t))}
            for t in range(T)
            for k in sorted(params.skus)
        ],
    }
