"""The model builder: ``build(data)`` is one ``add_<family>`` call per constraint family.

Each family appends a block of rows to one :class:`LinearModel` from the tables of
:class:`PlanningData`, vectorised with numpy; its docstring carries its inequality in the
notation of ``model.md``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from chipmix.model.data import PlanningData
from chipmix.model.matrix import INF, LinearModel


@dataclass
class Index:
    """Column index tables: one DataFrame per variable family with a ``col`` column."""

    buy: pd.DataFrame  # sku, t, col, server, price, ub
    use: pd.DataFrame  # sku, workload, t, col, cap, ub
    port: pd.DataFrame  # vendor, workload, col
    short: pd.DataFrame  # workload, t, col


def build(data: PlanningData) -> tuple[LinearModel, Index]:
    """The whole planning model of ``model.md`` as one sparse matrix."""
    model = LinearModel()
    index = add_variables(model, data)
    add_allocation(model, data, index)
    add_demand(model, data, index)
    add_porting(model, data, index)
    add_domestic_share(model, data, index)
    add_vendor_cap(model, data, index)
    add_budget(model, data, index)
    add_power(model, data, index)
    return model, index


# -- variables and objective -------------------------------------------------------------------


def _policy_padding(data: PlanningData) -> float:
    """How far share and vendor-cap policies can push use above what demand needs.

    A share policy is met by running (or buying) more domestic units than demand needs, at
    most ``s/(1-s)`` times the foreign share's weight, and a vendor cap ``c`` by spreading use
    over vendors (at most ``1/c``); ``ratio`` converts between the SKUs' share weights.
    """
    shares = data.period_table["share"].to_numpy()
    s_max = float(shares.max()) if len(shares) else 0.0
    cap = data.vendor_cap
    if s_max <= 0 and (cap is None or cap >= 1):
        return 1.0
    if data.share_basis == "compute":
        w = data.skus["weight"]
        w = w[w > 0]
        ratio = float(w.max() / w.min()) if len(w) else 1.0
    elif data.share_basis == "spend":
        p = data.price.to_numpy().ravel()
        p = p[np.isfinite(p) & (p > 0)]
        ratio = float(p.max() / p.min()) if len(p) else 1.0
    else:
        ratio = 1.0
    pad = 1.0
    if 0 < s_max < 1:
        pad *= 1.0 + s_max / (1.0 - s_max) * ratio
    if cap is not None and 0 < cap < 1:
        pad *= ratio / cap
    return pad


def _need_units(data: PlanningData) -> pd.Series:
    """Units of each SKU that would carry every workload's peak demand alone."""
    if not len(data.cap):
        return pd.Series(dtype=float)
    peak = data.demand.max(axis=0)
    cap = data.cap.reset_index()
    cap["need"] = cap["workload"].map(peak) / cap["cap"]
    return cap.groupby("sku")["need"].sum()


