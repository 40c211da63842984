"""The bundled examples' plan JSON, byte for byte, against golden files.

``tests/golden/plans/<example>.json`` is the output of ``chipmix plan examples/<example>.yaml
--json``. A refactoring must leave it unchanged; a deliberate change of the model, a catalog
or a rule set changes it: regenerate with ``CHIPMIX_UPDATE_GOLDEN=1 pytest
tests/test_golden_plans.py`` and review the diff like code.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from chipmix.inputs.scenario import load_scenario
from chipmix.planner import plan
from chipmix.resources import examples_dir

GOLDEN = Path(__file__).parent / "golden" / "plans"
EXAMPLES = sorted(p.stem for p in examples_dir().glob("*.yaml"))
UPDATE = os.environ.get("CHIPMIX_UPDATE_GOLDEN") == "1"


def test_every_example_has_a_golden_plan():
    assert EXAMPLES, "no bundled examples found"
    assert sorted(p.stem for p in GOLDEN.glob("*.json")) == EXAMPLES


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_plan_json_is_byte_identical(name):
    text = plan(load_scenario(examples_dir() / f"{name}.yaml")).to_json()
    golden = GOLDEN / f"{name}.json"
    if UPDATE:
        golden.write_text(text, encoding="utf-8")
    assert text == golden.read_text(encoding="utf-8"), (
        f"the plan JSON of examples/{name}.yaml changed; if deliberate, regenerate with "
        "CHIPMIX_UPDATE_GOLDEN=1 (see the module docstring)")
