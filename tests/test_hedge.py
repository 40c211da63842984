"""Hedges (issue 11): hand-solved two- and three-stage cases, the one-outcome case, the
checker on every scenario's plan, and the risk measure.

The hand-solved cases use the planner test helpers (``helpers.py``): cards of 1 PFLOPS at
efficiency 1, one card per server, no energy cost, no discounting, no lead time, so a
scenario's cost is the sum of the prices it pays.
"""

from __future__ import annotations

import math

import pytest
from helpers import assert_verified, make_scenario, planner_sku, train

import chipmix
from chipmix.hedging.extensive import cvar
from chipmix.inputs.scenario import Scenario
from chipmix.present.hedge_text import hedge_words

EXACT = {"gap": 0.0}


def units(plan, sku: str | None = None) -> dict[str, float]:
    """Units bought per period (of one SKU, or of every SKU)."""
    p = plan.purchases
    if sku is not None:
        p = p[p["sku"] == sku]
    return {str(k): float(v) for k, v in p.groupby("period")["units"].sum().items()}


def by_name(h):
    return {r.name: r for r in h.results}


def assert_every_plan_verified(h):
    for r in h.results:
        assert_verified(r.plan, r.scenario)


def two_stage(folder, p_ban: float, **keys):
    """Demand 10 then 20 PFLOPS; ``ca`` costs 1000 then 800, ``cb`` 1500; with probability
    ``p_ban`` ``ca`` cannot be bought in 2024Q2, known from 2024Q2 (see the test below)."""
    uncertainty = {"events": [{"name": "ban", "known_from": "2024Q2", "outcomes": [
        {"name": "no", "probability": 1 - p_ban},
        {"name": "yes", "probability": p_ban, "set": {"supply.ca.2024Q2": 0}}]}], **keys}
    return make_scenario(
        folder, [planner_sku("ca", vendor="A"), planner_sku("cb", vendor="B")],
        [train({"2024Q1": 10, "2024Q2": 20})],
        horizon={"start": "2024Q1", "end": "2024Q2"},
        supply={"ca": 100},
        prices={"ca": {"2024Q1": 1000, "2024Q2": 800}, "cb": 1500},
        uncertainty=uncertainty)


def test_two_stage_by_hand(tmp_path, planner_solver):
    """With x units of ``ca`` bought in 2024Q1 (10 ≤ x ≤ 20):
    no ban 1000x + 800(20 − x), ban 1000x + 1500(20 − x).
    p = 1/2: E = 1000x + 1150(20 − x) falls in x, so the hedge buys x = 20 now: 20,000 in
    both scenarios. With hindsight: 18,000 (no ban: 10 now, 10 later) and 20,000 (ban):
    WS = 19,000, EVPI = 1,000. The base scenario's plan buys 10 now; re-planned it costs
    18,000 and 25,000 (10 ``cb`` at 1500): 21,500, so hedging is worth 1,500.
    """
    h = chipmix.hedge(two_stage(tmp_path, 0.5), solver=planner_solver, **EXACT)
    assert h.status.value == "optimal"
    assert h.here_and_now.to_dict("records") == [
        {"period": "2024Q1", "sku": "ca", "servers": 20, "units": 20}]
    s = by_name(h)
    assert set(s) == {"ban=no", "ban=yes"}
    for r in s.values():
        assert units(r.plan) == {"2024Q1": 20}
        assert r.cost == pytest.approx(20_000)
    assert h.expected_cost == pytest.approx(20_000)
    assert h.objective == pytest.approx(20_000)
    assert s["ban=no"].wait_and_see == pytest.approx(18_000)
    assert s["ban=yes"].wait_and_see == pytest.approx(20_000)
    assert h.wait_and_see == pytest.approx(19_000)
    assert h.evpi == pytest.approx(1_000)
    assert s["ban=no"].deterministic == pytest.approx(18_000)
    assert s["ban=yes"].deterministic == pytest.approx(25_000)
    assert h.deterministic["expected_cost"] == pytest.approx(21_500)
    assert h.value_of_hedging == pytest.approx(1_500)
    assert_every_plan_verified(h)


def test_two_stage_unlikely_ban_needs_no_hedge(tmp_path):
    """p = 0.2 < 2/7: the hedge buys x = 10 now, like the base plan (value of hedging 0);
    E = 0.8·18,000 + 0.2·25,000 = 19,400; CVaR_0.8 = 25,000 (the ban)."""
    h = chipmix.hedge(two_stage(tmp_path, 0.2), **EXACT)
    assert h.here_and_now["units"].sum() == 10
    text = "\n".join(hedge_words(h))
    assert "If ban = yes (p = 0.2): switch to cb from 2024Q2 (10 units)" in text
    assert "If ban = no (p = 0.8): buy 10 more ca (2024Q2)" in text
    s = by_name(h)
    assert units(s["ban=no"].plan, "ca") == {"2024Q1": 10, "2024Q2": 10}
    assert units(s["ban=yes"].plan, "cb") == {"2024Q2": 10}
    assert h.expected_cost == pytest.approx(19_400)
    assert h.value_of_hedging == pytest.approx(0, abs=1e-6)
    assert cvar(h.costs_by_scenario, h.probabilities, 0.8) == pytest.approx(25_000)


