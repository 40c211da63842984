"""The timeline: 3A090 band edges, Note 2, the 2022 I/O test, relax, replacement, unknowns,
parameters, buyers, segments — on hand-built rows and the reference accelerators."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from test_rules_support import chip, fixture_frame, frame

from chipmix.errors import InputError
from chipmix.inputs.catalog import load_catalogs
from chipmix.periods import Period, period_range
from chipmix.rules import Status, Timeline, bundled_rulesets, load_rulesets, parse_ruleset

D = dt.date
JAN_2024 = D(2024, 1, 1)


def status_2023_10(*rows, day=JAN_2024) -> dict[str, Status]:
    tl = Timeline(load_rulesets(["us-2023-10"]), frame(*rows), home="CN", buyer="private")
    return {sku: tl.decide(sku, day).status for sku in tl.skus}


def one(row, day=JAN_2024) -> Status:
    return status_2023_10(row, day=day)[row["id"]]


A, B, OUT = Status.denied, Status.notify, Status.allowed

# (tpp, performance density, expected status of a datacenter part under 3A090 as of Nov 2023)
BAND_EDGES = [
    # a.1: TPP >= 4800 (PD low enough to be in no .b band)
    (4799.9, 1.0, OUT),
    (4800, 1.0, A),
    (4800.1, 1.0, A),
    # a.2: TPP >= 1600 and PD >= 5.92
    (1599, 5.92, OUT),
    (1600, 5.92, A),
    (1776, 5.92, A),
    (1600, 5.91, B),  # falls to b.2
    (1600, 5.93, A),
    # b.1: 2400 <= TPP < 4800 and 1.6 <= PD < 5.92
    (2399, 1.6, OUT),
    (2400, 1.6, B),
    (2401, 1.6, B),
    (2400, 1.59, OUT),
    (2400, 1.61, B),
    (4799, 5.91, B),
    (4800, 5.91, A),  # a.1 takes over at 4800
    (4799, 5.92, A),  # a.2 takes over at PD 5.92
    # b.2: TPP >= 1600 and 3.2 <= PD < 5.92
    (1599, 3.2, OUT),
    (1600, 3.2, B),
    (1600, 3.19, OUT),
    (1600, 3.21, B),
    (2000, 5.91, B),
    (6000, 4.0, A),  # a.1 wins over b.2
]


@pytest.mark.parametrize(("tpp", "pd_", "expected"), BAND_EDGES)
def test_3a090_band_edges_for_datacenter_parts(tpp, pd_, expected):
    row = chip("x", tpp, pd_)
    if pd_ in (1.6, 3.2, 5.92):  # the edge itself must be hit exactly
        assert tpp / row["die_area_mm2"] == pd_
    assert one(row) is expected


def test_bis_worked_example_meets_the_threshold_exactly():
    got = status_2023_10(
        {"id": "int8", "int8_dense_tops": 600.0, "die_area_mm2": 2000.0},
        {"id": "fp16", "fp16_dense_tflops": 300.0, "die_area_mm2": 2000.0},
        {"id": "below", "int8_dense_tops": 599.0, "die_area_mm2": 4000.0},  # PD 1.2: no band
    )
    assert got == {"int8": Status.denied, "fp16": Status.denied, "below": Status.allowed}


@pytest.mark.parametrize(
    ("tpp", "pd_", "expected"),
    [
        (4799.9, 9.0, Status.allowed),
        (4800, 9.0, Status.license),
        (3000, 4.0, Status.allowed),
        (2000, 8.0, Status.allowed),
    ],
)
def test_note_2_consumer_parts_are_controlled_only_from_tpp_4800(tpp, pd_, expected):
    assert one(chip("gaming", tpp, pd_, datacenter=False)) is expected


def test_note_2_on_the_reference_gaming_cards():
    tl = Timeline(load_rulesets(), fixture_frame(), home="CN", buyer="private")
    day = D(2024, 1, 1)
    assert tl.decide("nvidia-rtx-4090", day).status is Status.license
    assert tl.decide("nvidia-rtx-4090d", day).status is Status.allowed
    assert tl.decide("nvidia-rtx-4080", day).status is Status.allowed  # PD 8.2 but TPP 3120
    reason = tl.decide("nvidia-rtx-4090", day).decisive
    assert (reason.rule, reason.control) == ("us-2023-10", "3A090.a consumer (NAC)")
    assert "tpp 5284.8 ≥ 4800" in reason.detail


def test_2022_rule_io_test_a800_allowed_a100_denied():
    tl = Timeline(load_rulesets(), fixture_frame(), home="CN", buyer="private")
    day = D(2023, 6, 1)
    a100, a800 = tl.decide("nvidia-a100", day), tl.decide("nvidia-a800", day)
    assert a800.status is Status.allowed  # 400 NVLink + 64 PCIe = 464 < 600
    assert a100.status is Status.denied  # 600 + 64 = 664 >= 600
    assert str(a100.decisive) == "us-2022-10 / 3A090.a (2022): tpp 4992 ≥ 4800, io_gbps 664 ≥ 600"


@pytest.mark.parametrize(("io", "expected"), [(599.9, Status.allowed), (600, Status.denied)])
def test_2022_io_edge(io, expected):
    tl = Timeline(
        load_rulesets(["us-2022-10"]),
        frame(chip("x", 5000, interconnect_gbps=io)),
        home="CN",
        buyer="private",
    )
    assert tl.decide("x", D(2023, 1, 1)).status is expected


def test_relax_h200_in_feb_2026_needs_a_licence_with_a_25_percent_fee():
    tl = Timeline(load_rulesets(), fixture_frame(), home="CN", buyer="private")
    d = tl.decide("nvidia-h200", D(2026, 2, 15))
    assert d.status is Status.license
    assert d.fee == pytest.approx(0.25)
    assert d.cap is None
    assert d.decisive.rule == "us-2026-01-case-by-case"
    # the denial it relaxed is still among the reasons
    assert any(r.rule == "us-2023-10" and r.status is Status.denied for r in d.reasons)
    # before the rule: denied; Blackwell above 21,000 TPP stays denied
    assert tl.decide("nvidia-h200", D(2026, 1, 14)).status is Status.denied
    assert tl.decide("nvidia-b200", D(2026, 2, 15)).status is Status.denied


def test_replaced_rule_stops_applying_from_the_replacing_sets_effective_date():
    tl = Timeline(load_rulesets(), fixture_frame(), home="CN", buyer="private")
    assert [rs.id for rs in tl.in_force(D(2023, 6, 1))] == ["us-2022-10"]
    assert [rs.id for rs in tl.in_force(D(2023, 11, 1))] == ["us-2022-10", "us-2023-10-accel"]
    assert [rs.id for rs in tl.in_force(D(2023, 11, 17))] == ["us-2023-10"]
    # A800: legal under the 2022 I/O test, caught by the accelerated datacenter control
    assert tl.decide("nvidia-a800", D(2023, 10, 22)).status is Status.allowed
    assert tl.decide("nvidia-a800", D(2023, 10, 23)).decisive.rule == "us-2023-10-accel"
    assert tl.decide("nvidia-a800", D(2023, 11, 17)).decisive.rule == "us-2023-10"


def test_a_replaced_set_stays_replaced_even_after_the_replacer_ends():
    base = {"authority": "US", "applies_to": ["CN"], "confidence": "press", "sources": ["s"]}
    old = parse_ruleset(
        {
            **base,
            "id": "old",
            "title": "t",
            "effective": "2024-01-01",
            "controls": [{"id": "c", "status": "denied", "when": {"tpp": ">= 1"}}],
        }
    )
    new = parse_ruleset(
        {
            **base,
            "id": "new",
            "title": "t",
            "effective": "2025-01-01",
            "until": "2026-01-01",
            "replaces": ["old"],
            "controls": [{"id": "c", "status": "license", "when": {"tpp": ">= 1"}}],
        }
    )
    tl = Timeline([old, new], frame(chip("x", 100)), home="CN", buyer="private")
    assert tl.decide("x", D(2024, 6, 1)).status is Status.denied
    assert tl.decide("x", D(2025, 6, 1)).status is Status.license
    assert tl.decide("x", D(2026, 6, 1)).status is Status.allowed


def test_unknown_die_area_strict_versus_lenient():
    row = chip("mystery", 2000)  # TPP known, die area unknown -> PD unknown
    rules = load_rulesets(["us-2023-10"])
    strict = Timeline(rules, frame(row), home="CN", buyer="private").decide(
        "mystery", D(2024, 1, 1)
    )
    assert strict.status is Status.denied
    assert strict.unknown == ("die_area_mm2",)
    assert strict.decisive.control == "3A090.a datacenter"
    assert "die_area_mm2 unknown" in strict.decisive.detail
    lenient = Timeline(rules, frame(row), home="CN", buyer="private", unknown_policy="lenient")
    d = lenient.decide("mystery", D(2024, 1, 1))
    assert d.status is Status.allowed
    assert d.unknown == ("die_area_mm2",)
    assert d.reasons == ()


def test_an_unknown_that_cannot_matter_is_not_reported():
    # B200: die area unknown, but TPP 36000 >= 4800 decides 3A090.a on its own
    d = Timeline(
        load_rulesets(["us-2023-10"]), frame(chip("big", 36000)), home="CN", buyer="private"
    ).decide("big", D(2024, 1, 1))
    assert d.status is Status.denied
    assert d.unknown == ()


def test_unknown_policy_for_relax_controls_is_the_restrictive_choice():
    base = {
        "authority": "US",
        "applies_to": ["CN"],
        "confidence": "press",
        "sources": ["s"],
        "title": "t",
        "effective": "2024-01-01",
    }
    rs = parse_ruleset(
        {
            **base,
            "id": "r",
            "controls": [
                {"id": "ban", "status": "denied", "when": {"tpp": ">= 100"}},
                {
                    "id": "ease",
                    "status": "license",
                    "mode": "relax",
                    "when": {"die_area_mm2": "< 500"},
                },
            ],
        }
    )
    rows = frame(chip("x", 200))
    strict = Timeline([rs], rows, home="CN", buyer="private").decide("x", D(2024, 6, 1))
    lenient = Timeline([rs], rows, home="CN", buyer="private", unknown_policy="lenient").decide(
        "x", D(2024, 6, 1)
    )
    assert strict.status is Status.denied  # an undecided relaxation does not relax
    assert lenient.status is Status.license
    assert strict.unknown == lenient.unknown == ("die_area_mm2",)


def test_new_rule_year_from_a_folder_needs_no_code(tmp_path):
    (tmp_path / "us-2027-01.yaml").write_text(
        """\
