"""Shadow prices and break-even prices of a solved plan (``plan(..., sensitivity=True)``).

Every figure is the change of the plan's **discounted** cost (the objective, USD at the
horizon start) per unit increase of an input, read from an LP derived from the plan
(:mod:`chipmix.planner.lp`):

============== ================================ ==========================================
figure         LP                               formula
============== ================================ ==========================================
demand         operations (integers fixed)      dual of ``demand[w,t]`` (≥ row: ≥ 0)
domestic_share operations; purchase LP on the   ``y · Σ weight·x / 100`` (see below)
               spend basis
vendor_cap     as domestic_share                ``y · Σ weight·x / 100``
budget         purchase (porting fixed)         dual of ``budget[t]`` (≤ row: ≤ 0)
power          operations                       ``10⁶ ·`` dual of ``power[t]`` (≤ 0)
supply         purchase                         reduced cost of ``n[k,t]`` at its supply
                                                bound ÷ server size (≤ 0), else 0
break_even     purchase                         reduced costs (not bought), price bisection
                                                (bought)
============== ================================ ==========================================

The share row is written ``g(x, s) = Σ (1[k∈D] − s)·weight·x ≥ 0``. Raising the share ``s``
by ``ds`` changes the row by ``∂g/∂s·ds = −Σ weight·x·ds``, i.e. it is the same as raising the
row's right-hand side by ``Σ weight·x·ds``; with the row's dual ``y = ∂cost/∂rhs`` the cost
of one more percentage point is ``y · Σ weight·x* · 0.01`` (``x*`` the LP's optimum).
The vendor cap row ``Σ (1[k of v] − c)·weight·x ≤ 0`` gives the same form with ``y ≤ 0``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from chipmix.errors import ChipmixError
from chipmix.numbers import json_number
from chipmix.pipeline.run import Run
from chipmix.planner.lp import block_rows, insight_lp
from chipmix.solve.lp import LPSession, LPSolution, solve_lp

NOTE = (
    "Marginal figures that hold for this fixed integer plan and small changes only. "
    "demand, domestic_share, vendor_cap and power: duals of the LP with every integer decision "
    "(servers bought, porting) fixed at the plan's values; budget, supply and break_even: the LP "
    "with porting fixed and servers continuous. usd_per_* = change of the plan's discounted cost "
    "(USD at the horizon start) per unit increase of the input; negative = saves money. Divide by "
    "the period's discount factor for money of that period."
)

#: a bought SKU whose price can rise beyond this factor without changing the mix is reported
#: with ``break_even_price: null`` ("at least 10×").
MAX_PRICE_FACTOR = 10.0
_BISECTION_STEPS = 40


def compute_sensitivity(run: Run) -> dict[str, Any]:
    """Shadow prices and break-even prices of a solved run (shape in docs/insight.md).

    The LPs are derived from the run's model, index and solution; its options' ``relax``
    decides which (a relaxed plan has no integer decision to fix).
    """
    data, model, index, result = run.data, run.model, run.index, run.result
    if result is None or result.x is None:
        return {}
    relax = run.options.relax
    try:
        ops_model = insight_lp(model, data, index, result.x, fix_purchases=True, relax=relax)
        ops = solve_lp(ops_model)
        pur_model = ops_model if relax else insight_lp(model, data, index, result.x,
                                                       fix_purchases=False)
        pur = ops if relax else solve_lp(pur_model)
        # the share rows of the spend basis hold only purchases: price them on the purchase LP
        share_lp = pur if data.share_basis == "spend" else ops
        out: dict[str, Any] = {
            "note": NOTE,
            "discount_factors": [
                {"period": p, "factor": json_number(d)}
                for p, d in zip(data.labels, data.period_table["discount"], strict=True)
            ],
            "demand": _demand(model, ops),
            "domestic_share": _share_rows(model, data, index, share_lp, "domestic_share"),
            "vendor_cap": _share_rows(model, data, index, share_lp, "vendor_cap"),
            "budget": _per_period(model, pur, "budget", "usd_per_usd", 1.0),
            "power": _per_period(model, ops, "power", "usd_per_mw", 1e6),
            "supply": _supply(data, index, pur),
            "break_even": break_even(data, model, index, result.x, pur_model, pur, relax),
        }
    except ChipmixError as exc:
        return {"note": NOTE, "error": str(exc)}
    return out


# -- shadow prices -------------------------------------------------------------------------------


def _demand(model, lp: LPSolution) -> list[dict[str, Any]]:
    block = model.row_blocks.get("demand")
    if block is None:
        return []
    duals = lp.row_duals[block.start : block.stop]
    return [
        {"workload": w, "period": p, "usd_per_unit": json_number(y)}
        for (w, p), y in zip(block.keys, duals, strict=True)
    ]


def _per_period(model, lp: LPSolution, name: str, key: str, scale: float) -> list[dict[str, Any]]:
    block = model.row_blocks.get(name)
    if block is None:
        return []
    duals = lp.row_duals[block.start : block.stop]
    return [{"period": k[0], key: json_number(scale * y)} for k, y in zip(block.keys, duals, strict=True)]


def basis_amounts(data, index, x: np.ndarray) -> pd.DataFrame:
    """Per (t, sku): the amount in the share basis (bf16 TFLOPS in use, units in use, or spend)."""
    if data.share_basis == "spend":
        frame = index.buy
        weight = frame["price"].to_numpy(dtype=float) * frame["server"].to_numpy(dtype=float)
    else:
        frame = index.use
        if data.share_basis == "compute":
            weight = frame["sku"].map(data.skus["weight"]).to_numpy(dtype=float)
        else:
            weight = np.ones(len(frame))
    amount = weight * x[frame["col"].to_numpy(dtype=np.int64)] if len(frame) else np.zeros(0)
    return pd.DataFrame({"t": frame["t"].to_numpy(), "sku": frame["sku"].to_numpy(),
                         "amount": amount})


def _share_rows(model, data, index, lp: LPSolution, name: str) -> list[dict[str, Any]]:
    """USD per percentage point of a share row: ``y · Σ weight·x* / 100`` (module docstring)."""
    block = model.row_blocks.get(name)
    if block is None:
        return []
    amounts = basis_amounts(data, index, lp.x)
    total = amounts.groupby("t")["amount"].sum()
    t_of = {p: t for t, p in enumerate(data.labels)}
    duals = lp.row_duals[block.start : block.stop]
    rows = []
    for key, y in zip(block.keys, duals, strict=True):
        period = key[-1]
        value = y * float(total.get(t_of[period], 0.0)) / 100.0
        row = {"period": period, "usd_per_point": json_number(value)}
        if name == "vendor_cap":
            row = {"period": period, "vendor": key[0], "usd_per_point": json_number(value)}
        rows.append(row)
    if name == "vendor_cap":
        rows.sort(key=lambda r: (t_of[r["period"]], r["vendor"]))
    return rows


def _supply(data, index, lp: LPSolution) -> list[dict[str, Any]]:
    """Reduced cost of each purchase column at its supply bound, per unit (0 where not binding).

    In the insight LPs a purchase column's upper bound is ``floor(supply/server)`` (the
    builder's other bounds are dropped, :func:`chipmix.planner.lp.insight_lp`).
    """
    buy = index.buy
    rows = []
    for sku, t, col, server, supply in zip(
        buy["sku"], buy["t"], buy["col"], buy["server"], buy["supply"], strict=True
    ):
        bound = math.floor(supply / server) if math.isfinite(supply) else math.inf
        binding = math.isfinite(bound) and lp.x[col] >= bound - 1e-6
        value = min(0.0, lp.col_duals[col]) / server if binding else 0.0
        rows.append({"sku": sku, "period": data.labels[int(t)], "usd_per_unit": json_number(value)})
    return rows


# -- break-even prices ---------------------------------------------------------------------------


class _PriceColumns:
    """Prices the purchase columns of an LP from its duals.

    A purchase column's entries split into those that scale with the unit price (its cost,
    the budget row and, on the spend basis, the share rows) and its allocation entries
    (``−server`` in every period the units are in service). With the price scaled by ``f`` its
    reduced cost is ``d(f) = f·P − Q``: ``P`` = cost minus the price rows' dual terms, ``Q`` =
    ``server · Σ_t value[k,t]``, where ``value[k,t]`` is what one more unit of ``k`` in service
    in ``t`` earns at the LP's duals: the best, over the workloads it may serve, of
    ``Σ_rows a·y − cost`` of its use column (demand, share, vendor-cap and power rows), and 0
    if no use pays. That is the allocation row's dual where the SKU is in use; where it is
    not (no purchase, the row ``use − buy ≤ 0`` degenerate at ``0 ≤ 0``) the solver's dual of
    that row is arbitrary within its range and would misprice the SKU, so the value is
    recomputed from the use columns.
    """

    def __init__(self, data, model, y: np.ndarray, relax: bool = False) -> None:
        a = model.arrays()
        self.y = y
        self.start, self.index, self.value = a["csc_start"], a["csc_index"], a["csc_value"]
        self.r_start, self.r_index, self.r_value = a["csr_start"], a["csr_index"], a["csr_value"]
        self.cost = a["cost"]
        n = model.num_rows
        price_rows = np.zeros(n, dtype=bool)
        names = ["budget"]
        if data.share_basis == "spend":
            names += ["domestic_share", "vendor_cap"]
        for name in names:
            price_rows[block_rows(model, name)] = True
        self.price_rows = price_rows
        self.alloc_rows = np.zeros(n, dtype=bool)
        self.alloc_rows[block_rows(model, "allocation")] = True
        # porting rows still in force (porting fixed at 0): the use column is forbidden
        self.closed_rows = np.zeros(n, dtype=bool)
        if not relax:
            port = block_rows(model, "porting")
            self.closed_rows[port] = np.isfinite(a["row_upper"][port])
        self._unit_value: dict[int, float] = {}

    def entries(self, col: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(rows, values, is_price_row) of one column."""
        s, e = self.start[col], self.start[col + 1]
        rows = self.index[s:e]
        return rows, self.value[s:e], self.price_rows[rows]

    def unit_value(self, row: int) -> float:
        """What one more unit in service earns in allocation row ``row`` (≥ 0)."""
        if row not in self._unit_value:
            best = 0.0
            s, e = self.r_start[row], self.r_start[row + 1]
            for col, coef in zip(self.r_index[s:e], self.r_value[s:e], strict=True):
                if coef <= 0:  # the purchase columns (−server); use columns have +1
                    continue
                rows, vals, _ = self.entries(int(col))
                if self.closed_rows[rows].any():
                    continue
                other = ~self.alloc_rows[rows]
                best = max(best, float(np.dot(vals[other], self.y[rows[other]])) - self.cost[col])
            self._unit_value[row] = best
        return self._unit_value[row]

    def split(self, col: int) -> tuple[float, float]:
        """``(P, Q)`` with reduced cost ``d(f) = f·P − Q`` when the price is scaled by ``f``."""
        rows, vals, is_price = self.entries(col)
        y = self.y
        p = self.cost[col] - float(np.dot(vals[is_price], y[rows[is_price]]))
        alloc = self.alloc_rows[rows]
        other = ~is_price & ~alloc
        q = float(np.dot(vals[other], y[rows[other]]))
        q += sum(-v * self.unit_value(int(r)) for r, v in zip(rows[alloc], vals[alloc],
                                                             strict=True))
        return p, q


