"""``hedge(scenario)``: the purchase plan that holds up across the scenarios of a tree.

Pipeline (``docs/hedging.md``):

1. **scenarios**: the ``uncertainty:`` block's combinations of outcomes, each derived from
   the base scenario like ``--set`` and validated by the normal loader
   (:func:`scenarios_from_uncertainty`), or draws from the ``risks:`` block
   (:mod:`chipmix.hedging.sampled`);
2. **parts**: each scenario prepared and built by the ordinary pipeline
   (:func:`chipmix.model.data.prepare`, :func:`chipmix.model.build.build`);
3. **extensive form**: stacked, tied and risk-weighted (:mod:`chipmix.hedging.extensive`),
   solved once with HiGHS or CBC;
4. **evaluations**, independent solves on the executor: each scenario with hindsight
   (wait-and-see) and the base scenario's deterministic plan with its here-and-now purchases
   and porting fixed, the rest re-planned in every scenario.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from chipmix.errors import InputError, require
from chipmix.hedging.evaluate import (
    EvalContext,
    make_parts,
    map_tasks,
    prepare_all,
    recourse_task,
    replan,
    shared_info,
    solve_extensive,
    wait_and_see_task,
)
from chipmix.hedging.extensive import (
    Fixed,
    Part,
    build_extensive,
    cvar,
    expected,
    risk_objective,
)
from chipmix.hedging.report import hedge_dict
from chipmix.hedging.sampled import out_of_sample, sampled_scenarios
from chipmix.hedging.share import Shared
from chipmix.hedging.tree import ScenarioTree
from chipmix.inputs.scenario import Scenario, load_scenario
from chipmix.inputs.uncertainty import outcome_data
from chipmix.pipeline.executor import Executor
from chipmix.pipeline.run import Run
from chipmix.planner import extract
from chipmix.planner import plan as make_plan
from chipmix.solve import SolveResult

# -- scenarios -----------------------------------------------------------------------------


def scenarios_from_uncertainty(scenario) -> tuple[ScenarioTree, list[Any]]:
    """The tree of the scenario's ``uncertainty:`` block and one derived Scenario per leaf."""
    block = scenario.uncertainty
    if block is None:
        raise InputError("no uncertainty: block to hedge against", file=scenario.source,
                         location="uncertainty",
                         expected="an uncertainty: block (formats.md), or --draws N to sample "
                                  "scenarios from the risks: block")
    tree = ScenarioTree.from_events(block.events, scenario.periods)
    base = scenario.to_dict()
    by_name = {e.name: {o.name: o for o in e.outcomes} for e in block.events}
    derived = []
    label = str(scenario.source) if scenario.source else scenario.name
    for leaf in tree.scenarios:
        outcomes = [by_name[e][o] for e, o in leaf.outcomes.items()]
        data = outcome_data(base, outcomes, schema=Scenario,
                            label=f"{label}: scenario {leaf.name}")
        data["name"] = f"{scenario.name} [{leaf.name}]"
        derived.append(Scenario.from_dict(data, base_dir=scenario.base_dir,
                                          source_name=f"{label}: scenario {leaf.name}"))
    return tree, derived


# -- the result ------------------------------------------------------------------------------


@dataclass
class ScenarioResult:
    """One scenario of a hedge: its plan (a :class:`chipmix.planner.Plan`) and figures."""

    name: str
    outcomes: dict[str, str]
    probability: float
    scenario: Any  # the derived Scenario (chipmix.verify(plan, scenario))
    plan: Any
    cost: float
    wait_and_see: float = math.nan
    deterministic: float = math.nan


