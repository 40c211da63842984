"""Charts (chipmix.present.charts): every chart writes a non-empty PNG or SVG; other formats fail."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from chipmix.errors import InputError, PlanError

CATALOG = """\
id,vendor,name,origin,datacenter,bf16_dense_tflops,memory_gb,memory_bw_tbps,interconnect_gbps,tdp_w,price_usd,server_size,supply_per_quarter,efficiency_training,efficiency_inference,sources
acme-y,Acme,Y,US,true,1000,80,1.0,0,100,1000,1,,1.0,1.0,https://example.com/y
dragon-x,Dragon,X,CN,true,1000,80,1.0,0,100,2000,1,6,1.0,1.0,https://example.com/x
"""

SCENARIO = """\
name: two-quarters
horizon: {start: 2024Q1, end: 2024Q2}
catalogs: [catalog.csv]
rules: []
licenses: deny
workloads:
  - {name: train, kind: training, metric: bf16_pflops, demand: {2024Q1: 10, 2024Q2: 14}}
policy: {domestic_share: 0.3}
"""


@pytest.fixture(scope="module")
def scenario(tmp_path_factory):
    from chipmix.inputs.scenario import load_scenario

    folder = tmp_path_factory.mktemp("charts")
    (folder / "catalog.csv").write_text(CATALOG, encoding="utf-8")
    (folder / "s.yaml").write_text(SCENARIO, encoding="utf-8")
    return load_scenario(folder / "s.yaml")


@pytest.fixture(scope="module")
def plan(scenario):
    import chipmix

    result = chipmix.plan(scenario)
    assert result.ok
    return result


def assert_image(path: Path) -> None:
    data = path.read_bytes()
    assert len(data) > 2000
    if path.suffix == ".png":
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
    else:
        assert b"<svg" in data[:4000]


@pytest.mark.parametrize("suffix", [".png", ".svg"])
def test_plan_chart(tmp_path, plan, scenario, suffix):
    from chipmix.present.charts import plan_chart

    path = plan_chart(plan, tmp_path / f"plan{suffix}", scenario=scenario)
    assert_image(path)


def test_plan_chart_without_scenario_labels_vendors_from_ids(tmp_path, plan):
    from chipmix.present.charts import plan_chart, sku_vendors

    assert sku_vendors(["nvidia-h20", "acme-y"]) == {"nvidia-h20": "Nvidia", "acme-y": "Acme"}
    assert_image(plan_chart(plan, tmp_path / "plan.png"))


def test_plan_chart_refuses_a_plan_without_decisions(tmp_path, scenario):
    import chipmix
    from chipmix.inputs.scenario import Scenario
    from chipmix.present.charts import plan_chart

    data = scenario.to_dict()
    data["policy"]["domestic_share"] = 0.9
    infeasible = chipmix.plan(Scenario.from_dict(data, base_dir=scenario.base_dir),
                              diagnose=False)
    with pytest.raises(PlanError):
        plan_chart(infeasible, tmp_path / "plan.png")


@pytest.mark.parametrize("suffix", [".png", ".svg"])
def test_compare_chart(tmp_path, suffix):
    from chipmix.present.charts import compare_chart
    from chipmix.studies import comparison_frame

    a = {"status": "optimal", "cost.total": 10000.0, "cost.discounted_total": 9800.0,
         "cost.capex": 10000.0, "cost.energy": 0.0, "cost.porting": 0.0,
         "cost.shortfall": 0.0, "units.vendor.Nvidia": 10.0, "domestic_share.2024Q1": 0.0,
         "domestic_share.2024Q2": 0.1}
    b = {**a, "status": "optimal", "cost.total": 13000.0, "cost.capex": 12000.0,
         "cost.shortfall": 1000.0, "units.vendor.Nvidia": 7.0, "units.vendor.Huawei": 3.0,
         "domestic_share.2024Q1": 0.3}
    c = {"status": "infeasible", "cost.total": math.nan}
    frame = comparison_frame([a, b, c], ["base", "half-domestic", "no-h20-licence"])
    assert_image(compare_chart(frame, tmp_path / f"compare{suffix}"))


def sweep_frame() -> pd.DataFrame:
    rows = []
    for i, (share, supply) in enumerate((s, h) for s in (0.0, 0.5, 1.0) for h in (0, 500)):
        ok = not (share == 1.0 and supply == 0)
        rows.append({"variant": i, "policy.domestic_share": share, "supply.nvidia-h20": supply,
                     "status": "optimal" if ok else "infeasible",
                     "objective": 1e8 * (1 + share) - supply * 1e3 if ok else math.nan})
    return pd.DataFrame(rows)


@pytest.mark.parametrize("suffix", [".png", ".svg"])
def test_sweep_chart(tmp_path, suffix):
    from chipmix.present.charts import sweep_chart

    assert_image(sweep_chart(sweep_frame(), tmp_path / f"sweep{suffix}"))
    assert_image(sweep_chart(sweep_frame(), tmp_path / f"by-supply{suffix}",
                             x="supply.nvidia-h20"))


def test_sweep_chart_unknown_x(tmp_path):
    from chipmix.present.charts import sweep_chart

    with pytest.raises(InputError, match="policy.domestic_share"):
        sweep_chart(sweep_frame(), tmp_path / "s.png", x="policy.nope")


@pytest.mark.parametrize("suffix", [".png", ".svg"])
def test_frontier_chart(tmp_path, suffix):
    from chipmix.present.charts import frontier_chart
    from chipmix.studies import Frontier

    curve = pd.DataFrame({"required_share": [0.0, 0.3, 0.6], "status": ["optimal"] * 3,
                          "objective": [1.0e8, 1.2e8, 1.6e8], "premium": [0.0, 2e7, 6e7],
                          "is_max": [False, False, True]})
    result = Frontier(scenario="tiny", curve=curve, probes=pd.DataFrame(), max_share=0.6,
                      tolerance=1e-3, share_basis="compute", start="2024Q1")
    assert_image(frontier_chart(result, tmp_path / f"frontier{suffix}"))


@pytest.mark.parametrize("name", ["chart.pdf", "chart.jpg", "chart"])
def test_other_extensions_are_input_errors(tmp_path, plan, name):
    from chipmix.present.charts import plan_chart, sweep_chart

    with pytest.raises(InputError, match=r"\.png or \.svg"):
        plan_chart(plan, tmp_path / name)
    with pytest.raises(InputError):
        sweep_chart(sweep_frame(), tmp_path / name)
    assert list(tmp_path.iterdir()) == []


def test_plan_chart_shows_idle_cards(tmp_path):
    """report_case.yaml idles 5 cards in 2024Q1 and the 10 acme-a in 2024Q3."""
    from pathlib import Path

    import chipmix
    from chipmix.present.charts import plan_chart

    scenario = chipmix.load_scenario(Path(__file__).parent / "data" / "report_case.yaml")
    path = plan_chart(chipmix.plan(scenario), tmp_path / "plan.svg", scenario=scenario)
    text = path.read_text(encoding="utf-8")
    assert "Acme idle" in text and "in use (solid) and idle (hatched)" in text
