"""Issue 14, hand-solved: purchase tranches, ``share_of``, vendor pools, relaxed plans that
verify, and whole-step figures that equal a re-solve.

Default cards (``conftest.planner_sku``): 1 PFLOPS bf16 at efficiency 1, one card per server,
1000 USD, 100 W; no energy price, no discounting; horizon 2024Q1 (91 days: 1 Jan - 31 Mar)
unless a test says otherwise. Every plan is checked by ``chipmix.verify``.
"""

from __future__ import annotations

import copy
import json

import pytest
from helpers import (
    availability,
    bought,
    make_scenario,
    planner_rule,
    planner_scenario_dict,
    planner_sku,
    solve,
    train,
    write_planner_catalog,
    write_planner_rules,
)

import chipmix
from chipmix.errors import InputError
from chipmix.inputs.scenario import Scenario

approx = pytest.approx
Q1_Q2 = {"start": "2024Q1", "end": "2024Q2"}


def licence_rule(folder, sku: str, effective: str) -> str:
    """A rule set putting ``sku`` under licence from ``effective``; returns its path."""
    controls = f"  - id: licence {sku}\n    status: license\n    when: {{sku: [{sku}]}}\n"
    return str(write_planner_rules(folder, planner_rule("test-licence", effective, controls)))


def rows(plan, sku):
    """The SKU's purchase rows without the vendor and origin (the catalog's, not the plan's)."""
    return [{k: v for k, v in r.items() if k not in ("vendor", "origin")}
            for r in plan.to_dict()["purchases"] if r["sku"] == sku]


# -- purchase tranches ---------------------------------------------------------------------------


@pytest.mark.parametrize("licenses", ["deny", {"acme-a": {"fee": 0.3}}], ids=["deny", "fee-30"])
def test_fee_from_mid_period_is_a_tranche_not_an_average(tmp_path, planner_solver, licenses):
    """acme-a (10,000 USD, unlimited) needs a licence from 15 Feb; bolt-b costs 11,000; 10 PF.

    Buying in the 45 licence-free days (1 Jan - 14 Feb) costs 10 x 10,000 = 100,000 whether the
    licence is denied or allowed with a 30 % fee: allowing it adds a tranche (15 Feb - 31 Mar at
    13,000), never one averaged price (10,000 x (1 + 0.3 x 46/91) = 11,516 > 11,000 would buy
    bolt-b for 110,000). Loosening a policy never costs more.
    """
    rules = licence_rule(tmp_path, "acme-a", "2024-02-15")
    s = make_scenario(tmp_path, [planner_sku("acme-a", price_usd=10000),
                                 planner_sku("bolt-b", price_usd=11000)],
                      [train(10)], rules=[rules], licenses=licenses)
    plan = solve(s, planner_solver)
    assert plan.objective == approx(100000)
    assert rows(plan, "acme-a") == [{
        "period": "2024Q1", "sku": "acme-a", "servers": 10, "units": 10,
        "unit_price": 10000.0, "spend": 100000.0, "from": "2024-01-01", "until": "2024-02-14"}]


