"""Supply-shock stress test: replay a fixed plan against random shocks from ``risks:``.

Each draw ``i`` (``np.random.default_rng([seed, i])``):

1. draws the shocks of the scenario's ``risks:`` block (:mod:`chipmix.inputs.risks`) — supply
   factors, licence revocations, bans moved earlier — and applies them to the baseline
   supply table ``supply[k,t]``;
2. learns each shock in the first period it changes the supply (its **shock period**; a
   shock that changes nothing is ignored; no shock: the draw is the plan as is);
3. re-plans at each shock period, in order, what can still be decided: purchases in earlier
   periods stay as decided (the plan's, or an earlier re-plan's), purchases from that period
   on, use and shortfall are re-optimised (the MILP) knowing only the shocks learnt so far;
   porting paid for stays paid, other porting may still be bought. The last re-plan knows
   every shock of the draw and gives its figures;
4. records the discounted cost, the shortfall per workload (metric units × periods) and the
   shortfall penalty.

Workloads without a ``shortfall_penalty`` (hard demand) get one for the stress test:
``risks.shortfall_penalty`` (per workload or ``default``), else the highest price per metric
unit of any SKU that can serve the workload (``max_t,k price[k,t]/cap[k,w]``) — renting a
unit for a period costs as much as buying the dearest option outright.

Draws depend only on ``(seed, i)`` and the inputs, so results are identical whichever
executor (:mod:`chipmix.pipeline.executor`) ran them, and in whatever order.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import chipmix.limits as limits
from chipmix.errors import ArgumentError, InputError, PlanError
from chipmix.inputs.risks import check_risks
from chipmix.inputs.scenario import Scenario, load_scenario
from chipmix.inputs.solver import SolverOptions, Status
from chipmix.io import read_json
from chipmix.model.data import TrancheBase, tranche_base, tranche_room
from chipmix.numbers import json_number, rounded
from chipmix.periods import parse_period
from chipmix.pipeline.executor import run_map
from chipmix.pipeline.reuse import worker_reuse
from chipmix.pipeline.run import Run
from chipmix.processes import check_workers, parse_dask_address
from chipmix.solve import SolveResult

#: tail statistics reported for every figure
STATS = ("mean", "p90", "p99", "cvar95", "worst")


# -- plan input --------------------------------------------------------------------------------


def read_plan(plan) -> dict[str, Any]:
    """Plan data (formats.md JSON) from a path, a dict or a :class:`chipmix.planner.Plan`."""
    if hasattr(plan, "to_dict"):
        return plan.to_dict()
    if isinstance(plan, dict):
        return plan
    if not isinstance(plan, (str, Path)):
        raise ArgumentError("chipmix.insight.stress.stress", "plan", plan,
                            "a Plan, its JSON dict or a plan JSON path")

    return read_json(plan, what="plan JSON")


# -- the setup shipped to every worker ---------------------------------------------------------


@dataclass
class StressSetup:
    """Everything a draw needs (pickled once per worker)."""

    data: Any  # baseline PlanningData, penalties set for every workload
    risks: Any  # chipmix.inputs.risks.Risks
    fixed: dict[tuple[str, int, str], float]  # (sku, t, tranche start) -> servers the plan buys
    ported: list[tuple[str, str]]  # (vendor, workload) the plan paid to port
    options: SolverOptions  # for the re-plans (HiGHS, integers kept)
    seed: int
    baseline: dict[str, Any] | None = None
    #: one per stress run: workers keep its HiGHS models across draws (pipeline.reuse)
    token: str | None = None
    #: carry decisions that still fit and keep a memo of re-plans (False: solve every
    #: re-plan, as before issue 17's stress work; benchmarks/stress_bench.py --baseline)
    shortcuts: bool = True


def default_penalties(data, risks) -> tuple[pd.DataFrame, list[str]]:
    """The workloads table with a shortfall penalty for every hard-demand workload.

    ``risks.shortfall_penalty`` (per workload or ``default``), else the dearest price per
    metric unit of any SKU that can serve the workload (module docstring); also returns one
    note per workload priced so. Used by the stress test and the sampled hedge.

    Raises
    ------
    InputError
        A hard-demand workload with neither a given penalty nor a priced SKU to derive one.
    """
    workloads = data.workloads.copy()
    notes = []
    given = dict(risks.shortfall_penalty)
    for w in workloads.index:
        if not math.isnan(workloads.at[w, "penalty"]):
            continue
        if w in given or "default" in given:
            value = float(given[w] if w in given else given["default"])
            source = "risks.shortfall_penalty"
        else:
            skus = [k for (k, ww) in data.cap.index if ww == w]
            ratios = [
                float(data.price[k].max()) / float(data.cap[(k, w)])
                for k in skus
                if np.isfinite(data.price[k].to_numpy(dtype=float)).any()
            ]
            ratios = [r for r in ratios if math.isfinite(r)]
            if not ratios:
                raise InputError(
                    f"workload '{w}' has no shortfall_penalty and no priced SKU to derive one",
                    location=f"risks.shortfall_penalty.{w}",
                    expected="risks: {shortfall_penalty: {" + w + ": USD per unit per period}}")
            value = max(ratios)
            source = "the dearest SKU's price per metric unit"
        workloads.at[w, "penalty"] = value
        notes.append(f"{w} has hard demand; shortfall priced at {value:,.0f} USD per "
                     f"{workloads.at[w, 'metric']} per period ({source})")
    return workloads, notes


def prepare_stress(scenario: Scenario, plan, *, seed: int = 0,
                   solver_options: SolverOptions | None = None) -> StressSetup:
    """Check the plan against the scenario and build the setup of the draws."""
    plan_data = read_plan(plan)
    scenario = scenario.in_usd()  # the scenario's own money in USD, as the model's
    risks = scenario.risks
    catalog = scenario.load_catalog()
    check_risks(risks, catalog.ids, scenario.workload_names, file=scenario.source)
    run = Run.for_scenario(scenario).prepare(catalog=catalog).build()
    data, index = run.data, run.index
    labels = data.labels
    if list(plan_data.get("periods") or []) != labels:
        raise InputError("the plan's periods are not the scenario's horizon", field="periods",
                         value=", ".join(plan_data.get("periods") or []) or None,
                         expected=f"{labels[0]}..{labels[-1]} (was the plan made for this "
                                  "scenario?)")
    status = plan_data.get("status")
    if status not in Status.with_plan():
        raise PlanError(f"the plan has no decisions to replay (status {status})")
    t_of = {p: t for t, p in enumerate(labels)}
    # purchases per (sku, t, tranche start); a row without dates buys in the first tranche
    first = {(k, int(t)): d.isoformat() for k, t, d, j in zip(
        index.buy["sku"], index.buy["t"], index.buy["start"], index.buy["tranche"], strict=True)
        if j == 0}
    fixed: dict[tuple[str, int, str], float] = {}
    for row in plan_data.get("purchases") or []:
        t = t_of[row["period"]]
        key = (row["sku"], t, str(row.get("from") or first.get((row["sku"], t), "")))
        fixed[key] = fixed.get(key, 0.0) + float(row["servers"])
    ub = {(k, int(t), d.isoformat()): u for k, t, d, u in zip(
        index.buy["sku"], index.buy["t"], index.buy["start"], index.buy["ub"], strict=True)}
    for (sku, t, start), servers in fixed.items():
        if servers > ub.get((sku, t, start), 0.0) + 1e-9:
            raise InputError(
                f"the plan buys {servers:g} servers of {sku} in {labels[t]} (from {start}), but "
                f"the scenario allows at most {ub.get((sku, t, start), 0.0):g} (was the plan "
                "made for this scenario?)")
    ported = [(r["vendor"], r["workload"]) for r in plan_data.get("ported") or []]
    workloads, notes = default_penalties(data, risks)
    data = dataclasses.replace(data, workloads=workloads)
    options = (solver_options or scenario.solver).with_overrides(name="highs", relax=False)
    setup = StressSetup(data=data, risks=risks, fixed=fixed, ported=ported, options=options,
                        seed=int(seed), token=uuid.uuid4().hex)
    setup.baseline = replay(setup, data.supply, len(labels))[0]
    setup.baseline["notes"] = notes + _risk_notes(data, risks)
    return setup


def _risk_notes(data, risks) -> list[str]:
    notes = []
    if risks.empty:
        notes.append("the scenario declares no risks: every draw is the baseline")
    for sku in risks.supply:
        if not np.isfinite(data.supply[sku].to_numpy(dtype=float)).any():
            notes.append(f"risks.supply.{sku}: supply is unlimited, a factor has no effect")
    for sku in risks.ban_earlier:
        if ban_period(data, sku) is None:
            notes.append(f"risks.ban_earlier.{sku}: no ban within the horizon, nothing to move")
    return notes


# -- shocks ------------------------------------------------------------------------------------


def ban_period(data, sku: str) -> int | None:
    """First period of the final run of periods where ``sku`` cannot be bought.

    That is, where not even a whole server can be bought after a period where it could;
    None when it can be bought to the end (or never).
    """
    server = float(data.skus.at[sku, "server"])
    buyable = data.supply[sku].to_numpy(dtype=float) >= server
    if not buyable.any() or buyable[-1]:
        return None
    last = int(np.flatnonzero(buyable)[-1])
    return last + 1


def _factor(risk, rng: np.random.Generator) -> float:
    low, high = risk.bounds()
    if risk.dist == "uniform":
        return float(rng.uniform(low, high))
    if risk.dist == "triangular":
        return float(rng.triangular(low, risk.mode, high)) if high > low else float(low)
    if risk.dist == "beta":
        return float(low + (high - low) * rng.beta(risk.a, risk.b))
    rng.random()  # keep one draw per SKU whatever the distribution
    return float(risk.value)


@dataclass(frozen=True)
class Shock:
    """One shock of a draw.

    From period index ``start`` on, ``sku``'s supply is multiplied by ``factor`` (0 = cut to
    nothing, unlimited supply included; other factors act on finite supply only).
    """

    sku: str
    start: int
    factor: float
    text: str


def apply_shocks(supply: pd.DataFrame, shocks) -> pd.DataFrame:
    """``supply`` with ``shocks`` applied in order."""
    out = supply.copy()
    for shock in shocks:
        col = out[shock.sku].to_numpy(dtype=float).copy()
        if shock.factor == 0:
            col[shock.start:] = 0.0
        else:
            hit = np.isfinite(col)
            hit[: shock.start] = False
            col[hit] = col[hit] * shock.factor
        out[shock.sku] = col
    return out


def sample_shocks(data, risks, rng: np.random.Generator) -> list[Shock]:
    """The shocks that happen in one draw.

    Random numbers are taken in a fixed order (sections supply, revoke, ban_earlier; SKUs
    sorted), the same count whether or not a shock happens.
    """
    labels = data.labels
    t_of = {p: t for t, p in enumerate(labels)}
    shocks: list[Shock] = []
    for sku in sorted(risks.supply):
        risk = risks.supply[sku]
        happens = rng.random() < risk.probability
        factor = _factor(risk, rng)
        if happens:
            t0 = t_of.get(str(risk.start), 0) if risk.start is not None else 0
            shocks.append(Shock(sku, t0, factor, f"{sku} supply ×{factor:.2f} from {labels[t0]}"))
    for sku in sorted(risks.revoke):
        risk = risks.revoke[sku]
        happens = rng.random() < risk.probability
        first = period_index(labels, risk.start)
        last = period_index(labels, risk.end) if risk.end is not None else first
        t0 = int(rng.integers(first, last + 1))
        if happens and t0 < len(labels):
            shocks.append(Shock(sku, t0, 0.0, f"{sku} revoked from {labels[t0]}"))
    for sku in sorted(risks.ban_earlier):
        risk = risks.ban_earlier[sku]
        happens = rng.random() < risk.probability
        ban = ban_period(data, sku)
        if happens and ban is not None:
            t0 = max(0, ban - int(risk.by_periods))
            shocks.append(Shock(sku, t0, 0.0,
                                f"{sku} banned from {labels[t0]} instead of {labels[ban]}"))
    return shocks


def sample_supply(data, risks, rng: np.random.Generator) -> tuple[pd.DataFrame, list[str]]:
    """The shocked supply table of one draw and the shocks' descriptions."""
    shocks = sample_shocks(data, risks, rng)
    return apply_shocks(data.supply, shocks), [s.text for s in shocks]


