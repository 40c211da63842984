"""The variables of ``model.md``: one column block per family, with their implied bounds.

- ``buy[sku,period]`` — ``n[k,t,j] ∈ ℤ≥0`` servers bought (``buy = server·n`` units), one
  column per SKU, period and purchase tranche in which at least a whole server can be bought
  (a later tranche of the period is ``buy[sku,period@first day]``);
- ``use[sku,workload,period]`` — units of ``k`` serving ``w`` in ``t``, one column per
  eligible pair and period with demand;
- ``port[vendor,workload]`` — ``z[v,w] ∈ {0,1}``, where porting costs money;
- ``short[workload,period]`` — unmet demand, where the workload has a shortfall penalty.

Each block comes with its :class:`Index` table (one row per column: keys, positions, the
figures the families and the objective need, and ``col``). Bounds set here are only those
*implied* by other constraints and never cut an optimum: ``use ≤`` the units that could be in
service and the units the workload can use (delivery equals demand), ``short ≤ demand``,
``z ≤ 1``. The purchase bound is the Supply family's (:func:`chipmix.model.families.add_supply`;
its value ``index.buy.ub`` is computed here because it decides which columns exist), costs are
the objective's (:func:`chipmix.model.objective.add_objective`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from chipmix.model.data import PlanningData, purchase_tranches
from chipmix.model.matrix import INF, LinearModel


@dataclass
class Index:
    """Column index tables: one DataFrame per variable family with a ``col`` column.

    Attributes
    ----------
    buy : sku, t, k_i, tranche (its number in the period), start, end (its days
        ``[start, end)``), supply (the tranche's units), server, price, ub (the Supply bound:
        the smaller of ``ub_hard`` — supply, budget and pool — and ``ub_need`` — the servers
        any period could use), col.
    use : sku, workload, t, k_i, w_j, cap, ub, energy_per_unit (USD per unit in use), col.
    port : vendor, workload, port (USD), col.
    short : workload, t, w_j, demand, penalty, col.
    fleet : the Fleet family's terms (:func:`chipmix.model.families.add_fleet`): one row per
        purchase column and period its units are in service (k_i, t, col, units per server).
    """

    buy: pd.DataFrame
    use: pd.DataFrame
    port: pd.DataFrame
    short: pd.DataFrame
    fleet: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(
        {"k_i": np.zeros(0, np.int64), "t": np.zeros(0, np.int64),
         "col": np.zeros(0, np.int64), "server": np.zeros(0)}))


def add_variables(model: LinearModel, data: PlanningData, *, keep_idle: bool = False) -> Index:
    """Every column block (module docstring), in the order buy, use, port, short.

    ``keep_idle`` keeps the purchase columns the need bound would drop (a SKU this scenario
    could buy but never use) and the porting columns of vendors without use: a stochastic
    program ties them to other scenarios' decisions (``chipmix.hedge``).
    """
    pairs, need_ub = _usable_pairs(data)
    buy = _add_buy(model, data, _most_units(data, pairs, need_ub), keep_idle)
    use = _add_use(model, data, pairs, need_ub, _max_fleet(data, buy))
    port = _add_port(model, data, use, keep_idle)
    short = _add_short(model, data)
    return Index(buy=buy, use=use, port=port, short=short)


def share_weights(data: PlanningData, basis: str | None = None) -> np.ndarray:
    """Per-unit weights of a share on the compute or units basis.

    Per SKU (in skus order): its weight per unit in a share on the compute or units basis (compute:
    bf16 TFLOPS; units: 1). ``basis`` defaults to the policy's ``share_basis``.
    """
    if (basis or data.share_basis) == "compute":
        weights: np.ndarray = data.skus["weight"].to_numpy(dtype=float)
        return weights
    return np.ones(len(data.skus))


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


# -- the need: what demand can use ---------------------------------------------------------------


def _usable_pairs(data: PlanningData) -> tuple[pd.DataFrame, np.ndarray]:
    """Eligible (k, w) pairs whose use can be costed, and ``need_ub[p, t]``.

    A SKU without tdp_w is never used. ``need_ub[p, t]`` is the most units of pair p's SKU
    its workload can use at t (delivery never exceeds demand: see
    :func:`chipmix.model.families.add_demand`).
    """
    skus, cap = data.skus, data.cap
    sku_pos = {k: i for i, k in enumerate(skus.index)}
    w_pos = {w: j for j, w in enumerate(data.demand.columns)}
    sku_of, workload_of = (cap.index.get_level_values(name) for name in ("sku", "workload"))
    k_i = np.fromiter((sku_pos[k] for k in sku_of), dtype=np.int64, count=len(cap))
    w_j = np.fromiter((w_pos[w] for w in workload_of), dtype=np.int64, count=len(cap))
    keep = ~np.isnan(skus["watts"].to_numpy(dtype=float)[k_i])
    pairs = pd.DataFrame({"sku": sku_of.array[keep], "workload": workload_of.array[keep],
                          "cap": cap.to_numpy(dtype=float)[keep], "k_i": k_i[keep],
                          "w_j": w_j[keep]})
    demand = data.demand.to_numpy()  # T × W
    need_ub = demand[:, pairs["w_j"].to_numpy()].T / pairs["cap"].to_numpy()[:, None]
    return pairs, need_ub


def _most_units(data: PlanningData, pairs: pd.DataFrame, need_ub: np.ndarray) -> np.ndarray:
    """Per SKU: the most units worth owning at once (the peak of its summed need)."""
    K, T = len(data.skus), len(data.periods)
    per_sku_need = np.zeros((K, T))
    np.add.at(per_sku_need, pairs["k_i"].to_numpy(), need_ub)
    return per_sku_need.max(axis=1) if T else np.zeros(K)


# -- n[k,t]: servers bought ----------------------------------------------------------------------


def _add_buy(model: LinearModel, data: PlanningData, most_units: np.ndarray,
             keep_idle: bool) -> pd.DataFrame:
    """The ``buy`` block and its index; ``ub`` is the Supply bound (applied by add_supply).

    Purchases are per tranche (a run of equal terms inside the period,
    :func:`~chipmix.model.data.purchase_tranches`): ``n[k,t,j]`` servers at the tranche's
    price. Supply: ``n[k,t,j] ≤ floor(supply[k,t,j]/server[k])``, tightened by the budget, the
    vendor's pool and the most units any period could use (demand ÷ cap), never by an
    arbitrary constant. A share or vendor-cap policy that measures purchases or the fleet
    (the spend basis, ``share_of``) can make buying beyond use pay; the bound then adds the
    servers such a policy could reward (:func:`_policy_padding_servers`). The index keeps both
    parts: ``ub_hard`` (supply, budget and pool: the model's own limits) and ``ub_need``
    (implied by demand: never binding at an optimum of *this* scenario). Column keys:
    ``(sku, period)`` for a period's first tranche, ``(sku, period@first day)`` for the others.
    """
    skus = data.skus
    server = skus["server"].to_numpy(dtype=float)
    tranches = purchase_tranches(data)
    tranches = tranches[tranches["supply"].to_numpy(dtype=float)
                        >= server[tranches["k_i"].to_numpy()]].reset_index(drop=True)
    t_idx = tranches["t"].to_numpy(dtype=np.int64)
    k_idx = tranches["k_i"].to_numpy(dtype=np.int64)
    supply = tranches["supply"].to_numpy(dtype=float)
    price = tranches["price"].to_numpy(dtype=float)
    hard = np.floor(supply / server[k_idx])
    budget = data.period_table["budget"].to_numpy()[t_idx]
    with np.errstate(invalid="ignore", divide="ignore"):
        budget_servers = np.floor(budget / (price * server[k_idx]) + 1e-9)
    hard = np.fmin(hard, np.where(np.isnan(budget_servers), INF, budget_servers))
    pools = _pool_limits(data)[t_idx, k_idx]  # units of the SKU's vendor pool (inf: none)
    with np.errstate(invalid="ignore"):
        hard = np.fmin(hard, np.floor(pools / server[k_idx] + 1e-9))
    need_servers = np.ceil(most_units[k_idx] / server[k_idx] - 1e-9)
    need_servers = need_servers + _padding_servers(data, t_idx, k_idx, price, need_servers)
    ub = np.fmin(hard, need_servers)
    keep = (hard > 0) if keep_idle else (ub > 0)
    kept = tranches[keep].reset_index(drop=True)  # sorted by period, SKU and start
    buy = pd.DataFrame(
        {
            "sku": skus.index.to_numpy()[k_idx[keep]],
            "t": t_idx[keep],
            "k_i": k_idx[keep],
            "tranche": kept["tranche"].to_numpy(dtype=np.int64),
            "start": kept["start"].to_numpy(),
            "end": kept["end"].to_numpy(),
            "supply": supply[keep],
            "server": server[k_idx[keep]].astype(int),
            "price": price[keep],
            "ub": ub[keep],
            "ub_hard": hard[keep],
            "ub_need": need_servers[keep],
        }
    )
    labels = np.asarray(data.labels, dtype=object)[buy["t"].to_numpy()]
    later = buy["tranche"].to_numpy() > 0
    if later.any():
        labels = labels.copy()
        labels[later] = [f"{p}@{d.isoformat()}" for p, d in
                         zip(labels[later], buy["start"].to_numpy()[later], strict=True)]
    block = model.add_columns("buy", (buy["sku"].to_numpy(), labels), integer=True)
    buy["col"] = np.arange(block.start, block.stop)
    return buy


def _pool_limits(data: PlanningData) -> np.ndarray:
    """T × K: units of each SKU's vendor pool per period (inf where the vendor has none)."""
    T, K = len(data.periods), len(data.skus)
    limits = np.full((T, K), np.inf)
    pools = data.pools
    if pools is None or not len(pools.columns):
        return limits
    vendors = data.skus["vendor"].to_numpy()
    for vendor in pools.columns:
        mine = vendors == vendor
        limits[:, mine] = pools[vendor].to_numpy(dtype=float)[:, None]
    return limits


def _padding_servers(data: PlanningData, t_idx: np.ndarray, k_idx: np.ndarray,
                     price: np.ndarray, need_servers: np.ndarray) -> np.ndarray:
    """Servers beyond use that the policy or the rule floors can make worth buying.

    The policy's share and vendor cap where they measure purchases or the fleet, plus each
    rule floor of its own (of, basis) that does (:func:`_policy_padding_servers`, summed:
    each requirement may want its own idle units).
    """
    padding = np.zeros(len(t_idx))
    if data.share_measure != "use":
        padding = _policy_padding_servers(data, t_idx, k_idx, price, need_servers)
    floors = data.floors
    if floors is None or not len(floors):
        return padding
    own = floors[~floors["merged"].astype(bool) & (floors["of"] != "use")]
    for (of, basis), group in own.groupby(["of", "basis"], sort=True):
        share = np.zeros(len(data.periods))
        share[group["t"].to_numpy(dtype=np.int64)] = group["floor"].to_numpy(dtype=float)
        padding = padding + _policy_padding_servers(
            data, t_idx, k_idx, price, need_servers, measure=str(of), basis=str(basis),
            share=share, with_cap=False)
    return padding


def _policy_padding_servers(data: PlanningData, t_idx: np.ndarray, k_idx: np.ndarray,
                            price: np.ndarray, need_servers: np.ndarray, *,
                            measure: str | None = None, basis: str | None = None,
                            share: np.ndarray | None = None, with_cap: bool = True
                            ) -> np.ndarray:
    """Servers beyond use that a share or vendor-cap policy can make worth buying.

    ``measure``, ``basis`` and ``share`` (per period) default to the policy's; a rule floor
    passes its own and ``with_cap=False`` (the vendor cap is the policy's alone).

    Per candidate, where the policy measures purchases or the fleet (``share_measure``).
    The share is measured in ``a`` per server: price·server on the spend basis, bf16
    TFLOPS·server (compute) or server cards (units) otherwise. A share ``s`` is then met by
    domestic amounts of at most ``s/(1-s)`` times the most foreign amount worth having (foreign
    units beyond use never help it): ``s/(1-s)·F / a`` servers of a domestic SKU. ``F`` is the
    foreign amount worth buying in the period (purchases), or over the horizon plus the
    foreign inventory (fleet: a purchase counts in every period it is in service, so the
    largest share ``s`` of the horizon applies). A vendor cap ``c`` can reward spreading: at
    most ``(1/c - 1)`` times the most amount worth having, for any SKU. Zero where no policy
    applies.
    """
    skus = data.skus
    T = len(data.periods)
    server = skus["server"].to_numpy(dtype=float)[k_idx]
    measure = measure or data.share_measure
    basis = basis or data.share_basis
    if basis == "spend":
        per_server = price * server
    else:
        per_server = share_weights(data, basis)[k_idx] * server
    amount = np.where(np.isfinite(per_server), per_server * need_servers, 0.0)
    domestic = skus["domestic"].to_numpy(dtype=bool)[k_idx]
    if share is None:
        share = data.period_table["share"].to_numpy()
    partial = (share > 0) & (share < 1)
    ratio = np.where(partial, share / np.where(partial, 1.0 - share, 1.0), 0.0)
    if measure == "fleet":
        owned = skus["inventory"].to_numpy(dtype=float) * share_weights(data, basis)
        foreign_owned = float(owned[~skus["domestic"].to_numpy(dtype=bool)].sum())
        foreign = np.full(T, float(amount[~domestic].sum()) + foreign_owned)
        total = np.full(T, float(amount.sum()) + float(owned.sum()))
        ratio = np.full(T, ratio.max() if T else 0.0)
    else:
        foreign = np.bincount(t_idx, weights=np.where(domestic, 0.0, amount), minlength=T)
        total = np.bincount(t_idx, weights=amount, minlength=T)
    extra = ratio * foreign
    cap = data.vendor_cap if with_cap else None
    spread = (1.0 / cap - 1.0) * (total + extra) if cap is not None and 0 < cap < 1 else 0.0
    spread_k = spread[t_idx] if isinstance(spread, np.ndarray) else 0.0
    budget = np.where(domestic, extra[t_idx], 0.0) + spread_k
    with np.errstate(divide="ignore", invalid="ignore"):
        servers = np.ceil(budget / per_server - 1e-9)
    return np.where(np.isfinite(servers) & (servers > 0), servers, 0.0)


# -- use[k,w,t] ------------------------------------------------------------------------------


def _max_fleet(data: PlanningData, buy: pd.DataFrame) -> np.ndarray:
    """K × T.

    The most units of k that can be in service at t (inventory plus every purchase at its
    bound; inf where an unbounded purchase is in service).
    """
    K, T = len(data.skus), len(data.periods)
    skus = data.skus
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
    return np.where(alive, max_fleet + skus["inventory"].to_numpy(dtype=float)[:, None], 0.0)


def _add_use(model: LinearModel, data: PlanningData, pairs: pd.DataFrame, need_ub: np.ndarray,
             max_fleet: np.ndarray) -> pd.DataFrame:
    """The ``use`` block.

    ``use ≤ min(units that can be in service, units the workload can use)``; no column where
    that is 0 (no demand, or no unit can exist).
    """
    T = len(data.periods)
    pt = data.period_table
    p_idx, t_use = np.nonzero(np.ones((len(pairs), T), dtype=bool))
    k_use = pairs["k_i"].to_numpy()[p_idx]
    ub_use = np.fmin(max_fleet[k_use, t_use], need_ub[p_idx, t_use])
    keep = ub_use > 0
    p_idx, t_use, k_use, ub_use = p_idx[keep], t_use[keep], k_use[keep], ub_use[keep]
    order = np.lexsort((pairs["workload"].to_numpy()[p_idx], k_use, t_use))
    p_idx, t_use, k_use, ub_use = (a[order] for a in (p_idx, t_use, k_use, ub_use))
    watts = data.skus["watts"].to_numpy(dtype=float)[k_use]
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
            "energy_per_unit": energy,
        }
    )
    labels = np.asarray(data.labels, dtype=object)
    block = model.add_columns(
        "use", (use["sku"].to_numpy(), use["workload"].to_numpy(), labels[t_use]), upper=ub_use)
    use["col"] = np.arange(block.start, block.stop)
    return use


