"""Exact domain presolve: merge interchangeable workloads and identical SKUs before the build.

``presolve(data, relax=...)`` looks at the prepared :class:`~chipmix.model.data.PlanningData`
and returns a :class:`Reduction` — a smaller ``PlanningData`` that :func:`build` turns into a
smaller model with **the same optimal value** — or ``None`` when nothing merges. After the
reduced model is solved, :meth:`Reduction.expand` maps its solution back to a solution of the
full model (a deterministic disaggregation) and :meth:`Reduction.check` proves on the full
model that it keeps every bound, row and integrality and costs the same; the plan is then
extracted from the full model as if the full model had been solved, so the checker
(``chipmix.verify``) sees an ordinary plan.

When a merge is exact (``docs/planning-model.md``, "Presolve", has the proofs)
------------------------------------------------------------------------------
Two **workloads** ``w1, w2`` merge into one with demand ``d1 + d2`` when they have the same
kind and metric, the same shortfall penalty (or both none: hard demand), the same capability
``cap[k,w]`` for every SKU (hence the same eligible set), no porting cost with any vendor, and
equal values in every other column of the workload table. Every row reads their use columns
only through sums with weights that depend on the SKU and period alone (allocation, share,
vendor cap, power, energy cost) or through ``cap[k,w]`` (demand), so a merged solution splits
back by demand: ``use[k,w,t] = use[k,W,t]·d[w,t]/D[W,t]``, ``short[w,t] = short[W,t]·d/D``,
and each workload's demand row holds with equality. Porting is excluded because it is a fixed
charge per (vendor, workload): ported for one workload but not the other has no merged
counterpart.

Two **SKUs** ``k1, k2`` merge into one with inventory ``inv1 + inv2`` and whole-server supply
``server·Σ floor(supply/server)`` when they have the same vendor, origin, server size, lead
time, life, retirement, power, share weight, price in every period, capability for every
workload, and equal values in every other column of the SKU table. The merged purchase bound
is ``min(Σ floor(supply/server), budget/(price·server), servers worth using)``; a merged plan
splits back by filling the members' own bounds in catalog order, and its use by each
member's fleet share. It is exact for the MILP, and for the LP relaxation when the vendor has
no porting cost, no period has a budget and no vendor has a pool (the LP's porting big-M and
the budget's and the pool's floors are per column and do not add up). No SKU merges where a
share or vendor cap measures purchases or the fleet (the spend basis, ``share_of``, a rule
floor: buying beyond use can pay there, so per-SKU purchase bounds matter), and SKUs merge only
with equal purchase tranches (days, fees and prices; the merged tranche adds up the members'
whole servers).

Anything the presolve does not know about (a new constraint family reading workload or SKU
names) cannot make a wrong plan: :meth:`Reduction.check` refuses a disaggregated solution that
violates a row of the full model or costs differently, and the caller then solves the full
model (``chipmix.pipeline`` / ``chipmix.planner``).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from chipmix.model.data import TRANCHE_COLUMNS, PlanningData
from chipmix.model.matrix import LinearModel
from chipmix.model.variables import Index, service_window

#: Workload columns that matter only through ``cap`` (eligibility): not compared themselves.
_ELIGIBILITY_COLUMNS = ("min_memory_gb", "min_interconnect_gbps", "exclude")
#: SKU columns that add up in a merge.
_ADDITIVE_SKU_COLUMNS = ("inventory",)
#: Tolerances of :meth:`Reduction.check` (the solver's feasibility tolerance is 1e-7).
ROW_TOL = 1e-6
OBJ_TOL = 1e-9


class PresolveMismatch(Exception):
    """The disaggregated solution does not solve the full model (a presolve bug).

    The caller solves the full model instead.
    """


@dataclass
class Reduction:
    """The reduced planning data and how its names map to the full data's.

    Attributes
    ----------
    data : the reduced PlanningData (merged workloads / SKUs named after their first member).
    full : the PlanningData it was made from.
    workload_of : full workload -> reduced workload (every workload).
    sku_of : full SKU -> reduced SKU (every SKU).
    """

    data: PlanningData
    full: PlanningData
    workload_of: dict[str, str]
    sku_of: dict[str, str]
    notes: list[str] = field(default_factory=list)

    @property
    def workload_groups(self) -> dict[str, list[str]]:
        """Merged workloads (groups of two or more) by reduced name."""
        return _groups(self.workload_of)

    @property
    def sku_groups(self) -> dict[str, list[str]]:
        """Merged SKUs (groups of two or more) by reduced name."""
        return _groups(self.sku_of)

    def summary(self) -> dict[str, object]:
        """What was merged, for the plan's ``solver.presolve`` entry."""
        return {
            "workloads": [len(self.workload_of), len(set(self.workload_of.values()))],
            "skus": [len(self.sku_of), len(set(self.sku_of.values()))],
            "merged_workloads": {k: v for k, v in self.workload_groups.items()},
            "merged_skus": {k: v for k, v in self.sku_groups.items()},
        }

    # -- mapping a reduced solution back ---------------------------------------------------
    def expand(self, full_model: LinearModel, full_index: Index, model: LinearModel,
               index: Index, x: np.ndarray, *,
               integral: bool) -> np.ndarray:
        """The full model's solution vector from the reduced model's ``x``.

        ``integral``: the integer columns are whole (a MILP solve); their reduced values are
        rounded before they are split, so every member gets a whole number of servers.
        """
        full = self.full
        out = np.zeros(full_model.num_cols)
        fb = full_index.buy
        n = self._split_purchases(fb, model, index, x, integral)
        if len(fb):
            out[fb["col"].to_numpy()] = n
        fleet, group_fleet, k_group = self._fleets(fb, n)
        # -- use: split by fleet share (SKUs) and demand share (workloads) ------------------
        demand = full.demand.to_numpy()  # T × W (full)
        w_group = full.demand.columns.map(self.workload_of)
        red_demand = self.data.demand[list(w_group)].to_numpy()  # T × W: the group's total
        with np.errstate(invalid="ignore", divide="ignore"):
            w_share = np.where(red_demand > 0, demand / red_demand, 0.0)
        fu = full_index.use
        if len(fu):
            ru = index.use
            value = _reduced_values(model, x, "use", [ru["sku"], ru["workload"], ru["t"]],
                                    [fu["sku"].map(self.sku_of),
                                     fu["workload"].map(self.workload_of), fu["t"]])
            k_i, t, w_j = fu["k_i"].to_numpy(), fu["t"].to_numpy(), fu["w_j"].to_numpy()
            g_fleet = group_fleet[k_group[k_i], t]
            single_k = fu["sku"].map(self.sku_of).map(self._sku_size).to_numpy() == 1
            with np.errstate(invalid="ignore", divide="ignore"):
                k_share = np.where(single_k, 1.0,
                                   np.where(g_fleet > 0, fleet[k_i, t] / g_fleet, 0.0))
            single_w = fu["workload"].map(self.workload_of).map(self._workload_size).to_numpy() == 1
            share = k_share * np.where(single_w, 1.0, w_share[t, w_j])
            out[fu["col"].to_numpy()] = value * share
        # -- shortfall: split by demand share ---------------------------------------------
        fs = full_index.short
        if len(fs):
            rs = index.short
            value = _reduced_values(model, x, "short", [rs["workload"], rs["t"]],
                                    [fs["workload"].map(self.workload_of), fs["t"]])
            single_w = fs["workload"].map(self.workload_of).map(self._workload_size).to_numpy() == 1
            share = np.where(single_w, 1.0, w_share[fs["t"].to_numpy(), fs["w_j"].to_numpy()])
            out[fs["col"].to_numpy()] = value * share
        # -- porting: the same (vendor, workload) decisions --------------------------------
        fp = full_index.port
        if len(fp):
            rp = index.port
            out[fp["col"].to_numpy()] = _reduced_values(
                model, x, "port", [rp["vendor"], rp["workload"]],
                [fp["vendor"], fp["workload"].map(self.workload_of)])
        return out

    def _split_purchases(self, fb: pd.DataFrame, model: LinearModel, index: Index,
                         x: np.ndarray, integral: bool) -> np.ndarray:
        """Servers per full purchase column: each member's own bound filled in SKU order."""
        n: np.ndarray = np.zeros(len(fb))
        if not len(fb):
            return n
        rb = index.buy
        n_red = model.values(x, "buy")
        if integral:
            n_red = np.round(n_red)
        red = pd.Series(n_red, index=pd.MultiIndex.from_arrays([rb["sku"], rb["t"]]))
        group = fb["sku"].map(self.sku_of)
        total = red.reindex(pd.MultiIndex.from_arrays([group, fb["t"]])).to_numpy()
        total = np.nan_to_num(total, nan=0.0)
        merged = group.map(self._sku_size).to_numpy() > 1
        ub = fb["ub"].to_numpy(dtype=float)
        n = np.asarray(total, dtype=float).copy()
        if merged.any():
            n[merged] = _fill(group.to_numpy()[merged], fb["t"].to_numpy()[merged],
                              fb["k_i"].to_numpy()[merged], total[merged], ub[merged])
        return n

    def _fleets(self, fb: pd.DataFrame, n: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Units in service per full SKU and period, per reduced SKU, and each SKU's group."""
        full, T = self.full, len(self.full.periods)
        skus = full.skus
        fleet = np.zeros((len(skus), T + 1))
        if len(fb):
            first, last = service_window(full, fb)
            units = n * fb["server"].to_numpy(dtype=float)
            np.add.at(fleet, (fb["k_i"].to_numpy(), first), units)
            np.add.at(fleet, (fb["k_i"].to_numpy(), last), -units)
        fleet = np.cumsum(fleet, axis=1)[:, :T]
        alive = np.arange(T)[None, :] < skus["retire_t"].to_numpy(dtype=np.int64)[:, None]
        fleet += np.where(alive, skus["inventory"].to_numpy(dtype=float)[:, None], 0.0)
        group_pos = pd.Series(np.arange(len(self.data.skus)), index=self.data.skus.index)
        k_group = skus.index.map(self.sku_of).map(group_pos).to_numpy(dtype=np.int64)
        group_fleet = np.zeros((len(self.data.skus), T))
        np.add.at(group_fleet, k_group, fleet)
        return fleet, group_fleet, k_group

    def check(self, full_model: LinearModel, x: np.ndarray, objective: float | None, *,
              integral: bool) -> None:
        """Raise :class:`PresolveMismatch` unless ``x`` solves the full model.

        As well as the reduced solution solved the reduced one: every column bound, row and integrality
        within the solver's tolerances, and the same cost.
        """
        a = full_model.arrays()
        scale = np.maximum(1.0, np.abs(np.where(np.isfinite(a["col_upper"]), a["col_upper"], 0)))
        if np.any(x < a["col_lower"] - ROW_TOL * scale) or np.any(x > a["col_upper"] + ROW_TOL
                                                                  * scale):
            bad = np.flatnonzero((x < a["col_lower"] - ROW_TOL * scale)
                                 | (x > a["col_upper"] + ROW_TOL * scale))
            raise PresolveMismatch(f"{len(bad)} column bounds violated, e.g. "
                                   f"{full_model.col_names()[bad[0]]} = {x[bad[0]]:g}")
        if integral and a["integer"].any():
            frac = np.abs(x[a["integer"]] - np.round(x[a["integer"]]))
            if frac.max() > ROW_TOL:
                raise PresolveMismatch("an integer column got a fractional value")
        activity = full_model.activity(x)
        magnitude = np.zeros(full_model.num_rows)
        if len(a["csc_value"]):
            col_of = np.repeat(np.arange(full_model.num_cols), np.diff(a["csc_start"]))
            np.add.at(magnitude, a["csc_index"], np.abs(a["csc_value"] * x[col_of]))
        tol = ROW_TOL * (1.0 + magnitude)
        low = activity < a["row_lower"] - tol
        high = activity > a["row_upper"] + tol
        if low.any() or high.any():
            i = int(np.flatnonzero(low | high)[0])
            raise PresolveMismatch(
                f"{int(low.sum() + high.sum())} rows violated, e.g. {full_model.row_names()[i]}:"
                f" {activity[i]:g} not in [{a['row_lower'][i]:g}, {a['row_upper'][i]:g}]")
        if objective is not None:
            cost = float(a["cost"] @ x) + full_model.objective_offset
            if abs(cost - objective) > OBJ_TOL * max(1.0, abs(objective)) + 1e-6:
                raise PresolveMismatch(f"the full model's cost {cost!r} differs from the "
                                       f"reduced objective {objective!r}")

    def _sku_size(self, reduced: str) -> int:
        return self._sizes()[1].get(reduced, 1)

    def _workload_size(self, reduced: str) -> int:
        return self._sizes()[0].get(reduced, 1)

    def _sizes(self) -> tuple[dict[str, int], dict[str, int]]:
        cached = self.__dict__.get("_size_cache")
        if cached is None:
            cached = ({k: len(v) for k, v in _groups(self.workload_of, 1).items()},
                      {k: len(v) for k, v in _groups(self.sku_of, 1).items()})
            self.__dict__["_size_cache"] = cached
        return cached


def _fill(group: np.ndarray, t: np.ndarray, k: np.ndarray, total: np.ndarray,
          ub: np.ndarray) -> np.ndarray:
    """Split each (group, t)'s ``total`` over its members.

    Fill their bounds ``ub`` in SKU order (``k``): every member gets at most its bound and
    the first ones get theirs.
    """
    order = np.lexsort((k, t, pd.factorize(group)[0]))
    g = pd.factorize(pd.MultiIndex.from_arrays([group[order], t[order]]))[0]
    u = ub[order]
    start = np.r_[True, g[1:] != g[:-1]]
    finite = np.where(np.isinf(u), 0.0, u)
    infinite = np.isinf(u).astype(np.int64)

    def exclusive(values: np.ndarray) -> np.ndarray:
        run = np.cumsum(values)
        seg_start = np.maximum.accumulate(np.where(start, np.arange(len(values)), 0))
        out: np.ndarray = run - values - (run - values)[seg_start]
        return out

    before = np.where(exclusive(infinite) > 0, np.inf, exclusive(finite))
    filled = np.clip(total[order] - before, 0.0, u)
    out: np.ndarray = np.empty_like(filled)
    out[order] = filled
    return out


def _groups(mapping: dict[str, str], least: int = 2) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for original, reduced in mapping.items():
        out.setdefault(reduced, []).append(original)
    return {k: v for k, v in out.items() if len(v) >= least}


def _key(value: Any) -> object:
    """A hashable, NaN-equal stand-in for a table cell."""
    if isinstance(value, float) and math.isnan(value):
        return ("nan",)
    if isinstance(value, (list, tuple)):
        return tuple(_key(v) for v in value)
    if isinstance(value, np.generic):
        return _key(value.item())
    return value


def _first_of_class(frame: pd.DataFrame) -> dict[str, str]:
    """Each row's first row (in frame order) with equal values in every column (NaN = NaN)."""
    names = list(frame.index)
    if frame.shape[1] == 0 or len(frame) < 2:
        return {k: k for k in names}
    numeric = frame.select_dtypes(include=["number", "bool"])
    other = frame.drop(columns=numeric.columns)
    parts = []
    if numeric.shape[1]:
        values = numeric.to_numpy(dtype=float)
        # NaN = NaN, and -0.0 = 0.0: compare bit patterns of a canonical copy
        values = np.where(np.isnan(values), np.nan, values + 0.0)
        parts.append(np.ascontiguousarray(values).view(np.int64))
    for _, column in other.items():
        keys = [_key(v) for v in column.to_numpy(dtype=object)]
        parts.append(pd.factorize(pd.Series(keys, dtype=object), use_na_sentinel=False)[0]
                     .reshape(-1, 1))
    codes = np.concatenate(parts, axis=1)
    _, first_row, inverse = np.unique(codes, axis=0, return_index=True, return_inverse=True)
    return {name: names[first_row[g]] for name, g in zip(names, inverse.ravel(), strict=True)}


def _cap_matrix(cap: pd.Series, rows: str, index: list[str], prefix: str) -> pd.DataFrame:
    """``cap`` as a table with one row per ``rows`` key (NaN: not eligible)."""
    columns = "workload" if rows == "sku" else "sku"
    if not len(cap):
        return pd.DataFrame(index=pd.Index(index))
    table = cap.unstack(columns).reindex(index)
    table.columns = [f"{prefix}{c}" for c in table.columns]
    return table


def presolve(data: PlanningData, *, relax: bool = False) -> Reduction | None:
    """The reduced data, or None when no two workloads or SKUs are interchangeable.

    ``relax``: the model will be solved as its LP relaxation (SKU merges then need a vendor
    without porting and no budget; see the module docstring).
    """
    tranches = data.tranches
    if tranches is not None and len(tranches) and tranches.duplicated(["sku", "t"]).any():
        return None  # a period split into purchase tranches: the mapping back is per (sku, t)
    inert_skus = _inert_skus(data)
    workload_of = _unmerge_inert(_workload_merges(data), _inert_workloads(data))
    sku_of = _unmerge_inert(_sku_merges(data, relax=relax, inert=inert_skus), inert_skus)
    if all(k == v for k, v in workload_of.items()) and all(k == v for k, v in sku_of.items()):
        return None
    reduced = _reduce(data, workload_of, sku_of)
    return Reduction(data=reduced, full=data, workload_of=workload_of, sku_of=sku_of)


def _inert_workloads(data: PlanningData) -> set[str]:
    """Workloads without demand in any period: no column reads them."""
    demand = data.demand
    return {w for w, any_demand in zip(demand.columns, (demand > 0).any(axis=0), strict=True)
            if not any_demand}


def _inert_skus(data: PlanningData) -> set[str]:
    """SKUs that no column reads.

    They can neither be bought (supply below one server in every period) nor held (no
    inventory), or serve no workload.
    """
    server = data.skus["server"].to_numpy(dtype=float)
    buyable = (data.supply[list(data.skus.index)].to_numpy(dtype=float) >= server).any(axis=0)
    held = data.skus["inventory"].to_numpy(dtype=float) > 0
    serving = set(data.cap.index.get_level_values("sku")) if len(data.cap) else set()
    return {k for k, b, h in zip(data.skus.index, buyable, held, strict=True)
            if not (b or h) or k not in serving}


def _unmerge_inert(mapping: dict[str, str], inert: set[str]) -> dict[str, str]:
    """Keep apart the members of groups made only of inert names.

    Merging them wins nothing and would only cost a second build.
    """
    groups = _groups(mapping)
    for members in groups.values():
        if all(m in inert for m in members):
            for m in members:
                mapping[m] = m
    return mapping


def _workload_merges(data: PlanningData) -> dict[str, str]:
    names = list(data.demand.columns)
    table = data.workloads.reindex(names)
    table = table[[c for c in table.columns if c not in _ELIGIBILITY_COLUMNS]].copy()
    ported = set(data.port.index.get_level_values("workload")) if len(data.port) else set()
    # a workload with porting costs is a class of its own
    table["__own"] = [w if w in ported else "" for w in names]
    if _all_apart(table):
        return {w: w for w in names}
    frame = pd.concat([table, _cap_matrix(data.cap, "workload", names, "cap:")], axis=1)
    return _first_of_class(frame)


def _all_apart(table: pd.DataFrame) -> bool:
    """No two rows of ``table`` are equal: more columns cannot make any equal (a shortcut).

    Rows as tuples of :func:`_key` (NaN = NaN; ``-0.0 == 0.0`` and ``1 == 1.0`` as in
    :func:`_first_of_class`'s float bit patterns): distinct tuples are distinct classes.
    """
    rows = [tuple(_key(v) for v in row) for row in table.itertuples(index=False, name=None)]
    try:
        return len(set(rows)) == len(rows)
    except TypeError:  # an unhashable cell: compare the long way
        return all(k == v for k, v in _first_of_class(table).items())


def _sku_merges(data: PlanningData, *, relax: bool, inert: set[str] | None = None
                ) -> dict[str, str]:
    """Each SKU's first interchangeable SKU; ``inert`` SKUs (no columns) stay apart."""
    identity = {k: k for k in data.skus.index}
    skus = data.skus[[k not in (inert or set()) for k in data.skus.index]]
    names = list(skus.index)
    share = data.period_table["share"].to_numpy()
    cap_policy = data.vendor_cap is not None and data.vendor_cap < 1
    if (data.share_basis == "spend" or data.share_measure != "use") and (
            (share > 0).any() or cap_policy):
        return identity  # buying beyond use can pay: per-SKU purchase bounds matter
    floors = data.floors
    if floors is not None and len(floors) and (
            (floors["of"] != "use") & (floors["floor"] > 0)).any():
        return identity  # a rule floor on purchases or the fleet: the same
    if relax and np.isfinite(data.period_table["budget"].to_numpy()).any():
        return identity  # the LP's per-column budget floors do not add up
    pools = data.pools
    if relax and pools is not None and len(pools.columns) and np.isfinite(
            pools.to_numpy(dtype=float)).any():
        return identity  # nor do its per-column pool floors
    table = skus[[c for c in skus.columns if c not in _ADDITIVE_SKU_COLUMNS]].copy()
    if relax and len(data.port):
        # the LP's porting big-M is per column and does not add up
        porting_vendors = set(data.port.index.get_level_values("vendor"))
        table["__own"] = [k if v in porting_vendors else "" for k, v in
                          zip(names, skus["vendor"], strict=True)]
    table["__tranches"] = _tranche_signatures(data, names)
    if _all_apart(table):
        return identity
    price = data.price[names].T
    price.columns = [f"price:{c}" for c in price.columns]
    cap = data.cap[data.cap.index.get_level_values("sku").isin(names)] if len(data.cap) \
        else data.cap
    frame = pd.concat([table, price, _cap_matrix(cap, "sku", names, "cap:")], axis=1)
    return {**identity, **_first_of_class(frame)}


def _tranche_signatures(data: PlanningData, names: list[str]) -> list[str]:
    """Per SKU: its purchase tranches' days, fees and prices (not their supply).

    SKUs merge only with equal tranches, so that a merged tranche is the members' tranches
    of the same days and terms, its supply their whole servers added up.
    """
    tranches = data.tranches
    out: dict[str, list[tuple[Any, ...]]] = {k: [] for k in names}
    if tranches is None or not len(tranches):
        return ["" for _ in names]
    for r in tranches.itertuples(index=False):
        if r.sku in out:
            out[r.sku].append((int(r.t), str(r.start), str(r.end), repr(float(r.fee)),
                               repr(float(r.price))))
    return [repr(sorted(out[k])) for k in names]


def _merge_tranches(data: PlanningData, sku_of: dict[str, str], supply: pd.DataFrame
                    ) -> tuple[pd.DataFrame | None, pd.DataFrame]:
    """The merged SKUs' tranches (whole servers of the members added up) and period supply.

    The period supply of a merged SKU becomes the sum of its tranches, so that
    :func:`~chipmix.model.data.purchase_tranches` takes the tranches as they are.
    """
    tranches = data.tranches
    if tranches is None or not len(tranches):
        return tranches, supply
    size = pd.Series(list(sku_of.values())).value_counts()
    tr = tranches[tranches["sku"].isin(sku_of)].copy()
    grouped = tr["sku"].map(sku_of).map(size).to_numpy() > 1
    server = tr["sku"].map(data.skus["server"]).to_numpy(dtype=float)
    own = tr["supply"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        whole = np.where(np.isinf(own), np.inf, np.floor(own / server + 1e-9) * server)
    tr["supply"] = np.where(grouped, whole, own)
    tr["sku"] = tr["sku"].map(sku_of)
    tr = (tr.groupby(["sku", "t", "start", "end"], sort=False, as_index=False)
          .agg({"tranche": "first", "supply": "sum", "fee": "first", "price": "first"}))
    tr = tr[TRANCHE_COLUMNS].sort_values(["t", "sku", "start"]).reset_index(drop=True)
    supply = supply.copy()
    merged = set(size[size > 1].index)
    labels = list(supply.index)
    for (sku, t), total in tr[tr["sku"].isin(merged)].groupby(["sku", "t"])["supply"].sum().items():
        supply.at[labels[int(t)], sku] = float(total)
    return tr, supply


def _reduced_values(model: LinearModel, x: np.ndarray, block: str, reduced_keys: list[Any],
                    full_keys: list[Any]) -> np.ndarray:
    """The reduced solution's ``block`` values looked up at each full column's reduced key.

    ``reduced_keys``: the reduced block's key columns, in its column order; ``full_keys``: the
    full block's keys mapped to reduced names. 0 where the reduced model has no such column.
    """
    red = pd.Series(model.values(x, block), index=pd.MultiIndex.from_arrays(reduced_keys))
    key = pd.MultiIndex.from_arrays(full_keys)
    values: np.ndarray = np.nan_to_num(red.reindex(key).to_numpy(dtype=float), nan=0.0)
    return values


def _members(names: list[str], mapping: dict[str, str]) -> tuple[np.ndarray, np.ndarray]:
    """Per name the position of its group's first member; the positions of the kept names.

    Groups are in order of appearance; the kept names are the first members.
    """
    pos = {name: i for i, name in enumerate(names)}
    first = np.array([pos[mapping[name]] for name in names], dtype=np.int64)
    return first, np.flatnonzero(first == np.arange(len(names)))


def _reduce(data: PlanningData, workload_of: dict[str, str], sku_of: dict[str, str]
            ) -> PlanningData:
    """The PlanningData of the merged workloads and SKUs (module docstring)."""
    # workloads: demand adds up; everything else is the first member's
    w_names = list(data.demand.columns)
    w_first, w_kept = _members(w_names, workload_of)
    kept_w = [w_names[i] for i in w_kept]
    d = data.demand.to_numpy(dtype=float)
    summed = np.zeros_like(d)
    np.add.at(summed.T, w_first, d.T)
    demand = pd.DataFrame(summed[:, w_kept], index=data.demand.index,
                          columns=pd.Index(kept_w, dtype=data.demand.columns.dtype))
    workloads = data.workloads.loc[kept_w]
    # SKUs: inventory adds up; supply adds up in whole servers
    k_names = list(data.skus.index)
    k_first, k_kept = _members(k_names, sku_of)
    kept_k = [k_names[i] for i in k_kept]
    skus = data.skus.iloc[k_kept].copy()
    inventory = np.zeros(len(k_names))
    np.add.at(inventory, k_first, data.skus["inventory"].to_numpy(dtype=float))
    skus["inventory"] = inventory[k_kept]
    server = data.skus["server"].to_numpy(dtype=float)
    supply = data.supply[k_names].to_numpy(dtype=float)  # T × K
    with np.errstate(invalid="ignore"):
        whole = np.where(np.isinf(supply), np.inf, np.floor(supply / server[None, :]) * server)
    size = np.bincount(k_first, minlength=len(k_names))
    merged = np.zeros_like(supply)
    np.add.at(merged.T, k_first, whole.T)
    supply = np.where(size[None, :] > 1, merged, supply)[:, k_kept]
    supply_frame = pd.DataFrame(supply, index=data.supply.index,
                                columns=pd.Index(kept_k, dtype=data.supply.columns.dtype))
    price = data.price[kept_k]
    cap = data.cap
    if len(cap):
        keep = (cap.index.get_level_values("sku").isin(kept_k)
                & cap.index.get_level_values("workload").isin(kept_w))
        cap = cap[keep]
    tranches, supply_frame = _merge_tranches(data, sku_of, supply_frame)
    return dataclasses.replace(data, skus=skus, workloads=workloads, demand=demand, cap=cap,
                               supply=supply_frame, price=price, tranches=tranches)


__all__ = ["PresolveMismatch", "Reduction", "presolve"]
