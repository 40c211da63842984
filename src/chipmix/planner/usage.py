"""What the caps are doing: power and budget use per period, and why each shortfall happens.

Computed from a plan's tables and the planning data (no solver): a cap *binds* in a period
when what is left of it cannot take one more card (power) or one more server (budget) of any
SKU that could be bought or run then. A shortfall (demand rented at the workload's penalty)
is put down to what stopped the plan from delivering more, in this order:

- ``power cap`` — the cards in use draw the period's cap;
- ``budget`` — the budget binds in this period or an earlier one a purchase could come from;
- ``supply`` — every SKU that serves the workload and is buyable early enough (its lead time)
  is bought up to its supply; ``no buyable SKU`` — none is (export rules, no price, no
  supply, or it arrives too late);
- ``domestic share`` / ``vendor cap`` — the policy is met with no room to spare;
- ``cheaper to rent`` — none of those: the penalty costs less than the cards would.

Several may bind at once; all are named, in that order.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

#: Tolerance of "met with no room to spare" for shares (fractions).
SHARE_TOL = 1e-6


def _finite(value: Any) -> bool:
    return value is not None and isinstance(value, (int, float)) and math.isfinite(value)


def usage_table(data: Any, plan: Any) -> pd.DataFrame:
    """Power and budget use per period against the caps.

    Columns: ``power_mw`` used by the cards in use (incl. PUE) and ``power_cap_mw``,
    ``capex`` (nominal USD) and ``budget``, and ``binding`` (the caps that bind: a list of
    ``power cap`` / ``budget``). Caps are NaN in periods without one.
    """
    labels = list(data.labels)
    pt = data.period_table
    watts = data.skus["watts"].astype(float)
    pue = pt["pue"].to_numpy(dtype=float)
    power = np.zeros(len(labels))
    alloc = plan.allocation
    t_of = {p: t for t, p in enumerate(labels)}
    if len(alloc):
        t = alloc["period"].map(t_of).to_numpy()
        w = alloc["sku"].map(watts).fillna(0.0).to_numpy(dtype=float)
        np.add.at(power, t, alloc["units"].to_numpy(dtype=float) * w)
    power = power * pue / 1e6
    capex = np.zeros(len(labels))
    if len(plan.purchases):
        np.add.at(capex, plan.purchases["period"].map(t_of).to_numpy(),
                  plan.purchases["spend"].to_numpy(dtype=float))
    cap = pt["power_mw"].to_numpy(dtype=float)
    budget = pt["budget"].to_numpy(dtype=float)
    binding = [_binding_caps(data, t, power[t], capex[t]) for t in range(len(labels))]
    return pd.DataFrame({
        "period": labels, "power_mw": power, "power_cap_mw": cap, "capex": capex,
        "budget": budget, "binding": binding})


def _buyable(data: Any, t: int) -> list[str]:
    """SKUs with a price and supply in period ``t``."""
    price = data.price.iloc[t]
    supply = data.supply.iloc[t]
    return [k for k in data.skus.index
            if _finite(float(price.get(k, math.nan))) and float(supply.get(k, 0.0)) > 0]


def _binding_caps(data: Any, t: int, power_mw: float, capex: float) -> list[str]:
    out = []
    pt = data.period_table
    cap = float(pt["power_mw"].iloc[t])
    if math.isfinite(cap):
        pue = float(pt["pue"].iloc[t])
        card = (data.skus["watts"].astype(float) * pue / 1e6)
        card = card[card > 0]
        smallest = float(card.min()) if len(card) else 0.0
        if power_mw > cap - smallest + 1e-12:
            out.append("power cap")
    budget = float(pt["budget"].iloc[t])
    if math.isfinite(budget):
        price = data.price.iloc[t]
        servers = [float(price[k]) * float(data.skus.at[k, "server"]) for k in _buyable(data, t)]
        cheapest = min(servers, default=math.inf)
        if math.isfinite(cheapest) and budget - capex < cheapest - 1e-6:
            out.append("budget")
    return out


def shortfall_binding(data: Any, plan: Any, usage: pd.DataFrame | None = None
                      ) -> dict[tuple[str, str], list[str]]:
    """``{(period, workload): [cause, ...]}`` for every shortfall of the plan (module doc).

    ``usage`` is :func:`usage_table`'s frame (its ``binding`` as lists or ``; `` text).
    """
    usage = usage_table(data, plan) if usage is None else usage
    usage = usage.assign(binding=[b if isinstance(b, list) else [c for c in str(b).split("; ")
                                                                 if c]
                                  for b in usage["binding"]])
    labels = list(data.labels)
    t_of = {p: t for t, p in enumerate(labels)}
    bought = (plan.purchases.groupby(["sku", "period"])["units"].sum() if len(plan.purchases)
              else pd.Series(dtype=float))
    shares = {r["period"]: r for r in plan.shares.to_dict("records")}
    required = data.period_table["share"].to_numpy(dtype=float)
    out: dict[tuple[str, str], list[str]] = {}
    delivered = plan.delivered
    short = delivered[delivered["shortfall"] > 1e-9] if len(delivered) else delivered
    for row in short.itertuples(index=False):
        t = t_of[row.period]
        causes = ["power cap"] if "power cap" in usage["binding"].iloc[t] else []
        budget_before = [labels[tau] for tau in range(t + 1)
                         if "budget" in usage["binding"].iloc[tau]]
        if budget_before:
            causes.append("budget" if budget_before[-1] == row.period
                          else f"budget ({', '.join(budget_before[-3:])})")
        serving = [k for (k, w), c in data.cap.items() if w == row.workload and c > 0]
        # a card bought in tau serves from tau + lead: only earlier purchases could help
        buyable = {k: [tau for tau in range(t + 1 - int(data.skus.at[k, "lead"]))
                       if k in _buyable(data, tau)] for k in serving}
        buyable = {k: ts for k, ts in buyable.items() if ts}
        if not buyable:
            causes.append("no buyable SKU")
        elif all(_bought_up(data, bought, k, ts) for k, ts in buyable.items()):
            causes.append("supply (" + ", ".join(sorted(buyable)) + ")")
        s = shares.get(row.period)
        if s and s["vendors"] and required[t] > 0 and s["domestic"] <= required[t] + SHARE_TOL:
            causes.append("domestic share")
        cap = data.vendor_cap
        if s and s["vendors"] and cap is not None and \
                max(s["vendors"].values()) >= cap - SHARE_TOL:
            causes.append("vendor cap")
        out[(row.period, row.workload)] = causes or ["cheaper to rent"]
    return out


def _bought_up(data: Any, bought: pd.Series, sku: str, periods: list[int]) -> bool:
    """Every buyable period's supply of ``sku`` is bought (to the last whole server)."""
    server = float(data.skus.at[sku, "server"])
    for tau in periods:
        supply = float(data.supply.iloc[tau][sku])
        if not math.isfinite(supply):
            return False
        limit = math.floor(supply / server + 1e-9) * server
        got = float(bought.get((sku, data.labels[tau]), 0.0))
        if got < limit - 1e-6:
            return False
    return True


__all__ = ["shortfall_binding", "usage_table"]
