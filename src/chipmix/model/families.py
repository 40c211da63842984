"""The constraint families of ``model.md``, one ``add_<family>`` each.

Each family appends a block of rows (or, for Supply, sets column bounds) to one
:class:`~chipmix.model.matrix.LinearModel` from the tables of
:class:`~chipmix.model.data.PlanningData` and the column :class:`~chipmix.model.variables.Index`,
vectorised with numpy; its docstring carries its inequality in the notation of ``model.md``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from chipmix.model.data import PlanningData
from chipmix.model.matrix import LinearModel
from chipmix.model.variables import Index, service_window, share_weights


def add_supply(model: LinearModel, data: PlanningData, index: Index) -> None:
    """Supply, per purchase tranche j of period t (a run of equal terms).

    ``buy[k,t,j] = server[k]·n[k,t,j] ≤ supply[k,t,j]``, as the column bound
    ``n[k,t,j] ≤ floor(supply[k,t,j]/server[k])`` tightened by the budget, the vendor's pool
    and the need (``index.buy.ub``, see :func:`chipmix.model.variables.add_variables`).
    """
    if len(index.buy):
        model.set_column_bounds("buy", upper=index.buy["ub"].to_numpy())


def add_fleet(model: LinearModel, data: PlanningData, index: Index) -> None:
    """Fleet.

    ``fleet[k,t] = inv[k] + Σ server[k]·n[k,τ]`` over ``τ`` with ``τ + lead[k] ≤ t < τ +
    lead[k] + life[k]`` (and ``t < retire[k]``).

    The fleet is an expression, not a variable: its purchase terms (one per purchase column
    and period its units are in service) go to ``index.fleet``, and Allocation substitutes
    them. No rows or columns of its own.
    """
    buy = index.buy
    if not len(buy):
        return
    first, last = service_window(data, buy)
    span = last - first
    b = np.repeat(np.arange(len(buy)), span)
    t_in = first[b] + (np.arange(len(b)) - np.repeat(np.cumsum(span) - span, span))
    index.fleet = pd.DataFrame({
        "k_i": buy["k_i"].to_numpy()[b],
        "t": t_in,
        "col": buy["col"].to_numpy()[b],
        "server": buy["server"].to_numpy(dtype=float)[b],
    })


def add_allocation(model: LinearModel, data: PlanningData, index: Index) -> None:
    """Allocation.

    ``Σ_w use[k,w,t] ≤ fleet[k,t]``, with the fleet substituted: ``Σ_w use[k,w,t] − Σ_τ
    server[k]·n[k,τ] ≤ inv[k]`` (one row per SKU and period where k has use; from
    ``retire[k]`` on k has no use at all).
    """
    use, fleet = index.use, index.fleet
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
    if len(fleet):
        r = row_of[fleet["k_i"].to_numpy(), fleet["t"].to_numpy()]
        hit = r >= 0
        rows.append(r[hit])
        cols.append(fleet["col"].to_numpy()[hit])
        vals.append(-fleet["server"].to_numpy(dtype=float)[hit])
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
    z_col = dict(zip(zip(port["vendor"].to_numpy(), port["workload"].to_numpy(), strict=True),
                     port["col"].to_numpy(dtype=float), strict=True))
    vendor_of = data.skus["vendor"].to_dict()
    z = np.fromiter((z_col.get((vendor_of[k], w), np.nan) for k, w in
                     zip(use["sku"].to_numpy(), use["workload"].to_numpy(), strict=True)),
                    dtype=float, count=len(use))
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
        np.concatenate([np.ones(n), -use["ub"].to_numpy()[sel]]),
        upper=0.0,
    )


def _share_terms(data: PlanningData, index: Index, member: np.ndarray, share_of_t: np.ndarray,
                 measure: str | None = None, basis: str | None = None
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Σ (member[k] − s[t])·weight·x over what the share measures (``data.share_measure``).

    ``measure`` and ``basis`` default to the policy's (``share_measure``, ``share_basis``); a
    rule floor passes its own.

    Returns ``(t, cols, vals, const)``: one entry per (period row, column), and per period
    the constant part (the fleet's inventory), which belongs on the right-hand side.
    ``member`` is 1/0 per SKU in ``data.skus`` order.

    - use: ``x = use[k,w,t]``, weight bf16 TFLOPS (compute) or 1 (units) per unit;
    - purchases: ``x = n[k,t]`` (servers), weight price·server (spend) or TFLOPS·server /
      server cards;
    - fleet: ``fleet[k,t] = inv[k] + Σ server[k]·n[k,τ]`` over the purchases in service at t
      (``index.fleet``, from :func:`add_fleet`), weight per unit as for use.
    """
    T = len(data.periods)
    const = np.zeros(T)
    measure = measure or data.share_measure
    basis = basis or data.share_basis
    if measure == "use":
        x = index.use
        weight = share_weights(data, basis)[x["k_i"].to_numpy()]
        t = x["t"].to_numpy()
        coef = (member[x["k_i"].to_numpy()] - share_of_t[t]) * weight
        return t, x["col"].to_numpy(), coef, const
    buy = index.buy
    k_b = buy["k_i"].to_numpy()
    if basis == "spend":
        per_server = buy["price"].to_numpy() * buy["server"].to_numpy()
    else:
        per_server = share_weights(data, basis)[k_b] * buy["server"].to_numpy()
    if measure == "purchases":
        t = buy["t"].to_numpy()
        coef = (member[k_b] - share_of_t[t]) * per_server
        return t, buy["col"].to_numpy(), coef, const
    # fleet: every period a purchase is in service (the Fleet family's terms), plus the
    # inventory as a constant
    fleet = index.fleet
    k_f = fleet["k_i"].to_numpy(dtype=np.int64)
    t = fleet["t"].to_numpy(dtype=np.int64)
    if basis == "spend":  # not reached: the spend basis measures purchases
        raise ValueError("the spend basis cannot measure the fleet")
    coef = (member[k_f] - share_of_t[t]) * share_weights(data, basis)[k_f] * fleet["server"].to_numpy(
        dtype=float)
    skus = data.skus
    weight = share_weights(data, basis)
    inventory = skus["inventory"].to_numpy(dtype=float) * weight
    alive = np.arange(T)[None, :] < skus["retire_t"].to_numpy(dtype=np.int64)[:, None]
    const = ((member[:, None] - share_of_t[None, :]) * inventory[:, None] * alive).sum(axis=0)
    return t, fleet["col"].to_numpy(dtype=np.int64), coef, const


