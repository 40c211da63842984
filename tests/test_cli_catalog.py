"""``chipmix catalog ...`` and ``chipmix scenario validate`` through ``chipmix.cli.main``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chipmix.cli import main
from chipmix.inputs.catalog import FIELDS, bundled_catalogs

DATA = Path(__file__).parent / "data"
SMALL = str(DATA / "catalog_small.csv")

needs_bundled = pytest.mark.skipif(
    not {"nvidia", "china"} <= set(bundled_catalogs()), reason="bundled catalogs not written yet"
)


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_list_json_has_every_field(capsys):
    code, out, err = run(capsys, "catalog", "list", "--catalog", SMALL, "--json")
    assert code == 0
    rows = json.loads(out)  # nothing but JSON on stdout
    assert [r["id"] for r in rows] == ["acme-a100", "acme-h800", "dragon-910b", "dragon-x1"]
    assert set(rows[0]) == {*FIELDS, "catalog", "bounds"}
    assert rows[0]["us_available"] is None and rows[0]["bounds"] == {}  # unknown, none
    a100 = rows[0]
    assert a100["sources"] == ["https://example.com/a100", "https://example.org/a100-review"]
    assert a100["fp8_dense_tflops"] is None  # NaN -> null
    assert a100["datacenter"] is True and a100["bf16_dense_tflops"] == 312.0
    assert rows[2]["server_size"] == 8.0  # documented default filled
    assert rows[3]["release"] is None


@needs_bundled
def test_list_defaults_to_every_bundled_catalog(capsys):
    code, out, _ = run(capsys, "catalog", "list", "--json")
    assert code == 0
    assert {r["catalog"] for r in json.loads(out)} == set(bundled_catalogs())


def test_list_table(capsys):
    code, out, _ = run(capsys, "catalog", "list", "-c", SMALL)
    assert code == 0
    assert "4 SKUs" in out and "Dragon" in out and "15,000" in out


def test_show_json_and_table(capsys):
    code, out, _ = run(capsys, "catalog", "show", "dragon-910b", "-c", SMALL, "--json")
    assert code == 0
    row = json.loads(out)
    assert row["id"] == "dragon-910b" and row["fp16_dense_tflops"] == 376.0
    assert row["tdp_w"] is None
    code, out, _ = run(capsys, "catalog", "show", "dragon-910b", "-c", SMALL)
    assert code == 0 and "memory_bw_tbps" in out and "TB/s" in out


def test_show_unknown_sku(capsys):
    code, out, err = run(capsys, "catalog", "show", "dragon-91b", "-c", SMALL, "--json")
    assert code == 2 and out == ""
    assert "unknown SKU; got 'dragon-91b' (did you mean 'dragon-910b'?)" in err


def test_unknown_catalog_name(capsys):
    code, out, err = run(capsys, "catalog", "list", "-c", "nvidai", "--json")
    assert code == 2 and out == ""
    assert "unknown catalog; got 'nvidai'" in err


def test_validate_ok(capsys):
    code, out, _ = run(capsys, "catalog", "validate", SMALL)
    assert code == 0
    assert out == f"ok: {SMALL} (4 SKUs)\n"


def test_validate_bad_file(capsys, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text((DATA / "catalog_small.csv").read_text().replace(",400,", ",-400,", 1))
    code, out, err = run(capsys, "catalog", "validate", SMALL, str(bad))
    assert code == 2
    assert out == f"ok: {SMALL} (4 SKUs)\n"
    assert f"{bad.resolve()}: row 2: column 'tdp_w': got '-400'; expected a number >= 0" in (
        " ".join(err.split())
    )


def test_validate_duplicates_across_files(capsys):
    code, _, err = run(capsys, "catalog", "validate", SMALL, str(DATA / "catalog_other.csv"))
    assert code == 2 and "duplicate id: also in" in " ".join(err.split())


def test_scenario_validate(capsys):
    path = str(DATA / "scenario_small.yaml")
    code, out, _ = run(capsys, "scenario", "validate", path)
    assert code == 0
    assert out == (
        f"ok: {path}: 'small', horizon 2023Q3..2024Q4 (6 quarters), 2 workloads "
        "(llm-training, chat-inference), 4 SKUs, 16 rule sets\n"
    )


def test_scenario_validate_error(capsys, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text((DATA / "scenario_small.yaml").read_text().replace(
        "catalog_small.csv", str(DATA / "catalog_small.csv")).replace("kind: training",
                                                                      "kind: trainig"))
    code, out, err = run(capsys, "scenario", "validate", str(bad))
    assert code == 2 and out == ""
    assert "workloads[0].kind: got 'trainig'; expected one of training, inference" in (
        " ".join(err.split())
    )
