"""Shadow prices, their ranges, whole-step costs and break-even prices.

Shadow prices, their ranges, whole-step costs and break-even prices of a solved plan (``plan(...,
sensitivity=True)``).

Every figure is the change of the plan's **discounted** cost (the objective, USD at the
horizon start) per unit increase of an input, read from an LP derived from the plan
(:mod:`chipmix.planner.lp`):

============== ================================ ==========================================
figure         LP                               formula
============== ================================ ==========================================
demand         operations (integers fixed)      dual of ``demand[w,t]`` (an equality: any
                                                sign, see docs/insight.md)
domestic_share operations; the purchase LP when ``y · Σ weight·x / 100`` (see below)
               the share measures purchases or
               the fleet
vendor_cap     as domestic_share                ``y · Σ weight·x / 100``
pools          purchase (porting fixed)         dual of ``pools[v,t]`` (≤ row: ≤ 0)
budget         purchase (porting fixed)         dual of ``budget[t]`` (≤ row: ≤ 0)
power          operations                       ``10⁶ ·`` dual of ``power[t]`` (≤ 0)
supply         purchase                         reduced cost of ``n[k,t]`` at its supply
                                                bound ÷ server size (≤ 0), else 0
break_even     purchase                         parametric re-solves (see break_even)
============== ================================ ==========================================

Beside every dual: ``range_low`` / ``range_high``, the interval of the input (in its own
units) over which that dual holds (HiGHS ranging of the same LP), and the **whole step**:
``step`` (one metric unit of demand, one share point, one server of supply or of a pool, one
MW, one server's price of budget) and ``step_usd``, the change of the optimal cost when the
input rises by the step and everything — whole servers and porting included — is re-planned
(the model re-built and re-solved with HiGHS to a relative gap of :data:`STEP_GAP`, on the
executor of :mod:`chipmix.pipeline.executor`). ``holds_for_step`` is the fraction of the step
the dual's range covers; below :data:`SLIVER` the row's ``note`` says the dual holds for a
sliver only.

The share row is written ``g(x, s) = Σ (1[k∈D] − s)·weight·x ≥ 0``. Raising the share ``s``
by ``ds`` changes the row by ``∂g/∂s·ds = −Σ weight·x·ds``, i.e. it is the same as raising the
row's right-hand side by ``Σ weight·x·ds``; with the row's dual ``y = ∂cost/∂rhs`` the cost
of one more percentage point is ``y · Σ weight·x* · 0.01`` (``x*`` the LP's optimum; on the
fleet the inventory counts in ``x``). The range of the right-hand side maps to points the
same way (first order: ``Σ weight·x`` itself moves within the range).
The vendor cap row ``Σ (1[k of v] − c)·weight·x ≤ 0`` gives the same form with ``y ≤ 0``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from typing import Any

import numpy as np
import pandas as pd

from chipmix.errors import ChipmixError
from chipmix.inputs.solver import SolverOptions
from chipmix.model.variables import service_window
from chipmix.numbers import json_number
from chipmix.pipeline.executor import run_map
from chipmix.pipeline.run import Run
from chipmix.planner.lp import block_rows, insight_lp
from chipmix.solve.lp import LPSession, LPSolution, solve_lp

NOTE = (
    "Marginal figures (usd_per_*) hold for this fixed integer plan and only within "
    "range_low..range_high of the input; step_usd is what a whole step of the input really "
    "costs, re-planned (servers and porting re-optimised). demand, domestic_share, vendor_cap "
    "and power: duals of the LP with every integer decision (servers bought, porting) fixed at "
    "the plan's values; pools, budget, supply and break_even: the LP with porting fixed and "
    "servers continuous. usd_per_* = change of the plan's discounted cost (USD at the horizon "
    "start) per unit increase of the input; negative = saves money. Divide by the period's "
    "discount factor for money of that period."
)

#: a bought SKU whose price can rise beyond this factor without changing the mix is reported
#: with ``break_even_price: null`` ("at least 10×").
MAX_PRICE_FACTOR = 10.0
_BISECTION_STEPS = 40
#: relative MIP gap of the whole-step re-solves (and of the base they are compared with)
STEP_GAP = 1e-9
#: a dual whose range covers less than this fraction of its step holds for a sliver only
SLIVER = 0.1


#: below this magnitude (USD) an LP figure is the solver's tolerance, not a price: 0
NOISE = 1e-7


def _num(v: Any) -> float | None:
    """A figure for the JSON (:func:`chipmix.numbers.json_number`), LP noise as 0."""
    if v is None:
        return None
    v = float(v)
    return json_number(0.0 if abs(v) < NOISE else v)


def compute_sensitivity(run: Run, *, steps: bool = True, workers: int | None = 1,
                        dask: Any = None) -> dict[str, Any]:
    """The sensitivity figures of a solved run.

    Shadow prices with their ranges, whole-step costs and break-even prices of a solved run (shape
    in docs/insight.md).

    The LPs are derived from the run's model, index and solution; its options' ``relax``
    decides which (a relaxed plan has no integer decision to fix). ``steps`` re-plans a whole
    step of every input (``step_usd``; without, only the marginal figures and their ranges),
    on ``workers`` processes or ``dask`` (:func:`chipmix.pipeline.executor.run_map`).
    """
    data, model, index, result = run.data, run.model, run.index, run.result
    if result is None or result.x is None:
        return {}
    options = run.options
    relax = bool(options.relax)
    try:
        ops_model = insight_lp(model, data, index, result.x, fix_purchases=True, relax=relax)
        ops = solve_lp(ops_model, ranging=True)
        pur_model = ops_model if relax else insight_lp(model, data, index, result.x,
                                                       fix_purchases=False)
        pur = ops if relax else solve_lp(pur_model, ranging=True)
        # share rows that hold only purchases (on purchases, or the fleet) cannot move with the
        # purchases fixed: price them on the purchase LP
        share_lp = pur if data.share_measure != "use" else ops
        out: dict[str, Any] = {
            "note": NOTE,
            "discount_factors": [
                {"period": p, "factor": _num(d)}
                for p, d in zip(data.labels, data.period_table["discount"], strict=True)
            ],
            "demand": _demand(data, model, ops),
            "domestic_share": _share_rows(model, data, index, share_lp, "domestic_share"),
            "share_floors": _floor_rows(model, data, index, ops, pur),
            "vendor_cap": _share_rows(model, data, index, share_lp, "vendor_cap"),
            "pools": _pools(data, model, index, pur),
            "budget": _budget(data, model, index, pur),
            "power": _power(data, model, ops),
            "supply": _supply(data, index, pur),
        }
        if steps:
            _add_steps(out, data, model, index, result, options, workers=workers, dask=dask)
        _notes(out)
        out["break_even"] = break_even(data, model, index, result.x, pur_model, pur, relax)
    except ChipmixError as exc:
        return {"note": NOTE, "error": str(exc)}
    return out


# -- shadow prices and their ranges ----------------------------------------------------------


def _clean(v: float) -> float | None:
    """A range end for JSON: None for ±inf."""
    return None if v is None or not math.isfinite(v) else _num(v)


def _ranged(value: float, lo: float, hi: float) -> dict[str, Any]:
    """``value`` and the range ``[lo, hi]`` of the input (its units) over which the dual holds."""
    lo = min(lo, value) if math.isfinite(lo) else lo
    hi = max(hi, value) if math.isfinite(hi) else hi
    return {"value": _num(value), "range_low": _clean(lo), "range_high": _clean(hi)}


def _row_range(lp: LPSolution, row: int) -> tuple[float, float]:
    if lp.row_range is None:
        return math.nan, math.nan
    return float(lp.row_range[0][row]), float(lp.row_range[1][row])


def _rhs_rows(model, lp: LPSolution, name: str, key_names: tuple[str, ...], field: str,
              value_of, scale: float = 1.0) -> list[dict[str, Any]]:
    """One figure per row of block ``name``.

    ``scale ·`` its dual and the range of its right-hand side (÷ ``scale``: the input's units) over
    which the dual holds.
    """
    block = model.row_blocks.get(name)
    if block is None:
        return []
    rows = []
    for i, key in enumerate(block.keys):
        r = block.start + i
        lo, hi = _row_range(lp, r)
        rows.append({**dict(zip(key_names, key, strict=True)),
                     field: _num(scale * lp.row_duals[r]),
                     **_ranged(float(value_of(key)), lo / scale, hi / scale)})
    return rows


def _demand(data, model, lp: LPSolution) -> list[dict[str, Any]]:
    return _rhs_rows(model, lp, "demand", ("workload", "period"), "usd_per_unit",
                     lambda k: data.demand.at[k[1], k[0]])


def _budget(data, model, index, lp: LPSolution) -> list[dict[str, Any]]:
    budget = data.period_table["budget"]
    return _rhs_rows(model, lp, "budget", ("period",), "usd_per_usd", lambda k: budget[k[0]])


def _power(data, model, lp: LPSolution) -> list[dict[str, Any]]:
    power = data.period_table["power_mw"]
    return _rhs_rows(model, lp, "power", ("period",), "usd_per_mw", lambda k: power[k[0]],
                     scale=1e6)


def _pools(data, model, index, lp: LPSolution) -> list[dict[str, Any]]:
    return _rhs_rows(model, lp, "pools", ("vendor", "period"), "usd_per_unit",
                     lambda k: data.pools.at[k[1], k[0]])


def measure_totals(data, index, x: np.ndarray, measure: str | None = None,
                   basis: str | None = None) -> np.ndarray:
    """Per period: the total amount a share row measures.

    Per period: the total amount a share row measures (``Σ weight·x`` on the share basis, of use,
    the fleet incl. inventory, or purchases) at solution ``x``.
    """
    T = len(data.periods)
    totals = np.zeros(T)
    amounts = basis_amounts(data, index, x, measure, basis)
    if len(amounts):
        np.add.at(totals, amounts["t"].to_numpy(dtype=np.int64),
                  amounts["amount"].to_numpy(dtype=float))
    return totals


def basis_amounts(data, index, x: np.ndarray, measure: str | None = None,
                  basis: str | None = None) -> pd.DataFrame:
    """Per (t, sku): the amount a share row measures.

    Per (t, sku): the amount a share row measures at solution ``x``: bf16 TFLOPS, units or spend, of
    what ``share_of`` measures (units in use, the fleet with its inventory, or the period's
    purchases). ``measure`` and ``basis`` default to the policy's; a rule floor passes its own.
    """
    measure = measure or data.share_measure
    basis = basis or data.share_basis
    skus = data.skus
    per_unit = (skus["weight"].to_numpy(dtype=float) if basis == "compute"
                else np.ones(len(skus)))
    if measure == "use":
        frame = index.use
        weight = per_unit[frame["k_i"].to_numpy(dtype=np.int64)] if len(frame) else np.zeros(0)
        amount = weight * x[frame["col"].to_numpy(dtype=np.int64)] if len(frame) else weight
        return pd.DataFrame({"t": frame["t"].to_numpy(), "sku": frame["sku"].to_numpy(),
                             "amount": amount})
    buy = index.buy
    k_b = buy["k_i"].to_numpy(dtype=np.int64)
    if basis == "spend":
        per_server = buy["price"].to_numpy(dtype=float) * buy["server"].to_numpy(dtype=float)
    else:
        per_server = per_unit[k_b] * buy["server"].to_numpy(dtype=float)
    servers = x[buy["col"].to_numpy(dtype=np.int64)] if len(buy) else np.zeros(0)
    if measure == "purchases":
        return pd.DataFrame({"t": buy["t"].to_numpy(), "sku": buy["sku"].to_numpy(),
                             "amount": per_server * servers})
    first, last = service_window(data, buy)
    span = last - first
    b = np.repeat(np.arange(len(buy)), span)
    t = first[b] + (np.arange(len(b)) - np.repeat(np.cumsum(span) - span, span))
    T = len(data.periods)
    alive = np.arange(T)[None, :] < skus["retire_t"].to_numpy(dtype=np.int64)[:, None]
    owned = skus["inventory"].to_numpy(dtype=float)[:, None] * per_unit[:, None] * alive
    k_o, t_o = np.nonzero(owned > 0)
    return pd.DataFrame({
        "t": np.concatenate([t, t_o]),
        "sku": np.concatenate([buy["sku"].to_numpy()[b], skus.index.to_numpy()[k_o]]),
        "amount": np.concatenate([(per_server * servers)[b], owned[k_o, t_o]]),
    })


def _share_rows(model, data, index, lp: LPSolution, name: str) -> list[dict[str, Any]]:
    """USD per percentage point of a share row.

    ``y · Σ weight·x* / 100`` (module docstring), with the range of the share (in points) over which
    it holds.
    """
    block = model.row_blocks.get(name)
    if block is None:
        return []
    total = measure_totals(data, index, lp.x)
    t_of = {p: t for t, p in enumerate(data.labels)}
    a = model.arrays()
    share = data.period_table["share"].to_numpy()
    rows = []
    for i, key in enumerate(block.keys):
        r = block.start + i
        period = key[-1]
        t = t_of[period]
        w = float(total[t])
        y = float(lp.row_duals[r])
        level = 100.0 * (share[t] if name == "domestic_share" else float(data.vendor_cap))
        rhs = a["row_lower"][r] if name == "domestic_share" else a["row_upper"][r]
        lo, hi = _row_range(lp, r)
        if w > 1e-12:
            ranged = _ranged(level, level + 100.0 * (lo - rhs) / w, level + 100.0 * (hi - rhs) / w)
        else:
            ranged = {"value": _num(level), "range_low": None, "range_high": None}
        row = {"period": period, "usd_per_point": _num(y * w / 100.0), **ranged}
        if name == "vendor_cap":
            row = {"period": period, "vendor": key[0], **{k: v for k, v in row.items()
                                                          if k != "period"}}
        rows.append(row)
    if name == "vendor_cap":
        rows.sort(key=lambda r: (t_of[r["period"]], r["vendor"]))
    return rows


def _floor_rows(model, data, index, ops: LPSolution, pur: LPSolution) -> list[dict[str, Any]]:
    """USD per percentage point of each rule floor with rows of its own (``share_floor``).

    As :func:`_share_rows`, per (period, of, basis): priced on the operations LP where the
    floor measures use, else on the purchase LP (its rows hold only purchases).
    """
    block = model.row_blocks.get("share_floor")
    if block is None:
        return []
    floors = data.floors
    a = model.arrays()
    t_of = {p: t for t, p in enumerate(data.labels)}
    totals: dict[tuple[str, str], np.ndarray] = {}
    rows = []
    for i, (period, of, basis) in enumerate(block.keys):
        r = block.start + i
        lp = ops if of == "use" else pur
        if (of, basis) not in totals:
            totals[(of, basis)] = measure_totals(data, index, lp.x, of, basis)
        t = t_of[period]
        w = float(totals[(of, basis)][t])
        match = floors[(floors["period"] == period) & (floors["of"] == of)
                       & (floors["basis"] == basis)].iloc[0]
        level = 100.0 * float(match["floor"])
        y = float(lp.row_duals[r])
        lo, hi = _row_range(lp, r)
        rhs = a["row_lower"][r]
        if w > 1e-12:
            ranged = _ranged(level, level + 100.0 * (lo - rhs) / w, level + 100.0 * (hi - rhs) / w)
        else:
            ranged = {"value": _num(level), "range_low": None, "range_high": None}
        rows.append({"period": period, "of": of, "basis": basis, "rules": str(match["rules"]),
                     "usd_per_point": _num(y * w / 100.0), **ranged})
    return rows


def _supply(data, index, lp: LPSolution) -> list[dict[str, Any]]:
    """The value of supply per purchase tranche.

    Reduced cost of each purchase column at its supply bound, per unit (0 where not binding), with
    the range of the supply (cards) over which it holds.

    In the insight LPs a purchase column's upper bound is ``floor(supply/server)`` (the
    builder's other bounds are dropped, :func:`chipmix.planner.lp.insight_lp`).
    """
    buy = index.buy
    rows = []
    for sku, t, start, end, col, server, supply in zip(
        buy["sku"], buy["t"], buy["start"], buy["end"], buy["col"], buy["server"],
        buy["supply"], strict=True
    ):
        bound = math.floor(supply / server + 1e-9) if math.isfinite(supply) else math.inf
        binding = math.isfinite(bound) and lp.x[col] >= bound - 1e-6
        value = min(0.0, lp.col_duals[col]) / server if binding else 0.0
        row = {"sku": sku, "period": data.labels[int(t)], "from": start.isoformat(),
               "until": (end - dt.timedelta(days=1)).isoformat(), "usd_per_unit": _num(value)}
        if lp.col_range is not None and math.isfinite(supply):
            lo, hi = float(lp.col_range[0][col]), float(lp.col_range[1][col])
            if binding:
                # the bound is whole servers; the supply in cards rounds down to it
                extra = supply - bound * server
                row.update(_ranged(float(supply), lo * server + extra, hi * server + extra))
            else:
                row.update(_ranged(float(supply), lp.x[col] * server, math.inf))
        else:
            row.update(value=None, range_low=None, range_high=None)
        rows.append(row)
    return rows


# -- whole steps, re-planned -----------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Step:
    """One whole step of an input.

    ``family`` (as in the sensitivity dict), the row's key, the step's size in the input's units.
    """

    family: str
    key: tuple
    size: float


def stepped_data(data, step: Step):
    """A copy of ``data`` with one input raised by a step.

    A copy of ``data`` with one input raised by ``step.size`` (the model is rebuilt from it, so
    every bound derived from that input follows).
    """
    family, key, size = step.family, step.key, step.size
    if family == "base":
        return data
    if family == "demand":
        w, period = key
        demand = data.demand.copy()
        demand.at[period, w] = demand.at[period, w] + size
        return dataclasses.replace(data, demand=demand)
    if family in ("domestic_share", "budget", "power"):
        column = {"domestic_share": "share", "budget": "budget", "power": "power_mw"}[family]
        table = data.period_table.copy()
        add = size / 100.0 if family == "domestic_share" else size
        table.at[key[0], column] = table.at[key[0], column] + add
        return dataclasses.replace(data, period_table=table)
    if family == "share_floors":
        period, of, basis = key
        floors = data.floors.copy()
        mine = ((floors["period"] == period) & (floors["of"] == of) & (floors["basis"] == basis)
                & ~floors["merged"].astype(bool))
        floors.loc[mine, "floor"] = floors.loc[mine, "floor"] + size / 100.0
        return dataclasses.replace(data, floors=floors)
    if family == "vendor_cap":
        return dataclasses.replace(data, vendor_cap=min(1.0, float(data.vendor_cap) + size / 100))
    if family == "pools":
        v, period = key
        pools = data.pools.copy()
        pools.at[period, v] = pools.at[period, v] + size
        return dataclasses.replace(data, pools=pools)
    if family == "supply":  # one tranche's supply (and the period's total with it)
        sku, period, start = key
        supply = data.supply.copy()
        supply.at[period, sku] = supply.at[period, sku] + size
        tranches = data.tranches
        if tranches is not None and len(tranches):
            tranches = tranches.copy()
            t = data.labels.index(period)
            mine = ((tranches["sku"] == sku) & (tranches["t"] == t)
                    & (tranches["start"].map(lambda d: d.isoformat()) == start)).to_numpy()
            tranches.loc[mine, "supply"] = tranches.loc[mine, "supply"] + size
        return dataclasses.replace(data, supply=supply, tranches=tranches)
    raise ValueError(f"unknown step family {family}")


def solve_step(context, step: Step) -> tuple[str, float | None, float | None]:
    """Re-plan ``context = (data, options)`` with ``step`` applied.

    (status, objective, dual bound). Module level: it runs on the executor's worker processes.
    """
    data, options = context
    result = Run.from_data(stepped_data(data, step), options).solve().result
    if not result.status.has_plan:
        return result.status.value, None, None
    objective = float(result.plan_objective())
    bound = result.bound if result.bound is not None else objective
    return result.status.value, objective, float(bound)


def _step_options(options: SolverOptions) -> SolverOptions:
    """HiGHS at :data:`STEP_GAP`, the plan's time limit, threads and relaxation."""
    return options.with_overrides(name="highs", gap=STEP_GAP)


def _plan_margins(data, model, x: np.ndarray) -> dict[str, np.ndarray]:
    """Row activities of the plan itself.

    Row activities of the plan itself (whole servers), to tell which steps need a re-solve.
    """
    return {"activity": model.activity(x), **model.arrays()}


class _Todo:
    """The rows whose whole step is re-solved, and the figures of those that need none."""

    def __init__(self) -> None:
        self.items: list[tuple[dict[str, Any], Step]] = []

    def add(self, row: dict[str, Any], step: Step, needed: bool, why: str = "") -> None:
        """Give ``row`` its step; queue a re-solve when ``needed``, else 0 (or ``why``)."""
        row["step"] = _num(step.size)
        if needed:
            self.items.append((row, step))
        else:
            row["step_usd"] = 0.0 if not why else None
            row["step_error"] = 0.0 if not why else None
            if why:
                row["step_note"] = why


def _add_steps(out, data, model, index, result, options, *, workers=1, dask=None) -> None:
    """Fill ``step``, ``step_usd``, ``step_error`` and ``holds_for_step`` of every row.

    A tightening step (demand, share) that the plan already absorbs (its share is at least a
    point above the requirement) costs exactly 0: the plan stays feasible and optimal. A
    loosening step (supply, pool, budget, power, vendor cap) is re-solved where its dual is
    not 0 or the plan uses the input to within one step; elsewhere it is reported as not
    re-solved.
    """
    x = np.where(np.abs(result.x) < 1e-9, 0.0, result.x)
    if not getattr(options, "relax", False):
        x = x.copy()
        integer = model.arrays()["integer"]
        x[integer] = np.round(x[integer])
    m = _plan_margins(data, model, x)
    todo = _Todo()
    _tightening_steps(todo, out, data, index, x)
    _limit_steps(todo, out, data, index, model, m)
    _supply_steps(todo, out, index, x)
    _vendor_cap_step(todo, out, data, index, model, m["activity"], x)
    if todo.items:
        _solve_steps(todo.items, data, result, options, workers=workers, dask=dask)


def _tightening_steps(todo: _Todo, out, data, index, x: np.ndarray) -> None:
    """Demand (always re-solved) and domestic share (unless the plan already holds a point more)."""
    for row in out["demand"]:
        todo.add(row, Step("demand", (row["workload"], row["period"]), 1.0), True)
    share_plan = _plan_shares(data, index, x)
    for row in out["domestic_share"]:
        level = row["value"]
        size = min(1.0, 100.0 - level)
        if size <= 1e-9:
            continue
        held = share_plan.get(row["period"], 0.0) * 100.0
        todo.add(row, Step("domestic_share", (row["period"],), size),
                 bool(row["usd_per_point"]) or held < level + size - 1e-7)
    floor_plans: dict[tuple[str, str], dict[str, float]] = {}
    for row in out.get("share_floors", []):
        level = row["value"]
        size = min(1.0, 100.0 - level)
        if size <= 1e-9:
            continue
        key = (row["of"], row["basis"])
        if key not in floor_plans:
            floor_plans[key] = _plan_shares(data, index, x, *key)
        held = floor_plans[key].get(row["period"], 0.0) * 100.0
        todo.add(row, Step("share_floors", (row["period"], *key), size),
                 bool(row["usd_per_point"]) or held < level + size - 1e-7)


def _limit_steps(todo: _Todo, out, data, index, model, m: dict[str, np.ndarray]) -> None:
    """Budget, power and pool rows: re-solved where binding or within one step of it."""
    activity = m["activity"]
    for family, size_of in (("budget", _budget_step), ("power", lambda *_: 1.0),
                            ("pools", _pool_step)):
        block = model.row_blocks.get(family)
        for row in out[family]:
            key = (row["vendor"], row["period"]) if family == "pools" else (row["period"],)
            size = size_of(data, index, row)
            if block is None or size is None or size <= 0:
                continue
            r = block.start + block.keys.index(key)
            slack = m["row_upper"][r] - activity[r]
            scale = 1e6 if family == "power" else 1.0
            dual = row.get("usd_per_usd", row.get("usd_per_mw", row.get("usd_per_unit")))
            busy = bool(dual) or slack < size * scale - 1e-9
            todo.add(row, Step(family, key, size), busy,
                     "" if busy else f"not binding: the plan leaves {_fmt_amount(slack / scale)} "
                                     "unused; not re-solved")


def _supply_steps(todo: _Todo, out, index, x: np.ndarray) -> None:
    """One server of supply per purchase tranche, where the plan buys to within a server."""
    buy = index.buy
    servers = x[buy["col"].to_numpy(dtype=np.int64)] if len(buy) else np.zeros(0)
    for row, server, n, supply in zip(out["supply"], buy["server"], servers, buy["supply"],
                                      strict=True):
        if not math.isfinite(supply):
            continue
        at_cap = n * server >= supply - server + 1e-6  # no whole server of supply left
        busy = bool(row["usd_per_unit"]) or at_cap
        todo.add(row, Step("supply", (row["sku"], row["period"], row["from"]), float(server)),
                 busy,
                 "" if busy else f"not binding: the plan leaves {supply - n * server:,.0f} cards "
                                 "of it unused; not re-solved")


def _vendor_cap_step(todo: _Todo, out, data, index, model, activity, x: np.ndarray) -> None:
    """One point of the scenario's one vendor cap, every vendor and period at once."""
    if data.vendor_cap is None or data.vendor_cap >= 1 or not out["vendor_cap"]:
        return
    size = min(1.0, 100.0 - 100.0 * float(data.vendor_cap))
    summary: dict[str, Any] = {"vendors": "every vendor", "periods": "every period",
                               "value": _num(100.0 * float(data.vendor_cap))}
    busy = any(r["usd_per_point"] for r in out["vendor_cap"]) or _cap_tight(
        model, activity, data, index, x, size)
    todo.add(summary, Step("vendor_cap", (), size), busy)
    out["vendor_cap_step"] = summary


def _solve_steps(todo: list[tuple[dict[str, Any], Step]], data, result, options, *,
                 workers=1, dask=None) -> None:
    """Re-plan every queued step on the executor; ``step_usd`` = its optimum − the base's."""
    step_options = _step_options(options)
    base_result = None
    if result.gap is not None and result.gap <= STEP_GAP and result.objective is not None \
            and result.solver == "highs":
        bound = result.bound if result.bound is not None else result.objective
        base_result = ("optimal", float(result.objective), float(bound))
    items = [s for _, s in todo]
    if base_result is None:
        items = [Step("base", (), 0.0), *items]
    context = (dataclasses.replace(data, scenario=None), step_options)
    solved = run_map(solve_step, context, items, workers=workers, dask=dask)
    if base_result is None:
        base_result, solved = solved[0], solved[1:]
    _, base_obj, base_bound = base_result
    for (row, _), (status, obj, bound) in zip(todo, solved, strict=True):
        if obj is None or base_obj is None:
            row["step_usd"] = None
            row["step_error"] = None
            row["step_note"] = f"re-planned: {status}" + (
                " (the step cannot be met)" if status == "infeasible" else "")
            continue
        row["step_usd"] = _num(obj - base_obj)
        row["step_error"] = _num(max(0.0, obj - bound) + max(0.0, base_obj - base_bound))


def _fmt_amount(v: float) -> str:
    return f"{v:,.4g}" if abs(v) < 1000 else f"{v:,.0f}"


def _plan_shares(data, index, x, measure: str | None = None,
                 basis: str | None = None) -> dict[str, float]:
    """The plan's domestic share per period (fraction), of what the share measures."""
    amounts = basis_amounts(data, index, x, measure, basis)
    if not len(amounts):
        return {}
    domestic = amounts["sku"].map(data.skus["domestic"]).astype(bool).to_numpy()
    total = amounts.groupby("t")["amount"].sum()
    dom = amounts[domestic].groupby("t")["amount"].sum()
    return {data.labels[int(t)]: float(dom.get(t, 0.0) / v) if v > 1e-12 else 0.0
            for t, v in total.items()}


def _cap_tight(model, activity, data, index, x, size) -> bool:
    """Whether a vendor-cap row is within one step of binding at the plan."""
    block = model.row_blocks.get("vendor_cap")
    if block is None:
        return False
    total = measure_totals(data, index, x)
    upper = model.arrays()["row_upper"]
    t_of = {p: t for t, p in enumerate(data.labels)}
    for i, key in enumerate(block.keys):
        r = block.start + i
        if upper[r] - activity[r] < total[t_of[key[-1]]] * size / 100.0 - 1e-9:
            return True
    return False


def _budget_step(data, index, row) -> float | None:
    """A budget step: one server's price.

    One server's price: the dearest server purchasable in the period (so one more server of anything
    the plan could buy fits in the step).
    """
    buy = index.buy
    t = data.labels.index(row["period"])
    mine = buy[buy["t"].to_numpy() == t]
    if not len(mine):
        return None
    cost = mine["price"].to_numpy(dtype=float) * mine["server"].to_numpy(dtype=float)
    cost = cost[np.isfinite(cost)]
    return float(cost.max()) if len(cost) else None


def _pool_step(data, index, row) -> float | None:
    """One server of the vendor's largest server size purchasable in the period."""
    buy = index.buy
    t = data.labels.index(row["period"])
    vendor = buy["sku"].map(data.skus["vendor"]).to_numpy()
    mine = buy[(buy["t"].to_numpy() == t) & (vendor == row["vendor"])]
    return float(mine["server"].max()) if len(mine) else None


def _notes(out: dict[str, Any]) -> None:
    """Say how far each dual holds.

    ``holds_for_step`` and a plain note on every row with a step: does the dual hold for the whole
    step, or only for a sliver of it?
    """
    fields = {"demand": "usd_per_unit", "domestic_share": "usd_per_point",
              "share_floors": "usd_per_point", "pools": "usd_per_unit",
              "budget": "usd_per_usd", "power": "usd_per_mw", "supply": "usd_per_unit"}
    for family, field in fields.items():
        for row in out.get(family, []):
            step = row.get("step")
            if not step:
                continue
            value, high = row.get("value"), row.get("range_high")
            if value is None:
                continue
            holds = 1.0 if high is None else max(0.0, min(1.0, (high - value) / step))
            row["holds_for_step"] = _num(holds)
            notes = []
            if holds < SLIVER:
                notes.append(f"the marginal figure holds only for +{_fmt_amount(high - value)} "
                             f"of the {_fmt_amount(step)} step: a sliver")
            marginal = row.get(field)
            if row.get("step_usd") is not None and marginal is not None:
                per_unit = row["step_usd"] / step
                if abs(marginal) > 1e-9 and abs(per_unit) > 1e-9:
                    ratio = per_unit / marginal
                    if abs(ratio) >= 2 or abs(ratio) <= 0.5:
                        notes.append(f"the whole step costs {ratio:,.3g}× the marginal rate")
                elif abs(marginal) > 1e-9:
                    notes.append("re-planned, the whole step changes nothing (whole servers)")
                elif abs(per_unit) > 1e-9:
                    notes.append(f"the dual is 0, but the whole step costs {row['step_usd']:,.0f} "
                                 "USD")
            if row.get("step_note"):
                notes.append(row["step_note"])
            row["note"] = "; ".join(notes)
            row.pop("step_note", None)


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
        floors = model.row_blocks.get("share_floor")
        for i, key in enumerate(floors.keys if floors is not None else []):
            price_rows[floors.start + i] = key[2] == "spend"  # (period, of, basis)
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


def _has_price_rows(prices: _PriceColumns, cols: np.ndarray) -> bool:
    """Whether the SKU's price enters constraint rows (budget; share rows on the spend basis)."""
    return any(prices.entries(int(c))[2].any() for c in cols)


def _entry_factor(session: LPSession, prices: _PriceColumns, cols: np.ndarray,
                  servers: np.ndarray, upper: float | None = None) -> tuple[float, int]:
    """The entry factor of a SKU not bought.

    The largest price factor ``f`` at which the LP buys some of ``cols``, and the column it buys
    first (``(nan, -1)`` when it buys none even at price 0).

    The LP's optimal cost ``v(f)`` is concave and piecewise linear in ``f`` (the SKU's prices
    are costs only), constant (``v_out``, the best plan without the SKU) above the entry
    factor ``f*``. From a point where the SKU is bought, the line ``v(fᵢ) + (f − fᵢ)·sᵢ``
    (``sᵢ`` its spend at factor 1 there) bounds ``v`` from above, so its crossing with
    ``v_out`` is the next point: Newton's method on the pieces, exact in finitely many
    solves. Where the price also enters rows (a budget, a spend-basis share) ``v`` need not be
    concave and ``f*`` is found by bisection, below ``upper`` (the reduced cost's bound).
    """
    cost0 = prices.cost[cols].copy()
    rows = [prices.entries(int(c)) for c in cols]
    scaled_rows = _has_price_rows(prices, cols)

    def at(f: float) -> LPSolution:
        session.set_costs(cols, f * cost0)
        if scaled_rows:
            for col, (r_idx, vals, is_price) in zip(cols, rows, strict=True):
                for r, v in zip(r_idx[is_price], vals[is_price], strict=True):
                    session.set_coefficient(int(r), int(col), f * v)
        return session.solve()

    def units(sol: LPSolution) -> float:
        return float((sol.x[cols] * servers).sum())

    try:
        one = at(1.0)
        # the best plan without the SKU: the LP at its prices if it buys none there, else the LP
        # with its columns closed
        if units(one) <= 1e-9:
            v_out = one.objective
        else:
            lower = np.zeros(len(cols))
            hi = np.asarray(session.upper(cols), dtype=float)
            session.set_bounds(cols, lower, np.zeros(len(cols)))
            v_out = session.solve().objective
            session.set_bounds(cols, lower, hi)
        tol = 1e-9 * max(1.0, abs(v_out)) + 1e-7
        start = 1.0 if units(one) > 1e-9 else 0.0
        sol = one if start == 1.0 else at(0.0)
        if sol.objective >= v_out - tol:
            return math.nan, -1  # not bought even free
        if scaled_rows:
            f, last = _entry_by_bisection(at, v_out, tol, start,
                                          upper if upper is not None and upper > start
                                          else MAX_PRICE_FACTOR)
            return f, _first_bought(last or sol, cols, servers)
        f = start
        for _ in range(60):
            spend = float((sol.x[cols] * cost0).sum())
            if spend <= 1e-12:
                break
            intercept = sol.objective - f * spend
            f_next = (v_out - intercept) / spend
            if not f_next > f * (1 + 1e-12) + 1e-15:
                break
            nxt = at(f_next)
            if nxt.objective >= v_out - tol:  # on the plateau: f_next is the breakpoint
                return f_next, _first_bought(sol, cols, servers)
            f, sol = f_next, nxt
        return f, _first_bought(sol, cols, servers)
    finally:
        at(1.0)


def _entry_by_bisection(at, v_out, tol, lo, hi) -> tuple[float, LPSolution | None]:
    """The entry factor by bisection.

    Largest ``f`` in ``[lo, hi]`` at which the LP still buys the SKU (``v(f) < v_out``), and the
    LP's solution there.
    """
    top = at(hi)
    if top.objective < v_out - tol:
        return hi, top
    best = None
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        sol = at(mid)
        if sol.objective < v_out - tol:
            lo, best = mid, sol
        else:
            hi = mid
        if hi - lo <= 1e-10 * max(1.0, hi):
            break
    return lo, best


def _first_bought(sol: LPSolution, cols: np.ndarray, servers: np.ndarray) -> int:
    """The column of ``cols`` with the most units bought in ``sol``."""
    return int(cols[int(np.argmax(sol.x[cols] * servers))])


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
    session = LPSession(pur_model)
    ported_variants: dict[str, tuple] = {}
    for sku, group in buy.groupby("sku", sort=True):
        cols = group["col"].to_numpy(dtype=np.int64)
        size = group["server"].to_numpy(dtype=float)
        bought = bool((group["planned"] > 1e-9).any())
        lp_units = float((pur.x[cols] * size).sum())
        if not bought:
            upper, _ = _reduced_cost_bound(cols, prices)
            f, col = _entry_factor(session, prices, cols, size, upper)
            note = ""
            if math.isnan(f):
                vendor = data.skus.at[sku, "vendor"]
                variant = ported_variants.get(vendor)
                if variant is None:
                    variant = _ported_variant(data, pur_model, index, vendor, x_plan)
                    ported_variants[vendor] = variant
                sol, variant_model, workloads = variant
                if sol is not None:
                    v_prices = _PriceColumns(data, variant_model, sol.row_duals)
                    upper, _ = _reduced_cost_bound(cols, v_prices)
                    f, col = _entry_factor(LPSession(variant_model), v_prices, cols, size, upper)
                    if not math.isnan(f):
                        note = (f"only once {vendor} is ported for {', '.join(workloads)} "
                                "(its one-off porting cost is not recovered at this price)")
            row = {"sku": sku, "bought": False}
            if math.isnan(f):
                t = int(group["t"].iloc[0])
                row.update(period=labels[t], unit_price=_num(group["price"].iloc[0]),
                           break_even_price=None, change=None,
                           note=note or "not worth buying at any price, even free: it adds "
                                        "nothing this plan can use")
            else:
                match = group[group["col"] == col]
                g = match.iloc[0] if len(match) else group.iloc[0]
                row.update(period=labels[int(g["t"])], unit_price=_num(g["price"]),
                           break_even_price=_num(f * g["price"]), change=_num(f - 1.0),
                           note=note or ("competitive at the margin already: the LP with "
                                         f"continuous servers buys {lp_units:,.1f} units; whole "
                                         "servers keep it out" if lp_units > 1e-6 else ""))
            rows.append(row)
            continue
        headroom = _price_headroom(session, prices, group, pur)
        first = group[group["planned"] > 1e-9].iloc[0]
        row = {"sku": sku, "bought": True, "period": labels[int(first["t"])],
               "unit_price": _num(first["price"])}
        if headroom is None:
            row.update(break_even_price=None, change=None,
                       note=f"the mix keeps it at {MAX_PRICE_FACTOR:g}× its price")
        elif lp_units <= 1e-6:
            row.update(break_even_price=_num(first["price"]), change=0.0,
                       note="bought only to round out whole servers: the LP with continuous "
                            "servers buys none, so any price rise may drop it")
        else:
            row.update(break_even_price=_num(headroom * first["price"]), change=_num(headroom - 1.0), note="")
        rows.append(row)
    return rows


def _reduced_cost_bound(cols: np.ndarray, prices: _PriceColumns) -> tuple[float | None, int]:
    """An upper bound on the entry factor from the LP's duals.

    An upper bound on the entry factor from the LP's duals: the largest ``Q/P`` over the SKU's
    columns (its reduced cost ``f·P − Q`` turns negative below it). Exact when the duals are unique;
    on a degenerate LP another optimal dual can give a lower one, which is why :func:`_entry_factor`
    re-solves.
    """
    best, best_col = None, -1
    for col in cols:
        p, q = prices.split(int(col))
        if p > 1e-12 and q > 1e-12 and (best is None or q / p > best):
            best, best_col = q / p, int(col)
    return best, best_col


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


__all__ = ["MAX_PRICE_FACTOR", "NOTE", "SLIVER", "STEP_GAP", "Step", "basis_amounts", "break_even",
           "compute_sensitivity", "measure_totals", "solve_step", "stepped_data"]
