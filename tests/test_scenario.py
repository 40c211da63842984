"""Scenario loading: normalisation, extends, paths, error messages; safe YAML loading."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pydantic
import pytest

from chipmix.errors import InputError
from chipmix.inputs.catalog import bundled_catalogs
from chipmix.inputs.scenario import LicenseTerms, Scenario, deep_merge, load_scenario
from chipmix.inputs.yamlio import MAX_NODES, load_yaml
from chipmix.periods import Period, parse_period, step_values
from chipmix.resources import examples_dir

DATA = Path(__file__).parent / "data"
SMALL = DATA / "scenario_small.yaml"


def P(text: str) -> Period:
    return parse_period(text)


@pytest.fixture(scope="module")
def small_data() -> dict[str, Any]:
    data = load_yaml(SMALL)
    assert isinstance(data, dict)
    return data


def error_from(data: dict[str, Any]) -> str:
    with pytest.raises(InputError) as info:
        Scenario.from_dict(data, base_dir=DATA, source_name="s.yaml")
    return str(info.value)


# -- normalisation -----------------------------------------------------------------------------


def test_load_small_scenario_normalises():
    s = load_scenario(SMALL)
    assert s.name == "small" and s.source == SMALL and s.base_dir == DATA.resolve()
    assert s.periods == [P(p) for p in ("2023Q3", "2023Q4", "2024Q1", "2024Q2", "2024Q3", "2024Q4")]
    assert s.catalogs == [str((DATA / "catalog_small.csv").resolve())]
    training, chat = s.workloads
    assert training.demand == {P("2023Q4"): 40.0, P("2024Q3"): 90.0}
    assert training.shortfall_penalty == 2.0e6  # YAML 1.2 float, not the string '2.0e6'
    assert chat.demand == {P("2023Q3"): 300.0}  # a scalar holds from the horizon start
    assert chat.exclude == ["Dragon"]
    assert s.supply["dragon-910b"] == {P("2023Q3"): 1200.0}
    assert s.prices["dragon-910b"] == {P("2023Q3"): 17000.0, P("2025Q1"): 14000.0}
    assert s.retire == {"acme-a100": P("2024Q3")}
    assert s.inventory == {"acme-a100": 800.0}
    assert s.policy.budget == {P("2023Q3"): 6.0e7}
    assert s.policy.share_basis == "compute" and s.policy.vendor_cap == 0.7
    assert s.solver.name == "cbc" and s.solver.threads == 2 and s.solver.gap == 0.001
    assert s.rule_params == {"h20_class_memory_bw_gbps": 4000}
    assert s.home == "CN" and s.buyer == "private" and s.unknown_policy == "strict"
    assert s.rules is None


def test_step_maps_expand_over_the_horizon():
    s = load_scenario(SMALL)
    demand = step_values(s.workloads[0].demand, s.periods, before=0.0)
    assert demand == [0.0, 40.0, 40.0, 40.0, 90.0, 90.0]
    assert step_values(s.policy.domestic_share, s.periods, before=0.0) == [0, 0, .2, .2, .2, .2]


def test_licenses_are_normalised():
    s = load_scenario(SMALL)
    assert s.licenses.default == "deny"
    assert s.licenses.terms_for("acme-h800") == LicenseTerms(allow=True, fee=0.25, cap=2000)
    assert s.licenses.terms_for("acme-a100") == LicenseTerms(allow=True, fee=0.0, cap=None)
    assert s.licenses.terms_for("dragon-x1") == LicenseTerms(allow=False)


@pytest.mark.parametrize(
    ("licenses", "default", "per_sku"),
    [
        ("deny", "deny", {}),
        ("allow", "allow", {}),
        ({"default": "allow", "acme-h800": "deny"}, "allow", {"acme-h800": LicenseTerms(
            allow=False)}),
        ({"acme-h800": {"fee": 0.1}}, "deny", {"acme-h800": LicenseTerms(fee=0.1)}),
    ],
)
def test_license_forms(small_data, licenses, default, per_sku):
    s = Scenario.from_dict({**small_data, "licenses": licenses}, base_dir=DATA)
    assert s.licenses.default == default and s.licenses.per_sku == per_sku


def test_porting_scalar_applies_to_every_workload():
    s = load_scenario(SMALL)
    assert s.porting == {
        "Dragon": {"llm-training": 2.0e6, "chat-inference": 2.0e6},
        "Acme": {"llm-training": 1.0e6},
    }
    assert s.ported == ["Acme"]


def test_catalog_is_loaded_once_with_overrides():
    s = load_scenario(SMALL)
    catalog = s.load_catalog()
    assert catalog is s.load_catalog()
    assert catalog.get("dragon-910b").tdp_w == 350.0
    assert catalog.frame.at["dragon-910b", "efficiency_training"] == 0.35
    assert s.overrides == {"dragon-910b": {"tdp_w": 350.0, "price_usd": 24000.0,
                                           "efficiency_training": 0.35}}


def test_to_dict_is_json_and_round_trips():
    s = load_scenario(SMALL)
    data = s.to_dict()
    text = json.dumps(data, allow_nan=False)
    again = Scenario.from_dict(json.loads(text))
    assert again.to_dict() == data
    assert data["workloads"][0]["demand"] == {"2023Q4": 40.0, "2024Q3": 90.0}
    assert data["licenses"]["acme-h800"] == {"allow": True, "fee": 0.25, "cap": 2000.0}


def test_scenario_is_frozen():
    s = load_scenario(SMALL)
    with pytest.raises(pydantic.ValidationError):
        s.name = "x"  # type: ignore[misc]


def test_months_horizon():
    s = load_scenario(DATA / "scenario_months.yaml")
    assert [str(p) for p in s.periods] == ["2024-01", "2024-02", "2024-03", "2024-04",
                                           "2024-05", "2024-06"]
    # a key before the start sets the initial value
    assert step_values(s.workloads[0].demand, s.periods, 0.0) == [5, 5, 8, 8, 8, 8]
    assert s.retire == {"acme-a100": P("2024-04")}
    assert s.policy.budget == {P("2024-01"): 1.0e6}


def test_quarter_key_in_a_month_horizon(small_data):
    data = load_yaml(DATA / "scenario_months.yaml")
    data["workloads"][0]["demand"] = {"2024Q2": 3}
    assert error_from(data) == (
        "s.yaml: workloads[0].demand.2024Q2: got '2024Q2'; expected a month like 2024-01 "
        "(the horizon is in months)"
    )


def test_default_catalogs_are_the_bundled_ones(small_data):
    data = {k: v for k, v in small_data.items() if k not in ("catalogs",)}
    s = Scenario.from_dict(data, base_dir=DATA, check_catalogs=False)
    assert s.catalogs == list(bundled_catalogs())


def test_bundled_names_stay_names_and_paths_become_absolute(small_data, tmp_path):
    (tmp_path / "cats").mkdir()
    (tmp_path / "cats" / "mine.csv").write_text((DATA / "catalog_small.csv").read_text())
    data = {**small_data, "catalogs": ["cats/mine.csv", "domestic"]}
    s = Scenario.from_dict(data, base_dir=tmp_path, check_catalogs=False)
    assert s.catalogs == [str((tmp_path / "cats" / "mine.csv").resolve()), "domestic"]
    assert s.base_dir == tmp_path.resolve()


# -- extends -----------------------------------------------------------------------------------


def test_extends_overrides_and_merges():
    s = load_scenario(DATA / "scenario_variant.yaml")
    assert s.name == "small-variant"
    assert s.description == "two workloads on the small test catalog"  # inherited
    assert [w.name for w in s.workloads] == ["llm-training"]  # lists replace
    assert s.workloads[0].demand == {P("2023Q3"): 100.0}
    # mappings merge key by key; a step map replaces the base's step map as a whole
    assert s.supply["acme-h800"] == {P("2024Q1"): 500.0}
    assert s.supply["dragon-910b"] == {P("2023Q3"): 1200.0}
    # null removes the base's key
    assert s.policy.budget == {} and "Acme" not in s.porting
    assert s.policy.vendor_cap == 0.5 and s.policy.pue == 1.3
    assert s.solver.name == "highs" and s.solver.threads == 2
    assert s.porting == {"Dragon": {"llm-training": 2.0e6}}
    assert s.catalogs == [str((DATA / "catalog_small.csv").resolve())]


def test_extends_resolves_the_base_paths_against_the_base_folder(tmp_path):
    base_dir = tmp_path / "base"
    base_dir.mkdir()
    (base_dir / "mine.csv").write_text((DATA / "catalog_small.csv").read_text())
    base = SMALL.read_text().replace("catalog_small.csv", "mine.csv")
    (base_dir / "base.yaml").write_text(base)
    (tmp_path / "variant.yaml").write_text("extends: base/base.yaml\nname: v\n")
    s = load_scenario(tmp_path / "variant.yaml")
    assert s.catalogs == [str((base_dir / "mine.csv").resolve())]
    assert len(s.load_catalog()) == 4


def test_extends_cycle_names_the_chain():
    with pytest.raises(InputError) as info:
        load_scenario(DATA / "scenario_cycle_a.yaml")
    a, b = (DATA / "scenario_cycle_a.yaml").resolve(), (DATA / "scenario_cycle_b.yaml").resolve()
    assert str(info.value) == f"{b}: extends: extends cycle: {a} -> {b} -> {a}"


def test_extends_missing_file(tmp_path):
    (tmp_path / "v.yaml").write_text("extends: nowhere.yaml\nname: v\n")
    with pytest.raises(InputError) as info:
        load_scenario(tmp_path / "v.yaml")
    assert str(info.value) == (
        f"{tmp_path / 'v.yaml'}: extends: file not found; got 'nowhere.yaml'; expected a "
        f"scenario file (looked at {tmp_path.resolve() / 'nowhere.yaml'})"
    )


def test_deep_merge_rules():
    base = {"a": {"x": 1, "y": 2}, "l": [1, 2], "s": {"2024Q1": 1, "2024Q3": 2}, "k": 1}
    child = {"a": {"y": 3}, "l": [3], "s": {"2024Q2": 5}, "k": None}
    assert deep_merge(base, child) == {"a": {"x": 1, "y": 3}, "l": [3], "s": {"2024Q2": 5}}


# -- errors: every one an InputError with file, key path, value, expectation --------------------


def _set(path: str, value: Any):
    """A mutation setting ``path`` (dots, [i] for list items) to ``value``."""

    def mutate(data: dict[str, Any]) -> None:
        keys: list[Any] = []
        for part in path.replace("[", ".[").split("."):
            keys.append(int(part[1:-1]) if part.startswith("[") else part)
        target = data
        for key in keys[:-1]:
            target = target[key]
        target[keys[-1]] = value

    return mutate


BAD = [
    (_set("workloads[1].demand", {"2024Q5": 3}),
     "workloads[1].demand.2024Q5: got '2024Q5'; expected a period like 2024Q1 (quarter) or "
     "2024-01 (month)"),
    (_set("workloads[1].demand", {"2025Q1": 3}),
     "workloads[1].demand.2025Q1: after the horizon end; got '2025Q1'; expected a period up to "
     "2024Q4 (the horizon is 2023Q3..2024Q4)"),
    (_set("workloads[1].demand", {"2024-01": 3}),
     "workloads[1].demand.2024-01: got '2024-01'; expected a quarter like 2024Q1 (the horizon "
     "is in quarters)"),
    (_set("workloads[1].demand", {"2023Q1": -3}),
     "workloads[1].demand.2023Q1: got -3; expected a number >= 0"),
    (_set("workloads[1].demand", "lots"),
     "workloads[1].demand: got 'lots'; expected a number or a mapping of periods to numbers "
     "({2024Q1: 10, 2025Q1: 20})"),
    (_set("workloads[0].minmemory_gb", 3),
     "workloads[0].minmemory_gb: unknown key (did you mean 'min_memory_gb'?)"),
    (_set("horizn", 3), "horizn: unknown key (did you mean 'horizon'?)"),
    (_set("policy.budgt", 3), "policy.budgt: unknown key (did you mean 'budget'?)"),
    (_set("workloads[1].kind", "trainig"),
     "workloads[1].kind: got 'trainig'; expected one of training, inference "
     "(did you mean 'training'?)"),
    (_set("workloads[1].metric", "bf16"),
     "workloads[1].metric: got 'bf16'; expected one of bf16_pflops, fp8_pflops, int8_pops, "
     "memory_bw_tbps, memory_tb (did you mean 'bf16_pflops'?)"),
    (_set("buyer", "state"),
     "buyer: got 'state'; expected one of private, state_funded, soe (did you mean "
     "'state_funded'?)"),
    (_set("policy.share_basis", "unit"),
     "policy.share_basis: got 'unit'; expected one of compute, units, spend (did you mean "
     "'units'?)"),
    (_set("policy.domestic_share", {"2024Q1": 1.5}),
     "policy.domestic_share.2024Q1: got 1.5; expected a number <= 1"),
    (_set("policy.vendor_cap", float("nan")),
     "policy.vendor_cap: got nan; expected a finite number"),
    (_set("discount_rate", float("inf")), "discount_rate: got inf; expected a finite number"),
    (_set("discount_rate", "abc"), "discount_rate: got 'abc'; expected a number"),
    (_set("supply", {"acme-h800": {"2023Q3": True}}),
     "supply.acme-h800.2023Q3: got True; expected a number"),
    (_set("solver.threads", 1.5), "solver.threads: got 1.5; expected a whole number"),
    (_set("solver.name", "gurobi"),
     "solver.name: got 'gurobi'; expected one of highs, cbc, highs-pulp"),
    (_set("home", "cn"),
     "home: got 'cn'; expected a two-letter upper-case country code (ISO 3166 alpha-2, e.g. CN)"),
    (_set("horizon", {"start": "2023Q3", "end": "2023-12"}),
     "horizon.end: got '2023-12'; expected a quarter like the start (2023Q3): quarters and "
     "months cannot mix"),
    (_set("horizon", {"start": "2023Q3", "end": "2023Q1"}),
     "horizon.end: got '2023Q1'; expected a period at or after the start 2023Q3"),
    (_set("horizon", {"start": "2023Q3"}), "horizon.end: required key missing"),
    (lambda d: d.pop("horizon"),
     "horizon: required key missing; expected {start: 2024Q1, end: 2025Q4}"),
    (lambda d: d.pop("name"), "name: required key missing"),
    (_set("workloads", []), "workloads: got []; expected at least 1 item(s)"),
    (_set("workloads", {"a": 1}), "workloads: got {'a': 1}; expected a list"),
    (_set("retire", {"acme-a100": "2024-03"}),
     "retire.acme-a100: got '2024-03'; expected a quarter like 2024Q1 (the horizon is in "
     "quarters)"),
    (_set("licenses", "dny"),
     "licenses: got 'dny'; expected deny, allow or a mapping {default: deny, <sku>: {fee, cap}} "
     "(did you mean 'deny'?)"),
    (_set("licenses", {"acme-h800": {"fe": 0.2}}),
     "licenses.acme-h800.fe: unknown key (did you mean 'fee'?)"),
    (_set("licenses", {"acme-h800": {"fee": -0.2}}),
     "licenses.acme-h800.fee: got -0.2; expected a number >= 0"),
    (_set("catalogs", ["nvidai"]),
     "catalogs[0]: unknown catalog; got 'nvidai'; expected a bundled catalog name or a path to "
     "a .csv/.xlsx file (did you mean 'nvidia'?)"),
    (_set("catalogs", ["missing.csv"]),
     f"catalogs[0]: file not found; got '{(DATA / 'missing.csv').resolve()}'; expected an "
     "existing .csv or .xlsx file"),
    (_set("rules", ["us-2022-10", "missing.yaml"]),
     f"rules[1]: not found; got '{(DATA / 'missing.yaml').resolve()}'; expected an "
     "existing rule-set YAML file or folder"),
    # references, checked against the loaded catalogs
    (_set("supply.acme-h80", 5),
     "supply.acme-h80: unknown SKU; got 'acme-h80'; expected a SKU of the scenario's catalogs "
     "(did you mean 'acme-h800'?)"),
    (_set("prices.dragon-91b", 5),
     "prices.dragon-91b: unknown SKU; got 'dragon-91b'; expected a SKU of the scenario's "
     "catalogs (did you mean 'dragon-910b'?)"),
    (_set("inventory.acme-a10", 5),
     "inventory.acme-a10: unknown SKU; got 'acme-a10'; expected a SKU of the scenario's "
     "catalogs (did you mean 'acme-a100'?)"),
    (_set("retire.acme-a10", "2024Q1"),
     "retire.acme-a10: unknown SKU; got 'acme-a10'; expected a SKU of the scenario's catalogs "
     "(did you mean 'acme-a100'?)"),
    (_set("licenses", {"defualt": "allow"}),
     "licenses.defualt: unknown SKU; got 'defualt'; expected a SKU of the scenario's catalogs "
     "(did you mean 'default'?)"),
    (_set("overrides", {"dragon-910b": {"tdpw": 3}}),
     "overrides.dragon-910b.tdpw: unknown catalog field; got 'tdpw' (did you mean 'tdp_w'?)"),
    (_set("overrides", {"dragon-910b": {"tdp_w": "hot"}}),
     "overrides.dragon-910b.tdp_w: got 'hot'; expected a number >= 0"),
    (_set("overrides", {"dragon-91b": {"tdp_w": 3}}),
     "overrides.dragon-91b: unknown SKU; got 'dragon-91b'; expected a SKU of the scenario's "
     "catalogs (did you mean 'dragon-910b'?)"),
    (_set("performance", [{"sku": "dragon-910", "workload": "llm-training", "value": 1}]),
     "performance[0].sku: unknown SKU; got 'dragon-910'; expected a SKU of the scenario's "
     "catalogs (did you mean 'dragon-910b'?)"),
    (_set("performance", [{"sku": "dragon-910b", "workload": "llm-trainin", "value": 1}]),
     "performance[0].workload: unknown workload; got 'llm-trainin'; expected a workload of the "
     "scenario's workloads (did you mean 'llm-training'?)"),
    (_set("performance", [{"sku": "dragon-910b", "workload": "llm-training", "value": 1}] * 2),
     "performance[1]: duplicate entry; got 'dragon-910b / llm-training'; expected one figure "
     "per SKU and workload"),
    (_set("porting", {"Dragn": 1}),
     "porting.Dragn: unknown vendor; got 'Dragn'; expected a vendor of the scenario's catalogs "
     "(did you mean 'Dragon'?)"),
    (_set("porting", {"Dragon": {"chat": 1}}),
     "porting.Dragon.chat: unknown workload; got 'chat'; expected a workload of the scenario's "
     "workloads (known: chat-inference, llm-training)"),
    (_set("ported", ["acme"]),
     "ported[0]: unknown vendor; got 'acme'; expected a vendor of the scenario's catalogs "
     "(did you mean 'Acme'?)"),
    (_set("workloads[0].exclude", ["Dragn"]),
     "workloads[0].exclude[0]: unknown vendor or SKU; got 'Dragn'; expected a vendor or SKU of "
     "the scenario's catalogs (did you mean 'Dragon'?)"),
    (lambda d: d["workloads"].append(dict(d["workloads"][0])),
     "workloads[2].name: duplicate workload name; got 'llm-training'; expected each workload "
     "name once"),
]


@pytest.mark.parametrize(("mutate", "expected"), BAD, ids=[e.split(":")[0] for _, e in BAD])
def test_bad_scenario(small_data, mutate, expected):
    if "nvidai" in expected and "nvidia" not in bundled_catalogs():
        pytest.skip("bundled catalogs not written yet")
    data = copy.deepcopy(small_data)
    mutate(data)
    assert error_from(data) == f"s.yaml: {expected}"


def test_several_problems_are_counted(small_data):
    data = {**small_data, "buyer": "x", "home": "y"}
    assert error_from(data).endswith(" (1 more problem)")


@pytest.mark.parametrize("data", [[1, 2], "text", 5])
def test_scenario_must_be_a_mapping(data):
    with pytest.raises(InputError, match="s.yaml: not a scenario; got .*; expected a mapping"):
        Scenario.from_dict(data, source_name="s.yaml")  # type: ignore[arg-type]


def test_missing_scenario_file(tmp_path):
    with pytest.raises(InputError, match="nope.yaml: file not found"):
        load_scenario(tmp_path / "nope.yaml")


# -- the bundled examples ----------------------------------------------------------------------


def _examples() -> list[Any]:
    try:
        paths = sorted(examples_dir().glob("*.yaml"))
    except FileNotFoundError:
        paths = []
    if not paths:
        return [pytest.param(None, marks=pytest.mark.skip(reason="no bundled examples yet"))]
    return [pytest.param(p, id=p.name) for p in paths]


@pytest.mark.parametrize("path", _examples())
def test_bundled_example_validates(path):
    scenario = load_scenario(path)
    assert scenario.workloads and scenario.periods
    assert len(scenario.load_catalog()) > 0
    json.dumps(scenario.to_dict(), allow_nan=False)


# -- safe YAML ---------------------------------------------------------------------------------


def _yaml(tmp_path: Path, text: str | bytes) -> Path:
    path = tmp_path / "x.yaml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def yaml_error(path: Path) -> str:
    with pytest.raises(InputError) as info:
        load_yaml(path)
    return str(info.value)


def test_yaml_duplicate_key(tmp_path):
    path = _yaml(tmp_path, "name: a\nsupply:\n  x: 1\n  x: 2\n")
    assert yaml_error(path) == (
        f"{path}: line 4: supply: duplicate key; got 'x'; expected each key once per mapping "
        "(first at line 3)"
    )


def test_yaml_merge_keys_may_be_overridden(tmp_path):
    path = _yaml(tmp_path, "base: &b {x: 1, y: 2}\nchild:\n  <<: *b\n  y: 3\n")
    assert load_yaml(path) == {"base": {"x": 1, "y": 2}, "child": {"x": 1, "y": 3}}


def test_yaml_python_tags_are_refused(tmp_path):
    path = _yaml(tmp_path, "a: !!python/object/apply:os.system ['echo hi']\n")
    message = yaml_error(path)
    assert message.startswith(f"{path}: line 1: unsupported YAML tag (")
    assert message.endswith("expected plain YAML data (no ! tags)")


def test_yaml_billion_laughs_is_refused(tmp_path):
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, 10):
        refs = ", ".join([f"*a{i - 1}"] * 9)
        lines.append(f"a{i}: &a{i} [{refs}]")
    path = _yaml(tmp_path, "\n".join(lines) + "\n")
    assert yaml_error(path) == (
        f"{path}: refused: more than {MAX_NODES} nodes once aliases are expanded (YAML "
        "anchors/aliases expand beyond any plausible input)"
    )


def test_yaml_recursive_alias_is_refused(tmp_path):
    path = _yaml(tmp_path, "a: &a [1, *a]\n")
    assert "refused: a recursive alias" in yaml_error(path)


def test_yaml_too_many_aliases(tmp_path):
    path = _yaml(tmp_path, "a: &a 1\nb: [" + ", ".join(["*a"] * 1500) + "]\n")
    assert "refused: more than 1000 aliases" in yaml_error(path)


@pytest.mark.parametrize("text", ["", "\n# only a comment\n"])
def test_yaml_empty_file(tmp_path, text):
    path = _yaml(tmp_path, text)
    assert yaml_error(path) == f"{path}: file is empty; expected a YAML document"


def test_yaml_not_utf8(tmp_path):
    path = _yaml(tmp_path, "name: caf\xe9\n".encode("latin-1"))
    assert yaml_error(path) == (
        f"{path}: line 1, column 10: not UTF-8: byte 0xe9; expected UTF-8 YAML (re-save the file with "
        "UTF-8 encoding)"
    )


def test_yaml_syntax_error_names_the_line(tmp_path):
    path = _yaml(tmp_path, "name: a\nworkloads: [\n")
    assert yaml_error(path).startswith(f"{path}: line 3: not valid YAML: ")


def test_yaml_numbers_and_bom(tmp_path):
    path = _yaml(tmp_path, "\ufeffa: 2.0e6\nb: 1e6\nc: 2024Q1\nd: 2024-01\ne: .5\nf: 12\n")
    assert load_yaml(path) == {"a": 2.0e6, "b": 1e6, "c": "2024Q1", "d": "2024-01", "e": 0.5,
                               "f": 12}
