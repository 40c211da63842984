"""Hand-solved planning cases: one per constraint family and feature, with exact optima.

Every case is small enough to solve on paper; the arithmetic is in each test's docstring.
Default cards (``helpers.planner_sku``): 1 PFLOPS bf16 at efficiency 1, one card per server,
1000 USD, 100 W; no energy price, no discounting; horizon 2024Q1 (91 days) unless a test says
otherwise. Each case runs on HiGHS and CBC and is checked by ``chipmix.verify``.
"""

from __future__ import annotations

import pytest
from helpers import (
    availability,
    bought,
    fleet,
    make_scenario,
    planner_rule,
    planner_sku,
    solve,
    train,
    write_planner_rules,
)

import chipmix

approx = pytest.approx

Q1_Q2 = {"start": "2024Q1", "end": "2024Q2"}
Q1_Q3 = {"start": "2024Q1", "end": "2024Q3"}
Q1_Q4 = {"start": "2024Q1", "end": "2024Q4"}


def deny_rule(folder, sku: str, effective: str = "2023-01-01", status: str = "denied",
              name: str = "planner_rules.yaml") -> str:
    """A rule set giving ``sku`` ``status`` from ``effective``; returns its path."""
    controls = f"  - id: control {sku}\n    status: {status}\n    when: {{sku: [{sku}]}}\n"
    return str(write_planner_rules(folder, planner_rule(f"test-{status}", effective, controls),
                                   name=name))


# -- demand and capability ------------------------------------------------------------------------


def test_demand_cheapest_per_unit_of_capability_wins(tmp_path, planner_solver):
    """acme-a: 1 PF for 1000 USD; bolt-b: 2 PF for 1500 USD (750 USD/PF): 10 PF = 5 bolt-b."""
    s = make_scenario(tmp_path, [planner_sku("acme-a"),
                                 planner_sku("bolt-b", bf16_dense_tflops=2000, price_usd=1500)],
                      [train(10)])
    plan = solve(s, planner_solver)
    assert plan.objective == approx(7500)
    assert bought(plan) == {("2024Q1", "bolt-b"): 5}
    assert plan.cost["capex"] == approx(7500)
    row = plan.delivered.iloc[0]
    assert (row["demand"], row["delivered"], row["shortfall"]) == approx((10, 10, 0))


@pytest.mark.parametrize(
    ("workload", "card", "units"),
    [
        # fp16 stands in for a missing bf16 figure; training efficiency 0.5 -> 0.5 PF a card
        (train(10), {"bf16_dense_tflops": None, "fp16_dense_tflops": 1000,
                     "efficiency_training": 0.5}, 20),
        # memory bandwidth takes the inference efficiency (not the training one): 2 x 0.5 = 1
        ({"name": "chat", "kind": "inference", "metric": "memory_bw_tbps", "demand": 10},
         {"memory_bw_tbps": 2.0, "efficiency_inference": 0.5, "efficiency_training": 0.25}, 10),
        # memory_tb is a capacity: 80 GB = 0.08 TB, no efficiency
        ({"name": "kv", "kind": "inference", "metric": "memory_tb", "demand": 0.8},
         {"memory_gb": 80, "efficiency_inference": 0.5}, 10),
        # fp8: 2000 TFLOPS x 0.5 = 1 PF
        ({"name": "train8", "kind": "training", "metric": "fp8_pflops", "demand": 10},
         {"fp8_dense_tflops": 2000, "efficiency_training": 0.5}, 10),
        # int8: 4000 TOPS x 0.25 = 1 POPS
        ({"name": "serve8", "kind": "inference", "metric": "int8_pops", "demand": 10},
         {"int8_dense_tops": 4000, "efficiency_inference": 0.25}, 10),
    ],
    ids=["fp16-fallback", "memory-bw", "memory-tb", "fp8", "int8"],
)
def test_capability_per_metric(tmp_path, planner_solver, workload, card, units):
    """cap[k,w] = catalog figure / divisor x the kind's efficiency (none for memory_tb)."""
    s = make_scenario(tmp_path, [planner_sku("acme-a", **card)], [workload])
    plan = solve(s, planner_solver)
    assert bought(plan) == {("2024Q1", "acme-a"): units}
    assert plan.objective == approx(1000 * units)


def test_sku_without_the_metric_cannot_serve(tmp_path, planner_solver):
    """acme-a is cheap but has no fp8 figure: the fp8 demand goes to bolt-b (2000 USD)."""
    s = make_scenario(tmp_path, [planner_sku("acme-a", price_usd=100),
                                 planner_sku("bolt-b", fp8_dense_tflops=1000, price_usd=2000)],
                      [{"name": "t8", "kind": "training", "metric": "fp8_pflops", "demand": 3}])
    plan = solve(s, planner_solver)
    assert bought(plan) == {("2024Q1", "bolt-b"): 3}
    assert "serves no workload" in availability(plan, "acme-a", "2024Q1")["reason"]


@pytest.mark.parametrize("inventory", [{}, {"acme-a": 3}], ids=["nothing-owned", "owned"])
@pytest.mark.parametrize("relax", [False, True], ids=["milp", "lp"])
def test_no_demand_is_an_empty_optimal_plan(tmp_path, planner_solver, inventory, relax):
    """Zero demand: nothing to decide (the model may have no variables at all); the plan is
    optimal at 0 USD with no purchases, not 'no solution'."""
    s = make_scenario(tmp_path, [planner_sku("acme-a")], [train(0)], horizon=Q1_Q2,
                      inventory=inventory)
    plan = solve(s, planner_solver, relax=relax)
    assert plan.objective == approx(0)
    assert bought(plan) == {}
    assert plan.cost["total"] == approx(0)


def test_one_unit_serves_one_workload_at_a_time(tmp_path, planner_solver):
    """Two workloads of 3 PF each on one SKU: Σ_w use ≤ fleet, so 6 cards."""
    s = make_scenario(tmp_path, [planner_sku("acme-a")], [train(3), train(3, name="train2")])
    plan = solve(s, planner_solver)
    assert bought(plan) == {("2024Q1", "acme-a"): 6}
    assert plan.objective == approx(6000)


# -- whole servers, supply ------------------------------------------------------------------------


