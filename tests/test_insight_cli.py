"""The insight commands end to end: ``plan --explain``, ``substitute``, ``alternatives``,
``stress``."""

from __future__ import annotations

import json

import pytest
import yaml
from helpers import planner_scenario_dict, planner_sku, train, write_planner_catalog

from chipmix.cli import main


@pytest.fixture
def scenario_file(tmp_path):
    """10 PF a quarter over two quarters: acme-a (US, 1000 USD, 10 a quarter), dragon-b (CN,
    1100 USD), bolt-c (US, 2500 USD, never bought); acme-a may be revoked from 2024Q2."""
    catalog = write_planner_catalog(tmp_path, [
        planner_sku("acme-a", supply_per_quarter=10),
        planner_sku("dragon-b", origin="CN", price_usd=1100),
        planner_sku("bolt-c", price_usd=2500),
    ])
    data = planner_scenario_dict(catalog, [train({"2024Q1": 8, "2024Q2": 15},
                                                 shortfall_penalty=4000)],
                                 horizon={"start": "2024Q1", "end": "2024Q2"},
                                 risks={"revoke": {"acme-a": {"probability": 0.5,
                                                              "from": "2024Q2"}}})
    path = tmp_path / "scenario.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_plan_explain_prints_shadow_and_break_even_prices(capsys, scenario_file):
    code, out, _ = run(capsys, "plan", scenario_file, "--explain")
    assert code == 0
    out = " ".join(out.split())  # undo the console's line wrapping
    assert "fixed integer plan" in out
    assert "One more unit of demand costs" in out
    assert "Not bought: the unit price at which it would enter the mix" in out
    assert "bolt-c" in out
    assert "Bought: how far its price could rise" in out
    code, out, _ = run(capsys, "plan", scenario_file, "--explain", "--json")
    sensitivity = json.loads(out)["sensitivity"]
    assert {r["sku"] for r in sensitivity["break_even"]} == {"acme-a", "dragon-b", "bolt-c"}
    code, out, _ = run(capsys, "plan", scenario_file, "--json")
    assert json.loads(out)["sensitivity"] == {}


def test_substitute_command(capsys, scenario_file):
    code, out, _ = run(capsys, "substitute", "acme-a", scenario_file, "--json")
    assert code == 0
    data = json.loads(out)
    assert data["sku"] == "acme-a" and data["date"] == "2024-01-01"
    assert [r["sku"] for r in data["substitutes"]] == ["dragon-b", "bolt-c"]
    code, out, _ = run(capsys, "substitute", "acme-a", scenario_file, "--at", "2024Q2")
    assert code == 0 and "dragon-b" in out and "2024-04-01" in out
    code, _, err = run(capsys, "substitute", "acme-x", scenario_file)
    assert code == 2 and "did you mean" in err


def test_alternatives_command(capsys, scenario_file, tmp_path):
    out_file = tmp_path / "alt.json"
    code, out, _ = run(capsys, "alternatives", scenario_file, "--slack", "0.05",
                       "--maximize", "domestic_share", "--json", "-o", out_file)
    assert code == 0
    data = json.loads(out)
    assert 0 <= data["cost_increase"] <= 0.05 + 1e-9
    (row,) = data["objectives"]
    assert row["alternative"] >= row["optimal"]
    assert json.loads(out_file.read_text())["status"] == "optimal"
    code, out, _ = run(capsys, "alternatives", scenario_file, "--slack", "0.05",
                       "--minimize", "vendor:Acme")
    assert code == 0 and "Secondary objectives" in out and "over the optimum" in out
    code, _, err = run(capsys, "alternatives", scenario_file, "--minimize", "vendor_diversity")
    assert code == 2


def test_stress_command(capsys, scenario_file, tmp_path):
    plan_file = tmp_path / "plan.json"
    assert run(capsys, "plan", scenario_file, "-o", plan_file)[0] == 0
    chart = tmp_path / "stress.svg"
    code, out, _ = run(capsys, "stress", plan_file, scenario_file, "--draws", "6", "--seed",
                       "4", "--json", "--chart", chart)
    assert code == 0
    data = json.loads(out)
    assert data["draws"] == 6 and data["seed"] == 4
    assert set(data["summary"]) >= {"cost", "shortfall_cost", "shortfall:train"}
    assert chart.read_text().startswith("<?xml")
    code, again, _ = run(capsys, "stress", plan_file, scenario_file, "--draws", "6", "--seed",
                         "4", "--json")
    assert json.loads(again) == data
    code, out, _ = run(capsys, "stress", plan_file, scenario_file, "--draws", "3")
    assert code == 0 and "CVaR95" in out
