"""The scenario's ``risks:`` block: what can go wrong with supply, as distributions.

Input layer only: these models validate and normalise the YAML; ``chipmix stress``
(:mod:`chipmix.insight.stress`) draws from them. Format (all keys optional)::

    risks:
      supply:                 # per SKU: a factor on its supply, drawn once per draw
        huawei-ascend-910b: {dist: uniform, low: 0.5, high: 1.0}
        nvidia-h20: {dist: triangular, low: 0.3, mode: 0.8, high: 1.0, from: 2024Q3,
                     probability: 0.5}
      revoke:                 # per SKU: supply falls to 0 from a period on (licence revoked)
        nvidia-h20: {probability: 0.3, from: 2025Q1, to: 2025Q3}
      ban_earlier:            # per SKU: the baseline ban starts `by_periods` periods sooner
        nvidia-h20: {probability: 0.2, by_periods: 1}
      shortfall_penalty: 1.0e5   # USD per metric unit per period for workloads without one
                                 # (a scalar, or {workload: value})

Semantics are in ``docs/insight.md``. SKU and workload names are checked against the
scenario by :func:`check_risks` (``chipmix stress`` calls it).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    ValidationInfo,
    model_validator,
)

from chipmix.errors import InputError, unknown_name_hint
from chipmix.periods import Period, parse_period

DISTRIBUTIONS = ("uniform", "triangular", "beta", "fixed")


def _period(value: Any, info: ValidationInfo) -> Period:
    """A period of the horizon's kind, not after the horizon end."""
    context = info.context or {}
    try:
        period = parse_period(value, context.get("kind"))
    except ValueError as exc:
        raise ValueError(f"{exc}") from None
    end = context.get("end")
    if end is not None and period > end:
        raise ValueError(f"a period up to {end} (the horizon end)")
    return period


