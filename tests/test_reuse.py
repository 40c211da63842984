"""Reusing HiGHS models and loaded inputs across a study's solves is exact.

``chipmix.solve.session.HighsSession`` changes a held model in place (bounds, costs, row
bounds, coefficients): a MILP then gives bit for bit the result of a fresh solve, an LP the
same optimum. ``chipmix.pipeline.reuse`` adds the catalog and rule timeline of earlier
variants; sweeps and stress runs with reuse give the same tables as without, and the checker
accepts the reused plans.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from helpers import assert_verified, three_sku_scenario

import chipmix
from chipmix.inputs.overrides import apply_overrides
from chipmix.inputs.scenario import Scenario
from chipmix.insight.stress import stress
from chipmix.model.build import build
from chipmix.model.data import prepare
from chipmix.pipeline.reuse import reusing
from chipmix.resources import default_scenario_path
from chipmix.solve import HighsSession, SolverOptions, solve
from chipmix.studies.common import load_base, make_job
from chipmix.studies.execute import run_variants
from chipmix.studies.sweep import grid, parse_vary, results_frame


def small(tmp_path, **keys):
    return three_sku_scenario(tmp_path, **keys)


VARY = ["policy.domestic_share=0:0.6:0.2", "supply.acme-a=0,6,12"]


def models_of(scenario, vary=VARY):
    """(model, overrides) of every variant on the grid."""
    job = make_job(scenario)
    variants = grid(parse_vary(job.data, vary))
    out = []
    for overrides in variants:
        data = apply_overrides(job.data, overrides, schema=Scenario, label="v")
        variant = Scenario.from_dict(data, base_dir=job.base_dir, source_name="v")
        model, _ = build(prepare(variant))
        out.append(model)
    return out


def test_a_milp_changed_in_place_solves_bit_for_bit_as_a_fresh_one(tmp_path):
    models = models_of(small(tmp_path))
    options = SolverOptions(gap=1e-4, threads=1)
    session = HighsSession()
    for model in models:
        fresh = solve(model, options)
        with reusing(session):
            again = solve(model, options)
        assert again.status == fresh.status
        assert again.objective == fresh.objective
        assert np.array_equal(again.x, fresh.x)
    # four shapes (no share row at share 0, no acme-a purchases at supply 0): the rest in place
    assert session.stats == {"passed": 4, "changed": len(models) - 4, "carried": 0}, session.stats


def test_the_default_scenario_in_place_is_bit_for_bit(tmp_path):
    models = models_of(load_base(default_scenario_path()),
                       ["policy.domestic_share=0.1,0.3", "supply.nvidia-h20=3000,6000"])
    options = SolverOptions(gap=5e-4, threads=1, time_limit=60)
    session = HighsSession()
    for model in models:
        fresh = solve(model, options)
        with reusing(session):
            again = solve(model, options)
        assert again.objective == fresh.objective and np.array_equal(again.x, fresh.x)
    assert session.stats["changed"] == len(models) - 1


def test_an_lp_changed_in_place_has_the_same_optimum(tmp_path):
    models = models_of(small(tmp_path))
    options = SolverOptions(relax=True, threads=1)
    session = HighsSession()
    for model in models:
        fresh = solve(model, options)
        with reusing(session):
            again = solve(model, options)
        assert again.status == fresh.status
        assert again.objective == pytest.approx(fresh.objective, rel=1e-9, abs=1e-6)
        assert again.row_duals is not None
    assert session.stats == {"passed": 4, "changed": len(models) - 4, "carried": 0}, session.stats


def test_options_of_an_earlier_solve_do_not_carry_over(tmp_path):
    model = models_of(small(tmp_path))[0]
    session = HighsSession()
    with reusing(session):
        loose = solve(model, SolverOptions(gap=0.5, threads=1))
        tight = solve(model, SolverOptions(gap=1e-9, threads=1))
    fresh = solve(model, SolverOptions(gap=1e-9, threads=1))
    assert tight.objective == fresh.objective
    assert loose.gap is not None


def test_plans_under_reuse_are_the_plans_without(tmp_path):
    scenario = small(tmp_path)
    with reusing() as session:
        first = chipmix.plan(scenario, gap=1e-9)
        second = chipmix.plan(scenario, gap=1e-9)
    fresh = chipmix.plan(scenario, gap=1e-9)
    assert session.stats["changed"] >= 1
    assert first.to_json() == second.to_json() == fresh.to_json()
    assert_verified(second, scenario)


def _sweep(scenario, token_on: bool, workers: int = 1):
    job = dataclasses.replace(make_job(scenario, diagnose=False),
                              **({} if token_on else {"token": None}))
    axes = parse_vary(job.data, VARY)
    variants = grid(axes)
    outcomes, _ = run_variants(job, variants, workers=workers)
    return results_frame(outcomes, variants, axes, [str(p) for p in scenario.periods])


def test_a_sweep_with_reuse_gives_the_table_without(tmp_path):
    scenario = small(tmp_path)
    reused = _sweep(scenario, token_on=True)
    fresh = _sweep(scenario, token_on=False)
    assert reused.equals(fresh)
    assert reused.equals(_sweep(scenario, token_on=True, workers=2))


def test_stress_with_reuse_gives_the_draws_without(tmp_path, monkeypatch):
    scenario = small(tmp_path, risks={
        "supply": {"acme-a": {"dist": "uniform", "low": 0.0, "high": 1.0, "from": "2024Q2",
                              "probability": 0.8}},
        "revoke": {"dragon-d": {"probability": 0.3, "from": "2024Q2", "to": "2024Q4"}}})
    plan = chipmix.plan(scenario, gap=1e-9)
    reused = stress(scenario, plan, draws=12, seed=3)
    import chipmix.insight.stress as module

    monkeypatch.setattr(module.uuid, "uuid4", lambda: type("T", (), {"hex": None})())
    fresh = stress(scenario, plan, draws=12, seed=3)
    assert reused.draws.equals(fresh.draws)
