"""Supply-shock stress test (``chipmix.insight.stress``) and the scenario's ``risks:`` block.

Tiny two-quarter cases without discounting or energy: acme-a (US, 1 PF, 1000 USD) and
dragon-b (CN, 1 PF, 1500 USD); hard training demand, so the stress test prices a shortfall
at the dearest SKU's price per PF (1500 USD per PF-quarter).
"""

from __future__ import annotations

import pytest
from helpers import make_scenario, planner_rule, planner_sku, train, write_planner_rules

import chipmix
from chipmix.errors import InputError
from chipmix.insight.stress import stress, tail_stats
from chipmix.present.charts import stress_chart

approx = pytest.approx
Q1_Q2 = {"start": "2024Q1", "end": "2024Q2"}


def skus(acme_supply=20):
    return [planner_sku("acme-a", supply_per_quarter=acme_supply),
            planner_sku("dragon-b", origin="CN", price_usd=1500)]


def planned(scenario):
    plan = chipmix.plan(scenario, gap=1e-9)
    assert plan.ok
    return plan


def test_revocation_at_the_start_replans_everything(tmp_path):
    """Plan: 10 acme-a in 2024Q1 (10,000 USD). acme-a revoked from 2024Q1: everything is
    re-decided and dragon-b replaces it (15,000 USD < 2 × 10 PF short at 1500)."""
    s = make_scenario(tmp_path, skus(), [train(10)], horizon=Q1_Q2,
                      risks={"revoke": {"acme-a": {"probability": 1.0, "from": "2024Q1"}}})
    result = stress(s, planned(s), draws=3, seed=1)
    assert result.baseline["cost"] == approx(10000)
    assert list(result.draws["shock_period"]) == ["2024Q1"] * 3
    assert list(result.draws["cost"]) == approx([15000] * 3)
    assert result.summary["cost"]["cvar95"] == approx(15000)
    assert any("hard demand" in note for note in result.notes)


def test_purchases_before_the_shock_stay_as_planned(tmp_path):
    """Revoked from 2024Q2: the plan's 2024Q1 purchase (all it needs) is fixed: no change."""
    s = make_scenario(tmp_path, skus(), [train(10)], horizon=Q1_Q2,
                      risks={"revoke": {"acme-a": {"probability": 1.0, "from": "2024Q2"}}})
    result = stress(s, planned(s), draws=2, seed=1)
    assert list(result.draws["shock_period"]) == ["2024Q2"] * 2
    assert list(result.draws["cost"]) == approx([10000, 10000])


def test_supply_factor_from_a_period(tmp_path):
    """Demand 10 then 20 PF, acme-a 15 a quarter, 10 %/year discount (buying later is
    cheaper): the plan buys 10 + 10 acme-a. Half the supply from 2024Q2 (7.5 → 7 whole
    servers): the re-plan buys 7 acme-a and 3 dragon-b in 2024Q2."""
    s = make_scenario(tmp_path, skus(acme_supply=15), [train({"2024Q1": 10, "2024Q2": 20})],
                      horizon=Q1_Q2, discount_rate=0.1,
                      risks={"supply": {"acme-a": {"dist": "fixed", "value": 0.5,
                                                   "from": "2024Q2"}},
                             "shortfall_penalty": 5000})
    plan = planned(s)
    assert list(plan.purchases["units"]) == [10, 10]
    delta = 1.1 ** -0.25
    result = stress(s, plan, draws=2, seed=0)
    assert result.baseline["cost"] == approx(10000 + delta * 10000)
    assert list(result.draws["cost"]) == approx([10000 + delta * (7000 + 3 * 1500)] * 2)
    assert list(result.draws["shortfall_cost"]) == [0.0, 0.0]
    assert result.draws["shocks"][0] == "acme-a supply ×0.50 from 2024Q2"


