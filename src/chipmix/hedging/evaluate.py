"""The solves of a hedge: the extensive form, and the independent evaluations around it.

Everything here runs on the executor (:func:`chipmix.pipeline.executor.run_map`): tasks are
module-level functions of a picklable context and one item.

**How the extensive form is solved** (:func:`solve_extensive`). A scenario tree's MIP is hard
mostly because of the integer purchases *after* the first reveal, which the scenarios no
longer share. So, exactly within the solver's gap:

1. the extensive form with those later purchases continuous (the here-and-now purchases and
   porting stay integer) — a relaxation, so its bound ``LB`` bounds the hedge;
2. its here-and-now purchases and porting fixed, every component of the tree (each scenario,
   in a two-stage tree) re-planned as an ordinary MIP, independently — a feasible hedge of
   cost ``UB``;
3. if ``(UB − LB)/|UB|`` is within the gap, that is the hedge (status optimal, gap reported);
   otherwise, while the tree is small (at most :data:`WHOLE_FORM_SCENARIOS` scenarios), the
   whole extensive form is solved, starting from it (HiGHS), and the better of the two plans
   is kept with the better of the two bounds; beyond that the decomposed hedge is reported
   as ``feasible`` with its certified ``lower_bound`` and ``upper_bound`` — measured on the
   default (benchmarks/README.md "Hedges"), the whole MIP of 8 or more scenarios does not
   improve on it within a minute.

The recourse MIPs (step 2) are the scenarios' own models, already built for step 1: they
travel to the executor with their item (one Part each, never the whole list), chunked, and
are not built again.

A single scenario is solved as its own model, exactly like ``chipmix plan``.
"""

from __future__ import annotations

import contextlib
import json
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from chipmix.hedging.extensive import Fixed, Part, build_extensive, risk_objective
from chipmix.hedging.lshaped import relaxed_bound
from chipmix.hedging.share import Shared, share_recourse
from chipmix.hedging.tree import ScenarioTree
from chipmix.model.build import build
from chipmix.model.data import make_timeline, prepare
from chipmix.pipeline.executor import Executor, run_map
from chipmix.pipeline.run import Run
from chipmix.solve import SolveResult, Status, solve


class _Inputs:
    """Catalogs and rule timelines shared by scenarios that name the same ones."""

    def __init__(self) -> None:
        self.catalogs: dict[str, Any] = {}
        self.timelines: dict[str, Any] = {}

    @staticmethod
    def _catalog_key(scenario) -> str:
        return json.dumps([scenario.catalogs, scenario.overrides], sort_keys=True, default=str)

    def catalog(self, scenario):
        """The scenario's catalog, loaded once per distinct catalogs and overrides."""
        ckey = self._catalog_key(scenario)
        if ckey not in self.catalogs:
            self.catalogs[ckey] = scenario.load_catalog()
        return self.catalogs[ckey]

    def prepare(self, scenario):
        ckey = self._catalog_key(scenario)
        catalog = self.catalog(scenario)
        tkey = json.dumps([ckey, scenario.rules, scenario.home, scenario.buyer,
                           scenario.unknown_policy, scenario.rule_params], sort_keys=True,
                          default=str)
        if tkey not in self.timelines:
            self.timelines[tkey] = make_timeline(scenario, catalog.frame)[0]
        return prepare(scenario, catalog=catalog, timeline=self.timelines[tkey])


#: The inputs cache of this process's evaluation tasks (one per worker process).
WORKER_INPUTS = _Inputs()


def prepare_all(scenarios: Sequence[Any]) -> list[Any]:
    """PlanningData of every scenario (catalogs and timelines built once per distinct set)."""
    inputs = _Inputs()
    return [inputs.prepare(s) for s in scenarios]


def make_parts(datas: Sequence[Any], keep_idle: bool) -> list[Part]:
    """Build every scenario's model with the ordinary builder (one Part each)."""
    parts = []
    for data in datas:
        model, index = build(data, keep_idle=keep_idle)
        parts.append(Part(data, model, index))
    return parts


#: Up to this many scenarios, a hedge the two steps do not certify within the gap is handed
#: to HiGHS whole (from the decomposed hedge); beyond it the two steps' bounds are reported.
WHOLE_FORM_SCENARIOS = 16