@dataclass
class Hedge:
    """What ``chipmix hedge`` reports (model.md "Planning under uncertainty").

    Frames: :attr:`here_and_now`, :attr:`purchases` (every scenario's), :attr:`costs`.
    """

    scenario: str
    status: Any  # chipmix.solve.Status
    objective: float | None
    alpha: float
    weight: float
    periods: list[str]
    tree: ScenarioTree
    results: list[ScenarioResult]
    here_and_now_periods: list[int]
    wait_and_see: float | None = None
    deterministic: dict[str, Any] = field(default_factory=dict)
    solver: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    message: str = ""
    sampled: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return self.status.has_plan

    @property
    def probabilities(self) -> list[float]:
        return [r.probability for r in self.results]

    @property
    def costs_by_scenario(self) -> list[float]:
        return [r.cost for r in self.results]

    @property
    def expected_cost(self) -> float | None:
        return expected(self.costs_by_scenario, self.probabilities) if self.ok else None

    @property
    def cvar(self) -> float | None:
        return cvar(self.costs_by_scenario, self.probabilities, self.alpha) if self.ok else None

    @property
    def evpi(self) -> float | None:
        expected_cost = self.expected_cost
        if expected_cost is None or self.wait_and_see is None:
            return None
        return expected_cost - self.wait_and_see

    @property
    def value_of_hedging(self) -> float | None:
        """``E[deterministic] − E[hedge]`` (weight 0).

        With a CVaR weight, the same difference in the hedge's objective ``(1 − ω)·E +
        ω·CVaR``.
        """
        det = self.deterministic.get("objective")
        if not self.ok or det is None or (isinstance(det, float) and math.isnan(det)):
            return None
        return det - risk_objective(self.costs_by_scenario, self.probabilities, self.weight,
                                    self.alpha)

    @property
    def here_and_now(self):
        """Purchases made before the first outcome is known (shared by every scenario)."""
        cols = ["period", "sku", "servers", "units"]
        if not self.ok or not self.results:
            return pd.DataFrame(columns=cols)
        labels = {self.periods[t] for t in self.here_and_now_periods}
        p = self.results[0].plan.purchases
        return p[p["period"].isin(labels)][cols].reset_index(drop=True)

    @property
    def purchases(self):
        """Every scenario's purchases.

        Scenario, probability, period, sku, servers, units, unit_price, spend,
        here_and_now.
        """
        frames = []
        labels = {self.periods[t] for t in self.here_and_now_periods}
        for r in self.results:
            p = r.plan.purchases.copy()
            p.insert(0, "scenario", r.name)
            p.insert(1, "probability", r.probability)
            p["here_and_now"] = p["period"].isin(labels)
            frames.append(p)
        if not frames:
            return pd.DataFrame(columns=["scenario", "probability", "period", "sku", "servers",
                                         "units", "unit_price", "spend", "here_and_now"])
        return pd.concat(frames, ignore_index=True)

    @property
    def costs(self):
        """Per scenario.

        Probability, the hedge's cost and its parts, shortfall (metric units × periods),
        the cost with hindsight and the deterministic plan's.
        """
        rows = []
        for r in self.results:
            d = r.plan.discounted
            rows.append({
                "scenario": r.name, "probability": r.probability, "cost": r.cost,
                "capex": d.get("capex", math.nan), "energy": d.get("energy", math.nan),
                "porting": d.get("porting", math.nan),
                "shortfall_cost": d.get("shortfall", math.nan),
                "shortfall": float(r.plan.delivered["shortfall"].sum())
                if len(r.plan.delivered) else 0.0,
                "wait_and_see": r.wait_and_see, "deterministic": r.deterministic,
            })
        return pd.DataFrame(rows, columns=["scenario", "probability", "cost", "capex", "energy",
                                           "porting", "shortfall_cost", "shortfall",
                                           "wait_and_see", "deterministic"])

    # -- JSON -----------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The hedge JSON of formats.md.

        Plus extensions: periods, reveals, per-scenario ``wait_and_see`` and
        ``deterministic`` costs, notes.
        """
        return hedge_dict(self)

    def to_json(self, timings: bool = False) -> str:
        """JSON text of :meth:`to_dict`.

        Without ``timings`` no wall-clock figure is included, so the same inputs give
        byte-identical text.
        """
        d = self.to_dict()
        if not timings:
            d.pop("timings", None)
            d["solver"] = {k: v for k, v in d["solver"].items() if k != "seconds"}
        return json.dumps(d, indent=2, ensure_ascii=False, allow_nan=False) + "\n"

# -- hedge() ---------------------------------------------------------------------------------


def hedge(scenario, *, solver: str | None = None, weight: float | None = None,
          alpha: float | None = None, time_limit: float | None = None,
          gap: float | None = None, threads: int | None = None, workers: int = 1,
          dask: Any = None, draws: int | None = None, seed: int = 0,
          reveal: str | None = None, test_draws: int | None = None,
          evaluate: bool = True, share: bool = True) -> Hedge:
    """Choose the purchases that hold up across the scenario's uncertainty.

    Parameters
    ----------
    scenario : a Scenario or the path to its YAML, with an ``uncertainty:`` block (or a
        ``risks:`` block and ``draws``).
    solver, time_limit, gap, threads : for the extensive form and every evaluation (default:
        the scenario's ``solver:``).
    weight, alpha : the risk attitude (default: ``uncertainty.risk``; 0 and 0.9 without one).
    workers, dask : executor of the independent evaluations
        (:func:`chipmix.pipeline.executor.run_map`).
    draws, seed, reveal, test_draws : a sampled hedge (:mod:`chipmix.hedging.sampled`).
    evaluate : False skips the wait-and-see and deterministic evaluations (and the
        out-of-sample one): EVPI and the value of hedging are then not reported.
    share : a scenario's recourse, wait-and-see or base-plan MIP contained in a solved
        sibling's takes its plan when that is exact within the gap
        (:mod:`chipmix.hedging.share`); False solves every one (same results within the gap).

    Raises
    ------
    InputError
        A bad scenario or ``uncertainty:`` block, a risk attitude out of range, bad solver
        or executor options; ArgumentError (also a ``TypeError``) for an argument of the
        wrong kind (``scenario=None``, ``weight="high"``).
    """
    for name, value in (("weight", weight), ("alpha", alpha)):
        require("chipmix.hedge", name, value, (int, float), "a number", optional=True)

    started = time.perf_counter()
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    options = scenario.solver.with_overrides(name=solver, time_limit=time_limit, gap=gap,
                                             threads=threads)
    risk = scenario.uncertainty.risk if scenario.uncertainty is not None else None
    weight = float(weight if weight is not None else (risk.weight if risk else 0.0))
    alpha = float(alpha if alpha is not None else (risk.alpha if risk else 0.9))
    _check_risk(weight, alpha)
    timings: dict[str, float] = {}
    t = time.perf_counter()
    sampled = None
    if draws is not None:
        sampled = sampled_scenarios(scenario, draws=draws, seed=seed, reveal=reveal)
        tree, derived, base = sampled.tree, sampled.scenarios, sampled.base
    else:
        tree, derived = scenarios_from_uncertainty(scenario)
        base = scenario
    datas = prepare_all(derived)
    parts = make_parts(datas, keep_idle=len(tree) > 1)
    timings["prepare"] = time.perf_counter() - t
    # one executor for every batch of the hedge: a pool starts (or a cluster connects) once.
    # (Preparing and building the scenarios on the workers was measured slower: 128 draws
    # of the default 13 CPU s here against 22-26 on two workers, pool start and shipping
    # the built models back included; benchmarks/README.md "Hedges".)
    with Executor(workers, dask) as ex:
        out = solve_tree(base, tree, derived, datas, options,
                         weight=weight, alpha=alpha, workers=workers, dask=dask,
                         timings=timings, evaluate=evaluate, executor=ex, parts=parts,
                         share=share)
        if sampled is not None and out.ok and evaluate:
            t = time.perf_counter()
            out.sampled = out_of_sample(scenario, sampled, out, options,
                                        test_draws=test_draws, workers=workers, dask=dask,
                                        executor=ex, share=share)
            timings["out_of_sample"] = time.perf_counter() - t
    timings["total"] = time.perf_counter() - started
    return out


def _check_risk(weight: float, alpha: float) -> None:
    if not (isinstance(weight, float) and 0.0 <= weight <= 1.0):
        raise InputError(field="--weight", value=weight, expected="a number from 0 to 1")
    if not (isinstance(alpha, float) and 0.0 <= alpha < 1.0):
        raise InputError(field="--alpha", value=alpha, expected="a number from 0 up to (not "
                         "including) 1, e.g. 0.9")


def solve_tree(base, tree: ScenarioTree, derived: Sequence[Any], datas: Sequence[Any],
               options, *, weight: float, alpha: float, workers: int = 1, dask: Any = None,
               timings: dict[str, float] | None = None, evaluate: bool = True,
               executor: Executor | None = None, parts: Sequence[Part] | None = None,
               share: bool = True) -> Hedge:
    """Solve the extensive form of ``tree`` and run the evaluations (module docstring).

    ``executor`` (kept open by the caller) runs every batch; else each batch gets its own
    on ``workers`` / ``dask``. ``parts``: the scenarios' models if already built (with
    ``keep_idle`` when the tree has more than one scenario), else built here from ``datas``.
    ``share``: contained MIPs share plans (:func:`hedge`).
    """
    run = {"executor": executor, "workers": workers, "dask": dask}
    timings = timings if timings is not None else {}
    t = time.perf_counter()
    if parts is None:
        parts = make_parts(datas, keep_idle=len(tree) > 1)
    ext = build_extensive(parts, tree, weight=weight, alpha=alpha)
    ext.model.arrays()
    timings["build"] = time.perf_counter() - t
    # worker processes share the cores: one solver thread each (as the sweep executor does)
    task_options = options.with_overrides(threads=1) \
        if (workers and workers > 1) or dask else options
    ctx = EvalContext(list(datas), tree, task_options, weight, alpha)
    t = time.perf_counter()
    result, method = solve_extensive(ext, ctx, options, share=share, **run)
    timings["solve"] = time.perf_counter() - t
    for key in [k for k in method if k.endswith("_seconds")]:  # wall clock: not in the JSON
        timings["solve_" + key.removesuffix("_seconds")] = method.pop(key)
    solver = {"name": result.solver, "seconds": result.seconds, "gap": result.gap,
              "variables": ext.model.num_cols, "constraints": ext.model.num_rows,
              "integers": ext.model.num_integers, "nonanticipativity": ext.na_rows,
              "scenarios": len(tree), **method}
    out = Hedge(scenario=base.name, status=result.status,
                objective=result.objective if result.status.has_plan else None,
                alpha=alpha, weight=weight, periods=list(tree.periods), tree=tree, results=[],
                here_and_now_periods=tree.here_and_now_periods, solver=solver, timings=timings,
                message=result.message)
    t = time.perf_counter()
    if evaluate or not result.status.has_plan:
        ws = _wait_and_see(parts, ctx, share, run, out)
    else:
        ws = [("not evaluated", math.nan)] * len(tree)
    timings["wait_and_see"] = time.perf_counter() - t
    if not result.status.has_plan:
        bad = [f"{leaf.name} ({status})" for leaf, (status, _) in zip(tree.scenarios, ws,
                                                                      strict=True)
               if status != "optimal" and status != "feasible"]
        out.notes.append("no plan holds in every scenario" + (
            f": alone, these have none either: {', '.join(bad)}" if bad else
            " (each scenario has a plan alone: the shared decisions cannot serve them all)"))
        return out
    x = result.plan_x()
    costs = ext.scenario_costs(x)
    for s, leaf in enumerate(tree.scenarios):
        part = parts[s]
        part_result = SolveResult(result.status, result.solver, x=ext.part_x(x, s),
                                  objective=float(costs[s]), gap=result.gap,
                                  seconds=result.seconds, message=result.message)
        plan = extract(Run(scenario=part.data.scenario, options=options, data=part.data,
                           model=part.model, index=part.index, result=part_result))
        status, opt = ws[s]
        out.results.append(ScenarioResult(
            leaf.name, dict(leaf.outcomes), leaf.probability, derived[s], plan, float(costs[s]),
            # the hindsight optimum is at most any plan of the scenario, the hedge's included
            wait_and_see=min(opt, float(costs[s])) if not math.isnan(opt) else math.nan))
    if not evaluate:
        out.notes.append("not evaluated: no wait-and-see, EVPI or value of hedging")
        return out
    out.wait_and_see = expected([r.wait_and_see for r in out.results], tree.probabilities)
    t = time.perf_counter()
    out.deterministic = _deterministic(base, tree, ctx, options, out,
                                       {**run, "share": share, "parts": parts})
    timings["deterministic"] = time.perf_counter() - t
    return out


def _shared(prefix: str, shared: Shared | None, out: Hedge) -> None:
    """How an evaluation's MIPs were shared: counts to the solver block, seconds to timings."""
    info: dict[str, Any] = {}
    shared_info(prefix, shared, info)
    for key, value in info.items():
        if key.endswith("_seconds"):  # wall clock: not in the JSON
            out.timings[key.removesuffix("_seconds")] = value
        else:
            out.solver[key] = value


