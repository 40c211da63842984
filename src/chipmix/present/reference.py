"""The scenario reference, the JSON Schema and the template, generated from the schema.

All three come from the pydantic schema (:class:`chipmix.inputs.scenario.Scenario`):

- :func:`entries` walks the schema: one :class:`Entry` per key path (``policy.budget``,
  ``workloads[].demand``, ``licenses.<sku>.fee``) with its type, bounds, default, unit and
  meaning (the field's description) and an example (:data:`EXAMPLES`, which must name
  every key: a test fails when a key is added without one);
- :func:`markdown` is the reference page (``chipmix scenario reference``; a test fails when
  ``docs/scenario-reference.md`` differs from it);
- :func:`json_schema` is the JSON Schema for editors (``chipmix scenario schema``);
- :func:`template` is a commented scenario that validates as it is (``chipmix scenario
  init``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from importlib.resources import files
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic.json_schema import GenerateJsonSchema
from pydantic_core import PydanticUndefined

from chipmix.inputs.scenario import Scenario
from chipmix.inputs.schema import is_model
from chipmix.periods import Period

#: The period pattern of the JSON Schema (quarters or months).
PERIOD_PATTERN = r"^[0-9]{4}(Q[1-4]|-(0[1-9]|1[0-2]))$"


@dataclass(frozen=True)
class Entry:
    """One key of the scenario format."""

    path: str  # policy.budget, workloads[].demand, licenses.<sku>.fee
    section: str  # the model it belongs to (Policy, Workload...)
    type: str  # readable type with its bounds
    required: bool
    default: str  # as YAML, '' when required
    unit: str
    meaning: str


#: Units of keys whose description does not carry one in brackets.
UNITS: dict[str, str] = {
    "discount_rate": "fraction per year",
    "price_decline_per_year": "fraction per year",
    "supply": "cards per quarter (a month: a third)",
    "inventory": "cards",
    "lifetime": "periods",
    "retire": "period",
    "horizon.start": "period",
    "horizon.end": "period",
    "workloads[].demand": "the workload's metric per period (PFLOPS, POPS, TB/s or TB)",
    "workloads[].shortfall_penalty": "the scenario's currency per metric unit and period",
    "workloads[].min_memory_gb": "GB",
    "workloads[].min_interconnect_gbps": "GB/s",
    "licenses.<sku>.fee": "fraction of the price",
    "licenses.<sku>.cap": "cards per quarter",
    "policy.domestic_share": "fraction (0-1)",
    "policy.vendor_cap": "fraction (0-1)",
    "policy.budget": "the scenario's currency per period",
    "policy.power_mw": "MW",
    "policy.pue": "facility W per IT W",
    "policy.energy_price": "the scenario's currency per kWh",
    "prices": "the scenario's currency per card",
    "porting": "the scenario's currency, once",
    "solver.time_limit": "seconds",
    "solver.gap": "fraction",
    "currency.per_usd": "currency units per USD",
    "performance[].value": "the workload's metric per card",
    "risks.shortfall_penalty": "the scenario's currency per metric unit and period",
    "uncertainty.risk.alpha": "fraction",
    "uncertainty.risk.weight": "fraction",
    "uncertainty.events[].outcomes[].probability": "fraction",
}

#: An example of every key, as YAML (a test fails when a key has none).
EXAMPLES: dict[str, str] = {
    "name": "rush-before-ban",
    "description": "A Chinese cloud buyer plans 2023Q3-2025Q4 ...",
    "horizon": "{start: 2023Q3, end: 2025Q4}",
    "horizon.start": "2023Q3",
    "horizon.end": "2025Q4",
    "home": "CN",
    "buyer": "state_funded",
    "discount_rate": "0.08",
    "catalogs": "[nvidia, china, my-catalog.csv]",
    "rules": "[us-2022-10, us-2023-10, my-rules/]",
    "licenses": "{default: deny, nvidia-h20: {fee: 0.15, cap: 2000}}",
    "licenses.default": "deny",
    "licenses.<sku>": "{fee: 0.15, cap: 2000}",
    "licenses.<sku>.allow": "true",
    "licenses.<sku>.fee": "0.25",
    "licenses.<sku>.cap": "2000",
    "unknown_policy": "lenient",
    "workloads": "[{name: llm-training, kind: training, metric: bf16_pflops, demand: 40}]",
    "workloads[].name": "llm-training",
    "workloads[].kind": "inference",
    "workloads[].metric": "memory_bw_tbps",
    "workloads[].demand": "{2023Q4: 40, 2024Q3: 90, 2025Q2: 160}",
    "workloads[].min_memory_gb": "64",
    "workloads[].min_interconnect_gbps": "200",
    "workloads[].shortfall_penalty": "2.0e6",
    "workloads[].exclude": "[Cambricon, nvidia-l20]",
    "supply": "{nvidia-h800: {2023Q3: 1500, 2023Q4: 3000}, huawei-ascend-910b: 1200}",
    "prices": "{huawei-ascend-910b: {2023Q3: 17000, 2025Q1: 14000}}",
    "currency": "{code: CNY, per_usd: 7.2}",
    "currency.code": "CNY",
    "currency.per_usd": "7.2",
    "overrides": "{huawei-ascend-910c: {tdp_w: 700, price_usd: 24000}}",
    "price_decline_per_year": "0.10",
    "inventory": "{nvidia-a100: 800}",
    "retire": "{nvidia-h20: 2026Q1}",
    "lifetime": "{default: 16, nvidia-a100: 8}",
    "performance": "[{sku: huawei-ascend-910b, workload: llm-training, value: 0.11}]",
    "performance[].sku": "huawei-ascend-910b",
    "performance[].workload": "llm-training",
    "performance[].value": "0.11",
    "porting": "{Huawei: 2.0e6, Cambricon: {llm-training: 3.0e6, chat-inference: 1.0e6}}",
    "ported": "[Nvidia]",
    "policy": "{domestic_share: {2024Q1: 0.2}, budget: 6.0e7, power_mw: 25}",
    "policy.domestic_share": "{2024Q1: 0.2, 2025Q1: 0.5}",
    "policy.share_basis": "units",
    "policy.share_of": "fleet",
    "policy.vendor_cap": "0.7",
    "pools": "{Kunlunxin: 1160, MetaX: {2025Q1: 110, 2026Q1: 280}}",
    "policy.budget": "{2023Q3: 6.0e7}",
    "policy.power_mw": "25",
    "policy.pue": "1.3",
    "policy.energy_price": "0.09",
    "solver": "{name: cbc, time_limit: 60, gap: 0.0001}",
    "solver.name": "cbc",
    "solver.time_limit": "60",
    "solver.gap": "0.0001",
    "solver.threads": "2",
    "solver.relax": "true",
    "solver.presolve": "false",
    "rule_params": "{h20_class_memory_bw_gbps: 1400}",
    "risks": "{supply: {huawei-ascend-910b: {dist: uniform, low: 0.5, high: 1.0}}}",
    "risks.supply": "{huawei-ascend-910b: {dist: uniform, low: 0.5, high: 1.0}}",
    "risks.supply.<sku>.dist": "triangular",
    "risks.supply.<sku>.low": "0.3",
    "risks.supply.<sku>.high": "1.0",
    "risks.supply.<sku>.mode": "0.8",
    "risks.supply.<sku>.a": "2",
    "risks.supply.<sku>.b": "5",
    "risks.supply.<sku>.value": "0.5",
    "risks.supply.<sku>.probability": "0.5",
    "risks.supply.<sku>.from": "2024Q3",
    "risks.revoke": "{nvidia-h20: {probability: 0.3, from: 2025Q1, to: 2025Q3}}",
    "risks.revoke.<sku>.probability": "0.3",
    "risks.revoke.<sku>.from": "2025Q1",
    "risks.revoke.<sku>.to": "2025Q3",
    "risks.ban_earlier": "{nvidia-h20: {probability: 0.2, by_periods: 1}}",
    "risks.ban_earlier.<sku>.probability": "0.2",
    "risks.ban_earlier.<sku>.by_periods": "1",
    "risks.shortfall_penalty": "1.0e5",
    "uncertainty": "{events: [{name: h20-ban, known_from: 2025Q2, outcomes: [...]}]}",
    "uncertainty.risk": "{alpha: 0.9, weight: 0.0}",
    "uncertainty.risk.alpha": "0.9",
    "uncertainty.risk.weight": "0.25",
    "uncertainty.events": "[{name: h20-ban, known_from: 2025Q2, outcomes: [...]}]",
    "uncertainty.events[].name": "h20-ban",
    "uncertainty.events[].known_from": "2025Q2",
    "uncertainty.events[].outcomes": "[{name: none, probability: 0.6}, {name: ban, "
                                     "probability: 0.4}]",
    "uncertainty.events[].outcomes[].name": "ban",
    "uncertainty.events[].outcomes[].probability": "0.4",
    "uncertainty.events[].outcomes[].rules": "[rules/h20-ban.yaml]",
    "uncertainty.events[].outcomes[].set": "{supply.nvidia-h20: 0}",
}


# --------------------------------------------------------------------------------------------
# Walking the schema


def _parts(tp: Any) -> tuple[Any, list[Any], bool]:
    """The bare type, the metadata of its ``Annotated`` layers, and whether None is allowed."""
    meta: list[Any] = []
    optional = False
    while True:
        origin = get_origin(tp)
        if origin is Annotated:
            args = get_args(tp)
            tp, meta = args[0], [*meta, *args[1:]]
        elif origin is Union or type(tp).__name__ == "UnionType":
            kept = [a for a in get_args(tp) if a is not type(None)]
            optional = optional or len(kept) < len(get_args(tp))
            if len(kept) != 1:
                return tp, meta, optional
            tp = kept[0]
        else:
            return tp, meta, optional


def _bounds(meta: list[Any]) -> str:
    out = []
    for m in meta:
        items = m.metadata if isinstance(m, FieldInfo) else [m]
        for item in items:
            for attr, op in (("ge", "≥"), ("gt", ">"), ("le", "≤"), ("lt", "<")):
                value = getattr(item, attr, None)
                if value is not None and type(item).__name__.lower() == attr:
                    out.append(f"{op} {value:g}")
            if type(item).__name__ == "MinLen" and getattr(item, "min_length", None):
                out.append(f"at least {item.min_length} item")
    return ", ".join(out)


def type_text(tp: Any, meta: list[Any] | None = None) -> str:
    """Readable type: ``number ≥ 0``, ``one of deny, allow``, ``step map of number ≥ 0``."""
    bare, more, _ = _parts(tp)
    meta = [*(meta or []), *more]
    bounds = _bounds(meta)
    origin = get_origin(bare)
    if origin is Literal:
        return "one of " + ", ".join(str(a) for a in get_args(bare))
    if bare is bool:
        text = "true or false"
    elif bare is int:
        text = "whole number"
    elif bare is float:
        text = "number"
    elif bare is str:
        return "text" + (" (not empty)" if "at least" in bounds else "")
    elif bare is Period:
        text = "period (2024Q1, or 2024-01 for months)"
    elif origin is list:
        return "list of " + type_text(get_args(bare)[0]) + (f" ({bounds})" if bounds else "")
    elif origin is dict:
        key, value = get_args(bare)
        key_bare = _parts(key)[0]
        if key_bare is Period:
            return "step map of " + type_text(value)
        return "mapping of name → " + type_text(value)
    elif is_model(bare):
        return f"mapping ({bare.__name__})"
    else:
        text = "any value"
    return f"{text} {bounds}".strip() if bounds else text


def _default(info: FieldInfo) -> tuple[bool, str]:
    if info.default is PydanticUndefined and info.default_factory is None:
        return True, ""
    value = info.get_default(call_default_factory=True, validated_data={})
    if isinstance(value, BaseModel):
        return False, "(see its keys)"
    if value is None:
        return False, "none"
    if isinstance(value, (list, dict)) and not value:
        return False, "[]" if isinstance(value, list) else "{}"
    if isinstance(value, bool):
        return False, "true" if value else "false"
    if isinstance(value, float):
        return False, f"{value:g}"
    if isinstance(value, list):
        return False, "[" + ", ".join(str(v) for v in value) + "]"
    return False, str(value)


def _unit(path: str, description: str) -> tuple[str, str]:
    """The unit (``[...]`` in the description, else :data:`UNITS`) and the cleaned meaning."""
    match = re.search(r"\s\[([^\]]+)\]", description)  # " [USD]", not "E[cost]"
    if match:
        description = (description[: match.start()] + description[match.end():]).strip()
    return UNITS.get(path, match.group(1) if match else ""), description


def _model_of(tp: Any) -> tuple[type[BaseModel] | None, str]:
    """The model inside a field's type and the path suffix that leads to it."""
    bare = _parts(tp)[0]
    if is_model(bare):
        return bare, ""
    origin = get_origin(bare)
    if origin is list:
        inner = _parts(get_args(bare)[0])[0]
        return (inner, "[]") if is_model(inner) else (None, "")
    if origin is dict:
        inner = _parts(get_args(bare)[1])[0]
        return (inner, ".<sku>") if is_model(inner) else (None, "")
    return None, ""


