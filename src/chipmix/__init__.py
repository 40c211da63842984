"""chipmix — plan accelerator purchases under export controls.

Library entry points (imported lazily, so ``import chipmix`` is cheap)::

    import chipmix
    scenario = chipmix.load_scenario("examples/rush-before-ban.yaml")
    plan = chipmix.plan(scenario, solver="highs")
    plan.purchases, plan.fleet, plan.to_json()
    chipmix.verify(plan, scenario).ok
    chipmix.classify(at="2024-01-01")
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_LAZY = {
    "load_scenario": ("chipmix.inputs.scenario", "load_scenario"),
    "Scenario": ("chipmix.inputs.scenario", "Scenario"),
    "load_catalogs": ("chipmix.inputs.catalog", "load_catalogs"),
    "load_catalog": ("chipmix.inputs.catalog", "load_catalog"),
    "plan": ("chipmix.planner", "plan"),
    "Plan": ("chipmix.planner", "Plan"),
    "verify": ("chipmix.checker", "verify"),
    "classify": ("chipmix.rules", "classify"),
    "Status": ("chipmix.inputs.solver", "Status"),
    "ChipmixError": ("chipmix.errors", "ChipmixError"),
    "InputError": ("chipmix.errors", "InputError"),
    "compare": ("chipmix.studies", "compare"),
    "sweep": ("chipmix.studies", "sweep"),
    "frontier": ("chipmix.studies", "frontier"),
    "hedge": ("chipmix.hedging", "hedge"),
    "Hedge": ("chipmix.hedging", "Hedge"),
    "Timeline": ("chipmix.rules", "Timeline"),
    "load_rulesets": ("chipmix.rules", "load_rulesets"),
    "substitute": ("chipmix.insight.substitute", "substitution_table"),
    "alternatives": ("chipmix.insight.alternatives", "near_optimal"),
    "stress": ("chipmix.insight.stress", "stress"),
    "report": ("chipmix.present.plan_report", "report"),
    "write_plan": ("chipmix.present.plan_export", "write_plan"),
    "tidy": ("chipmix.present.plan_export", "tidy"),
    "replay": ("chipmix.hedging.replay", "replay"),
    "Replay": ("chipmix.hedging.replay", "Replay"),
}

__all__ = [  # the names of _LAZY, spelled out for linters and IDEs (tests/test_api.py checks)
    "ChipmixError", "Hedge", "InputError", "Plan", "Replay", "Scenario", "Status", "Timeline",
    "__version__", "alternatives", "classify", "compare", "frontier", "hedge", "load_catalog",
    "load_catalogs", "load_rulesets", "load_scenario", "plan", "replay", "report", "stress",
    "substitute", "sweep", "tidy", "verify", "write_plan",
]

if TYPE_CHECKING:  # pragma: no cover
    from chipmix.checker import verify
    from chipmix.errors import ChipmixError, InputError
    from chipmix.hedging.core import Hedge, hedge
    from chipmix.hedging.replay import Replay, replay
    from chipmix.inputs.catalog import load_catalog, load_catalogs
    from chipmix.inputs.scenario import Scenario, load_scenario
    from chipmix.inputs.solver import Status
    from chipmix.insight.alternatives import near_optimal as alternatives
    from chipmix.insight.stress import stress
    from chipmix.insight.substitute import substitution_table as substitute
    from chipmix.planner import Plan, plan
    from chipmix.present.plan_export import tidy, write_plan
    from chipmix.present.plan_report import report
    from chipmix.rules import Timeline, load_rulesets
    from chipmix.rules.classify import classify
    from chipmix.studies.compare import compare
    from chipmix.studies.frontier import frontier
    from chipmix.studies.sweep import sweep


def __getattr__(name: str) -> Any:
    try:
        module_name, attr = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'chipmix' has no attribute {name!r}") from None
    import importlib  # lazy: the facade imports a layer only when a name is used

    value = getattr(importlib.import_module(module_name), attr)
    globals()[name] = value
    return value