def _entry_factor(cols: np.ndarray, prices: _PriceColumns) -> tuple[float, int]:
    """The largest price factor at which one of ``cols`` pays, and its column.

    That is, at which its reduced cost is negative; ``(nan, -1)`` when no positive price makes
    any of them worth buying.
    """
    best, best_col = math.nan, -1
    for col in cols:
        p, q = prices.split(int(col))
        if p > 1e-12 and q > 1e-12:
            f = q / p
            if math.isnan(best) or f > best:
                best, best_col = f, int(col)
    return best, best_col


def break_even(data, model, index, x_plan, pur_model, pur: LPSolution, relax: bool = False
               ) -> list[dict[str, Any]]:
    """Per purchasable SKU.

    The unit price at which it would enter the mix (not bought) or the price up to which the
    mix keeps it (bought). See docs/insight.md for the method.
    """
    buy = index.buy
    if not len(buy):
        return []
    servers = x_plan[buy["col"].to_numpy()]
    servers = servers if relax else np.round(servers)
    buy = buy.assign(planned=servers)
    labels = data.labels
    prices = _PriceColumns(data, pur_model, pur.row_duals, relax)
    rows = []
    session = None
    ported_variants: dict[str, tuple] = {}
    for sku, group in buy.groupby("sku", sort=True):
        cols = group["col"].to_numpy(dtype=np.int64)
        bought = bool((group["planned"] > 1e-9).any())
        lp_units = float((pur.x[cols] * group["server"].to_numpy()).sum())
        if not bought:
            f, col = _entry_factor(cols, prices)
            note = ""
            if math.isnan(f):
                vendor = data.skus.at[sku, "vendor"]
                variant = ported_variants.get(vendor)
                if variant is None:
                    variant = _ported_variant(data, pur_model, index, vendor, x_plan)
                    ported_variants[vendor] = variant
                sol, variant_model, workloads = variant
                if sol is not None:
                    f, col = _entry_factor(cols, _PriceColumns(data, variant_model,
                                                                sol.row_duals))
                    if not math.isnan(f):
                        note = (f"only once {vendor} is ported for {', '.join(workloads)} "
                                "(its one-off porting cost is not recovered at this price)")
            row = {"sku": sku, "bought": False}
            if math.isnan(f):
                t = int(group["t"].iloc[0])
                row.update(period=labels[t], unit_price=json_number(group["price"].iloc[0]),
                           break_even_price=None, change=None,
                           note=note or "no positive price makes it worth buying in this plan "
                                        "(it adds nothing the plan can use)")
            else:
                g = group[group["col"] == col].iloc[0]
                row.update(period=labels[int(g["t"])], unit_price=json_number(g["price"]),
                           break_even_price=json_number(f * g["price"]), change=json_number(f - 1.0),
                           note=note or ("competitive at the margin already: the LP with "
                                         f"continuous servers buys {lp_units:,.1f} units; whole "
                                         "servers keep it out" if lp_units > 1e-6 else ""))
            rows.append(row)
            continue
        if session is None:
            session = LPSession(pur_model)
        headroom = _price_headroom(session, prices, group, pur)
        first = group[group["planned"] > 1e-9].iloc[0]
        row = {"sku": sku, "bought": True, "period": labels[int(first["t"])],
               "unit_price": json_number(first["price"])}
        if headroom is None:
            row.update(break_even_price=None, change=None,
                       note=f"the mix keeps it at {MAX_PRICE_FACTOR:g}× its price")
        elif lp_units <= 1e-6:
            row.update(break_even_price=json_number(first["price"]), change=0.0,
                       note="bought only to round out whole servers: the LP with continuous "
                            "servers buys none, so any price rise may drop it")
        else:
            row.update(break_even_price=json_number(headroom * first["price"]),
                       change=json_number(headroom - 1.0), note="")
        rows.append(row)
    return rows