def map_tasks(fn, ctx, items, *, executor: Executor | None = None, workers: int = 1,
              dask: Any = None) -> list[Any]:
    """``fn(ctx, item)`` for every item, on ``executor`` (kept open by the caller) if given."""
    if executor is not None:
        return executor.map(fn, ctx, items)
    return run_map(fn, ctx, items, workers=workers, dask=dask)


# -- evaluations on the executor -------------------------------------------------------------


@dataclass
class EvalContext:
    """What every evaluation needs (pickled once per worker)."""

    datas: list[Any]
    tree: ScenarioTree
    options: Any  # SolverOptions
    weight: float
    alpha: float


def wait_and_see_task(ctx: EvalContext, s: int) -> tuple[str, float]:
    """Plan scenario ``s`` alone, with hindsight: status and optimal cost.

    One ordinary pipeline run.
    """
    result = Run.from_data(ctx.datas[s], ctx.options).execute().result
    assert result is not None
    return result.status.value, (result.plan_objective() if result.status.has_plan
                                 else math.nan)


def recourse_task(ctx: EvalContext, item: tuple) -> dict[str, Any]:
    """Re-plan the scenarios ``members`` with ``fixed`` decisions pinned.

    ``item`` is ``(members, fixed)`` or ``(members, fixed, parts)``: the members' Parts
    already built (``keep_idle=True``), else they are built here from ``ctx.datas``. One
    extensive form over them (a single scenario is its own model); returns the status, the
    cost and the solution per member.
    """
    cpu = time.process_time()
    members, fixed = item[0], item[1]
    parts = item[2] if len(item) > 2 and item[2] is not None else \
        make_parts([ctx.datas[s] for s in members], keep_idle=True)
    tree = ctx.tree.subtree(members)
    weight = ctx.weight if len(members) == len(ctx.tree) else 0.0
    ext = build_extensive(parts, tree, weight=weight, alpha=ctx.alpha, fixed=fixed)
    result = solve(ext.model, ctx.options)
    if not result.status.has_plan:
        return {"members": list(members), "status": result.status.value,
                "costs": [math.nan] * len(members), "notes": ext.notes, "x": None, "gap": None,
                "bound": None, "cpu": time.process_time() - cpu}
    x = result.plan_x()
    return {"members": list(members), "status": result.status.value,
            "costs": [float(c) for c in ext.scenario_costs(x)], "notes": ext.notes,
            "x": [ext.part_x(x, i).copy() for i in range(len(members))],
            "gap": result.gap or 0.0, "bound": result.bound, "cpu": time.process_time() - cpu}


def relaxed_recourse(ext) -> Any:
    """The extensive form with every purchase from the first reveal on continuous."""
    tree = ext.tree
    integer = ext.model.arrays()["integer"].copy()
    for s, part in enumerate(ext.parts):
        buy = part.index.buy
        late = buy["t"].to_numpy() >= tree.first_reveal
        integer[buy["col"].to_numpy(dtype=np.int64)[late] + ext.col_offset[s]] = False
    return ext.model.with_arrays(integer=integer)


def first_stage(ext, x: np.ndarray) -> Fixed:
    """The here-and-now purchases and porting of ``x`` (rounded) as decisions to pin."""
    head = set(ext.tree.here_and_now_periods)
    part, xs = ext.parts[0], ext.part_x(x, 0)
    buy = part.index.buy
    servers = {(k, int(t), start.isoformat()): float(np.round(xs[c]))
               for k, t, c, start in zip(buy["sku"], buy["t"], buy["col"], buy["start"],
                                         strict=True)
               if int(t) in head and np.round(xs[c]) > 0}
    ported: set[tuple[str, str]] = set()
    for s, p in enumerate(ext.parts):  # tied across scenarios; absent in some
        xs = ext.part_x(x, s)
        port = p.index.port
        ported |= {(v, w) for v, w, c in zip(port["vendor"], port["workload"], port["col"],
                                             strict=True) if np.round(xs[c]) >= 1}
    return Fixed(head, servers, ported)


def full_vector(ext, xs: Sequence[np.ndarray], costs: np.ndarray) -> np.ndarray:
    """The extensive form's solution vector from each scenario's own.

    The CVaR columns get their best values: η at the α-quantile of cost,
    ``u[s] = max(0, cost[s] − η)``.
    """
    x = np.concatenate([np.asarray(v, dtype=float) for v in xs])
    if ext.weight > 0:
        probs = np.asarray(ext.tree.probabilities)
        order = np.argsort(costs, kind="stable")
        cum = np.cumsum(probs[order])
        eta = float(np.asarray(costs)[order][np.searchsorted(cum, ext.alpha - 1e-12)])
        x = np.concatenate([x, [eta], np.maximum(0.0, np.asarray(costs) - eta)])
    return x


