"""Substitution table (``chipmix.insight.substitute``) and the near-optimal alternatives
(``chipmix.insight.alternatives``)."""

from __future__ import annotations

import datetime as dt

import pytest
from helpers import (
    assert_verified,
    make_scenario,
    planner_rule,
    planner_sku,
    train,
    write_planner_rules,
)

import chipmix
from chipmix.errors import InputError
from chipmix.insight.alternatives import near_optimal, parse_objective
from chipmix.insight.substitute import substitution_table

approx = pytest.approx


def deny(folder, sku, effective):
    controls = f"  - id: ban {sku}\n    status: denied\n    when: {{sku: [{sku}]}}\n"
    return str(write_planner_rules(folder, planner_rule("test-ban", effective, controls)))


@pytest.fixture
def banned(tmp_path):
    """acme-a (1 PF, 1000 USD, 100 W) is denied from 15 Feb 2024; dragon-b (CN, 0.5 PF,
    800 USD, 200 W) and bolt-c (US, 2 PF, 3000 USD, 400 W) stay allowed."""
    return make_scenario(
        tmp_path,
        [planner_sku("acme-a"),
         planner_sku("dragon-b", origin="CN", bf16_dense_tflops=500, price_usd=800, tdp_w=200),
         planner_sku("bolt-c", bf16_dense_tflops=2000, price_usd=3000, tdp_w=400)],
        [train(10)],
        horizon={"start": "2024Q1", "end": "2024Q2"},
        rules=[deny(tmp_path, "acme-a", "2024-02-15")],
        policy={"pue": 1.5},
    )


def test_substitutes_use_the_planner_figures_and_rules(banned):
    table = substitution_table(banned, "acme-a")
    # 2024Q1 is still buyable (before the ban, prorated); 2024Q2 is not: that is the default day
    assert table.date == dt.date(2024, 4, 1) and table.period == "2024Q2"
    assert "no longer be bought" in table.date_note
    mine = table.replaced.iloc[0]
    assert (mine["status"], bool(mine["buyable"])) == ("denied", False)
    rows = table.table.set_index("sku")
    b, c = rows.loc["dragon-b"], rows.loc["bolt-c"]
    assert b["units_per_unit"] == approx(2.0)  # 1 PF / 0.5 PF
    assert b["usd_per_metric_unit"] == approx(1600)  # 800 USD / 0.5 PF
    assert b["watts_per_metric_unit"] == approx(200 * 1.5 / 0.5)  # W × PUE per PF
    assert c["units_per_unit"] == approx(0.5) and c["usd_per_metric_unit"] == approx(1500)
    assert b["status"] == "allowed" and bool(b["buyable"])
    # buyable substitutes first, cheapest per delivered unit first
    assert list(table.table["sku"]) == ["bolt-c", "dragon-b"]
    before = substitution_table(banned, "acme-a", at="2024-01-10")
    assert before.replaced.iloc[0]["status"] == "allowed"
    assert before.date_note == "as asked"


def test_substitute_errors_name_the_bad_input(banned):
    with pytest.raises(InputError, match="did you mean 'acme-a'"):
        substitution_table(banned, "acme-b")
    with pytest.raises(InputError, match="workload"):
        substitution_table(banned, "acme-a", workload="inference")
    with pytest.raises(InputError, match="--at"):
        substitution_table(banned, "acme-a", at="soon")


def test_substitute_on_the_bundled_default():
    from chipmix.model.data import prepare
    from chipmix.resources import default_scenario_path

    scenario = chipmix.load_scenario(default_scenario_path())
    table = substitution_table(scenario, "nvidia-h800", workload="llm-training")
    assert str(table.date) == "2024-01-01"  # the Oct-2023 rule closes the window in 2023Q4
    rows = table.table.set_index("sku")
    cap = prepare(scenario).cap
    ratio = cap[("nvidia-h800", "llm-training")] / cap[("huawei-ascend-910b", "llm-training")]
    assert rows.loc["huawei-ascend-910b", "units_per_unit"] == approx(ratio)
    assert bool(rows.loc["huawei-ascend-910b", "buyable"])
    assert not bool(rows.loc["nvidia-a800", "buyable"])


# -- near-optimal alternatives ------------------------------------------------------------------


@pytest.fixture
def two_vendors(tmp_path):
    """10 PF: acme-a (US) 1000 USD, dragon-b (CN) 1100 USD per PF card. Optimum: 10 acme-a
    (10,000 USD). Within 5 %: at most 5 dragon-b (5·1100 + 5·1000 = 10,500)."""
    return make_scenario(
        tmp_path,
        [planner_sku("acme-a"), planner_sku("dragon-b", origin="CN", price_usd=1100),
         planner_sku("kite-c", price_usd=1200)],
        [train(10)],
    )


@pytest.mark.parametrize(("sense", "target"), [("max", "domestic_share"),
                                               ("min", "vendor:Acme")])
def test_most_domestic_plan_within_slack(two_vendors, sense, target):
    alt = near_optimal(two_vendors, [(sense, target)], slack=0.05, gap=1e-9)
    assert alt.optimum == approx(10000)
    assert alt.cost <= 1.05 * alt.optimum + 1e-6
    units = {r.sku: r.units for r in alt.plan.purchases.itertuples()}
    assert units == {"acme-a": 5, "dragon-b": 5}
    assert alt.cost == approx(10500)
    (row,) = alt.objectives
    better = row["alternative"] >= row["optimal"] if sense == "max" else \
        row["alternative"] <= row["optimal"]
    assert better
    assert alt.plan.objective == approx(alt.cost)
    assert_verified(alt.plan, two_vendors)


def test_vendor_diversity_spreads_within_slack(two_vendors):
    """With 10 % slack (11,000 USD) the largest vendor's share can drop to 4 PF of 10:
    4 acme + 4 dragon + 2 kite = 4000 + 4400 + 2400 = 10,800; the final cost stage keeps it."""
    alt = near_optimal(two_vendors, [("max", "vendor_diversity")], slack=0.10, gap=1e-9)
    (row,) = alt.objectives
    assert row["alternative"] <= row["optimal"]
    assert row["alternative"] == approx(4000)  # 4 cards × 1000 TFLOPS, one period
    assert alt.cost <= 1.10 * alt.optimum + 1e-6
    assert_verified(alt.plan, two_vendors)


def test_alternatives_reject_unknown_targets(two_vendors):
    with pytest.raises(InputError, match="did you mean 'Acme'"):
        near_optimal(two_vendors, [("min", "vendor:Acm")], slack=0.05)
    with pytest.raises(InputError, match="maximize only"):
        parse_objective("min", "vendor_diversity")
    with pytest.raises(InputError):
        parse_objective("max", "domestic")


@pytest.mark.slow
def test_most_domestic_plan_on_the_bundled_default():
    from chipmix.resources import default_scenario_path

    scenario = chipmix.load_scenario(default_scenario_path())
    alt = near_optimal(scenario, [("max", "domestic_share")], slack=0.03)
    assert alt.cost <= 1.03 * alt.optimum * (1 + 1e-9)
    (row,) = alt.objectives
    assert row["alternative"] >= row["optimal"]
    assert alt.plan.shares["domestic"].mean() >= alt.optimal.shares["domestic"].mean()
