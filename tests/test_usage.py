"""Power and budget use against their caps, and the binding constraint of each shortfall
(``chipmix.planner.usage``), on ``tests/data/report_case.yaml`` and variants of it.

Hand-checked: the base case's 2024Q2 runs 15 cards x 100 W = 1.5 kW, its cap, and rents 5
PFLOPS; with 3 cards of each SKU per quarter the plan is short for supply; with no supply
nothing can be bought; a 5,000 USD budget buys 5 cards a quarter; a 50 % domestic
share with 4 domestic cards a quarter caps delivery at 8 then 16; a 500 USD penalty is cheaper
than any card (1,000 USD).
"""

from __future__ import annotations

from pathlib import Path

import pytest

import chipmix
from chipmix.model.data import prepare
from chipmix.planner.usage import shortfall_binding, usage_table

CASE = Path(__file__).parent / "data" / "report_case.yaml"


def run(*sets: str):
    scenario = chipmix.load_scenario(CASE, sets=list(sets))
    return prepare(scenario), chipmix.plan(scenario, gap=0.0)


def test_power_cap_binds_and_explains_the_shortfall():
    data, plan = run()
    usage = usage_table(data, plan)
    assert usage["power_mw"].tolist() == pytest.approx([0.001, 0.0015, 0.0005])
    assert usage["power_cap_mw"].tolist() == pytest.approx([1.0, 0.0015, 0.0015])
    assert usage["capex"].tolist() == pytest.approx([17500, 0, 0])
    assert usage["binding"].tolist() == [[], ["power cap"], []]
    assert shortfall_binding(data, plan, usage) == {("2024Q2", "train"): ["power cap"]}


@pytest.mark.parametrize("sets, expected", [
    (["supply.acme-a=3", "supply.dragon-d=3"], "supply (acme-a, dragon-d)"),
    (["supply.acme-a=0", "supply.dragon-d=0"], "no buyable SKU"),
    (["policy.budget=5000"], "budget"),
    (["policy.domestic_share=0.5", "supply.dragon-d=4"], "domestic share"),
    (["workloads[0].shortfall_penalty=500"], "cheaper to rent"),
])
def test_each_cause(sets, expected):
    data, plan = run("policy.power_mw=1", *sets)
    causes = shortfall_binding(data, plan)
    assert causes and all(c == [expected] for c in causes.values()), causes


def test_no_budget_binds_when_nothing_can_be_bought():
    data, plan = run("policy.power_mw=1", "supply.acme-a=0", "supply.dragon-d=0")
    assert all("budget" not in b for b in usage_table(data, plan)["binding"])