def entries(root: type[BaseModel] | None = None, prefix: str = "") -> Iterator[Entry]:
    """Every key path of the scenario format, in the schema's order."""
    if root is None:
        root = Scenario
    inline: frozenset[str] = getattr(root, "_inline", frozenset())
    for name, info in root.model_fields.items():
        key = info.alias or name
        if name in inline:  # the mapping's own keys (licenses: {<sku>: terms})
            model, _ = _model_of(info.annotation)
            path = f"{prefix}.<sku>" if prefix else "<sku>"
            yield Entry(path, root.__name__, type_text(info.annotation), False, "{}",
                        *_unit(path, info.description or ""))
            if model is not None:
                yield from entries(model, path)
            continue
        path = f"{prefix}.{key}" if prefix else key
        required, default = _default(info)
        unit, meaning = _unit(path, info.description or (_doc(info.annotation)))
        kind = type_text(info.annotation, info.metadata)
        if _parts(info.annotation)[2] and default != "none":
            kind += ", or null"  # null accepted and meaningful (e.g. no time limit)
        yield Entry(path, root.__name__, kind, required, default, unit, meaning)
        model, suffix = _model_of(info.annotation)
        if model is not None and model.model_fields:
            yield from entries(model, path + suffix)


def _doc(tp: Any) -> str:
    model, _ = _model_of(tp)
    if model is None or not model.__doc__:
        return ""
    return " ".join(model.__doc__.split("\n\n")[0].split())