def add_variables(model: LinearModel, data: PlanningData) -> Index:
    """Columns and objective.

    minimise Σ_t δ[t]·( Σ_k price[k,t]·buy[k,t] + Σ_{k,w} watts[k]·pue·hours[t]·energy_price[t]/1000·use[k,w,t]
                        + Σ_w penalty[w]·short[w,t] ) + Σ_{v,w} port[v,w]·z[v,w]
    with buy[k,t] = server[k]·n[k,t], n integer, 0 ≤ server·n[k,t] ≤ supply[k,t].
    """
    T = len(data.periods)
    pt = data.period_table
    skus = data.skus
    need = _need_units(data) * _policy_padding(data)

    # -- n[k,t]: servers bought ------------------------------------------------------------
    supply = data.supply.reset_index(drop=True).stack()
    supply.index.names = ["t", "sku"]
    buy = supply.rename("supply").reset_index()
    buy["server"] = buy["sku"].map(skus["server"]).astype(int)
    buy = buy[buy["supply"] >= buy["server"]].copy()
    price = data.price.reset_index(drop=True).stack()
    price.index.names = ["t", "sku"]
    buy["price"] = pd.MultiIndex.from_frame(buy[["t", "sku"]]).map(price).to_numpy(dtype=float)
    ub = np.floor(buy["supply"].to_numpy() / buy["server"].to_numpy())
    need_servers = np.ceil(buy["sku"].map(need).fillna(0.0).to_numpy() / buy["server"].to_numpy())
    budget = pt["budget"].to_numpy()[buy["t"].to_numpy()]
    budget_servers = np.floor(budget / (buy["price"].to_numpy() * buy["server"].to_numpy()) + 1e-9)
    ub = np.fmin(ub, np.where(np.isnan(budget_servers), INF, budget_servers))
    ub = np.fmin(ub, np.where(need_servers > 0, need_servers, INF))
    buy["ub"] = ub
    buy = buy[buy["ub"] > 0].sort_values(["t", "sku"]).reset_index(drop=True)
    disc = pt["discount"].to_numpy()
    block = model.add_columns(
        "buy",
        [(k, data.labels[t]) for k, t in zip(buy["sku"], buy["t"], strict=True)],
        upper=buy["ub"].to_numpy(),
        cost=disc[buy["t"].to_numpy()] * buy["price"].to_numpy() * buy["server"].to_numpy(),
        integer=True,
    )
    buy["col"] = np.arange(block.start, block.stop)

    # -- max fleet: the most units of k that can be in service at t ---------------------------
    max_fleet = np.zeros((len(skus), T))
    sku_pos = {k: i for i, k in enumerate(skus.index)}
    lead = skus["lead"].to_numpy()
    life = skus["life"].to_numpy()
    retire = skus["retire_t"].to_numpy()
    inv = skus["inventory"].to_numpy()
    for i in range(len(skus)):
        max_fleet[i, : retire[i]] += inv[i]
    for k, t, server, n_ub in zip(buy["sku"], buy["t"], buy["server"], buy["ub"], strict=True):
        i = sku_pos[k]
        first = t + lead[i]
        last = min(T, retire[i], first + life[i]) if math.isfinite(life[i]) else min(T, retire[i])
        if first < last:
            max_fleet[i, int(first) : int(last)] += server * n_ub
    # -- use[k,w,t] --------------------------------------------------------------------------
    cap = data.cap.reset_index()
    cap = cap[cap["sku"].map(skus["watts"]).notna()]
    use = cap.merge(pd.DataFrame({"t": np.arange(T)}), how="cross")
    rows_i = use["sku"].map(sku_pos).to_numpy()
    use["ub"] = max_fleet[rows_i, use["t"].to_numpy()] if len(use) else np.zeros(0)
    if len(use):
        need_w = data.demand.to_numpy()  # T × W
        w_pos = {w: j for j, w in enumerate(data.demand.columns)}
        peak = need_w.max(axis=0)[use["workload"].map(w_pos).to_numpy()] / use["cap"].to_numpy()
        bound = np.where(np.isinf(use["ub"].to_numpy()), peak * _policy_padding(data), use["ub"])
        use["ub"] = bound
    use = use[use["ub"] > 0].sort_values(["t", "sku", "workload"]).reset_index(drop=True)
    watts = use["sku"].map(skus["watts"]).to_numpy(dtype=float)
    energy = (
        watts
        * pt["pue"].to_numpy()[use["t"].to_numpy()]
        * pt["hours"].to_numpy()[use["t"].to_numpy()]
        * pt["energy_price"].to_numpy()[use["t"].to_numpy()]
        / 1000.0
    )
    block = model.add_columns(
        "use",
        [(k, w, data.labels[t]) for k, w, t in zip(use["sku"], use["workload"], use["t"], strict=True)],
        upper=use["ub"].to_numpy(),
        cost=disc[use["t"].to_numpy()] * energy,
    )
    use["col"] = np.arange(block.start, block.stop)
    use["energy_per_unit"] = energy

    # -- z[v,w]: porting binaries -----------------------------------------------------------
    port = data.port.reset_index()
    if len(port) and len(use):
        use_vendor = use["sku"].map(skus["vendor"])
        used = set(zip(use_vendor, use["workload"], strict=True))
        port = port[[(v, w) in used for v, w in zip(port["vendor"], port["workload"], strict=True)]]
    else:
        port = port.iloc[0:0]
    port = port.sort_values(["vendor", "workload"]).reset_index(drop=True)
    block = model.add_columns(
        "port",
        list(zip(port["vendor"], port["workload"], strict=True)),
        upper=1.0,
        cost=port["port"].to_numpy(),
        integer=True,
    )
    port["col"] = np.arange(block.start, block.stop)

    # -- short[w,t] ---------------------------------------------------------------------------
    dem = data.demand.reset_index(drop=True).stack()
    dem.index.names = ["t", "workload"]
    short = dem.rename("demand").reset_index()
    short["penalty"] = short["workload"].map(data.workloads["penalty"])
    short = short[(short["demand"] > 0) & short["penalty"].notna()]
    short = short.sort_values(["t", "workload"]).reset_index(drop=True)
    block = model.add_columns(
        "short",
        [(w, data.labels[t]) for w, t in zip(short["workload"], short["t"], strict=True)],
        upper=short["demand"].to_numpy(),
        cost=disc[short["t"].to_numpy()] * short["penalty"].to_numpy(),
    )
    short["col"] = np.arange(block.start, block.stop)
    return Index(buy=buy, use=use, port=port, short=short)


# -- constraint families --------------------------------------------------------------------


