"""Rule-language extensions of issue 13: figures known only as a bound, ``us_available``,
``announced``, licences required but not issued (``issued: false``), domestic-share floors,
and pre-release flags."""

from __future__ import annotations

import datetime as dt
import math

import pytest
from test_rules_support import chip, frame

from chipmix.errors import InputError
from chipmix.inputs.catalog import Bound
from chipmix.rules import Timeline, classify, parse_ruleset
from chipmix.rules.conditions import parse_condition
from chipmix.rules.metrics import Interval, derive_metrics
from chipmix.rules.ruleset import Status

D = dt.date
BASE = {"title": "t", "applies_to": ["CN"], "confidence": "press", "sources": ["s"]}


def ruleset(rid: str, effective: str, controls=None, **keys):
    data = {**BASE, "id": rid, "authority": keys.pop("authority", "US"), "effective": effective,
            **keys}
    if controls is not None:
        data["controls"] = controls
    return parse_ruleset(data)


# -- intervals -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("interval", "op", "limit", "expected"),
    [
        (Interval(0, 4800, False, True), ">=", 4800, False),  # < 4800 fails >= 4800
        (Interval(0, 4800, False, True), "<", 4800, True),
        (Interval(0, 4800, False, True), "<", 21000, True),
        (Interval(0, 4800, False, True), ">=", 1600, None),
        (Interval(0, 4800, False, False), "<", 4800, None),  # <= 4800 may equal it
        (Interval(0, 4800, False, False), ">", 4800, False),
        (Interval(1600, math.inf, False, True), ">=", 1600, True),
        (Interval(1600, math.inf, True, True), ">", 1600, True),
        (Interval(1600, math.inf, False, True), ">", 1600, None),
        (Interval(1600, math.inf, False, True), "<", 1600, False),
        (Interval(0, 10, False, True), "==", 20, False),
        (Interval(0, 10, False, True), "!=", 20, True),
        (Interval(0, 10, False, True), "==", 5, None),
    ],
)
def test_interval_decides_a_test_only_when_the_whole_interval_agrees(interval, op, limit,
                                                                      expected):
    assert interval.decide(op, limit) is expected


def test_interval_arithmetic_and_text():
    tpp = Interval.of_bound(Bound("<", 4800))
    area = Interval.point(750)
    pd_ = tpp.divide(area)
    assert (pd_.lo, pd_.hi, pd_.hi_open) == (0.0, 6.4, True)
    assert tpp.text() == "< 4800" and Interval.of_bound(Bound(">=", 1600)).text() == "≥ 1600"
    assert (tpp + Interval.point(128)).text() == "128–4928"
    assert tpp.intersect(Interval(5000, math.inf)) is None
    assert tpp.intersect(Interval(1600, math.inf)).text() == "1600–4800"


def test_derive_metrics_keeps_bounds_and_narrows_them_with_known_figures():
    rows = frame(
        {"id": "a", "bounds": {"tpp": Bound("<", 4800)}, "int8_dense_tops": 300.0,
         "die_area_mm2": 750.0},
        {"id": "b", "bounds": {"memory_bw_tbps": Bound("<", 1.4)}, "memory_bw_tbps": math.nan},
        {"id": "c", "tpp": 2000.0},
    )
    out = derive_metrics(rows)
    a = out.at["a", "metric_bounds"]
    assert math.isnan(out.at["a", "tpp"])
    assert a["tpp"].text() == "2400–4800"  # INT8 300 x 8 is a floor of the true TPP
    assert a["performance_density"].text() == "3.2–6.4"
    assert out.at["b", "metric_bounds"]["memory_bw_gbps"].text() == "< 1400"
    assert out.at["c", "metric_bounds"] is None and out.at["c", "tpp"] == 2000