def test_whole_servers_round_up(tmp_path, planner_solver):
    """acme-a: 8-card servers at 1000 USD a card; bolt-b: single cards at 1300 USD.

    10 PF: 2 servers = 16000; 1 server + 2 bolt-b = 10600 (best); 10 bolt-b = 13000.
    """
    s = make_scenario(tmp_path, [planner_sku("acme-a", server_size=8),
                                 planner_sku("bolt-b", price_usd=1300)], [train(10)])
    plan = solve(s, planner_solver)
    assert plan.objective == approx(10600)
    assert bought(plan) == {("2024Q1", "acme-a"): 8, ("2024Q1", "bolt-b"): 2}
    row = plan.purchases.set_index("sku").loc["acme-a"]
    assert (row["servers"], row["units"], row["spend"]) == (1, 8, approx(8000))


def test_relax_gives_the_lp_optimum_below_the_milp(tmp_path, planner_solver):
    """Same case relaxed: 1.25 fractional servers of acme-a, 10000 USD ≤ 10600."""
    s = make_scenario(tmp_path, [planner_sku("acme-a", server_size=8),
                                 planner_sku("bolt-b", price_usd=1300)], [train(10)])
    milp = solve(s, planner_solver)
    lp = solve(s, planner_solver, relax=True)
    assert lp.objective == approx(10000)
    assert lp.objective <= milp.objective + 1e-9
    assert lp.purchases.set_index("sku").loc["acme-a", "servers"] == approx(1.25)


def test_relaxed_fraction_of_a_card_verifies(tmp_path, planner_solver):
    """Relaxed, 1 PF of demand on a 6 PF card buys 1/6 of a card: 1000/6 = 166.67 USD.

    The checker must accept the plan although its JSON rounds units to 6 decimals
    (0.166667 × 1000 = 166.667 vs the spend 166.666667 it reports).
    """
    s = make_scenario(tmp_path, [planner_sku("acme-a", bf16_dense_tflops=6000)], [train(1)])
    plan = solve(s, planner_solver, relax=True)
    assert plan.objective == approx(1000 / 6)
    assert plan.purchases.iloc[0]["units"] == approx(1 / 6)


def test_supply_cap_spills_to_the_next_cheapest(tmp_path, planner_solver):
    """acme-a (1000) capped at 4 a quarter, bolt-b (1200): 4 x 1000 + 6 x 1200 = 11200."""
    s = make_scenario(tmp_path, [planner_sku("acme-a", supply_per_quarter=4),
                                 planner_sku("bolt-b", price_usd=1200)], [train(10)])
    plan = solve(s, planner_solver)
    assert plan.objective == approx(11200)
    assert bought(plan) == {("2024Q1", "acme-a"): 4, ("2024Q1", "bolt-b"): 6}
    assert availability(plan, "acme-a", "2024Q1")["supply"] == approx(4)


def test_scenario_supply_overrides_the_catalog(tmp_path, planner_solver):
    """The scenario's supply (6) replaces the catalog's 4: 6 x 1000 + 4 x 1200 = 10800."""
    s = make_scenario(tmp_path, [planner_sku("acme-a", supply_per_quarter=4),
                                 planner_sku("bolt-b", price_usd=1200)], [train(10)],
                      supply={"acme-a": 6})
    plan = solve(s, planner_solver)
    assert plan.objective == approx(10800)
    assert bought(plan) == {("2024Q1", "acme-a"): 6, ("2024Q1", "bolt-b"): 4}


def test_supply_below_one_server_buys_nothing(tmp_path, planner_solver):
    """12 cards of supply in 8-card servers: at most one server (8) of acme-a."""
    s = make_scenario(tmp_path, [planner_sku("acme-a", server_size=8, supply_per_quarter=12),
                                 planner_sku("bolt-b", price_usd=1300)], [train(15)])
    plan = solve(s, planner_solver)
    assert bought(plan) == {("2024Q1", "acme-a"): 8, ("2024Q1", "bolt-b"): 7}
    assert plan.objective == approx(8000 + 7 * 1300)


# -- fleet over periods: inventory, lead time, lifetime, retirement -------------------------------


def test_fleet_carries_purchases_into_later_periods(tmp_path, planner_solver):
    """Demand 4 then 6 (step holds into Q3): buy 4 in Q1 and 2 in Q2 (8 %/year discounting
    makes buying late cheaper), fleet 4, 6, 6: 4000 + 2000·1.08^-0.25."""
    s = make_scenario(tmp_path, [planner_sku("acme-a")], [train({"2024Q1": 4, "2024Q2": 6})],
                      horizon=Q1_Q3, discount_rate=0.08)
    plan = solve(s, planner_solver)
    assert plan.objective == approx(4000 + 2000 * 1.08**-0.25)
    assert plan.cost["capex"] == approx(6000)
    assert bought(plan) == {("2024Q1", "acme-a"): 4, ("2024Q2", "acme-a"): 2}
    assert fleet(plan) == {("2024Q1", "acme-a"): 4, ("2024Q2", "acme-a"): 6,
                           ("2024Q3", "acme-a"): 6}


def test_supply_cap_forces_buying_ahead(tmp_path, planner_solver):
    """4 cards a quarter, demand 2 then 8: buy 4 in Q1 (2 idle) and 4 in Q2."""
    s = make_scenario(tmp_path, [planner_sku("acme-a", supply_per_quarter=4)],
                      [train({"2024Q1": 2, "2024Q2": 8})], horizon=Q1_Q2)
    plan = solve(s, planner_solver)
    assert bought(plan) == {("2024Q1", "acme-a"): 4, ("2024Q2", "acme-a"): 4}
    assert fleet(plan) == {("2024Q1", "acme-a"): 4, ("2024Q2", "acme-a"): 8}
    assert plan.objective == approx(8000)


def test_inventory_is_used_before_buying(tmp_path, planner_solver):
    """3 cards owned: demand 4 then 6 needs 1 more in Q1 and 2 in Q2 (discounted)."""
    s = make_scenario(tmp_path, [planner_sku("acme-a")], [train({"2024Q1": 4, "2024Q2": 6})],
                      horizon=Q1_Q2, inventory={"acme-a": 3}, discount_rate=0.08)
    plan = solve(s, planner_solver)
    assert plan.objective == approx(1000 + 2000 * 1.08**-0.25)
    assert bought(plan) == {("2024Q1", "acme-a"): 1, ("2024Q2", "acme-a"): 2}
    assert fleet(plan) == {("2024Q1", "acme-a"): 4, ("2024Q2", "acme-a"): 6}


