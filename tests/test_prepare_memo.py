"""What ``prepare`` derives once per timeline is exactly what it derives afresh.

A sweep's, stress run's or hedge's scenarios share one catalog and timeline; ``prepare`` keeps
the parts of its work that read only the catalog, the rules and a few scenario fields
(``model.data._derived``). Every variant below, prepared after the others on the shared
timeline, must give the same planning data, table for table, as a prepare of its own.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import pandas as pd
import pytest

from chipmix.inputs.overrides import apply_overrides
from chipmix.inputs.scenario import Scenario
from chipmix.inputs.yamlio import load_yaml
from chipmix.model import data as data_mod
from chipmix.model.data import make_timeline, prepare, reusing_inputs
from chipmix.resources import default_scenario_path

VARIANTS: list[dict[str, object]] = [
    {},
    {"supply.nvidia-h20": 3000},
    {"supply.nvidia-h20": 0},
    {"supply.huawei-ascend-910b": {"2023Q3": 100, "2024Q3": 5000}},
    {"prices.nvidia-h20": 9000},
    {"prices.nvidia-h20": {"2023Q3": 9000, "2025Q1": 7000}},
    {"price_decline_per_year": 0.25},
    {"lifetime.default": 6},
    {"lifetime.nvidia-a800": 4},
    {"retire.nvidia-a800": "2024Q3"},
    {"inventory.nvidia-a800": 800},
    {"licenses": "allow"},
    {"workloads[0].min_memory_gb": 90},
    {"workloads[1].exclude": ["Huawei"]},
    {"workloads[1].metric": "memory_tb"},
    {"workloads[0].kind": "inference"},
    {"performance": [{"sku": "huawei-ascend-910b", "workload": "llm-training", "value": 0.3}]},
    {"horizon.end": "2026Q2"},
    {"horizon.start": "2023Q1"},
    {"policy.domestic_share": 0.5},
    {"home": "US"},
    {"ported": ["Nvidia", "Huawei"]},
    {"ported": []},
    {"porting.MetaX": {"llm-training": 5.0e6}},
    {"workloads[0].exclude": ["Kunlunxin"]},
    {"workloads[1].demand": {"2023Q3": 10, "2024Q1": 40}},
    {"workloads[0].shortfall_penalty": 1.0e5},
]


def _scenario(overrides: dict[str, object]) -> Scenario:
    path = default_scenario_path()
    data = apply_overrides(load_yaml(path), overrides, schema=Scenario) if overrides else \
        load_yaml(path)
    return Scenario.from_dict(data, base_dir=path.parent, source_name=str(path))


def _same(a: data_mod.PlanningData, b: data_mod.PlanningData) -> None:
    for f in dataclasses.fields(a):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if isinstance(x, pd.DataFrame):
            pd.testing.assert_frame_equal(x, y, check_exact=True, obj=f.name)
        elif isinstance(x, pd.Series):
            pd.testing.assert_series_equal(x, y, check_exact=True, obj=f.name)
        elif f.name != "scenario":
            assert x == y, f.name


def test_variants_on_a_shared_timeline_match_their_own_prepare() -> None:
    """As a sweep's worker prepares them: one catalog and timeline per rule inputs."""
    scenarios = [_scenario(v) for v in VARIANTS]
    # every variant twice, the second time after all the others (entries of others around)
    with reusing_inputs():
        for scenario in scenarios + scenarios[::-1]:
            _same(prepare(scenario), _alone(scenario))
        timeline = data_mod._reused_inputs(scenarios[0])[1]
    assert len(data_mod._DERIVED[timeline].entries) > 2 * len(scenarios[0].load_catalog().frame)


def _alone(scenario: Scenario, **kw: object) -> data_mod.PlanningData:
    with reusing_inputs({}):  # a cache of its own: a catalog and timeline made for it
        return prepare(scenario, **kw)  # type: ignore[arg-type]


def test_windows_are_part_of_the_key() -> None:
    base = _scenario({})
    catalog = base.load_catalog()
    timeline, _ = make_timeline(base, catalog.frame)
    periods = list(base.periods)
    windows = {3: (periods[3].start + dt.timedelta(days=20), periods[3].end)}
    prepare(base, catalog=catalog, timeline=timeline)
    shared = prepare(base, catalog=catalog, timeline=timeline, windows=windows)
    _same(shared, _alone(base, windows=windows))
    full = prepare(base, catalog=catalog, timeline=timeline)
    assert not full.supply.equals(shared.supply)


def test_returned_tables_are_copies() -> None:
    base = _scenario({})
    catalog = base.load_catalog()
    timeline, count = make_timeline(base, catalog.frame)
    first = prepare(base, catalog=catalog, timeline=timeline)
    assert first.rule_count == count > 0  # counted also when the timeline is passed
    first.skus.loc[:, "server"] = 1
    first.cap.loc[:] = 0.0
    first.port.loc[:] = 0.0
    first.demand.loc[:, :] = 0.0
    first.supply.loc[:, :] = 0.0
    first.price.loc[:, :] = 0.0
    first.availability.loc[:, "status"] = "denied"
    first.tranches.loc[:, "supply"] = 0.0
    first.workloads.loc[:, "penalty"] = 0.0
    _same(prepare(base, catalog=catalog, timeline=timeline), _alone(base))


@pytest.mark.parametrize("entries", [1, 3])
def test_a_small_store_drops_entries_and_stays_exact(monkeypatch: pytest.MonkeyPatch,
                                                     entries: int) -> None:
    monkeypatch.setattr(data_mod, "DERIVED_ENTRIES", entries)
    scenarios = [_scenario(v) for v in VARIANTS[:5]]
    catalog = scenarios[0].load_catalog()
    timeline, _ = make_timeline(scenarios[0], catalog.frame)
    for scenario in scenarios + scenarios:
        _same(prepare(scenario, catalog=catalog, timeline=timeline), _alone(scenario))
    assert len(data_mod._DERIVED[timeline].entries) == entries
