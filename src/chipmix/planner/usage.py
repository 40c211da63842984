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
    buyable = buyable_matrix(data)
    binding = [_binding_caps(data, t, power[t], capex[t], buyable) for t in range(len(labels))]
    return pd.DataFrame({
        "period": labels, "power_mw": power, "power_cap_mw": cap, "capex": capex,
        "budget": budget, "binding": binding})


def buyable_matrix(data: Any) -> np.ndarray:
    """T × K booleans (SKUs in ``data.skus`` order): a price and supply in the period.

    A SKU missing from ``data.price`` has no price; missing from ``data.supply``, no supply.
    """
    skus = data.skus.index
    price = data.price.reindex(columns=skus).to_numpy(dtype=float)
    supply = data.supply.reindex(columns=skus).to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        return np.isfinite(price) & (supply > 0)


def _binding_caps(data: Any, t: int, power_mw: float, capex: float,
                  buyable: np.ndarray | None = None) -> list[str]:
    """The caps that bind in period ``t`` (``buyable``: :func:`buyable_matrix`, if made)."""
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
        can = (buyable_matrix(data) if buyable is None else buyable)[t]
        price = data.price.reindex(columns=data.skus.index).to_numpy(dtype=float)[t]
        server = data.skus["server"].to_numpy(dtype=float)
        cheapest = float((price[can] * server[can]).min()) if can.any() else math.inf
        if math.isfinite(cheapest) and budget - capex < cheapest - 1e-6:
            out.append("budget")
    return out


def shortfall_binding(data: Any, plan: Any, usage: pd.DataFrame | None = None
                      ) -> dict[tuple[str, str], list[str]]:
    """``{(period, workload): [cause, ...]}`` for every shortfall of the plan (module doc).

    ``usage`` is :func:`usage_table`'s frame (its ``binding`` as lists or ``; `` text).
    """
    usage = usage_table(data, plan) if usage is None else usage
    binding = [b if isinstance(b, list) else [c for c in str(b).split("; ") if c]
               for b in usage["binding"]]
    labels = list(data.labels)
    t_of = {p: t for t, p in enumerate(labels)}
    delivered = plan.delivered
    short = delivered[delivered["shortfall"] > 1e-9] if len(delivered) else delivered
    if not len(short):
        return {}
    buyable = buyable_matrix(data)  # T × K
    up = _bought_up_matrix(data, plan)  # T × K
    skus = data.skus.index
    k_of = {k: i for i, k in enumerate(skus)}
    lead = data.skus["lead"].to_numpy(dtype=np.int64)
    serving: dict[str, list[int]] = {}
    for (k, w), c in data.cap.items():
        if c > 0:
            serving.setdefault(w, []).append(k_of[k])
    shares = {str(r["period"]): r for r in plan.shares.to_dict("records")}
    required = data.period_table["share"].to_numpy(dtype=float)
    out: dict[tuple[str, str], list[str]] = {}
    for row in short.itertuples(index=False):
        period = str(row.period)
        t = t_of[period]
        causes = ["power cap"] if "power cap" in binding[t] else []
        budget_before = [labels[tau] for tau in range(t + 1) if "budget" in binding[tau]]
        if budget_before:
            causes.append("budget" if budget_before[-1] == period
                          else f"budget ({', '.join(budget_before[-3:])})")
        # a card bought in tau serves from tau + lead: only earlier purchases could help
        # (the SKUs buyable in some such tau, and whether each bought up all of them)
        buyable_up: dict[str, bool] = {}
        for k_i in serving.get(row.workload, []):
            window = slice(0, max(t + 1 - int(lead[k_i]), 0))
            can = buyable[window, k_i]
            if can.any():
                buyable_up[str(skus[k_i])] = bool(up[window, k_i][can].all())
        if not buyable_up:
            causes.append("no buyable SKU")
        elif all(buyable_up.values()):
            causes.append("supply (" + ", ".join(sorted(buyable_up)) + ")")
        s = shares.get(period)
        if s and s["vendors"] and required[t] > 0 and s["domestic"] <= required[t] + SHARE_TOL:
            causes.append("domestic share")
        cap = data.vendor_cap
        if s and s["vendors"] and cap is not None and \
                max(s["vendors"].values()) >= cap - SHARE_TOL:
            causes.append("vendor cap")
        out[(period, row.workload)] = causes or ["cheaper to rent"]
    return out


def _bought_up_matrix(data: Any, plan: Any) -> np.ndarray:
    """T × K: the period's supply of the SKU is bought (to the last whole server).

    False where the supply is unlimited (nothing can be bought up).
    """
    skus = data.skus.index
    supply = data.supply.reindex(columns=skus).to_numpy(dtype=float)
    got = np.zeros_like(supply)
    purchases = plan.purchases
    if len(purchases):
        bought = pd.DataFrame({"sku": purchases["sku"].astype(str).to_numpy(),
                               "period": purchases["period"].astype(str).to_numpy(),
                               "units": purchases["units"].to_numpy()})
        bought = bought.groupby(["sku", "period"])["units"].sum()
        k_of = {k: i for i, k in enumerate(skus)}
        t_of = {p: t for t, p in enumerate(data.labels)}
        for (k, p), units in bought.items():
            if k in k_of and p in t_of:
                got[t_of[p], k_of[k]] = float(units)
    server = data.skus["server"].to_numpy(dtype=float)[None, :]
    with np.errstate(invalid="ignore"):
        limit = np.floor(supply / server + 1e-9) * server
        return np.isfinite(supply) & ~(got < limit - 1e-6)


__all__ = ["shortfall_binding", "usage_table"]
