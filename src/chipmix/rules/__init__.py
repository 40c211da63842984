"""Export-control engine: metrics, the condition language, rule sets, the timeline, classify.

Rules are data (``catalogs/rules/*.yaml``); this package only knows how to read and apply
them. See ``catalogs/rules/README.md`` for the file format and what each bundled set encodes.
"""

from chipmix.rules.classify import classify
from chipmix.rules.conditions import Condition, Outcome, parse_condition
from chipmix.rules.metrics import derive_metrics
from chipmix.rules.ruleset import (
    Control,
    Param,
    RuleSet,
    Status,
    bundled_rulesets,
    load_ruleset,
    load_rulesets,
    parse_ruleset,
)
from chipmix.rules.timeline import Change, Decision, Reason, Timeline

__all__ = [
    "Change",
    "Condition",
    "Control",
    "Decision",
    "Outcome",
    "Param",
    "Reason",
    "RuleSet",
    "Status",
    "Timeline",
    "bundled_rulesets",
    "classify",
    "derive_metrics",
    "load_ruleset",
    "load_rulesets",
    "parse_condition",
    "parse_ruleset",
]
