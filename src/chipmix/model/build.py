"""The model builder: ``build(data)`` is one ``add_<family>`` call per constraint family.

Each family appends a block of rows to one :class:`LinearModel` from the tables of
:class:`PlanningData`, vectorised with numpy; its docstring carries its inequality in the
notation of ``model.md``.
"""

from __future__ import annotations

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


def build(data: PlanningData, *, keep_idle: bool = False) -> tuple[LinearModel, Index]:
    """The whole planning model of ``model.md`` as one sparse matrix.

    ``keep_idle`` keeps the purchase columns the builder's need bound would drop (a SKU this
    scenario could buy but never use) and the porting columns of vendors without use: a
    stochastic program ties them to other scenarios' decisions (``chipmix.hedge``), where
    they cost money without serving. The deterministic model never needs them.
    """
    model = LinearModel()
    index = add_variables(model, data, keep_idle=keep_idle)
    add_allocation(model, data, index)
    add_demand(model, data, index)
    add_porting(model, data, index)
    add_domestic_share(model, data, index)
    add_vendor_cap(model, data, index)
    add_budget(model, data, index)
    add_power(model, data, index)
    return model, index


# -- variables and objective -------------------------------------------------------------------


def _share_weights(data: PlanningData) -> np.ndarray:
    """Per SKU (in skus order): its weight in a use-based share (compute: bf16 TFLOPS; units: 1)."""
    if data.share_basis == "compute":
        return data.skus["weight"].to_numpy(dtype=float)
    return np.ones(len(data.skus))