def test_banned_sku_still_serves_from_inventory(tmp_path, planner_solver):
    """A denied SKU cannot be bought but the 5 cards owned still serve: cost 0."""
    rules = deny_rule(tmp_path, "acme-a")
    s = make_scenario(tmp_path, [planner_sku("acme-a"), planner_sku("bolt-b")], [train(5)],
                      rules=[rules], inventory={"acme-a": 5})
    plan = solve(s, planner_solver)
    assert plan.objective == approx(0)
    assert bought(plan) == {}
    assert fleet(plan) == {("2024Q1", "acme-a"): 5}
    assert availability(plan, "acme-a", "2024Q1")["status"] == "denied"


def test_lead_time_means_buying_a_period_earlier(tmp_path, planner_solver):
    """acme-a (1000) arrives one quarter after purchase, bolt-b (1500) at once.

    Q1 demand 2 can only come from bolt-b (2 x 1500); Q2 demand 5 keeps those 2 and adds 3
    acme-a bought in Q1 (3000): 6000. Buying acme-a in Q2 would arrive after the horizon.
    """
    s = make_scenario(tmp_path, [planner_sku("acme-a", lead_quarters=1),
                                 planner_sku("bolt-b", price_usd=1500)],
                      [train({"2024Q1": 2, "2024Q2": 5})], horizon=Q1_Q2)
    plan = solve(s, planner_solver)
    assert plan.objective == approx(6000)
    assert bought(plan) == {("2024Q1", "acme-a"): 3, ("2024Q1", "bolt-b"): 2}
    assert fleet(plan) == {("2024Q1", "bolt-b"): 2, ("2024Q2", "acme-a"): 3,
                           ("2024Q2", "bolt-b"): 2}


def test_lead_time_alone_makes_first_period_demand_infeasible(tmp_path, planner_solver):
    """Only a lead-1 SKU and hard demand in the first period: nothing can arrive in time."""
    s = make_scenario(tmp_path, [planner_sku("acme-a", lead_quarters=1)], [train(1)],
                      horizon=Q1_Q2)
    plan = chipmix.plan(s, solver=planner_solver)
    assert plan.status.value == "infeasible"


@pytest.mark.parametrize(("price_b", "expected", "purchases"), [
    (2100, 3000 + 3000 * 1.08**-0.5, {("2024Q1", "acme-a"): 3, ("2024Q3", "acme-a"): 3}),
    (1900, 5700, {("2024Q1", "bolt-b"): 3}),
])
def test_lifetime_forces_a_rebuy(tmp_path, planner_solver, price_b, expected, purchases):
    """acme-a lasts 2 quarters: demand 3 over Q1-Q3 buys it in Q1 and again in Q3
    (3000 + 3000·1.08^-0.5 = 5886.8) unless bolt-b (lasts the horizon) costs 1900 (5700)."""
    s = make_scenario(tmp_path, [planner_sku("acme-a"), planner_sku("bolt-b", price_usd=price_b)],
                      [train(3)], horizon=Q1_Q3, lifetime={"acme-a": 2}, discount_rate=0.08)
    plan = solve(s, planner_solver)
    assert plan.objective == approx(expected)
    assert bought(plan) == purchases
    if "acme-a" in {sku for _, sku in purchases}:
        assert fleet(plan) == {(p, "acme-a"): 3 for p in ("2024Q1", "2024Q2", "2024Q3")}


def test_retirement_applies_to_purchases(tmp_path, planner_solver):
    """acme-a (1000) retires from Q2: 5 acme-a would serve Q1 only, so buy 5 bolt-b (1500)
    once for both quarters: 7500 (not 5000 + 7500)."""
    s = make_scenario(tmp_path, [planner_sku("acme-a"), planner_sku("bolt-b", price_usd=1500)],
                      [train(5)], horizon=Q1_Q2, retire={"acme-a": "2024Q2"})
    plan = solve(s, planner_solver)
    assert plan.objective == approx(7500)
    assert bought(plan) == {("2024Q1", "bolt-b"): 5}
    a = availability(plan, "acme-a", "2024Q2")
    assert a["supply"] == 0
    assert "retire" in a["reason"]


def test_retirement_of_inventory_forces_a_rebuy(tmp_path, planner_solver):
    """5 acme-a owned serve Q1; retired from Q2, they are replaced by 5 bolt-b: 7500."""
    s = make_scenario(tmp_path, [planner_sku("acme-a"), planner_sku("bolt-b", price_usd=1500)],
                      [train(5)], horizon=Q1_Q2, retire={"acme-a": "2024Q2"},
                      inventory={"acme-a": 5})
    plan = solve(s, planner_solver)
    assert plan.objective == approx(7500)
    f = fleet(plan)
    assert f[("2024Q1", "acme-a")] == 5
    assert ("2024Q2", "acme-a") not in f
    assert f[("2024Q2", "bolt-b")] == 5


# -- porting --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("port_cost", "winner"), [(4000, "dragon-d"), (6000, "acme-a")])
def test_porting_pays_off_only_when_covered(tmp_path, planner_solver, port_cost, winner):
    """Demand 10 PF in Q2 only, 8 %/year: δ = 1.08^-0.25; porting is one-off, not discounted.

    dragon-d at 500 needs porting: 5000·δ + P; acme-a (ported) at 1000: 10000·δ = 9809.5.
    P = 4000 -> 8904.8 (port); P = 6000 -> 10904.8 (do not port).
    """
    delta = 1.08**-0.25
    s = make_scenario(tmp_path, [planner_sku("acme-a"),
                                 planner_sku("dragon-d", origin="CN", price_usd=500)],
                      [train({"2024Q2": 10})], horizon=Q1_Q2, discount_rate=0.08,
                      porting={"Dragon": port_cost}, ported=["Acme"])
    plan = solve(s, planner_solver)
    assert bought(plan) == {("2024Q2", winner): 10}
    if winner == "dragon-d":
        assert plan.objective == approx(5000 * delta + port_cost)
        assert plan.cost["porting"] == approx(port_cost)
        assert plan.ported.to_dict("records") == [{"vendor": "Dragon", "workload": "train"}]
    else:
        assert plan.objective == approx(10000 * delta)
        assert plan.cost["porting"] == approx(0)
        assert len(plan.ported) == 0


def test_ported_vendor_pays_nothing(tmp_path, planner_solver):
    """Dragon is listed in `ported`: its porting cost does not apply; 10 dragon-d = 5000."""
    s = make_scenario(tmp_path, [planner_sku("acme-a"),
                                 planner_sku("dragon-d", origin="CN", price_usd=500)],
                      [train(10)], porting={"Dragon": 1.0e6}, ported=["Acme", "Dragon"])
    plan = solve(s, planner_solver)
    assert plan.objective == approx(5000)
    assert plan.cost["porting"] == approx(0)


