"""Shared test helpers (one module; fixtures live in ``conftest.py``).

Tiny scenarios are built in a temporary folder: a catalog CSV written from a few SKU rows
(``planner_sku`` fills every required column with easy numbers: 1 PFLOPS bf16 per card at
efficiency 1, one card per server, 1000 USD, 100 W), and a scenario dict that names that CSV
by path, with ``rules: []`` unless a test writes its own rule set.

Every planner test checks its plan with the independent checker through
:func:`assert_verified` (``chipmix.verify``).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

#: Solvers every hand-solved case runs on (HiGHS direct and CBC through PuLP).
PLANNER_SOLVERS = ("highs", "cbc")

#: Columns of the catalogs the planner tests write, in formats.md order.
PLANNER_CATALOG_COLUMNS = (
    "id", "vendor", "name", "origin", "datacenter", "release",
    "fp8_dense_tflops", "fp16_dense_tflops", "bf16_dense_tflops", "int8_dense_tops",
    "memory_gb", "memory_bw_tbps", "interconnect_gbps",
    "tdp_w", "price_usd", "server_size", "supply_per_quarter", "lead_quarters",
    "efficiency_training", "efficiency_inference", "sources",
)

_SKU_DEFAULTS: dict[str, Any] = {
    "origin": "US",
    "datacenter": "true",
    "bf16_dense_tflops": 1000,  # 1 PFLOPS per card at efficiency 1
    "memory_gb": 80,
    "memory_bw_tbps": 1.0,
    "interconnect_gbps": 0,
    "tdp_w": 100,
    "price_usd": 1000,
    "server_size": 1,
    "efficiency_training": 1.0,
    "efficiency_inference": 1.0,
}


def planner_sku(sku_id: str, vendor: str | None = None, **fields: Any) -> dict[str, Any]:
    """One catalog row with easy defaults; ``None`` leaves a cell empty (unknown)."""
    row = {"id": sku_id, "vendor": vendor or sku_id.split("-")[0].capitalize(),
           "name": sku_id.upper(), **_SKU_DEFAULTS,
           "sources": f"https://example.com/{sku_id}"}
    row.update(fields)
    return row


def write_planner_catalog(folder: Path, rows: Iterable[Mapping[str, Any]],
                          name: str = "planner_catalog.csv") -> Path:
    """Write ``rows`` (from :func:`planner_sku`) as a catalog CSV; returns its path."""
    rows = list(rows)
    unknown = {key for row in rows for key in row} - set(PLANNER_CATALOG_COLUMNS)
    assert not unknown, f"add {sorted(unknown)} to PLANNER_CATALOG_COLUMNS"
    path = Path(folder) / name
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(PLANNER_CATALOG_COLUMNS)
        for row in rows:
            writer.writerow(["" if row.get(c) is None else row.get(c)
                             for c in PLANNER_CATALOG_COLUMNS])
    return path


def write_planner_rules(folder: Path, text: str, name: str = "planner_rules.yaml") -> Path:
    """Write one rule-set YAML (rules.md format); returns its path."""
    path = Path(folder) / name
    path.write_text(text, encoding="utf-8")
    return path


def planner_rule(rule_id: str, effective: str, controls: str, *, authority: str = "US",
                 replaces: str = "[]") -> str:
    """Rule-set YAML text for a test rule; ``controls`` is the YAML list, indented 2."""
    return (
        f"id: {rule_id}\n"
        f"title: test rule {rule_id}\n"
        f"authority: {authority}\n"
        f"effective: {effective}\n"
        f"replaces: {replaces}\n"
        "applies_to: [CN]\n"
        "confidence: codified\n"
        f"sources: [https://example.com/{rule_id}]\n"
        "controls:\n"
        f"{controls}"
    )


def train(demand: Any, name: str = "train", **keys: Any) -> dict[str, Any]:
    """A training workload in bf16 PFLOPS (1 per default card)."""
    return {"name": name, "kind": "training", "metric": "bf16_pflops", "demand": demand, **keys}


def planner_scenario_dict(catalog: Path | str, workloads: list[dict[str, Any]],
                          **keys: Any) -> dict[str, Any]:
    """Scenario data: one quarter (2024Q1), no rules, licences denied, the given catalog."""
    data: dict[str, Any] = {
        "name": "planner-test",
        "horizon": {"start": "2024Q1", "end": "2024Q1"},
        "home": "CN",
        "catalogs": [str(catalog)],
        "rules": [],
        "licenses": "deny",
        "workloads": workloads,
    }
    data.update(keys)
    return data


def make_scenario(folder: Path, skus: Iterable[Mapping[str, Any]], workloads: list[dict[str, Any]],
                  **keys: Any):
    """Write the catalog to ``folder`` and validate the scenario (``Scenario.from_dict``)."""
    from chipmix.inputs.scenario import Scenario

    catalog = write_planner_catalog(folder, skus)
    data = planner_scenario_dict(catalog, workloads, **keys)
    return Scenario.from_dict(data, base_dir=folder)


def three_sku_scenario(folder: Path, **keys: Any):
    """acme-a, bolt-b (2-card servers) and the domestic dragon-d over 2024, a 30 % domestic
    share from 2024Q2, porting to Dragon 5000 USD, 8 % discount (reuse and stress tests)."""
    skus = [planner_sku("acme-a", supply_per_quarter=12, price_usd=1000),
            planner_sku("bolt-b", supply_per_quarter=20, price_usd=1400, server_size=2),
            planner_sku("dragon-d", origin="CN", supply_per_quarter=8, price_usd=1800,
                        bf16_dense_tflops=2000)]
    workloads = [train({"2024Q1": 10, "2024Q2": 24, "2024Q4": 30}, shortfall_penalty=4000)]
    return make_scenario(folder, skus, workloads, horizon={"start": "2024Q1", "end": "2024Q4"},
                         discount_rate=0.08,
                         policy={"domestic_share": {"2024Q2": 0.3}, "energy_price": 0.1},
                         porting={"Dragon": 5000}, **keys)


def two_stage_hedge_scenario(folder: Path):
    """tests/test_hedge.py's hand-solved two-stage case: a ban on ca in 2024Q2, even odds.

    Buy 20 ca now; 20,000 in both scenarios; hindsight 18,000 / 20,000; the base plan
    re-planned 18,000 / 25,000.
    """
    uncertainty = {"events": [{"name": "ban", "known_from": "2024Q2", "outcomes": [
        {"name": "no", "probability": 0.5},
        {"name": "yes", "probability": 0.5, "set": {"supply.ca.2024Q2": 0}}]}]}
    return make_scenario(
        folder, [planner_sku("ca", vendor="A"), planner_sku("cb", vendor="B")],
        [train({"2024Q1": 10, "2024Q2": 20})], horizon={"start": "2024Q1", "end": "2024Q2"},
        supply={"ca": 100}, prices={"ca": {"2024Q1": 1000, "2024Q2": 800}, "cb": 1500},
        uncertainty=uncertainty)


def assert_verified(plan, scenario, tolerance: float = 1e-6):
    """The independent checker accepts ``plan`` (every constraint and figure recomputed)."""
    import chipmix

    report = chipmix.verify(plan, scenario, tolerance=tolerance)
    assert report.ok, "chipmix.verify rejects the plan:\n" + "\n".join(report.violations)
    return report


def solve(scenario, solver: str = "highs", *, status: str = "optimal", gap: float = 1e-9,
          **options: Any):
    """Plan ``scenario``, assert the status, and run the independent checker on it."""
    import chipmix

    result = chipmix.plan(scenario, solver=solver, gap=gap, **options)
    assert result.status.value == status, (
        f"status {result.status.value} != {status}: {result.message} {result.diagnosis}")
    assert_verified(result, scenario)
    return result


def bought(plan) -> dict[tuple[str, str], float]:
    """Units bought per (period, sku), summed over the period's purchase tranches."""
    out: dict[tuple[str, str], float] = {}
    for r in plan.purchases.itertuples():
        out[(r.period, r.sku)] = out.get((r.period, r.sku), 0.0) + float(r.units)
    return out


def fleet(plan) -> dict[tuple[str, str], float]:
    """Units in service per (period, sku)."""
    return {(r.period, r.sku): float(r.units) for r in plan.fleet.itertuples()}


def availability(plan, sku: str, period: str) -> dict[str, Any]:
    """The availability row of ``sku`` in ``period``."""
    rows = plan.availability
    match = rows[(rows["sku"] == sku) & (rows["period"] == period)]
    assert len(match) == 1, f"no availability row for {sku} {period}"
    return match.iloc[0].to_dict()