def test_cvar_weight_buys_insurance(tmp_path):
    """p = 0.2, alpha = 0.8: x units now cost (1 − ω)·(19,400 + ... ) — by hand the objective
    is 19,400 + 5,600ω at x = 10 and 20,000 at x = 20 (both scenarios), so from ω > 0.107 the
    hedge buys 20 now; its CVaR falls from 25,000 to 20,000, its expected cost rises."""
    scenario = two_stage(tmp_path, 0.2, risk={"alpha": 0.8, "weight": 0.5})
    h = chipmix.hedge(scenario, **EXACT)
    assert (h.weight, h.alpha) == (0.5, 0.8)
    assert h.here_and_now["units"].sum() == 20
    assert h.cvar == pytest.approx(20_000)
    assert h.expected_cost == pytest.approx(20_000)
    assert h.objective == pytest.approx(20_000)
    low = chipmix.hedge(scenario, weight=0.05, **EXACT)
    assert low.here_and_now["units"].sum() == 10
    assert low.objective == pytest.approx(0.95 * 19_400 + 0.05 * 25_000)


def three_stage(folder):
    """Demand 10, 20, 30 PFLOPS over 2024Q1-Q3; ``ca`` at 1000, 900, 800; ``cb`` at 1500
    then 1400 from 2024Q3. Event ``early`` (known from 2024Q2, p = 0.1): ``ca`` cannot be
    bought from 2024Q2; event ``late`` (known from 2024Q3, p = 0.5): not from 2024Q3."""
    events = [
        {"name": "early", "known_from": "2024Q2", "outcomes": [
            {"name": "no", "probability": 0.9},
            {"name": "ban", "probability": 0.1, "set": {"supply.ca.2024Q2": 0}}]},
        {"name": "late", "known_from": "2024Q3", "outcomes": [
            {"name": "no", "probability": 0.5},
            {"name": "ban", "probability": 0.5, "set": {"supply.ca.2024Q3": 0}}]},
    ]
    return make_scenario(
        folder, [planner_sku("ca", vendor="A"), planner_sku("cb", vendor="B")],
        [train({"2024Q1": 10, "2024Q2": 20, "2024Q3": 30})],
        horizon={"start": "2024Q1", "end": "2024Q3"},
        supply={"ca": 100},
        prices={"ca": {"2024Q1": 1000, "2024Q2": 900, "2024Q3": 800},
                "cb": {"2024Q1": 1500, "2024Q3": 1400}},
        uncertainty={"events": events})


def test_three_stage_by_hand(tmp_path, planner_solver):
    """x = ``ca`` bought in Q1, y = ``ca`` bought in Q2 when ``early`` = no (shared by both
    ``late`` outcomes: they look alike in Q2).

    early = ban: 1000x + 1500(20 − x) + 1400·10 = 44,000 − 500x (10 ≤ x ≤ 20).
    early = no: Q3 costs 800 (late = no) or 1400 (ban), 1100 expected > 900, so y = 30 − x:
    27,000 + 100x. E = 0.9(27,000 + 100x) + 0.1(44,000 − 500x) = 28,700 + 40x: x = 10,
    E = 29,100; scenario costs 28,000 (early = no, either late) and 39,000 (early = ban).
    Non-anticipativity shows in early = no, late = no: with hindsight it would buy 10 in Q2
    and 10 in Q3 at 800 (27,000), but in Q2 it cannot tell itself from late = ban.
    WS = 0.45·27,000 + 0.45·28,000 + 0.1·30,000 = 27,750; EVPI = 1,350.
    """
    h = chipmix.hedge(three_stage(tmp_path), solver=planner_solver, **EXACT)
    assert h.status.value == "optimal"
    assert [h.periods[t] for t in h.here_and_now_periods] == ["2024Q1"]
    assert h.here_and_now["units"].sum() == 10
    s = by_name(h)
    assert set(s) == {"early=no,late=no", "early=no,late=ban", "early=ban,late=no",
                      "early=ban,late=ban"}
    for name in ("early=no,late=no", "early=no,late=ban"):
        assert units(s[name].plan) == {"2024Q1": 10, "2024Q2": 20}  # the same Q2 decision
        assert s[name].cost == pytest.approx(28_000)
    for name in ("early=ban,late=no", "early=ban,late=ban"):
        assert units(s[name].plan, "ca") == {"2024Q1": 10}
        assert units(s[name].plan, "cb") == {"2024Q2": 10, "2024Q3": 10}
        assert s[name].cost == pytest.approx(39_000)
    assert s["early=no,late=no"].probability == pytest.approx(0.45)
    assert h.expected_cost == pytest.approx(29_100)
    assert s["early=no,late=no"].wait_and_see == pytest.approx(27_000)
    assert s["early=no,late=ban"].wait_and_see == pytest.approx(28_000)
    assert s["early=ban,late=ban"].wait_and_see == pytest.approx(30_000)
    assert h.wait_and_see == pytest.approx(27_750)
    assert h.evpi == pytest.approx(1_350)
    # the base plan (no bans) buys 10 in Q1 too: re-planned it is the hedge
    assert h.deterministic["expected_cost"] == pytest.approx(29_100)
    assert h.value_of_hedging == pytest.approx(0, abs=1e-6)
    assert_every_plan_verified(h)


