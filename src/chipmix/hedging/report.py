"""A hedge as data (the hedge JSON of formats.md) and in a planner's words."""

from __future__ import annotations

import math
from collections.abc import Sequence
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


# -- words -----------------------------------------------------------------------------------


def money(v: float | None) -> str:
    """USD in a planner's units (``1.8 M``, ``2.41 bn``)."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "n/a"
    a = abs(v)
    if a >= 1e9:
        return f"{v / 1e9:,.2f} bn USD"
    if a >= 1e6:
        return f"{v / 1e6:,.1f} M USD"
    return f"{v:,.0f} USD"


def _buys(frame, labels: Sequence[str]) -> str:
    """``420 nvidia-h20 (2024Q2-2024Q3), 80 huawei-ascend-910b (from 2025Q2)``."""
    if not len(frame):
        return ""
    order = {p: i for i, p in enumerate(labels)}
    parts = []
    for sku, rows in frame.groupby("sku", sort=False):
        periods = sorted(set(rows["period"]), key=lambda p: order[p])
        when = periods[0] if len(periods) == 1 else f"{periods[0]}-{periods[-1]}"
        parts.append((order[periods[0]], sku, f"{int(rows['units'].sum()):,} {sku} ({when})"))
    return ", ".join(text for _, _, text in sorted(parts))


def _recourse(frame, before: set[str], labels: Sequence[str]) -> str:
    """Word a scenario's recourse purchases; SKUs not bought before are a switch.

    ``switch to huawei-ascend-910c from 2025Q2 (1,000 units), buy 800 more nvidia-h20
    (2024Q3-2025Q1)``.
    """
    order = {p: i for i, p in enumerate(labels)}
    parts = []
    for sku, rows in frame.groupby("sku", sort=False):
        periods = sorted(set(rows["period"]), key=lambda p: order[p])
        n = int(rows["units"].sum())
        if sku in before:
            when = periods[0] if len(periods) == 1 else f"{periods[0]}-{periods[-1]}"
            parts.append((order[periods[0]], f"buy {n:,} more {sku} ({when})"))
        else:
            parts.append((order[periods[0]], f"switch to {sku} from {periods[0]} ({n:,} units)"))
    return ", ".join(text for _, text in sorted(parts))


def planner_words(h) -> list[str]:
    """The hedge's advice, one sentence a line."""
    if not h.ok:
        return [f"No plan holds in every scenario ({h.status.value})."] + list(h.notes)
    labels = h.periods
    lines = []
    head = h.here_and_now_periods
    reveal = labels[head[-1] + 1] if head and head[-1] + 1 < len(labels) else None
    now = _buys(h.here_and_now, labels)
    when = f"before {reveal}, when the first outcome is known" if reveal else \
        "(nothing is revealed within the horizon)"
    lines.append(f"Buy now, {when}: {now}." if now else f"Buy nothing {when}.")
    if reveal is not None:
        for r in h.results:
            p = r.plan.purchases
            later = p[~p["period"].isin([labels[t] for t in head])]
            what = _recourse(later, set(h.here_and_now["sku"]), labels)
            lines.append(f"If {_outcomes(r)} (p = {r.probability:.3g}): "
                         + (what if what else "buy nothing more")
                         + f"; cost {money(r.cost)}.")
    det = h.deterministic or {}
    if not math.isnan(det.get("expected_cost", math.nan)):
        worse = [(r.cost - r.deterministic, r) for r in h.results]
        more = [(d, r) for d, r in worse if d > 0.5]
        less = [(-d, r) for d, r in worse if d < -0.5]
        bits = []
        if more:
            d, r = max(more, key=lambda x: x[0])
            bits.append(f"hedging costs {money(d)} more than the base plan if {_outcomes(r)}")
        if less:
            d, r = max(less, key=lambda x: x[0])
            bits.append(f"saves {money(d)} if {_outcomes(r)}")
        if bits:
            lines.append(_sentence(" and ".join(bits)) + ".")
        else:
            lines.append("The base scenario's own plan does as well in every scenario: "
                         "nothing to hedge.")
    lines.append(
        f"Expected cost {money(h.expected_cost)}, CVaR{round(h.alpha * 100):d} "
        f"{money(h.cvar)}; with hindsight {money(h.wait_and_see)} (EVPI {money(h.evpi)}: "
        f"the most a perfect forecast is worth); the base plan, re-planned in every scenario, "
        f"{money(det.get('expected_cost'))} (value of hedging {money(h.value_of_hedging)}).")
    return lines


def _outcomes(r) -> str:
    return ", ".join(f"{e} = {o}" for e, o in r.outcomes.items())


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


__all__ = ["hedge_dict", "money", "planner_words"]
