"""The scenario's ``uncertainty:`` block: what is not known yet, for ``chipmix hedge``.

Input layer only: these models validate and normalise the YAML (formats.md); the scenario
loader (:mod:`chipmix.inputs.scenario`) cross-checks every outcome by deriving its scenario
(:func:`outcome_data`), and :mod:`chipmix.hedge` builds the stochastic program. Format::

    uncertainty:
      risk: {alpha: 0.9, weight: 0.0}     # minimise (1-weight)·E[cost] + weight·CVaR_alpha
      events:                             # independent; scenarios = every combination
        - name: h20-ban
          known_from: 2025Q2              # decisions in this period and later know the outcome
          outcomes:
            - {name: none, probability: 0.6}
            - name: ban
              probability: 0.4            # an event's probabilities sum to 1
              rules: [rules/h20-ban.yaml] # extra rule sets in force in this outcome
              set: {supply.nvidia-h20: 0} # overrides, as `--set key.path=value`

A scenario of the hedge is named by its outcomes, ``h20-ban=ban`` or
``h20-ban=ban,ascend=short`` (events in file order), so event and outcome names may not
contain ``=`` or ``,``. Semantics are in ``docs/hedging.md``.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, ClassVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    ValidationInfo,
    field_validator,
)

from chipmix.inputs.overrides import apply_overrides
from chipmix.inputs.risks import _number  # one definition of 'a finite number, not a bool'
from chipmix.periods import Period, parse_period

#: How far an event's probabilities may sum from 1 (rounding in a YAML file).
PROBABILITY_TOLERANCE = 1e-6
#: Top-level scenario keys an outcome may not change: every scenario of a hedge shares the
#: horizon (the stochastic program ties decisions period by period) and the block itself.
FIXED_KEYS = ("horizon", "uncertainty", "extends")
#: Characters that separate events and outcomes in a scenario's name.
RESERVED = ("=", ",")


def _known_from(value: Any, info: ValidationInfo) -> Period:
    """A period of the horizon (its kind, from its start to its end)."""
    context = info.context or {}
    try:
        period = parse_period(value, context.get("kind"))
    except ValueError as exc:
        raise ValueError(str(exc)) from None
    start, end = context.get("start"), context.get("end")
    if start is not None and end is not None and not start <= period <= end:
        raise ValueError(f"a period of the horizon ({start}..{end})")
    return period


def _name(value: Any) -> Any:
    if isinstance(value, str):
        bad = [c for c in RESERVED if c in value]
        if bad:
            raise ValueError(f"a name without {' or '.join(repr(c) for c in RESERVED)} "
                             "(they separate events in a scenario's name)")
        if value != value.strip():
            raise ValueError("a name without leading or trailing spaces")
    return value


KnownFrom = Annotated[Period, PlainValidator(_known_from), PlainSerializer(str, return_type=str)]
Probability = Annotated[float, BeforeValidator(_number), Field(ge=0, le=1, allow_inf_nan=False)]
Name = Annotated[str, BeforeValidator(_name), Field(min_length=1)]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    #: read by chipmix.inputs.scenario's error messages (fields holding the mapping's own keys)
    _inline: ClassVar[frozenset[str]] = frozenset()


def _unique_names(items: list[Any], expected: str) -> list[Any]:
    seen: set[str] = set()
    for item in items:
        if item.name in seen:
            raise ValueError(f"{expected} ({item.name!r} twice)")
        seen.add(item.name)
    return items


class Risk(_Model):
    """Risk attitude: minimise ``(1 − weight)·E[cost] + weight·CVaR_alpha(cost)``."""

    alpha: Annotated[float, BeforeValidator(_number), Field(ge=0, lt=1, allow_inf_nan=False)] = (
        Field(0.9, description="CVaR level: the mean of the worst (1 - alpha) share of cost"))
    weight: Annotated[float, BeforeValidator(_number), Field(ge=0, le=1, allow_inf_nan=False)] = (
        Field(0.0, description="weight of CVaR in the objective; 0 = risk-neutral"))


class Outcome(_Model):
    """One outcome of an event: its probability and what it changes in the scenario."""

    name: Name = Field(description="outcome name, unique in its event")
    probability: Probability = Field(description="chance of this outcome")
    rules: list[Annotated[str, Field(min_length=1)]] = Field(
        default_factory=list, description="extra rule sets in force: ids or paths")
    set: dict[str, Any] = Field(
        default_factory=dict,
        description="overrides of scenario keys, as `--set key.path=value`")

    @field_validator("set")
    @classmethod
    def _paths(cls, value: dict[str, Any]) -> dict[str, Any]:
        for path in value:
            head = str(path).split(".")[0].split("[")[0].strip()
            if head in FIXED_KEYS:
                raise ValueError(f"keys other than {', '.join(FIXED_KEYS)} (every scenario of "
                                 f"a hedge shares them; got {path!r})")
        return value


class Event(_Model):
    """Something that will be known from a period on, with its possible outcomes."""

    name: Name = Field(description="event name, unique in the block")
    known_from: KnownFrom = Field(description="first period whose decisions know the outcome")
    outcomes: Annotated[list[Outcome], Field(min_length=1)] = Field(
        description="the possible outcomes; probabilities sum to 1")

    @field_validator("outcomes")
    @classmethod
    def _outcomes(cls, outcomes: list[Outcome]) -> list[Outcome]:
        _unique_names(outcomes, "outcome names unique in the event")
        total = math.fsum(o.probability for o in outcomes)
        if abs(total - 1.0) > PROBABILITY_TOLERANCE:
            raise ValueError(f"probabilities summing to 1 (they sum to {total:.6g})")
        return outcomes


class Uncertainty(_Model):
    """The whole ``uncertainty:`` block."""

    risk: Risk = Field(default_factory=Risk)
    events: Annotated[list[Event], Field(min_length=1)] = Field(
        description="independent events; the scenarios are every combination of outcomes")

    @field_validator("events")
    @classmethod
    def _events(cls, events: list[Event]) -> list[Event]:
        return _unique_names(events, "event names unique")

    @property
    def scenario_count(self) -> int:
        return math.prod(len(e.outcomes) for e in self.events)


# --------------------------------------------------------------------------------------------
# Deriving a scenario's data


def outcome_data(base: Mapping[str, Any], outcomes: Sequence[Outcome], *,
                 schema: type[BaseModel], label: str) -> dict[str, Any]:
    """Scenario data (the YAML format) of ``base`` with ``outcomes`` applied in order.

    Each outcome's ``rules`` are added to the base's rule list (the base's ``rules: null`` —
    every bundled rule set — becomes ``[bundled, ...]``); its ``set`` overrides are applied
    like ``--set`` (:func:`chipmix.inputs.overrides.apply_overrides` against ``schema``, the
    scenario model; errors labelled ``label``).
    The result has no ``uncertainty`` block; validate it with ``Scenario.from_dict``.
    """
    data = copy.deepcopy(dict(base))
    data.pop("uncertainty", None)
    for outcome in outcomes:
        if outcome.rules:
            rules = list(data.get("rules") or []) if data.get("rules") is not None \
                else ["bundled"]
            rules.extend(r for r in outcome.rules if r not in rules)
            data["rules"] = rules
        if outcome.set:
            data = apply_overrides(data, outcome.set, schema=schema, label=label)
    return data


__all__ = ["FIXED_KEYS", "Event", "Outcome", "Risk", "Uncertainty", "outcome_data"]
