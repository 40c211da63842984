"""Sampled hedges (issue 11): scenarios drawn from ``risks:``, two-stage at the reveal
period, identical draws merged, every draw's plan checked, and the out-of-sample figures."""

from __future__ import annotations

import json

import pytest
from helpers import assert_verified, make_scenario, planner_sku, train

import chipmix
from chipmix.errors import InputError
from chipmix.hedging.sampled import base_supply, sampled_scenarios, shocked
from chipmix.insight.stress import Shock


def risky(folder, **risks):
    """The two-stage case of test_hedge.py with the ban as a risk: ``ca`` revoked from
    2024Q2 with probability 1/2."""
    return make_scenario(
        folder, [planner_sku("ca", vendor="A"), planner_sku("cb", vendor="B")],
        [train({"2024Q1": 10, "2024Q2": 20})],
        horizon={"start": "2024Q1", "end": "2024Q2"}, supply={"ca": 100},
        prices={"ca": {"2024Q1": 1000, "2024Q2": 800}, "cb": 1500},
        risks=risks or {"revoke": {"ca": {"probability": 0.5, "from": "2024Q2"}}})


def test_draws_become_scenarios(tmp_path):
    s = risky(tmp_path)
    sampled = sampled_scenarios(s, draws=12, seed=3)
    assert sampled.reveal == 1  # the first period the revocation can strike
    # only two distinct draws: revoked or not; their probabilities are their shares
    assert len(sampled.tree) == 2
    assert sum(sampled.tree.probabilities) == pytest.approx(1.0)
    assert sorted(len(m) for m in sampled.members) == sorted(
        round(p * 12) for p in sampled.tree.probabilities)
    revoked = [sc for sc, text in zip(sampled.scenarios, sampled.shocks, strict=True) if text]
    (one,) = revoked
    assert {str(k): v for k, v in one.supply["ca"].items()} == {"2024Q1": 100.0,
                                                                "2024Q2": 0.0}


def test_sampled_hedge_by_hand(tmp_path):
    """With p the share of revoked draws, the hedge buys 20 ``ca`` now when p > 2/7
    (test_hedge.py); in sample the cost is 20,000 in every draw."""
    s = risky(tmp_path)
    h = chipmix.hedge(s, draws=12, seed=3, test_draws=20, gap=0.0)
    p_revoked = next(p for p, text in zip(h.tree.probabilities,
                                          [x["shocks"] for x in h.sampled["shocks"]],
                                          strict=True) if text)
    assert p_revoked > 2 / 7
    assert h.here_and_now["units"].sum() == 20
    assert h.expected_cost == pytest.approx(20_000)
    d = h.sampled
    assert d["reveal"] == "2024Q2" and d["draws"] == 12 and d["test_draws"] == 20
    assert d["in_sample_cost"] == pytest.approx(20_000)
    assert d["out_of_sample_cost"] == pytest.approx(20_000)  # 20 now covers every draw
    # the base plan buys 10 now: 18,000 or 25,000 out of sample, never better
    assert d["deterministic_out_of_sample_cost"] > d["out_of_sample_cost"]
    for r in h.results:
        assert_verified(r.plan, r.scenario)
    a = chipmix.hedge(s, draws=12, seed=3, test_draws=20, gap=0.0).to_json()
    assert a == h.to_json()
    assert json.loads(a)["sampled"]["shocks"][0]["draws"] >= 1


def test_reveal_and_errors(tmp_path):
    s = risky(tmp_path)
    early = sampled_scenarios(s, draws=4, seed=0, reveal="2024Q1")
    assert early.reveal == 0
    assert any("nothing is decided before" in n for n in early.notes)
    with pytest.raises(InputError, match="--reveal"):
        sampled_scenarios(s, draws=4, reveal="2026Q1")
    with pytest.raises(InputError, match="--draws"):
        sampled_scenarios(s, draws=0)
    plain = make_scenario(tmp_path, [planner_sku("ca", vendor="A")], [train(5)])
    with pytest.raises(InputError, match="no risks: block"):
        chipmix.hedge(plain, draws=3)


def test_shocks_act_on_the_supply_assumption(tmp_path):
    s = risky(tmp_path)
    frame = s.load_catalog().frame
    assert base_supply(s, frame, "ca") == [100.0, 100.0]
    assert base_supply(s, frame, "cb") == [float("inf")] * 2  # no figure: unlimited
    half = shocked(s, [Shock("ca", 1, 0.5, ""), Shock("cb", 1, 0.0, "")], "x")
    assert {str(k): v for k, v in half.supply["ca"].items()} == {"2024Q1": 100.0,
                                                                 "2024Q2": 50.0}
    assert {str(k): v for k, v in half.supply["cb"].items()} == {"2024Q2": 0.0}
    assert half.name == "x" and s.supply.get("cb") is None