def add_domestic_share(model: LinearModel, data: PlanningData, index: Index) -> None:
    """Domestic share, per period t with share[t] > 0, on the scenario's basis.

    compute: Σ_{k∈D} bf16[k]·x[k,t]       ≥ share[t]·Σ_k bf16[k]·x[k,t]
    units:   Σ_{k∈D} x[k,t]               ≥ share[t]·Σ_k x[k,t]
    spend:   Σ_{k∈D} price[k,t]·buy[k,t]  ≥ share[t]·Σ_k price[k,t]·buy[k,t]
    with x what ``share_of`` measures: units in use (Σ_w use[k,w,t]), the fleet
    (fleet[k,t], idle units included) or the period's purchases (buy[k,t]); written as
    Σ (1[k∈D] − share[t])·weight·x ≥ 0, the fleet's inventory moved to the right-hand side.
    """
    share = data.period_table["share"].to_numpy()
    active = np.flatnonzero(share > 0)
    if not len(active):
        return
    member = data.skus["domestic"].to_numpy(dtype=float)
    t, cols, coef, const = _share_terms(data, index, member, share)
    row_of = np.full(len(share), -1)
    row_of[active] = np.arange(len(active))
    keep = row_of[t] >= 0
    model.add_rows(
        "domestic_share",
        [(data.labels[i],) for i in active],
        row_of[t][keep],
        cols[keep],
        coef[keep],
        lower=-const[active],
    )