def period_index(labels: list[str], period) -> int:
    """Index of ``period`` in the horizon (before it: 0; after it: len)."""
    text = str(period)
    if text in labels:
        return labels.index(text)

    p = parse_period(text)
    first = parse_period(labels[0])
    return 0 if p < first else len(labels)


def shock_period(data, supply: pd.DataFrame) -> int:
    """First period whose supply differs from the baseline (``T`` when none does)."""
    base = data.supply.to_numpy(dtype=float)
    new = supply.to_numpy(dtype=float)
    same = (base == new) | (np.isinf(base) & np.isinf(new))
    differs = ~same.all(axis=1)
    return int(np.flatnonzero(differs)[0]) if differs.any() else len(data.labels)


# -- one draw ------------------------------------------------------------------------------------


@dataclass
class Replan:
    """One re-plan of a draw: its figures, the decisions carried on, and where they came from.

    Attributes
    ----------
    row : the draw's figures (status, cost, capex, shortfall_cost, shortfall per workload).
    bought : servers bought per (sku, t, tranche start); ported : (vendor, workload) paid for.
    supply : the supply table it was made with (values, the baseline's layout).
    key : what identifies the re-plan in this worker's memo (:func:`_replan`).
    source : ``solved``, ``carried`` (an earlier re-plan's decisions, still optimal within
        the gap: :func:`still_fits`) or ``memo`` (the same re-plan done before in this worker).
    """

    row: dict[str, Any]
    bought: dict[tuple[str, int, str], float]
    ported: set[tuple[str, str]]
    supply: np.ndarray
    key: str = ""
    source: str = "solved"


