"""Sampled hedges: scenarios drawn from the ``risks:`` block (sample average approximation).

Draw ``i`` takes the shocks of ``chipmix stress`` (:func:`chipmix.insight.stress.sample_shocks`,
``np.random.default_rng([seed, i])``: supply factors, revoked licences, bans moved earlier)
and turns them into a scenario of its own: the base scenario with its ``supply`` assumption
for each shocked SKU multiplied by the factor from the shock's period on (a factor of 0 cuts
it to nothing). Every draw is therefore an ordinary scenario, planned by the ordinary
pipeline and checked by the independent checker. (``stress`` applies the same factors to the
supply left after the rules; the two agree except where a licence cap binds.)

The hedge is two-stage: every draw looks alike until the **reveal** period — by default the
first period in which some risk can change supply, or ``--reveal PERIOD`` — and is fully known
from it on. Draws with the same shocks are one scenario (their probabilities add up).

Workloads with hard demand get the stress test's shortfall price (``risks.shortfall_penalty``,
else the dearest SKU's price per metric unit), so a draw short of supply still has a plan.

The chosen here-and-now purchases (and porting) are then evaluated **out of sample**: fresh
draws ``N .. N+M−1`` of the same seed, each re-planned from the reveal period on with them
fixed — beside the base plan's, evaluated the same way. The gap between the in-sample and the
out-of-sample cost shows over-fitting to the sample.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import chipmix.limits as limits
from chipmix.errors import InputError
from chipmix.hedging.evaluate import (
    WORKER_INPUTS,
    EvalContext,
    make_parts,
    map_tasks,
    prepare_all,
    replan,
)
from chipmix.hedging.extensive import Fixed, build_extensive
from chipmix.hedging.tree import ScenarioTree
from chipmix.insight.stress import ban_period, default_penalties, period_index, sample_shocks
from chipmix.numbers import json_number
from chipmix.periods import Period, step_values
from chipmix.pipeline.executor import Executor
from chipmix.solve import solve

#: Out-of-sample draws per in-sample draw when ``test_draws`` is not given (at least 100).
TEST_FACTOR = 4


@dataclass
class Sampled:
    """The scenarios of a sampled hedge and how they were drawn."""

    base: Any  # the base Scenario, hard demand priced (see the module docstring)
    data: Any  # its PlanningData (the shocks are drawn against it)
    tree: ScenarioTree
    scenarios: list[Any]
    draws: int
    seed: int
    reveal: int
    members: list[list[int]]  # draw indices of each scenario
    shocks: list[list[str]]  # each scenario's shocks, as text
    notes: list[str] = field(default_factory=list)


def base_supply(scenario, frame, sku: str) -> list[float]:
    """The scenario's supply assumption for ``sku`` per period, before the rules cut it.

    Its ``supply`` step map, else the catalog's ``supply_per_quarter`` scaled to the period
    (inf = unlimited), as ``chipmix.model.data`` reads them.
    """
    periods = scenario.periods
    value = frame.at[sku, "supply_per_quarter"]
    catalog = math.inf if value is None or (isinstance(value, float) and math.isnan(value)) \
        else float(value)
    given = step_values(dict(scenario.supply.get(sku) or {}), periods, before=None)
    return [float(g) if g is not None else catalog * p.months / 3.0
            for g, p in zip(given, periods, strict=True)]


def shocked(base, shocks, name: str, frame=None):
    """``base`` with each shock applied to its supply assumption (a new Scenario).

    ``frame``: the base's catalog frame, if already loaded (else it is loaded here).
    """
    if not shocks:
        return base.model_copy(update={"name": name})
    frame = base.load_catalog().frame if frame is None else frame
    periods: list[Period] = base.periods
    supply = dict(base.supply)
    for sku in sorted({s.sku for s in shocks}):
        values = base_supply(base, frame, sku)
        for s in (s for s in shocks if s.sku == sku):
            for t in range(s.start, len(periods)):
                values[t] = 0.0 if s.factor == 0 else values[t] * s.factor
        finite = [t for t, v in enumerate(values) if math.isfinite(v)]
        steps: dict[Period, float] = {}
        for t in range(finite[0], len(periods)) if finite else []:
            if not steps or values[t] != values[t - 1]:
                steps[periods[t]] = values[t]
        supply[sku] = steps
    return base.model_copy(update={"name": name, "supply": supply})


def priced_base(scenario, data, risks) -> tuple[Any, list[str]]:
    """``scenario`` with a shortfall price on every hard-demand workload (stress's rule)."""
    workloads, notes = default_penalties(data, risks)
    if not notes:
        return scenario, []
    new = [w if w.shortfall_penalty is not None else
           w.model_copy(update={"shortfall_penalty": float(workloads.at[w.name, "penalty"])})
           for w in scenario.workloads]
    return scenario.model_copy(update={"workloads": new}), notes


def first_strike(data, risks) -> int | None:
    """First period in which some risk of ``risks`` can change the supply (None: never)."""
    labels = data.labels
    T = len(labels)
    candidates = []
    supply = data.supply
    for sku, risk in risks.supply.items():
        start = period_index(labels, risk.start) if risk.start is not None else 0
        col = supply[sku].to_numpy(dtype=float)
        hit = [t for t in range(start, T) if math.isfinite(col[t]) and col[t] > 0]
        if hit and risk.probability > 0 and risk.bounds() != (1.0, 1.0):
            candidates.append(hit[0])
    for sku, risk in risks.revoke.items():
        start = period_index(labels, risk.start)
        col = supply[sku].to_numpy(dtype=float)
        hit = [t for t in range(start, T) if col[t] > 0]
        if hit and risk.probability > 0:
            candidates.append(hit[0])
    for sku, risk in risks.ban_earlier.items():
        ban = ban_period(data, sku)
        if ban is not None and risk.probability > 0:
            candidates.append(max(0, ban - int(risk.by_periods)))
    return min(candidates) if candidates else None


def sampled_scenarios(scenario, *, draws: int, seed: int = 0,
                      reveal: str | None = None) -> Sampled:
    """``draws`` scenarios from the scenario's ``risks:`` block (module docstring)."""
    if isinstance(draws, bool) or not isinstance(draws, int) or draws < 1:
        raise InputError(field="--draws", value=draws, expected="a whole number >= 1")
    limits.check("draws", draws, what=f"{draws:,} draws", field="--draws")
    risks = scenario.risks
    if risks.empty:
        raise InputError("no risks: block to draw scenarios from", file=scenario.source,
                         location="risks", expected="a risks: block (docs/insight.md), or an "
                         "uncertainty: block without --draws")
    (data,) = prepare_all([scenario])
    labels = data.labels
    if reveal is not None:
        if str(reveal) not in labels:
            raise InputError(field="--reveal", value=reveal,
                             expected=f"a period of the horizon ({labels[0]}..{labels[-1]})")
        t_reveal = labels.index(str(reveal))
    else:
        strike = first_strike(data, risks)
        if strike is None:
            raise InputError("no risk of the risks: block can change this scenario's supply",
                             file=scenario.source, location="risks",
                             expected="a risk on a SKU the scenario can buy")
        t_reveal = strike
    base, notes = priced_base(scenario, data, risks)
    groups: dict[tuple, list[int]] = {}
    texts: dict[tuple, list[str]] = {}
    by_key: dict[tuple, list[Any]] = {}
    for i in range(draws):
        shocks = sample_shocks(data, risks, np.random.default_rng([int(seed), i]))
        key = tuple((s.sku, s.start, round(s.factor, 12)) for s in shocks)
        groups.setdefault(key, []).append(i)
        texts.setdefault(key, [s.text for s in shocks])
        by_key.setdefault(key, shocks)
    keys = list(groups)  # in order of first draw
    names = [f"draw-{groups[k][0]}" for k in keys]
    probs = [len(groups[k]) / draws for k in keys]
    tree = ScenarioTree.two_stage(names, probs, labels, t_reveal,
                                  [{"draws": ",".join(str(i) for i in groups[k])} for k in keys])
    frame = base.load_catalog().frame
    scenarios = [shocked(base, by_key[k], f"{scenario.name} [{n}]", frame)
                 for k, n in zip(keys, names, strict=True)]
    if t_reveal == 0:
        notes.append("the draws are known from the first period: nothing is decided before "
                     "they are (the hedge is the wait-and-see plan)")
    return Sampled(base, data, tree, scenarios, draws, int(seed), t_reveal,
                   [groups[k] for k in keys], [texts[k] for k in keys], notes)


# -- out of sample ---------------------------------------------------------------------------


@dataclass
class TestContext:
    """What every out-of-sample draw needs (pickled once per worker)."""

    base: Any
    data: Any
    risks: Any
    seed: int
    options: Any
    policies: dict[str, Fixed]


def test_task(ctx: TestContext, i: int) -> dict[str, Any]:
    """Fresh draw ``i`` re-planned from the reveal on under each fixed policy: its costs."""
    shocks = sample_shocks(ctx.data, ctx.risks, np.random.default_rng([ctx.seed, int(i)]))
    scenario = shocked(ctx.base, shocks, f"{ctx.base.name} [draw-{i}]",
                       WORKER_INPUTS.catalog(ctx.base).frame)
    data = WORKER_INPUTS.prepare(scenario)
    (part,) = make_parts([data], keep_idle=True)
    tree = ScenarioTree.two_stage([f"draw-{i}"], [1.0], data.labels, len(data.labels))
    row: dict[str, Any] = {"draw": int(i)}
    for name, fixed in ctx.policies.items():
        ext = build_extensive([part], tree, fixed=fixed)
        result = solve(ext.model, ctx.options)
        row[name] = float(ext.scenario_costs(result.plan_x())[0]) if result.status.has_plan \
            else math.nan
    return row


def shared_tests(ctx: TestContext, draws: Sequence[int], run: dict[str, Any]
                 ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """:func:`test_task`'s rows for every draw, contained draws sharing plans.

    The fresh draws are built here, once, then re-planned under each policy by
    :func:`chipmix.hedging.evaluate.replan` (waves fixed by the draws alone; a draw takes a
    solved one's plan only when exact within the gap). Also returns, per policy, how many
    MIPs were solved and carried.
    """
    frame = WORKER_INPUTS.catalog(ctx.base).frame
    scenarios = [shocked(ctx.base, sample_shocks(ctx.data, ctx.risks,
                                                 np.random.default_rng([ctx.seed, int(i)])),
                         f"{ctx.base.name} [draw-{i}]", frame) for i in draws]
    parts = make_parts(prepare_all(scenarios), keep_idle=True)
    labels = parts[0].data.labels
    tree = ScenarioTree.two_stage([f"draw-{i}" for i in draws], [1.0 / len(draws)] * len(draws),
                                  labels, len(labels))
    ectx = EvalContext([p.data for p in parts], tree, ctx.options, 0.0, 0.9)
    rows: list[dict[str, Any]] = [{"draw": int(i)} for i in draws]
    counts: dict[str, Any] = {}
    for name, fixed in ctx.policies.items():
        got, shared = replan(parts, ectx, fixed, [[s] for s in range(len(parts))], True, run)
        for row, one in zip(rows, got, strict=True):
            row[name] = float(one["costs"][0])
        if shared is not None:
            key = "out_of_sample" if name == "hedge" else "deterministic_out_of_sample"
            counts.update({f"{key}_solved": shared.solved, f"{key}_carried": shared.carried})
    return rows, counts


def policy_of(plan, periods: set[int], labels: list[str]) -> Fixed:
    """A plan's purchases in ``periods`` and its porting, as decisions to pin."""
    t_of = {p: t for t, p in enumerate(labels)}
    p = plan.purchases
    servers = {(k, t_of[per], start): float(n)
               for per, k, n, start in zip(p["period"], p["sku"], p["servers"], p["from"],
                                           strict=True)
               if t_of[per] in periods}
    ported = {(v, w) for v, w in zip(plan.ported["vendor"], plan.ported["workload"],
                                     strict=True)}
    return Fixed(set(periods), servers, ported)


def out_of_sample(scenario, sampled: Sampled, result, options, *,
                  test_draws: int | None = None, workers: int = 1,
                  dask: Any = None, executor: Executor | None = None,
                  share: bool = True) -> dict[str, Any]:
    """The hedge's here-and-now decisions (and the base plan's) on fresh draws.

    ``share``: contained draws share plans (:func:`shared_tests`); False: each draw is
    drawn, built and solved on its worker (:func:`test_task`).
    """
    n = sampled.draws
    m = int(test_draws) if test_draws is not None else max(100, TEST_FACTOR * n)
    if m < 1:
        raise InputError(field="test_draws", value=test_draws, expected="a whole number >= 1 "
                         "(chipmix hedge --draws N:M)")
    limits.check("draws", m, what=f"{m:,} out-of-sample draws", field="--draws")
    labels = list(result.periods)
    head = set(range(sampled.reveal))
    policies = {"hedge": policy_of(result.results[0].plan, head, labels)}
    det = result.deterministic.get("base_plan")
    if det is not None:
        policies["deterministic"] = policy_of(det, head, labels)
    ctx = TestContext(sampled.base, sampled.data, scenario.risks, sampled.seed, options,
                      policies)
    counts: dict[str, Any] = {}
    if share and m > 1:
        rows, counts = shared_tests(ctx, range(n, n + m),
                                    {"executor": executor, "workers": workers, "dask": dask})
    else:
        rows = map_tasks(test_task, ctx, range(n, n + m), executor=executor, workers=workers,
                         dask=dask)
    out: dict[str, Any] = {
        "draws": n, "seed": sampled.seed, "reveal": labels[sampled.reveal]
        if sampled.reveal < len(labels) else None,
        "scenarios": len(sampled.tree), "test_draws": m,
        "in_sample_cost": _round(result.expected_cost),
    }
    for name in policies:
        values = np.array([r[name] for r in rows], dtype=float)
        ok = values[~np.isnan(values)]
        key = "out_of_sample" if name == "hedge" else "deterministic_out_of_sample"
        out[f"{key}_cost"] = _round(float(ok.mean())) if len(ok) else None
        out[f"{key}_stderr"] = _round(float(ok.std(ddof=1) / math.sqrt(len(ok)))) \
            if len(ok) > 1 else None
        out[f"{key}_failed"] = int(np.isnan(values).sum())
    if out.get("out_of_sample_cost") is not None and out["in_sample_cost"] is not None:
        out["optimism"] = _round(out["out_of_sample_cost"] - out["in_sample_cost"])
    if out.get("deterministic_out_of_sample_cost") is not None and \
            out.get("out_of_sample_cost") is not None:
        out["value_of_hedging_out_of_sample"] = _round(
            out["deterministic_out_of_sample_cost"] - out["out_of_sample_cost"])
    out.update(counts)
    out["shocks"] = [{"scenario": leaf.name, "draws": len(members), "shocks": list(text)}
                     for leaf, members, text in zip(sampled.tree.scenarios, sampled.members,
                                                    sampled.shocks, strict=True)]
    out["notes"] = list(sampled.notes)
    return out


def _round(v):
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else json_number(v)


__all__ = ["Sampled", "base_supply", "first_strike", "out_of_sample", "policy_of",
           "priced_base", "sampled_scenarios", "shocked", "shared_tests", "test_task"]