def test_porting_is_per_workload(tmp_path, planner_solver):
    """Porting Dragon costs 1000 for 'train' and 50000 for 'infer': only 'train' moves."""
    infer = {"name": "infer", "kind": "inference", "metric": "bf16_pflops", "demand": 10}
    s = make_scenario(tmp_path, [planner_sku("acme-a"),
                                 planner_sku("dragon-d", origin="CN", price_usd=500)],
                      [train(10), infer],
                      porting={"Dragon": {"train": 1000, "infer": 50000}}, ported=["Acme"])
    plan = solve(s, planner_solver)
    assert plan.objective == approx(5000 + 1000 + 10000)
    assert plan.ported.to_dict("records") == [{"vendor": "Dragon", "workload": "train"}]
    alloc = {(r.sku, r.workload): r.units for r in plan.allocation.itertuples()}
    assert alloc == {("dragon-d", "train"): approx(10), ("acme-a", "infer"): approx(10)}


# -- domestic share, vendor cap -------------------------------------------------------------------


@pytest.mark.parametrize(("basis", "expected", "purchases"), [
    (None, 12000, {"acme-a": 12}),
    ("compute", 17500, {"acme-a": 10, "dragon-d": 5}),
    ("units", 20000, {"acme-a": 8, "dragon-d": 8}),
    ("spend", 18000, {"acme-a": 9, "dragon-d": 6}),
])
def test_domestic_share_on_each_basis(tmp_path, planner_solver, basis, expected, purchases):
    """Home CN; demand 12 PF; 50 % domestic.

    acme-a (US): 1 PF a card, 1000 USD, bf16 1000 TFLOPS. dragon-d (CN): bf16 2000 TFLOPS at
    efficiency 0.25 = 0.5 PF a card, 1500 USD. x, y = cards of each in use.
    compute: 2000y ≥ 0.5(1000x + 2000y) ⇔ y ≥ x/2; x + y/2 ≥ 12 -> 10 + 5: 17500.
    units:   y ≥ x -> 8 + 8: 20000.
    spend:   1500·n_d ≥ 0.5(1000·n_a + 1500·n_d) ⇔ n_d ≥ 2n_a/3 -> 9 + 6: 18000.
    """
    policy = {} if basis is None else {"domestic_share": 0.5, "share_basis": basis}
    s = make_scenario(tmp_path, [planner_sku("acme-a"),
                                 planner_sku("dragon-d", origin="CN", bf16_dense_tflops=2000,
                                             efficiency_training=0.25, price_usd=1500)],
                      [train(12)], policy=policy)
    plan = solve(s, planner_solver)
    assert plan.objective == approx(expected)
    assert {sku: units for (_, sku), units in bought(plan).items()} == purchases
    if basis is not None:
        assert plan.shares.iloc[0]["domestic"] >= 0.5 - 1e-6


def test_domestic_share_starts_at_its_first_key(tmp_path, planner_solver):
    """50 % units share from Q2 only; demand 4 then 6; 8 %/year (buying late is cheaper).

    Q2 needs y ≥ x, x + y ≥ 6: 3 acme-a + 3 dragon-d. Q1 (no share) needs 4 cards: buy 3 acme-a
    and 1 dragon-d, defer 2 dragon-d to Q2: 4500 + 3000·δ1. (Were the share in force in Q1 too,
    Q1 would need 2 dragon-d.)
    """
    s = make_scenario(tmp_path, [planner_sku("acme-a"),
                                 planner_sku("dragon-d", origin="CN", price_usd=1500)],
                      [train({"2024Q1": 4, "2024Q2": 6})], horizon=Q1_Q2, discount_rate=0.08,
                      policy={"domestic_share": {"2024Q2": 0.5}, "share_basis": "units"})
    plan = solve(s, planner_solver)
    assert plan.objective == approx(4500 + 3000 * 1.08**-0.25)
    assert bought(plan) == {("2024Q1", "acme-a"): 3, ("2024Q1", "dragon-d"): 1,
                            ("2024Q2", "dragon-d"): 2}
    shares = plan.shares.set_index("period")["domestic"]
    assert shares["2024Q1"] == approx(0.25)
    assert shares["2024Q2"] == approx(0.5)


def test_vendor_cap(tmp_path, planner_solver):
    """No vendor above 60 % of compute: 6 acme-a (1000) + 4 bolt-b (1500) = 12000."""
    s = make_scenario(tmp_path, [planner_sku("acme-a"), planner_sku("bolt-b", price_usd=1500)],
                      [train(10)], policy={"vendor_cap": 0.6})
    plan = solve(s, planner_solver)
    assert plan.objective == approx(12000)
    assert bought(plan) == {("2024Q1", "acme-a"): 6, ("2024Q1", "bolt-b"): 4}
    assert plan.shares.iloc[0]["vendors"] == approx({"Acme": 0.6, "Bolt": 0.4})


# -- budget, power, energy ------------------------------------------------------------------------

# acme-a: 1000 USD, 1000 W; bolt-b: 1200 USD, 100 W. At 1 USD/kWh a quarter of 2184 h costs
# 2184 USD of energy per acme-a card in use and 218.4 per bolt-b card.
ENERGY_SKUS = [planner_sku("acme-a", tdp_w=1000), planner_sku("bolt-b", price_usd=1200, tdp_w=100)]


def test_energy_cost_decides(tmp_path, planner_solver):
    """Unconstrained: 10 bolt-b = 12000 capex + 2184 energy = 14184 (acme-a: 31840)."""
    s = make_scenario(tmp_path, ENERGY_SKUS, [train(10)], policy={"energy_price": 1.0})
    plan = solve(s, planner_solver)
    assert plan.objective == approx(14184)
    assert plan.cost["energy"] == approx(2184)
    assert bought(plan) == {("2024Q1", "bolt-b"): 10}


def test_binding_budget_forces_a_cheaper_mix(tmp_path, planner_solver):
    """Budget 11000 < 12000: 5 acme-a + 5 bolt-b = 11000 capex + 5·2184 + 5·218.4 = 23012."""
    s = make_scenario(tmp_path, ENERGY_SKUS, [train(10)],
                      policy={"energy_price": 1.0, "budget": 11000})
    plan = solve(s, planner_solver)
    assert plan.objective == approx(23012)
    assert bought(plan) == {("2024Q1", "acme-a"): 5, ("2024Q1", "bolt-b"): 5}
    assert plan.cost["capex"] <= 11000 + 1e-6


