"""The exact domain presolve (chipmix.model.presolve): same optimal cost, a plan the checker
accepts, merges only where they are provably exact.

Hand-made cases show what merges and what must not; hypothesis draws random small scenarios
(the planner property strategy) with duplicated workloads and SKUs and compares the plan with
and without the presolve (MILP and LP relaxation).
"""

from __future__ import annotations

import copy
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from helpers import assert_verified, make_scenario, planner_sku, train
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_planner_properties import materialise, specs

import chipmix
from chipmix.model.build import build
from chipmix.model.data import prepare
from chipmix.model.presolve import PresolveMismatch, presolve
from chipmix.resources import default_scenario_path
from chipmix.solve import SolverOptions, solve

GAP = 1e-9
SETTINGS = settings(max_examples=int(os.environ.get("CHIPMIX_PROPERTY_EXAMPLES", "25")),
                    deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-6 + 1e-7 * max(abs(a), abs(b))


def infer(demand, name: str = "infer", **keys: Any) -> dict[str, Any]:
    return {"name": name, "kind": "inference", "metric": "memory_bw_tbps", "demand": demand,
            **keys}


def both(scenario, **options):
    """The plan with and without the presolve; both checked by chipmix.verify."""
    on = chipmix.plan(scenario, gap=GAP, **options)
    off = chipmix.plan(scenario, gap=GAP, presolve=False, **options)
    assert on.status == off.status, (on.status, off.status)
    if on.ok:
        assert _close(on.objective, off.objective), (on.objective, off.objective)
        assert_verified(on, scenario)
        assert_verified(off, scenario)
        assert "fallback" not in (on.solver.get("presolve") or {}), on.solver["presolve"]
    return on, off


HORIZON = {"start": "2024Q1", "end": "2024Q4"}


# -- what merges --------------------------------------------------------------------------------


def test_identical_workloads_merge_and_split_back_by_demand(tmp_path):
    skus = [planner_sku("acme-a", price_usd=1000, supply_per_quarter=30),
            planner_sku("bolt-b", price_usd=1500, bf16_dense_tflops=2000, supply_per_quarter=8)]
    workloads = [
        train({"2024Q1": 10, "2024Q3": 25}, name="t1", shortfall_penalty=900),
        train({"2024Q1": 4, "2024Q2": 30}, name="t2", shortfall_penalty=900),
        train({"2024Q2": 6}, name="t3", shortfall_penalty=900),
    ]
    scenario = make_scenario(tmp_path, skus, workloads, horizon=HORIZON)
    reduction = presolve(prepare(scenario))
    assert reduction is not None
    assert reduction.workload_groups == {"t1": ["t1", "t2", "t3"]}
    assert list(reduction.data.demand.columns) == ["t1"]
    assert reduction.data.demand["t1"].tolist() == [14.0, 46.0, 61.0, 61.0]  # step maps: 10+4, 10+30+6, 25+30+6
    for relax in (False, True):
        on, off = both(scenario, relax=relax)
        assert on.solver["presolve"]["workloads"] == [3, 1]
        assert "presolve" not in off.solver
        # every workload gets exactly its own demand (delivered + shortfall)
        d = on.delivered
        assert np.allclose(d["delivered"] + d["shortfall"], d["demand"])


def test_identical_skus_merge_with_their_inventory_and_whole_server_supply(tmp_path):
    twin = dict(vendor="Acme", price_usd=1000, server_size=4, bf16_dense_tflops=1000)
    skus = [planner_sku("acme-a1", supply_per_quarter=10, **twin),   # 2 whole servers
            planner_sku("acme-a2", supply_per_quarter=7, **twin),    # 1 whole server
            planner_sku("bolt-b", price_usd=3000, supply_per_quarter=40)]
    workloads = [train({"2024Q1": 14, "2024Q2": 20}, shortfall_penalty=5000)]
    scenario = make_scenario(tmp_path, skus, workloads, horizon=HORIZON,
                             inventory={"acme-a2": 3})
    data = prepare(scenario)
    reduction = presolve(data)
    assert reduction.sku_groups == {"acme-a1": ["acme-a1", "acme-a2"]}
    merged = reduction.data
    assert merged.skus.at["acme-a1", "inventory"] == 3.0
    assert merged.supply["acme-a1"].tolist() == [12.0] * 4  # 4·(2 + 1), not floor(17/4)·4
    for relax in (False, True):
        on, _ = both(scenario, relax=relax)
        assert on.solver["presolve"]["skus"] == [3, 2]
    # each member keeps its own supply bound in the split plan
    on = chipmix.plan(scenario, gap=GAP)
    for row in on.purchases.itertuples():
        own = data.supply.at[row.period, row.sku]
        assert row.units <= own + 1e-9


def test_workloads_and_skus_merge_together_with_shares_and_power(tmp_path):
    twin = dict(vendor="Dragon", origin="CN", price_usd=1200, memory_bw_tbps=2.0)
    skus = [planner_sku("dragon-d1", supply_per_quarter=6, **twin),
            planner_sku("dragon-d2", supply_per_quarter=9, **twin),
            planner_sku("acme-a", price_usd=800, supply_per_quarter=50)]
    workloads = [infer({"2024Q1": 10, "2024Q2": 14}, name="i1", shortfall_penalty=2000),
                 infer({"2024Q1": 3, "2024Q3": 20}, name="i2", shortfall_penalty=2000),
                 train({"2024Q2": 5}, shortfall_penalty=4000)]
    scenario = make_scenario(
        tmp_path, skus, workloads, horizon=HORIZON, discount_rate=0.08,
        policy={"domestic_share": {"2024Q2": 0.4}, "share_basis": "units", "energy_price": 0.1,
                "power_mw": 0.004, "vendor_cap": 0.8})
    reduction = presolve(prepare(scenario))
    assert reduction.workload_groups == {"i1": ["i1", "i2"]}
    assert reduction.sku_groups == {"dragon-d1": ["dragon-d1", "dragon-d2"]}
    for relax in (False, True):
        both(scenario, relax=relax)


def test_hard_demand_workloads_merge(tmp_path):
    skus = [planner_sku("acme-a", supply_per_quarter=100)]
    workloads = [train({"2024Q1": 3}, name="h1"), train({"2024Q1": 5, "2024Q2": 2}, name="h2")]
    scenario = make_scenario(tmp_path, skus, workloads, horizon=HORIZON)
    assert presolve(prepare(scenario)).workload_groups == {"h1": ["h1", "h2"]}
    both(scenario)


# -- what must not merge ------------------------------------------------------------------------


def _pair(tmp_path, first: dict, second: dict, **keys):
    skus = [planner_sku("acme-a", supply_per_quarter=30, memory_gb=40),
            planner_sku("bolt-b", price_usd=1500, supply_per_quarter=30)]
    scenario = make_scenario(tmp_path, skus, [first, second], horizon=HORIZON, **keys)
    return scenario, presolve(prepare(scenario))


@pytest.mark.parametrize("change", [
    {"shortfall_penalty": 901},        # another penalty
    {"min_memory_gb": 60},             # another eligible set (acme-a has 40 GB)
    {"exclude": ["Bolt"]},             # another eligible set
    {"kind": "inference"},             # another kind (another efficiency)
])
def test_workloads_that_differ_do_not_merge(tmp_path, change):
    first = train({"2024Q1": 10}, name="t1", shortfall_penalty=900)
    second = {**train({"2024Q1": 4}, name="t2", shortfall_penalty=900), **change}
    scenario, reduction = _pair(tmp_path, first, second)
    assert reduction is None
    both(scenario)


def test_eligibility_that_selects_the_same_skus_merges(tmp_path):
    first = train({"2024Q1": 10}, name="t1", shortfall_penalty=900)
    second = train({"2024Q1": 4}, name="t2", shortfall_penalty=900, min_memory_gb=30)
    _, reduction = _pair(tmp_path, first, second)
    assert reduction.workload_groups == {"t1": ["t1", "t2"]}  # both accept every SKU


def test_workloads_with_porting_costs_do_not_merge(tmp_path):
    first = train({"2024Q1": 10, "2024Q2": 20}, name="t1", shortfall_penalty=900)
    second = train({"2024Q1": 12}, name="t2", shortfall_penalty=900)
    scenario, reduction = _pair(tmp_path, first, second,
                                porting={"Bolt": {"t1": 2000, "t2": 2000}})
    assert reduction is None
    both(scenario)


def _twins(tmp_path, **keys):
    twin = dict(vendor="Acme", price_usd=1000, server_size=2)
    skus = [planner_sku("acme-a1", supply_per_quarter=5, **twin),
            planner_sku("acme-a2", supply_per_quarter=5, **twin),
            planner_sku("bolt-b", price_usd=2500, supply_per_quarter=50)]
    workloads = [train({"2024Q1": 9, "2024Q3": 15}, shortfall_penalty=5000)]
    return make_scenario(tmp_path, skus, workloads, horizon=HORIZON, **keys)


def test_sku_merges_in_the_lp_need_a_vendor_without_porting_and_no_budget(tmp_path):
    ported = _twins(tmp_path, porting={"Acme": 3000})
    assert presolve(prepare(ported), relax=False).sku_groups  # exact for the MILP
    assert presolve(prepare(ported), relax=True) is None  # not for the LP's big-M
    both(ported)
    both(ported, relax=True)
    budget = _twins(tmp_path, policy={"budget": 7000})
    assert presolve(prepare(budget), relax=False).sku_groups
    assert presolve(prepare(budget), relax=True) is None
    both(budget)
    both(budget, relax=True)


def test_no_sku_merges_on_the_spend_basis_with_a_policy(tmp_path):
    scenario = _twins(tmp_path, policy={"domestic_share": {"2024Q1": 0.3},
                                        "share_basis": "spend"})
    assert presolve(prepare(scenario)) is None
    plain = _twins(tmp_path, policy={"share_basis": "spend"})
    assert presolve(prepare(plain)).sku_groups


@pytest.mark.parametrize("field, value", [("price_usd", 1001), ("tdp_w", 300),
                                          ("lead_quarters", 1), ("server_size", 4)])
def test_skus_that_differ_do_not_merge(tmp_path, field, value):
    twin = dict(vendor="Acme", price_usd=1000, server_size=2, tdp_w=100, lead_quarters=0)
    skus = [planner_sku("acme-a1", supply_per_quarter=5, **twin),
            planner_sku("acme-a2", supply_per_quarter=5, **{**twin, field: value})]
    scenario = make_scenario(tmp_path, skus, [train({"2024Q2": 9}, shortfall_penalty=5000)],
                             horizon=HORIZON)
    assert presolve(prepare(scenario)) is None


def test_a_wrong_split_is_refused(tmp_path):
    """check() proves the mapped solution on the full model: a broken one is refused."""
    scenario = _twins(tmp_path)
    data = prepare(scenario)
    reduction = presolve(data)
    model, index = build(data)
    small, small_index = build(reduction.data)
    result = solve(small, SolverOptions(gap=GAP))
    x = reduction.expand(model, index, small, small_index, result.x, integral=True)
    reduction.check(model, x, result.objective, integral=True)
    broken = x.copy()
    broken[index.use["col"].to_numpy()] *= 1.5  # over-delivers: breaks the demand rows
    with pytest.raises(PresolveMismatch):
        reduction.check(model, broken, result.objective, integral=True)
    with pytest.raises(PresolveMismatch):
        reduction.check(model, x, result.objective * 1.01, integral=True)


def test_twins_without_columns_are_not_merged():
    """The bundled catalogs list twins (RTX 5090 D and D V2) that the examples cannot buy:
    merging them would win nothing, so the examples have nothing to merge and their plan JSON
    (golden plans, byte for byte) carries no presolve entry."""
    from chipmix.resources import examples_dir

    for path in sorted(Path(examples_dir()).glob("*.yaml")):
        assert presolve(prepare(chipmix.load_scenario(path))) is None, path.name
    plan = chipmix.plan(chipmix.load_scenario(default_scenario_path()))
    assert "presolve" not in plan.solver


def test_benchmark_instances_merge_to_the_same_optimum():
    """benchmarks/generate.py instances (metric × kind × memory floor repeat): same LP optimum
    and MILP optimum with porting (porting workloads stay apart)."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from generate import generate

    with tempfile.TemporaryDirectory() as tmp:
        lp_path = generate(12, 9, 4, 3, Path(tmp) / "lp", porting=False, share=0.0)
        scenario = chipmix.load_scenario(lp_path)
        on, _ = both(scenario, relax=True)
        assert on.solver["presolve"]["workloads"][1] < 9
        milp_path = generate(12, 9, 4, 3, Path(tmp) / "milp", porting=True, share=0.3)
        both(chipmix.load_scenario(milp_path), time_limit=120)


# -- random scenarios with duplicates -----------------------------------------------------------


@st.composite
def duplicated(draw) -> dict[str, Any]:
    """A random planner scenario with a twin of one workload and a twin of one SKU."""
    spec = copy.deepcopy(draw(specs()))
    scenario = spec["scenario"]
    labels_from = scenario["horizon"]["start"]
    del labels_from
    workloads = scenario["workloads"]
    original = draw(st.sampled_from(workloads))
    twin = copy.deepcopy(original)
    twin["name"] = original["name"] + "-twin"
    periods = list(original["demand"])
    twin["demand"] = {p: draw(st.integers(0, 20)) for p in periods}
    workloads.append(twin)
    if "porting" in scenario and draw(st.booleans()):
        # porting per workload: the twins keep theirs (and must not merge)
        vendor, cost = next(iter(scenario["porting"].items()))
        scenario["porting"] = {vendor: {w["name"]: cost for w in workloads}}
    row = copy.deepcopy(draw(st.sampled_from(spec["skus"])))
    original_id = row["id"]
    row["id"] = original_id + "-twin"
    if draw(st.booleans()):
        row["supply_per_quarter"] = draw(st.one_of(st.none(), st.integers(0, 40)))
    spec["skus"].append(row)
    for key in ("prices", "lifetime", "retire"):
        if original_id in scenario.get(key, {}):
            scenario[key][row["id"]] = copy.deepcopy(scenario[key][original_id])
    if draw(st.booleans()):
        scenario.setdefault("inventory", {})[row["id"]] = draw(st.integers(1, 6))
    return spec


@SETTINGS
@given(spec=duplicated(), relax=st.booleans())
def test_presolve_keeps_the_optimum_on_random_scenarios(spec, relax):
    with tempfile.TemporaryDirectory(prefix="chipmix-presolve-") as folder:
        scenario = materialise(spec, Path(folder))
        both(scenario, relax=relax)


def test_the_scenario_key_switches_the_presolve_off(tmp_path, capsys):
    import json

    import yaml

    from chipmix.cli import main

    skus = [planner_sku("acme-a", supply_per_quarter=30)]
    workloads = [train({"2024Q1": 10}, name="t1", shortfall_penalty=900),
                 train({"2024Q1": 4, "2024Q2": 8}, name="t2", shortfall_penalty=900)]
    scenario = make_scenario(tmp_path, skus, workloads, horizon=HORIZON)
    path = tmp_path / "twins.yaml"
    path.write_text(yaml.safe_dump(scenario.to_dict()), encoding="utf-8")
    plans = {}
    for flag in ("solver.presolve=true", "solver.presolve=false"):
        assert main(["plan", str(path), "--json", "--set", flag]) == 0
        plans[flag] = json.loads(capsys.readouterr().out)
    on, off = plans["solver.presolve=true"], plans["solver.presolve=false"]
    assert on["solver"]["presolve"]["workloads"] == [2, 1]
    assert "presolve" not in off["solver"]
    assert on["objective"] == pytest.approx(off["objective"], rel=1e-9)