def test_tranches_carry_their_own_supply_and_price(tmp_path, planner_solver):
    """acme-a: 91 a quarter, licence with a 30 % fee and a cap of 20 a quarter from 15 Feb.

    Tranche 1 (1 Jan - 14 Feb, 45 days): 91 x 45/91 = 45 cards at 10,000. Tranche 2 (15 Feb -
    31 Mar, 46 days): min(91, 20) x 46/91 = 10.1 -> 10 cards at 13,000; bolt-b 11,000 is
    cheaper. Demand 60: 45 x 10,000 + 15 x 11,000 = 615,000. With bolt-b at 14,000 the plan
    buys the 10 licensed cards: 450,000 + 130,000 + 5 x 14,000 = 650,000.
    """
    rules = licence_rule(tmp_path, "acme-a", "2024-02-15")
    skus = [planner_sku("acme-a", price_usd=10000, supply_per_quarter=91),
            planner_sku("bolt-b", price_usd=11000)]
    licences = {"acme-a": {"fee": 0.3, "cap": 20}}
    s = make_scenario(tmp_path, skus, [train(60)], rules=[rules], licenses=licences)
    plan = solve(s, planner_solver)
    assert plan.objective == approx(615000)
    assert bought(plan) == {("2024Q1", "acme-a"): 45, ("2024Q1", "bolt-b"): 15}
    assert availability(plan, "acme-a", "2024Q1")["supply"] == approx(45 + 20 * 46 / 91)

    skus[1]["price_usd"] = 14000
    s = make_scenario(tmp_path, skus, [train(60)], rules=[rules], licenses=licences)
    plan = solve(s, planner_solver)
    assert plan.objective == approx(650000)
    assert rows(plan, "acme-a") == [
        {"period": "2024Q1", "sku": "acme-a", "servers": 45, "units": 45, "unit_price": 10000.0,
         "spend": 450000.0, "from": "2024-01-01", "until": "2024-02-14"},
        {"period": "2024Q1", "sku": "acme-a", "servers": 10, "units": 10, "unit_price": 13000.0,
         "spend": 130000.0, "from": "2024-02-15", "until": "2024-03-31"},
    ]


def test_a_whole_period_purchase_carries_the_period_dates(tmp_path):
    s = make_scenario(tmp_path, [planner_sku("acme-a")], [train(3)])
    plan = solve(s)
    assert rows(plan, "acme-a")[0]["from"] == "2024-01-01"
    assert rows(plan, "acme-a")[0]["until"] == "2024-03-31"


def test_checker_recomputes_tranches(tmp_path):
    """A purchase moved into the fee tranche at the fee-free price, or a tranche's dates
    changed, is caught by the checker from the inputs alone."""
    rules = licence_rule(tmp_path, "acme-a", "2024-02-15")
    s = make_scenario(tmp_path, [planner_sku("acme-a", price_usd=10000, supply_per_quarter=91),
                                 planner_sku("bolt-b", price_usd=14000)],
                      [train(60)], rules=[rules], licenses={"acme-a": {"fee": 0.3, "cap": 20}})
    data = solve(s).to_dict()
    bad = copy.deepcopy(data)
    row = next(r for r in bad["purchases"] if r["from"] == "2024-02-15")
    row["unit_price"], row["spend"] = 10000.0, 100000.0
    report = chipmix.verify(bad, s)
    assert not report.ok and any(v.startswith("price acme-a 2024Q1") for v in report.violations)
    bad = copy.deepcopy(data)
    first = next(r for r in bad["purchases"] if r["from"] == "2024-01-01" and
                 r["sku"] == "acme-a")
    first["until"] = "2024-02-20"
    report = chipmix.verify(bad, s)
    assert not report.ok and any("tranche" in v for v in report.violations)
    bad = copy.deepcopy(data)
    first = next(r for r in bad["purchases"] if r["from"] == "2024-01-01" and
                 r["sku"] == "acme-a")
    first["servers"] = first["units"] = 50  # more than the 45 of the fee-free tranche
    first["spend"] = 500000.0
    report = chipmix.verify(bad, s)
    assert not report.ok and any(v.startswith("supply acme-a 2024Q1") for v in report.violations)


# -- share_of --------------------------------------------------------------------------------------

# acme-a (US): 1 PF, 1000 USD, 100 W; dragon-d (CN): 0.25 PF, 500 USD, 10,000 W. At 0.1 USD/kWh
# a 2184-hour quarter costs 21.84 USD per acme-a card in use and 2184 USD per dragon-d card.
# Demand 10 PF, 50 % domestic on the units basis, 4 acme-a owned.
SHARE_SKUS = [planner_sku("acme-a"),
              planner_sku("dragon-d", origin="CN", bf16_dense_tflops=250, price_usd=500,
                          tdp_w=10000)]