# -- z[v,w]: porting binaries; short[w,t] --------------------------------------------------------


def _add_port(model: LinearModel, data: PlanningData, use: pd.DataFrame,
              keep_idle: bool) -> pd.DataFrame:
    """The ``port`` block.

    One binary per (vendor, workload) with a porting cost whose vendor serves the workload
    somewhere (every such pair with ``keep_idle``).
    """
    costs = dict(zip(data.port.index, data.port.to_numpy(dtype=float), strict=True))
    if keep_idle:
        pairs = list(costs)  # every pair the scenario could port (a hedge ties z across scenarios)
    elif costs and len(use):
        vendor_of = data.skus["vendor"].to_dict()
        used = set(zip([vendor_of[k] for k in use["sku"].to_numpy()], use["workload"].to_numpy(),
                       strict=True))
        pairs = [pair for pair in costs if pair in used]
    else:
        pairs = []
    pairs.sort()  # by vendor, then workload (the pairs are unique)
    vendors = np.asarray([v for v, _ in pairs], dtype=object)
    workloads = np.asarray([w for _, w in pairs], dtype=object)
    block = model.add_columns("port", (vendors, workloads), upper=1.0, integer=True)
    return pd.DataFrame({"vendor": pd.array(vendors, dtype=data.port.index.dtypes["vendor"]),
                         "workload": pd.array(workloads,
                                              dtype=data.port.index.dtypes["workload"]),
                         "port": np.asarray([costs[pair] for pair in pairs], dtype=float),
                         "col": np.arange(block.start, block.stop)})


def _add_short(model: LinearModel, data: PlanningData) -> pd.DataFrame:
    """The ``short`` block: ``short[w,t] ≤ demand[w,t]`` where the workload has a penalty."""
    demand = data.demand.to_numpy()  # T × W
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
    labels = np.asarray(data.labels, dtype=object)
    block = model.add_columns("short", (short["workload"].to_numpy(), labels[t_s]),
                              upper=short["demand"].to_numpy())
    short["col"] = np.arange(block.start, block.stop)
    return short


__all__ = ["Index", "add_variables", "service_window", "share_weights"]