def add_variables(model: LinearModel, data: PlanningData, *, keep_idle: bool = False) -> Index:
    """Columns, their bounds, and the objective.

    minimise Σ_t δ[t]·( Σ_k price[k,t]·buy[k,t] + Σ_{k,w} watts[k]·pue·hours[t]·energy_price[t]/1000·use[k,w,t]
                        + Σ_w penalty[w]·short[w,t] ) + Σ_{v,w} port[v,w]·z[v,w]

    Supply: buy[k,t] = server[k]·n[k,t] ≤ supply[k,t], n integer: a column bound
    ``n[k,t] ≤ floor(supply[k,t]/server[k])``, tightened by the budget and by the most units
    any period could use (demand ÷ cap), never by an arbitrary constant. On the spend basis a
    share or vendor-cap policy can make buying beyond use pay; the bound then adds the servers
    such a policy could reward (``_spend_padding_servers``).

    The index keeps both parts of the bound: ``ub_hard`` (supply and budget: the model's own
    limits) and ``ub_need`` (implied by demand: never binding at an optimum of *this*
    scenario). ``keep_idle``: see :func:`build`.
    """
    T = len(data.periods)
    pt = data.period_table
    skus = data.skus
    K = len(skus)
    sku_pos = pd.Series(np.arange(K), index=skus.index)
    w_pos = pd.Series(np.arange(len(data.demand.columns)), index=data.demand.columns)
    disc = pt["discount"].to_numpy()
    demand = data.demand.to_numpy()  # T × W

    # eligible (k, w) pairs whose use can be costed (a SKU without tdp_w is never used)
    pairs = data.cap.reset_index()
    pairs = pairs[pairs["sku"].map(skus["watts"]).notna().to_numpy()].reset_index(drop=True)
    pairs["k_i"] = pairs["sku"].map(sku_pos).to_numpy(dtype=np.int64)
    pairs["w_j"] = pairs["workload"].map(w_pos).to_numpy(dtype=np.int64)
    # need_ub[p, t]: the most units of pair p's SKU that its workload can use at t (delivery
    # never exceeds demand: see add_demand)
    need_ub = demand[:, pairs["w_j"].to_numpy()].T / pairs["cap"].to_numpy()[:, None]
    per_sku_need = np.zeros((K, T))
    np.add.at(per_sku_need, pairs["k_i"].to_numpy(), need_ub)
    most_units = per_sku_need.max(axis=1) if T else np.zeros(K)  # units of k worth owning at once

    # -- n[k,t]: servers bought ------------------------------------------------------------
    supply = data.supply.to_numpy()  # T × K
    server = skus["server"].to_numpy(dtype=float)
    t_idx, k_idx = np.nonzero(supply >= server[None, :])
    price = data.price.to_numpy()[t_idx, k_idx]
    hard = np.floor(supply[t_idx, k_idx] / server[k_idx])
    budget = pt["budget"].to_numpy()[t_idx]
    with np.errstate(invalid="ignore", divide="ignore"):
        budget_servers = np.floor(budget / (price * server[k_idx]) + 1e-9)
    hard = np.fmin(hard, np.where(np.isnan(budget_servers), INF, budget_servers))
    need_servers = np.ceil(most_units[k_idx] / server[k_idx] - 1e-9)
    if data.share_basis == "spend":
        need_servers = need_servers + _spend_padding_servers(data, t_idx, k_idx, price, need_servers)
    ub = np.fmin(hard, need_servers)
    keep = (hard > 0) if keep_idle else (ub > 0)
    order = np.lexsort((k_idx[keep], t_idx[keep]))
    buy = pd.DataFrame(
        {
            "sku": skus.index.to_numpy()[k_idx[keep]][order],
            "t": t_idx[keep][order],
            "k_i": k_idx[keep][order],
            "supply": supply[t_idx, k_idx][keep][order],
            "server": server[k_idx[keep]][order].astype(int),
            "price": price[keep][order],
            "ub": ub[keep][order],
            "ub_hard": hard[keep][order],
            "ub_need": need_servers[keep][order],
        }
    )
    block = model.add_columns(
        "buy",
        (buy["sku"].to_numpy(), np.asarray(data.labels, dtype=object)[buy["t"].to_numpy()]),
        upper=buy["ub"].to_numpy(),
        cost=disc[buy["t"].to_numpy()] * buy["price"].to_numpy() * buy["server"].to_numpy(),
        integer=True,
    )
    buy["col"] = np.arange(block.start, block.stop)

    # -- fleet bound: the most units of k that can be in service at t ------------------------
    first, last = service_window(data, buy)
    units = buy["server"].to_numpy() * buy["ub"].to_numpy()
    unlimited = np.isinf(units)
    k_b = buy["k_i"].to_numpy()
    finite = np.zeros((K, T + 1))  # difference arrays: +units at first, −units at last
    np.add.at(finite, (k_b[~unlimited], first[~unlimited]), units[~unlimited])
    np.add.at(finite, (k_b[~unlimited], last[~unlimited]), -units[~unlimited])
    open_ended = np.zeros((K, T + 1), dtype=np.int64)  # windows with unlimited purchases
    np.add.at(open_ended, (k_b[unlimited], first[unlimited]), 1)
    np.add.at(open_ended, (k_b[unlimited], last[unlimited]), -1)
    max_fleet = np.cumsum(finite, axis=1)[:, :T]
    max_fleet[np.cumsum(open_ended, axis=1)[:, :T] > 0] = INF
    retire = skus["retire_t"].to_numpy(dtype=np.int64)
    alive = np.arange(T)[None, :] < retire[:, None]
    max_fleet = np.where(alive, max_fleet + skus["inventory"].to_numpy(dtype=float)[:, None], 0.0)

    # -- use[k,w,t] --------------------------------------------------------------------------
    p_idx, t_use = np.nonzero(np.ones((len(pairs), T), dtype=bool))
    k_use = pairs["k_i"].to_numpy()[p_idx]
    fleet_ub = max_fleet[k_use, t_use]
    ub_use = np.fmin(fleet_ub, need_ub[p_idx, t_use])
    # no column where the workload has no demand at t (delivery never exceeds demand)
    keep = ub_use > 0
    p_idx, t_use, k_use, ub_use, fleet_ub = (
        p_idx[keep],
        t_use[keep],
        k_use[keep],
        ub_use[keep],
        fleet_ub[keep],
    )
    order = np.lexsort((pairs["workload"].to_numpy()[p_idx], k_use, t_use))
    p_idx, t_use, k_use, ub_use, fleet_ub = (
        a[order] for a in (p_idx, t_use, k_use, ub_use, fleet_ub)
    )
    watts = skus["watts"].to_numpy(dtype=float)[k_use]
    energy = (
        watts
        * (pt["pue"].to_numpy() * pt["hours"].to_numpy() * pt["energy_price"].to_numpy())[t_use]
        / 1000.0
    )
    use = pd.DataFrame(
        {
            "sku": pairs["sku"].to_numpy()[p_idx],
            "workload": pairs["workload"].to_numpy()[p_idx],
            "t": t_use,
            "k_i": k_use,
            "w_j": pairs["w_j"].to_numpy()[p_idx],
            "cap": pairs["cap"].to_numpy()[p_idx],
            "ub": ub_use,
            "need_ub": ub_use,
            "fleet_ub": fleet_ub,
            "energy_per_unit": energy,
        }
    )
    block = model.add_columns(
        "use",
        (
            use["sku"].to_numpy(),
            use["workload"].to_numpy(),
            np.asarray(data.labels, dtype=object)[t_use],
        ),
        upper=ub_use,
        cost=disc[t_use] * energy,
    )
    use["col"] = np.arange(block.start, block.stop)

    # -- z[v,w]: porting binaries -----------------------------------------------------------
    port = data.port.reset_index()
    if keep_idle:
        pass  # every pair the scenario could port (a hedge ties z across scenarios)
    elif len(port) and len(use):
        used = pd.MultiIndex.from_arrays([use["sku"].map(skus["vendor"]), use["workload"]]).unique()
        port = port[pd.MultiIndex.from_frame(port[["vendor", "workload"]]).isin(used)]
    else:
        port = port.iloc[0:0]
    port = port.sort_values(["vendor", "workload"]).reset_index(drop=True)
    block = model.add_columns(
        "port",
        (port["vendor"].to_numpy(), port["workload"].to_numpy()),
        upper=1.0,
        cost=port["port"].to_numpy(),
        integer=True,
    )
    port["col"] = np.arange(block.start, block.stop)

    # -- short[w,t] ---------------------------------------------------------------------------
    penalty = data.workloads["penalty"].reindex(data.demand.columns).to_numpy(dtype=float)
    t_s, w_s = np.nonzero((demand > 0) & ~np.isnan(penalty)[None, :])
    short = pd.DataFrame(
        {
            "workload": data.demand.columns.to_numpy()[w_s],
            "t": t_s,
            "w_j": w_s,
            "demand": demand[t_s, w_s],
            "penalty": penalty[w_s],
        }
    )
    block = model.add_columns(
        "short",
        (short["workload"].to_numpy(), np.asarray(data.labels, dtype=object)[t_s]),
        upper=short["demand"].to_numpy(),
        cost=disc[t_s] * short["penalty"].to_numpy(),
    )
    short["col"] = np.arange(block.start, block.stop)
    return Index(buy=buy, use=use, port=port, short=short)


