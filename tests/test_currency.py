"""A scenario's own currency (``currency: {code: CNY, per_usd: 7.2}``).

The CNY variant of ``report_case.yaml`` states every money figure of its own times 7.2; the
plan must be the same (in USD), the checker must pass, and the terminal and the report show
CNY.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import chipmix
from chipmix.cli import main

DATA = Path(__file__).parent / "data"
CASE = DATA / "report_case.yaml"

CNY = """\
extends: {base}
name: report-case-cny
currency: {{code: CNY, per_usd: 7.2}}
prices: {{acme-a: 7200}}
workloads:
  - name: train
    kind: training
    metric: bf16_pflops
    demand: {{2024Q1: 10, 2024Q2: 20, 2024Q3: 5}}
    shortfall_penalty: 36000
policy:
  domestic_share: {{2024Q2: 0.3}}
  budget: 288000
  power_mw: {{2024Q1: 1, 2024Q2: 0.0015}}
  energy_price: 0.72
"""


@pytest.fixture
def cny(tmp_path) -> Path:
    path = tmp_path / "cny.yaml"
    path.write_text(CNY.format(base=CASE), encoding="utf-8")
    return path


def run(capsys, *args) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_the_plan_in_usd_equals_the_usd_scenario(cny):
    usd = chipmix.load_scenario(CASE, sets=["prices.acme-a=1000", "policy.energy_price=0.1"])
    a = chipmix.plan(usd)
    scenario = chipmix.load_scenario(cny)
    b = chipmix.plan(scenario)
    assert b.objective == pytest.approx(a.objective)
    assert b.cost["energy"] == pytest.approx(a.cost["energy"]) and a.cost["energy"] > 0
    assert b.purchases["unit_price"].tolist() == pytest.approx(a.purchases["unit_price"].tolist())
    assert chipmix.verify(b, scenario).ok
    assert scenario.in_usd().policy.budget == {k: 40000 for k in scenario.policy.budget}
    assert scenario.in_usd().in_usd().policy.budget == scenario.in_usd().policy.budget


def test_terminal_and_report_show_the_scenario_currency(cny, tmp_path, capsys):
    from chipmix.present.formatting import Currency, money

    code, out, _ = run(capsys, "plan", cny, "--json")
    objective = json.loads(out)["objective"]  # the JSON stays in USD
    assert objective > 42500  # the hand-solved 42,500 plus energy
    shown = money(objective, Currency("CNY", 7.2))
    assert shown.startswith("CNY ")
    code, out, _ = run(capsys, "plan", cny, "--report", tmp_path / "r.html")
    assert code == 0
    assert f"objective {shown}" in out
    assert "spend (CNY)" in out and "7.2 CNY per USD" in out
    html = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert shown in html and "CNY 7,200" in html


@pytest.mark.parametrize("block, expected", [
    ("{code: cny, per_usd: 7.2}", "currency.code"),
    ("{code: CNY, per_usd: 0}", "currency.per_usd"),
    ("{code: USD, per_usd: 7.2}", "currency"),
    ("{code: CNY, rate: 7.2}", "currency.rate: unknown key"),
])
def test_bad_currency_exits_2_naming_the_key(block, expected, tmp_path, capsys):
    path = tmp_path / "bad.yaml"
    path.write_text(f"extends: {CASE}\ncurrency: {block}\n", encoding="utf-8")
    code, _, err = run(capsys, "plan", path)
    assert code == 2 and expected in err and "Traceback" not in err