id: us-2027-01
title: hypothetical 2027 rule — case-by-case review ends above TPP 10,000
authority: US
effective: 2027-01-01
replaces: [us-2026-01-case-by-case]
applies_to: [CN, HK, MO]
confidence: press
sources: [https://example.org/2027-rule]
items: {origin: "!= CN"}
controls:
  - id: big datacenter parts
    status: denied
    when: {all: [{datacenter: true}, {tpp: ">= 10000"}]}
""",
        encoding="utf-8",
    )
    rules = load_rulesets([*bundled_rulesets(), tmp_path])
    tl = Timeline(rules, fixture_frame(), home="CN", buyer="private")
    assert tl.decide("nvidia-h200", D(2026, 6, 1)).status is Status.license
    d = tl.decide("nvidia-h200", D(2027, 2, 1))
    assert d.status is Status.denied
    assert any(r.rule == "us-2027-01" for r in d.reasons)
    # the replaced relaxation no longer helps the L40S either
    assert tl.decide("nvidia-l40s", D(2027, 2, 1)).status is Status.denied
    # a domestic part is still not governed by US rules
    assert tl.decide("huawei-ascend-910c", D(2027, 2, 1)).status is Status.allowed


def test_parameter_override_changes_a_chip_between_the_thresholds():
    mid = chip("mid-bw", 1000, memory_bw_tbps=1.5)  # 1500 GB/s: above 1400, below 1700
    rules = load_rulesets()
    day = D(2025, 6, 1)
    default = Timeline(rules, frame(mid), home="CN", buyer="private").decide("mid-bw", day)
    assert default.status is Status.license
    assert "memory_bw_gbps 1500 ≥ 1400 (h20_class_memory_bw_gbps)" in default.why()
    raised = Timeline(
        rules, frame(mid), home="CN", buyer="private", params={"h20_class_memory_bw_gbps": 1700}
    ).decide("mid-bw", day)
    assert raised.status is Status.allowed
    tl = Timeline(
        rules,
        fixture_frame(),
        home="CN",
        buyer="private",
        params={"h20_class_memory_bw_gbps": "1300"},
    )
    assert tl.decide("nvidia-rtx-pro-6000d", day).unknown == ("tpp", "die_area_mm2")
    assert any(
        r.control == "H20-class memory bandwidth"
        for r in tl.decide("nvidia-rtx-pro-6000d", day).reasons
    )


def test_unknown_parameter_and_bad_values_are_errors():
    with pytest.raises(InputError, match="did you mean 'h20_class_memory_bw_gbps'"):
        Timeline(
            load_rulesets(),
            frame(chip("x", 1)),
            home="CN",
            buyer="private",
            params={"h20_class_memory_bw": 1700},
        )
    with pytest.raises(InputError, match="expected a number"):
        Timeline(
            load_rulesets(),
            frame(chip("x", 1)),
            home="CN",
            buyer="private",
            params={"h20_class_memory_bw_gbps": "lots"},
        )


def test_buyer_typo_unknown_policy_and_sku_errors():
    rules = load_rulesets()
    with pytest.raises(InputError, match="did you mean 'state_funded'"):
        Timeline(rules, frame(chip("x", 1)), home="CN", buyer="sate_funded")
    with pytest.raises(InputError, match="strict | lenient"):
        Timeline(rules, frame(chip("x", 1)), home="CN", buyer="private", unknown_policy="loose")
    tl = Timeline(rules, fixture_frame(), home="CN", buyer="private")
    with pytest.raises(InputError, match="did you mean 'nvidia-h200'"):
        tl.decide("nvidia-h2000", D(2024, 1, 1))
    with pytest.raises(InputError, match="expected a date"):
        tl.decide("nvidia-h200", "2024-13-01")


def test_macau_joins_the_2022_controls_in_january_2023():
    tl = Timeline(load_rulesets(), fixture_frame(), home="mo", buyer="private")
    assert tl.decide("nvidia-a100", D(2023, 1, 17)).status is Status.allowed
    assert tl.decide("nvidia-a100", D(2023, 1, 18)).status is Status.denied
    assert tl.decide("nvidia-a100", D(2024, 1, 1)).decisive.rule == "us-2023-10"


def test_other_markets_are_not_bound():
    tl = Timeline(load_rulesets(), fixture_frame(), home="US", buyer="private")
    assert tl.decide("nvidia-h100", D(2025, 1, 1)).status is Status.allowed


def test_chinese_measures_depend_on_the_buyer():
    rules = load_rulesets()
    rows = fixture_frame()
    private = Timeline(rules, rows, home="CN", buyer="private")
    state = Timeline(rules, rows, home="CN", buyer="state_funded")
    soe = Timeline(rules, rows, home="CN", buyer="soe")
    sep25, oct25, dec25, feb26 = D(2025, 9, 1), D(2025, 10, 1), D(2025, 12, 1), D(2026, 2, 1)
    h20 = private.decide("nvidia-h20", sep25)
    assert (h20.status, h20.fee, h20.issued) == (Status.license, pytest.approx(0.15), True)
    assert {r.rule for r in h20.reasons} >= {
        "us-2025-04-h20",
        "us-2025-08-h20-licences",
        "cn-2025-08-h20-guidance",
    }
    # the CAC's 17 Sep 2025 order cancels China-tailored parts' orders for every buyer
    after = private.decide("nvidia-h20", oct25)
    assert (after.status, after.decisive.rule) == (Status.denied, "cn-2025-09-rtx-pro-6000d")
    assert private.decide("nvidia-rtx-pro-6000d", D(2025, 9, 16)).decisive.rule == "us-2023-10"
    assert private.decide("nvidia-rtx-pro-6000d", D(2025, 9, 17)).status is Status.denied
    assert private.decide("nvidia-rtx-4090d", dec25).status is Status.allowed
    assert state.decide("nvidia-rtx-4090d", dec25).status is Status.denied
    assert state.decide("nvidia-rtx-4090d", D(2025, 11, 4)).status is Status.allowed
    assert state.decide("huawei-ascend-910b", dec25).status is Status.allowed
    assert private.decide("nvidia-h200", feb26).status is Status.license
    assert soe.decide("nvidia-h200", feb26).status is Status.denied
    assert private.decide("nvidia-h200", D(2026, 1, 20)).decisive.rule == "cn-2026-01-h200-customs"


def test_fees_add_and_the_smallest_cap_binds_across_authorities():
    base = {
        "applies_to": ["CN"],
        "confidence": "press",
        "sources": ["s"],
        "title": "t",
        "effective": "2024-01-01",
    }
    us = parse_ruleset(
        {
            **base,
            "id": "us",
            "authority": "US",
            "controls": [
                {"id": "c", "status": "license", "fee": 0.1, "cap": 100, "when": {"tpp": ">= 1"}}
            ],
        }
    )
    cn = parse_ruleset(
        {
            **base,
            "id": "cn",
            "authority": "CN",
            "controls": [
                {"id": "c", "status": "license", "fee": 0.05, "cap": 50, "when": {"tpp": ">= 1"}}
            ],
        }
    )
    d = Timeline([us, cn], frame(chip("x", 10)), home="CN", buyer="private").decide(
        "x", "2024-06-01"
    )
    assert d.status is Status.license
    assert d.fee == pytest.approx(0.15)
    assert d.cap == 50


def test_segments_and_changes():
    tl = Timeline(load_rulesets(), fixture_frame(), home="CN", buyer="private")
    segs = tl.segments("nvidia-a100", D(2022, 1, 1), D(2024, 1, 1))
    assert [(a, b, d.status) for a, b, d in segs] == [
        (D(2022, 1, 1), D(2022, 8, 26), Status.allowed),
        (D(2022, 8, 26), D(2022, 10, 7), Status.license),
        (D(2022, 10, 7), D(2024, 1, 1), Status.denied),
    ]
    changes = tl.changes("nvidia-a800", D(2022, 1, 1), D(2026, 12, 31))
    # the China-only A800 is not "commercially available in the US": the Jan-2026 review
    # does not cover it, so it stays denied
    assert [(c.day, c.before.status, c.status) for c in changes] == [
        (D(2023, 10, 23), Status.allowed, Status.denied),
    ]
    h100 = tl.changes("nvidia-h100", D(2025, 1, 1), D(2026, 12, 31))
    assert [(c.day, c.status) for c in h100] == [(D(2026, 1, 28), Status.license)]
    assert h100[-1].after.fee == pytest.approx(0.25)
    # by_reason also splits where the deciding control changes
    detailed = tl.segments("nvidia-a100", D(2022, 1, 1), D(2024, 1, 1), by_reason=True)
    assert [(a, d.decisive and d.decisive.rule) for a, _, d in detailed][-2:] == [
        (D(2022, 10, 7), "us-2022-10"),
        (D(2023, 11, 17), "us-2023-10"),
    ]
    # a denial carries no fee: the H200's US terms are moot while China blocks it
    h200 = tl.decide("nvidia-h200", D(2026, 1, 20))
    assert (h200.status, h200.fee) == (Status.denied, 0.0)
    # no change inside a window between rule dates: one segment
    assert len(tl.segments("nvidia-a800", D(2024, 1, 1), D(2024, 12, 31))) == 1
    with pytest.raises(InputError):
        tl.segments("nvidia-a800", D(2024, 1, 1), D(2024, 1, 1))


def test_decisions_are_cached_per_interval_between_rule_dates():
    tl = Timeline(load_rulesets(), fixture_frame(), home="CN", buyer="private")
    assert tl.decide("nvidia-h20", D(2024, 3, 1)) is tl.decide("nvidia-h20", D(2024, 9, 1))


def test_segments_tile_every_period_for_100_skus_by_48_months():
    """At scale, segments cover each period exactly and agree with decide() (how fast is
    measured by hand, not asserted here: benchmarks/README.md)."""
    rows = fixture_frame()
    many = frame(
        *[
            chip(
                f"sku-{i:03d}",
                500 + 150 * i,
                (0.5 + (i % 13) * 0.5) if i % 5 else None,
                memory_bw_tbps=0.5 + (i % 9) * 0.3,
                datacenter=bool(i % 4),
            )
            for i in range(100 - len(rows))
        ]
    )
    tl = Timeline(load_rulesets(), pd.concat([rows, many]), home="CN", buyer="private")
    periods = period_range(Period("M", 2022 * 12), Period("M", 2022 * 12 + 47))
    for sku in tl.skus:
        for p in periods:
            segments = tl.segments(sku, p.start, p.end)
            assert segments[0][0] == p.start and segments[-1][1] == p.end
            for (_, end, _), (start, _, _) in zip(segments, segments[1:], strict=False):
                assert end == start
            for start, _, decision in segments:
                assert tl.decide(sku, start).status == decision.status
    assert len(tl.skus) == 100


def _cells_equal(a, b):
    """Same type and value (NaN equal to NaN)."""
    if type(a) is not type(b):
        return False
    return a is b or a == b or (isinstance(a, float) and a != a and b != b)


@pytest.mark.parametrize("catalogs", [["nvidia"], ["china"], ["nvidia", "china"]])
def test_rows_are_the_frame_s_cells(catalogs):
    """The rows the conditions read: each SKU's cells exactly as ``frame.loc[sku]`` has them
    (numpy scalars stay numpy scalars), built from column arrays, not one .loc per SKU."""
    frame = load_catalogs(catalogs).frame
    timeline = Timeline(load_rulesets(), frame, home="CN", buyer="soe")
    for sku in frame.index:
        expected = {str(k): v for k, v in timeline.frame.loc[sku].items()}
        expected.update(sku=sku, buyer="soe")
        row = timeline._row(sku)
        assert list(row) == list(expected)
        wrong = [c for c in row if not _cells_equal(row[c], expected[c])]
        assert not wrong, (sku, [(c, row[c], expected[c]) for c in wrong])