def test_ban_earlier(tmp_path):
    """acme-a is denied from 2024Q2 (plan: 10 acme-a in 2024Q1). One period earlier, only
    dragon-b (4 a quarter) can be bought: 4 + 4 dragon-b, short 6 PF in Q1 and 2 PF in Q2 at
    the risks block's 5000 USD per PF-quarter."""
    controls = "  - id: ban acme-a\n    status: denied\n    when: {sku: [acme-a]}\n"
    rules = str(write_planner_rules(tmp_path, planner_rule("test-ban", "2024-04-01", controls)))
    s = make_scenario(tmp_path, [planner_sku("acme-a"),
                                 planner_sku("dragon-b", origin="CN", price_usd=1500,
                                             supply_per_quarter=4)],
                      [train(10)], horizon=Q1_Q2, rules=[rules],
                      risks={"ban_earlier": {"acme-a": {"probability": 1.0, "by_periods": 1}},
                             "shortfall_penalty": 5000})
    result = stress(s, planned(s), draws=1, seed=0)
    row = result.draws.iloc[0]
    assert row["shocks"] == "acme-a banned from 2024Q1 instead of 2024Q2"
    assert row["cost"] == approx(8 * 1500 + 8 * 5000)
    assert row["shortfall:train"] == approx(8)
    assert any("risks.shortfall_penalty" in note for note in result.notes)


def test_shocks_are_learnt_when_they_happen(tmp_path):
    """Demand 10 then 20 PF in 2024Q3, 10 %/year discount: the plan buys 10 acme-a in 2024Q1
    and 10 more in 2024Q3 (later is cheaper). dragon-b's supply halves from 2024Q2 (learnt
    then: nothing to change) and acme-a is revoked from 2024Q3 (learnt then: too late to
    buy acme-a in 2024Q2, so 10 dragon-b in 2024Q3). A planner who knew both in 2024Q2
    would have bought acme-a in 2024Q2 instead."""
    s = make_scenario(
        tmp_path,
        [planner_sku("acme-a", supply_per_quarter=20),
         planner_sku("dragon-b", origin="CN", price_usd=1500, supply_per_quarter=20)],
        [train({"2024Q1": 10, "2024Q3": 20})],
        horizon={"start": "2024Q1", "end": "2024Q3"}, discount_rate=0.1,
        risks={"supply": {"dragon-b": {"dist": "fixed", "value": 0.5, "from": "2024Q2"}},
               "revoke": {"acme-a": {"probability": 1.0, "from": "2024Q3"}},
               "shortfall_penalty": 5000})
    plan = planned(s)
    assert {(r.period, r.units) for r in plan.purchases.itertuples()} == {("2024Q1", 10),
                                                                           ("2024Q3", 10)}
    row = stress(s, plan, draws=1).draws.iloc[0]
    assert (row["shock_period"], row["replans"]) == ("2024Q2", 2)
    assert row["cost"] == approx(10000 + 1.1 ** -0.5 * 10 * 1500)


@pytest.mark.slow
def test_draws_are_reproducible_and_executor_independent(tmp_path):
    s = make_scenario(
        tmp_path, skus(acme_supply=14), [train({"2024Q1": 10, "2024Q2": 20})], horizon=Q1_Q2,
        risks={"supply": {"acme-a": {"dist": "uniform", "low": 0.2, "high": 1.0,
                                     "from": "2024Q2", "probability": 0.7}},
               "revoke": {"dragon-b": {"probability": 0.3, "from": "2024Q1", "to": "2024Q2"}},
               "shortfall_penalty": 3000})
    plan = planned(s)
    one = stress(s, plan, draws=10, seed=7, workers=1)
    again = stress(s, plan, draws=10, seed=7, workers=1)
    two = stress(s, plan, draws=10, seed=7, workers=2)
    assert one.draws.equals(again.draws)
    assert one.draws.equals(two.draws)
    other = stress(s, plan, draws=10, seed=8)
    assert not other.draws["shocks"].equals(one.draws["shocks"])
    # the same draw index gives the same shocks in a longer run
    longer = stress(s, plan, draws=12, seed=7)
    assert longer.draws.iloc[:10].equals(one.draws)
    assert any("risks.shortfall_penalty" in n for n in one.notes)
    assert (one.draws["cost"] >= one.baseline["cost"] - 1e-6).all()