def test_budget_too_small_is_infeasible(tmp_path, planner_solver):
    """10 cards cost at least 10000: a 9000 budget with hard demand has no plan."""
    s = make_scenario(tmp_path, ENERGY_SKUS, [train(10)],
                      policy={"energy_price": 1.0, "budget": 9000})
    plan = chipmix.plan(s, solver=planner_solver)
    assert plan.status.value == "infeasible"
    assert plan.diagnosis is not None
    assert any(f["constraint"] in ("budget", "demand") for f in plan.diagnosis["findings"])


def test_budget_step_map_binds_from_its_first_key(tmp_path, planner_solver):
    """No budget in Q1, none to spend from Q2 (budget {2024Q2: 0}): the 5 cards Q2 needs are all
    bought in Q1 (5000) although discounting would buy 3 of them later (2000 + 3000·δ1)."""
    s = make_scenario(tmp_path, [planner_sku("acme-a")], [train({"2024Q1": 2, "2024Q2": 5})],
                      horizon=Q1_Q2, discount_rate=0.08, policy={"budget": {"2024Q2": 0}})
    plan = solve(s, planner_solver)
    assert plan.objective == approx(5000)
    assert bought(plan) == {("2024Q1", "acme-a"): 5}


def test_supply_step_map_holds_the_catalog_before_its_first_key(tmp_path, planner_solver):
    """Catalog supply unlimited, scenario supply 3 from Q2: demand 1 then 10 with discounting
    buys 3 in Q2 (the most) and the other 7 in Q1: 7000 + 3000·δ1."""
    s = make_scenario(tmp_path, [planner_sku("acme-a")], [train({"2024Q1": 1, "2024Q2": 10})],
                      horizon=Q1_Q2, discount_rate=0.08, supply={"acme-a": {"2024Q2": 3}})
    plan = solve(s, planner_solver)
    assert plan.objective == approx(7000 + 3000 * 1.08**-0.25)
    assert bought(plan) == {("2024Q1", "acme-a"): 7, ("2024Q2", "acme-a"): 3}
    rows = {(r["period"], r["sku"]): r for r in plan.to_dict()["availability"]}
    assert rows[("2024Q1", "acme-a")]["supply"] is None  # unlimited: null in the JSON
    assert rows[("2024Q2", "acme-a")]["supply"] == approx(3)


@pytest.mark.parametrize(("pue", "expected", "purchases"), [
    (1.0, 13000, {"acme-a": 4, "bolt-b": 6}),
    (1.25, 14500, {"acme-a": 1, "bolt-b": 9}),
])
def test_power_cap(tmp_path, planner_solver, pue, expected, purchases):
    """7 kW cap; acme-a 1000 W at 1000 USD, bolt-b 500 W at 1500 USD; demand 10.

    PUE 1: 1000x + 500y ≤ 7000, x + y ≥ 10 -> x ≤ 4: 4 + 6 = 13000.
    PUE 1.25: 1250x + 625y ≤ 7000 -> x ≤ 1.2: 1 + 9 = 14500.
    """
    s = make_scenario(tmp_path, [planner_sku("acme-a", tdp_w=1000),
                                 planner_sku("bolt-b", tdp_w=500, price_usd=1500)],
                      [train(10)], policy={"power_mw": 0.007, "pue": pue})
    plan = solve(s, planner_solver)
    assert plan.objective == approx(expected)
    assert {sku: units for (_, sku), units in bought(plan).items()} == purchases


def test_energy_is_discounted_per_period(tmp_path, planner_solver):
    """2 cards of 500 W at PUE 1.5, 0.1 then 0.2 USD/kWh, 8 %/year, Q1 and Q2 (2184 h each).

    Energy per card: 500·1.5·2184·0.1/1000 = 163.8 in Q1, 327.6 in Q2.
    Objective = 2000 + 2·163.8 + δ1·2·327.6 with δ1 = 1.08^-0.25.
    """
    s = make_scenario(tmp_path, [planner_sku("acme-a", tdp_w=500)], [train(2)], horizon=Q1_Q2,
                      discount_rate=0.08,
                      policy={"pue": 1.5, "energy_price": {"2024Q1": 0.1, "2024Q2": 0.2}})
    plan = solve(s, planner_solver)
    delta = 1.08**-0.25
    assert plan.objective == approx(2000 + 327.6 + 655.2 * delta)
    assert plan.cost["energy"] == approx(327.6 + 655.2)
    assert plan.cost["discounted_total"] == approx(plan.objective)


def test_energy_uses_the_hours_of_each_month(tmp_path, planner_solver):
    """One 1000 W card at 1 USD/kWh: January 2024 has 744 h, February (leap year) 696 h."""
    s = make_scenario(tmp_path, [planner_sku("acme-a", tdp_w=1000)], [train(1)],
                      horizon={"start": "2024-01", "end": "2024-02"},
                      policy={"energy_price": 1.0})
    plan = solve(s, planner_solver)
    assert plan.cost["energy"] == approx(744 + 696)
    assert plan.objective == approx(1000 + 744 + 696)


# -- prices: discounting, decline, overrides ------------------------------------------------------


@pytest.mark.parametrize(("horizon", "last", "years"), [
    (Q1_Q4, "2024Q4", 3 / 4),
    ({"start": "2024-01", "end": "2024-12"}, "2024-12", 11 / 12),
])
def test_discounting(tmp_path, planner_solver, horizon, last, years):
    """Demand only in the last period: buy there; objective = 4000·(1.08)^-y."""
    s = make_scenario(tmp_path, [planner_sku("acme-a")], [train({last: 4})], horizon=horizon,
                      discount_rate=0.08)
    plan = solve(s, planner_solver)
    assert plan.objective == approx(4000 * 1.08**-years)
    assert plan.cost["capex"] == approx(4000)
    assert bought(plan) == {(last, "acme-a"): 4}