@pytest.mark.parametrize(("share_of", "expected", "purchases"), [
    # use: dragon-d cards must serve: y ≥ x (in use), x + y/4 = 10 -> x = y = 8 (4 owned):
    # 4 x 1000 + 8 x 500 + 8 x 21.84 + 8 x 2184
    ("use", 4000 + 4000 + 8 * 21.84 + 8 * 2184, {"acme-a": 4, "dragon-d": 8}),
    # fleet: installed cards count, idle or not: 10 acme-a serve (4 owned), 10 idle dragon-d
    ("fleet", 6000 + 5000 + 10 * 21.84, {"acme-a": 6, "dragon-d": 10}),
    # purchases: the period's buys: 6 acme-a bought, so 6 idle dragon-d
    ("purchases", 6000 + 3000 + 10 * 21.84, {"acme-a": 6, "dragon-d": 6}),
])
def test_share_of_what_the_mandate_measures(tmp_path, planner_solver, share_of, expected,
                                            purchases):
    s = make_scenario(tmp_path, SHARE_SKUS, [train(10)], inventory={"acme-a": 4},
                      policy={"domestic_share": 0.5, "share_basis": "units",
                              "share_of": share_of, "energy_price": 0.1})
    plan = solve(s, planner_solver)
    assert plan.objective == approx(expected)
    assert {sku: units for (_, sku), units in bought(plan).items()} == purchases
    assert plan.shares.iloc[0]["domestic"] == approx(0.5)
    data = plan.to_dict()
    assert data["share_of"] == share_of
    used = {r["sku"]: r["units"] for r in data["allocation"]}
    if share_of != "use":
        assert "dragon-d" not in used  # met by idle domestic cards


def test_share_of_fleet_on_the_compute_basis_counts_idle_compute(tmp_path, planner_solver):
    """Compute basis, fleet: bf16 TFLOPS installed. 10 acme-a (1000 TFLOPS each, 4 owned) need
    10,000 TFLOPS of dragon-d (250 each): 40 idle cards, 20,000 USD."""
    s = make_scenario(tmp_path, SHARE_SKUS, [train(10)], inventory={"acme-a": 4},
                      policy={"domestic_share": 0.5, "share_of": "fleet", "energy_price": 0.1})
    plan = solve(s, planner_solver)
    assert plan.objective == approx(6000 + 20000 + 10 * 21.84)


def test_share_of_default_is_use(tmp_path):
    s = make_scenario(tmp_path, SHARE_SKUS, [train(10)],
                      policy={"domestic_share": 0.5, "share_basis": "units"})
    assert s.policy.share_of == "use"


def test_share_of_fleet_with_the_spend_basis_is_an_error(tmp_path):
    with pytest.raises(InputError) as err:
        make_scenario(tmp_path, SHARE_SKUS, [train(10)],
                      policy={"domestic_share": 0.5, "share_basis": "spend",
                              "share_of": "fleet"})
    assert "policy.share_of" in str(err.value)


def test_share_of_typo_names_the_choices(tmp_path):
    with pytest.raises(InputError) as err:
        make_scenario(tmp_path, SHARE_SKUS, [train(10)],
                      policy={"domestic_share": 0.5, "share_of": "fleets"})
    assert "policy.share_of" in str(err.value) and "fleet" in str(err.value)


# -- vendor pools ----------------------------------------------------------------------------------

POOL_SKUS = [planner_sku("dragon-a", origin="CN", supply_per_quarter=4),
             planner_sku("dragon-b", origin="CN", price_usd=1100),
             planner_sku("acme-c", price_usd=1500)]


