"""HTML reports (``chipmix report``, ``plan --report``): content equals the plan JSON.

The fixture ``tests/data/report_case.yaml`` is hand-solved (see its description): a power cap
that forces a shortfall, a domestic share, idle cards and an unpriced SKU. The page is read
back with the stdlib HTML parser (``html_tables``); ``test_report_browser.py`` does the same
in a real browser.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from html_tables import parse, tables

import chipmix
from chipmix.cli import main
from chipmix.present.formatting import money, money_exact, percent
from chipmix.present.plan_report import plan_report, scenario_context

DATA = Path(__file__).parent / "data"
CASE = DATA / "report_case.yaml"
INFEASIBLE = DATA / "planner_infeasible.yaml"


@pytest.fixture(scope="module")
def case():
    scenario = chipmix.load_scenario(CASE)
    plan = chipmix.plan(scenario, sensitivity=True)
    data = json.loads(plan.to_json())
    html = plan_report(plan, scenario_context(scenario))
    return scenario, data, html


def test_the_fixture_is_the_hand_solved_optimum(case):
    _, data, _ = case
    assert data["status"] == "optimal"
    assert data["objective"] == pytest.approx(42500)
    assert data["cost"]["shortfall"] == pytest.approx(25000)


def test_self_contained_no_script_no_external_resource(case):
    html = case[2]
    assert html.startswith("<!DOCTYPE html>")
    assert parse(html).scripts == 0
    lowered = html.lower()
    for needle in ("<script", "<link", "<img", "<iframe", "@import", "url(http", "src="):
        assert needle not in lowered, needle
    # the only references are links a reader may follow: the sources
    hrefs = re.findall(r'href="([^"]*)"', html)
    assert hrefs and all(h.startswith("https://") for h in hrefs)
    assert "https://example.com/acme-a" in hrefs


def test_every_section_is_there(case):
    ids = set(parse(case[2]).ids)
    for section in ("headline", "purchases", "fleet", "delivery", "shares", "caps", "skus",
                    "sensitivity", "assumptions", "solver", "chart-fleet", "chart-power",
                    "chart-budget", "chart-shares", "chart-delivery-0"):
        assert section in ids, section


def test_purchases_and_cost_equal_the_json(case):
    _, data, html = case
    t = tables(html)
    rows = t["purchases"][:-1]  # the last row is the total
    assert len(rows) == len(data["purchases"])
    for row, want in zip(rows, data["purchases"], strict=True):
        assert row["period"][0] == want["period"] and row["sku"][0] == want["sku"]
        for key in ("servers", "units", "unit_price", "spend"):
            assert row[key][1] == pytest.approx(want[key]), key
        assert row["spend"][0] == money_exact(want["spend"])
    assert {r["sku"][0]: r["origin"][0] for r in rows} == {"acme-a": "US", "dragon-d": "CN"}
    total = t["purchases"][-1]
    assert total["spend"][1] == pytest.approx(sum(p["spend"] for p in data["purchases"]))
    cost = {r["item"][0]: r for r in t["cost"]}
    for key in ("capex", "energy", "porting", "shortfall"):
        assert cost[key]["nominal"][1] == pytest.approx(data["cost"][key])
    assert cost["total"]["discounted"][1] == pytest.approx(data["objective"])
    assert parse(html).cards["objective"] == money(data["objective"])


def test_fleet_in_use_and_idle_add_up_to_the_json_fleet(case):
    _, data, html = case
    rows = {r["period"][0]: r for r in tables(html)["fleet"]}
    for period in data["periods"]:
        installed = sum(f["units"] for f in data["fleet"] if f["period"] == period)
        used = sum(a["units"] for a in data["allocation"] if a["period"] == period)
        row = rows[period]
        assert row["installed"][1] == pytest.approx(installed)
        in_use = sum(v[1] or 0 for k, v in row.items() if k.endswith(".in_use"))
        idle = sum(v[1] or 0 for k, v in row.items() if k.endswith(".idle"))
        assert in_use == pytest.approx(used)
        assert in_use + idle == pytest.approx(installed)
    # hand-solved: 15 cards from 2024Q1; 2024Q3 serves 5 PFLOPS with the 5 domestic cards
    assert rows["2024Q3"]["Acme.idle"][1] == pytest.approx(10)
    assert rows["2024Q3"]["Dragon.in_use"][1] == pytest.approx(5)


def test_shortfall_table_has_units_and_the_rent(case):
    _, data, html = case
    short = tables(html)["shortfalls"]
    assert len(short) == 1
    row = short[0]
    assert (row["period"][0], row["workload"][0], row["unit"][0]) == ("2024Q2", "train",
                                                                      "PFLOPS bf16")
    assert row["shortfall"][1] == pytest.approx(5)
    assert row["cost"][1] == pytest.approx(25000)


def test_shares_against_the_policy(case):
    _, data, html = case
    rows = {r["period"][0]: r for r in tables(html)["shares"]}
    for s in data["shares"]:
        assert rows[s["period"]]["domestic"][1] == pytest.approx(s["domestic"])
        assert rows[s["period"]]["domestic"][0] == percent(s["domestic"], 1)
    assert rows["2024Q1"]["required"][1] is None  # no requirement before 2024Q2
    assert rows["2024Q2"]["required"][1] == pytest.approx(0.3)


def test_power_and_budget_against_their_caps(case):
    _, data, html = case
    rows = {r["period"][0]: r for r in tables(html)["caps"]}
    assert rows["2024Q2"]["power_mw"][1] == pytest.approx(15 * 100 / 1e6)  # 15 cards x 100 W
    assert rows["2024Q2"]["power_cap_mw"][1] == pytest.approx(0.0015)
    assert rows["2024Q2"]["power_use"][0] == "100.0 %"
    assert rows["2024Q3"]["power_cap_mw"][1] == pytest.approx(0.0015)  # a step holds
    # the acme-a may be bought in 2024Q1 or 2024Q2 at equal cost (no discounting)
    q1 = sum(p["spend"] for p in data["purchases"] if p["period"] == "2024Q1")
    assert q1 in (pytest.approx(12500), pytest.approx(17500))
    assert rows["2024Q1"]["capex"][1] == pytest.approx(q1)
    assert rows["2024Q1"]["budget"][1] == pytest.approx(40000)


def test_why_each_sku(case):
    rows = {r["sku"][0]: r for r in tables(case[2])["skus"]}
    assert rows["acme-a"]["verdict"][0] == "bought" and rows["acme-a"]["units"][1] == 10
    assert rows["dragon-d"]["verdict"][0] == "bought" and rows["dragon-d"]["units"][1] == 5
    assert rows["dragon-x"]["verdict"][0] == "not buyable"
    assert "no price" in rows["dragon-x"]["why"][0]


def test_assumptions_and_sensitivity(case):
    scenario, data, html = case
    assert "Report fixture, hand-solved." in html  # the scenario's description
    t = tables(html)
    assert set(re.findall(r'class="source" data-sku="([^"]+)"', html)) == {"acme-a", "dragon-d"}
    assert "sensitivity-demand" in t
    assert len(t["sensitivity-demand"]) == len(data["sensitivity"]["demand"])
    # a figure that does not exist (an open range, a step not re-solved) reads "—", a flag
    # yes / no: never Python's None / False
    texts = [cell[0] for key, rows in t.items() if key.startswith("sensitivity-")
             for row in rows for cell in row.values()]
    assert texts and not {"None", "False", "True"} & set(texts)
    from chipmix.present.plan_report import _sens_fmt

    assert [_sens_fmt("range_high")(None), _sens_fmt("bought")(False),
            _sens_fmt("step_usd")(72711.36)] == ["—", "no", "72,711.36"]


def run(capsys, *args) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_cli_report_of_a_plan_json_with_and_without_its_scenario(case, tmp_path, capsys):
    _, data, _ = case
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(json.dumps(data), encoding="utf-8")
    code, out, err = run(capsys, "report", plan_file, "-o", tmp_path / "bare.html")
    assert code == 0 and out == "" and "wrote" in err
    bare = (tmp_path / "bare.html").read_text(encoding="utf-8")
    assert "--scenario" in bare  # says how to add the assumptions
    rows = tables(bare)["purchases"][:-1]
    assert [r["spend"][1] for r in rows] == [p["spend"] for p in data["purchases"]]
    code, _, _ = run(capsys, "report", plan_file, "--scenario", CASE, "-o", tmp_path / "r.html")
    assert code == 0
    assert "Report fixture, hand-solved." in (tmp_path / "r.html").read_text(encoding="utf-8")


def test_cli_report_of_a_scenario_and_plan_report(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, "report", CASE)
    assert code == 0 and (tmp_path / "report_case.html").is_file()  # default name
    code, _, _ = run(capsys, "plan", CASE, "--json", "--report", tmp_path / "p.html")
    assert code == 0
    assert tables((tmp_path / "p.html").read_text(encoding="utf-8"))["purchases"]


@pytest.mark.parametrize("args, expected", [
    (["-o", "report.pdf"], "unsupported report format"),
    (["--set", "policy.budget=1"], "--set changes a scenario"),
])
def test_cli_report_bad_arguments_exit_2_without_a_file(args, expected, case, tmp_path,
                                                        capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(json.dumps(case[1]), encoding="utf-8")
    code, out, err = run(capsys, "report", plan_file, *args)
    assert code == 2 and expected in err and "Traceback" not in err
    assert not list(tmp_path.glob("*.htm*")) and not list(tmp_path.glob("*.pdf"))


def test_cli_report_refuses_a_json_that_is_not_a_plan(tmp_path, capsys):
    other = tmp_path / "other.json"
    other.write_text('{"a": 1}', encoding="utf-8")
    code, _, err = run(capsys, "report", other, "-o", tmp_path / "x.html")
    assert code == 2 and "not a plan" in err
    assert not (tmp_path / "x.html").exists()


def test_report_of_an_infeasible_scenario_carries_the_diagnosis(tmp_path, capsys):
    code, _, _ = run(capsys, "report", INFEASIBLE, "-o", tmp_path / "bad.html")
    assert code == 1
    html = (tmp_path / "bad.html").read_text(encoding="utf-8")
    assert 'id="diagnosis"' in html and "short" in html


# --------------------------------------------------------------------------------------------
# Study reports


SMALL = DATA / "planner_small.yaml"


def _numbers(html: str, table_id: str) -> dict[tuple[str, str], object]:
    rows = tables(html)[table_id]
    key = "metric" if table_id.startswith("compare") else "variant"
    return {(r[key][0], k): v[1] for r in rows for k, v in r.items() if k != key}


def test_compare_report_figures_equal_the_frame():
    from chipmix.present.export import to_records
    from chipmix.present.study_report import compare_report

    frame = chipmix.compare([CASE, SMALL])
    html = compare_report(frame)
    assert parse(html).scripts == 0
    cells = {**_numbers(html, "compare"), **_numbers(html, "compare-deltas")}
    assert not any(" vs " in column for _, column in _numbers(html, "compare"))
    for record in to_records(frame):
        for column, value in record.items():
            if column in ("metric", "unit"):
                continue
            got = cells[(record["metric"], column)]
            if isinstance(value, float):
                assert got == pytest.approx(value), (record["metric"], column)
            elif value is None:
                assert got is None
    assert "Cheapest: planner-small" in html
    assert {"chart-compare-cost", "chart-compare-units", "chart-compare-share"} <= set(
        parse(html).ids)


def test_sweep_and_frontier_reports_from_the_cli(tmp_path, capsys):
    code, _, _ = run(capsys, "sweep", CASE, "--vary", "policy.domestic_share=0,0.5,1",
                     "-w", "1", "--json", "--report", tmp_path / "sweep.html")
    assert code == 0
    html = (tmp_path / "sweep.html").read_text(encoding="utf-8")
    rows = tables(html)["sweep"]
    assert [r["policy.domestic_share"][1] for r in rows] == [0.0, 0.5, 1.0]
    assert all(r["status"][0] == "optimal" for r in rows)
    # hand-solved: 15 acme-a (15,000) or 8 dragon-d + 7 acme-a (19,000), plus 25,000 of rent
    assert rows[0]["objective"][1] == pytest.approx(40000)
    assert rows[1]["objective"][1] == pytest.approx(44000)
    code, _, _ = run(capsys, "frontier", CASE, "--steps", "3", "-w", "1", "--report",
                     tmp_path / "frontier.html")
    assert code == 0
    html = (tmp_path / "frontier.html").read_text(encoding="utf-8")
    curve = tables(html)["frontier"]
    assert curve[0]["required_share"][1] == 0.0 and len(curve) >= 3
    assert "chart-frontier" in parse(html).ids


def test_study_report_bad_extension_exits_2_before_solving(tmp_path, capsys):
    code, _, err = run(capsys, "compare", CASE, "--report", tmp_path / "c.txt")
    assert code == 2 and "unsupported report format" in err


def test_hedge_report_of_the_hand_solved_two_stage_case(tmp_path):
    """tests/test_hedge.py's two-stage case: buy 20 now; 20,000 in both scenarios; hindsight
    18,000 / 20,000; the base plan re-planned 18,000 / 25,000 (21,500 expected)."""
    from helpers import two_stage_hedge_scenario

    from chipmix.present.study_report import hedge_report

    scenario = two_stage_hedge_scenario(tmp_path)
    h = chipmix.hedge(scenario, gap=0.0)
    html = hedge_report(h)
    assert parse(html).scripts == 0
    t = tables(html)
    assert [(r["sku"][0], r["units"][1]) for r in t["here_and_now"]] == [("ca", 20)]
    rows = {r["name"][0]: r for r in t["scenarios"]}
    assert rows["ban=no"]["cost"][1] == pytest.approx(20000)
    assert rows["ban=no"]["regret"][1] == pytest.approx(2000)
    assert rows["ban=yes"]["deterministic"][1] == pytest.approx(25000)
    assert rows["ban=yes"]["vs_base"][1] == pytest.approx(-5000)
    cards = parse(html).cards
    assert cards["evpi"] == money(1000) and cards["hedging"] == money(1500)


def test_hedge_report_costs_read_in_one_unit_with_the_exact_amount_as_tooltip():
    """The bundled two-stage example's hedge (its JSON): the scenarios table shows every cost
    in M USD (``35.83``, the terminal's ``$35.8 M``), each cell's tooltip the amount to the
    dollar and its data-value the JSON's figure; no figure of the JSON's scenarios is lost
    (their costs by category and porting have a table of their own)."""
    import html as html_lib

    from chipmix.present.study_report import hedge_report

    d = json.loads((CASE.parent / "hedge_h20_2024.json").read_text(encoding="utf-8"))
    page = hedge_report(d)
    rows = tables(page)["scenarios"]
    assert len(rows) == len(d["scenarios"])
    heads = [html_lib.unescape(re.sub("<[^>]+>", "", h))
             for h in re.findall(r"<th[^>]*>(.*?)</th>", page.split('<table id="scenarios"')[1])[:8]]
    assert heads[3:] == [f"{h} (M\u00a0USD)" for h in ("hedge cost", "with hindsight", "regret",
                                                     "base plan", "hedge − base")]
    for row, s in zip(rows, d["scenarios"], strict=True):
        figures = {"cost": s["cost"], "wait_and_see": s["wait_and_see"],
                   "deterministic": s["deterministic"],
                   "regret": s["cost"] - s["wait_and_see"],
                   "vs_base": s["cost"] - s["deterministic"]}
        for key, value in figures.items():
            text, exact = row[key]
            assert exact == pytest.approx(value)
            assert float(text) == pytest.approx(value / 1e6, abs=0.005)
            assert f'title="{money_exact(value)}"' in page
        assert row["probability"][1] == pytest.approx(s["probability"])
    assert money(d["expected_cost"]) in page  # the headline, as the terminal prints it
    # each scenario's cost by category (the JSON's discounted_cost), adding up to its cost
    for row, s in zip(tables(page)["hedge-costs"], d["scenarios"], strict=True):
        parts = {k: v[1] for k, v in row.items() if k not in ("name", "ported")}
        assert parts == pytest.approx(s["discounted_cost"])
        assert sum(parts.values()) == pytest.approx(s["cost"])
        assert row["ported"][0] == "chat-inference → Huawei"
