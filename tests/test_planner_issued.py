"""The planner honours "licences required and not being issued" (a rule's ``issued: false``):
no licence policy buys the SKU while no licences are issued, and the independent checker
agrees. Hand-solved cases in the style of test_planner_families.py."""

from __future__ import annotations

from helpers import (
    availability,
    bought,
    make_scenario,
    planner_rule,
    planner_sku,
    solve,
    train,
    write_planner_rules,
)
from pytest import approx

LETTER = """\
  - id: letter
    status: license
    issued: false
    when: {sku: [acme-a]}
"""
GRANTED = """\
  - id: granted
    status: license
    mode: relax
    fee: 0.2
    when: {sku: [acme-a]}
"""


def rules(folder, granted: str | None = None) -> list[str]:
    paths = [str(write_planner_rules(folder, planner_rule("test-letter", "2023-01-01", LETTER),
                                     name="letter.yaml"))]
    if granted:
        paths.append(str(write_planner_rules(
            folder, planner_rule("test-granted", granted, GRANTED), name="granted.yaml")))
    return paths


def test_allow_cannot_buy_while_no_licences_are_issued(tmp_path, planner_solver):
    """acme-a (1000 USD) needs a licence nobody issues: even `licenses: allow` buys bolt-b."""
    s = make_scenario(tmp_path, [planner_sku("acme-a"), planner_sku("bolt-b", price_usd=1300)],
                      [train(10)], rules=rules(tmp_path), licenses="allow")
    plan = solve(s, planner_solver)
    assert bought(plan) == {("2024Q1", "bolt-b"): 10}
    a = availability(plan, "acme-a", "2024Q1")
    assert (a["status"], a["supply"]) == ("license", 0)
    assert "no licences are being issued" in a["reason"]


def test_licences_issued_from_mid_quarter_open_a_prorated_window(tmp_path, planner_solver):
    """Licences are issued from 2024-02-15 (46 of Q1's 91 days) with a 20 % fee: supply 91 ->
    46 cards at 1200 USD; the rest of demand 60 is bolt-b at 2000."""
    s = make_scenario(tmp_path, [planner_sku("acme-a", supply_per_quarter=91),
                                 planner_sku("bolt-b", price_usd=2000)],
                      [train(60)], rules=rules(tmp_path, granted="2024-02-15"), licenses="allow")
    plan = solve(s, planner_solver)
    a = availability(plan, "acme-a", "2024Q1")
    assert a["supply"] == approx(46)
    assert bought(plan) == {("2024Q1", "acme-a"): 46, ("2024Q1", "bolt-b"): 14}
    assert plan.purchases.set_index("sku").loc["acme-a", "unit_price"] == approx(1200)
    assert plan.objective == approx(46 * 1200 + 14 * 2000)


def test_deny_policy_reports_the_policy_as_the_cause(tmp_path, planner_solver):
    s = make_scenario(tmp_path, [planner_sku("acme-a"), planner_sku("bolt-b", price_usd=1300)],
                      [train(10)], rules=rules(tmp_path), licenses="deny")
    plan = solve(s, planner_solver)
    assert "licence policy denies it" in availability(plan, "acme-a", "2024Q1")["reason"]
