"""From a solved :class:`~chipmix.pipeline.run.Run` to a :class:`~chipmix.planner.result.Plan`.

Every report table is computed from the solution vector and the column index: purchases,
allocation, fleet, delivered, shares, ported, costs (nominal and discounted). Solver noise
(``|x| < 1e-9``) reads as zero everywhere.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import numpy as np
import pandas as pd

from chipmix.inputs.units import metric_unit
from chipmix.model.variables import service_window
from chipmix.pipeline.run import Run
from chipmix.planner.result import Plan
from chipmix.planner.usage import shortfall_binding, usage_table

_COLUMNS = {
    "purchases": ["period", "sku", "servers", "units", "unit_price", "spend", "from", "until"],
    "allocation": ["period", "sku", "workload", "units"],
    "fleet": ["period", "sku", "units"],
    "delivered": ["period", "workload", "demand", "delivered", "shortfall"],
    "shares": ["period", "domestic", "vendors"],
    "ported": ["vendor", "workload"],
}


def extract(run: Run, *, summary: bool = False) -> Plan:
    """Turn a solved run into a Plan (reports computed from the solution vector).

    ``summary``: only what a study's row reads (:func:`chipmix.studies.summary.plan_summary`:
    status, costs, purchases, shares, delivered with its shortfall) — the other tables
    (availability, allocation, fleet, usage) stay empty and delivered has no ``unit`` or
    ``binding``: a sweep's variant, where the rest costs more than an LP's solve.
    """
    data, result = run.data, run.result
    availability = pd.DataFrame(columns=data.availability.columns) if summary else \
        _availability(data)
    common: dict[str, Any] = {
        "scenario": data.scenario.name, "status": result.status, "periods": data.labels,
        "availability": availability, "solver": _solver_info(run),
        "share_basis": data.share_basis, "share_of": data.share_measure,
        "message": result.message,
    }
    if not result.status.has_plan or result.x is None:
        empty = {name: pd.DataFrame(columns=cols) for name, cols in _COLUMNS.items()}
        return _typed(Plan(objective=None, cost={}, discounted={}, **common, **empty), data)
    model, index, relax = run.model, run.index, run.options.relax
    x, buy, use, port = solution_tables(run)
    cost, discounted = _costs(data, buy, use, port, index.short, model.values(x, "short"))
    if summary:
        return Plan(objective=result.objective, cost=cost, discounted=discounted,
                    purchases=_purchases(buy, relax),
                    allocation=pd.DataFrame(columns=_COLUMNS["allocation"]),
                    fleet=pd.DataFrame(columns=_COLUMNS["fleet"]),
                    delivered=delivered_table(data, use, index, model, x),
                    shares=shares_table(data, use, buy), ported=_ported(port, relax),
                    **common)
    plan = Plan(
        objective=result.objective,
        cost=cost,
        discounted=discounted,
        purchases=_purchases(buy, relax),
        allocation=_allocation(use, data.labels),
        fleet=fleet_table(data, buy),
        delivered=delivered_table(data, use, index, model, x),
        shares=shares_table(data, use, buy),
        ported=_ported(port, relax),
        **common,
    )
    return _typed(_caps_and_causes(_with_skus(plan, data), data), data)


def solution_tables(run: Run) -> tuple[np.ndarray, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The solution (noise read as 0) and its bought, use and port tables, as reported."""
    data, model, index, relax = run.data, run.model, run.index, run.options.relax
    raw = run.result.x
    if raw is None:
        raise ValueError("the run has no solution")
    x = np.where(np.abs(raw) < 1e-9, 0.0, raw)
    buy = _bought(index.buy, model.values(x, "buy"), data.labels, relax)
    use = index.use.copy()
    use["units"] = model.values(x, "use")
    use["units"] = use["units"].where(use["units"].abs() > 1e-9, 0.0)
    port = index.port.copy()
    z = model.values(x, "port")
    port["z"] = z if relax else np.round(z)  # as reported
    return x, buy, use, port


