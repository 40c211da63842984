"""Recourse MIPs shared between contained scenarios are exact (issue 17, hedge item).

``chipmix.hedging.share``: with the here-and-now decisions pinned, a scenario whose recourse
MIP is contained in a solved sibling's takes that plan when it is feasible there and within
the gap of the sibling's proven bound. Checked here:

- by hand: draws that only lose supply the plan does not use all take the loosest draw's
  plan (one MIP solved), draws that lose supply it uses are solved;
- the machinery on hand-made models: a looser, cheaper, differently shaped model, or one
  whose extra column cannot be 0, is never contained and never given the plan;
- hypothesis: on random sampled hedges and random uncertainty trees, the hedge with shared
  recourse has the status and, within the gap, the objective and every scenario's cost of
  the hedge without; every plan passes the independent checker;
- 1 and 2 workers give the same hedge, bit for bit;
- each scenario's recourse MIP is what the task builds for it (``pinned``).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest
from helpers import assert_verified, make_scenario, planner_sku, train
from hypothesis import given
from hypothesis import strategies as st
from test_hedge_properties import SETTINGS, build, instances

import chipmix
from chipmix.errors import InputError
from chipmix.hedging import evaluate
from chipmix.hedging.core import scenarios_from_uncertainty
from chipmix.hedging.evaluate import EvalContext, make_parts, prepare_all, solve_extensive
from chipmix.hedging.extensive import build_extensive, pinned
from chipmix.hedging.lshaped import relaxed_bound
from chipmix.hedging.sampled import sampled_scenarios
from chipmix.hedging.share import Containment, Recourse, recourses_of
from chipmix.inputs.solver import SolverOptions
from chipmix.model.matrix import LinearModel

GAP = 1e-4
TOL = 1e-6


def risky(folder, low: float, demand=None, supply=100, **keys):
    """ka cheap with a supply shock ``uniform(low, 1)`` from 2024Q2, cb dear and unlimited."""
    return make_scenario(
        folder, [planner_sku("ka", vendor="A"), planner_sku("kb", vendor="B")],
        [train(demand or {"2024Q1": 10, "2024Q2": 20, "2024Q3": 30},
               shortfall_penalty=5000)],
        horizon={"start": "2024Q1", "end": "2024Q3"}, supply={"ka": supply},
        prices={"ka": 1000, "kb": 1500},
        risks={"supply": {"ka": {"dist": "uniform", "low": low, "high": 1.0,
                                 "from": "2024Q2"}}}, **keys)


#: ka's supply: 10 servers in 2024Q1 (the hedge cannot buy the whole fleet now), then 30
SCARCE = {"2024Q1": 10, "2024Q2": 30}


def sampled_ext(scenario, draws: int, seed: int = 1):
    sampled = sampled_scenarios(scenario, draws=draws, seed=seed)
    datas = prepare_all(sampled.scenarios)
    ext = build_extensive(make_parts(datas, keep_idle=True), sampled.tree)
    return ext, datas


def both(ext, datas, options, **run):
    """The decomposed hedge (no whole-form fallback) with and without sharing."""
    old = evaluate.WHOLE_FORM_SCENARIOS
    evaluate.WHOLE_FORM_SCENARIOS = 0
    try:
        out = {}
        for share in (True, False):
            ctx = EvalContext(list(datas), ext.tree, options, ext.weight, ext.alpha)
            out[share] = solve_extensive(ext, ctx, options, share=share, **run)
    finally:
        evaluate.WHOLE_FORM_SCENARIOS = old
    return out


def assert_same_hedge(ext, out, gap):
    (shared, info), (plain, plain_info) = out[True], out[False]
    assert shared.status == plain.status, (info, plain_info)
    if not plain.status.has_plan:
        return
    scale = TOL * max(1.0, abs(plain.objective))
    assert info["lower_bound"] == plain_info["lower_bound"]  # the same relaxation
    assert abs(shared.objective - plain.objective) <= gap * abs(plain.objective) + scale
    assert shared.objective >= info["lower_bound"] - scale
    ours, theirs = ext.scenario_costs(shared.plan_x()), ext.scenario_costs(plain.plan_x())
    for a, b in zip(ours, theirs, strict=True):  # each within the gap of its own optimum
        assert abs(a - b) <= 2 * gap * max(abs(a), abs(b)) + scale
    # the plan is the model's: its cost is what it reports
    x = shared.plan_x()
    assert float(ext.model.arrays()["cost"] @ x) + ext.model.objective_offset == \
        pytest.approx(shared.objective, rel=1e-9, abs=1e-6)


# -- by hand ---------------------------------------------------------------------------------


def test_draws_that_lose_supply_the_plan_does_not_use_take_the_loosest_plan(tmp_path):
    """ka's supply of 100 falls to 50..100: buying 10 more in 2024Q2 and 10 in 2024Q3 fits
    every draw (the fleet needs 30), so the loosest draw's plan is every draw's (one MIP
    solved)."""
    scenario = risky(tmp_path, low=0.5)
    ext, datas = sampled_ext(scenario, draws=8)
    assert len(ext.tree) == 8
    options = scenario.solver.with_overrides(name="highs", gap=GAP)
    out = both(ext, datas, options)
    assert_same_hedge(ext, out, GAP)
    info = out[True][1]
    assert (info["recourse_solved"], info["recourse_carried"]) == (1, 7)
    assert out[False][1].get("recourse_solved") is None  # every MIP solved
    assert out[True][0].objective == pytest.approx(30 * 1000, rel=1e-9)  # a fleet of 30


def test_draws_that_lose_supply_the_plan_uses_are_solved(tmp_path):
    """ka's supply (10 in 2024Q1, then 30 a quarter) falls to 5..100 %: a draw left with
    fewer servers than the loosest plan buys cannot take that plan, and is solved."""
    scenario = risky(tmp_path, low=0.05, supply=SCARCE)
    ext, datas = sampled_ext(scenario, draws=12)
    options = scenario.solver.with_overrides(name="highs", gap=GAP)
    out = both(ext, datas, options)
    assert_same_hedge(ext, out, GAP)
    info = out[True][1]
    assert info["recourse_solved"] > 1 and info["recourse_carried"] > 0
    assert info["recourse_solved"] + info["recourse_carried"] == len(ext.tree)


def test_the_hedge_with_shared_recourse_checks(tmp_path, monkeypatch):
    """chipmix.hedge (sharing on, the whole-form fallback off): every plan checks."""
    monkeypatch.setattr(evaluate, "WHOLE_FORM_SCENARIOS", 0)
    scenario = risky(tmp_path, low=0.05, supply=SCARCE)
    h = chipmix.hedge(scenario, draws=12, seed=1, gap=GAP, test_draws=2)
    assert h.solver["recourse_carried"] > 0
    for r in h.results:
        assert_verified(r.plan, r.scenario)


def test_one_and_two_workers_give_the_same_hedge(tmp_path):
    scenario = risky(tmp_path, low=0.05, supply=SCARCE)
    ext, datas = sampled_ext(scenario, draws=12)
    options = scenario.solver.with_overrides(name="highs", gap=GAP, threads=1)
    results = []
    for workers in (1, 2):
        ctx = EvalContext(list(datas), ext.tree, options, 0.0, 0.9)
        result, info = solve_extensive(ext, ctx, options, workers=workers)
        results.append((result, {k: v for k, v in info.items()
                                 if not k.endswith("_seconds")}))
    (one, info_one), (two, info_two) = results
    assert info_one == info_two
    assert one.status == two.status and one.objective == two.objective
    assert np.array_equal(one.plan_x(), two.plan_x())


def test_each_recourse_mip_is_the_task_s(tmp_path):
    """``pinned`` makes, in one pass, what build_extensive of each part alone makes."""
    scenario = risky(tmp_path, low=0.05, supply=SCARCE)
    ext, _ = sampled_ext(scenario, draws=6)
    fixed = relaxed_bound(ext, scenario.solver.with_overrides(name="highs")).fixed
    for s, model in enumerate(pinned(ext.parts, fixed)):
        one = build_extensive([ext.parts[s]], ext.tree.subtree([s]), fixed=fixed).model
        a, b = model.arrays(), one.arrays()
        for key in ("col_lower", "col_upper", "integer", "row_lower", "row_upper",
                    "csc_start", "csc_index", "csc_value"):
            assert np.array_equal(a[key], b[key]), key
        p = ext.tree.probabilities[s]
        assert np.allclose(a["cost"] * p, b["cost"], rtol=1e-15, atol=0)
    assert len(recourses_of(ext.parts, ext.tree.probabilities, fixed)) == len(ext.tree)


# -- the machinery on hand-made models --------------------------------------------------------


def _model(upper: float, cost: float = 1.0, need: float = 3.0,
           extra: tuple[float, float] | None = None, extra_first: bool = False) -> Recourse:
    """min cost·x (+ y) s.t. x (+ y) ≥ need, 0 ≤ x ≤ upper integer (y in ``extra``)."""
    m = LinearModel()
    if extra is not None and extra_first:
        m.add_columns("y", [("y",)], lower=extra[0], upper=extra[1], cost=1.0)
    m.add_columns("x", [("x",)], lower=0.0, upper=upper, cost=cost, integer=True)
    if extra is not None and not extra_first:
        m.add_columns("y", [("y",)], lower=extra[0], upper=extra[1], cost=1.0)
    cols = list(range(m.num_cols))
    m.add_rows("need", [("r",)], [0] * len(cols), cols, [1.0] * len(cols), lower=need)
    return Recourse(m, 0.5, tuple(m.col_names()), tuple(m.row_names()))


def _solved(rec: Recourse, x: list[float]) -> dict:
    cost = float(rec.model.arrays()["cost"] @ np.asarray(x))
    return {"members": [0], "status": "optimal", "x": [np.asarray(x, dtype=float)],
            "bound": cost * rec.weight, "costs": [cost]}


OPTIONS = SolverOptions(name="highs", gap=GAP)


@pytest.mark.parametrize("other, contained", [
    (_model(upper=5.0), True),           # a tighter bound: contained, the plan fits
    (_model(upper=12.0), False),         # a looser bound
    (_model(upper=10.0, cost=0.5), False),  # cheaper
    (_model(upper=10.0, need=2.0), False),  # a looser row
    (_model(upper=10.0, extra=(0.0, 4.0)), False),  # a column the solved model lacks
])
def test_a_model_not_contained_is_never_given_the_plan(other, contained):
    big = _model(upper=10.0)
    within = Containment([big, other])
    assert bool(within.inside[1, 0]) is contained
    row = within.carry(1, 0, _solved(big, [3.0]), OPTIONS)
    # the plan x = 3 is feasible and optimal in every one of them; only containment proves it
    assert (row is not None) is contained
    if contained:
        assert row["x"][0].tolist() == [3.0] and row["costs"] == [3.0]


def test_a_missing_column_counts_as_zero_only_where_the_solved_model_allows_it():
    small = _model(upper=10.0)
    free = _model(upper=10.0, extra=(0.0, 4.0), extra_first=True)  # y may be 0: contained
    within = Containment([free, small])
    assert within.inside[1, 0] and not within.inside[0, 1]
    row = within.carry(1, 0, _solved(free, [0.0, 3.0]), OPTIONS)
    assert row is not None and row["x"][0].tolist() == [3.0]
    # the solved model buys y: its plan, read without y, is not small's (infeasible there)
    assert within.carry(1, 0, _solved(free, [2.0, 1.0]), OPTIONS) is None
    forced = _model(upper=10.0, extra=(1.0, 4.0), extra_first=True)  # y ≥ 1: not a superset
    within = Containment([forced, small])
    assert not within.inside[1, 0]
    assert within.carry(1, 0, _solved(forced, [1.0, 2.0]), OPTIONS) is None


def test_a_plan_infeasible_or_beyond_the_gap_is_not_carried():
    big, small = _model(upper=10.0, need=3.0), _model(upper=2.0, need=3.0)
    within = Containment([big, small])
    assert within.inside[1, 0]
    assert within.carry(1, 0, _solved(big, [3.0]), OPTIONS) is None  # x = 3 > 2
    tight = _model(upper=10.0, need=3.0)
    within = Containment([big, tight])
    loose_bound = {**_solved(big, [3.0]), "bound": 2.0 * big.weight}  # 3 vs 2: 33 % gap
    assert within.carry(1, 0, loose_bound, OPTIONS) is None


def test_identical_models_solve_once():
    models = [_model(upper=10.0), _model(upper=10.0), _model(upper=10.0)]
    within = Containment(models)
    assert within.roots([0, 1, 2]) == [0]
    assert within.roots([1, 2]) == [1]


# -- hypothesis ------------------------------------------------------------------------------


@st.composite
def sampled_instances(draw):
    """test_hedge_properties' instances with a risks: block instead of the events: uniform
    supply shocks on one or two SKUs from a later period; 4 to 12 draws."""
    instance = draw(instances())
    del instance["uncertainty"]
    periods = list(instance["prices"][next(iter(instance["prices"]))])
    names = list(instance["supply"])
    shocks = {}
    for k in draw(st.lists(st.sampled_from(names), min_size=1, max_size=2, unique=True)):
        shocks[k] = {"dist": "uniform", "low": draw(st.sampled_from([0.0, 0.3, 0.6, 0.9])),
                     "high": 1.0, "from": draw(st.sampled_from(periods[1:])),
                     "probability": draw(st.sampled_from([0.5, 1.0]))}
    instance["risks"] = {"supply": shocks}
    return instance, draw(st.integers(4, 12)), draw(st.integers(0, 9))


@SETTINGS
@given(sampled_instances())
def test_shared_recourse_gives_the_hedge_without_sharing(case):
    instance, draws, seed = case
    with tempfile.TemporaryDirectory() as folder:
        scenario = build(instance, Path(folder))
        try:
            ext, datas = sampled_ext(scenario, draws=draws, seed=seed)
        except InputError:  # no risk can change the supply (none to shock)
            return
        if len(ext.tree) < 2:
            return
        options = scenario.solver.with_overrides(name="highs", gap=GAP, time_limit=600)
        assert_same_hedge(ext, both(ext, datas, options), GAP)


@SETTINGS
@given(instances())
def test_shared_recourse_on_uncertainty_trees(instance):
    with tempfile.TemporaryDirectory() as folder:
        scenario = build(instance, Path(folder))
        tree, derived = scenarios_from_uncertainty(scenario)
        datas = prepare_all(derived)
        ext = build_extensive(make_parts(datas, keep_idle=len(tree) > 1), tree)
        options = scenario.solver.with_overrides(name="highs", gap=GAP, time_limit=600)
        assert_same_hedge(ext, both(ext, datas, options), GAP)
