"""Rule-set domestic-share floors in the planner and the checker (issue 13's follow-up).

Default cards (``helpers.planner_sku``): 1 PFLOPS, one card per server, no lead time, no
discounting. ``acme-a`` is foreign at 1,000 USD and 100 W; ``dragon-x`` domestic at 300 USD and
10,000 W: at 0.1 USD/kWh a 2,184-hour quarter costs E = 21.84 USD per acme-a card in use and
2,184 per dragon-x card, so a dragon-x is only ever bought for a share, and stays idle.
A floor binds every period with a day on or after its effective date, for the buyers it names;
per period and (of, basis) the largest floor in force applies, combined (the larger) with the
policy's ``domestic_share`` when the policy measures the same (of, basis).
"""

from __future__ import annotations

import pytest
from helpers import (
    assert_verified,
    bought,
    make_scenario,
    planner_sku,
    solve,
    train,
    write_planner_rules,
)

import chipmix
from chipmix.model.build import build
from chipmix.model.data import prepare

approx = pytest.approx
SKUS = [planner_sku("acme-a"), planner_sku("dragon-x", origin="CN", price_usd=300, tdp_w=10000)]
E = 21.84
Q1_Q2 = {"start": "2024Q1", "end": "2024Q2"}


def floor_rules(folder, *floors: tuple[float, str, str], effective: str = "2024-01-01",
                buyers: str = "[state_funded]", name: str = "floors.yaml") -> str:
    """A rule set of domestic-share floors ``(floor, of, basis)``; returns its path."""
    items = "".join(
        f"  - id: floor {i} {of} {basis}\n    floor: {floor}\n    of: {of}\n"
        f"    basis: {basis}\n    buyers: {buyers}\n"
        for i, (floor, of, basis) in enumerate(floors))
    text = (f"id: test-floors\ntitle: test floors\nauthority: CN\neffective: {effective}\n"
            "replaces: []\napplies_to: [CN]\nconfidence: codified\n"
            "sources: [https://example.com/floors]\n"
            f"domestic_share:\n{items}")
    return str(write_planner_rules(folder, text, name=name))


def scenario(folder, rules, demand=10, buyer="state_funded", policy=None, **keys):
    return make_scenario(folder, SKUS, [train(demand)], rules=[rules], buyer=buyer,
                         policy={"energy_price": 0.1, **(policy or {})}, **keys)


def test_a_fleet_floor_is_met_by_idle_domestic_cards(tmp_path):
    """10 PF: 10 acme-a in use; a 50 % fleet floor adds 10 idle dragon-x: 10,000 + 3,000."""
    rules = floor_rules(tmp_path, (0.5, "fleet", "units"))
    plan = solve(scenario(tmp_path, rules))
    assert plan.objective == approx(13000 + 10 * E)
    assert {r["sku"] for r in plan.to_dict()["allocation"]} == {"acme-a"}
    shares = plan.to_dict()["shares"][0]
    assert shares["floors"] == [{"of": "fleet", "basis": "units", "floor": 0.5,
                                 "rules": "test-floors / floor 0 fleet units", "domestic": 0.5}]
    assert shares["domestic"] == 0.0  # the policy's own measure: units in use (none domestic)


def test_a_floor_binds_only_the_buyers_it_names(tmp_path):
    rules = floor_rules(tmp_path, (0.5, "fleet", "units"))
    plan = solve(scenario(tmp_path, rules, buyer="private"))
    assert plan.objective == approx(10000 + 10 * E)
    assert "floors" not in plan.to_dict()["shares"][0]


def test_a_floor_binds_from_the_period_of_its_effective_date(tmp_path):
    """A fleet floor from 15 May, 10 % a year discounting: the idle dragon-x are bought in Q2.

    Had the floor bound 2024Q1 too, they would have to be bought there, at undiscounted prices.
    """
    rules = floor_rules(tmp_path, (0.5, "fleet", "units"), effective="2024-05-15")
    plan = solve(scenario(tmp_path, rules, horizon=Q1_Q2, discount_rate=0.1))
    assert bought(plan) == {("2024Q1", "acme-a"): 10, ("2024Q2", "dragon-x"): 10}
    rows = plan.to_dict()["shares"]
    assert "floors" not in rows[0] and rows[1]["floors"][0]["domestic"] == approx(0.5)


@pytest.mark.parametrize(("policy_share", "expected"), [(0.3, 13000 + 10 * E),
                                                        (0.6, 14500 + 10 * E)])