def test_one_outcome_is_the_deterministic_plan(tmp_path):
    """An uncertainty with one sure outcome hedges nothing: the plan of that scenario."""
    events = [{"name": "sure", "known_from": "2024Q2", "outcomes": [
        {"name": "it", "probability": 1.0, "set": {"supply.ca.2024Q2": 5}}]}]
    scenario = make_scenario(
        tmp_path, [planner_sku("ca", vendor="A"), planner_sku("cb", vendor="B")],
        [train({"2024Q1": 10, "2024Q2": 20})],
        horizon={"start": "2024Q1", "end": "2024Q2"}, supply={"ca": 100},
        prices={"ca": {"2024Q1": 1000, "2024Q2": 800}, "cb": 1500},
        uncertainty={"events": events})
    h = chipmix.hedge(scenario)
    (only,) = h.results
    direct = chipmix.plan(only.scenario)
    assert only.plan.to_json() == direct.to_json()
    assert h.objective == direct.objective
    assert h.evpi == pytest.approx(0, abs=1e-9)
    assert len(h.here_and_now) == len(direct.purchases)


def test_json_is_deterministic_and_follows_formats(tmp_path):
    import json

    scenario = two_stage(tmp_path, 0.5)
    a, b = chipmix.hedge(scenario).to_json(), chipmix.hedge(scenario).to_json()
    assert a == b
    d = json.loads(a)
    for key in ("scenario", "status", "objective", "risk", "expected_cost", "cvar",
                "here_and_now", "scenarios", "wait_and_see", "evpi", "deterministic",
                "value_of_hedging", "solver"):
        assert key in d
    assert list(d)[:13] == ["scenario", "status", "objective", "risk", "expected_cost", "cvar",
                            "here_and_now", "scenarios", "wait_and_see", "evpi",
                            "deterministic", "value_of_hedging", "solver"]
    assert d["here_and_now"] == [{"period": "2024Q1", "sku": "ca", "servers": 20, "units": 20}]
    scen = d["scenarios"][1]
    assert scen["name"] == "ban=yes" and scen["outcomes"] == {"ban": "yes"}
    assert scen["probability"] == 0.5 and scen["cost"] == 20000.0
    assert set(d["deterministic"]) >= {"expected_cost", "here_and_now"}
    assert set(d["solver"]) >= {"name", "gap", "variables", "constraints", "integers"}
    assert "seconds" not in d["solver"] and "timings" not in d
    assert math.isclose(d["evpi"], d["expected_cost"] - d["wait_and_see"])


def test_summary_in_a_planners_words(tmp_path):
    h = chipmix.hedge(two_stage(tmp_path, 0.5), **EXACT)
    text = "\n".join(hedge_words(h))
    assert "Buy now, before 2024Q2" in text and "20 ca (2024Q1)" in text
    assert ("Hedging costs $2,000 more than the base plan where its bet holds "
            "(p = 0.5: ban = no) and saves $5,000 where it does not (p = 0.5: ban = yes)"
            in text)


def test_cvar_of_a_discrete_distribution():
    assert cvar([10, 20, 30, 40], [0.25] * 4, 0.5) == pytest.approx(35)
    assert cvar([10, 20, 30, 40], [0.25] * 4, 0.6) == pytest.approx((0.15 * 30 + 0.25 * 40)
                                                                     / 0.4)
    assert cvar([5, 7], [0.5, 0.5], 0.0) == pytest.approx(6)


def test_scenarios_with_the_same_recourse_share_a_line(tmp_path):
    """A second event that changes nothing the plan uses (``cb``'s supply 100 or 50; 10 are
    needed): four scenarios, but the advice has two recourse lines, one per ban outcome, and
    with p = 1/2 (the hedge buys everything now) one for every scenario."""
    calm = {"name": "cb-supply", "known_from": "2024Q2", "outcomes": [
        {"name": "full", "probability": 0.5},
        {"name": "half", "probability": 0.5, "set": {"supply.cb": 50}}]}
    scenario = two_stage(tmp_path, 0.2)
    data = scenario.to_dict()
    data["uncertainty"]["events"].append(calm)
    h = chipmix.hedge(Scenario.from_dict(data, base_dir=scenario.base_dir), **EXACT)
    assert len(h.results) == 4
    lines = [line for line in hedge_words(h) if line.startswith(("If ", "Whatever"))]
    assert lines == ["If ban = no (p = 0.8): buy 10 more ca (2024Q2); cost $18,000.",
                     "If ban = yes (p = 0.2): switch to cb from 2024Q2 (10 units); "
                     "cost $25,000."]
    h = chipmix.hedge(two_stage(tmp_path, 0.5), **EXACT)
    assert "Whatever happens (p = 1): buy nothing more; cost $20,000." in hedge_words(h)