def _ported_variant(data, pur_model, index, vendor, x_plan):
    """The purchase LP with ``vendor``'s unported workloads ported (porting fixed at 1).

    Returns ``(solution, model, workloads)``; ``(None, None, [])`` when there is nothing to port.
    """
    port = index.port
    if not len(port):
        return None, None, []
    mine = port[(port["vendor"] == vendor).to_numpy()]
    mine = mine[np.round(x_plan[mine["col"].to_numpy(dtype=np.int64)]) < 1]
    if not len(mine):
        return None, None, []
    cols = mine["col"].to_numpy(dtype=np.int64)
    a = pur_model.arrays()
    lower, upper = a["col_lower"].copy(), a["col_upper"].copy()
    lower[cols] = 1.0
    upper[cols] = 1.0
    row_upper = a["row_upper"].copy()
    block = pur_model.row_blocks.get("porting")
    if block is not None:  # once ported, use ≤ M·1 only restates bounds already implied
        newly = set(mine["workload"])
        skus_vendor = data.skus["vendor"]
        hit = np.array([skus_vendor[k[0]] == vendor and k[1] in newly for k in block.keys],
                       dtype=bool)
        row_upper[np.arange(block.start, block.stop)[hit]] = np.inf
    variant = pur_model.with_arrays(col_lower=lower, col_upper=upper, row_upper=row_upper)
    try:
        return solve_lp(variant), variant, list(mine["workload"])
    except ChipmixError:
        return None, None, []