def test_pool_binds_across_two_skus_of_one_vendor(tmp_path, planner_solver):
    """Dragon may sell this buyer 6 cards a quarter in all: 4 dragon-a (its own supply) + 2
    dragon-b, then 4 acme-c: 4000 + 2200 + 6000 = 12,200 (no pool: 4 + 6 dragon-b = 10,600)."""
    s = make_scenario(tmp_path, POOL_SKUS, [train(10)], pools={"Dragon": 6})
    plan = solve(s, planner_solver)
    assert plan.objective == approx(12200)
    assert bought(plan) == {("2024Q1", "dragon-a"): 4, ("2024Q1", "dragon-b"): 2,
                            ("2024Q1", "acme-c"): 4}
    free = make_scenario(tmp_path, POOL_SKUS, [train(10)])
    assert solve(free, planner_solver).objective == approx(10600)


def test_pool_step_map_and_months(tmp_path):
    """A pool is units per period, a step map like supply: 6 in Q1, 2 from Q2."""
    s = make_scenario(tmp_path, POOL_SKUS, [train({"2024Q1": 6, "2024Q2": 10})], horizon=Q1_Q2,
                      pools={"Dragon": {"2024Q1": 6, "2024Q2": 2}})
    plan = solve(s)
    got = bought(plan)
    assert got[("2024Q1", "dragon-a")] + got.get(("2024Q1", "dragon-b"), 0) == 6
    assert got.get(("2024Q2", "dragon-a"), 0) + got.get(("2024Q2", "dragon-b"), 0) == 2
    assert plan.objective == approx(4000 + 2200 + 2000 + 2 * 1500)


def test_pool_shadow_price_range_and_step(tmp_path):
    """One more card of the Dragon pool lets dragon-b (1100) replace acme-c (1500): -400.

    The dual holds from a pool of 4 (below it dragon-a would go) to 10 (acme-c gone); one
    more server (one card) re-planned saves 400 too."""
    s = make_scenario(tmp_path, POOL_SKUS, [train(10)], pools={"Dragon": 6})
    plan = chipmix.plan(s, gap=1e-9, sensitivity=True)
    row = plan.sensitivity["pools"][0]
    assert (row["vendor"], row["period"]) == ("Dragon", "2024Q1")
    assert row["usd_per_unit"] == approx(-400)
    assert row["value"] == 6
    assert (row["range_low"], row["range_high"]) == approx((4, 10))
    assert row["step"] == 1
    assert row["step_usd"] == approx(-400)


@pytest.mark.parametrize(("pools", "where", "words"), [
    ({"Dragn": 6}, "pools.Dragn", ["unknown vendor", "did you mean 'Dragon'"]),
    ({"Dragon": -1}, "pools.Dragon", [">= 0"]),
    ({"Dragon": {"2025Q1": 4}}, "pools.Dragon.2025Q1", ["horizon"]),
    ({"Dragon": {"2023Q4": 4}}, "pools.Dragon.2023Q4", ["horizon"]),
    ({"Dragon": "many"}, "pools.Dragon", ["number"]),
])
def test_bad_pools_are_named_errors(tmp_path, pools, where, words):
    with pytest.raises(InputError) as err:
        make_scenario(tmp_path, POOL_SKUS, [train(10)], pools=pools)
    text = str(err.value)
    assert where in text, text
    for word in words:
        assert word in text, text


def test_checker_catches_a_pool_overrun(tmp_path):
    s = make_scenario(tmp_path, POOL_SKUS, [train(10)], pools={"Dragon": 6})
    data = solve(s).to_dict()
    free = make_scenario(tmp_path, POOL_SKUS, [train(10)])
    other = solve(free).to_dict()  # 4 + 6 Dragon cards
    report = chipmix.verify(other, s)
    assert not report.ok
    assert any(v.startswith("pool Dragon 2024Q1") for v in report.violations), report.violations
    assert chipmix.verify(data, s).ok


# -- every plan chipmix writes passes verify ------------------------------------------------------