def _with_skus(plan: Plan, data) -> Plan:
    """``vendor`` and ``origin`` in purchases and fleet; ``in_use`` and ``idle`` in fleet."""
    info = data.skus
    for name in ("purchases", "fleet"):
        frame = getattr(plan, name)
        at = frame.columns.get_loc("sku") + 1
        for i, column in enumerate(("vendor", "origin")):
            frame.insert(at + i, column, frame["sku"].map(info[column]).astype("string"))
    used = plan.allocation.groupby(["period", "sku"])["units"].sum()
    fleet = plan.fleet
    keys = pd.MultiIndex.from_arrays([fleet["period"], fleet["sku"]])
    in_use = np.minimum(fleet["units"].to_numpy(dtype=float),
                        used.reindex(keys, fill_value=0.0).to_numpy(dtype=float))
    fleet["in_use"] = np.round(in_use, 9)
    fleet["idle"] = np.round(fleet["units"].to_numpy(dtype=float) - in_use, 9)
    return plan


def _caps_and_causes(plan: Plan, data) -> Plan:
    """Caps and causes: power and budget use against the caps, units, what binds.

    The unit of each delivery row and the binding constraint of each shortfall
    (:mod:`chipmix.planner.usage`).
    """
    usage = usage_table(data, plan)
    causes = shortfall_binding(data, plan, usage)
    usage["binding"] = pd.array(["; ".join(b) for b in usage["binding"]], dtype="string")
    plan.usage = usage
    delivered = plan.delivered
    delivered.insert(2, "unit", delivered["workload"].map(
        lambda w: metric_unit(data.workloads.at[w, "metric"])).astype("string"))
    delivered["binding"] = pd.array(
        ["; ".join(causes.get((p, w), [])) for p, w in zip(delivered["period"],
                                                           delivered["workload"], strict=True)],
        dtype="string")
    return plan


def _typed(plan: Plan, data) -> Plan:
    """``period`` as an ordered category in every table; the scenario's display currency."""
    periods = pd.CategoricalDtype(list(data.labels), ordered=True)
    for name in ("purchases", "allocation", "fleet", "delivered", "shares", "availability",
                 "usage"):
        frame = getattr(plan, name)
        if "period" in frame.columns:
            frame["period"] = frame["period"].astype(str).astype(periods)
    currency = data.scenario.currency
    plan.currency = {"code": currency.code, "per_usd": currency.per_usd}
    return plan


def _solver_info(run: Run) -> dict[str, Any]:
    result, model, relax = run.result, run.model, run.options.relax
    return {
        "name": result.solver,
        "seconds": result.seconds,
        "gap": result.gap,
        "variables": model.num_cols,
        "constraints": model.num_rows,
        "integers": 0 if relax else model.num_integers,
        "relaxed": relax,
        "message": result.message,
    }


def _availability(data) -> pd.DataFrame:
    availability = data.availability.copy()
    availability["supply"] = availability["supply"].map(
        lambda s: None if math.isinf(s) else float(s)
    )
    return availability.sort_values(["period", "sku"], key=_period_key(data.labels)).reset_index(
        drop=True
    )


def _bought(buy_index: pd.DataFrame, servers: np.ndarray, labels: list[str],
            relax: bool) -> pd.DataFrame:
    """The purchase columns with servers > 0: servers (whole unless relaxed), units, spend."""
    servers = np.round(servers) if not relax else servers
    keep = servers > 1e-9
    bought = buy_index[keep]  # one take per block, not one array per column
    units = servers[keep] * buy_index["server"].to_numpy()[keep]
    price = buy_index["price"].to_numpy()[keep]
    day = dt.timedelta(days=1)
    # the purchase tranche's days: from its first to its last day (inclusive)
    columns: dict[str, Any] = {
        "servers": servers[keep], "units": units, "unit_price": price, "spend": units * price,
        "period": [labels[t] for t in bought["t"].tolist()],
        "from": [d.isoformat() for d in bought["start"].tolist()],
        "until": [(d - day).isoformat() for d in bought["end"].tolist()],
    }
    return pd.concat([bought, pd.DataFrame(columns, index=bought.index)], axis=1)


def _purchases(buy: pd.DataFrame, relax: bool) -> pd.DataFrame:
    """The purchases table.

    One row per purchase tranche bought in (formats.md, extended with ``from``/``until``), sorted by
    period, SKU and first day.
    """
    keys = list(zip(buy["t"].to_numpy(), buy["sku"].to_numpy(), buy["from"].to_numpy(),
                    strict=True))
    order = sorted(range(len(keys)), key=keys.__getitem__)  # (t, sku, from): unique per row
    purchases = buy[_COLUMNS["purchases"]].take(order).reset_index(drop=True)
    if not relax:
        purchases["servers"] = purchases["servers"].astype(int)
        purchases["units"] = purchases["units"].astype(int)
    return purchases


