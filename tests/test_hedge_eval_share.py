"""The hedge's evaluations share plans between contained scenarios, exactly (issue 17).

``chipmix.hedging.evaluate.replan`` routes the wait-and-see plans (nothing pinned) and the
base plan's re-plans (its here-and-now decisions pinned) through
:func:`chipmix.hedging.share.share_recourse`, as the hedge's own recourse. Checked here:

- sharing on and off give the same EVPI, value of hedging and per-scenario evaluation
  costs within the gap, and sharing on solves fewer MIPs;
- every evaluated plan, solved or carried, passes the independent checker;
- 1 and 2 workers give the same hedge, byte for byte;
- a scenario is only ever given the plan of one whose MIP contains its own, and a scenario
  no other contains is solved.
"""

from __future__ import annotations

import pytest
from helpers import assert_verified
from test_hedge_share import GAP, SCARCE, TOL, risky, sampled_ext

import chipmix
from chipmix.hedging import evaluate
from chipmix.hedging.evaluate import EvalContext, replan, solve_extensive
from chipmix.hedging.extensive import Fixed
from chipmix.hedging.share import Containment, recourses_of
from chipmix.pipeline.run import Run
from chipmix.planner import extract
from chipmix.solve import SolveResult, Status

NOTHING = Fixed(set(), {}, None)  # no purchase pinned, porting free (ported=None)


def _close(a: float, b: float, gap: float = GAP) -> bool:
    return abs(a - b) <= 2 * gap * max(abs(a), abs(b)) + TOL * max(1.0, abs(a))


@pytest.fixture(autouse=True)
def _no_whole_form(monkeypatch):
    monkeypatch.setattr(evaluate, "WHOLE_FORM_SCENARIOS", 0)


@pytest.mark.parametrize("low, supply, draws", [(0.5, 100, 8), (0.05, SCARCE, 12)])
def test_sharing_on_and_off_give_the_same_evaluations(tmp_path, low, supply, draws):
    scenario = risky(tmp_path, low=low, supply=supply)
    on = chipmix.hedge(scenario, draws=draws, seed=1, gap=GAP, test_draws=2)
    off = chipmix.hedge(scenario, draws=draws, seed=1, gap=GAP, test_draws=2, share=False)
    assert on.ok and off.ok
    n = len(on.tree)
    for family in ("wait_and_see", "deterministic"):
        assert on.solver[f"{family}_solved"] + on.solver[f"{family}_carried"] == n
        assert on.solver[f"{family}_carried"] > 0, on.solver  # something was shared
        assert f"{family}_solved" not in off.solver  # every MIP solved
    assert _close(on.wait_and_see, off.wait_and_see)
    assert _close(on.evpi, off.evpi, gap=GAP * max(1.0, abs(on.expected_cost) /
                                                   max(abs(on.evpi), 1e-9)))
    assert _close(on.deterministic["objective"], off.deterministic["objective"])
    for a, b in zip(on.results, off.results, strict=True):
        assert _close(a.wait_and_see, b.wait_and_see)
        assert _close(a.deterministic, b.deterministic)
    # the hedge JSON carries the counts (an extension of the solver block)
    d = on.to_dict()["solver"]
    assert d["wait_and_see_solved"] == on.solver["wait_and_see_solved"]


def _plans(scenario, draws, fixed):
    """Every scenario re-planned with ``fixed`` pinned, shared: rows, Shared, ext, datas."""
    ext, datas = sampled_ext(scenario, draws=draws)
    options = scenario.solver.with_overrides(name="highs", gap=GAP)
    ctx = EvalContext(list(datas), ext.tree, options, 0.0, 0.9)
    run = {"executor": None, "workers": 1, "dask": None}
    groups = [[s] for s in range(len(ext.tree))]
    rows, shared = replan(ext.parts, ctx, fixed, groups, True, run)
    return rows, shared, ext, options


def _base_fixed(ext, options):
    """The hedge's own here-and-now decisions (solve_extensive's relaxation, rounded)."""
    ctx = EvalContext([p.data for p in ext.parts], ext.tree, options, 0.0, 0.9)
    result, _ = solve_extensive(ext, ctx, options)
    return evaluate.first_stage(ext, result.plan_x())