def test_price_decline(tmp_path, planner_solver):
    """10 %/year decline: Q3 price = 1000·0.9^0.5 = 948.68; demand 2 in Q1, 5 from Q3."""
    s = make_scenario(tmp_path, [planner_sku("acme-a")],
                      [train({"2024Q1": 2, "2024Q2": 0, "2024Q3": 5})], horizon=Q1_Q3,
                      price_decline_per_year=0.1)
    plan = solve(s, planner_solver)
    q3 = 1000 * 0.9**0.5
    assert plan.objective == approx(2000 + 3 * q3)
    assert bought(plan) == {("2024Q1", "acme-a"): 2, ("2024Q3", "acme-a"): 3}
    assert plan.purchases.set_index("period").loc["2024Q3", "unit_price"] == approx(q3)


def test_price_override_step_map(tmp_path, planner_solver):
    """Override 500 from Q3 (held flat, no decline); before it the catalog price declines 20 %/y.

    Q1 1000, Q2 1000·0.8^0.25 = 945.76, Q3 500. Demand 1, 3, 5: 1000 + 2·945.76 + 2·500.
    """
    s = make_scenario(tmp_path, [planner_sku("acme-a")],
                      [train({"2024Q1": 1, "2024Q2": 3, "2024Q3": 5})], horizon=Q1_Q3,
                      price_decline_per_year=0.2, prices={"acme-a": {"2024Q3": 500}})
    plan = solve(s, planner_solver)
    q2 = 1000 * 0.8**0.25
    assert plan.objective == approx(1000 + 2 * q2 + 1000)
    prices = plan.purchases.set_index("period")["unit_price"].to_dict()
    assert prices == approx({"2024Q1": 1000, "2024Q2": q2, "2024Q3": 500})


# -- export-control rules and licences ------------------------------------------------------------


@pytest.mark.parametrize(("licenses", "expected", "purchases"), [
    ("deny", 13000, {"bolt-b": 10}),
    ("allow", 10000, {"acme-a": 10}),
    ({"default": "deny", "acme-a": "allow"}, 10000, {"acme-a": 10}),
    ({"acme-a": {"fee": 0.25}}, 12500, {"acme-a": 10}),
    ({"acme-a": {"fee": 0.5}}, 13000, {"bolt-b": 10}),
    ({"acme-a": {"cap": 4}}, 11800, {"acme-a": 4, "bolt-b": 6}),
], ids=["deny", "allow", "allow-sku", "fee-25", "fee-50", "cap-4"])
def test_licence_policy(tmp_path, planner_solver, licenses, expected, purchases):
    """A rule puts acme-a (1000) under licence; bolt-b costs 1300; demand 10.

    The scenario's licence policy decides: deny -> bolt-b; allow -> acme-a; a 25 % fee makes
    acme-a 1250 (still cheaper), 50 % makes it 1500 (not); a cap of 4 spills 6 to bolt-b.
    """
    rules = deny_rule(tmp_path, "acme-a", status="license")
    s = make_scenario(tmp_path, [planner_sku("acme-a"), planner_sku("bolt-b", price_usd=1300)],
                      [train(10)], rules=[rules], licenses=licenses)
    plan = solve(s, planner_solver)
    assert plan.objective == approx(expected)
    assert {sku: units for (_, sku), units in bought(plan).items()} == purchases
    a = availability(plan, "acme-a", "2024Q1")
    assert a["status"] == "license"
    if licenses == "deny":
        assert a["supply"] == 0
        assert "licen" in a["reason"]
    if "acme-a" in purchases:
        terms = licenses.get("acme-a") if isinstance(licenses, dict) else None
        fee = terms.get("fee", 0) if isinstance(terms, dict) else 0
        price = plan.purchases.set_index("sku").loc["acme-a", "unit_price"]
        assert price == approx(1000 * (1 + fee))


def test_notify_counts_as_allowed(tmp_path, planner_solver):
    rules = deny_rule(tmp_path, "acme-a", status="notify")
    s = make_scenario(tmp_path, [planner_sku("acme-a"), planner_sku("bolt-b", price_usd=1300)],
                      [train(10)], rules=[rules])
    plan = solve(s, planner_solver)
    assert bought(plan) == {("2024Q1", "acme-a"): 10}
    assert availability(plan, "acme-a", "2024Q1")["status"] == "notify"


RELAX = """\
  - id: relax a
    status: license
    mode: relax
    fee: 0.2
    cap: 6
    when: {sku: [acme-a]}
"""


@pytest.mark.parametrize(("licenses", "expected", "a_units", "a_price"), [
    ("deny", 13000, 0, None),
    ({"acme-a": "allow"}, 6 * 1200 + 4 * 1300, 6, 1200),
    ({"acme-a": {"cap": 3, "fee": 0.05}}, 3 * 1250 + 7 * 1300, 3, 1250),
], ids=["deny", "rule-terms", "policy-adds"])
def test_relax_control_with_fee_and_cap(tmp_path, planner_solver, licenses, expected, a_units,
                                        a_price):
    """acme-a denied from 2023-01-01, then a relax control (2023-06-01) sets licence with a
    20 % fee and 6 a quarter. Licence policy fees add (0.2 + 0.05) and the smaller cap binds.
    """
    deny = deny_rule(tmp_path, "acme-a")
    relax = write_planner_rules(tmp_path, planner_rule("test-relax", "2023-06-01", RELAX),
                                name="planner_relax.yaml")
    s = make_scenario(tmp_path, [planner_sku("acme-a"), planner_sku("bolt-b", price_usd=1300)],
                      [train(10)], rules=[deny, str(relax)], licenses=licenses)
    plan = solve(s, planner_solver)
    assert plan.objective == approx(expected)
    got = bought(plan)
    assert got.get(("2024Q1", "acme-a"), 0) == a_units
    assert availability(plan, "acme-a", "2024Q1")["status"] == "license"
    if a_price is not None:
        assert plan.purchases.set_index("sku").loc["acme-a", "unit_price"] == approx(a_price)


@pytest.mark.parametrize(("supply", "window"), [(182, 90), (100, 49)])
def test_rule_starting_mid_quarter_prorates_supply(tmp_path, planner_solver, supply, window):
    """acme-a denied from 2024-02-15: 45 of Q1's 91 days are open, supply × 45/91 (182 -> 90,
    100 -> 49.45, 49 whole cards). Demand 100 in Q1 and Q2: the rest is bolt-b at 2000; the
    acme-a cards bought before the ban keep serving in Q2."""
    rules = deny_rule(tmp_path, "acme-a", effective="2024-02-15")
    s = make_scenario(tmp_path, [planner_sku("acme-a", supply_per_quarter=supply),
                                 planner_sku("bolt-b", price_usd=2000)],
                      [train(100)], horizon=Q1_Q2, rules=[rules])
    plan = solve(s, planner_solver)
    assert plan.objective == approx(window * 1000 + (100 - window) * 2000)
    assert bought(plan) == {("2024Q1", "acme-a"): window, ("2024Q1", "bolt-b"): 100 - window}
    q1 = availability(plan, "acme-a", "2024Q1")
    assert q1["supply"] == approx(supply * 45 / 91)
    assert q1["status"] == "denied"
    assert availability(plan, "acme-a", "2024Q2")["supply"] == 0
    assert fleet(plan)[("2024Q2", "acme-a")] == window


