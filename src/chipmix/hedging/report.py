"""A hedge as data (the hedge JSON of formats.md) and in a planner's words."""

from __future__ import annotations

import math
from typing import Any

from chipmix.numbers import json_number as _num
from chipmix.planner.result import _records

PURCHASE_COLUMNS = ["period", "sku", "servers", "units", "unit_price", "spend"]
HERE_AND_NOW_COLUMNS = ["period", "sku", "servers", "units"]


def _clean(v: Any) -> Any:
    return _num(v) if not (isinstance(v, float) and math.isnan(v)) else None


def hedge_dict(h) -> dict[str, Any]:
    """The hedge as plain data, keys in formats.md order (extensions after them)."""
    ok = h.ok
    det = h.deterministic or {}
    d: dict[str, Any] = {
        "scenario": h.scenario,
        "status": h.status.value,
        "objective": _clean(h.objective),
        "risk": {"alpha": _num(h.alpha), "weight": _num(h.weight)},
        "expected_cost": _clean(h.expected_cost),
        "cvar": _clean(h.cvar),
        "here_and_now": _records(h.here_and_now, HERE_AND_NOW_COLUMNS),
        "scenarios": [_scenario(r) for r in h.results] if ok else [
            {"name": s.name, "outcomes": dict(s.outcomes), "probability": _num(s.probability),
             "cost": None, "purchases": [], "shortfall": []} for s in h.tree.scenarios],
        "wait_and_see": _clean(h.wait_and_see) if ok else None,
        "evpi": _clean(h.evpi),
        "deterministic": {
            "expected_cost": _clean(det.get("expected_cost", math.nan)),
            "here_and_now": _records(det["here_and_now"], HERE_AND_NOW_COLUMNS)
            if len(det.get("here_and_now", [])) else [],
            # extensions
            "status": det.get("status"),
            "cvar": _clean(det.get("cvar", math.nan)),
            "objective": _clean(det.get("objective", math.nan)),
            "ported": [{"vendor": v, "workload": w} for v, w in det.get("ported", [])],
            "notes": list(det.get("notes", [])),
        },
        "value_of_hedging": _clean(h.value_of_hedging),
        "solver": {k: _num(v) if isinstance(v, float) else v for k, v in h.solver.items()},
        # extensions (formats.md: extend, never break)
        "periods": list(h.periods),
        "here_and_now_periods": [h.periods[t] for t in h.here_and_now_periods],
        "reveals": dict(h.tree.reveals),
        "notes": list(h.notes),
        "timings": {k: round(v, 4) for k, v in h.timings.items()},
    }
    if h.sampled is not None:
        d["sampled"] = h.sampled
    if h.message and not ok:
        d["message"] = h.message
    return d


def _scenario(r) -> dict[str, Any]:
    plan = r.plan
    delivered = plan.delivered
    short = delivered[delivered["shortfall"] > 1e-9] if len(delivered) else delivered
    return {
        "name": r.name,
        "outcomes": dict(r.outcomes),
        "probability": _num(r.probability),
        "cost": _num(r.cost),
        "purchases": _records(plan.purchases, PURCHASE_COLUMNS),
        "shortfall": _records(short, ["period", "workload", "shortfall"]),
        # extensions
        "wait_and_see": _clean(r.wait_and_see),
        "deterministic": _clean(r.deterministic),
        "discounted_cost": {k: _num(plan.discounted.get(k, 0.0))
                            for k in ("capex", "energy", "porting", "shortfall")},
        "ported": _records(plan.ported, ["vendor", "workload"]),
    }


__all__ = ["hedge_dict"]
