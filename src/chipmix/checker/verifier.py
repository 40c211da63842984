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
from chipmix.errors import ArgumentError, InputError
from chipmix.inputs.scenario import Scenario, load_scenario
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
    _check_shape(plan)
    return dict(plan)


# The types of a plan JSON's fields (formats.md), checked before any figure is read: a
# wrong-typed field is an InputError naming it, not a traceback or a nonsense violation.
_TEXT, _NUMBER, _MAP, _TEXT_LIST = "text", "a number", "an object", "a list of periods"
_TOP = {"scenario": _TEXT, "status": _TEXT, "periods": _TEXT_LIST, "objective": _NUMBER,
        "cost": _MAP, "discounted_cost": _MAP, "solver": _MAP, "sensitivity": _MAP,
        "share_basis": _TEXT, "message": _TEXT}
_ROWS = {
    "purchases": {"period": _TEXT, "sku": _TEXT, "servers": _NUMBER, "units": _NUMBER,
                  "unit_price": _NUMBER, "spend": _NUMBER},
    "allocation": {"period": _TEXT, "sku": _TEXT, "workload": _TEXT, "units": _NUMBER},
    "fleet": {"period": _TEXT, "sku": _TEXT, "units": _NUMBER},
    "delivered": {"period": _TEXT, "workload": _TEXT, "demand": _NUMBER,
                  "delivered": _NUMBER, "shortfall": _NUMBER},
    "shares": {"period": _TEXT, "domestic": _NUMBER, "vendors": _MAP},
    "availability": {"period": _TEXT, "sku": _TEXT, "status": _TEXT, "supply": _NUMBER,
                     "unit_price": _NUMBER, "reason": _TEXT},
    "ported": {"vendor": _TEXT, "workload": _TEXT, "fraction": _NUMBER},
}


def _fits(value: Any, kind: str) -> bool:
    if value is None:
        return kind in (_NUMBER, _TEXT)  # a missing figure or reason
    if kind == _TEXT:
        return isinstance(value, str)
    if kind == _NUMBER:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == _MAP:
        return isinstance(value, Mapping)
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _check_shape(plan: Mapping[str, Any]) -> None:
    for key, kind in _TOP.items():
        if key in plan and not (_fits(plan[key], kind) and (key != "status" or plan[key])):
            raise InputError("wrong type", field=key, value=plan[key], expected=kind)
    for key, fields in _ROWS.items():
        rows = plan.get(key)
        if rows is None:
            continue
        if not isinstance(rows, list):
            raise InputError("wrong type", field=key, value=rows,
                             expected="a list of row objects")
        for i, row in enumerate(rows):
            if not isinstance(row, Mapping):
                raise InputError("wrong type", field=f"{key}[{i}]", value=row,
                                 expected="a row object")
            for name, kind in fields.items():
                if name in row and not _fits(row[name], kind):
                    raise InputError("wrong type", field=f"{key}[{i}].{name}",
                                     value=row[name], expected=kind)


def _check_identity(data: Mapping[str, Any], scenario: Any) -> None:
    """Refuse a plan made for another scenario.

    The plan was made for this scenario: same name and periods (else checking it would
    list every row as a violation).
    """
    periods = [str(p) for p in scenario.periods]
    theirs = list(data.get("periods") or [])
    if data.get("scenario") == scenario.name and theirs == periods:
        return

    def span(labels: list[str]) -> str:
        return f"{labels[0]}..{labels[-1]}" if labels else "no periods"

    raise InputError(
        f"the plan is for scenario {data.get('scenario')!r} ({span(theirs)}), not "
        f"{scenario.name!r} ({span(periods)})",
        expected="the scenario file the plan was made from")



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

    Raises
    ------
    InputError
        ``plan`` is not a plan JSON (missing keys, a wrong-typed field, named by its path),
        it was made for another scenario (its ``scenario`` name or periods differ), or
        ``tolerance`` is not in [0, 1).
    ArgumentError
        ``scenario`` is neither a Scenario nor a path (also a ``TypeError``).
    """
    if isinstance(scenario, (str, Path)):
        scenario = load_scenario(scenario)
    elif not isinstance(scenario, Scenario):
        raise ArgumentError("chipmix.verify", "scenario", scenario,
                            "a chipmix.Scenario or a scenario YAML path")
    if (isinstance(tolerance, bool) or not isinstance(tolerance, (int, float))
            or not 0 <= tolerance < 1):
        raise InputError(file="tolerance (--tolerance)", value=tolerance,
                         expected="a relative tolerance >= 0 and < 1, e.g. 1e-6")
    data = _as_dict(plan)
    if str(data.get("status", "")).lower() in PLAN_STATUSES:
        _check_identity(data, scenario)
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

    buy, spend = check_purchases(chk, params, purchases, t_of, relaxed)
    use = read_allocation(chk, params, allocation, t_of)
    fleet = check_fleet(chk, params, buy, use, data.get("fleet") or [], t_of)
    delivered = delivered_by_workload(params, use)
    shortfall = check_demand(chk, params, delivered, data.get("delivered") or [], t_of)
    ported = check_porting(chk, params, use, data.get("ported") or [], relaxed)
    shares = check_policies(chk, params, spend, buy, use, fleet, data.get("shares") or [],
                            t_of)
    check_availability(chk, params, data.get("availability") or [], t_of)
    cost, discounted = check_costs(chk, params, spend, use, shortfall, ported, data)

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
