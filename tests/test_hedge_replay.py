"""Foresight replay (issue 11): a hand-solved case of a rule learnt late, early, or with a
short warning, and the value of its announcement window."""

from __future__ import annotations

import json

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
from chipmix.hedging.replay import replay, steps_of
from chipmix.present.hedge_text import replay_words

BAN = planner_rule("ban-a", "2024-02-15", "  - id: a out\n    status: denied\n"
                   "    when: {sku: [ca]}\n")


def scenario(folder):
    """Demand 10 PFLOPS in 2024Q1, 30 from 2024Q2; ``ca`` at 1000 then 900 (100 a quarter),
    ``cb`` at 1500 then 1400. Rule ``ban-a`` denies ``ca`` from 15 Feb 2024 (mid-Q1).

    Perfect foresight buys 30 ``ca`` in Q1 before the ban (49 deliverable: 45 of 91 days):
    30,000. Not warned, a myopic buyer plans 10 ``ca`` now and 20 at 900 in Q2; on 15 Feb
    it learns the ban with 10 ``ca`` bought and must buy 20 ``cb`` in Q2: 38,000, regret
    8,000. Warned on 20 Jan, it buys 20 more ``ca`` in [20 Jan, 15 Feb) (26 days: 28
    deliverable): 30,000 — the warning is worth 8,000. Warned on 10 Feb, 5 days deliver 5
    ``ca``: 15 ``ca`` + 15 ``cb`` = 36,000, a warning worth 2,000.
    """
    rules = write_planner_rules(folder, BAN)
    return make_scenario(
        folder, [planner_sku("ca", vendor="A"), planner_sku("cb", vendor="B")],
        [train({"2024Q1": 10, "2024Q2": 30})],
        horizon={"start": "2024Q1", "end": "2024Q2"}, rules=[str(rules)],
        supply={"ca": 100},
        prices={"ca": {"2024Q1": 1000, "2024Q2": 900}, "cb": {"2024Q1": 1500, "2024Q2": 1400}})


def test_myopic_replay_by_hand(tmp_path, planner_solver):
    s = scenario(tmp_path)
    r = replay(s, solver=planner_solver, gap=0.0)
    assert r.perfect_foresight == pytest.approx(30_000)
    assert r.objective == pytest.approx(38_000)
    assert r.regret == pytest.approx(8_000)
    bought = {(p.period, p.sku): p.units for p in r.purchases.itertuples()}
    assert bought == {("2024Q1", "ca"): 10, ("2024Q2", "cb"): 20}
    assert [(st["period"], st["date"]) for st in r.steps] == [
        ("2024Q1", "2024-01-01"), ("2024Q1", "2024-02-15"), ("2024Q2", "2024-04-01")]
    assert r.steps[0]["rules_known"] == [] and r.steps[1]["rules_known"] == ["ban-a"]
    assert r.windows == []  # the rule carries no warning
    assert_verified(r.plan, s)


def test_warning_window_is_worth_what_it_lets_buy(tmp_path):
    s = scenario(tmp_path)
    early = replay(s, gap=0.0, announced={"ban-a": "2024-01-20"})
    assert early.objective == pytest.approx(30_000)
    assert early.regret == pytest.approx(0, abs=1e-6)
    (window,) = early.windows
    assert window["rule"] == "ban-a" and window["warning_days"] == 26
    assert window["without_warning"] == pytest.approx(38_000)
    assert window["value"] == pytest.approx(8_000)
    short = replay(s, gap=0.0, announced={"ban-a": "2024-02-10"})
    assert short.objective == pytest.approx(36_000)
    assert short.windows[0]["value"] == pytest.approx(2_000)
    assert_verified(short.plan, s)
    text = "\n".join(replay_words(short))
    assert "knowing it 5 days early was worth $2,000" in text


def test_perfect_foresight_is_the_plan(tmp_path):
    s = scenario(tmp_path)
    r = replay(s, "perfect")
    assert r.objective == chipmix.plan(s).objective and r.regret == 0


def test_replay_json_follows_formats(tmp_path):
    d = json.loads(replay(scenario(tmp_path), gap=0.0, announced={"ban-a": "2024-01-20"})
                   .to_json())
    assert list(d)[:8] == ["scenario", "foresight", "status", "objective",
                           "perfect_foresight", "regret", "purchases", "steps"]
    assert d["foresight"] == "myopic" and d["regret"] == 0.0
    assert set(d["purchases"][0]) == {"period", "sku", "servers", "units", "unit_price",
                                      "spend"}
    assert set(d["steps"][0]) >= {"period", "rules_known", "planned_cost"}
    assert "timings" not in d


def test_bad_announcement_override(tmp_path):
    s = scenario(tmp_path)
    with pytest.raises(InputError, match="unknown rule set"):
        replay(s, announced={"ban-b": "2024-01-20"})
    with pytest.raises(InputError, match="on or before its effective date"):
        replay(s, announced={"ban-a": "2024-03-01"})
    with pytest.raises(InputError, match="myopic or perfect"):
        replay(s, "hindsight")


def test_steps_are_period_starts_and_announcements():
    import datetime as dt

    from chipmix.hedging.replay import RuleDates
    from chipmix.periods import parse_period, period_range

    periods = period_range(parse_period("2023Q3"), parse_period("2024Q1"))
    dates = [RuleDates("r", dt.date(2023, 10, 17), dt.date(2023, 11, 17), dt.date(2023, 10, 17)),
             RuleDates("q", dt.date(2024, 1, 1), dt.date(2024, 1, 1), None)]
    assert steps_of(periods, dates) == [(0, dt.date(2023, 7, 1)), (1, dt.date(2023, 10, 1)),
                                        (1, dt.date(2023, 10, 17)), (2, dt.date(2024, 1, 1))]
