"""Shadow prices and break-even prices (``chipmix.planner.sensitivity``).

Every figure is checked against a finite difference: change one input by ε, re-plan, and
compare Δ(discounted cost)/ε with the reported figure. The LP cases use ``relax=True`` (the
figures are then exact LP duals); one MILP case shows that the figures hold for the fixed
integer plan.

The base case (relaxed, two quarters, 10 %/year discount, energy 0.1 USD/kWh):
acme-a (US, 1000 USD, 10 a quarter), dragon-b (CN, 2000 USD, unlimited), bolt-c (US,
2500 USD, unlimited); training demand 12 then 20 PFLOPS; 30 % domestic share in 2024Q2.
The plan buys acme-a up to its supply in 2024Q1, tops up with dragon-b, and meets the share
with dragon-b; bolt-c is never bought.
"""

from __future__ import annotations

import copy
import math

import pytest
from helpers import make_scenario, planner_scenario_dict, planner_sku, train, write_planner_catalog

import chipmix
from chipmix.inputs.scenario import Scenario

approx = pytest.approx
Q1_Q2 = {"start": "2024Q1", "end": "2024Q2"}


def base_skus():
    return [
        planner_sku("acme-a", supply_per_quarter=10),
        planner_sku("dragon-b", origin="CN", price_usd=2000),
        planner_sku("bolt-c", price_usd=2500),
    ]


def base_keys(**extra):
    keys = {
        "horizon": Q1_Q2,
        "discount_rate": 0.1,
        "policy": {"energy_price": 0.1, "domestic_share": {"2024Q2": 0.3}},
    }
    keys.update(extra)
    return keys


class Case:
    """A scenario as data, re-planned after small edits."""

    def __init__(self, folder, skus, workloads, **keys):
        self.catalog = write_planner_catalog(folder, skus)
        self.folder = folder
        self.data = planner_scenario_dict(self.catalog, workloads, **keys)

    def scenario(self, edit=None) -> Scenario:
        data = copy.deepcopy(self.data)
        if edit:
            edit(data)
        return Scenario.from_dict(data, base_dir=self.folder)

    def plan(self, edit=None, relax=True, sensitivity=False):
        plan = chipmix.plan(self.scenario(edit), relax=relax, gap=1e-9, sensitivity=sensitivity)
        assert plan.status.value == "optimal", plan.message
        return plan

    def cost(self, edit=None, relax=True) -> float:
        return self.plan(edit, relax=relax).objective


@pytest.fixture
def case(tmp_path):
    return Case(tmp_path, base_skus(), [train({"2024Q1": 12, "2024Q2": 20},
                                              shortfall_penalty=8000)], **base_keys())


def lookup(rows, **key):
    match = [r for r in rows if all(r[k] == v for k, v in key.items())]
    assert len(match) == 1, (key, rows)
    return match[0]


def test_sensitivity_is_empty_unless_requested(case):
    plan = case.plan()
    assert plan.sensitivity == {}
    assert '"sensitivity": {}' in plan.to_json()


def test_shape_note_and_determinism(case):
    plan = case.plan(sensitivity=True)
    s = plan.sensitivity
    assert "fixed integer plan" in s["note"] and "discounted" in s["note"]
    for key in ("demand", "domestic_share", "budget", "power", "supply", "break_even"):
        assert key in s
    assert [r["period"] for r in s["supply"]] == sorted(r["period"] for r in s["supply"])
    assert case.plan(sensitivity=True).to_json() == plan.to_json()


def test_demand_shadow_prices_match_finite_differences(case):
    """d cost / d demand[w,t], discounted USD per PFLOPS, for each period."""
    s = case.plan(sensitivity=True).sensitivity
    base = case.cost()
    eps = 0.01
    for period in ("2024Q1", "2024Q2"):
        def bump(d, period=period):
            d["workloads"][0]["demand"][period] += eps
        fd = (case.cost(bump) - base) / eps
        reported = lookup(s["demand"], workload="train", period=period)["usd_per_unit"]
        assert reported == approx(fd, rel=1e-5, abs=1e-4), period
        assert reported > 0


