"""Periods: parsing, ranges, days, step functions, proration."""

import datetime as dt

import pytest

from chipmix.periods import parse_period, period_of, period_range, step_values, years_from_start


def test_quarter_and_month_parse_and_print():
    q = parse_period("2023Q4")
    assert (q.year, q.index, str(q), q.days) == (2023, 4, "2023Q4", 92)
    m = parse_period("2024-02")
    assert (m.year, m.index, str(m), m.days) == (2024, 2, "2024-02", 29)


@pytest.mark.parametrize("bad", ["2024Q5", "2024Q0", "2024-13", "2024-1", "24Q1", "", "Q1 2024"])
def test_malformed_periods_are_rejected(bad):
    with pytest.raises(ValueError, match="2024Q1"):
        parse_period(bad)


def test_kind_must_match():
    with pytest.raises(ValueError, match="quarter"):
        parse_period("2024-01", kind="Q")


def test_range_and_years():
    periods = period_range(parse_period("2023Q3"), parse_period("2024Q2"))
    assert [str(p) for p in periods] == ["2023Q3", "2023Q4", "2024Q1", "2024Q2"]
    assert years_from_start(periods) == [0.0, 0.25, 0.5, 0.75]
    months = period_range(parse_period("2023-11"), parse_period("2024-01"))
    assert years_from_start(months) == pytest.approx([0, 1 / 12, 2 / 12])


def test_fraction_before_counts_days():
    q = parse_period("2023Q4")
    # 23 Oct 2023: the USG's acceleration notice; Oct 1..22 are 22 of 92 days
    assert q.fraction_before(dt.date(2023, 10, 23)) == pytest.approx(22 / 92)
    assert q.fraction_before(dt.date(2023, 9, 1)) == 0.0
    assert q.fraction_before(dt.date(2024, 1, 1)) == 1.0


def test_step_values_hold_until_next_key_and_default_before():
    periods = period_range(parse_period("2023Q3"), parse_period("2024Q4"))
    points = {parse_period("2023Q4"): 40.0, parse_period("2024Q3"): 90.0}
    assert step_values(points, periods, before=0.0) == [0.0, 40.0, 40.0, 40.0, 90.0, 90.0]
    # a key before the horizon sets the starting value
    assert step_values({parse_period("2020Q1"): 5.0}, periods[:2], before=None) == [5.0, 5.0]


def test_period_of_day():
    assert str(period_of(dt.date(2025, 4, 9), "Q")) == "2025Q2"
    assert str(period_of(dt.date(2025, 4, 9), "M")) == "2025-04"