def test_a_floor_on_the_policys_measure_is_combined_with_it(tmp_path, policy_share, expected):
    """Policy and floor both on the fleet in units: one row per period, the larger share.

    0.5 needs 10 dragon-x beside 10 acme-a; 0.6 needs 15 (15 / 25 = 0.6).
    """
    rules = floor_rules(tmp_path, (0.5, "fleet", "units"))
    s = scenario(tmp_path, rules, policy={"domestic_share": policy_share,
                                          "share_basis": "units", "share_of": "fleet"})
    model, _ = build(prepare(s))
    assert len(model.row_blocks["domestic_share"]) == 1
    assert "share_floor" not in model.row_blocks
    plan = solve(s)
    assert plan.objective == approx(expected)


def test_floors_on_other_measures_get_rows_of_their_own(tmp_path):
    """A policy on units in use (met: acme-a is not domestic → 0 % needed) and two floors.

    The fleet floors 0.3 and 0.5 give one requirement, 0.5 (set by the second floor); a
    purchases floor on the compute basis of 0.4 is its own row. Both are met by the same 10
    idle dragon-x (dragon-x has the same TFLOPS as acme-a).
    """
    rules = floor_rules(tmp_path, (0.3, "fleet", "units"), (0.5, "fleet", "units"),
                        (0.4, "purchases", "compute"))
    s = scenario(tmp_path, rules)
    model, _ = build(prepare(s))
    assert model.row_blocks["share_floor"].keys == [("2024Q1", "fleet", "units"),
                                                     ("2024Q1", "purchases", "compute")]
    plan = solve(s)
    assert plan.objective == approx(13000 + 10 * E)
    floors = plan.to_dict()["shares"][0]["floors"]
    assert [(f["of"], f["basis"], f["floor"]) for f in floors] == [
        ("fleet", "units", 0.5), ("purchases", "compute", 0.4)]
    assert floors[0]["rules"] == "test-floors / floor 1 fleet units"


def test_the_checker_recomputes_floors_and_names_the_rule(tmp_path):
    """A plan made without the floor (private buyer) fails verify for the state-funded one."""
    rules = floor_rules(tmp_path, (0.5, "fleet", "units"))
    plan = solve(scenario(tmp_path, rules, buyer="private"))
    report = chipmix.verify(plan, scenario(tmp_path, rules))
    assert not report.ok
    assert any("floor 0.5 of test-floors / floor 0 fleet units" in v for v in report.violations)
    assert_verified(solve(scenario(tmp_path, rules)), scenario(tmp_path, rules))


def test_a_floors_shadow_price_and_whole_step_equal_a_resolve(tmp_path):
    """One more point (51 %): 10 / 0.49 · 0.51 = 10.4 → 11 dragon-x, 300 USD more."""
    rules = floor_rules(tmp_path, (0.5, "fleet", "units"))
    plan = chipmix.plan(scenario(tmp_path, rules), gap=1e-9, sensitivity=True)
    row = plan.sensitivity["share_floors"][0]
    assert (row["period"], row["of"], row["basis"], row["value"]) == ("2024Q1", "fleet",
                                                                      "units", 50.0)
    # the row 0.5·dragon − 0.5·acme ≥ 0: y = 600 USD per unit of its rhs; Σ x = 20 cards
    assert row["usd_per_point"] == approx(600 * 20 / 100)
    stepped = floor_rules(tmp_path, (0.51, "fleet", "units"), name="stepped.yaml")
    again = solve(scenario(tmp_path, stepped))
    assert row["step_usd"] == approx(again.objective - plan.objective) == approx(300)


def test_an_unmeetable_floor_is_diagnosed(tmp_path):
    """A 100 % fleet floor with 4 acme-a owned: no plan can make the fleet all domestic."""
    rules = floor_rules(tmp_path, (1.0, "fleet", "units"))
    plan = chipmix.plan(scenario(tmp_path, rules, inventory={"acme-a": 4}))
    assert plan.status.value == "infeasible"
    text = " ".join(str(f.get("text", "")) for f in plan.diagnosis.get("findings", []))
    assert "domestic-share floor 2024Q1" in text and "test-floors / floor 0" in text, text


def test_explain_prints_the_floor_table(tmp_path):
    from rich.console import Console

    from chipmix.cli.explain import print_explain

    rules = floor_rules(tmp_path, (0.5, "purchases", "units"))
    plan = chipmix.plan(scenario(tmp_path, rules), gap=1e-9, sensitivity=True, steps=False)
    console = Console(record=True, width=200)
    print_explain(plan, console)
    out = console.export_text()
    assert "domestic-share floor" in out and "test-floors / floor 0 purchases units" in out