def _allocation(use: pd.DataFrame, labels: list[str]) -> pd.DataFrame:
    used = use[use["units"] > 0]
    return (
        pd.DataFrame(
            {
                "period": [labels[t] for t in used["t"]],
                "sku": used["sku"],
                "workload": used["workload"],
                "units": used["units"],
                "t": used["t"],
            }
        )
        .sort_values(["t", "sku", "workload"])
        .drop(columns="t")
        .reset_index(drop=True)
    )


def _ported(port: pd.DataFrame, relax: bool) -> pd.DataFrame:
    """Pairs ported (with the LP's fraction when relaxed)."""
    if not len(port):
        return pd.DataFrame(columns=_COLUMNS["ported"])
    keep = port["z"].to_numpy(dtype=float) > 1e-9
    columns = {"vendor": port["vendor"].array[keep], "workload": port["workload"].array[keep]}
    if relax:
        columns["fraction"] = port["z"].to_numpy()[keep]
    return pd.DataFrame(columns)


def _costs(data, buy: pd.DataFrame, use: pd.DataFrame, port: pd.DataFrame,
           short_index: pd.DataFrame, short_values: np.ndarray
           ) -> tuple[dict[str, float], dict[str, float]]:
    """Capex, energy, porting, shortfall and totals.

    Nominal (with ``discounted_total``) and discounted.
    """
    T = len(data.labels)
    disc = data.period_table["discount"].to_numpy()
    capex_t = group_sums(buy["t"].to_numpy(), buy["spend"].to_numpy(dtype=float), T)
    energy_t = group_sums(use["t"].to_numpy(), use["units"].to_numpy(dtype=float)
                          * use["energy_per_unit"].to_numpy(dtype=float), T)
    penalty = data.workloads["penalty"].to_dict()
    short_t = group_sums(short_index["t"].to_numpy(), np.asarray(short_values, dtype=float)
                         * np.fromiter((penalty.get(w, math.nan) for w in short_index["workload"]),
                                       dtype=float, count=len(short_index)), T)
    porting = float(_nansum(port["port"].to_numpy(dtype=float) * port["z"].to_numpy(dtype=float))
                    ) if len(port) else 0.0
    cost = {
        "capex": float(capex_t.sum()),
        "energy": float(energy_t.sum()),
        "porting": porting,
        "shortfall": float(short_t.sum()),
    }
    cost["total"] = sum(cost.values())
    discounted = {
        "capex": float((capex_t * disc).sum()),
        "energy": float((energy_t * disc).sum()),
        "porting": porting,
        "shortfall": float((short_t * disc).sum()),
    }
    discounted["total"] = sum(discounted.values())
    cost["discounted_total"] = discounted["total"]
    return cost, discounted


def group_sums(labels: np.ndarray, values: np.ndarray, count: int) -> np.ndarray:
    """Per label ``0..count-1``: the sum of its ``values``, NaN skipped (0 where none).

    Bit for bit what ``pd.Series(values).groupby(labels).sum().reindex(range(count),
    fill_value=0.0)`` gives, without building the frames (a variant's cost tables have a few
    hundred rows): like pandas, sorted labels without NaN sum each run with
    ``np.add.reduceat``, any others with a compensated (Kahan) sum in row order
    (``tests/test_variant_tables.py`` checks both against pandas).
    """
    labels = np.asarray(labels, dtype=np.int64)
    values = np.asarray(values, dtype=float)
    out = np.zeros(count)
    if not len(values):
        return out
    starts = _runs(labels, values)
    if starts is not None:
        out[labels[starts]] = np.add.reduceat(values, starts)
        return out
    return _kahan(labels, values, count)


def group_sums_by_column(labels: np.ndarray, values: np.ndarray, count: int) -> np.ndarray:
    """``(T, count)``: :func:`group_sums` of each row of ``values`` (T × len(labels)).

    Bit for bit ``pd.DataFrame(values.T).groupby(labels).sum()`` (transposed, every label).
    """
    labels = np.asarray(labels, dtype=np.int64)
    values = np.ascontiguousarray(values, dtype=float)
    out = np.zeros((values.shape[0], count))
    if not len(labels):
        return out
    starts = _runs(labels, values)
    if starts is not None:
        out[:, labels[starts]] = np.add.reduceat(values, starts, axis=1)
        return out
    for t in range(values.shape[0]):
        out[t] = _kahan(labels, values[t], count)
    return out


