"""The MILP over cumulative purchases (chipmix.model.cumulative) is exact.

The change of variables ``n[k,t_j] = C_j − C_{j−1}`` is unimodular: the reformulated model
has the original's feasible plans and costs. Checked here: the map and its inverse, the
structure of the reformulated model, and — on hand-made cases, the bundled default and random
scenarios (hypothesis) — the same optimal cost as the model as built, with HiGHS and CBC,
the mapped solution feasible for the original model, and a plan the checker accepts.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import pytest
from helpers import assert_verified, make_scenario, planner_sku, train
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_planner_properties import materialise, specs

import chipmix
from chipmix.inputs.scenario import load_scenario
from chipmix.model.build import build
from chipmix.model.cumulative import chains, cumulative
from chipmix.model.data import prepare
from chipmix.model.matrix import LinearModel
from chipmix.resources import default_scenario_path
from chipmix.solve import SolverOptions, solve

SETTINGS = settings(max_examples=int(os.environ.get("CHIPMIX_PROPERTY_EXAMPLES", "20")),
                    deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
HORIZON = {"start": "2024Q1", "end": "2025Q2"}
TOL = 1e-6


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-6 + 1e-7 * max(abs(a), abs(b))


def feasible(model: LinearModel, x: np.ndarray) -> bool:
    """``x`` within every column bound, row and integrality of ``model`` (1e-6 relative).

    A row's tolerance is relative to the size of its terms, Σ|a·x|, not of its activity: a
    vendor-cap row sums terms of thousands to 0, and CBC writes its solution with 8 digits.
    """
    a = model.arrays()
    act = model.activity(x)
    terms = np.zeros(model.num_rows)
    if len(a["csc_value"]):
        col_of = np.repeat(np.arange(model.num_cols), np.diff(a["csc_start"]))
        np.add.at(terms, a["csc_index"], np.abs(a["csc_value"] * x[col_of]))
    scale = 1.0 + terms
    ints = a["integer"]
    return bool(np.all(x >= a["col_lower"] - TOL * (1 + np.abs(x)))
                and np.all(x <= a["col_upper"] + TOL * (1 + np.abs(x)))
                and np.all(act >= a["row_lower"] - TOL * scale)
                and np.all(act <= a["row_upper"] + TOL * scale)
                and np.all(np.abs(x[ints] - np.round(x[ints])) <= 1e-6))


def small(tmp_path):
    skus = [planner_sku("acme-a", supply_per_quarter=24, price_usd=1000, server_size=8),
            planner_sku("bolt-b", supply_per_quarter=40, price_usd=1400, server_size=4),
            planner_sku("dragon-d", origin="CN", supply_per_quarter=16, price_usd=1800,
                        bf16_dense_tflops=2000, server_size=8)]
    workloads = [train({"2024Q1": 7, "2024Q3": 23, "2025Q1": 41}, shortfall_penalty=4000)]
    return make_scenario(tmp_path, skus, workloads, horizon=HORIZON, discount_rate=0.08,
                         policy={"domestic_share": {"2024Q3": 0.25}, "energy_price": 0.1},
                         porting={"Dragon": 5000})


def both(model: LinearModel, solver: str = "highs", gap: float = 1e-9):
    """The solve as built and over cumulative purchases; both checked on ``model``."""
    options = SolverOptions(name=solver, gap=gap, threads=1, time_limit=120)
    built = solve(model, options, reformulate=False)
    reformulated = solve(model, options)
    assert built.status == reformulated.status
    chained = model.arrays()["integer"].any() and cumulative(model) is not None
    assert reformulated.extra.get("cumulative", False) is bool(chained)
    if built.status.has_plan:
        assert _close(built.objective, reformulated.objective), (built.objective,
                                                                 reformulated.objective)
        assert feasible(model, reformulated.x)
        cost = float(model.arrays()["cost"] @ reformulated.x + model.objective_offset)
        assert _close(cost, reformulated.objective)
    return built, reformulated


def test_the_map_and_its_inverse(tmp_path):
    model, index = build(prepare(small(tmp_path)))
    change = cumulative(model)
    assert change is not None
    prev = chains(model)
    buy = index.buy
    # a SKU's purchase columns chain in period order; nothing else chains
    for _, group in buy.groupby("sku"):
        cols = group.sort_values("t")["col"].to_numpy()
        assert prev[cols[0]] == -1 and list(prev[cols[1:]]) == list(cols[:-1])
    assert set(np.flatnonzero(prev >= 0)) <= set(buy["col"])
    x = np.random.default_rng(1).integers(0, 9, model.num_cols).astype(float)
    y = change.forward(x)
    assert np.array_equal(change.back(y), x)
    for _, group in buy.groupby("sku"):
        cols = group.sort_values("t")["col"].to_numpy()
        assert np.array_equal(y[cols], np.cumsum(x[cols]))
    # same objective and same row activities for corresponding points
    a, b = model.arrays(), change.model.arrays()
    assert _close(float(a["cost"] @ x), float(b["cost"] @ y))
    assert np.allclose(model.activity(x), change.model.activity(y)[: model.num_rows])
    # the former column bounds are rows, one per finite side (one equality if fixed)
    chained = prev >= 0
    lo, up = a["col_lower"][chained], a["col_upper"][chained]
    fixed = lo == up
    expected = fixed.sum() + (np.isfinite(lo) & ~fixed).sum() + (np.isfinite(up) & ~fixed).sum()
    assert change.model.num_rows - model.num_rows == expected
    assert {"cumulative_lower", "cumulative_upper"} <= set(change.model.row_blocks)


def test_same_optimum_on_a_hand_made_case(tmp_path):
    scenario = small(tmp_path)
    model, _ = build(prepare(scenario))
    for solver in ("highs", "cbc"):
        both(model, solver)
    assert_verified(chipmix.plan(scenario, gap=1e-9), scenario)


def test_fixed_purchases_become_equalities(tmp_path):
    model, index = build(prepare(small(tmp_path)))
    built = solve(model, SolverOptions(gap=1e-9, threads=1), reformulate=False)
    a = model.arrays()
    lower, upper = a["col_lower"].copy(), a["col_upper"].copy()
    cols = index.buy["col"].to_numpy()
    lower[cols] = upper[cols] = np.round(built.x[cols])
    fixed = model.with_arrays(col_lower=lower, col_upper=upper)
    for solver in ("highs", "cbc"):
        _, again = both(fixed, solver)
        assert np.allclose(again.x[cols], built.x[cols])


def test_the_default_scenario_has_the_same_optimum():
    """At a 1e-4 gap: each form's plan within the gap of the other's bound, feasible."""
    model, _ = build(prepare(load_scenario(default_scenario_path())))
    options = SolverOptions(gap=1e-4, threads=1, time_limit=300)
    built = solve(model, options, reformulate=False)
    reformulated = solve(model, options)
    assert built.status.has_plan and reformulated.status.has_plan
    assert feasible(model, reformulated.x)
    for a, b in ((built, reformulated), (reformulated, built)):
        assert a.objective >= b.bound - 1e-6 * abs(b.bound)  # no plan beats a proven bound
        assert a.objective - b.objective <= 1e-4 * abs(a.objective) + 1e-6


def test_lps_are_not_reformulated(tmp_path):
    model, _ = build(prepare(small(tmp_path)))
    result = solve(model, SolverOptions(relax=True, threads=1))
    assert "cumulative" not in result.extra and result.row_duals is not None


@pytest.mark.slow
@SETTINGS
@given(spec=specs(), solver=st.sampled_from(["highs", "cbc"]))
def test_same_optimum_on_random_scenarios(spec, solver):
    with tempfile.TemporaryDirectory(prefix="chipmix-cumulative-") as folder:
        scenario = materialise(spec, Path(folder))
        model, _ = build(prepare(scenario))
        both(model, solver)
        plan = chipmix.plan(scenario, solver=solver, gap=1e-9)
        if plan.ok:
            assert_verified(plan, scenario)
