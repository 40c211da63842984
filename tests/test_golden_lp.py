"""A golden LP file per step of ``build()``: the model's text, compared exactly.

For every ``add_<name>`` call in :func:`chipmix.model.build.build` there is a tiny
hand-made instance (:data:`CASES`) and ``tests/golden/lp/<name>.lp``: chipmix's own LP
export (:func:`chipmix.solve.files.write_model_files`, through PuLP) of the model built for
that instance, showing that family's rows only (every other row block is dropped); the
families without rows show what they set: ``variables`` the columns (before any bound or
cost of the families), ``supply`` the purchase bounds, ``fleet`` the allocation rows its
terms go into (lead time and lifetime at work), ``objective`` the costs.

A change to a family changes its file: read the diff like code, then regenerate with
``CHIPMIX_UPDATE_GOLDEN=1 pytest tests/test_golden_lp.py``. A new ``add_<family>`` in
``build()`` fails :func:`test_every_family_of_build_has_a_golden_file` until it has a case.
"""

from __future__ import annotations

import ast
import inspect
import os
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from helpers import make_scenario, planner_sku, train, write_planner_rules

from chipmix.model import build as build_module
from chipmix.model.data import prepare
from chipmix.model.matrix import LinearModel
from chipmix.model.variables import add_variables
from chipmix.solve.files import write_model_files

GOLDEN = Path(__file__).parent / "golden" / "lp"
UPDATE = os.environ.get("CHIPMIX_UPDATE_GOLDEN") == "1"

Q1_Q3 = {"start": "2024Q1", "end": "2024Q3"}
DOMESTIC = planner_sku("dragon-x", origin="CN", price_usd=1500, bf16_dense_tflops=800)
FOREIGN = planner_sku("acme-a")

#: a rule set with a domestic-share floor on the fleet, counted in units (``share_floors``)
FLOOR_RULES = """id: test-floor
title: test floor
authority: CN
effective: 2024-01-01
replaces: []
applies_to: [CN]
confidence: codified
sources: [https://example.com/floor]
domestic_share:
  - {id: half the fleet, floor: 0.5, of: fleet, basis: units, buyers: [state_funded]}
"""

#: family -> (SKUs, workloads, scenario keys, the row block shown or None for none); the key
#: ``rule_text`` is written as the scenario's one rule set
CASES: dict[str, tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, Any], str | None]] = {
    "variables": ([FOREIGN, DOMESTIC], [train(4, shortfall_penalty=5000)],
                  {"porting": {"Dragon": 300}}, None),
    "supply": ([planner_sku("acme-a", supply_per_quarter=3, server_size=2), DOMESTIC],
               [train(6)], {"policy": {"budget": 4500}}, None),
    "fleet": ([planner_sku("acme-a", lead_quarters=1)], [train({"2024Q1": 0, "2024Q2": 2,
                                                               "2024Q3": 3})],
              {"horizon": Q1_Q3, "inventory": {"acme-a": 1}, "lifetime": {"acme-a": 1}},
              "allocation"),
    "allocation": ([FOREIGN, DOMESTIC], [train(4), train(2, name="tune")],
                   {"inventory": {"dragon-x": 1}}, "allocation"),
    "demand": ([FOREIGN, DOMESTIC], [train(4, shortfall_penalty=5000), train(2, name="tune")],
               {}, "demand"),
    "porting": ([FOREIGN, DOMESTIC], [train(4)], {"porting": {"Dragon": 300}}, "porting"),
    "domestic_share": ([FOREIGN, DOMESTIC], [train(4)],
                       {"policy": {"domestic_share": 0.5}}, "domestic_share"),
    "share_floors": ([FOREIGN, DOMESTIC], [train(4)],
                     {"buyer": "state_funded", "inventory": {"acme-a": 1},
                      "rule_text": FLOOR_RULES}, "share_floor"),
    "vendor_cap": ([FOREIGN, DOMESTIC], [train(4)], {"policy": {"vendor_cap": 0.75}},
                   "vendor_cap"),
    "pools": ([FOREIGN, DOMESTIC, planner_sku("dragon-y", origin="CN", server_size=2)],
              [train(4)], {"pools": {"Dragon": 3}}, "pools"),
    "budget": ([FOREIGN, DOMESTIC], [train(4)], {"policy": {"budget": 9000}}, "budget"),
    "power": ([FOREIGN, DOMESTIC], [train(4)], {"policy": {"power_mw": 0.0003, "pue": 1.5}},
              "power"),
    "objective": ([FOREIGN, DOMESTIC], [train(4, shortfall_penalty=5000)],
                  {"horizon": {"start": "2024Q1", "end": "2024Q2"}, "discount_rate": 0.1,
                   "porting": {"Dragon": 300}, "policy": {"energy_price": 0.2}}, None),
}


def build_steps() -> list[str]:
    """The ``add_<name>`` calls of ``build()``, in order (read from its source)."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(build_module.build)))
    calls = [node.func.id for node in ast.walk(tree)
             if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)]
    return [name.removeprefix("add_") for name in calls if name.startswith("add_")]


def test_every_family_of_build_has_a_golden_file():
    steps = build_steps()
    assert steps[0] == "variables" and steps[-1] == "objective", steps
    assert set(steps) == set(CASES), "give every add_<family> of build() a case in CASES"
    missing = [s for s in steps if not (GOLDEN / f"{s}.lp").is_file() and not UPDATE]
    assert not missing, f"no golden LP file for {missing} (tests/golden/lp/<family>.lp)"


def _model_of(family: str, folder: Path) -> LinearModel:
    skus, workloads, keys, shown = CASES[family]
    keys = dict(keys)
    if "rule_text" in keys:
        keys["rules"] = [str(write_planner_rules(folder, keys.pop("rule_text")))]
    data = prepare(make_scenario(folder, skus, workloads, **keys))
    if family == "variables":
        model = LinearModel()
        add_variables(model, data)
        return model
    model, _ = build_module.build(data)
    a = model.arrays()
    keep = np.zeros(model.num_rows, dtype=bool)
    block = model.row_blocks.get(shown) if shown else None
    if shown:
        assert block is not None and len(block), f"the {family} case has no {shown} rows"
        keep[block.start:block.stop] = True
    return model.with_arrays(row_lower=np.where(keep, a["row_lower"], -np.inf),
                             row_upper=np.where(keep, a["row_upper"], np.inf))


@pytest.mark.parametrize("family", sorted(CASES))
def test_golden_lp(family, tmp_path):
    path = tmp_path / f"{family}.lp"
    write_model_files(_model_of(family, tmp_path), lp=path)
    text = path.read_text(encoding="utf-8")
    golden = GOLDEN / f"{family}.lp"
    if UPDATE:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(text, encoding="utf-8")
    assert text == golden.read_text(encoding="utf-8"), (
        f"the {family} family's LP changed; if deliberate, regenerate with "
        "CHIPMIX_UPDATE_GOLDEN=1 (see the module docstring)")