def test_licence_from_mid_quarter_is_its_own_tranche(tmp_path, planner_solver):
    """acme-a needs a licence from 2024-02-15; the policy grants it with a 20 % fee and a cap
    of 10 a quarter. Q1 is two purchase tranches: 45 licence-free days (91 × 45/91 = 45 cards
    at 1000) and 46 capped days (10 × 46/91 = 5.05 -> 5 whole cards at 1200). Demand 60: the
    other 10 are bolt-b at 2000. (A day-weighted fee on the whole period would charge every
    card 1101.10.)"""
    rules = deny_rule(tmp_path, "acme-a", effective="2024-02-15", status="license")
    s = make_scenario(tmp_path, [planner_sku("acme-a", supply_per_quarter=91),
                                 planner_sku("bolt-b", price_usd=2000)],
                      [train(60)], rules=[rules],
                      licenses={"acme-a": {"fee": 0.2, "cap": 10}})
    plan = solve(s, planner_solver)
    a = availability(plan, "acme-a", "2024Q1")
    assert a["supply"] == approx(45 + 10 * 46 / 91)
    assert a["status"] == "license"
    assert "2 tranches" in a["reason"]
    assert plan.purchases.groupby("sku")["units"].sum().to_dict() == {"acme-a": 50,
                                                                      "bolt-b": 10}
    rows = plan.purchases[plan.purchases["sku"] == "acme-a"]
    assert list(rows["units"]) == [45, 5]
    assert list(rows["unit_price"]) == approx([1000, 1200])
    assert list(rows["from"]) == ["2024-01-01", "2024-02-15"]
    assert plan.objective == approx(45 * 1000 + 5 * 1200 + 20000)


def test_release_date_prorates_the_first_period(tmp_path, planner_solver):
    """Released 2024-02: 60 of Q1's 91 days, supply 91 -> 60; the rest is bolt-b (2000)."""
    s = make_scenario(tmp_path, [planner_sku("acme-a", release="2024-02", supply_per_quarter=91),
                                 planner_sku("bolt-b", price_usd=2000)], [train(100)])
    plan = solve(s, planner_solver)
    assert availability(plan, "acme-a", "2024Q1")["supply"] == approx(60)
    assert plan.objective == approx(60 * 1000 + 40 * 2000)


def test_unreleased_period_reports_the_rule_status(tmp_path, planner_solver):
    """A SKU denied by a rule in force all along and released only in Q2: its Q1 availability
    still reports the most restrictive status in force (denied), not 'allowed'
    (docs/planning-model.md: availability status = the most restrictive status in force)."""
    rules = deny_rule(tmp_path, "acme-a")
    s = make_scenario(tmp_path, [planner_sku("acme-a", release="2024-04"), planner_sku("bolt-b")],
                      [train(1)], horizon=Q1_Q2, rules=[rules])
    plan = chipmix.plan(s, solver=planner_solver)
    assert availability(plan, "acme-a", "2024Q2")["status"] == "denied"
    assert availability(plan, "acme-a", "2024Q1")["status"] == "denied"
    solve(s, planner_solver)  # and the checker agrees with the whole plan


# -- months ---------------------------------------------------------------------------------------


def test_monthly_horizon_scales_quarterly_supply(tmp_path, planner_solver):
    """30 cards a quarter = 10 a month: demand 15 in January needs 5 bolt-b (2000)."""
    s = make_scenario(tmp_path, [planner_sku("acme-a", supply_per_quarter=30),
                                 planner_sku("bolt-b", price_usd=2000)],
                      [train({"2024-01": 15})], horizon={"start": "2024-01", "end": "2024-03"})
    plan = solve(s, planner_solver)
    assert plan.objective == approx(10 * 1000 + 5 * 2000)
    assert bought(plan) == {("2024-01", "acme-a"): 10, ("2024-01", "bolt-b"): 5}
    assert availability(plan, "acme-a", "2024-02")["supply"] == approx(10)


def test_monthly_horizon_scales_lead_time(tmp_path, planner_solver):
    """lead_quarters 1 = 3 months: acme-a bought in January serves from April, so March demand
    must come from bolt-b (2000)."""
    s = make_scenario(tmp_path, [planner_sku("acme-a", lead_quarters=1),
                                 planner_sku("bolt-b", price_usd=2000)],
                      [train({"2024-03": 5})], horizon={"start": "2024-01", "end": "2024-03"})
    plan = solve(s, planner_solver)
    assert plan.objective == approx(10000)
    assert {sku for _, sku in bought(plan)} == {"bolt-b"}


# -- shortfall ------------------------------------------------------------------------------------


def test_shortfall_cheaper_than_buying(tmp_path, planner_solver):
    """Penalty 800 USD per PF-quarter < 1000 a card: one quarter short of 10 costs 8000."""
    s = make_scenario(tmp_path, [planner_sku("acme-a")], [train(10, shortfall_penalty=800)])
    plan = solve(s, planner_solver)
    assert plan.objective == approx(8000)
    assert bought(plan) == {}
    assert plan.cost["shortfall"] == approx(8000)
    row = plan.delivered.iloc[0]
    assert (row["delivered"], row["shortfall"]) == approx((0, 10))


def test_shortfall_penalty_is_per_period(tmp_path, planner_solver):
    """Over two quarters being short costs 1600 a PF; a card (1000) serves both: buy 10."""
    s = make_scenario(tmp_path, [planner_sku("acme-a")], [train(10, shortfall_penalty=800)],
                      horizon=Q1_Q2)
    plan = solve(s, planner_solver)
    assert plan.objective == approx(10000)
    assert bought(plan) == {("2024Q1", "acme-a"): 10}


def test_shortfall_beyond_supply(tmp_path, planner_solver):
    """Supply 6, penalty 1200: buy 6, short 4: 6000 + 4800."""
    s = make_scenario(tmp_path, [planner_sku("acme-a", supply_per_quarter=6)],
                      [train(10, shortfall_penalty=1200)])
    plan = solve(s, planner_solver)
    assert plan.objective == approx(10800)
    assert plan.delivered.iloc[0]["shortfall"] == approx(4)


