"""Power and budget use against their caps, and the binding constraint of each shortfall
(``chipmix.planner.usage``), on ``tests/data/report_case.yaml`` and variants of it.

Hand-checked: the base case's 2024Q2 runs 15 cards x 100 W = 1.5 kW, its cap, and rents 5
PFLOPS; with 3 cards of each SKU per quarter the plan is short for supply; with no supply
nothing can be bought; a 5,000 USD budget buys 5 cards a quarter; a 50 % domestic
share with 4 domestic cards a quarter caps delivery at 8 then 16; a 500 USD penalty is cheaper
than any card (1,000 USD).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest
from html_tables import tables

import chipmix
from chipmix.cli import main
from chipmix.model.data import prepare
from chipmix.planner.usage import shortfall_binding, usage_table
from chipmix.present.charts import plan_chart
from chipmix.present.plan_export import tidy, write_plan
from chipmix.present.plan_report import plan_report, scenario_context

CASE = Path(__file__).parent / "data" / "report_case.yaml"


def run(*sets: str):
    scenario = chipmix.load_scenario(CASE, sets=list(sets))
    return prepare(scenario), chipmix.plan(scenario, gap=0.0)


def test_power_cap_binds_and_explains_the_shortfall():
    data, plan = run()
    usage = usage_table(data, plan)
    assert usage["power_mw"].tolist() == pytest.approx([0.001, 0.0015, 0.0005])
    assert usage["power_cap_mw"].tolist() == pytest.approx([1.0, 0.0015, 0.0015])
    # 17,500 USD of cards: the 10 acme-a all in 2024Q1, or 5 of them in 2024Q2 (equal cost,
    # no discounting: an alternate optimum the solver may return)
    assert usage["capex"].tolist() in (pytest.approx([17500, 0, 0]),
                                       pytest.approx([12500, 5000, 0]))
    assert usage["binding"].tolist() == [[], ["power cap"], []]
    assert shortfall_binding(data, plan, usage) == {("2024Q2", "train"): ["power cap"]}


@pytest.mark.parametrize("sets, expected", [
    (["supply.acme-a=3", "supply.dragon-d=3"], "supply (acme-a, dragon-d)"),
    (["supply.acme-a=0", "supply.dragon-d=0"], "no buyable SKU"),
    (["policy.budget=5000"], "budget"),
    (["policy.domestic_share=0.5", "supply.dragon-d=4"], "domestic share"),
    (["workloads[0].shortfall_penalty=500"], "cheaper to rent"),
])
def test_each_cause(sets, expected):
    data, plan = run("policy.power_mw=1", *sets)
    causes = shortfall_binding(data, plan)
    assert causes and all(c == [expected] for c in causes.values()), causes


def test_no_budget_binds_when_nothing_can_be_bought():
    data, plan = run("policy.power_mw=1", "supply.acme-a=0", "supply.dragon-d=0")
    assert all("budget" not in b for b in usage_table(data, plan)["binding"])



# --- the per-row definition the vectorised causes must equal ---


def _reference_buyable(data, t):
    price, supply = data.price.iloc[t], data.supply.iloc[t]
    return [k for k in data.skus.index
            if math.isfinite(float(price.get(k, math.nan))) and float(supply.get(k, 0.0)) > 0]


def _reference_bought_up(data, bought, sku, periods):
    server = float(data.skus.at[sku, "server"])
    for tau in periods:
        supply = float(data.supply.iloc[tau][sku])
        if not math.isfinite(supply):
            return False
        limit = math.floor(supply / server + 1e-9) * server
        if float(bought.get((sku, data.labels[tau]), 0.0)) < limit - 1e-6:
            return False
    return True


def _reference_causes(data, plan, usage):
    """The module doc's rules, one shortfall row and one SKU at a time (no arrays)."""
    labels = list(data.labels)
    binding = [b if isinstance(b, list) else [c for c in str(b).split("; ") if c]
               for b in usage["binding"]]
    purchases = plan.purchases.assign(period=plan.purchases["period"].astype(str),
                                      sku=plan.purchases["sku"].astype(str))
    bought = purchases.groupby(["sku", "period"])["units"].sum()
    shares = {str(r["period"]): r for r in plan.shares.to_dict("records")}
    required = data.period_table["share"].to_numpy(dtype=float)
    out = {}
    for row in plan.delivered[plan.delivered["shortfall"] > 1e-9].itertuples(index=False):
        period = str(row.period)
        t = labels.index(period)
        causes = ["power cap"] if "power cap" in binding[t] else []
        before = [labels[tau] for tau in range(t + 1) if "budget" in binding[tau]]
        if before:
            causes.append("budget" if before[-1] == period
                          else f"budget ({', '.join(before[-3:])})")
        serving = [k for (k, w), c in data.cap.items() if w == row.workload and c > 0]
        buyable = {k: [tau for tau in range(t + 1 - int(data.skus.at[k, "lead"]))
                       if k in _reference_buyable(data, tau)] for k in serving}
        buyable = {k: ts for k, ts in buyable.items() if ts}
        if not buyable:
            causes.append("no buyable SKU")
        elif all(_reference_bought_up(data, bought, k, ts) for k, ts in buyable.items()):
            causes.append("supply (" + ", ".join(sorted(buyable)) + ")")
        s = shares.get(period)
        if s and s["vendors"] and required[t] > 0 and s["domestic"] <= required[t] + 1e-6:
            causes.append("domestic share")
        if s and s["vendors"] and data.vendor_cap is not None and \
                max(s["vendors"].values()) >= data.vendor_cap - 1e-6:
            causes.append("vendor cap")
        out[(period, row.workload)] = causes or ["cheaper to rent"]
    return out