# --------------------------------------------------------------------------------------------
# Outputs


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown() -> str:
    """The reference page: every key, its type, unit, default, meaning and an example."""
    lines = [
        "# Scenario reference",
        "",
        "<!-- Generated from the pydantic schema by `chipmix scenario reference`; do not edit:",
        "     tests/test_reference.py fails when this file and the schema differ. -->",
        "",
        "A scenario is a YAML file (`chipmix scenario init` writes a commented one). Every key",
        "below; paths count list items as `[]` (`workloads[].demand`) and name a mapping's own",
        "keys in angle brackets (`licenses.<sku>.fee`, `risks.supply.<sku>.low`). Unknown keys",
        "are an error naming the nearest known one. Relative paths resolve against the",
        "scenario file's folder; `extends: base.yaml` lays this file over another one (mappings",
        "merge key by key, lists, scalars and step maps replace, `key: null` removes).",
        "",
        "A **step map** is a number (the same in every period) or `{period: number}`: each",
        "value holds from its period until the next key (before the first key: 0 for demand",
        "and shares, no cap for budget and power). Periods are quarters (`2024Q1`) or months",
        "(`2024-01`), as the horizon. Money is in the scenario's `currency` (USD unless set);",
        "catalogs stay in USD. JSON Schema for editors: `chipmix scenario schema`.",
        "",
        "| key | type | required / default | unit | meaning | example |",
        "|---|---|---|---|---|---|",
        "| `extends` | text | — | path | a base scenario this file overrides | "
        "`base.yaml` |",
    ]
    for e in entries(Scenario):
        default = ("**required**" if e.required else e.default if e.default.startswith("(")
                   else f"`{e.default}`" if e.default else '`""`')
        lines.append(f"| `{e.path}` | {_cell(e.type)} | {default} | {_cell(e.unit)} | "
                     f"{_cell(e.meaning)} | `{_cell(EXAMPLES.get(e.path, ''))}` |")
    lines += ["", "Bounds are inclusive unless marked `>` or `<`. The planning model that reads",
              "these keys is described in `docs/planning-model.md`.", ""]
    return "\n".join(lines)


