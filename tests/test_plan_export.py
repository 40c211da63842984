"""``chipmix plan -o FILE`` by extension: plan JSON, a workbook, the tidy long form."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

import chipmix
from chipmix.cli import main
from chipmix.present.plan_export import plan_tables, tidy

CASE = Path(__file__).parent / "data" / "report_case.yaml"
INFEASIBLE = Path(__file__).parent / "data" / "planner_infeasible.yaml"


@pytest.fixture(scope="module")
def case():
    scenario = chipmix.load_scenario(CASE)
    return scenario, chipmix.plan(scenario, sensitivity=True)


def run(capsys, *args) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_json_is_the_plan_json(tmp_path, capsys):
    code, out, _ = run(capsys, "plan", CASE, "--json", "-o", tmp_path / "p.json")
    assert code == 0
    assert (tmp_path / "p.json").read_text(encoding="utf-8") == out


def test_workbook_sheets_units_frozen_headers_and_formats(case, tmp_path, capsys):
    from openpyxl import load_workbook

    code, _, _ = run(capsys, "plan", CASE, "--explain", "-o", tmp_path / "p.xlsx")
    assert code == 0
    book = load_workbook(tmp_path / "p.xlsx")
    for name in ("summary", "cost", "purchases", "fleet", "allocation", "delivered", "shares",
                 "availability", "ported", "sens demand", "sens break_even"):
        assert name in book.sheetnames, name
        assert book[name].freeze_panes == "A2"
    purchases = book["purchases"]
    headers = [c.value for c in purchases[1]]
    assert headers == ["period", "sku", "vendor", "origin", "servers", "units (cards)",
                       "unit_price (USD/card)", "spend (USD)", "from", "until"]
    assert purchases["H2"].number_format == "#,##0"
    assert book["shares"]["B2"].number_format == "0.0%"
    sheets = pd.read_excel(tmp_path / "p.xlsx", sheet_name=None)
    _, plan = case
    got = sheets["purchases"]
    assert list(got["spend (USD)"]) == pytest.approx(list(plan.purchases["spend"]))
    delivered = sheets["delivered"]
    assert set(delivered["unit"]) == {"PFLOPS bf16"}
    fleet = sheets["fleet"]
    assert (fleet["in_use (cards)"] + fleet["idle (cards)"]).tolist() == pytest.approx(
        fleet["units (cards)"].tolist())


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_tidy_long_form_round_trips(case, tmp_path, capsys, suffix):
    path = tmp_path / f"p{suffix}"
    code, _, _ = run(capsys, "plan", CASE, "-o", path)
    assert code == 0
    frame = pd.read_csv(path) if suffix == ".csv" else pd.read_parquet(path)
    assert list(frame.columns) == ["table", "period", "sku", "vendor", "origin", "workload",
                                   "quantity", "value", "unit"]
    assert frame["value"].dtype == "float64"
    _, plan = case
    spend = frame[(frame["table"] == "purchases") & (frame["quantity"] == "spend")]
    assert spend["value"].sum() == pytest.approx(plan.cost["capex"])
    short = frame[(frame["table"] == "delivered") & (frame["quantity"] == "shortfall")]
    assert short["value"].sum() == pytest.approx(5)
    assert set(short["unit"]) == {"PFLOPS bf16"}
    total = frame[(frame["table"] == "cost") & (frame["quantity"] == "total.discounted")]
    assert total["value"].item() == pytest.approx(plan.objective)
    if suffix == ".parquet":
        assert frame["period"].cat.ordered
        assert list(frame["period"].cat.categories) == plan.periods


def test_tables_are_typed(case):
    scenario, plan = case
    tables = plan_tables(plan, scenario)
    for name in ("purchases", "fleet", "delivered", "shares", "availability"):
        assert isinstance(tables[name]["period"].dtype, pd.CategoricalDtype), name
        assert tables[name]["period"].cat.ordered
    # 10 acme-a and 5 dragon-d, the acme-a in 2024Q1 or 2024Q2 (equal cost: no discounting)
    assert sorted(set(tables["purchases"]["vendor"])) == ["Acme", "Dragon"]
    assert tables["shares"].dtypes.drop("period").eq("float64").all()
    long = tidy(plan, scenario)
    assert long.dtypes["value"] == "float64"
    assert long.sort_values("period")["period"].dropna().is_monotonic_increasing


@pytest.mark.parametrize("name", ["plan.txt", "plan", "plan.XLS"])
def test_unknown_extension_exits_2_before_solving(tmp_path, capsys, name):
    code, out, err = run(capsys, "plan", CASE, "-o", tmp_path / name)
    assert code == 2 and "unsupported plan file format" in err and "Traceback" not in err
    assert out == "" and list(tmp_path.iterdir()) == []


def test_infeasible_plan_writes_its_json_and_refuses_tables(tmp_path, capsys):
    code, _, _ = run(capsys, "plan", INFEASIBLE, "-o", tmp_path / "bad.json")
    assert code == 1
    assert "diagnosis" in json.loads((tmp_path / "bad.json").read_text(encoding="utf-8"))
    code, _, err = run(capsys, "plan", INFEASIBLE, "-o", tmp_path / "bad.xlsx")
    assert code == 2 and "no decisions" in err
    assert not (tmp_path / "bad.xlsx").exists()