def _spend(lp_x: np.ndarray, group: pd.DataFrame) -> float:
    cols = group["col"].to_numpy(dtype=np.int64)
    return float((lp_x[cols] * group["server"].to_numpy() * group["price"].to_numpy()).sum())


def _price_headroom(session: LPSession, prices: _PriceColumns, group: pd.DataFrame,
                    base: LPSolution) -> float | None:
    """Largest factor on the SKU's prices (all periods) before the purchase LP buys less of it.

    Bisection on the purchase LP: the SKU's spend at its current prices is non-increasing in
    the factor (the LP's optimal cost is concave in it). None when even
    :data:`MAX_PRICE_FACTOR` does not change it.
    """
    cols = group["col"].to_numpy(dtype=np.int64)
    spend0 = _spend(base.x, group)
    if spend0 <= 1e-6:
        return 1.0
    tol = 1e-7 * spend0 + 1e-6
    entries = [prices.entries(int(c)) for c in cols]

    def scaled(f: float) -> float:
        session.set_costs(cols, f * prices.cost[cols])
        for col, (rows, vals, is_price) in zip(cols, entries, strict=True):
            for r, v in zip(rows[is_price], vals[is_price], strict=True):
                session.set_coefficient(int(r), int(col), f * v)
        return _spend(session.solve().x, group)

    try:
        if scaled(MAX_PRICE_FACTOR) >= spend0 - tol:
            return None
        lo, hi = 1.0, MAX_PRICE_FACTOR
        for _ in range(_BISECTION_STEPS):
            mid = 0.5 * (lo + hi)
            if scaled(mid) >= spend0 - tol:
                lo = mid
            else:
                hi = mid
            if hi - lo <= 1e-7 * hi:
                break
        return lo
    finally:
        scaled(1.0)


__all__ = ["MAX_PRICE_FACTOR", "NOTE", "basis_amounts", "break_even", "compute_sensitivity"]