def _wait_and_see(parts: Sequence[Part], ctx: EvalContext, share: bool, run: dict[str, Any],
                  out: Hedge) -> list[tuple[str, float]]:
    """Every scenario planned alone with hindsight (nothing pinned): status and cost.

    Each is the scenario's own model, already built; contained ones share plans
    (:func:`chipmix.hedging.evaluate.replan`).
    """
    groups = [[s] for s in range(len(ctx.tree))]
    rows, shared = replan(parts, ctx, Fixed(set(), {}, None), groups, share, run)
    _shared("wait_and_see", shared, out)
    return [(row["status"], float(row["costs"][0])) for row in rows]


def _deterministic(base, tree: ScenarioTree, ctx: EvalContext, options, out: Hedge,
                   run: dict[str, Any]) -> dict[str, Any]:
    """Evaluate the base scenario's own plan in every scenario of the tree.

    Its here-and-now purchases and porting are fixed, the rest is re-planned in every
    scenario (independent solves per tree component; single scenarios share plans when
    contained, :func:`chipmix.hedging.evaluate.replan`). ``run``: the executor, workers,
    dask, ``share`` and the scenarios' built ``parts``.
    """
    share, parts = run["share"], run["parts"]
    run = {k: v for k, v in run.items() if k not in ("share", "parts")}
    base_plan = make_plan(base, solver=options.name, time_limit=options.time_limit,
                          gap=options.gap, threads=options.threads, diagnose=False)
    head = out.here_and_now_periods
    info: dict[str, Any] = {"status": base_plan.status.value, "objective": math.nan,
                            "expected_cost": math.nan, "cvar": math.nan, "here_and_now": [],
                            "ported": [], "notes": []}
    if not base_plan.ok:
        info["notes"].append(f"the base scenario alone has no plan ({base_plan.status.value})")
        return info
    t_of = {p: t for t, p in enumerate(tree.periods)}
    p = base_plan.purchases
    # keyed by tranche too: a period whose terms change mid-way has one purchase per tranche
    servers = {(k, t_of[per], start): float(n) for per, k, n, start in
               zip(p["period"], p["sku"], p["servers"], p["from"], strict=True)}
    ported = {(v, w) for v, w in zip(base_plan.ported["vendor"], base_plan.ported["workload"],
                                     strict=True)}
    fixed = Fixed(set(head), {key: v for key, v in servers.items() if key[1] in head}, ported)
    info["here_and_now"] = p[p["period"].isin([tree.periods[t] for t in head])][
        ["period", "sku", "servers", "units"]].reset_index(drop=True)
    info["ported"] = sorted(ported)
    info["base_plan"] = base_plan
    if ctx.weight > 0 or len(tree) == 1:
        groups = [list(range(len(tree)))]
    else:
        groups = tree.components(tree.first_reveal)
    if len(tree) > 1:  # the parts were built with keep_idle, as the task builds them
        rows, shared = replan(parts, ctx, fixed, groups, share, run)
        _shared("deterministic", shared, out)
    else:
        rows = map_tasks(recourse_task, ctx, [(g, fixed) for g in groups], **run)
    costs = np.full(len(tree), math.nan)
    for row in rows:
        costs[row["members"]] = row["costs"]
        info["notes"].extend(n for n in row["notes"] if n not in info["notes"])
        if row["status"] not in ("optimal", "feasible"):
            info["status"] = row["status"]
    for s, r in enumerate(out.results):
        r.deterministic = float(costs[s])
    probs = tree.probabilities
    if not np.isnan(costs).any():
        info["expected_cost"] = expected(costs, probs)
        info["cvar"] = cvar(costs, probs, ctx.alpha)
        info["objective"] = risk_objective(costs, probs, ctx.weight, ctx.alpha)
    return info


__all__ = ["EvalContext", "Hedge", "ScenarioResult", "hedge", "make_parts", "prepare_all",
           "recourse_task", "scenarios_from_uncertainty", "solve_tree", "wait_and_see_task"]
