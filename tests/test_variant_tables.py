"""A sweep variant's tables without pandas groupbys are exactly what pandas would give.

``planner.extract._costs`` and ``studies.summary`` sum per period, vendor, origin, SKU and
workload with :func:`chipmix.planner.extract.group_sums` instead of ``groupby(...).sum()``, and
``model.data`` assembles supply, prices, availability and tranches from columns instead of
row dicts. Each is compared here, bit for bit, with the pandas formulation it replaced: on
random sums (sorted and unsorted labels, NaN, inf, magnitudes 1e-10..1e12) and on the plans
of the default's sweep variants, the examples and the test scenarios; every plan must also
pass the independent checker.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chipmix.checker import verify
from chipmix.inputs.overrides import apply_overrides
from chipmix.inputs.scenario import Scenario
from chipmix.inputs.yamlio import load_yaml
from chipmix.model.data import (
    AVAIL_COLUMNS,
    TRANCHE_COLUMNS,
    purchase_tranches,
    reusing_inputs,
    tranche_base,
)
from chipmix.pipeline.run import Run
from chipmix.planner.extract import (
    _costs,
    _share_amounts,
    extract,
    group_sums,
    group_sums_by_column,
    solution_tables,
)
from chipmix.resources import default_scenario_path
from chipmix.studies.summary import _summary, plan_summary, sku_table

ROOT = Path(__file__).resolve().parents[1]
CASES: list[tuple[Path, dict[str, Any]]] = [
    *[(p, {}) for p in sorted((ROOT / "examples").glob("*.yaml"))],
    *[(ROOT / "tests/data" / n, {}) for n in ("scenario_months.yaml", "report_case.yaml",
                                               "planner_small.yaml", "scenario_small.yaml")],
    *[(default_scenario_path(), v) for v in (
        {"policy.domestic_share": 0.35, "supply.nvidia-h20": 4000},
        {"policy.domestic_share": 0.95, "supply.nvidia-h20": 0},
        {"policy.share_basis": "spend", "policy.domestic_share": 0.6},
        {"policy.share_of": "fleet", "policy.share_basis": "units"},
        {"policy.budget": 5e8}, {"policy.vendor_cap": 0.5},
        {"workloads[1].exclude": ["Huawei"]}, {"horizon.end": "2026Q2"},
    )],
]


def _pandas_groupsum(labels: np.ndarray, values: np.ndarray, count: int) -> np.ndarray:
    return (pd.Series(values, dtype=float).groupby(labels).sum()
            .reindex(range(count), fill_value=0.0).to_numpy())


def _same_floats(a: np.ndarray, b: np.ndarray) -> bool:
    return bool(np.array_equal(a, b, equal_nan=True))


def test_group_sums_match_pandas_on_random_sums() -> None:
    rng = np.random.default_rng(17)
    for trial in range(1500):
        n, count = int(rng.integers(0, 250)), int(rng.integers(1, 14))
        labels = rng.integers(0, count, n)
        if trial % 2:
            labels = np.sort(labels)  # pandas sums sorted labels another way
        values = rng.standard_normal(n) * 10.0 ** rng.integers(-10, 12, n)
        if trial % 7 == 0 and n:
            values[rng.integers(0, n, 3)] = np.nan
        if trial % 11 == 0 and n:
            values[rng.integers(0, n)] = math.inf * rng.choice([-1, 1])
        assert _same_floats(group_sums(labels, values, count),
                            _pandas_groupsum(labels, values, count)), trial


def test_group_sums_by_column_match_pandas() -> None:
    rng = np.random.default_rng(29)
    for trial in range(600):
        rows, n, count = (int(rng.integers(1, 13)), int(rng.integers(1, 60)),
                          int(rng.integers(1, 12)))
        labels = rng.integers(0, count, n)
        if trial % 2:
            labels = np.sort(labels)
        values = rng.standard_normal((rows, n)) * 10.0 ** rng.integers(-8, 12, (rows, n))
        values[rng.random((rows, n)) < 0.3] = 0.0
        if trial % 9 == 0:
            values[0, 0] = np.nan
        ref = (pd.DataFrame(values.T, index=labels).groupby(level=0).sum()
               .reindex(range(count), fill_value=0.0).to_numpy().T)
        assert _same_floats(group_sums_by_column(labels, values, count), ref), trial


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 6),
                          st.floats(-1e15, 1e15) | st.just(math.nan)), max_size=60),
       st.booleans())
def test_group_sums_match_pandas(pairs: list[tuple[int, float]], ordered: bool) -> None:
    if ordered:
        pairs = sorted(pairs, key=lambda p: p[0])
    labels = np.asarray([p[0] for p in pairs], dtype=np.int64)
    values = np.asarray([p[1] for p in pairs], dtype=float)
    assert _same_floats(group_sums(labels, values, 7), _pandas_groupsum(labels, values, 7))


# -- the pandas formulations replaced (reference) ------------------------------------------------


def _costs_pandas(data, buy, use, port, short_index, short_values):
    T = len(data.labels)
    disc = data.period_table["discount"].to_numpy()
    capex_t = buy.groupby("t")["spend"].sum().reindex(range(T), fill_value=0.0).to_numpy()
    energy_t = ((use["units"] * use["energy_per_unit"]).groupby(use["t"]).sum()
                .reindex(range(T), fill_value=0.0).to_numpy() if len(use) else np.zeros(T))
    short = short_index.copy()
    short["value"] = short_values
    short["cost"] = short["value"] * short["workload"].map(data.workloads["penalty"])
    short_t = (short.groupby("t")["cost"].sum().reindex(range(T), fill_value=0.0).to_numpy()
               if len(short) else np.zeros(T))
    porting = float((port["port"] * port["z"]).sum()) if len(port) else 0.0
    parts = {"capex": capex_t, "energy": energy_t, "shortfall": short_t}
    cost = {k: float(v.sum()) for k, v in parts.items()}
    discounted = {k: float((v * disc).sum()) for k, v in parts.items()}
    return cost, discounted, porting


def _summary_pandas(plan, skus: pd.DataFrame, names: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    purchases = plan.purchases
    if len(purchases):
        vendor = purchases["sku"].map(skus["vendor"]).fillna("?")
        origin = purchases["sku"].map(skus["origin"]).fillna("?")
        units = purchases["units"].astype(float)
        spend = purchases["spend"].astype(float)
        out["units.total"] = float(units.sum())
        for prefix, values, keys in (("units.vendor", units, vendor),
                                     ("units.origin", units, origin),
                                     ("spend.vendor", spend, vendor),
                                     ("spend.origin", spend, origin)):
            for name, value in values.groupby(keys).sum().sort_index().items():
                out[f"{prefix}.{name}"] = float(value)
        out["units.sku"] = {str(k): float(v) for k, v in
                            units.groupby(purchases["sku"]).sum().items()}
    short = plan.delivered.groupby("workload")["shortfall"].sum()
    for name in dict.fromkeys([*names, *short.index]):
        value = float(short.get(name, 0.0))
        out[f"shortfall.{name}"] = 0.0 if abs(value) < 1e-9 else value
    return out


def _scenario(path: Path, overrides: dict[str, Any]) -> Scenario:
    data = load_yaml(path)
    if overrides:
        data = apply_overrides(data, overrides, schema=Scenario)
    return Scenario.from_dict(data, base_dir=path.parent, source_name=path.name)


def _parts(run: Run):
    """extract's inputs to ``_costs`` (as extract computes them)."""
    x, buy, use, port = solution_tables(run)
    return run.data, buy, use, port, run.index.short, run.model.values(x, "short")


