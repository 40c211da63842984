"""Substitution studies: compare, sweep (process pool and Dask), frontier, and their CLI.

The tiny scenario is solvable by hand: demand 10 PFLOPS (hard) in one quarter; ``acme-y``
(US) and ``dragon-x`` (CN, supply 6 per quarter) deliver 1 PFLOPS per card, cost 1000 and
2000 USD, one card per server, no energy price, no rules. With a required domestic share
``s`` the plan buys ``k = ceil(10 s)`` dragon-x and ``10 - k`` acme-y: cost 10000 + 1000 k;
above ``s = 0.6`` there are not enough dragon-x cards: infeasible.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest

from chipmix.errors import ChipmixError, InputError

CATALOG = """\
id,vendor,name,origin,datacenter,bf16_dense_tflops,memory_gb,memory_bw_tbps,interconnect_gbps,tdp_w,price_usd,server_size,supply_per_quarter,efficiency_training,efficiency_inference,sources
acme-y,Acme,Y,US,true,1000,80,1.0,0,100,1000,1,,1.0,1.0,https://example.com/y
dragon-x,Dragon,X,CN,true,1000,80,1.0,0,100,2000,1,6,1.0,1.0,https://example.com/x
"""

BASE = """\
name: tiny
horizon: {start: 2024Q1, end: 2024Q1}
catalogs: [catalog.csv]
rules: []
licenses: deny
workloads:
  - {name: train, kind: training, metric: bf16_pflops, demand: 10}