@pytest.mark.parametrize("sets", [
    [], ["supply.acme-a=3", "supply.dragon-d=3"], ["supply.acme-a=0", "supply.dragon-d=0"],
    ["policy.budget=5000"], ["policy.budget=12000", "supply.acme-a=4"],
    ["policy.domestic_share=0.5", "supply.dragon-d=4"],
    ["policy.vendor_cap=0.5", "supply.dragon-d=4"],
    ["workloads[0].shortfall_penalty=500"], ["supply.acme-a=5", "policy.budget=9000"],
])
def test_causes_equal_the_per_row_definition(sets):
    data, plan = run(*(["policy.power_mw=1", *sets] if sets else []))
    usage = usage_table(data, plan)
    causes = shortfall_binding(data, plan, usage)
    assert causes, "every variant has a shortfall to explain"
    assert causes == _reference_causes(data, plan, usage)


# --- wired into the plan: Plan.usage, the plan JSON, the terminal, the report, the chart ---


@pytest.fixture(scope="module")
def planned():
    scenario = chipmix.load_scenario(CASE)
    plan = chipmix.plan(scenario, gap=0.0)
    return scenario, plan, json.loads(plan.to_json())


def test_plan_json_extends_the_format_with_usage_and_causes(planned):
    _, plan, d = planned
    assert [u["period"] for u in d["usage"]] == d["periods"]
    q2 = d["usage"][1]
    assert (q2["power_mw"], q2["power_cap_mw"], q2["binding"]) == (0.0015, 0.0015,
                                                                   ["power cap"])
    assert d["usage"][0]["capex"] in (17500, 12500) and d["usage"][0]["budget"] == 40000
    assert sum(u["capex"] for u in d["usage"]) == 17500  # either optimum (see above)
    causes = {r["period"]: r["binding"] for r in d["delivered"]}
    assert causes == {"2024Q1": [], "2024Q2": ["power cap"], "2024Q3": []}
    # the keys of the format are still there, with their meaning
    for r in d["delivered"]:
        assert {"period", "workload", "demand", "delivered", "shortfall"} <= set(r)
    fleet = {(r["period"], r["sku"]): r for r in d["fleet"]}
    assert fleet[("2024Q3", "acme-a")]["units"] == 10
    assert (fleet[("2024Q3", "acme-a")]["in_use"], fleet[("2024Q3", "acme-a")]["idle"]) == (0, 10)
    assert {(p["sku"], p["vendor"], p["origin"]) for p in d["purchases"]} == {
        ("acme-a", "Acme", "US"), ("dragon-d", "Dragon", "CN")}
    assert d["skus"] == [{"sku": "acme-a", "vendor": "Acme", "origin": "US"},
                         {"sku": "dragon-d", "vendor": "Dragon", "origin": "CN"}]
    assert d["currency"] == {"code": "USD", "per_usd": 1.0}