@pytest.mark.parametrize("relax", [True, False])
@pytest.mark.parametrize(("path", "overrides"), CASES,
                         ids=[f"{p.stem}-{i}" for i, (p, _) in enumerate(CASES)])
def test_variant_tables_match_pandas(path: Path, overrides: dict[str, Any], relax: bool) -> None:
    scenario = _scenario(path, overrides)
    with reusing_inputs():
        run = Run.for_scenario(scenario, threads=1, relax=relax).prepare()
        data = run.data
        # supply, price: one block from columns, as a dict of columns gives
        for name in ("supply", "price"):
            frame = getattr(data, name)
            by_dict = pd.DataFrame({k: frame[k].tolist() for k in frame.columns},
                                   index=frame.index)
            pd.testing.assert_frame_equal(frame, by_dict, check_exact=True)
            assert frame.columns.dtype == by_dict.columns.dtype
        # availability, tranches: from columns, as from row dicts
        for name, columns in (("availability", AVAIL_COLUMNS), ("tranches", TRANCHE_COLUMNS)):
            frame = getattr(data, name)
            by_rows = pd.DataFrame(frame.to_dict("records"), columns=columns)
            pd.testing.assert_frame_equal(frame, by_rows, check_exact=True)
        # the tranches of a fresh prepare: as the general path (tranche_base) gives them
        pd.testing.assert_frame_equal(purchase_tranches(data),
                                      purchase_tranches(data, base=tranche_base(data)),
                                      check_exact=True)
        run.build().solve()
        plan = extract(run)
        if not plan.ok:
            return
        assert verify(plan, scenario).ok
        summary_plan = extract(run, summary=True)
        # costs: the same floats as the groupbys
        parts = _parts(run)
        cost, discounted = _costs(*parts)
        ref_cost, ref_discounted, porting = _costs_pandas(*parts)
        for key, value in ref_cost.items():
            assert cost[key] == value, key
            assert discounted[key] == ref_discounted[key], key
        assert cost["porting"] == porting == discounted["porting"]
        assert (cost, discounted) == (plan.cost, plan.discounted)
        assert (summary_plan.cost, summary_plan.discounted) == (plan.cost, plan.discounted)
        # vendor shares: the same sums as the groupby over SKUs' vendors
        _, buy, use, _, _, _ = parts
        amount = _share_amounts(data, use, buy, data.share_basis, data.share_measure)
        vendors = pd.DataFrame(amount.T, index=data.skus["vendor"].to_numpy()).groupby(
            level=0).sum()
        total = amount.sum(axis=1)
        for t, shares in enumerate(plan.shares["vendors"]):
            want = ({v: float(a / total[t]) for v, a in vendors[t].items() if a > 1e-12}
                    if total[t] > 1e-12 else {})
            assert list(shares.items()) == list(want.items()), t
        # the study row: the same sums, keys in the same order
        skus = sku_table(run.scenario)
        names = [w.name for w in scenario.workloads]
        ref = _summary_pandas(summary_plan, skus, names)
        row = plan_summary(summary_plan, skus, names)
        raw = _summary(summary_plan, skus, names)
        for key, value in ref.items():
            assert raw[key] == value, key
        assert [k for k in raw if k in ref] == list(ref)
        assert row == plan_summary(plan, skus, names)