def _runs(labels: np.ndarray, values: np.ndarray) -> np.ndarray | None:
    """Where each run of equal labels starts, when pandas sums runs (sorted, no NaN)."""
    if np.isnan(values).any() or not bool((labels[1:] >= labels[:-1]).all()):
        return None
    starts: np.ndarray = np.flatnonzero(np.r_[True, labels[1:] != labels[:-1]])
    return starts


def _kahan(labels: np.ndarray, values: np.ndarray, count: int) -> np.ndarray:
    """The compensated group sum pandas does, in row order (NaN skipped)."""
    sums = [0.0] * count
    comp = [0.0] * count
    for label, value in zip(labels.tolist(), values.tolist(), strict=True):
        if value != value:  # NaN: skipped, as pandas does
            continue
        y = value - comp[label]
        before = sums[label]
        total = before + y
        c = total - before - y
        comp[label] = 0.0 if c != c else c  # an infinite sum keeps no compensation
        sums[label] = total
    return np.asarray(sums, dtype=float)


def _nansum(values: np.ndarray) -> float:
    """``pd.Series(values).sum()``: NaN read as 0, numpy's pairwise sum."""
    return float(np.where(np.isnan(values), 0.0, values).sum())


def _period_key(labels):
    pos = {p: i for i, p in enumerate(labels)}

    def key(col):
        return col.map(pos) if col.name == "period" else col

    return key


def fleet_table(data, buy: pd.DataFrame) -> pd.DataFrame:
    """Units in service per SKU and period: inventory plus purchases in service."""
    T, K = len(data.periods), len(data.skus)
    skus = data.skus
    fleet = np.zeros((K, T + 1))
    if len(buy):
        first, last = service_window(data, buy)
        np.add.at(fleet, (buy["k_i"].to_numpy(), first), buy["units"].to_numpy(dtype=float))
        np.add.at(fleet, (buy["k_i"].to_numpy(), last), -buy["units"].to_numpy(dtype=float))
    fleet = np.cumsum(fleet, axis=1)[:, :T]
    alive = np.arange(T)[None, :] < skus["retire_t"].to_numpy(dtype=np.int64)[:, None]
    fleet += np.where(alive, skus["inventory"].to_numpy(dtype=float)[:, None], 0.0)
    t_i, k_i = np.nonzero(fleet.T > 1e-9)  # ordered by (t, sku position)
    units = fleet[k_i, t_i]
    frame = pd.DataFrame(
        {
            "period": np.asarray(data.labels, dtype=object)[t_i],
            "sku": skus.index.to_numpy()[k_i],
            "units": units,
        }
    )
    frame = frame.sort_values(["period", "sku"], key=_period_key(data.labels), kind="stable")
    frame = frame.reset_index(drop=True)
    rounded = np.round(frame["units"].to_numpy())
    if len(frame) and np.allclose(frame["units"].to_numpy(), rounded, rtol=0, atol=1e-6):
        frame["units"] = rounded.astype(int)
    return frame


def delivered_table(data, use, index, model, x) -> pd.DataFrame:
    """Demand, delivery and shortfall per period and workload (rows with demand or delivery)."""
    demand = data.demand.to_numpy()  # T × W
    got = np.zeros_like(demand)
    if len(use):
        np.add.at(
            got,
            (use["t"].to_numpy(), use["w_j"].to_numpy()),
            (use["units"] * use["cap"]).to_numpy(),
        )
    missing = np.zeros_like(demand)
    short = index.short
    if len(short):
        np.add.at(
            missing, (short["t"].to_numpy(), short["w_j"].to_numpy()), model.values(x, "short")
        )
    t_i, w_i = np.nonzero((demand > 0) | (got > 0))
    return pd.DataFrame(
        {
            "period": np.asarray(data.labels, dtype=object)[t_i],
            "workload": data.demand.columns.to_numpy()[w_i],
            "demand": demand[t_i, w_i],
            "delivered": got[t_i, w_i],
            "shortfall": missing[t_i, w_i],
        },
        columns=["period", "workload", "demand", "delivered", "shortfall"],
    )