#: this worker's re-plans of the current stress run (``StressSetup.token``): a memo of a
#: deterministic function, so a hit is exactly what solving again would give
_MEMO: dict[str, Any] = {"token": None, "replans": {}, "tranches": None}
#: how the re-plans of this process were made (``solved``, ``carried``, ``memo``): benchmarks
REPLAN_COUNTS: Counter[str] = Counter()


def replay(setup: StressSetup, supply: pd.DataFrame, t_shock: int,
           fixed: dict[tuple[str, int, str], float] | None = None,
           ported: set[tuple[str, str]] | None = None) -> tuple[dict[str, Any], dict, set]:
    """Re-plan with ``supply``.

    Purchases before ``t_shock`` fixed at ``fixed`` (default: the plan's), porting in
    ``ported`` (default: the plan's) kept.

    Returns the draw's figures and the new purchases and porting (to carry to a later stage).
    """
    fixed = setup.fixed if fixed is None else fixed
    paid = set(setup.ported) if ported is None else ported
    out = _replan(setup, supply, t_shock, fixed, paid, None)
    return out.row, out.bought, out.ported


def _replan(setup: StressSetup, supply: pd.DataFrame, t_shock: int,
            fixed: dict[tuple[str, int, str], float], paid: set[tuple[str, str]],
            previous: Replan | None) -> Replan:
    """The re-plan at ``t_shock`` (see :func:`replay`), as cheaply as it can be had exactly.

    ``previous``: a re-plan whose problem contains this one (the same fixings up to its own
    shock period and porting, at least this supply everywhere): when its decisions still
    fit this supply they are still optimal within the gap and nothing is built or solved
    (:func:`still_fits`). Within a stress run (``setup.token``) each worker keeps its
    re-plans: the same inputs (supply, shock period, fixings, porting and the ``previous``
    re-plan) give the very same result.
    """
    values = supply.to_numpy(dtype=float)
    key = _replan_key(values, t_shock, fixed, paid, previous)
    memo = _memo(setup.token) if setup.shortcuts else None
    if memo is not None and key in memo:
        REPLAN_COUNTS["memo"] += 1
        return dataclasses.replace(memo[key], source="memo")
    if previous is not None and setup.shortcuts \
            and still_fits(setup.data, previous, supply, _tranches(setup)):
        out = dataclasses.replace(previous, supply=values, key=key, source="carried")
    else:
        run = Run.from_data(dataclasses.replace(setup.data, supply=supply), setup.options)
        run.build()
        model = _fixed_model(run.model, run.index, t_shock, fixed, paid)
        out = _figures(run.data, run.index, run.solve_model(model), paid)
        out.supply, out.key = values, key
    REPLAN_COUNTS[out.source] += 1
    if memo is not None:
        memo[key] = out
    return out