def test_a_bound_the_throughput_columns_contradict_is_an_input_error():
    rows = frame({"id": "a", "bounds": {"tpp": Bound("<", 4800)}, "int8_dense_tops": 700.0,
                  "catalog": "mine.csv"})
    with pytest.raises(InputError, match=r"catalog mine.csv: SKU a: tpp: contradictory figures; "
                                         r"got '< 4800'.*tpp ≥ 5600"):
        derive_metrics(rows)


def test_conditions_decide_on_bounds_and_say_so():
    rows = derive_metrics(frame({"id": "a", "bounds": {"tpp": Bound("<", 4800)}}))
    row = {**rows.loc["a"].to_dict(), "sku": "a"}
    cond = parse_condition({"tpp": ">= 4800"}, path="when")
    out = cond.evaluate(row, {})
    assert out.value is False and out.facts == ("tpp < 4800 (bound) ⇒ < 4800",)
    out = parse_condition({"tpp": "< 21000"}, path="when").evaluate(row, {})
    assert out.value is True
    out = parse_condition({"tpp": ">= 1600"}, path="when").evaluate(row, {})
    assert out.value is None and out.missing == ("tpp",)
    assert "undecided against ≥ 1600" in out.facts[0]


def test_us_available_condition_is_three_valued():
    cond = parse_condition({"us_available": True}, path="when")
    assert cond.evaluate({"us_available": True}, {}).value is True
    assert cond.evaluate({"us_available": False}, {}).value is False
    unknown = cond.evaluate({"us_available": None}, {})
    assert unknown.value is None and unknown.missing == ("us_available",)
    with pytest.raises(InputError, match="expected true or false"):
        parse_condition({"us_available": "yes"}, path="when")


# -- announced -------------------------------------------------------------------------------


def test_announced_is_optional_and_on_or_before_effective():
    rs = ruleset("r", "2023-11-17", [], announced="2023-10-17")
    assert rs.announced == D(2023, 10, 17) and rs.known_from == D(2023, 10, 17)
    assert rs.to_dict()["announced"] == "2023-10-17"
    plain = ruleset("p", "2023-11-17", [])
    assert plain.announced is None and plain.known_from == D(2023, 11, 17)
    assert ruleset("same", "2023-11-17", [], announced="2023-11-17").announced == D(2023, 11, 17)
    with pytest.raises(InputError, match="announced: got '2023-12-01'; expected a date on or "
                                         "before effective 2023-11-17"):
        ruleset("late", "2023-11-17", [], announced="2023-12-01")
    with pytest.raises(InputError, match="announced: got 'soon'; expected a date YYYY-MM-DD"):
        ruleset("bad", "2023-11-17", [], announced="soon")


# -- licences required and not being issued -----------------------------------------------------


LETTER = [{"id": "letter", "status": "license", "issued": False, "when": {"tpp": ">= 1"}}]
LICENCES = [{"id": "granted", "status": "license", "mode": "relax", "fee": 0.15,
             "when": {"tpp": ">= 1"}}]


def test_issued_false_marks_a_licence_nobody_grants_until_a_relaxation_issues_them():
    sets = [ruleset("letter", "2025-04-09", LETTER), ruleset("granted", "2025-08-08", LICENCES)]
    tl = Timeline(sets, frame(chip("x", 2368)), home="CN", buyer="private")
    before = tl.decide("x", D(2025, 5, 1))
    assert (before.status, before.issued, before.licensable) == (Status.license, False, False)
    assert before.to_dict()["issued"] is False
    after = tl.decide("x", D(2025, 9, 1))
    assert (after.status, after.issued, after.fee) == (Status.license, True, pytest.approx(0.15))
    # the change of issuance alone is a change of terms
    assert [c.day for c in tl.changes("x", D(2025, 1, 1), D(2026, 1, 1))] == [
        D(2025, 4, 9), D(2025, 8, 8)]