def add_allocation(model: LinearModel, data: PlanningData, index: Index) -> None:
    """Fleet and allocation.

    fleet[k,t] = inv[k] + Σ server[k]·n[k,τ] over τ with τ + lead[k] ≤ t < τ + lead[k] + life[k]
    Σ_w use[k,w,t] ≤ fleet[k,t]   ⇔   Σ_w use[k,w,t] − Σ_τ server[k]·n[k,τ] ≤ inv[k]
    (no row where k has no use; from retire[k] on k has no use at all)
    """
    use = index.use
    if not len(use):
        return
    keys = use[["sku", "t"]].drop_duplicates().sort_values(["t", "sku"]).reset_index(drop=True)
    row_of = {(k, t): i for i, (k, t) in enumerate(zip(keys["sku"], keys["t"], strict=True))}
    rows = [use.apply(lambda r: row_of[(r["sku"], r["t"])], axis=1).to_numpy(dtype=np.int64)]
    cols = [use["col"].to_numpy()]
    vals = [np.ones(len(use))]
    skus = data.skus
    buy = index.buy
    if len(buy):
        lead = buy["sku"].map(skus["lead"]).to_numpy()
        life = buy["sku"].map(skus["life"]).to_numpy()
        T = len(data.periods)
        b_rows, b_cols, b_vals = [], [], []
        for k, t0, col, server, ld, lf in zip(
            buy["sku"], buy["t"], buy["col"], buy["server"], lead, life, strict=True
        ):
            last = T if not math.isfinite(lf) else min(T, int(t0 + ld + lf))
            for t in range(int(t0 + ld), last):
                r = row_of.get((k, t))
                if r is not None:
                    b_rows.append(r)
                    b_cols.append(col)
                    b_vals.append(-float(server))
        rows.append(np.asarray(b_rows, dtype=np.int64))
        cols.append(np.asarray(b_cols, dtype=np.int64))
        vals.append(np.asarray(b_vals, dtype=float))
    inv = keys["sku"].map(skus["inventory"]).to_numpy(dtype=float)
    model.add_rows(
        "allocation",
        [(k, data.labels[t]) for k, t in zip(keys["sku"], keys["t"], strict=True)],
        np.concatenate(rows),
        np.concatenate(cols),
        np.concatenate(vals),
        upper=inv,
    )


def add_demand(model: LinearModel, data: PlanningData, index: Index) -> None:
    """Demand: Σ_k cap[k,w]·use[k,w,t] + short[w,t] ≥ demand[w,t]   (rows where demand > 0)."""
    dem = data.demand.reset_index(drop=True).stack()
    dem.index.names = ["t", "workload"]
    keys = dem[dem > 0].rename("demand").reset_index().sort_values(["t", "workload"])
    keys = keys.reset_index(drop=True)
    if not len(keys):
        return
    row_of = {(w, t): i for i, (w, t) in enumerate(zip(keys["workload"], keys["t"], strict=True))}
    use, short = index.use, index.short
    u_rows = np.array([row_of.get((w, t), -1) for w, t in zip(use["workload"], use["t"], strict=True)], dtype=np.int64)
    s_rows = np.array([row_of[(w, t)] for w, t in zip(short["workload"], short["t"], strict=True)], dtype=np.int64)
    keep = u_rows >= 0
    model.add_rows(
        "demand",
        [(w, data.labels[t]) for w, t in zip(keys["workload"], keys["t"], strict=True)],
        np.concatenate([u_rows[keep], s_rows]),
        np.concatenate([use["col"].to_numpy()[keep], short["col"].to_numpy()]),
        np.concatenate([use["cap"].to_numpy()[keep], np.ones(len(short))]),
        lower=keys["demand"].to_numpy(),
    )


def add_porting(model: LinearModel, data: PlanningData, index: Index) -> None:
    """Porting: use[k,w,t] ≤ M[k,w,t]·z[vendor(k),w], M = use's own upper bound (max fleet)."""
    port, use = index.port, index.use
    if not len(port):
        return
    z_col = {(v, w): c for v, w, c in zip(port["vendor"], port["workload"], port["col"], strict=True)}
    vendor = use["sku"].map(data.skus["vendor"])
    z = np.array([z_col.get((v, w), -1) for v, w in zip(vendor, use["workload"], strict=True)], dtype=np.int64)
    sel = use[z >= 0]
    z = z[z >= 0]
    n = len(sel)
    if not n:
        return
    r = np.arange(n)
    model.add_rows(
        "porting",
        list(zip(sel["sku"], sel["workload"], [data.labels[t] for t in sel["t"]], strict=True)),
        np.concatenate([r, r]),
        np.concatenate([sel["col"].to_numpy(), z]),
        np.concatenate([np.ones(n), -sel["ub"].to_numpy()]),
        upper=0.0,
    )