def _tranches(setup: StressSetup) -> TrancheBase | None:
    """The baseline's :func:`~chipmix.model.data.tranche_base`, once per stress run and worker."""
    if _memo(setup.token) is None:  # resets the memo for a new stress run
        return None
    if _MEMO.get("tranches") is None:
        _MEMO["tranches"] = tranche_base(setup.data)
    base: TrancheBase = _MEMO["tranches"]
    return base


def _memo(token: str | None) -> dict[str, Replan] | None:
    if token is None:
        return None
    if _MEMO["token"] != token:
        _MEMO.update(token=token, replans={}, tranches=None)
    replans: dict[str, Replan] = _MEMO["replans"]
    return replans


def _replan_key(values: np.ndarray, t_shock: int, fixed: dict, paid: set,
                previous: Replan | None) -> str:
    digest = hashlib.blake2b(digest_size=16)
    digest.update(np.ascontiguousarray(values).tobytes())
    digest.update(repr((int(t_shock), sorted(fixed.items()), sorted(paid),
                        previous.key if previous is not None else "")).encode())
    return digest.hexdigest()


def _fixed_model(model, index, t_shock: int, fixed: dict, paid: set):
    """``model`` with the purchases before ``t_shock`` fixed and the paid porting kept."""
    a = model.arrays()
    lower, upper = a["col_lower"].copy(), a["col_upper"].copy()
    buy = index.buy
    early = (buy["t"] < t_shock).to_numpy()
    for sku, t, start, col, ub in zip(buy["sku"][early], buy["t"][early], buy["start"][early],
                                      buy["col"][early], buy["ub"][early], strict=True):
        lower[col] = upper[col] = min(fixed.get((sku, int(t), start.isoformat()), 0.0), ub)
    port = index.port
    for v, w, col in zip(port["vendor"], port["workload"], port["col"], strict=True):
        if (v, w) in paid:
            lower[col] = 1.0
    return model.with_arrays(col_lower=lower, col_upper=upper)


