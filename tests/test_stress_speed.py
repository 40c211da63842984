"""The stress test's shortcuts are exact (``chipmix.insight.stress``).

A re-plan whose supply is nowhere above an earlier re-plan's and whose decisions still fit
takes those decisions without a solve (``still_fits``); a worker's memo returns a re-plan it
made before. Here every re-plan of a stress run is recorded and checked against a re-plan
solved from scratch (same cost within the gap) and against the model it would have solved
(the carried solution satisfies every bound and row of it).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from helpers import three_sku_scenario

import chipmix
import chipmix.insight.stress as module
from chipmix.inputs.scenario import load_scenario
from chipmix.model.data import purchase_tranches, tranche_base, tranche_room
from chipmix.pipeline.run import Run
from chipmix.resources import examples_dir

RISKS = {
    "supply": {"acme-a": {"dist": "uniform", "low": 0.3, "high": 1.0, "from": "2024Q2",
                          "probability": 0.8},
               "dragon-d": {"dist": "uniform", "low": 0.2, "high": 1.0, "from": "2024Q2",
                            "probability": 0.7}},
    "revoke": {"bolt-b": {"probability": 0.4, "from": "2024Q2", "to": "2024Q4"}},
}


def small(tmp_path):
    return three_sku_scenario(tmp_path, risks=RISKS)


def recorded_replans(monkeypatch, scenario, draws, gap=None):
    """Every re-plan of ``draws`` draws: (call arguments, outcome), and the setup."""
    plan = chipmix.plan(scenario, gap=gap)
    setup = module.prepare_stress(scenario, plan, solver_options=scenario.solver.with_overrides(
        name="highs", gap=gap))
    calls = []
    original = module._replan

    def record(setup_, supply, t_shock, fixed, paid, previous):
        out = original(setup_, supply, t_shock, fixed, paid, previous)
        calls.append(((supply, t_shock, fixed, set(paid), previous), out))
        return out

    monkeypatch.setattr(module, "_replan", record)
    for i in range(draws):
        module.run_draw(setup, i)
    return setup, calls


def solution(setup, supply, t_shock, fixed, paid):
    """The model a re-plan solves and its solution, from scratch."""
    run = Run.from_data(dataclasses.replace(setup.data, supply=supply), setup.options).build()
    model = module._fixed_model(run.model, run.index, t_shock, fixed, paid)
    return model, run.solve_model(model)


def feasible(model, names, x, tol=1e-6):
    """``x`` (by column name) satisfies every bound, integrality and row of ``model``."""
    at = {name: j for j, name in enumerate(model.col_names())}
    full = np.zeros(model.num_cols)
    for name, value in zip(names, x, strict=True):
        if name not in at:
            if abs(value) > 1e-9:
                return False
            continue
        full[at[name]] = value
    a = model.arrays()
    if np.any(full < a["col_lower"] - tol) or np.any(full > a["col_upper"] + tol):
        return False
    integer = a["integer"]
    if np.any(np.abs(full[integer] - np.round(full[integer])) > tol):
        return False
    activity = model.activity(full)
    slack = tol * (1 + np.abs(activity))
    return bool(np.all(activity >= a["row_lower"] - slack)
                and np.all(activity <= a["row_upper"] + slack))


def check_replans(setup, calls, gap):
    """Carried re-plans: fit the model they skip, and cost what a fresh solve costs."""
    fresh_setup = dataclasses.replace(setup, token=None)
    solved_x = {}  # re-plan key -> (column names, solution) of the re-plan that decided it
    carried = rejected = 0
    for (supply, t_shock, fixed, paid, previous), out in calls:
        model, result = solution(setup, supply, t_shock, fixed, paid)
        if out.source == "solved" or out.key not in solved_x:
            solved_x.setdefault(out.key, (model.col_names(), result.x))
        if previous is None or result.x is None:
            continue
        names, x_prev = solved_x[previous.key]
        fits = feasible(model, names, x_prev)
        if out.source == "carried":
            carried += 1
            assert fits, "a carried re-plan's decisions do not fit the model it skipped"
            solved_x[out.key] = (names, x_prev)
        elif out.source == "solved":
            rejected += 1
            shrank = bool(np.all(supply.to_numpy(dtype=float) <= previous.supply))
            assert not (fits and shrank), "decisions that fit were solved again"
        fresh = module._replan(fresh_setup, supply, t_shock, fixed, paid, None)
        assert fresh.row["status"] == out.row["status"]
        a, b = fresh.row["cost"], out.row["cost"]
        assert abs(a - b) <= gap * max(abs(a), abs(b)) + 1e-6
    return carried, rejected


def test_carried_replans_are_exact_on_a_small_case(tmp_path, monkeypatch):
    scenario = small(tmp_path)
    setup, calls = recorded_replans(monkeypatch, scenario, draws=16, gap=1e-9)
    carried, rejected = check_replans(setup, calls, gap=1e-7)
    assert carried and rejected  # both branches were exercised


@pytest.mark.slow
def test_carried_replans_are_exact_on_the_default_risks(monkeypatch):
    scenario = load_scenario(examples_dir() / "rush-before-ban-risks.yaml")
    setup, calls = recorded_replans(monkeypatch, scenario, draws=6)
    carried, rejected = check_replans(setup, calls, gap=scenario.solver.gap)
    assert carried and rejected


def test_memo_and_shortcuts_give_the_draws_of_a_plain_replay(tmp_path, monkeypatch):
    """Without memo and shortcuts (every re-plan solved) the costs agree within the gap."""
    scenario = small(tmp_path)
    plan = chipmix.plan(scenario, gap=1e-9)
    fast = module.stress(scenario, plan, draws=16, seed=2, gap=1e-9)
    monkeypatch.setattr(module, "still_fits", lambda *args: False)
    monkeypatch.setattr(module, "_memo", lambda token: None)
    slow = module.stress(scenario, plan, draws=16, seed=2, gap=1e-9)
    assert list(fast.draws["status"]) == list(slow.draws["status"])
    assert fast.draws["cost"].to_numpy() == pytest.approx(slow.draws["cost"].to_numpy(),
                                                          rel=1e-7)


def test_a_supply_increase_is_never_carried(tmp_path):
    scenario = small(tmp_path)
    plan = chipmix.plan(scenario, gap=1e-9)
    setup = module.prepare_stress(scenario, plan)
    base = setup.data.supply
    previous = module._replan(setup, base, 1, setup.fixed, set(setup.ported), None)
    more = base.copy()
    more["acme-a"] = more["acme-a"] * 2
    assert module.still_fits(setup.data, previous, base)
    assert not module.still_fits(setup.data, previous, more)


@pytest.mark.parametrize("scenario_name", ["rush-before-ban-risks.yaml", "h200-duty-2026.yaml"])
def test_tranche_room_is_the_tranche_tables(scenario_name):
    # still_fits reads the servers each tranche offers from tranche_room (numpy on a fixed
    # base); it must be floor(units / server) of the table purchase_tranches builds, for
    # supplies scaled, closed, raised and made unlimited, period by period and SKU by SKU
    scenario = load_scenario(examples_dir() / scenario_name)
    data = Run.for_scenario(scenario).prepare().data
    base = tranche_base(data)
    rng = np.random.default_rng(7)
    for _ in range(12):
        supply = data.supply.copy()
        factors = rng.choice([0.0, 0.37, 0.5, 1.0, 1.6], size=supply.shape)
        supply = supply * factors
        supply.iloc[0, 0] = np.inf
        table = purchase_tranches(dataclasses.replace(data, supply=supply))
        server = data.skus["server"].to_numpy(dtype=float)[table["k_i"].to_numpy()]
        expected = dict(zip(zip(table["sku"], table["t"].astype(int),
                                [d.isoformat() for d in table["start"]], strict=True),
                            np.floor(table["supply"].to_numpy(dtype=float) / server).tolist(),
                            strict=True))
        room = tranche_room(data, supply, base)
        assert room.keys() == expected.keys()
        keys = list(expected)
        assert np.array_equal([room[k] for k in keys], [expected[k] for k in keys],
                              equal_nan=True)
        again = purchase_tranches(dataclasses.replace(data, supply=supply), base)
        assert again.equals(table)
