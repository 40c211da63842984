"""``--set key.path=value`` overrides (chipmix.inputs.overrides): typing, paths, errors."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from chipmix.errors import InputError
from chipmix.inputs.overrides import Segment, apply_overrides, apply_sets, parse_path, typed_value
from chipmix.inputs.scenario import Scenario

CATALOG = """\
id,vendor,name,origin,datacenter,bf16_dense_tflops,memory_gb,memory_bw_tbps,interconnect_gbps,tdp_w,price_usd,server_size,supply_per_quarter,efficiency_training,efficiency_inference,sources
acme-y,Acme,Y,US,true,1000,80,1.0,0,100,1000,1,,1.0,1.0,https://example.com/y
dragon-x,Dragon,X,CN,true,1000,80,1.0,0,100,2000,1,6,1.0,1.0,https://example.com/x
"""

SCENARIO = """\
name: tiny
horizon: {start: 2024Q1, end: 2024Q4}
catalogs: [catalog.csv]
rules: []
licenses: deny
workloads:
  - {name: train, kind: training, metric: bf16_pflops, demand: {2024Q1: 10, 2024Q3: 12}}
  - {name: serve, kind: inference, metric: memory_bw_tbps, demand: 2, min_memory_gb: 40}
supply: {dragon-x: 6}
porting: {Dragon: 1000}
policy: {domestic_share: {2024Q1: 0.1, 2024Q3: 0.2}, vendor_cap: 0.9}
"""


@pytest.fixture()
def scenario_file(tmp_path: Path) -> Path:
    (tmp_path / "catalog.csv").write_text(CATALOG, encoding="utf-8")
    path = tmp_path / "tiny.yaml"
    path.write_text(SCENARIO, encoding="utf-8")
    return path


@pytest.fixture()
def data(scenario_file: Path) -> dict:
    from chipmix.inputs.yamlio import load_yaml

    return load_yaml(scenario_file)


# -- paths ------------------------------------------------------------------------------------


def test_parse_path_segments():
    assert parse_path("policy.domestic_share.2025Q1") == [
        Segment(key="policy"), Segment(key="domestic_share"), Segment(key="2025Q1")]
    assert parse_path("workloads[0].demand") == [
        Segment(key="workloads"), Segment(index=0), Segment(key="demand")]
    assert parse_path("workloads[llm-training].min_memory_gb") == [
        Segment(key="workloads"), Segment(name="llm-training"), Segment(key="min_memory_gb")]
    assert parse_path("workloads[-1]") == [Segment(key="workloads"), Segment(index=-1)]


@pytest.mark.parametrize("bad", ["", "a..b", "a.", "[0]", "workloads[0", "workloads[]",
                                 "a]b", "workloads[0]x"])
def test_malformed_paths_are_input_errors(bad):
    with pytest.raises(InputError):
        parse_path(bad)


# -- typed values -----------------------------------------------------------------------------


def test_values_are_yaml_scalars_and_flow_collections(data):
    out = apply_sets(data, [
        "policy.vendor_cap=0.5",
        "policy.budget=1e6",  # YAML 1.2 float, a string for PyYAML's 1.1 rules
        "ported=[Acme, Dragon]",
        "supply.acme-y={2024Q1: 10, 2024Q3: 20}",
        "licenses.acme-y={fee: 0.15, cap: 100}",
    ], schema=Scenario)
    assert out["policy"]["vendor_cap"] == 0.5
    assert out["policy"]["budget"] == 1e6 and isinstance(out["policy"]["budget"], float)
    assert out["ported"] == ["Acme", "Dragon"]
    assert out["supply"]["acme-y"] == {"2024Q1": 10, "2024Q3": 20}
    assert out["licenses"] == {"default": "deny", "acme-y": {"fee": 0.15, "cap": 100}}


def test_text_fields_keep_the_text_as_written(data):
    out = apply_sets(data, ["home=NO", "name=2024", "description=true", "buyer=soe"],
                     schema=Scenario)
    assert out["home"] == "NO"  # not YAML's false
    assert out["name"] == "2024"
    assert out["description"] == "true"
    assert out["buyer"] == "soe"
    assert typed_value(data, "workloads[0].name", "123", schema=Scenario) == "123"
    assert typed_value(data, "policy.vendor_cap", "0.25", schema=Scenario) == 0.25


def test_list_items_by_position_and_by_name(data):
    out = apply_sets(data, ["workloads[serve].min_memory_gb=80",
                            "workloads[0].demand.2024Q4=30",
                            "workloads[-1].shortfall_penalty=5000"], schema=Scenario)
    assert out["workloads"][1]["min_memory_gb"] == 80
    assert out["workloads"][0]["demand"] == {"2024Q1": 10, "2024Q3": 12, "2024Q4": 30}
    assert out["workloads"][1]["shortfall_penalty"] == 5000


def test_going_below_short_forms(data):
    out = apply_sets(data, [
        "workloads[serve].demand.2024Q3=4",   # scalar step map -> {start: 2, 2024Q3: 4}
        "supply.dragon-x.2024Q2=8",
        "porting.Dragon.train=500",           # scalar porting cost -> one per workload
        "licenses.default=allow",             # 'deny' -> {default: ...}
    ], schema=Scenario)
    assert out["workloads"][1]["demand"] == {"2024Q1": 2, "2024Q3": 4}
    assert out["supply"]["dragon-x"] == {"2024Q1": 6, "2024Q2": 8}
    assert out["porting"]["Dragon"] == {"train": 500, "serve": 1000}
    assert out["licenses"] == {"default": "allow"}


def test_period_keys_match_existing_spelling(data):
    out = apply_sets(data, ["policy.domestic_share.2024q3=0.5"], schema=Scenario)
    assert out["policy"]["domestic_share"] == {"2024Q1": 0.1, "2024Q3": 0.5}


def test_null_removes_the_key_and_missing_parents_are_created(data):
    out = apply_sets(data, ["policy.vendor_cap=null", "inventory.acme-y=4"], schema=Scenario)
    assert "vendor_cap" not in out["policy"]
    assert out["inventory"] == {"acme-y": 4}


def test_input_is_not_modified(data):
    before = copy.deepcopy(data)
    apply_sets(data, ["policy.vendor_cap=0.5", "workloads[0].demand.2024Q4=3"], schema=Scenario)
    apply_overrides(data, {"supply.dragon-x.2024Q2": 1}, schema=Scenario)
    assert data == before


# -- errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("item", "words"), [
    ("policy.domestic_shar=0.5", ["policy.domestic_shar", "unknown key", "domestic_share"]),
    ("polcy.vendor_cap=0.5", ["polcy", "did you mean 'policy'"]),
    ("workloads[trian].demand=1", ["workloads[trian]", "did you mean 'train'"]),
    ("workloads[7].demand=1", ["workloads[7]", "out of range", "0..1"]),
    ("workloads.demand=1", ["workloads.demand", "workloads[0].demand"]),
    ("name.first=x", ["name.first", "single value"]),
    ("licenses.acme-y.fe=0.1", ["licenses.acme-y.fe", "did you mean 'fee'"]),
    ("policy.vendor_cap", ["missing '='"]),
    ("ported=[a, b", ["ported", "not valid YAML"]),
])
def test_bad_paths_name_the_path_and_the_closest_key(data, item, words):
    with pytest.raises(InputError) as info:
        apply_sets(data, [item], schema=Scenario)
    text = str(info.value)
    assert text.startswith("--set")
    for word in words:
        assert word in text


# -- with the loader --------------------------------------------------------------------------


def test_load_scenario_applies_sets_before_validation(scenario_file):
    from chipmix.inputs.scenario import load_scenario

    scenario = load_scenario(scenario_file, sets=["policy.vendor_cap=0.5",
                                                  "workloads[train].demand=20",
                                                  "policy.domestic_share=0.3"])
    assert scenario.policy.vendor_cap == 0.5
    assert list(scenario.workloads[0].demand.values()) == [20.0]
    assert list(scenario.policy.domestic_share.values()) == [0.3]


@pytest.mark.parametrize(("item", "where"), [
    ("policy.domestic_share=1.5", "policy.domestic_share"),
    ("workloads[serve].min_memory_gb=lots", "workloads[1].min_memory_gb"),
    ("supply.nvidia-h99=5", "supply.nvidia-h99"),
])
def test_bad_values_are_reported_by_the_loader_with_the_key_path(scenario_file, item, where):
    from chipmix.inputs.scenario import load_scenario

    with pytest.raises(InputError) as info:
        load_scenario(scenario_file, sets=[item])
    assert where in str(info.value)


def test_cli_plan_with_a_bad_set_path_exits_2(scenario_file, capsys):
    from chipmix.cli import main

    code = main(["plan", str(scenario_file), "--set", "policy.domestic_shar=0.5"])
    assert code == 2
    assert "domestic_share" in capsys.readouterr().err