def _share_terms(data: PlanningData, index: Index, member: pd.Series, share_of_t: np.ndarray):
    """Rows (t), cols, vals of Σ (member[k] − s[t])·weight·x over the basis' variables."""
    skus = data.skus
    if data.share_basis == "spend":
        x = index.buy
        weight = x["price"].to_numpy() * x["server"].to_numpy()
    else:
        x = index.use
        weight = (
            x["sku"].map(skus["weight"]).to_numpy(dtype=float)
            if data.share_basis == "compute"
            else np.ones(len(x))
        )
    t = x["t"].to_numpy()
    coef = (x["sku"].map(member).to_numpy(dtype=float) - share_of_t[t]) * weight
    return t, x["col"].to_numpy(), coef


def add_domestic_share(model: LinearModel, data: PlanningData, index: Index) -> None:
    """Domestic share, per period t with share[t] > 0, on the scenario's basis:

    compute: Σ_{k∈D,w} bf16[k]·use[k,w,t] ≥ share[t]·Σ_{k,w} bf16[k]·use[k,w,t]
    units:   Σ_{k∈D,w} use[k,w,t]         ≥ share[t]·Σ_{k,w} use[k,w,t]
    spend:   Σ_{k∈D} price[k,t]·buy[k,t]  ≥ share[t]·Σ_k price[k,t]·buy[k,t]
    written as Σ (1[k∈D] − share[t])·weight·x ≥ 0.
    """
    share = data.period_table["share"].to_numpy()
    active = np.flatnonzero(share > 0)
    if not len(active):
        return
    t, cols, coef = _share_terms(data, index, data.skus["domestic"].astype(float), share)
    row_of = np.full(len(share), -1)
    row_of[active] = np.arange(len(active))
    keep = row_of[t] >= 0
    model.add_rows(
        "domestic_share",
        [(data.labels[i],) for i in active],
        row_of[t][keep],
        cols[keep],
        coef[keep],
        lower=0.0,
    )


def add_vendor_cap(model: LinearModel, data: PlanningData, index: Index) -> None:
    """Vendor cap, per vendor v and period t, on the share basis:
    Σ_{k of v} weight·x[k,t] ≤ vendor_cap·Σ_k weight·x[k,t]   ⇔   Σ (1[k of v] − cap)·weight·x ≤ 0.
    """
    cap = data.vendor_cap
    if cap is None or cap >= 1:
        return
    T = len(data.periods)
    x = index.buy if data.share_basis == "spend" else index.use
    vendors = sorted(set(x["sku"].map(data.skus["vendor"]))) if len(x) else []
    keys, rows, cols, vals = [], [], [], []
    for v in vendors:
        member = (data.skus["vendor"] == v).astype(float)
        t, c, coef = _share_terms(data, index, member, np.full(T, cap))
        base = len(keys)
        keys.extend((v, data.labels[i]) for i in range(T))
        rows.append(base + t)
        cols.append(c)
        vals.append(coef)
    if not keys:
        return
    model.add_rows("vendor_cap", keys, np.concatenate(rows), np.concatenate(cols), np.concatenate(vals), upper=0.0)


def add_budget(model: LinearModel, data: PlanningData, index: Index) -> None:
    """Budget: Σ_k price[k,t]·buy[k,t] ≤ budget[t]   (periods with a budget)."""
    budget = data.period_table["budget"].to_numpy()
    active = np.flatnonzero(np.isfinite(budget))
    if not len(active):
        return
    buy = index.buy
    row_of = np.full(len(budget), -1)
    row_of[active] = np.arange(len(active))
    r = row_of[buy["t"].to_numpy()] if len(buy) else np.zeros(0, dtype=np.int64)
    keep = r >= 0
    model.add_rows(
        "budget",
        [(data.labels[i],) for i in active],
        r[keep],
        buy["col"].to_numpy()[keep],
        (buy["price"].to_numpy() * buy["server"].to_numpy())[keep],
        upper=budget[active],
    )


def add_power(model: LinearModel, data: PlanningData, index: Index) -> None:
    """Power: Σ_{k,w} watts[k]·pue·use[k,w,t] ≤ 10^6·power_mw[t]   (periods with a cap)."""
    power = data.period_table["power_mw"].to_numpy()
    active = np.flatnonzero(np.isfinite(power))
    if not len(active):
        return
    use = index.use
    row_of = np.full(len(power), -1)
    row_of[active] = np.arange(len(active))
    r = row_of[use["t"].to_numpy()] if len(use) else np.zeros(0, dtype=np.int64)
    keep = r >= 0
    pue = data.period_table["pue"].to_numpy()
    watts = use["sku"].map(data.skus["watts"]).to_numpy(dtype=float) * pue[use["t"].to_numpy()]
    model.add_rows(
        "power",
        [(data.labels[i],) for i in active],
        r[keep],
        use["col"].to_numpy()[keep],
        watts[keep],
        upper=1e6 * power[active],
    )