def test_domestic_share_price_per_point_matches_finite_difference(case):
    """The share row is Σ(1[D]−s)·w·x ≥ 0: d cost/ds = y·Σ w·x*, reported per point."""
    s = case.plan(sensitivity=True).sensitivity
    eps = 0.001  # 0.1 percentage point

    def bump(d):
        d["policy"]["domestic_share"]["2024Q2"] += eps
    fd_per_point = (case.cost(bump) - case.cost()) / (eps * 100)
    reported = lookup(s["domestic_share"], period="2024Q2")["usd_per_point"]
    assert reported == approx(fd_per_point, rel=1e-5)
    assert reported > 0  # a stricter share costs money


def test_supply_value_matches_one_more_unit(case):
    """acme-a is bought up to its supply in 2024Q1 (binding), not in 2024Q2 (value 0)."""
    plan = case.plan(sensitivity=True)
    s = plan.sensitivity
    q1 = lookup(s["supply"], sku="acme-a", period="2024Q1")["usd_per_unit"]
    q2 = lookup(s["supply"], sku="acme-a", period="2024Q2")["usd_per_unit"]
    assert q2 == 0.0
    assert q1 < 0  # one more unit saves money

    def more(d):
        d["supply"] = {"acme-a": {"2024Q1": 11, "2024Q2": 10}}
    assert case.cost(more) - case.cost() == approx(q1, rel=1e-6)


def test_budget_shadow_price_matches_finite_difference(tmp_path):
    """A binding 2024Q1 budget: one more USD lets the plan buy instead of falling short."""
    case = Case(tmp_path, base_skus(), [train({"2024Q1": 12, "2024Q2": 20},
                                              shortfall_penalty=8000)],
                **base_keys(policy={"energy_price": 0.1, "budget": {"2024Q1": 13000}}))
    s = case.plan(sensitivity=True).sensitivity
    reported = lookup(s["budget"], period="2024Q1")["usd_per_usd"]
    eps = 10.0

    def bump(d):
        d["policy"]["budget"]["2024Q1"] += eps
    assert reported == approx((case.cost(bump) - case.cost()) / eps, rel=1e-6)
    assert reported < 0


def test_power_shadow_price_and_discounting(tmp_path):
    """Power binds in 2024Q2 (19 cards of 100 W): 1 PFLOPS short at the penalty.

    One more unit of 2024Q2 demand can only be short: 8000 USD, discounted by
    δ = 1.1^-0.25 — the reported figure is in discounted USD.
    """
    case = Case(tmp_path, base_skus(), [train({"2024Q1": 12, "2024Q2": 20},
                                              shortfall_penalty=8000)],
                **base_keys(policy={"energy_price": 0.1, "power_mw": {"2024Q2": 0.0019}}))
    plan = case.plan(sensitivity=True)
    s = plan.sensitivity
    delta = 1.1 ** -0.25
    assert lookup(s["demand"], workload="train", period="2024Q2")["usd_per_unit"] == approx(
        8000 * delta, rel=1e-6)
    assert lookup(s["discount_factors"], period="2024Q2")["factor"] == approx(delta, abs=1e-6)
    reported = lookup(s["power"], period="2024Q2")["usd_per_mw"]
    eps = 1e-6

    def bump(d):
        d["policy"]["power_mw"]["2024Q2"] += eps
    assert reported == approx((case.cost(bump) - case.cost()) / eps, rel=1e-5)
    assert reported < 0


def _units(plan, sku):
    p = plan.purchases
    return float(p.loc[p["sku"] == sku, "units"].sum())


def _price(sku, value):
    def edit(d):
        d.setdefault("prices", {})[sku] = value
    return edit


def test_break_even_price_of_an_unbought_sku_is_confirmed_by_resolving(case):
    s = case.plan(sensitivity=True).sensitivity
    row = lookup(s["break_even"], sku="bolt-c")
    assert row["bought"] is False
    price = row["break_even_price"]
    assert row["unit_price"] == 2500 and price < 2500
    assert row["change"] == approx(price / 2500 - 1, abs=1e-6)
    assert _units(case.plan(_price("bolt-c", price * 0.999)), "bolt-c") > 0
    assert _units(case.plan(_price("bolt-c", price * 1.001)), "bolt-c") == 0