def test_relaxed_plan_with_a_tiny_porting_fraction_verifies(tmp_path, planner_solver):
    """666,666 acme-a cards owned (free to run), 666,667 PF of demand: the last PF is one more
    acme-a (3000 USD) or one dragon-b card (1000 USD) whose vendor costs 1e9 USD to port.
    Relaxed, porting is z ≥ use / 666,667 (the most dragon-b cards the demand could use), so
    one card takes z = 1.5e-6 of it: 1500 USD, 2500 in all. Rounding z to 6 decimals (2e-6)
    would report 2000 USD of porting and miss the objective by 500."""
    demand = 666667
    s = make_scenario(tmp_path, [planner_sku("acme-a", price_usd=3000),
                                 planner_sku("dragon-b", origin="CN")],
                      [train(demand)], inventory={"acme-a": demand - 1},
                      porting={"Dragon": 1e9})
    plan = solve(s, planner_solver, relax=True)
    assert plan.objective == approx(1000 + 1e9 / demand)
    assert plan.cost["porting"] == approx(1e9 / demand, rel=1e-6)


# -- sensitivity: ranges, whole steps, slivers, break-even ----------------------------------------


def _explicit(step_map, labels, default=0.0):
    """A step map (or scalar) as one value per period."""
    if not isinstance(step_map, dict):
        return {p: step_map for p in labels}
    out, value = {}, default
    for p in labels:
        value = step_map.get(p, value)
        out[p] = value
    return out


def _resolved_step(data, labels, family, row, folder):
    """The scenario data with ``row``'s input raised by one whole step."""
    d = copy.deepcopy(data)
    step = row["step"]
    t = row["period"]
    if family == "demand":
        w = next(w for w in d["workloads"] if w["name"] == row["workload"])
        w["demand"] = _explicit(w["demand"], labels)
        w["demand"][t] += step
    elif family == "domestic_share":
        share = _explicit(d["policy"]["domestic_share"], labels)
        share[t] += step / 100
        d["policy"]["domestic_share"] = share
    elif family == "supply":
        supply = d.setdefault("supply", {})
        catalog = {r["id"]: r for r in CASE_SKUS}
        base = supply.get(row["sku"], catalog[row["sku"]]["supply_per_quarter"])
        supply[row["sku"]] = _explicit(base, labels)
        supply[row["sku"]][t] += step
    elif family in ("budget", "power"):
        key = "budget" if family == "budget" else "power_mw"
        limit = _explicit(d["policy"][key], labels)
        limit[t] += step
        d["policy"][key] = limit
    elif family == "pools":
        pool = _explicit(d["pools"][row["vendor"]], labels)
        pool[t] += step
        d["pools"][row["vendor"]] = pool
    else:
        raise AssertionError(family)
    return Scenario.from_dict(d, base_dir=folder)


CASE_SKUS = [
    planner_sku("acme-a", supply_per_quarter=6, server_size=2),
    planner_sku("dragon-b", origin="CN", price_usd=1800, supply_per_quarter=8),
    planner_sku("dragon-e", origin="CN", price_usd=2100),
    planner_sku("bolt-c", price_usd=2500, tdp_w=300),
]


@pytest.mark.parametrize("policy", [
    {"domestic_share": {"2024Q2": 0.35}, "budget": {"2024Q1": 11000}, "energy_price": 0.1},
    {"domestic_share": 0.2, "share_basis": "units", "power_mw": 0.0015, "energy_price": 0.1},
], ids=["share-budget", "units-power"])
def test_every_step_figure_equals_a_resolve(tmp_path, policy):
    """Each ``step_usd`` of the sensitivity is the re-planned cost (whole servers) of raising
    that one input by its step, as a re-solve of the edited scenario gives it."""
    catalog = write_planner_catalog(tmp_path, CASE_SKUS)
    data = planner_scenario_dict(catalog, [train({"2024Q1": 9, "2024Q2": 13.5},
                                                 shortfall_penalty=6000)],
                                 horizon=Q1_Q2, discount_rate=0.1, policy=policy,
                                 pools={"Dragon": {"2024Q1": 3, "2024Q2": 3}})
    labels = ["2024Q1", "2024Q2"]
    scenario = Scenario.from_dict(data, base_dir=tmp_path)
    plan = chipmix.plan(scenario, gap=1e-9, sensitivity=True)
    assert plan.ok
    base = plan.objective
    checked = 0
    for family in ("demand", "domestic_share", "supply", "budget", "power", "pools"):
        for row in plan.sensitivity.get(family, []):
            if row.get("step_usd") is None:
                continue
            edited = _resolved_step(data, labels, family, row, tmp_path)
            again = chipmix.plan(edited, gap=1e-9)
            assert again.ok, (family, row)
            assert row["step_usd"] == approx(again.objective - base, rel=1e-6, abs=1e-3), (
                family, row)
            checked += 1
    assert checked >= 6