def replan(parts: Sequence[Part], ctx: EvalContext, fixed: Fixed,
           groups: Sequence[Sequence[int]], share: bool, run: dict[str, Any]
           ) -> tuple[list[dict[str, Any]], Shared | None]:
    """Each group of scenarios re-planned with ``fixed`` pinned: :func:`recourse_task` rows.

    ``parts``: every scenario of ``ctx.tree``'s models (built already: they travel with their
    item, a task needs its scenarios only). With ``share`` and single-scenario groups, a
    scenario contained in a solved sibling takes its plan when that is exact within the gap
    (:mod:`chipmix.hedging.share`; how it was shared is returned, else None) — for the
    hedge's recourse, the base plan's re-plans and the wait-and-see plans (nothing pinned)
    alike. ``run``: the executor, workers, dask.
    """
    tree = ctx.tree
    local = run["executor"] is None and run["workers"] == 1 and not run["dask"]
    shipped = ctx if local else EvalContext([], tree, ctx.options, ctx.weight, ctx.alpha)
    if not (share and len(groups) > 1 and all(len(g) == 1 for g in groups)):
        items = [(list(g), fixed, [parts[s] for s in g]) for g in groups]
        return map_tasks(recourse_task, shipped, items, **run), None
    order = [g[0] for g in groups]
    with contextlib.ExitStack() as stack:
        if not local and run["executor"] is None:  # one pool for every wave
            run = {**run, "executor": stack.enter_context(Executor(run["workers"],
                                                                   run["dask"]))}

        def solve_batch(batch: list[int]) -> list[dict[str, Any]]:
            items = [([order[i]], fixed, [parts[order[i]]]) for i in batch]
            return map_tasks(recourse_task, shipped, items, **run)

        rows, shared = share_recourse([parts[s] for s in order],
                                      [tree.probabilities[s] for s in order], fixed,
                                      ctx.options, solve_batch)
    for row, s in zip(rows, order, strict=True):  # carried rows name their place in order
        row["members"] = [s]
        if row.get("carried_from") is not None:
            row["carried_from"] = order[row["carried_from"]]
    return rows, shared


def shared_info(prefix: str, shared: Shared | None, info: dict[str, Any]) -> None:
    """``<prefix>_solved``, ``_carried``, ``_waves`` and ``_checks_seconds`` into ``info``."""
    if shared is not None:
        info.update({f"{prefix}_solved": shared.solved, f"{prefix}_carried": shared.carried,
                     f"{prefix}_waves": shared.waves,
                     f"{prefix}_checks_seconds": round(shared.seconds, 4)})


def _recourse(ext, ctx: EvalContext, fixed: Fixed, share: bool, info: dict[str, Any],
              run: dict[str, Any]) -> list[dict[str, Any]]:
    """Every component's recourse row, ``fixed`` pinned (step 2 of the module docstring)."""
    tree = ext.tree
    groups = [list(range(len(tree)))] if ext.weight > 0 else tree.components(tree.first_reveal)
    rows, shared = replan(ext.parts, ctx, fixed, groups, share, run)
    shared_info("recourse", shared, info)
    return rows