def _spend_padding_servers(data: PlanningData, t_idx, k_idx, price, need_servers) -> np.ndarray:
    """Servers beyond use that a spend-basis policy can make worth buying, per candidate.

    On the spend basis a share ``s`` is met by spending on domestic units: at most
    ``s/(1-s)`` times the most foreign spend worth making in the period (foreign purchases
    beyond use never help it), i.e. ``s/(1-s)·F[t] / (price·server)`` servers of a domestic
    SKU. A vendor cap ``c`` can reward spreading spend: at most ``(1/c - 1)`` times the most
    spend worth making in the period, for any SKU. Zero where no policy applies.
    """
    skus = data.skus
    T = len(data.periods)
    server = skus["server"].to_numpy(dtype=float)[k_idx]
    spend = np.where(np.isfinite(price), price * server * need_servers, 0.0)
    domestic = skus["domestic"].to_numpy(dtype=bool)[k_idx]
    foreign_spend = np.bincount(t_idx, weights=np.where(domestic, 0.0, spend), minlength=T)
    total_spend = np.bincount(t_idx, weights=spend, minlength=T)
    share = data.period_table["share"].to_numpy()
    partial = (share > 0) & (share < 1)
    extra = np.where(partial, share / np.where(partial, 1.0 - share, 1.0), 0.0) * foreign_spend
    cap = data.vendor_cap
    spread = (1.0 / cap - 1.0) * (total_spend + extra) if cap is not None and 0 < cap < 1 else 0.0
    budget = np.where(domestic, extra[t_idx], 0.0) + (spread[t_idx] if np.ndim(spread) else 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        servers = np.ceil(budget / (price * server) - 1e-9)
    return np.where(np.isfinite(servers) & (servers > 0), servers, 0.0)


def service_window(data: PlanningData, buy: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Per purchase column: first and last+1 period its units are in service."""
    T = len(data.periods)
    skus = data.skus
    k_i = buy["k_i"].to_numpy()
    lead = skus["lead"].to_numpy(dtype=np.int64)[k_i]
    life = skus["life"].to_numpy(dtype=float)[k_i]
    retire = skus["retire_t"].to_numpy(dtype=np.int64)[k_i]
    first = np.minimum(buy["t"].to_numpy() + lead, T)
    end_of_life = np.where(np.isfinite(life), first + np.nan_to_num(life, posinf=0.0), T)
    last = np.minimum(np.minimum(retire, T), end_of_life.astype(np.int64))
    last = np.maximum(last, first)
    return first, last


# -- constraint families --------------------------------------------------------------------


def add_allocation(model: LinearModel, data: PlanningData, index: Index) -> None:
    """Fleet and allocation.

    fleet[k,t] = inv[k] + Σ server[k]·n[k,τ] over τ with τ + lead[k] ≤ t < τ + lead[k] + life[k]
    Σ_w use[k,w,t] ≤ fleet[k,t]   ⇔   Σ_w use[k,w,t] − Σ_τ server[k]·n[k,τ] ≤ inv[k]
    (one row per SKU and period where k has use; from retire[k] on k has no use at all)
    """
    use, buy = index.use, index.buy
    if not len(use):
        return
    K, T = len(data.skus), len(data.periods)
    has_use = np.zeros((T, K), dtype=bool)
    has_use[use["t"].to_numpy(), use["k_i"].to_numpy()] = True
    t_r, k_r = np.nonzero(has_use)  # rows ordered by (t, sku)
    row_of = np.full((K, T), -1, dtype=np.int64)
    row_of[k_r, t_r] = np.arange(len(k_r))
    rows = [row_of[use["k_i"].to_numpy(), use["t"].to_numpy()]]
    cols = [use["col"].to_numpy()]
    vals = [np.ones(len(use))]
    if len(buy):
        first, last = service_window(data, buy)
        span = last - first
        b = np.repeat(np.arange(len(buy)), span)
        t_in = first[b] + (np.arange(len(b)) - np.repeat(np.cumsum(span) - span, span))
        r = row_of[buy["k_i"].to_numpy()[b], t_in]
        hit = r >= 0
        rows.append(r[hit])
        cols.append(buy["col"].to_numpy()[b][hit])
        vals.append(-buy["server"].to_numpy(dtype=float)[b][hit])
    labels = np.asarray(data.labels, dtype=object)
    model.add_rows(
        "allocation",
        (data.skus.index.to_numpy()[k_r], labels[t_r]),
        np.concatenate(rows),
        np.concatenate(cols),
        np.concatenate(vals),
        upper=data.skus["inventory"].to_numpy(dtype=float)[k_r],
    )


def add_demand(model: LinearModel, data: PlanningData, index: Index) -> None:
    """Demand: Σ_k cap[k,w]·use[k,w,t] + short[w,t] = demand[w,t]   (rows where demand > 0).

    model.md writes ≥; chipmix delivers exactly the demand and leaves surplus units idle
    (``fleet`` may exceed ``use``). The two agree whenever over-delivery is not rewarded; they
    differ only where a use-based share or vendor cap could be met by running idle units, which
    chipmix does not count (docs/planning-model.md). It also makes demand ÷ cap an exact bound
    on use, which the porting big-M relies on.
    """
    demand = data.demand.to_numpy()  # T × W
    t_r, w_r = np.nonzero(demand > 0)  # ordered by (t, workload position)
    if not len(t_r):
        return
    row_of = np.full(demand.shape, -1, dtype=np.int64)
    row_of[t_r, w_r] = np.arange(len(t_r))
    use, short = index.use, index.short
    u_rows = (
        row_of[use["t"].to_numpy(), use["w_j"].to_numpy()] if len(use) else np.zeros(0, np.int64)
    )
    keep = u_rows >= 0
    s_rows = (
        row_of[short["t"].to_numpy(), short["w_j"].to_numpy()]
        if len(short)
        else np.zeros(0, np.int64)
    )
    model.add_rows(
        "demand",
        (data.demand.columns.to_numpy()[w_r], np.asarray(data.labels, dtype=object)[t_r]),
        np.concatenate([u_rows[keep], s_rows]),
        np.concatenate([use["col"].to_numpy()[keep], short["col"].to_numpy()]),
        np.concatenate([use["cap"].to_numpy()[keep], np.ones(len(short))]),
        lower=demand[t_r, w_r],
        upper=demand[t_r, w_r],
    )


def add_porting(model: LinearModel, data: PlanningData, index: Index) -> None:
    """Porting: use[k,w,t] ≤ M[k,w,t]·z[vendor(k),w].

    M is the tightest bound at hand: use's own upper bound, the smaller of the units of k that
    can exist at t and the units w can use at t (its demand there ÷ cap[k,w]) — never an
    arbitrary constant.
    """
    port, use = index.port, index.use
    if not len(port) or not len(use):
        return
    z_col = pd.Series(
        port["col"].to_numpy(dtype=float),
        index=pd.MultiIndex.from_frame(port[["vendor", "workload"]]),
    )
    key = pd.MultiIndex.from_arrays([use["sku"].map(data.skus["vendor"]), use["workload"]])
    z = z_col.reindex(key).to_numpy()
    sel = ~np.isnan(z)
    if not sel.any():
        return
    n = int(sel.sum())
    r = np.arange(n)
    model.add_rows(
        "porting",
        (
            use["sku"].to_numpy()[sel],
            use["workload"].to_numpy()[sel],
            np.asarray(data.labels, dtype=object)[use["t"].to_numpy()[sel]],
        ),
        np.concatenate([r, r]),
        np.concatenate([use["col"].to_numpy()[sel], z[sel].astype(np.int64)]),
        np.concatenate([np.ones(n), -use["need_ub"].to_numpy()[sel]]),
        upper=0.0,
    )


def _share_terms(data: PlanningData, index: Index, member: np.ndarray, share_of_t: np.ndarray):
    """Rows (t), cols, vals of Σ (member[k] − s[t])·weight·x over the basis' variables.

    ``member`` is 1/0 per SKU in ``data.skus`` order.
    """
    if data.share_basis == "spend":
        x = index.buy
        weight = x["price"].to_numpy() * x["server"].to_numpy()
    else:
        x = index.use
        weight = _share_weights(data)[x["k_i"].to_numpy()]
    t = x["t"].to_numpy()
    coef = (member[x["k_i"].to_numpy()] - share_of_t[t]) * weight
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
    t, cols, coef = _share_terms(data, index, data.skus["domestic"].to_numpy(dtype=float), share)
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
        member = (data.skus["vendor"] == v).to_numpy(dtype=float)
        t, c, coef = _share_terms(data, index, member, np.full(T, cap))
        base = len(keys)
        keys.extend((v, data.labels[i]) for i in range(T))
        rows.append(base + t)
        cols.append(c)
        vals.append(coef)
    if not keys:
        return
    model.add_rows(
        "vendor_cap",
        keys,
        np.concatenate(rows),
        np.concatenate(cols),
        np.concatenate(vals),
        upper=0.0,
    )


def _period_cap_rows(
    model: LinearModel,
    data: PlanningData,
    name: str,
    limit: np.ndarray,
    x: pd.DataFrame,
    coef: np.ndarray,
) -> None:
    """One ``Σ coef·x[t] ≤ limit[t]`` row per period with a finite limit."""
    active = np.flatnonzero(np.isfinite(limit))
    if not len(active):
        return
    row_of = np.full(len(limit), -1)
    row_of[active] = np.arange(len(active))
    r = row_of[x["t"].to_numpy()] if len(x) else np.zeros(0, dtype=np.int64)
    keep = r >= 0
    model.add_rows(
        name,
        [(data.labels[i],) for i in active],
        r[keep],
        x["col"].to_numpy()[keep],
        np.asarray(coef, dtype=float)[keep],
        upper=limit[active],
    )


def add_budget(model: LinearModel, data: PlanningData, index: Index) -> None:
    """Budget: Σ_k price[k,t]·buy[k,t] ≤ budget[t]   (periods with a budget)."""
    buy = index.buy
    spend = buy["price"].to_numpy() * buy["server"].to_numpy()
    _period_cap_rows(model, data, "budget", data.period_table["budget"].to_numpy(), buy, spend)


def add_power(model: LinearModel, data: PlanningData, index: Index) -> None:
    """Power: Σ_{k,w} watts[k]·pue·use[k,w,t] ≤ 10^6·power_mw[t]   (periods with a cap)."""
    use = index.use
    pue = data.period_table["pue"].to_numpy()
    watts = (
        data.skus["watts"].to_numpy(dtype=float)[use["k_i"].to_numpy()] * pue[use["t"].to_numpy()]
    )
    limit = 1e6 * data.period_table["power_mw"].to_numpy()
    _period_cap_rows(model, data, "power", limit, use, watts)
