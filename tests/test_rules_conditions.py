"""The condition language: parsing, three-valued evaluation, readable facts, errors."""

from __future__ import annotations

import math

import pytest

from chipmix.errors import InputError
from chipmix.rules import parse_condition


def cond(data, params=None):
    return parse_condition(data, path="when", file="t.yaml", params=params or {})


def ev(data, row, params=None):
    return cond(data, params).evaluate(row, params or {})


T = {"tpp": ">= 10"}  # true on ROW
F = {"tpp": "< 10"}  # false on ROW
U = {"die_area_mm2": ">= 1"}  # unknown on ROW
ROW = {"tpp": 20.0, "die_area_mm2": math.nan, "sku": "x", "buyer": "private"}


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"all": [T, T]}, True),
        ({"all": [T, F]}, False),
        ({"all": [T, U]}, None),
        ({"all": [F, U]}, False),  # one false part decides an all
        ({"any": [F, F]}, False),
        ({"any": [T, U]}, True),  # one true part decides an any
        ({"any": [F, U]}, None),
        ({"not": T}, False),
        ({"not": U}, None),
        ({"not": {"any": [F, U]}}, None),
        ({"not": {"all": [F, U]}}, True),
        (U, None),
    ],
)
def test_kleene_three_valued_logic(data, expected):
    assert ev(data, ROW).value is expected


def test_unknown_names_the_missing_column_even_for_derived_metrics():
    out = ev(
        {"performance_density": ">= 5.92"},
        {"tpp": 2000.0, "performance_density": math.nan, "die_area_mm2": math.nan},
    )
    assert out.value is None
    assert out.missing == ("die_area_mm2",)
    assert out.facts == ("die_area_mm2 unknown",)


def test_facts_show_the_values_that_decided():
    out = ev(
        {"all": [{"datacenter": True}, {"tpp": ">= 4800"}]}, {"datacenter": True, "tpp": 4992.0}
    )
    assert out.value is True
    assert out.facts == ("datacenter", "tpp 4992 ≥ 4800")
    out = ev({"tpp": ">= 4800"}, {"tpp": 4707.2})
    assert out.facts == ("tpp 4707.2 < 4800",)


def test_any_explains_with_its_first_true_part():
    out = ev({"any": [{"tpp": ">= 4800"}, {"tpp": ">= 1600"}]}, {"tpp": 5000.0})
    assert out.facts == ("tpp 5000 ≥ 4800",)


@pytest.mark.parametrize(
    ("op", "value", "expected"),
    [
        (">=", 4800, True),
        (">", 4800, False),
        ("<=", 4800, True),
        ("<", 4800, False),
        ("==", 4800, True),
        ("!=", 4800, False),
        ("≥", 4800, True),
        (">=", 4800.5, False),
    ],
)
def test_comparison_operators(op, value, expected):
    assert ev({"tpp": f"{op} {value}"}, {"tpp": 4800.0}).value is expected


def test_bare_number_is_equality_and_bool_and_text_tests():
    assert ev({"tpp": 4800}, {"tpp": 4800.0}).value is True
    assert ev({"datacenter": False}, {"datacenter": True}).value is False
    assert ev({"vendor": "nvidia"}, {"vendor": "Nvidia"}).value is True  # no case
    assert ev({"origin": "!= CN"}, {"origin": "US"}).value is True
    assert ev({"origin": "!= CN"}, {"origin": "CN"}).value is False
    assert ev({"sku": ["a", "b"]}, {"sku": "b"}).value is True
    assert ev({"buyer": ["soe", "state_funded"]}, {"buyer": "private"}).value is False
    assert ev({"datacenter": True}, {"datacenter": None}).value is None
    assert ev({"datacenter": True}, {"datacenter": "no"}).value is False  # a raw CSV text
    assert ev({"datacenter": True}, {"datacenter": "maybe"}).value is None


def test_several_keys_in_one_mapping_mean_all():
    c = cond({"datacenter": True, "tpp": ">= 4800"})
    assert c.evaluate({"datacenter": True, "tpp": 5000.0}, {}).value is True
    assert c.evaluate({"datacenter": False, "tpp": 5000.0}, {}).value is False


def test_parameter_threshold():
    data = {"memory_bw_gbps": ">= ${h20_bw}"}
    assert ev(data, {"memory_bw_gbps": 1500.0}, {"h20_bw": 1400.0}).value is True
    assert ev(data, {"memory_bw_gbps": 1500.0}, {"h20_bw": 1700.0}).value is False
    out = ev(data, {"memory_bw_gbps": 1500.0}, {"h20_bw": 1400.0})
    assert out.facts == ("memory_bw_gbps 1500 ≥ 1400 (h20_bw)",)


def test_text_rendering():
    c = cond(
        {
            "all": [
                {"datacenter": True},
                {
                    "any": [
                        {"tpp": ">= 4800"},
                        {"all": [{"tpp": ">= 1600"}, {"performance_density": ">= 5.92"}]},
                    ]
                },
                {"not": {"buyer": ["soe"]}},
            ]
        }
    )
    assert c.text() == (
        "datacenter and (tpp ≥ 4800 or (tpp ≥ 1600 and performance_density ≥ 5.92)) and buyer ≠ soe"
    )


def test_parser_never_evaluates_code():
    with pytest.raises(InputError):
        cond({"tpp": ">= __import__('os').getcwd()"})


@pytest.mark.parametrize(
    ("data", "location", "needle"),
    [
        ({"all": [{"tpp": ">= 1"}, {"tpp": "about 4800"}]}, "when.all[1].tpp", "comparison like"),
        ({"tpp": "=> 4800"}, "when.tpp", "comparison like"),
        (
            {"performance_densty": ">= 5.92"},
            "when.performance_densty",
            "did you mean 'performance_density'",
        ),
        ({"datacenter": "yes"}, "when.datacenter", "true or false"),
        ({"origin": False}, "when.origin", "quote country codes"),
        ({"all": []}, "when.all", "non-empty list"),
        ({"tpp": ">= ${nope}"}, "when.tpp", "unknown parameter 'nope'"),
        ("tpp >= 4800", "when", "a condition"),
    ],
)
def test_errors_name_file_key_path_and_expectation(data, location, needle):
    with pytest.raises(InputError) as info:
        cond(data)
    message = str(info.value)
    assert message.startswith("t.yaml: " + location)
    assert needle in message