def test_any_authority_not_issuing_its_licence_blocks_the_sku():
    us = ruleset("us", "2025-01-01", [{"id": "c", "status": "license", "when": {"tpp": ">= 1"}}])
    cn = ruleset("cn", "2025-01-01", LETTER, authority="CN")
    d = Timeline([us, cn], frame(chip("x", 10)), home="CN", buyer="private").decide("x", D(2025, 6, 1))
    assert (d.status, d.issued) == (Status.license, False)
    assert d.decisive.rule in ("us", "cn")


def test_a_same_level_control_that_stops_issuing_decides():
    rs = ruleset("r", "2025-01-01", [
        {"id": "normal", "status": "license", "when": {"tpp": ">= 1"}},
        {"id": "frozen", "status": "license", "issued": False, "when": {"tpp": ">= 5"}},
    ])
    d = Timeline([rs], frame(chip("x", 10)), home="CN", buyer="private").decide("x", D(2025, 6, 1))
    assert (d.issued, d.decisive.control) == (False, "frozen")


def test_an_undecided_relaxation_that_would_issue_licences_loosens():
    sets = [ruleset("letter", "2025-04-09", LETTER),
            ruleset("granted", "2025-08-08", [{**LICENCES[0], "when": {"die_area_mm2": ">= 1"}}])]
    rows = frame(chip("x", 2368))  # die area unknown: the relaxation is undecided
    strict = Timeline(sets, rows, home="CN", buyer="private").decide("x", D(2025, 9, 1))
    lenient = Timeline(sets, rows, home="CN", buyer="private", unknown_policy="lenient").decide(
        "x", D(2025, 9, 1))
    assert strict.issued is False and lenient.issued is True
    assert strict.unknown == ("die_area_mm2",)


@pytest.mark.parametrize(
    ("control", "expected"),
    [
        ({"id": "c", "status": "denied", "issued": False, "when": {"tpp": ">= 1"}},
         "issued: false only with status license"),
        ({"id": "c", "status": "license", "issued": "no", "when": {"tpp": ">= 1"}},
         "expected true or false"),
    ],
)
def test_bad_issued(control, expected):
    with pytest.raises(InputError, match=expected):
        ruleset("r", "2025-01-01", [control])


# -- domestic-share floors --------------------------------------------------------------------


FLOOR = {"id": "hubs", "floor": 0.5, "of": "fleet", "basis": "units", "buyers": ["state_funded"]}


def test_a_rule_set_may_carry_floors_instead_of_controls():
    rs = ruleset("hubs", "2025-08-17", None, authority="CN", domestic_share=[FLOOR])
    assert rs.controls == () and rs.domestic_share[0].floor == 0.5
    assert rs.domestic_share[0].text() == "≥ 50 % of fleet (units) domestic"
    assert rs.to_dict()["domestic_share"][0]["buyers"] == ["state_funded"]
    defaults = ruleset("d", "2025-08-17", None, domestic_share=[{"id": "x", "floor": 0.3}])
    assert (defaults.domestic_share[0].of, defaults.domestic_share[0].basis) == ("fleet", "units")
    with pytest.raises(InputError, match="controls: missing key"):
        ruleset("none", "2025-01-01", None)


@pytest.mark.parametrize(
    ("floor", "where", "expected"),
    [
        ({"id": "x", "floor": 0}, "floor", "a share in \\(0, 1\\]"),
        ({"id": "x", "floor": 1.5}, "floor", "a share in \\(0, 1\\]"),
        ({"id": "x", "floor": "half"}, "floor", "a share in \\(0, 1\\]"),
        ({"id": "x", "floor": 0.5, "of": "fleets"}, "of", "purchases \\| fleet \\| use.*did you "
                                                          "mean 'fleet'"),
        ({"id": "x", "floor": 0.5, "basis": "spend"}, "basis", "set of: purchases"),
        ({"id": "x", "floor": 0.5, "flor": 1}, "flor", "unknown key.*did you mean 'floor'"),
        ({"floor": 0.5}, "id", "missing key"),
    ],
)
def test_bad_floors_name_the_key(floor, where, expected):
    with pytest.raises(InputError, match=f"domestic_share\\[0\\].{where}: .*{expected}"):
        ruleset("r", "2025-01-01", None, domestic_share=[floor])