def test_break_even_confirmed_on_the_milp(tmp_path):
    """Single quarter, whole one-card servers: the MILP switches at the reported price.

    acme-a 1 PF for 1000 USD, bolt-c 2 PF for 2600 USD (1300 USD/PF): 10 PF = 10 acme-a.
    bolt-c enters below 2000 USD (1000 USD/PF).
    """
    case = Case(tmp_path, [planner_sku("acme-a"),
                           planner_sku("bolt-c", bf16_dense_tflops=2000, price_usd=2600)],
                [train(10)])
    s = case.plan(relax=False, sensitivity=True).sensitivity
    row = lookup(s["break_even"], sku="bolt-c")
    assert row["break_even_price"] == approx(2000, rel=1e-6)
    assert _units(case.plan(_price("bolt-c", row["break_even_price"] * 0.999), relax=False),
                  "bolt-c") == 10 / 2
    assert _units(case.plan(_price("bolt-c", row["break_even_price"] * 1.001), relax=False),
                  "bolt-c") == 0
    kept = lookup(s["break_even"], sku="acme-a")
    assert kept["bought"] is True
    assert kept["break_even_price"] == approx(1300, rel=1e-5)  # then bolt-c is cheaper per PF


def test_price_headroom_of_a_bought_sku_is_confirmed_by_resolving(case):
    s = case.plan(sensitivity=True).sensitivity
    row = lookup(s["break_even"], sku="acme-a")
    assert row["bought"] is True and row["change"] > 0
    top = row["break_even_price"]
    base = case.plan()
    below = case.plan(_price("acme-a", top * 0.999))
    above = case.plan(_price("acme-a", top * 1.001))
    assert _units(below, "acme-a") == approx(_units(base, "acme-a"))
    assert _units(above, "acme-a") < _units(base, "acme-a") - 1e-6


def test_milp_figures_hold_for_the_fixed_integer_plan(tmp_path):
    """10.5 PF at 1000 USD a whole card, 1200 USD per PF short: the MILP buys 10 and is 0.5
    short (600 < a card), so one more unit of demand costs the penalty (1200), not a card
    (1000, the LP relaxation's answer)."""
    case = Case(tmp_path, [planner_sku("acme-a")], [train(10.5, shortfall_penalty=1200)])
    milp = case.plan(relax=False, sensitivity=True)
    assert _units(milp, "acme-a") == 10
    assert lookup(milp.sensitivity["demand"], period="2024Q1")["usd_per_unit"] == approx(1200)
    lp = case.plan(relax=True, sensitivity=True)
    assert lookup(lp.sensitivity["demand"], period="2024Q1")["usd_per_unit"] == approx(1000)


def test_unported_vendor_break_even_says_so(tmp_path):
    """dragon-b needs porting (5000 USD) the plan does not pay: its break-even is 'once ported'."""
    s = make_scenario(
        tmp_path,
        [planner_sku("acme-a"), planner_sku("dragon-b", origin="CN", price_usd=1200)],
        [train(10)], porting={"Dragon": 5000},
    )
    plan = chipmix.plan(s, gap=1e-9, sensitivity=True)
    row = lookup(plan.sensitivity["break_even"], sku="dragon-b")
    assert row["bought"] is False
    assert "ported" in row["note"]
    assert row["break_even_price"] == approx(1000, rel=1e-6)
    assert not math.isnan(row["change"])


def test_vendor_cap_price_per_point_matches_finite_difference(tmp_path):
    """No vendor may hold more than 60 % of the compute in use: Acme is capped."""
    case = Case(tmp_path, base_skus(), [train({"2024Q1": 12, "2024Q2": 20},
                                              shortfall_penalty=8000)],
                **base_keys(policy={"energy_price": 0.1, "vendor_cap": 0.6}))
    s = case.plan(sensitivity=True).sensitivity
    eps = 0.001

    def bump(d):
        d["policy"]["vendor_cap"] += eps
    fd_per_point = (case.cost(bump) - case.cost()) / (eps * 100)
    total = sum(r["usd_per_point"] for r in s["vendor_cap"])  # one cap for every vendor, period
    assert total == approx(fd_per_point, rel=1e-5)
    assert total < 0  # a looser cap saves money