def solve_extensive(ext, ctx: EvalContext, options, *, workers: int = 1, dask: Any = None,
                    executor: Executor | None = None, share: bool = True):
    """Solve the extensive form (module docstring); returns the SolveResult and how.

    ``share``: a scenario's recourse MIP contained in a solved sibling's takes its plan when
    that is exact within the gap (:mod:`chipmix.hedging.share`; False: solve every one).
    """
    tree = ext.tree
    if len(tree) == 1:
        return solve(ext.model, options), {"method": "single scenario"}
    started = time.perf_counter()
    info: dict[str, Any] = {"method": "extensive form"}
    lshaped = relaxed_bound(ext, options)
    if lshaped is not None:
        bound, fixed = lshaped.lower, lshaped.fixed
        info.update(relaxation="L-shaped", relaxation_rounds=lshaped.rounds)
        info["relaxation_seconds"] = round(time.perf_counter() - started, 4)
    else:
        relaxed = solve(relaxed_recourse(ext), options)
        info["relaxation_seconds"] = round(time.perf_counter() - started, 4)
        if not relaxed.status.has_plan:
            if relaxed.status == Status.INFEASIBLE:
                return relaxed, {**info, "method": "relaxation (infeasible)"}
            return solve(ext.model, options), info
        bound = float(relaxed.bound if relaxed.bound is not None else relaxed.plan_objective())
        fixed = first_stage(ext, relaxed.plan_x())
    t = time.perf_counter()
    rows = _recourse(ext, ctx, fixed, share, info,
                     dict(executor=executor, workers=workers, dask=dask))
    info["recourse_seconds"] = round(time.perf_counter() - t, 4)
    # CPU of the recourse solves wherever they ran (wall-clock figures: not in the JSON)
    info["recourse_cpu_seconds"] = round(sum(r.get("cpu", 0.0) for r in rows), 4)
    if not all(r["x"] is not None for r in rows):
        return _whole(ext, options, None, bound, started, info)
    xs: list[Any] = [None] * len(tree)
    costs = np.zeros(len(tree))
    for r in rows:
        for i, s in enumerate(r["members"]):
            xs[s], costs[s] = r["x"][i], r["costs"][i]
    upper = float(risk_objective(costs, tree.probabilities, ext.weight, ext.alpha))
    start = full_vector(ext, xs, costs)
    gap = _gap(upper, bound)
    info.update(lower_bound=bound, upper_bound=upper)
    target = options.gap if options.gap is not None else 1e-4
    if gap <= target + 1e-12 or len(tree) > WHOLE_FORM_SCENARIOS:
        within = gap <= target + 1e-12
        info["method"] = "relaxed recourse, then recourse fixed" + (
            " (within the gap)" if within else
            f" (not proven within the gap: {len(tree)} scenarios, beyond the "
            f"{WHOLE_FORM_SCENARIOS} the whole extensive form is solved for)")
        return SolveResult(Status.OPTIMAL if within else Status.FEASIBLE, options.name,
                           x=start, objective=upper, bound=bound, gap=gap,
                           seconds=time.perf_counter() - started,
                           message=f"Optimal within the gap ({gap:.2g})" if within else
                           f"a feasible hedge within {gap:.2g} of the bound"), info
    return _whole(ext, options, (start, upper), bound, started, info)


def _gap(upper: float, lower: float) -> float:
    return max(0.0, (upper - lower) / max(abs(upper), 1e-9))


def _whole(ext, options, incumbent: tuple[np.ndarray, float] | None, bound: float,
           started: float, info: dict[str, Any]):
    """The whole extensive form, from the decomposed hedge ``incumbent`` (x, cost) if any.

    The better plan of the two is kept and the better bound: the relaxation's ``bound``
    is a valid lower bound of the hedge, and may be above HiGHS's own when time runs out.
    """
    t = time.perf_counter()
    start = incumbent[0] if incumbent is not None else None
    result = solve(ext.model, options, start=start)
    info["extensive_seconds"] = round(time.perf_counter() - t, 4)
    info["method"] = "extensive form" + (" (started from the fixed-recourse hedge)"
                                         if start is not None else "")
    if incumbent is None or result.status == Status.INFEASIBLE:
        return result, info
    x, upper = incumbent
    objective = result.objective if result.status.has_plan else None
    if objective is not None and objective <= upper:
        if result.status == Status.OPTIMAL:
            return result, info
        x, upper = result.plan_x(), float(objective)
    # time ran out: the better plan so far, against the better bound
    lower = max(bound, float(result.bound)) if result.bound is not None else bound
    gap = _gap(upper, lower)
    target = options.gap if options.gap is not None else 1e-4
    status = Status.OPTIMAL if gap <= target + 1e-12 else Status.FEASIBLE
    info.update(lower_bound=lower, upper_bound=upper)
    return SolveResult(status, result.solver, x=x, objective=upper, bound=lower, gap=gap,
                       seconds=time.perf_counter() - started,
                       message="Optimal within the gap" if status == Status.OPTIMAL else
                       "a feasible hedge, not proven optimal in time"), info


__all__ = ["WHOLE_FORM_SCENARIOS", "WORKER_INPUTS", "EvalContext", "make_parts", "map_tasks",
           "prepare_all", "recourse_task", "replan", "shared_info", "solve_extensive",
           "wait_and_see_task"]
