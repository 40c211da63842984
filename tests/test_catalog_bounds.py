"""Catalog figures known only as a bound (``tpp: <4800``), ``us_available`` and the bundled data
rules of issue 13: every bound explained in its row, every Chinese row priced or "no public
price", every US-designed row saying whether it is sold in the US."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from chipmix.errors import InputError
from chipmix.inputs.catalog import (
    FIELDS,
    Bound,
    bundled_catalogs,
    load_catalog,
    load_catalogs,
    parse_bound,
    release_date,
)

HEADER = ("id", "vendor", "name", "origin", "datacenter", "fp16_dense_tflops", "tpp",
          "performance_density", "memory_gb", "memory_bw_tbps", "interconnect_gbps", "pcie_gbps",
          "price_usd", "us_available", "sources", "notes")
ROW = {"id": "acme-x", "vendor": "Acme", "name": "X", "origin": "US", "datacenter": "true",
       "memory_gb": "80", "memory_bw_tbps": "1.4", "interconnect_gbps": "0",
       "sources": "https://example.com/x"}


def write(tmp_path: Path, *rows: dict[str, str]) -> Path:
    import csv

    path = tmp_path / "cat.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        for row in rows:
            writer.writerow([row.get(c, "") for c in HEADER])
    return path


@pytest.mark.parametrize(
    ("text", "op", "value"),
    [("<4800", "<", 4800.0), ("< 4800", "<", 4800.0), ("<=5.92", "<=", 5.92),
     (">= 1600", ">=", 1600.0), ("≥1600", ">=", 1600.0), ("≤ 2", "<=", 2.0), (">0", ">", 0.0)],
)
def test_parse_bound(text, op, value):
    assert parse_bound(text) == Bound(op, value)


def test_parse_bound_rejects_impossible_and_bad_numbers():
    assert parse_bound("4800") is None
    for text in ("<abc", "<-1", "<0", "<nan", "<inf", ">1e400"):
        with pytest.raises(ValueError, match="bound"):
            parse_bound(text)


def test_bound_cells_load_as_bounds_and_leave_the_figure_unknown(tmp_path):
    path = write(tmp_path, {**ROW, "tpp": "<4800", "performance_density": "< 5.92",
                            "pcie_gbps": ">=64", "us_available": "false"})
    catalog = load_catalog(path)
    record = catalog.get("acme-x")
    assert record.tpp is None and record.bound("tpp") == Bound("<", 4800.0)
    assert record.bounds == {"tpp": Bound("<", 4800.0),
                             "performance_density": Bound("<", 5.92),
                             "pcie_gbps": Bound(">=", 64.0)}
    assert record.us_available is False
    frame = catalog.frame
    assert math.isnan(frame.at["acme-x", "tpp"])
    # a bounded column is not "missing": its documented default (pcie 0) is not filled in
    assert math.isnan(frame.at["acme-x", "pcie_gbps"])
    assert frame.at["acme-x", "bounds"]["tpp"].cell() == "<4800"
    assert frame.at["acme-x", "us_available"] is False


def test_us_available_is_optional_and_unknown_when_empty(tmp_path):
    path = write(tmp_path, ROW, {**ROW, "id": "acme-y", "us_available": "yes"})
    frame = load_catalog(path).frame
    assert frame.at["acme-x", "us_available"] is None
    assert frame.at["acme-y", "us_available"] is True
    assert frame.at["acme-x", "bounds"] is None


@pytest.mark.parametrize(
    ("column", "text", "expected"),
    [
        ("tpp", "<abc", "a one-sided bound like <4800"),
        ("tpp", "<0", "no figure >= 0 is below 0"),
        ("price_usd", "<100", "this column takes no bound"),
        ("us_available", "maybe", "true/false, yes/no or 1/0"),
    ],
)
def test_bad_bound_cells_name_file_row_column_value_and_expectation(tmp_path, column, text,
                                                                    expected):
    path = write(tmp_path, {**ROW, column: text})
    with pytest.raises(InputError) as info:
        load_catalog(path)
    message = str(info.value)
    assert str(path) in message and "row 2" in message and f"column '{column}'" in message
    assert repr(text) in message and expected in message


def test_overrides_replace_a_bound_and_can_set_one(tmp_path):
    catalog = load_catalog(write(tmp_path, {**ROW, "tpp": "<4800"}))
    pointed = catalog.with_overrides({"acme-x": {"tpp": 4000}})
    assert pointed.get("acme-x").tpp == 4000 and pointed.get("acme-x").bounds == {}
    bounded = catalog.with_overrides({"acme-x": {"fp16_dense_tflops": "<200"}})
    assert bounded.get("acme-x").bounds == {"tpp": Bound("<", 4800.0),
                                            "fp16_dense_tflops": Bound("<", 200.0)}
    with pytest.raises(InputError, match="overrides.acme-x.price_usd"):
        catalog.with_overrides({"acme-x": {"price_usd": "<100"}})


def test_release_date():
    import datetime as dt

    assert release_date("2025") == dt.date(2025, 1, 1)
    assert release_date("2025-07") == dt.date(2025, 7, 1)
    assert release_date(None) is None and release_date(float("nan")) is None
    assert release_date("") is None


# -- the bundled data ---------------------------------------------------------------------------

needs_bundled = pytest.mark.skipif(
    not {"nvidia", "china", "amd"} <= set(bundled_catalogs()), reason="bundled catalogs missing"
)


@needs_bundled
def test_every_bound_in_the_bundled_catalogs_is_explained_in_its_row():
    for record in load_catalogs(list(bundled_catalogs())):
        for column, bound in record.bounds.items():
            assert FIELDS[column].bounds
            assert f"{column} {bound.cell()}" in (record.notes or ""), (record.id, column)


@needs_bundled
def test_every_chinese_row_has_a_price_estimate_or_says_no_public_price():
    for record in load_catalogs(list(bundled_catalogs())):
        if record.origin != "CN":
            continue
        notes = record.notes or ""
        if record.price_usd is None:
            assert "no public price" in notes, record.id
        else:
            assert notes.startswith("price: estimate — "), record.id
            assert "confidence" in notes.split("|")[0], record.id  # basis and confidence


@needs_bundled
def test_every_us_designed_row_says_whether_it_is_sold_in_the_us():
    for record in load_catalogs(list(bundled_catalogs())):
        if record.origin == "US":
            assert record.us_available is not None, record.id
            assert f"us_available {str(record.us_available).lower()}" in (record.notes or "")


@needs_bundled
def test_issue_13_rows_exist_with_their_published_figures():
    catalog = load_catalogs(list(bundled_catalogs()))
    for sku in ("amd-mi308x", "amd-mi325x", "nvidia-rtx-5090", "nvidia-rtx-5090d",
                "nvidia-rtx-5090d-v2", "thead-ppu", "moorethreads-s5000", "huawei-ascend-950dt"):
        assert sku in catalog, sku
    assert catalog.get("nvidia-rtx-5090d-v2").memory_bw_tbps == 1.344
    ppu = catalog.get("thead-ppu")
    assert (ppu.memory_gb, ppu.interconnect_gbps, ppu.tdp_w) == (96, 700, 400)
    assert catalog.get("huawei-ascend-910c").interconnect_gbps == 784
    assert catalog.get("huawei-ascend-950pr").interconnect_gbps == 2000
    bi = catalog.get("iluvatar-bi-v100")
    assert (bi.fp16_dense_tflops, bi.bf16_dense_tflops, bi.int8_dense_tops, bi.tdp_w) == (
        147, 147, 295, 300)
    assert catalog.get("nvidia-b200").pcie_gbps == 128
    rtx4080 = catalog.get("nvidia-rtx-4080")
    assert (rtx4080.fp16_dense_tflops, rtx4080.bf16_dense_tflops) == (194.9, 97.5)
    assert catalog.get("nvidia-a800").us_available is False
    assert catalog.get("nvidia-h200").us_available is True