def _number(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("a number")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("a finite number")
    return value


RiskPeriod = Annotated[Period, PlainValidator(_period), PlainSerializer(str, return_type=str)]
Number = Annotated[float, BeforeValidator(_number), Field(allow_inf_nan=False)]
Factor = Annotated[float, BeforeValidator(_number), Field(ge=0, allow_inf_nan=False)]
Probability = Annotated[float, BeforeValidator(_number), Field(ge=0, le=1, allow_inf_nan=False)]
Penalty = Annotated[float, BeforeValidator(_number), Field(gt=0, allow_inf_nan=False)]


class _RiskModel(BaseModel):
    model_config = ConfigDict(
        frozen=True, extra="forbid", validate_by_name=True, validate_by_alias=True,
        serialize_by_alias=True,
    )
    #: read by chipmix.inputs.scenario's error messages (fields holding the mapping's own keys)
    _inline: ClassVar[frozenset[str]] = frozenset()


class SupplyRisk(_RiskModel):
    """A random factor on one SKU's supply (1.0 = as planned, 0.5 = half arrives).

    With probability ``probability`` the factor is drawn from ``dist`` and multiplies the
    SKU's supply in every period from ``from`` on; otherwise supply is as planned.
    """

    dist: Literal["uniform", "triangular", "beta", "fixed"] = Field(
        description="uniform(low, high) | triangular(low, mode, high) | "
                    "beta(a, b) scaled to [low, high] | fixed(value)")
    low: Factor | None = Field(None, description="smallest factor (uniform, triangular, beta)")
    high: Factor | None = Field(None, description="largest factor (uniform, triangular, beta)")
    mode: Factor | None = Field(None, description="most likely factor (triangular)")
    a: Annotated[float, Field(gt=0)] | None = Field(None, description="beta shape a")
    b: Annotated[float, Field(gt=0)] | None = Field(None, description="beta shape b")
    value: Factor | None = Field(None, description="the factor (fixed)")
    probability: Probability = Field(1.0, description="chance the shock happens in a draw")
    start: RiskPeriod | None = Field(
        None, alias="from", description="first period hit; default the horizon start")

    @model_validator(mode="after")
    def _parameters(self) -> SupplyRisk:
        need = {
            "uniform": ("low", "high"),
            "triangular": ("low", "mode", "high"),
            "beta": ("a", "b"),
            "fixed": ("value",),
        }[self.dist]
        missing = [name for name in need if getattr(self, name) is None]
        if missing:
            raise ValueError(f"{self.dist} needs {', '.join(need)} (missing {', '.join(missing)})")
        low: float | None = self.low
        high: float | None = self.high
        if self.dist == "beta":
            low = 0.0 if low is None else low
            high = 1.0 if high is None else high
        if low is not None and high is not None and low > high:
            raise ValueError(f"low ≤ high (got low {low}, high {high})")
        if self.dist == "triangular":
            assert low is not None and high is not None and self.mode is not None  # needed
            if not low <= self.mode <= high:
                raise ValueError(f"low ≤ mode ≤ high (got {low}, {self.mode}, {high})")
        return self

    def bounds(self) -> tuple[float, float]:
        """(low, high) of the factor's range."""
        if self.dist == "fixed":
            assert self.value is not None  # required for fixed (validated)
            return float(self.value), float(self.value)
        if self.dist == "beta":
            return (0.0 if self.low is None else self.low, 1.0 if self.high is None else self.high)
        assert self.low is not None and self.high is not None  # required (validated)
        return float(self.low), float(self.high)


class RevokeRisk(_RiskModel):
    """With ``probability``, the SKU's supply falls to 0 from a period on.

    The period is ``from``, or drawn uniformly from ``from``..``to`` when ``to`` is given.
    """

    probability: Probability = Field(description="chance the revocation happens in a draw")
    start: RiskPeriod = Field(alias="from", description="earliest period of the revocation")
    end: RiskPeriod | None = Field(None, alias="to", description="latest period (default: from)")

    @model_validator(mode="after")
    def _order(self) -> RevokeRisk:
        if self.end is not None and self.end < self.start:
            raise ValueError(f"'to' at or after 'from' (got from {self.start}, to {self.end})")
        return self


class BanEarlierRisk(_RiskModel):
    """With ``probability``, the SKU's baseline ban starts ``by_periods`` periods sooner.

    The baseline ban is the final run of periods where it cannot be bought, within the
    horizon.
    """

    probability: Probability = Field(description="chance the ban comes early in a draw")
    by_periods: Annotated[int, BeforeValidator(_number), Field(ge=1)] = Field(
        1, description="how many periods earlier")


def _penalty_map(value: Any) -> Any:
    return value if isinstance(value, dict) or value is None else {"default": value}


class Risks(_RiskModel):
    """The whole ``risks:`` block (empty = no risk declared)."""

    supply: dict[str, SupplyRisk] = Field(default_factory=dict,
                                          description="supply factor per SKU")
    revoke: dict[str, RevokeRisk] = Field(default_factory=dict,
                                          description="supply cut to 0 per SKU")
    ban_earlier: dict[str, BanEarlierRisk] = Field(default_factory=dict,
                                                   description="earlier ban per SKU")
    shortfall_penalty: Annotated[dict[str, Penalty], BeforeValidator(_penalty_map)] = Field(
        default_factory=dict,
        description="money per metric unit short per period, for workloads without a "
                    "shortfall_penalty ('default' or per workload); absent: see docs/insight.md")

    @property
    def empty(self) -> bool:
        return not (self.supply or self.revoke or self.ban_earlier)

    def skus(self) -> list[tuple[str, str]]:
        """(section, sku) for every SKU named."""
        return [(section, sku) for section in ("supply", "revoke", "ban_earlier")
                for sku in getattr(self, section)]


def check_risks(risks: Risks, skus: Iterable[str], workloads: Iterable[str], *,
                file: str | Path | None = None) -> None:
    """Every SKU and workload a ``risks:`` block names exists (InputError otherwise)."""
    skus, workloads = list(skus), list(workloads)
    for section, sku in risks.skus():
        if sku not in skus:
            raise InputError("unknown SKU", file=file, location=f"risks.{section}.{sku}",
                             value=sku, expected="a SKU of the scenario's catalogs",
                             hint=unknown_name_hint(sku, skus))
    for name in risks.shortfall_penalty:
        if name != "default" and name not in workloads:
            raise InputError("unknown workload", file=file,
                             location=f"risks.shortfall_penalty.{name}", value=name,
                             expected="a workload of the scenario or 'default'",
                             hint=unknown_name_hint(name, [*workloads, "default"]))


__all__ = [
    "DISTRIBUTIONS", "BanEarlierRisk", "RevokeRisk", "Risks", "SupplyRisk", "check_risks",
]