def still_fits(data, previous: Replan, supply: pd.DataFrame,
               base: TrancheBase | None = None) -> bool:
    """Whether ``previous``'s decisions are this re-plan's, exactly (within the gap).

    The caller passes a ``previous`` re-plan whose problem differs from this one only by
    more fixings (this re-plan fixes purchases up to its shock period at ``previous``'s
    decisions, keeps its porting) and by the supply. Supply enters the model only through
    the purchase bounds ``n[k,t,j] ≤ floor(supply[k,t,j]/server[k])`` (tightened by budget,
    pool and need, which no shock changes; a column whose bound is 0 is left out). So when
    ``supply`` is nowhere above ``previous``'s, this problem is contained in that one, and
    when every purchase of ``previous`` fits its tranche's new bound, ``previous``'s solution
    is feasible here — hence optimal within the gap it was proven to: the same cost, and
    ``previous``'s bound is a bound here (a smaller problem costs at least as much).
    ``tests/test_stress_speed.py`` checks this against the built model's bounds and rows.
    ``base``: :func:`~chipmix.model.data.tranche_base` of ``data`` (the same for every draw).
    """
    values = supply.to_numpy(dtype=float)
    if previous.row.get("status") not in Status.with_plan() \
            or previous.supply.shape != values.shape \
            or not bool(np.all(values <= previous.supply)):
        return False
    if not previous.bought:
        return True
    room = tranche_room(data, supply, tranche_base(data) if base is None else base)
    return all(servers <= room.get(key, 0.0) for key, servers in previous.bought.items())


def _figures(data, index, result: SolveResult, paid: set[tuple[str, str]]) -> Replan:
    """The draw's figures of a re-plan's result, and the decisions to carry on."""
    workloads = list(data.workloads.index)
    row: dict[str, Any] = {"status": result.status.value}
    empty = np.zeros(0)
    if not result.status.has_plan:
        row.update(cost=math.nan, capex=math.nan, shortfall_cost=math.nan,
                   **{f"shortfall:{w}": math.nan for w in workloads})
        return Replan(row, {}, paid, empty)
    x = result.plan_x()
    buy, port = index.buy, index.port
    disc = data.period_table["discount"].to_numpy()
    short = index.short
    s_val = x[short["col"].to_numpy(dtype=np.int64)] if len(short) else np.zeros(0)
    s_val = np.where(s_val > 1e-9, s_val, 0.0)
    penalty = short["workload"].map(data.workloads["penalty"]).to_numpy(dtype=float)
    s_cost = float((disc[short["t"].to_numpy(dtype=np.int64)] * penalty * s_val).sum()) \
        if len(short) else 0.0
    n = np.round(x[buy["col"].to_numpy(dtype=np.int64)])
    capex = float((n * buy["server"].to_numpy() * buy["price"].to_numpy()).sum())
    per_w = pd.Series(s_val, index=short["workload"].to_numpy()).groupby(level=0).sum() \
        if len(short) else pd.Series(dtype=float)
    row.update(cost=result.plan_objective(), capex=capex, shortfall_cost=s_cost,
               **{f"shortfall:{w}": float(per_w.get(w, 0.0)) for w in workloads})
    bought = {(k, int(t), d.isoformat()): float(v)
              for k, t, d, v in zip(buy["sku"], buy["t"], buy["start"], n, strict=True) if v > 0}
    z = np.round(x[port["col"].to_numpy(dtype=np.int64)]) if len(port) else np.zeros(0)
    now_ported = paid | {(v, w) for v, w, zz in zip(port["vendor"], port["workload"], z,
                                                     strict=True) if zz >= 1}
    return Replan(row, bought, now_ported, empty)