def _share_amounts(data, use, buy, basis: str, measure: str) -> np.ndarray:
    """T × K: what a share on ``basis`` of ``measure`` sums, per period and SKU."""
    skus = data.skus
    T, K = len(data.periods), len(skus)
    amount = np.zeros((T, K))
    weight = skus["weight"].to_numpy(dtype=float) if basis == "compute" else np.ones(K)
    if basis == "spend":
        if len(buy):
            np.add.at(
                amount,
                (buy["t"].to_numpy(), buy["k_i"].to_numpy()),
                buy["spend"].to_numpy(dtype=float),
            )
    elif measure == "purchases":
        if len(buy):
            k_i = buy["k_i"].to_numpy()
            np.add.at(amount, (buy["t"].to_numpy(), k_i),
                      buy["units"].to_numpy(dtype=float) * weight[k_i])
    elif measure == "fleet":
        units = fleet_table(data, buy)
        if len(units):
            t_of = {p: t for t, p in enumerate(data.labels)}
            k_of = {k: i for i, k in enumerate(skus.index)}
            t_i = units["period"].map(t_of).to_numpy(dtype=np.int64)
            k_i = units["sku"].map(k_of).to_numpy(dtype=np.int64)
            np.add.at(amount, (t_i, k_i), units["units"].to_numpy(dtype=float) * weight[k_i])
    elif len(use):
        k_i = use["k_i"].to_numpy()
        np.add.at(amount, (use["t"].to_numpy(), k_i), use["units"].to_numpy() * weight[k_i])
    return amount


def _domestic_fraction(data, amount: np.ndarray) -> np.ndarray:
    """Per period: the domestic part of ``amount`` (0 where the total is 0)."""
    total = amount.sum(axis=1)
    domestic = amount[:, data.skus["domestic"].to_numpy(dtype=bool)].sum(axis=1)
    return np.where(total > 1e-12, domestic / np.where(total > 1e-12, total, 1.0), 0.0)


def _floor_items(data, use, buy) -> dict[int, list[dict[str, Any]]]:
    """Per period: the rule floors in force, each with the plan's domestic share on its measure."""
    floors = data.floors
    out: dict[int, list[dict[str, Any]]] = {}
    if floors is None or not len(floors):
        return out
    fractions: dict[tuple[str, str], np.ndarray] = {}
    for row in floors.itertuples(index=False):
        key = (str(row.of), str(row.basis))
        if key not in fractions:
            fractions[key] = _domestic_fraction(data, _share_amounts(data, use, buy, key[1],
                                                                     key[0]))
        out.setdefault(int(row.t), []).append({
            "of": key[0], "basis": key[1], "floor": float(row.floor), "rules": str(row.rules),
            "domestic": float(fractions[key][int(row.t)])})
    return out


def shares_table(data, use, buy) -> pd.DataFrame:
    """Domestic and per-vendor shares per period.

    Domestic and per-vendor shares per period on the scenario's basis, measuring what ``share_of``
    says: units in use, the fleet (idle units included) or the period's buys. A period where rule
    floors are in force for the buyer also lists them (``floors``: each (of, basis) with its
    floor, the rules that set it and the plan's domestic share on that measure).
    """
    amount = _share_amounts(data, use, buy, data.share_basis, data.share_measure)
    total = amount.sum(axis=1)
    domestic = _domestic_fraction(data, amount)
    vendor_of = data.skus["vendor"].tolist()
    names = sorted(set(vendor_of))
    code = {name: i for i, name in enumerate(names)}
    by_vendor = group_sums_by_column(np.fromiter((code[v] for v in vendor_of), dtype=np.int64,
                                                 count=len(vendor_of)), amount, len(names))
    floors = _floor_items(data, use, buy)
    rows = []
    for t, label in enumerate(data.labels):
        row: dict[str, Any] = {"period": label, "domestic": 0.0, "vendors": {}}
        if total[t] > 1e-12:
            row["domestic"] = float(domestic[t])
            row["vendors"] = {v: float(a / total[t]) for v, a in
                              zip(names, by_vendor[t].tolist(), strict=True) if a > 1e-12}
        if t in floors:
            row["floors"] = floors[t]
        rows.append(row)
    columns = ["period", "domestic", "vendors"] + (["floors"] if floors else [])
    return pd.DataFrame(rows, columns=columns)


__all__ = ["delivered_table", "extract", "fleet_table", "shares_table"]