@pytest.mark.parametrize("pin", [False, True])
def test_every_evaluated_plan_checks(tmp_path, pin):
    scenario = risky(tmp_path, low=0.05, supply=SCARCE)
    ext, _ = sampled_ext(scenario, draws=12)
    options = scenario.solver.with_overrides(name="highs", gap=GAP)
    fixed = _base_fixed(ext, options) if pin else NOTHING
    rows, shared, ext, options = _plans(scenario, 12, fixed)
    assert shared is not None and shared.carried > 0
    for s, row in enumerate(rows):
        assert row["members"] == [s] and row["status"] == "optimal"
        part = ext.parts[s]
        result = SolveResult(Status.OPTIMAL, "highs", x=row["x"][0],
                             objective=row["costs"][0], gap=row["gap"])
        plan = extract(Run(scenario=part.data.scenario, options=options, data=part.data,
                           model=part.model, index=part.index, result=result))
        assert_verified(plan, part.data.scenario)
        assert plan.objective == pytest.approx(row["costs"][0], rel=1e-9, abs=1e-6)


def test_one_and_two_workers_give_the_same_evaluations(tmp_path):
    scenario = risky(tmp_path, low=0.05, supply=SCARCE)
    texts = [chipmix.hedge(scenario, draws=12, seed=1, gap=GAP, threads=1, test_draws=2,
                           workers=w).to_json() for w in (1, 2)]
    assert texts[0] == texts[1]


def test_only_a_contained_scenario_is_given_a_plan(tmp_path):
    scenario = risky(tmp_path, low=0.05, supply=SCARCE)
    rows, shared, ext, _ = _plans(scenario, 12, NOTHING)
    within = Containment(recourses_of(ext.parts, ext.tree.probabilities, NOTHING))
    assert shared is not None
    for s, source in enumerate(shared.source):
        if source >= 0:
            assert within.inside[s, source]
            assert rows[s]["carried_from"] == source
        if not any(within.inside[s, r] for r in range(len(ext.tree)) if r != s):
            assert source < 0  # nothing contains it: solved
    # the loosest draw contains every other: it is solved, not given a plan
    assert any(source < 0 for source in shared.source)


def test_out_of_sample_draws_share_plans_exactly(tmp_path):
    scenario = risky(tmp_path, low=0.05, supply=SCARCE)
    on = chipmix.hedge(scenario, draws=8, seed=1, gap=GAP, test_draws=16).sampled
    off = chipmix.hedge(scenario, draws=8, seed=1, gap=GAP, test_draws=16, share=False).sampled
    assert on is not None and off is not None
    for key in ("out_of_sample", "deterministic_out_of_sample"):
        assert on[f"{key}_solved"] + on[f"{key}_carried"] == 16
        assert on[f"{key}_carried"] > 0 and f"{key}_solved" not in off
        assert on[f"{key}_failed"] == off[f"{key}_failed"] == 0
        assert _close(on[f"{key}_cost"], off[f"{key}_cost"])


@pytest.mark.slow
def test_wait_and_see_is_each_scenario_planned_alone_on_the_default():
    # the shared wait-and-see plans must be each scenario's own optimum with porting free:
    # the plain pipeline run of that scenario's data (wait_and_see_task) within the gap.
    # (Pinning "nothing" as ported=set() forbade all porting and made EVPI 0 on the default.)
    from chipmix.inputs.scenario import load_scenario
    from chipmix.resources import examples_dir

    scenario = load_scenario(examples_dir() / "rush-before-ban-risks.yaml")
    rows, shared, ext, options = _plans(scenario, 3, NOTHING)
    ctx = EvalContext([p.data for p in ext.parts], ext.tree, options, 0.0, 0.9)
    gap = options.gap
    for s, row in enumerate(rows):
        status, cost = evaluate.wait_and_see_task(ctx, s)
        assert row["status"] in ("optimal", "feasible") and status == "optimal"
        assert abs(float(row["costs"][0]) - cost) <= 2 * gap * abs(cost), (s, row["costs"], cost)