def run_draw(setup: StressSetup, i: int) -> dict[str, Any]:
    """Draw ``i`` (see :func:`_run_draw`), reusing this worker's HiGHS models of the run."""
    with worker_reuse(setup.token):
        return _run_draw(setup, i)


def _run_draw(setup: StressSetup, i: int) -> dict[str, Any]:
    """Draw ``i``: shocks from ``default_rng([seed, i])``, then the re-plans.

    Each shock is learnt in the first period it changes the supply. At each such period, in
    order, the plan so far is re-planned: purchases before it stay as decided, later ones are
    re-optimised knowing only the shocks learnt by then. The last re-plan knows every shock;
    its cost is the draw's.

    Each re-plan first tries the decisions of the one before (for the first: the plan
    re-planned at that period with the baseline supply, the same for every draw): when the
    shocks only took supply away and those decisions still fit, they are still optimal
    within the gap and nothing is solved (:func:`still_fits`).
    """
    rng = np.random.default_rng([setup.seed, int(i)])
    data = setup.data
    labels = data.labels
    T = len(labels)
    shocks = sample_shocks(data, setup.risks, rng)
    learnt = {j: shock_period(data, apply_shocks(data.supply, [s])) for j, s in enumerate(shocks)}
    stages = sorted({t for t in learnt.values() if t < T})
    head = {"draw": int(i), "shock_period": labels[stages[0]] if stages else None,
            "replans": len(stages), "shocks": "; ".join(s.text for s in shocks)}
    if not stages and setup.baseline is not None:
        return {**head, **{k: v for k, v in setup.baseline.items() if k != "notes"}}
    fixed, ported = setup.fixed, set(setup.ported)
    previous: Replan | None = None
    row: dict[str, Any] = {}
    for t_k in stages or [T]:
        known = [s for j, s in enumerate(shocks) if learnt[j] <= t_k]
        if previous is None and stages and setup.shortcuts:
            previous = _replan(setup, data.supply, t_k, fixed, ported, None)
        previous = _replan(setup, apply_shocks(data.supply, known), t_k, fixed, ported,
                           previous)
        row, fixed, ported = previous.row, previous.bought, previous.ported
        if row["status"] not in Status.with_plan():
            break
    return {**head, **row}


# -- the whole run -------------------------------------------------------------------------------


def tail_stats(values) -> dict[str, float]:
    """Mean, P90, P99, CVaR95 and the worst value; NaN draws (no plan) are left out.

    Percentiles interpolate linearly; CVaR95 is the mean of the worst 5 % of draws (at least
    one).
    """
    v = np.sort(np.asarray(values, dtype=float))
    v = v[~np.isnan(v)]
    if not len(v):
        return {k: math.nan for k in STATS}
    k = max(1, math.ceil(0.05 * len(v)))
    return {
        "mean": float(v.mean()),
        "p90": float(np.percentile(v, 90)),
        "p99": float(np.percentile(v, 99)),
        "cvar95": float(v[-k:].mean()),
        "worst": float(v[-1]),
    }