def test_duplicate_floor_ids_and_a_non_list():
    with pytest.raises(InputError, match=r"domestic_share\[1\].id: got 'hubs'; expected a unique"):
        ruleset("r", "2025-01-01", None, domestic_share=[FLOOR, FLOOR])
    with pytest.raises(InputError, match="domestic_share: got"):
        ruleset("r", "2025-01-01", None, domestic_share={"floor": 0.5})


def test_floors_follow_dates_buyers_and_replacement():
    hubs = ruleset("hubs", "2025-08-17", None, authority="CN", domestic_share=[FLOOR])
    later = ruleset("later", "2026-01-01", None, authority="CN", replaces=["hubs"],
                    domestic_share=[{**FLOOR, "id": "all", "floor": 0.7, "buyers": None}])
    rows = frame(chip("x", 10))
    state = Timeline([hubs, later], rows, home="CN", buyer="state_funded")
    private = Timeline([hubs, later], rows, home="CN", buyer="private")
    assert state.floors(D(2025, 8, 16)) == []
    (floor,) = state.floors(D(2025, 9, 1))
    assert (floor.rule, floor.floor, floor.of, floor.basis) == ("hubs", 0.5, "fleet", "units")
    assert str(floor) == "hubs / hubs: ≥ 50 % of fleet (units) domestic"
    assert private.floors(D(2025, 9, 1)) == []
    assert [f.floor for f in private.floors(D(2026, 2, 1))] == [0.7]
    segs = state.floor_segments(D(2025, 1, 1), D(2026, 6, 1))
    assert [(a, [f.floor for f in fl]) for a, _, fl in segs] == [
        (D(2025, 1, 1), []), (D(2025, 8, 17), [0.5]), (D(2026, 1, 1), [0.7])]


# -- shared parameters ----------------------------------------------------------------------------


def test_a_parameter_declared_by_two_sets_must_have_one_default():
    a = ruleset("a", "2025-01-01", [{"id": "c", "status": "license",
                                     "when": {"memory_bw_gbps": ">= ${bw}"}}], params={"bw": 1400})
    b = ruleset("b", "2025-02-01", [{"id": "c", "status": "license",
                                     "when": {"memory_bw_gbps": ">= ${bw}"}}], params={"bw": 1700})
    with pytest.raises(InputError, match="parameter 'bw' has default 1400 in rule set 'a'"):
        Timeline([a, b], frame(chip("x", 10)), home="CN", buyer="private")
    same = ruleset("c", "2025-02-01", [], params={"bw": 1400})
    tl = Timeline([a, same], frame(chip("x", 10)), home="CN", buyer="private", params={"bw": 1})
    assert tl._params["a"]["bw"] == tl._params["c"]["bw"] == 1.0  # one override sets both


# -- release flags ----------------------------------------------------------------------------


def test_classify_flags_statuses_dated_before_a_release():
    rows = frame(chip("old", 100, release="2020"), chip("new", 100, release="2025-07"),
                 chip("undated", 100))
    out = classify(rows, rules=[ruleset("r", "2020-01-01", [])], at="2024-01-01").set_index("sku")
    assert out.at["old", "released"] is True
    assert out.at["new", "released"] is False and out.at["new", "release"] == "2025-07"
    assert out.at["undated", "released"] is None
    bounded = frame({"id": "b", "bounds": {"tpp": Bound("<", 4800)}})
    row = classify(bounded, rules=[ruleset("r", "2020-01-01", [])], at="2024-01-01").iloc[0]
    assert row["bounds"] == {"tpp": "< 4800"} and math.isnan(row["tpp"])