def test_fractional_shortfall_with_a_large_penalty_verifies(tmp_path, planner_solver):
    """A 1 kW power cap and 102 W cards: at most 1000/102 = 9.80392 cards run, 0.196078 PF of
    the 10 PF stay short at 1e6 USD per PF: 10 cards (10000) + 196078.43 = 206078.43.

    The plan is right; the checker must accept it although the plan JSON rounds the shortfall
    to 6 decimals (0.196078 vs 0.19607843…: 0.43 USD at this penalty).
    """
    s = make_scenario(tmp_path, [planner_sku("acme-a", tdp_w=102)],
                      [train(10, shortfall_penalty=1.0e6)], policy={"power_mw": 0.001})
    plan = solve(s, planner_solver)
    short = 10 - 1000 / 102
    assert plan.objective == approx(10000 + 1.0e6 * short)
    assert plan.delivered.iloc[0]["shortfall"] == approx(short)


# -- measured performance, eligibility, missing figures -------------------------------------------


def test_measured_performance_overrides_the_derived_figure(tmp_path, planner_solver):
    """acme-a derives 0.5 PF (efficiency 0.5) but measures 2.0 (used as is): 5 cards = 5000,
    beating bolt-b's 1.5 PF (7 cards = 7000)."""
    skus = [planner_sku("acme-a", efficiency_training=0.5),
            planner_sku("bolt-b", bf16_dense_tflops=1500)]
    s = make_scenario(tmp_path, skus, [train(10)])
    assert solve(s, planner_solver).objective == approx(7000)
    s = make_scenario(tmp_path, skus, [train(10)],
                      performance=[{"sku": "acme-a", "workload": "train", "value": 2.0}])
    plan = solve(s, planner_solver)
    assert plan.objective == approx(5000)
    assert bought(plan) == {("2024Q1", "acme-a"): 5}


@pytest.mark.parametrize(("filters", "card", "winner"), [
    ({}, {}, "acme-a"),
    ({"min_memory_gb": 64}, {}, "bolt-b"),
    ({"min_memory_gb": 40}, {}, "acme-a"),  # the minimum itself is enough
    ({"min_memory_gb": 32}, {"memory_gb": None}, "bolt-b"),  # unknown memory fails a minimum
    ({}, {"memory_gb": None}, "acme-a"),  # ... and passes when no minimum is set
    ({"min_interconnect_gbps": 200}, {}, "bolt-b"),
    ({"min_interconnect_gbps": 100}, {}, "acme-a"),
    ({"min_interconnect_gbps": 50}, {"interconnect_gbps": None}, "bolt-b"),
    ({"exclude": ["acme-a"]}, {}, "bolt-b"),
    ({"exclude": ["Acme"]}, {}, "bolt-b"),
], ids=["none", "memory", "memory-equal", "memory-unknown", "memory-unknown-no-min",
        "interconnect", "interconnect-equal", "interconnect-unknown", "exclude-sku",
        "exclude-vendor"])
def test_eligibility_filters(tmp_path, planner_solver, filters, card, winner):
    """acme-a: 500 USD, 40 GB, 100 GB/s; bolt-b: 1000 USD, 80 GB, 400 GB/s; demand 10."""
    a = {"price_usd": 500, "memory_gb": 40, "interconnect_gbps": 100, **card}
    s = make_scenario(tmp_path, [planner_sku("acme-a", **a),
                                 planner_sku("bolt-b", memory_gb=80, interconnect_gbps=400)],
                      [train(10, **filters)])
    plan = solve(s, planner_solver)
    assert bought(plan) == {("2024Q1", winner): 10}
    assert plan.objective == approx(5000 if winner == "acme-a" else 10000)


@pytest.mark.parametrize(("card", "keys", "reason", "buyable"), [
    ({"price_usd": None}, {}, "no price", False),
    ({"price_usd": None}, {"prices": {"acme-a": 500}}, None, True),
    ({"price_usd": None}, {"overrides": {"acme-a": {"price_usd": 500}}}, None, True),
    ({"tdp_w": None}, {}, "tdp_w", False),
    ({"tdp_w": None}, {"overrides": {"acme-a": {"tdp_w": 100}}}, None, True),
], ids=["no-price", "prices", "override-price", "no-tdp", "override-tdp"])
def test_missing_figure_means_not_bought(tmp_path, planner_solver, card, keys, reason, buyable):
    """acme-a would win at 500 USD but lacks a price or a power figure: bolt-b (1000) is bought
    and availability says why; supplying the figure in the scenario makes acme-a buyable."""
    s = make_scenario(tmp_path, [planner_sku("acme-a", **{"price_usd": 500, **card}),
                                 planner_sku("bolt-b")], [train(10)], **keys)
    plan = solve(s, planner_solver)
    winner = "acme-a" if buyable else "bolt-b"
    assert bought(plan) == {("2024Q1", winner): 10}
    a = availability(plan, "acme-a", "2024Q1")
    if reason:
        assert a["supply"] == 0
        assert reason in a["reason"]


# -- infeasibility and its diagnosis --------------------------------------------------------------


def test_infeasible_hard_demand_is_diagnosed(tmp_path, planner_solver):
    """4 cards at most, 10 PF of hard demand: infeasible, 6 PF short for 'train' in 2024Q1."""
    s = make_scenario(tmp_path, [planner_sku("acme-a", supply_per_quarter=4)], [train(10)])
    plan = chipmix.plan(s, solver=planner_solver)
    assert plan.status.value == "infeasible"
    assert not plan.ok
    assert len(plan.purchases) == 0
    diagnosis = plan.diagnosis
    assert diagnosis is not None and diagnosis["status"] == "infeasible"
    demand = [f for f in diagnosis["findings"] if f["constraint"] == "demand"]
    assert [(f["workload"], f["period"]) for f in demand] == [("train", "2024Q1")]
    assert demand[0]["short"] == approx(6)
    assert "train" in diagnosis["summary"] and "2024Q1" in diagnosis["summary"]
    assert "6" in demand[0]["text"]
    data = plan.to_dict()
    assert data["status"] == "infeasible" and data["diagnosis"]["findings"]
    # the checker has nothing to check and says so, without failing
    report = chipmix.verify(plan, s)
    assert report.ok