_RENAME = {"ge": "minimum", "gt": "exclusiveMinimum", "le": "maximum", "lt": "exclusiveMaximum"}


def _standard(node: Any) -> Any:
    """Pydantic's schema with JSON Schema's own keywords (``minimum`` for ``ge``...)."""
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key in _RENAME and isinstance(value, (int, float)):
                out[_RENAME[key]] = value
            else:
                out[key] = _standard(value)
        return out
    if isinstance(node, list):
        return [_standard(v) for v in node]
    return node


_PERIOD = {"type": "string", "pattern": PERIOD_PATTERN}
_WORD = {"enum": ["deny", "allow"]}
#: What the YAML accepts beyond the normalised type, by the name of the 'before' validator
#: that turns it into that type (a scalar step map, ``licenses: deny``, ``porting: {V: cost}``).
_ALSO = {
    "_step_map": lambda inner: _number_of(inner),
    "_penalty_map": lambda inner: _number_of(inner),
    "_from_yaml": lambda inner: _WORD,
    "_from_word": lambda inner: _WORD,
}


def _number_of(inner: dict[str, Any]) -> dict[str, Any]:
    """The values' schema of a mapping (a scalar stands for every period / workload)."""
    value = inner.get("additionalProperties")
    return dict(value) if isinstance(value, dict) and value.get("type") == "number" else {
        "type": "number"}