def test_plan_frames_are_typed(planned):
    _, plan, _ = planned
    for name in ("purchases", "fleet", "delivered", "shares", "usage", "allocation"):
        period = getattr(plan, name)["period"]
        assert isinstance(period.dtype, pd.CategoricalDtype) and period.dtype.ordered, name
        assert list(period.dtype.categories) == list(plan.periods)
    assert plan.purchases["vendor"].dtype == "string"
    assert plan.usage["power_mw"].dtype == "float64"
    assert plan.delivered["unit"].tolist() == ["PFLOPS bf16"] * 3
    shares = plan.vendor_shares
    assert set(shares.columns) == {"period", "vendor", "share"}
    assert shares["share"].dtype == "float64"


def test_terminal_shows_the_caps_and_what_binds(capsys):
    code = main(["plan", str(CASE)])
    out = capsys.readouterr().out
    assert code == 0
    assert "Power and budget against their caps" in out
    caps = next(line for line in out.splitlines() if line.startswith("│ 2024Q2") and "0.0015"
                in line)
    assert "power cap" in caps
    short = next(line for line in out.splitlines() if "20.00" in line and "15.00" in line)
    assert "power cap" in short and "PFLOPS" in short  # the unit (wrapped at 80 columns)


def test_report_marks_the_binding_constraint(planned):
    scenario, plan, d = planned
    html = plan_report(plan, scenario_context(scenario))
    t = tables(html)
    assert [r["binding"][0] for r in t["shortfalls"]] == ["power cap"]
    caps = {r["period"][0]: r for r in t["caps"]}
    assert caps["2024Q2"]["binding"][0] == "power cap" and caps["2024Q1"]["binding"][0] == ""
    for u in d["usage"]:
        assert caps[u["period"]]["power_mw"][1] == pytest.approx(u["power_mw"])
    # from the plan JSON alone (no scenario): the JSON's usage still gives the caps
    bare = tables(plan_report(d, {}))["caps"]
    assert [r["power_cap_mw"][1] for r in bare] == [u["power_cap_mw"] for u in d["usage"]]


def test_chart_has_a_power_panel_with_the_binding_cap(planned, tmp_path):
    scenario, plan, _ = planned
    text = plan_chart(plan, tmp_path / "plan.svg", scenario=scenario).read_text(
        encoding="utf-8")
    assert "Power drawn by the cards in use against the cap" in text
    assert "binds" in text
    assert "off the scale: 2024Q1 cap 1 MW" in text  # the 1 MW cap would flatten the bars


def test_exports_carry_the_caps(planned, tmp_path):
    scenario, plan, d = planned
    long = tidy(plan, scenario)
    power = long[(long["table"] == "usage") & (long["quantity"] == "power_mw")]
    assert power["value"].tolist() == pytest.approx([u["power_mw"] for u in d["usage"]])
    assert set(power["unit"]) == {"MW"}
    write_plan(plan, tmp_path / "plan.xlsx", scenario)
    sheet = pd.read_excel(tmp_path / "plan.xlsx", sheet_name="usage")
    assert list(sheet.columns) == ["period", "power_mw (MW)", "power_cap_mw (MW)",
                                   "capex (USD)", "budget (USD)", "binding"]
    assert sheet["binding"].fillna("").tolist() == ["", "power cap", ""]