solver: {gap: 0}
"""


def cost(share: float) -> float:
    """The hand-solved optimum at a required domestic share."""
    return 10000.0 + 1000.0 * math.ceil(round(10 * share, 9))


@pytest.fixture()
def base(tmp_path: Path) -> Path:
    (tmp_path / "catalog.csv").write_text(CATALOG, encoding="utf-8")
    path = tmp_path / "base.yaml"
    path.write_text(BASE, encoding="utf-8")
    return path


def variant(base: Path, name: str, body: str) -> Path:
    path = base.parent / f"{name}.yaml"
    path.write_text(f"extends: base.yaml\nname: {name}\n{body}", encoding="utf-8")
    return path


# -- compare ----------------------------------------------------------------------------------


def test_compare_deltas_match_hand_computed_plans(base):
    import chipmix

    quarter = variant(base, "quarter", "policy: {domestic_share: 0.25}\n")
    short = variant(base, "short", "supply: {acme-y: 4}\n"
                                   "workloads:\n  - {name: train, kind: training, "
                                   "metric: bf16_pflops, demand: 12, shortfall_penalty: 5000}\n")
    frame = chipmix.compare([base, quarter, short])
    assert list(frame.columns) == ["unit", "tiny", "quarter", "short", "quarter vs tiny",
                                   "short vs tiny"]
    at = frame.loc
    assert frame.attrs["status"]["tiny"] == "optimal"
    assert frame.attrs["status"]["quarter vs tiny"] == ""
    # typed: every figure column is float64, the unit a string
    assert frame.drop(columns="unit").dtypes.eq("float64").all()
    assert frame["unit"].dtype == "string"
    # tiny: 10 acme-y; quarter: 3 dragon-x + 7 acme-y (share 3/10 >= 0.25)
    assert at["cost.total", "tiny"] == pytest.approx(10000)
    assert at["cost.total", "quarter"] == pytest.approx(13000)
    assert at["cost.total", "quarter vs tiny"] == pytest.approx(3000)
    assert at["cost.discounted_total", "quarter vs tiny"] == pytest.approx(3000)
    assert at["units.vendor.Dragon", "tiny"] == 0
    assert at["units.vendor.Dragon", "quarter vs tiny"] == pytest.approx(3)
    assert at["units.origin.US", "quarter vs tiny"] == pytest.approx(-3)
    assert at["spend.vendor.Dragon", "quarter"] == pytest.approx(6000)
    assert at["spend.origin.CN", "quarter vs tiny"] == pytest.approx(6000)
    assert at["domestic_share.2024Q1", "quarter"] == pytest.approx(0.3)
    # short: 4 acme-y + 6 dragon-x, 2 PFLOPS short at 5000 each
    assert at["cost.capex", "short"] == pytest.approx(4 * 1000 + 6 * 2000)
    assert at["cost.shortfall", "short"] == pytest.approx(10000)
    assert at["cost.total", "short vs tiny"] == pytest.approx(26000 - 10000)
    assert at["shortfall.train", "short"] == pytest.approx(2)
    assert at["shortfall.train", "tiny"] == 0
    assert frame.loc["cost.total", "unit"] == "USD"
    assert frame.loc["domestic_share.2024Q1", "unit"].startswith("share")


def test_compare_keeps_an_infeasible_scenario_as_a_column(base):
    import chipmix

    too_much = variant(base, "too-much", "policy: {domestic_share: 0.7}\n")
    frame = chipmix.compare([base, too_much], labels=["A", "B"])
    assert frame.attrs["status"]["B"] == "infeasible"
    assert frame.attrs["status"]["B vs A"] == "optimal -> infeasible"
    assert math.isnan(frame.loc["cost.total", "B"])
    assert math.isnan(frame.loc["cost.total", "B vs A"])


def test_compare_cli_json_csv_and_chart(base, tmp_path, capsys):
    from chipmix.cli import main

    quarter = variant(base, "quarter", "policy: {domestic_share: 0.25}\n")
    csv, png = tmp_path / "cmp.csv", tmp_path / "cmp.png"
    code = main(["compare", str(base), str(quarter), "--json", "--csv", str(csv),
                 "--chart", str(png), "--set", "solver.gap=0"])
    assert code == 0
    rows = {r["metric"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["cost.total"]["quarter vs tiny"] == pytest.approx(3000)
    assert rows["status"]["quarter"] == "optimal"  # the JSON keeps its status row
    assert pd.read_csv(csv)["metric"].tolist()[0] == "status"
    assert png.read_bytes()[:4] == b"\x89PNG"
    # parquet keeps the types: the tidy long form, numbers as float64
    parquet = tmp_path / "cmp.parquet"
    assert main(["compare", str(base), str(quarter), "-o", str(parquet),
                 "--set", "solver.gap=0"]) == 0
    capsys.readouterr()
    long = pd.read_parquet(parquet)
    assert list(long.columns) == ["metric", "unit", "scenario", "status", "value"]
    assert long["value"].dtype == "float64"
    wide = long.pivot(index="metric", columns="scenario", values="value")
    assert wide.at["cost.total", "quarter vs tiny"] == pytest.approx(3000)
    assert set(long.loc[long["scenario"] == "quarter", "status"]) == {"optimal"}


# -- ranges and grids -------------------------------------------------------------------------


def test_ranges_are_inclusive_and_exact():
    from chipmix.studies import expand_range, grid, split_list

    tenths = expand_range("0:1:0.1")
    assert tenths == [i / 10 for i in range(11)]  # 0.3, not 0.30000000000000004
    assert tenths[3] == 0.3 and len(tenths) == 11
    assert expand_range("0:1000:250") == [0, 250, 500, 750, 1000]
    assert all(isinstance(v, int) for v in expand_range("0:1000:250"))
    assert expand_range("1:0:-0.5") == [1.0, 0.5, 0.0]
    assert expand_range("0:1:0.3") == [0.0, 0.3, 0.6, 0.9]
    assert expand_range("0,500") is None
    with pytest.raises(InputError):
        expand_range("0:1:-0.1")
    assert split_list("deny, {fee: 0.15, cap: 10}, [a, b]") == [
        "deny", "{fee: 0.15, cap: 10}", "[a, b]"]
    assert list(grid({"a": [1, 2], "b": ["x", "y"]})) == [
        {"a": 1, "b": "x"}, {"a": 1, "b": "y"}, {"a": 2, "b": "x"}, {"a": 2, "b": "y"}]


def test_vary_paths_are_checked_before_anything_runs(base):
    import chipmix

    with pytest.raises(InputError) as info:
        chipmix.sweep(base, ["policy.domestic_shar=0:1:0.5"], workers=1)
    assert "--vary" in str(info.value) and "domestic_share" in str(info.value)
    with pytest.raises(InputError):
        chipmix.sweep(base, ["policy.vendor_cap=0.5", "policy.vendor_cap=0.6"], workers=1)


# -- sweeps -----------------------------------------------------------------------------------


def test_sweep_over_domestic_share_gives_non_decreasing_cost(base):
    import chipmix

    frame = chipmix.sweep(base, ["policy.domestic_share=0:0.8:0.1"], workers=1)
    assert frame["variant"].tolist() == list(range(9))
    assert frame["policy.domestic_share"].tolist() == [i / 10 for i in range(9)]
    feasible = frame[frame["status"] == "optimal"]
    assert feasible["policy.domestic_share"].max() == pytest.approx(0.6)
    assert feasible["objective"].is_monotonic_increasing
    for share, objective in zip(feasible["policy.domestic_share"], feasible["objective"],
                                strict=True):
        assert objective == pytest.approx(cost(share))
    # purchase mix and shares
    row = frame.set_index("variant").loc[3]
    assert row["units.vendor.Dragon"] == 3 and row["units.vendor.Acme"] == 7
    assert row["domestic_share.2024Q1"] == pytest.approx(0.3)
    assert row["top_skus"] == "acme-y: 7, dragon-x: 3"
    # infeasible variants are rows with their status and the diagnosis
    infeasible = frame[frame["policy.domestic_share"] > 0.6]
    assert set(infeasible["status"]) == {"infeasible"}
    assert infeasible["objective"].isna().all()
    assert infeasible["message"].str.contains("cannot be met").all()


def test_a_bad_variant_is_a_row_not_a_crash(base):
    import chipmix

    frame = chipmix.sweep(base, {"policy.domestic_share": "0.2,1.5,lots"}, workers=1)
    assert frame["status"].tolist() == ["optimal", "error", "error"]
    assert "policy.domestic_share" in frame.loc[1, "message"]
    assert "variant 1" in frame.loc[1, "message"]
    assert "lots" in frame.loc[2, "message"]


@pytest.mark.slow
def test_process_pool_and_dask_give_identical_results(base):
    import chipmix

    distributed = pytest.importorskip("dask.distributed")
    vary = {"policy.domestic_share": "0:0.8:0.4", "supply.dragon-x": [4, 8]}
    in_process = chipmix.sweep(base, vary, workers=1)
    pooled = chipmix.sweep(base, vary, workers=2)
    with distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        on_dask = chipmix.sweep(base, vary, dask=client)
    pd.testing.assert_frame_equal(pooled, in_process)
    pd.testing.assert_frame_equal(on_dask, pooled)
    assert on_dask["variant"].tolist() == list(range(6))
    assert on_dask["policy.domestic_share"].tolist() == [0, 0, 0.4, 0.4, 0.8, 0.8]
    assert on_dask["supply.dragon-x"].tolist() == [4, 8] * 3
    # with 4 dragon-x cards a share of 0.8 is out of reach, with 8 it is not
    assert on_dask["status"].tolist() == ["optimal"] * 4 + ["infeasible", "optimal"]
    assert on_dask["objective"].iloc[-1] == pytest.approx(cost(0.8))


def test_missing_dask_is_a_clear_error(monkeypatch):
    import sys

    from chipmix.pipeline.executor import import_distributed

    monkeypatch.setitem(sys.modules, "dask.distributed", None)
    with pytest.raises(ChipmixError, match=r"chipmix\[dask\]"):
        import_distributed()


def test_sweep_cli_writes_table_and_chart_and_json_only_on_stdout(base, tmp_path, capsys):
    from chipmix.cli import main
    from chipmix.present.export import read_table

    out, png = tmp_path / "sweep.csv", tmp_path / "sweep.png"
    code = main(["sweep", str(base), "--vary", "policy.domestic_share=0:0.4:0.2",
                 "--vary", "supply.dragon-x=6,8", "--workers", "1", "-o", str(out),
                 "--chart", str(png), "--json"])
    assert code == 0
    captured = capsys.readouterr()
    rows = json.loads(captured.out)
    assert [r["variant"] for r in rows] == list(range(6))
    assert "variants/s" in captured.err
    table = read_table(out)
    assert table["objective"].tolist() == [cost(0), cost(0), cost(0.2), cost(0.2), cost(0.4),
                                           cost(0.4)]
    assert png.stat().st_size > 1000


def test_sweep_cli_user_errors_exit_2_before_solving(base, tmp_path, capsys):
    from chipmix.cli import main

    assert main(["sweep", str(base)]) == 2
    assert "--vary" in capsys.readouterr().err
    vary = ["--vary", "policy.domestic_share=0,0.5"]
    assert main(["sweep", str(base), *vary, "--x", "policy.vendor_cap"]) == 2
    assert "policy.domestic_share" in capsys.readouterr().err
    assert main(["sweep", str(base), *vary, "-o", str(tmp_path / "r.txt")]) == 2
    assert main(["sweep", str(base), *vary, "--chart", str(tmp_path / "r.pdf")]) == 2
    assert main(["sweep", str(base), *vary, "--workers", "0"]) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["base.yaml", "catalog.csv"]


# -- frontier ---------------------------------------------------------------------------------


def test_frontier_finds_the_highest_feasible_share(base):
    import chipmix

    result = chipmix.frontier(base, steps=4, workers=1)
    assert 0.6 - 1e-3 <= result.max_share <= 0.6
    curve = result.curve
    assert curve["required_share"].iloc[0] == 0 and curve["required_share"].iloc[-1] == \
        result.max_share
    assert (curve["status"] == "optimal").all()
    assert curve["objective"].is_monotonic_increasing
    for share, objective in zip(curve["required_share"], curve["objective"], strict=True):
        assert objective == pytest.approx(cost(share))
    assert curve["premium"].iloc[0] == 0
    assert result.premium == pytest.approx(cost(result.max_share) - cost(0))
    assert curve["is_max"].tolist() == [False, False, False, True]
    probes = result.probes
    assert not probes.loc[probes["required_share"] == 1.0, "feasible"].item()
    assert probes.loc[probes["feasible"], "required_share"].max() >= result.max_share
    assert probes.loc[~probes["feasible"], "required_share"].min() > 0.6 - 1e-9


def test_frontier_edges(base):
    import chipmix

    everyone = chipmix.frontier(base, steps=3, workers=1, sets=["supply.dragon-x=100"])
    assert everyone.max_share == 1.0
    assert everyone.curve["required_share"].tolist() == [0.0, 0.5, 1.0]
    assert len(everyone.probes) == 2  # 0 and 1: no bisection needed
    nothing = chipmix.frontier(base, workers=1, sets=["supply.acme-y=1"])
    assert nothing.max_share is None and nothing.curve.empty


def test_frontier_cli(base, tmp_path, capsys):
    from chipmix.cli import main
    from chipmix.present.export import read_table

    out, svg = tmp_path / "frontier.xlsx", tmp_path / "frontier.svg"
    code = main(["frontier", str(base), "--steps", "3", "--workers", "1", "-o", str(out),
                 "--chart", str(svg), "--json"])
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    assert 0.599 <= data["max_share"] <= 0.6
    assert len(data["curve"]) == 3
    sheets = read_table(out)
    assert set(sheets) == {"frontier", "probes", "summary"}
    assert sheets["summary"]["max_share"].item() == data["max_share"]
    assert "<svg" in svg.read_text(encoding="utf-8")[:2000]
    code = main(["frontier", str(base), "--workers", "1", "--set", "supply.acme-y=1"])
    assert code == 1


def test_frontier_with_soft_demand_reports_the_share_met_without_shortfall(base):
    """Renting shortfall at 5000 USD/PFLOPS, every share has a plan: 6 dragon-x (all there
    is) in use and acme-y cards in use ``u`` with 6 / (6 + u) >= s, the rest rented.
    Without shortfall 10 cards must serve, so only s <= 0.6 is met; at s = 1 the plan
    rents 4 PFLOPS."""
    import chipmix

    soft = variant(base, "soft", "workloads:\n  - {name: train, kind: training, "
                                 "metric: bf16_pflops, demand: 10, shortfall_penalty: 5000}\n")
    result = chipmix.frontier(soft, steps=6, workers=1)
    assert result.max_share == 1.0
    assert result.max_share_met == 0.6  # exactly: the round share in the last bracket
    curve = result.curve.set_index("required_share")
    # round steps of 20 % and the highest share met without shortfall
    assert list(curve.index) == [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    assert curve.loc[1.0, "shortfall"] == pytest.approx(4 * 5000)
    assert curve.loc[1.0, "objective"] == pytest.approx(6 * 2000 + 4 * 5000)
    # s = 0.8: u <= 1.5, so 2 acme-y bought, 1.5 in use, 2.5 PFLOPS rented
    assert curve.loc[0.8, "objective"] == pytest.approx(6 * 2000 + 2000 + 2.5 * 5000)
    assert curve.loc[result.max_share_met, "shortfall"] == 0
    assert curve["is_max_met"].sum() == 1 and curve.loc[result.max_share_met, "is_max_met"]
    assert result.premium_met == pytest.approx(cost(result.max_share_met) - cost(0))
    assert result.shortfall_at_max == pytest.approx(20000)
    hard = result.probes[result.probes["hard_demand"]]
    assert len(hard) and hard["required_share"].max() <= 1.0
    assert not hard.loc[hard["required_share"] > 0.6 + 1e-9, "feasible"].any()


def test_frontier_cli_headline_names_the_share_met_without_shortfall(base, capsys):
    from chipmix.cli import main

    soft = variant(base, "soft", "workloads:\n  - {name: train, kind: training, "
                                 "metric: bf16_pflops, demand: 10, shortfall_penalty: 5000}\n")
    assert main(["frontier", str(soft), "--steps", "3", "--workers", "1"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "highest domestic share met without shortfall: 60.0 %" in text
    assert "with rented shortfall a plan exists up to 100.0 %, renting 20k USD" in text
    assert "◀ met" in text and "◀ max" in text
    assert main(["frontier", str(soft), "--steps", "3", "--workers", "1", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["max_share"] == 1.0 and data["max_share_met"] == 0.6
    assert data["shortfall_at_max"] == 20000
    assert [p["required_share"] for p in data["curve"]] == [0.0, 0.5, 0.6, 1.0]


def test_round_shares():
    from chipmix.studies.frontier import round_shares

    assert round_shares(1.0, 11) == pytest.approx([i / 10 for i in range(11)])
    assert round_shares(0.873, 11) == pytest.approx([i / 10 for i in range(9)])
    assert round_shares(0.55, 4) == pytest.approx([0, 0.2, 0.4])
    assert round_shares(0.3, 5) == pytest.approx([0, 0.1, 0.2, 0.3])
    assert round_shares(0.04, 3) == pytest.approx([0, 0.02, 0.04])
    assert round_shares(0.0, 5) == [0.0]


def test_frontier_from_a_later_period(base):
    import chipmix

    two = ["horizon.end=2024Q2", "supply.dragon-x={2024Q1: 0, 2024Q2: 6}"]
    whole = chipmix.frontier(base, steps=3, workers=1, sets=two)
    assert whole.max_share == 0.0  # no domestic card in 2024Q1
    assert whole.curve["required_share"].tolist() == [0.0]
    later = chipmix.frontier(base, steps=3, workers=1, sets=two, start="2024Q2")
    assert 0.6 - 1e-3 <= later.max_share <= 0.6
    assert later.start == "2024Q2"
    with pytest.raises(InputError):
        chipmix.frontier(base, workers=1, start="2030Q1")


@pytest.mark.parametrize(("share", "status"), [(0.3, "optimal"), (0.8, "infeasible")])
def test_a_variant_row_from_the_summary_extract_is_the_full_plans_row(base, share, status):
    # a study extracts only the tables its row reads (extract(run, summary=True)): the row
    # of a plan and of an infeasible variant are those of the full plan
    from chipmix.inputs.scenario import load_scenario
    from chipmix.pipeline.run import Run
    from chipmix.planner.extract import extract
    from chipmix.studies.summary import plan_summary, problem_text, sku_table

    path = variant(base, "v", f"policy: {{domestic_share: {share}}}\n")
    scenario = load_scenario(path)
    run = Run.for_scenario(scenario).build().solve()
    full, light = extract(run), extract(run, summary=True)
    assert full.status.value == light.status.value == status
    skus = sku_table(scenario)
    assert plan_summary(light, skus, ["train"]) == plan_summary(full, skus, ["train"])
    assert problem_text(light) == problem_text(full)
