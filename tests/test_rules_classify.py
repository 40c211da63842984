"""classify(): one row per SKU with status, rule, margin and reasons; the public record."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from test_rules_support import FIXTURE_CATALOG, chip, fixture_frame, frame

from chipmix.rules import classify


def by_sku(df: pd.DataFrame) -> dict[str, dict]:
    return {rec["sku"]: rec for rec in df.to_dict(orient="records")}


def test_columns_reasons_margin_and_attrs():
    df = classify(fixture_frame(), at="2024-01-01")
    for col in (
        "sku",
        "vendor",
        "origin",
        "datacenter",
        "tpp",
        "performance_density",
        "io_gbps",
        "memory_bw_gbps",
        "status",
        "rule",
        "control",
        "margin",
        "reasons",
        "fee",
        "cap",
        "unknown",
    ):
        assert col in df.columns
    rows = by_sku(df)
    a100 = rows["nvidia-a100"]
    assert (a100["status"], a100["rule"], a100["control"]) == (
        "denied",
        "us-2023-10",
        "3A090.a datacenter",
    )
    assert a100["reasons"][0] == {
        "rule": "us-2023-10",
        "control": "3A090.a datacenter",
        "status": "denied",
        "detail": "datacenter, tpp 4992 ≥ 4800",
    }
    assert rows["nvidia-rtx-4090d"]["margin"] == "tpp 4707.2: 1.9 % below 4800"
    assert rows["nvidia-h20"]["margin"] == "tpp 2368: 1.3 % below 2400"
    # a gaming card's margin ignores datacenter-only thresholds
    assert rows["nvidia-rtx-4080"]["margin"] == "tpp 3120: 35.0 % below 4800"
    assert rows["nvidia-l40"]["status"] == "notify"
    assert math.isnan(rows["nvidia-l2"]["performance_density"])
    assert rows["nvidia-b200"]["unknown"] == []
    assert rows["nvidia-rtx-pro-6000d"]["unknown"] == ["tpp", "die_area_mm2"]
    assert df.attrs["rules_in_force"] == ["us-2023-10"]
    assert df.attrs["at"] == "2024-01-01"


def test_domestic_chips_are_not_governed_by_us_rules():
    rows = by_sku(classify(fixture_frame(), at="2026-02-01"))
    assert rows["huawei-ascend-910c"]["status"] == "allowed"  # TPP 12,800 but designed in CN
    assert pd.isna(rows["huawei-ascend-910c"]["margin"])
    state = by_sku(classify(fixture_frame(), at="2026-02-01", buyer="state_funded"))
    assert state["huawei-ascend-910c"]["status"] == "allowed"
    assert state["nvidia-l20"]["status"] == "denied"


def test_parameter_override_through_classify():
    rows = frame(chip("mid-bw", 1000, memory_bw_tbps=1.5))
    default = classify(rows, at="2025-06-01")
    raised = classify(rows, at="2025-06-01", params={"h20_class_memory_bw_gbps": 1700})
    assert default.loc[0, "status"] == "license"
    assert default.loc[0, "margin"] == "memory_bw_gbps 1500: 7.1 % above 1400"
    assert raised.loc[0, "status"] == "allowed"


def test_strict_and_lenient_through_classify():
    rows = frame(chip("mystery", 2000))
    assert classify(rows, at="2024-06-01").loc[0, "status"] == "denied"
    assert classify(rows, at="2024-06-01", unknown_policy="lenient").loc[0, "status"] == "allowed"


def test_catalog_paths_and_rule_ids():
    pytest.importorskip("chipmix.inputs.catalog")
    df = classify([FIXTURE_CATALOG], rules=["us-2022-10"], at="2023-06-01")
    rows = by_sku(df)
    assert rows["nvidia-a100"]["status"] == "denied"
    assert rows["nvidia-h800"]["status"] == "allowed"
    assert rows["enflame-t20"]["tpp_tf32_flag"] is True


# What the public record says (export-rules reference §2.2-2.3; accelerators.md notes).
RECORD = {
    "2023-06-01": {
        "nvidia-a100": "denied",
        "nvidia-h100": "denied",
        "nvidia-a800": "allowed",  # NVLink cut to 400 GB/s: passed the 2022 I/O test
        "nvidia-h800": "allowed",
        "nvidia-l40s": "allowed",  # no NVLink; shipped until the Oct-2023 acceleration
        "nvidia-rtx-4090": "allowed",
    },
    "2024-01-01": {
        "nvidia-a100": "denied",
        "nvidia-a800": "denied",
        "nvidia-h800": "denied",
        "nvidia-l40s": "denied",
        "nvidia-h20": "allowed",  # TPP 2368 < 2400, PD 2.91 < 3.2: outside 3A090
        "nvidia-l20": "allowed",  # PD 3.14 < 3.2
        "nvidia-l2": "allowed",  # TPP 1544 < 1600
        "nvidia-rtx-4090": "license",  # 3A090.a consumer: NAC with notification, not cleared
        "nvidia-rtx-4090d": "allowed",  # TPP 4707 < 4800 and not datacenter: Note 2
        "nvidia-rtx-4080": "allowed",
    },
}


@pytest.mark.parametrize("day", sorted(RECORD))
def test_fixture_catalog_matches_the_public_record(day):
    rows = by_sku(classify(fixture_frame(), at=day))
    assert {sku: rows[sku]["status"] for sku in RECORD[day]} == RECORD[day]


@pytest.mark.parametrize("day", sorted(RECORD))
def test_bundled_catalogs_match_the_public_record(day):
    catalog = pytest.importorskip("chipmix.inputs.catalog")
    if not {"nvidia"} <= set(catalog.bundled_catalogs()):
        pytest.skip("bundled catalogs not written yet")
    rows = by_sku(classify(at=day))
    missing = [sku for sku in RECORD[day] if sku not in rows]
    if missing:
        pytest.skip(f"bundled catalogs lack {missing}")
    assert {sku: rows[sku]["status"] for sku in RECORD[day]} == RECORD[day]


def test_new_rule_year_added_to_the_bundled_sets_from_a_folder(tmp_path):
    (tmp_path / "us-2027-01.yaml").write_text(
        "id: us-2027-01\n"
        "title: hypothetical 2027 rule\n"
        "authority: US\n"
        "effective: 2027-01-01\n"
        "replaces: [us-2026-01-case-by-case]\n"
        "applies_to: [CN]\n"
        "confidence: press\n"
        "sources: [https://example.org/2027]\n"
        'items: {origin: "!= CN"}\n'
        "controls:\n"
        '  - {id: no relaxation, status: denied, when: {tpp: ">= 10000"}}\n',
        encoding="utf-8",
    )
    before = by_sku(classify(fixture_frame(), rules=["bundled", tmp_path], at="2026-12-31"))
    after = by_sku(classify(fixture_frame(), rules=["bundled", tmp_path], at="2027-01-01"))
    assert before["nvidia-h200"]["status"] == "license"
    assert after["nvidia-h200"]["status"] == "denied"
    assert after["nvidia-h200"]["rule"] in ("us-2023-10", "us-2027-01")
    assert after["nvidia-rtx-4090d"]["status"] == "allowed"