@pytest.mark.slow
def test_dask_gives_the_same_draws(tmp_path):
    distributed = pytest.importorskip("dask.distributed")
    s = make_scenario(tmp_path, skus(acme_supply=14), [train({"2024Q1": 10, "2024Q2": 20})],
                      horizon=Q1_Q2,
                      risks={"supply": {"acme-a": {"dist": "triangular", "low": 0.2,
                                                   "mode": 0.6, "high": 1.0}}})
    plan = planned(s)
    local = stress(s, plan, draws=4, seed=3)
    with distributed.Client(processes=False, n_workers=1, threads_per_worker=1,
                            dashboard_address=":0") as client:
        remote = stress(s, plan, draws=4, seed=3, dask=client)
    assert local.draws.equals(remote.draws)


def test_no_risks_means_every_draw_is_the_plan(tmp_path):
    s = make_scenario(tmp_path, skus(), [train(10, shortfall_penalty=5000)], horizon=Q1_Q2)
    plan = planned(s)
    result = stress(s, plan, draws=3)
    assert list(result.draws["cost"]) == approx([plan.objective] * 3)
    assert result.draws["shock_period"].isna().all()
    assert any("no risks" in note for note in result.notes)
    assert result.to_dict()["worse_probability"] == 0.0


def test_chart_and_json(tmp_path):
    s = make_scenario(tmp_path, skus(), [train(10)], horizon=Q1_Q2,
                      risks={"revoke": {"acme-a": {"probability": 0.5, "from": "2024Q1"}}})
    result = stress(s, planned(s), draws=6, seed=2)
    path = stress_chart(result, tmp_path / "stress.png")
    assert path.stat().st_size > 1000
    data = result.to_dict()
    assert set(data["summary"]["cost"]) == {"baseline", "mean", "p90", "p99", "cvar95", "worst"}
    assert len(data["per_draw"]) == 6


def test_tail_statistics():
    values = list(range(1, 101))  # 1..100
    stats = tail_stats(values)
    assert stats["mean"] == approx(50.5)
    assert stats["p90"] == approx(90.1)
    assert stats["p99"] == approx(99.01)
    assert stats["cvar95"] == approx((96 + 97 + 98 + 99 + 100) / 5)
    assert stats["worst"] == 100


# -- the risks: block --------------------------------------------------------------------------


def test_risks_block_validates_and_round_trips(tmp_path):
    from chipmix.inputs.scenario import Scenario

    s = make_scenario(tmp_path, skus(), [train(10)], horizon=Q1_Q2,
                      risks={"supply": {"acme-a": {"dist": "beta", "a": 2, "b": 5}},
                             "revoke": {"dragon-b": {"probability": 0.1, "from": "2024Q2"}},
                             "shortfall_penalty": {"train": 100}})
    assert s.risks.supply["acme-a"].bounds() == (0.0, 1.0)
    data = s.to_dict()
    assert data["risks"]["revoke"]["dragon-b"]["from"] == "2024Q2"
    assert Scenario.from_dict(data, base_dir=tmp_path).risks == s.risks
    with pytest.raises(InputError, match=r"risks\.supply\.acme-a.*missing high"):
        make_scenario(tmp_path, skus(), [train(10)], horizon=Q1_Q2,
                      risks={"supply": {"acme-a": {"dist": "uniform", "low": 0.5}}})
    with pytest.raises(InputError, match=r"risks\.revoke\.acme-a\.from.*horizon end"):
        make_scenario(tmp_path, skus(), [train(10)], horizon=Q1_Q2,
                      risks={"revoke": {"acme-a": {"probability": 0.5, "from": "2025Q1"}}})
    with pytest.raises(InputError, match="did you mean 'ban_earlier'"):
        make_scenario(tmp_path, skus(), [train(10)], horizon=Q1_Q2,
                      risks={"ban_early": {}})


def test_stress_rejects_unknown_names_and_foreign_plans(tmp_path):
    # a risks block naming an unknown SKU is refused when the scenario loads
    with pytest.raises(InputError, match=r"risks\.revoke\.acme-b.*did you mean 'acme-a'"):
        make_scenario(tmp_path, skus(), [train(10)], horizon=Q1_Q2,
                      risks={"revoke": {"acme-b": {"probability": 0.5, "from": "2024Q1"}}})
    plan = planned(make_scenario(tmp_path, skus(), [train(10)], horizon=Q1_Q2))
    other = make_scenario(tmp_path, skus(), [train(10)])  # one quarter: not this plan's horizon
    with pytest.raises(InputError, match="periods"):
        stress(other, plan, draws=1)