def test_a_dual_that_holds_for_a_sliver_says_so(tmp_path):
    """9.99 PF on whole 1 PF cards: 10 are bought and 0.01 PF is idle. One more PF at the
    margin costs the energy of running a card (21.84 USD), but that holds only up to 10 PF
    (+0.01): the whole step, re-planned, buys an 11th card: 1000 + 21.84."""
    s = make_scenario(tmp_path, [planner_sku("acme-a")], [train(9.99)],
                      policy={"energy_price": 0.1})
    plan = chipmix.plan(s, gap=1e-9, sensitivity=True)
    row = plan.sensitivity["demand"][0]
    assert row["usd_per_unit"] == approx(21.84)
    assert row["range_high"] == approx(10.0)
    assert row["holds_for_step"] == approx(0.01)
    assert row["step_usd"] == approx(1021.84)
    assert "sliver" in row["note"]


def test_break_even_is_exact_on_a_degenerate_lp(tmp_path):
    """acme-a (1000 USD, 10 a quarter) covers 10 PF exactly; dragon-b (2000) is next. The
    demand row is degenerate: any dual in [1000, 2000] is optimal, and a reduced cost read off
    one of them may say bolt-c enters at up to 2000. It enters only below 1000, where it
    replaces acme-a."""
    skus = [planner_sku("acme-a", supply_per_quarter=10),
            planner_sku("dragon-b", origin="CN", price_usd=2000),
            planner_sku("bolt-c", price_usd=2500)]
    s = make_scenario(tmp_path, skus, [train(10)])
    plan = chipmix.plan(s, relax=True, sensitivity=True)
    row = next(r for r in plan.sensitivity["break_even"] if r["sku"] == "bolt-c")
    assert row["bought"] is False
    assert row["break_even_price"] == approx(1000, rel=1e-6)


def test_never_bought_at_any_price_is_null_with_a_note(tmp_path):
    """bolt-c arrives one quarter after purchase, and there is demand in 2024Q1 only: no price
    makes it worth buying, so its break-even is null (not 0.0) and a note says why."""
    skus = [planner_sku("acme-a"), planner_sku("bolt-c", price_usd=500, lead_quarters=1)]
    s = make_scenario(tmp_path, skus, [train({"2024Q1": 5, "2024Q2": 0})], horizon=Q1_Q2)
    plan = chipmix.plan(s, gap=1e-9, sensitivity=True)
    row = next(r for r in plan.sensitivity["break_even"] if r["sku"] == "bolt-c")
    assert row["bought"] is False
    assert row["break_even_price"] is None and row["change"] is None
    assert "any price" in row["note"]


def test_explain_prints_ranges_and_steps(tmp_path, capsys):
    import yaml

    from chipmix.cli import main

    catalog = write_planner_catalog(tmp_path, [planner_sku("acme-a")])
    data = planner_scenario_dict(catalog, [train(9.99)], policy={"energy_price": 0.1})
    path = tmp_path / "scenario.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    assert main(["plan", str(path), "--explain"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "whole step" in out
    assert "$1,022" in out  # the step, re-planned
    assert "sliver" in out
    assert main(["plan", str(path), "--explain", "--json"]) == 0
    sens = json.loads(capsys.readouterr().out)["sensitivity"]
    assert sens["demand"][0]["step_usd"] == approx(1021.84)
