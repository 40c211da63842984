"""Derived metrics: TPP, performance density, I/O, memory bandwidth (rules.md, §1 reference)."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from test_rules_support import frame

from chipmix.rules import derive_metrics


def test_bis_worked_example_int8_and_fp16_both_give_4800():
    # "the 'TPP' threshold of 4800 can be met with 600 tera integer operations ... at 8 bits
    #  or 300 tera FLOPS ... at 16 bits"
    out = derive_metrics(
        frame(
            {"id": "int8-part", "int8_dense_tops": 600.0},
            {"id": "fp16-part", "fp16_dense_tflops": 300.0},
        )
    )
    assert out.loc["int8-part", "tpp"] == 4800
    assert out.loc["fp16-part", "tpp"] == 4800


def test_tpp_is_max_over_precisions_and_ignores_tf32_and_fp32():
    out = derive_metrics(
        frame(
            {
                "id": "h100",
                "fp8_dense_tflops": 1979.0,
                "bf16_dense_tflops": 989.4,
                "int8_dense_tops": 1979.0,
                "tf32_dense_tflops": 494.7,
                "fp32_tflops": 67.0,
            },
            {"id": "b200", "fp4_dense_tflops": 9000.0, "fp8_dense_tflops": 4500.0},
            {"id": "int4-only", "int4_dense_tops": 1000.0},
        )
    )
    assert out.loc["h100", "tpp"] == pytest.approx(15832)
    assert out.loc["b200", "tpp"] == pytest.approx(36000)
    assert out.loc["int4-only", "tpp"] == pytest.approx(4000)
    assert not out.loc["h100", "tpp_tf32_flag"]  # 494.7 x 32 = 15830 < 15832


def test_tf32_flag_marks_parts_whose_tpp_tf32_would_count():
    # Enflame T20: INT8 320 -> 2560; TF32 160 x 32 = 5120 would cross 4800
    out = derive_metrics(frame({"id": "t20", "int8_dense_tops": 320.0, "tf32_dense_tflops": 160.0}))
    assert out.loc["t20", "tpp"] == 2560
    assert out.loc["t20", "tpp_tf32"] == 5120
    assert bool(out.loc["t20", "tpp_tf32_flag"]) is True


def test_catalog_tpp_wins_over_computed():
    out = derive_metrics(frame({"id": "x", "tpp": 1234.0, "int8_dense_tops": 1000.0}))
    assert out.loc["x", "tpp"] == 1234


def test_unknown_inputs_give_nan_never_zero():
    out = derive_metrics(
        frame(
            {"id": "blank", "memory_bw_tbps": math.nan, "interconnect_gbps": math.nan},
            {"id": "no-die", "int8_dense_tops": 600.0},
        )
    )
    assert math.isnan(out.loc["blank", "tpp"])
    assert math.isnan(out.loc["blank", "performance_density"])
    assert math.isnan(out.loc["blank", "io_gbps"])
    assert math.isnan(out.loc["blank", "memory_bw_gbps"])
    assert out.loc["no-die", "tpp"] == 4800
    assert math.isnan(out.loc["no-die", "performance_density"])
    assert not out.loc["blank", "tpp_tf32_flag"]


def test_density_io_and_bandwidth():
    out = derive_metrics(
        frame(
            {
                "id": "a800",
                "bf16_dense_tflops": 312.0,
                "die_area_mm2": 826.0,
                "interconnect_gbps": 400.0,
                "pcie_gbps": 64.0,
                "memory_bw_tbps": 2.039,
            }
        )
    )
    assert out.loc["a800", "performance_density"] == pytest.approx(4992 / 826)
    assert out.loc["a800", "io_gbps"] == 464
    assert out.loc["a800", "memory_bw_gbps"] == pytest.approx(2039)


def test_missing_pcie_column_counts_as_zero_but_a_nan_cell_is_unknown():
    no_column = pd.DataFrame({"id": ["x"], "interconnect_gbps": [400.0]}).set_index("id")
    assert derive_metrics(no_column).loc["x", "io_gbps"] == 400
    nan_cell = frame({"id": "y", "interconnect_gbps": 400.0, "pcie_gbps": math.nan})
    assert math.isnan(derive_metrics(nan_cell).loc["y", "io_gbps"])


def test_derive_metrics_returns_a_copy():
    original = frame({"id": "x", "int8_dense_tops": 600.0})
    before = original.copy()
    derive_metrics(original)
    pd.testing.assert_frame_equal(original, before)
