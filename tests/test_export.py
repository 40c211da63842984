"""Result tables to JSON, CSV, Parquet and XLSX (chipmix.present.export): round trips and errors."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from chipmix.errors import InputError
from chipmix.present.export import read_table, to_records, write_table


def sweep_like() -> pd.DataFrame:
    """The shape of a sweep table: ints, exact and inexact floats, NaN, text."""
    return pd.DataFrame({
        "variant": pd.Series([0, 1, 2], dtype="int64"),
        "policy.domestic_share": [0.1, 0.2, 0.30000000000000004],
        "status": ["optimal", "infeasible", "error"],
        "objective": [77408963.50681353, math.nan, math.nan],
        "units.vendor.Huawei": [1264.0, math.nan, math.nan],
        "top_skus": ["nvidia-h20: 3504, nvidia-a800: 1200", "", ""],
        "message": ["", "1 requirement(s) cannot be met", "variant 2: got 'x'"],
    })


def assert_same(read: pd.DataFrame, written: pd.DataFrame, rtol: float = 0.0) -> None:
    """Same columns and cells; ``rtol`` for XLSX, which keeps 15 significant digits."""
    assert list(read.columns) == list(written.columns)
    for column in written.columns:
        a, b = read[column].tolist(), written[column].tolist()
        if pd.api.types.is_numeric_dtype(written[column]):
            assert np.allclose(np.asarray(a, float), np.asarray(b, float), rtol=rtol, atol=0,
                               equal_nan=True), column
        else:
            # CSV and XLSX read an empty text cell back as a missing value
            assert [x if isinstance(x, str) else "" for x in a] == b, column


@pytest.mark.parametrize("suffix", [".json", ".csv", ".parquet", ".xlsx"])
def test_one_table_round_trips(tmp_path: Path, suffix: str):
    if suffix == ".parquet":
        pytest.importorskip("pyarrow")
    frame = sweep_like()
    path = write_table(frame, tmp_path / f"results{suffix}")
    assert path.is_file() and path.stat().st_size > 0
    assert_same(read_table(path), frame, rtol=1e-15 if suffix == ".xlsx" else 0.0)
    assert [p.name for p in tmp_path.iterdir()] == [f"results{suffix}"]  # no temp files left


@pytest.mark.parametrize("suffix", [".json", ".xlsx"])
def test_several_tables_round_trip(tmp_path: Path, suffix: str):
    tables = {"frontier": sweep_like(), "probes": pd.DataFrame(
        {"round": [0, 0], "required_share": [0.0, 1.0], "feasible": [True, False]})}
    path = write_table(tables, tmp_path / f"frontier{suffix}")
    back = read_table(path)
    assert set(back) == {"frontier", "probes"}
    assert_same(back["frontier"], tables["frontier"], rtol=1e-15 if suffix == ".xlsx" else 0.0)
    assert back["probes"]["feasible"].tolist() == [True, False]


def test_a_named_index_becomes_the_first_column(tmp_path: Path):
    frame = pd.DataFrame({"unit": ["", "USD"], "A": ["optimal", 10.5], "B": ["optimal", 12.0]},
                         index=pd.Index(["status", "cost.total"], name="metric"))
    for suffix in (".json", ".csv", ".xlsx"):
        back = read_table(write_table(frame, tmp_path / f"cmp{suffix}"))
        assert back.columns[0] == "metric"
        assert back["metric"].tolist() == ["status", "cost.total"]
        assert float(back["B"].iloc[1]) == 12.0
    assert to_records(frame)[1] == {"metric": "cost.total", "unit": "USD", "A": 10.5, "B": 12.0}


def test_parquet_writes_mixed_text_and_number_columns_as_text(tmp_path: Path):
    pytest.importorskip("pyarrow")
    frame = pd.DataFrame({"metric": ["status", "cost.total"], "A": ["optimal", 10.5]})
    back = read_table(write_table(frame, tmp_path / "cmp.parquet"))
    assert back["A"].tolist() == ["optimal", "10.5"]


def test_json_has_nulls_for_nan_and_full_precision(tmp_path: Path):
    path = write_table(sweep_like(), tmp_path / "r.json")
    rows = json.loads(path.read_text(encoding="utf-8"))
    assert rows[1]["objective"] is None
    assert rows[0]["objective"] == 77408963.50681353
    assert rows[2]["policy.domestic_share"] == 0.30000000000000004


def test_bad_extensions_and_shapes_are_input_errors(tmp_path: Path):
    with pytest.raises(InputError, match=r"\.json, \.csv, \.parquet or \.xlsx"):
        write_table(sweep_like(), tmp_path / "r.txt")
    with pytest.raises(InputError, match="one table"):
        write_table({"a": sweep_like(), "b": sweep_like()}, tmp_path / "r.csv")
    with pytest.raises(InputError):
        write_table({}, tmp_path / "r.json")
    assert list(tmp_path.iterdir()) == []


def test_long_and_odd_sheet_names(tmp_path: Path):
    tables = {"a/b:c" + "x" * 40: sweep_like(), "a/b:c" + "x" * 41: sweep_like()}
    back = read_table(write_table(tables, tmp_path / "r.xlsx"))
    assert len(back) == 2 and all(len(name) <= 31 for name in back)