def add_share_floors(model: LinearModel, data: PlanningData, index: Index) -> None:
    """Rule floors on another (of, basis) than the policy's: one row per period and (of, basis).

    ``Σ (1[k∈D] − floor[t])·weight·x ≥ 0`` as :func:`add_domestic_share`, with ``x`` and
    ``weight`` what the floor measures (``data.floors``; the floors on the policy's own (of,
    basis) are merged into its rows instead). Keys ``(period, of, basis)``.
    """
    floors = data.floors
    if floors is None or not len(floors):
        return
    own = floors[~floors["merged"].astype(bool) & (floors["floor"] > 0)]
    if not len(own):
        return
    T = len(data.periods)
    member = data.skus["domestic"].to_numpy(dtype=float)
    keys: list[tuple[str, str, str]] = []
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    vals: list[np.ndarray] = []
    lower: list[float] = []
    for (of, basis), group in own.groupby(["of", "basis"], sort=True):
        share = np.zeros(T)
        share[group["t"].to_numpy(dtype=np.int64)] = group["floor"].to_numpy(dtype=float)
        t, c, coef, const = _share_terms(data, index, member, share, measure=str(of),
                                         basis=str(basis))
        active = np.flatnonzero(share > 0)
        row_of = np.full(T, -1)
        row_of[active] = len(keys) + np.arange(len(active))
        keep = row_of[t] >= 0
        keys.extend((data.labels[i], str(of), str(basis)) for i in active)
        rows.append(row_of[t][keep])
        cols.append(c[keep])
        vals.append(coef[keep])
        lower.extend(float(-const[i]) for i in active)
    model.add_rows(
        "share_floor",
        keys,
        np.concatenate(rows),
        np.concatenate(cols),
        np.concatenate(vals),
        lower=np.asarray(lower),
    )


def add_vendor_cap(model: LinearModel, data: PlanningData, index: Index) -> None:
    """Vendor cap, per vendor v and period t, on the share basis.

    Σ_{k of v} weight·x[k,t] ≤ vendor_cap·Σ_k weight·x[k,t]   ⇔   Σ (1[k of v] −
    cap)·weight·x ≤ 0.
    """
    cap = data.vendor_cap
    if cap is None or cap >= 1:
        return
    T = len(data.periods)
    x = index.use if data.share_measure == "use" else index.buy
    vendors: set[str] = set(x["sku"].map(data.skus["vendor"])) if len(x) else set()
    if data.share_measure == "fleet":  # owned units count in the fleet
        owned = data.skus["inventory"].to_numpy(dtype=float) > 0
        vendors |= set(data.skus["vendor"][owned])
    keys: list[tuple[str, str]] = []
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    vals: list[np.ndarray] = []
    upper: list[np.ndarray] = []
    for v in sorted(vendors):
        member = (data.skus["vendor"] == v).to_numpy(dtype=float)
        t, c, coef, const = _share_terms(data, index, member, np.full(T, cap))
        base = len(keys)
        keys.extend((v, data.labels[i]) for i in range(T))
        rows.append(base + t)
        cols.append(c)
        vals.append(coef)
        upper.append(-const)
    if not keys:
        return
    model.add_rows(
        "vendor_cap",
        keys,
        np.concatenate(rows),
        np.concatenate(cols),
        np.concatenate(vals),
        upper=np.concatenate(upper),
    )


def add_pools(model: LinearModel, data: PlanningData, index: Index) -> None:
    """Vendor supply pools.

    Vendor supply pools: Σ_{k of vendor v} server[k]·n[k,t] ≤ pool[v,t] (one row per vendor with a
    pool and period where the pool is finite and the vendor has a purchase column).
    """
    pools = data.pools
    buy = index.buy
    if pools is None or not len(pools.columns) or not len(buy):
        return
    vendor_of = buy["sku"].map(data.skus["vendor"]).to_numpy()
    keys: list[tuple[str, str]] = []
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    vals: list[np.ndarray] = []
    upper: list[np.ndarray] = []
    for v in pools.columns:  # sorted by prepare
        limit = pools[v].to_numpy(dtype=float)
        mine = vendor_of == v
        t_b = buy["t"].to_numpy()[mine]
        periods = np.unique(t_b[np.isfinite(limit[t_b])])
        if not len(periods):
            continue
        row_of = np.full(len(limit), -1)
        row_of[periods] = len(keys) + np.arange(len(periods))
        keys.extend((v, data.labels[i]) for i in periods)
        r = row_of[t_b]
        keep = r >= 0
        rows.append(r[keep])
        cols.append(buy["col"].to_numpy()[mine][keep])
        vals.append(buy["server"].to_numpy(dtype=float)[mine][keep])
        upper.append(limit[periods])
    if not keys:
        return
    model.add_rows("pools", keys, np.concatenate(rows), np.concatenate(cols),
                   np.concatenate(vals), upper=np.concatenate(upper))


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


__all__ = ["add_allocation", "add_budget", "add_demand", "add_domestic_share", "add_fleet",
           "add_pools", "add_porting", "add_power", "add_supply", "add_vendor_cap"]