@dataclass
class StressResult:
    """Distribution of a fixed plan's cost and shortfall under the scenario's risks."""

    scenario: str
    seed: int
    draws: pd.DataFrame
    baseline: dict[str, Any]
    workloads: list[str]
    metrics: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def summary(self) -> dict[str, dict[str, float]]:
        """Per figure: baseline and the tail statistics over the draws."""
        out = {}
        for name in ["cost", "shortfall_cost"] + [f"shortfall:{w}" for w in self.workloads]:
            out[name] = {"baseline": float(self.baseline[name]), **tail_stats(self.draws[name])}
        return out

    @property
    def shortfall_probability(self) -> float:
        """Share of draws with any shortfall (the plan as is may already have some)."""
        return float((self.draws["shortfall_cost"] > 1e-6).mean()) if len(self.draws) else 0.0

    @property
    def worse_probability(self) -> float:
        """Share of draws costing more than the plan as is (relative tolerance 1e-9)."""
        if not len(self.draws):
            return 0.0
        base = float(self.baseline["cost"])
        return float((self.draws["cost"] > base * (1 + 1e-9) + 1e-6).mean())

    def to_dict(self) -> dict[str, Any]:
        def clean(v):
            return json_number(v.item() if hasattr(v, "item") else v)

        return {
            "scenario": self.scenario,
            "draws": len(self.draws),
            "seed": self.seed,
            "units": {"cost": "discounted USD", "shortfall_cost": "discounted USD",
                      **{f"shortfall:{w}": f"{m} x periods" for w, m in self.metrics.items()}},
            "summary": {k: {s: clean(v) for s, v in d.items()} for k, d in self.summary.items()},
            "shortfall_probability": rounded(self.shortfall_probability),
            "worse_probability": rounded(self.worse_probability),
            "shocked_draws": int(self.draws["shock_period"].notna().sum()),
            "failed_draws": int((~self.draws["status"].isin(Status.with_plan())).sum()),
            "notes": list(self.notes),
            "per_draw": [{k: clean(v) for k, v in r.items()}
                         for r in self.draws.to_dict("records")],
        }


def stress(scenario, plan, draws: int = 500, seed: int = 0, workers: int | None = 1,
           dask=None, time_limit: float | None = None, gap: float | None = None,
           progress=None) -> StressResult:
    """Replay ``plan`` against ``draws`` random shocks from ``scenario.risks``.

    Parameters
    ----------
    scenario : Scenario (or a path to its YAML) with a ``risks:`` block.
    plan : the plan (path to its JSON, its dict, or a Plan) made for that scenario.
    draws, seed : draw ``i`` uses ``np.random.default_rng([seed, i])``.
    workers, dask : executor (:func:`chipmix.pipeline.executor.run_map`); ``workers``:
        local processes (None: every core, the CLI's default; 1 = in this process).
    time_limit, gap : for each draw's re-plan (default: the scenario's solver options).
    progress : ``progress(done, total)`` as draws finish (the CLI's progress bar).

    Raises
    ------
    InputError
        ``draws`` below 1 or above the ``draws`` limit, ``seed`` not a whole number >= 0,
        ``workers`` out of range, a malformed ``dask`` address, or a plan of another scenario
        (all checked before any work).
    """
    if isinstance(draws, bool) or not isinstance(draws, int) or draws < 1:
        raise InputError(field="--draws", value=draws, expected="a whole number ≥ 1")
    limits.check("draws", draws, what=f"{draws:,} draws", field="--draws")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise InputError(field="--seed", value=seed, expected="a whole number ≥ 0")
    if workers is not None:
        check_workers(workers)
    if isinstance(dask, str):
        parse_dask_address(dask, local=True)
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    options = scenario.solver.with_overrides(name="highs", time_limit=time_limit, gap=gap)
    setup = prepare_stress(scenario, plan, seed=seed, solver_options=options)
    rows = run_map(run_draw, setup, range(draws), workers=workers, dask=dask,
                   progress=progress)
    frame = pd.DataFrame(rows)
    workloads = list(setup.data.workloads.index)
    metrics = {w: setup.data.workloads.at[w, "metric"] for w in workloads}
    baseline = setup.baseline
    assert baseline is not None  # set by prepare_stress
    return StressResult(scenario=scenario.name, seed=int(seed), draws=frame,
                        baseline=baseline, workloads=workloads, metrics=metrics,
                        notes=list(baseline.get("notes", [])))


__all__ = [
    "REPLAN_COUNTS", "STATS", "Replan", "Shock", "StressResult", "StressSetup", "apply_shocks", "ban_period",
    "default_penalties", "period_index", "prepare_stress", "read_plan", "replay", "run_draw",
    "sample_shocks", "sample_supply", "shock_period", "still_fits", "stress", "tail_stats",
]
