"""The scenario reference, JSON Schema and template are generated from the pydantic schema.

``docs/scenario-reference.md`` must equal ``chipmix scenario reference`` (regenerate with
``chipmix scenario reference -o docs/scenario-reference.md``); every key needs a description
and an example; the JSON Schema accepts every bundled example and refuses typos; the
template validates and plans.
"""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from chipmix.cli import main
from chipmix.inputs.yamlio import SafeLoader, load_yaml
from chipmix.present.reference import EXAMPLES, entries, json_schema, markdown, template
from chipmix.resources import examples_dir

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "scenario-reference.md"


def test_the_reference_in_docs_is_the_generated_one():
    assert DOC.read_text(encoding="utf-8") == markdown(), (
        "docs/scenario-reference.md is stale: run "
        "`chipmix scenario reference -o docs/scenario-reference.md`")


def test_every_key_has_a_meaning_and_an_example():
    paths = [e.path for e in entries()]
    assert len(paths) == len(set(paths))
    assert {"horizon.start", "workloads[].demand", "policy.budget", "licenses.<sku>.fee",
            "currency.per_usd", "solver.gap"} <= set(paths)
    assert [p for p in paths if p not in EXAMPLES] == []
    assert [p for p in EXAMPLES if p not in paths] == []  # no example of a removed key
    assert [e.path for e in entries() if not e.meaning.strip()] == []
    units = {e.path: e.unit for e in entries()}
    assert units["policy.power_mw"] == "MW"
    assert "currency" in units["policy.budget"]


def test_every_example_parses_as_the_key_it_documents():
    from chipmix.inputs.scenario import Scenario

    base = load_yaml(ROOT / "src" / "chipmix" / "present" / "scenario_template.yaml")
    validator = jsonschema.Draft202012Validator(json_schema())
    for path, example in EXAMPLES.items():
        if "<" in path or "[]" in path or path.startswith("uncertainty"):
            continue  # parts of an entry (covered by their parents' examples); an uncertainty
            # block needs events with outcomes (tests/test_hedge*.py)
        data = json.loads(json.dumps(base))
        keys = path.split(".")
        node = data
        for key in keys[:-1]:
            if not isinstance(node.get(key), dict):
                node[key] = {}
            node = node[key]
        node[keys[-1]] = yaml.load(example, Loader=SafeLoader)  # noqa: S506 - chipmix's safe loader
        errors = [e.message for e in validator.iter_errors(data)]
        assert errors == [], (path, errors)
    assert Scenario.model_fields  # the schema walked is the scenario's


def test_json_schema_accepts_the_examples_and_refuses_typos():
    schema = json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    files = [*sorted(examples_dir().glob("*.yaml"))]
    assert files
    for path in files:
        assert [e.message for e in validator.iter_errors(load_yaml(path))] == [], path
    data = load_yaml(files[0])
    data["polcy"] = data.pop("policy", {})
    assert any("polcy" in e.message for e in validator.iter_errors(data))
    data = load_yaml(files[0])
    data["horizon"]["start"] = "2024Q5"
    assert list(validator.iter_errors(data))


def run(capsys, *args) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_scenario_schema_prints_the_json_schema(capsys):
    code, out, _ = run(capsys, "scenario", "schema")
    assert code == 0 and json.loads(out) == json_schema()


def test_scenario_init_writes_a_template_that_validates_and_plans(tmp_path, capsys):
    path = tmp_path / "mine.yaml"
    code, _, err = run(capsys, "scenario", "init", path)
    assert code == 0 and path.read_text(encoding="utf-8") == template()
    code, out, _ = run(capsys, "scenario", "validate", path)
    assert code == 0 and out.startswith("ok:")
    assert jsonschema.Draft202012Validator(json_schema()).is_valid(load_yaml(path))
    code, _, err = run(capsys, "scenario", "init", path)  # no silent overwrite
    assert code == 2 and "--force" in err
    assert run(capsys, "scenario", "init", path, "--force")[0] == 0
    code, out, _ = run(capsys, "scenario", "init", "-")
    assert code == 0 and out == template()


@pytest.mark.parametrize("key", ["name", "horizon", "workloads", "policy", "currency"])
def test_the_template_explains_its_keys(key):
    assert f"\n{key}:" in template() or f"\n# {key}:" in template()