def _generator():
    class Generator(GenerateJsonSchema):
        """pydantic's generator, told what the YAML accepts before normalisation."""

        def function_plain_schema(self, schema):  # every plain validator parses a period
            return dict(_PERIOD)

        def function_before_schema(self, schema):
            inner = super().function_before_schema(schema)
            name = getattr(schema["function"]["function"], "__name__", "")
            if name == "_expand_porting":  # {vendor: cost} or {vendor: {workload: cost}}
                values = inner.get("additionalProperties", {})
                return {**inner, "additionalProperties": {"anyOf": [_number_of(values),
                                                                    values]}}
            extra = _ALSO.get(name)
            return {"anyOf": [extra(inner), inner]} if extra else inner

    return Generator


def json_schema() -> dict[str, Any]:
    """The JSON Schema of a scenario file (draft 2020-12), for editors and validators."""
    schema = _standard(Scenario.model_json_schema(mode="validation",
                                                  schema_generator=_generator()))
    _fix_models(schema)
    schema["properties"]["extends"] = {"type": "string",
                                       "description": "a base scenario this file overrides"}
    # a file that extends another one needs none of the required keys (its base has them)
    required = schema.pop("required", [])
    schema["if"] = {"required": ["extends"]}
    schema["else"] = {"required": required}
    return {"$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": "https://chipmix.invalid/scenario.schema.json",
            **schema, "title": "chipmix scenario"}


def _fix_models(schema: dict[str, Any]) -> None:
    """Fix the schema of models that also take a word (``licenses: deny``).

    pydantic puts the model's ``additionalProperties: false`` beside the ``anyOf``, which
    would refuse every mapping; it belongs to the mapping branch. A model whose field holds the mapping's own keys
    (``_inline``: ``licenses: {default: deny, nvidia-h20: {...}}``) takes them as
    ``additionalProperties``.
    """
    models = {m.__name__: m for m in _models(Scenario)}
    for name, node in schema.get("$defs", {}).items():
        branches = node.get("anyOf")
        if not branches or "additionalProperties" not in node:
            continue
        closed = node.pop("additionalProperties")
        for branch in branches:
            if "properties" not in branch:
                continue
            branch.setdefault("type", "object")
            branch["additionalProperties"] = closed
            for field in getattr(models.get(name), "_inline", ()):
                inline = branch["properties"].pop(field)
                branch["additionalProperties"] = inline.get("additionalProperties", True)


def _models(root: type[BaseModel]) -> Iterator[type[BaseModel]]:
    yield root
    for info in root.model_fields.values():
        model, _ = _model_of(info.annotation)
        if model is not None:
            yield from _models(model)


def template() -> str:
    """The commented scenario template of ``chipmix scenario init`` (it validates as it is)."""
    return files("chipmix.present").joinpath("scenario_template.yaml").read_text(
        encoding="utf-8")


def json_schema_text() -> str:
    """:func:`json_schema` as indented JSON text."""
    return json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"


__all__ = ["EXAMPLES", "UNITS", "Entry", "entries", "json_schema", "json_schema_text",
           "markdown", "template", "type_text"]
