"""The model's parameters, derived independently from the inputs (``derive_parameters``).

Plain scalar loops over SKUs, workloads and periods, written from
``docs/planning-model.md`` — never from the model code: per-SKU figures
(:class:`SkuParams`), workloads with demand and capability, supply / price / status per SKU
and period after the export rules, porting costs and the policy per period.
"""

from __future__ import annotations

import datetime as dt
import enum
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from chipmix.periods import Period, step_values
from chipmix.rules import Timeline, load_rulesets

#: Status names from least to most restrictive (rules.md).
STATUS_ORDER = ("allowed", "notify", "license", "denied")

#: workload metric -> (catalog fields tried in order, divisor, takes the kind's efficiency)
METRIC_FIGURES: dict[str, tuple[tuple[str, ...], float, bool]] = {
    "bf16_pflops": (("bf16_dense_tflops", "fp16_dense_tflops"), 1000.0, True),
    "fp8_pflops": (("fp8_dense_tflops",), 1000.0, True),
    "int8_pops": (("int8_dense_tops",), 1000.0, True),
    "memory_bw_tbps": (("memory_bw_tbps",), 1.0, True),
    "memory_tb": (("memory_gb",), 1000.0, False),
}

# Catalog defaults (formats.md): used when a record leaves the cell empty.
DEFAULT_SERVER_SIZE = 8
DEFAULT_LEAD_QUARTERS = 0
DEFAULT_EFFICIENCY = {"training": 0.4, "inference": 0.5}


@dataclass
class SkuParams:
    """Per-SKU parameters (units in the attribute names' comments)."""

    sku: str
    vendor: str
    origin: str
    domestic: bool
    server: int  # cards per server
    lead: int  # periods between purchase and service
    life: float  # periods in service (inf = beyond the horizon)
    inventory: float  # units in service from t0
    watts: float | None  # W per card (None = unknown)
    weight: float  # compute-basis share weight: raw dense bf16 (else fp16) TFLOPS, 0 unknown
    list_price: float | None  # catalog price_usd (after overrides)
    retire_t: int  # first period index out of service (T = never)
    release: dt.date | None  # first day it can be bought (None = always)


@dataclass
class WorkloadParams:
    """Per-workload parameters: kind, metric, shortfall penalty and demand per period."""

    name: str
    kind: str
    metric: str
    penalty: float | None  # USD per metric unit short per period; None = hard demand
    demand: list[float]  # per period, metric units


@dataclass
class Tranche:
    """A purchase tranche: a run of equal terms inside a period.

    A run of equal terms inside a period: days ``[start, end)``, its fee, its rate (units per period
    at those terms), its supply (days / period days × rate) and its unit price.
    """

    start: dt.date
    end: dt.date
    fee: float
    rate: float
    supply: float
    price: float | None

    @property
    def until(self) -> dt.date:
        """Its last day."""
        return self.end - dt.timedelta(days=1)

    def text(self) -> str:
        """Its days, ``first..last``, for messages."""
        return f"{self.start.isoformat()}..{self.until.isoformat()}"


@dataclass(frozen=True)
class FloorParams:
    """A rule's domestic-share floor in force in period ``t`` for the scenario's buyer.

    In force on at least one day of the period; ``of`` is what it measures (the spend basis:
    purchases), ``text`` names the rule and the floor for messages.
    """

    t: int
    floor: float
    of: str
    basis: str
    text: str


@dataclass
class Parameters:
    """Every parameter of the planning model, as plain dicts and lists.

    ``supply[(k, t)]`` is units (``inf`` = unlimited), the sum over ``tranches[(k, t)]``
    (the period's runs of equal terms, each with its own price and supply; empty when the SKU
    cannot be bought), ``price[(k, t)]`` USD per unit incl. fees of the cheapest tranche
    (None = no price), ``status[(k, t)]`` the most restrictive status in the period,
    ``unbuyable[(k, t)]`` why a SKU cannot be bought when its supply is 0 for a reason other
    than the rules' cut, ``cap[(k, w)]`` metric units per unit for eligible pairs only,
    ``port[(v, w)]`` one-off USD (> 0 only).
    """

    periods: list[Period]
    labels: list[str]
    days: list[int]
    hours: list[float]
    years: list[float]
    discount: list[float]
    skus: dict[str, SkuParams]
    workloads: dict[str, WorkloadParams]
    cap: dict[tuple[str, str], float]
    supply: dict[tuple[str, int], float]
    price: dict[tuple[str, int], float | None]
    fee: dict[tuple[str, int], float]
    tranches: dict[tuple[str, int], list[Tranche]]
    status: dict[tuple[str, int], str]
    unbuyable: dict[tuple[str, int], str]
    port: dict[tuple[str, str], float]
    share: list[float]
    share_basis: str
    vendor_cap: float | None
    budget: list[float | None]
    power_mw: list[float | None]
    pue: float
    energy_price: list[float]
    #: what the shares measure: use, fleet or purchases (the spend basis: purchases)
    share_of: str = "use"
    #: per vendor with a pool: units per period (None before the pool's first key)
    pools: dict[str, list[float | None]] = field(default_factory=dict)
    #: the rule sets' domestic-share floors for the buyer, per period in force
    floors: list[FloorParams] = field(default_factory=list)

    def energy_per_unit(self, sku: str, t: int) -> float | None:
        """USD per unit in use during period ``t``: watts·pue·hours·energy_price/1000."""
        watts = self.skus[sku].watts
        if watts is None:
            return None
        return watts * self.pue * self.hours[t] * self.energy_price[t] / 1000.0


def _opt_float(value: Any) -> float | None:
    """A float, or None for None / NaN (an unknown catalog cell)."""
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) else value


def _steps(points: Mapping[Period, Any] | None, periods: list[Period], before: Any) -> list[Any]:
    return step_values(dict(points or {}), periods, before=before)


def _status_name(status: Any) -> str:
    """'allowed' / 'notify' / 'license' / 'denied' from a Status enum or text."""
    if isinstance(status, enum.Enum):
        value = status.value if isinstance(status.value, str) else status.name
        return str(value).lower()
    return str(status).strip().lower()


def _licence_terms(policy: Any, sku: str) -> tuple[bool, float, float | None]:
    """(allow, fee, cap) of the scenario's licence policy for ``sku``."""
    terms = policy.per_sku.get(sku)
    if terms is None:
        return policy.default == "allow", 0.0, None
    return bool(terms.allow), float(terms.fee or 0.0), _opt_float(terms.cap)


def _release_day(text: Any) -> dt.date | None:
    """First day a SKU can be bought: ``YYYY`` → 1 January, ``YYYY-MM`` → the 1st."""
    if text is None:
        return None
    text = str(text).strip()
    if len(text) == 4 and text.isdigit():
        return dt.date(int(text), 1, 1)
    if len(text) == 7 and text[4] == "-":
        return dt.date(int(text[:4]), int(text[5:]), 1)
    return None


def _lifetimes(scenario: Any) -> tuple[dict[str, float], float]:
    """Per-SKU lifetimes in periods and the default (inf = beyond the horizon)."""
    table = {str(k): float(v) for k, v in scenario.lifetime.items()}
    default = table.pop("default", math.inf)
    return table, default


def _make_timeline(scenario: Any, catalog: Any) -> Any:
    rulesets = load_rulesets(scenario.rules, base_dir=scenario.base_dir)
    return Timeline(
        rulesets,
        catalog.frame,
        home=scenario.home,
        buyer=scenario.buyer,
        unknown_policy=scenario.unknown_policy,
        params=dict(scenario.rule_params),
    )


def derive_parameters(scenario: Any, catalog: Any = None, timeline: Any = None) -> Parameters:
    """Every model parameter from the inputs, following ``docs/planning-model.md``.

    ``catalog`` defaults to ``scenario.load_catalog()`` (overrides applied) and ``timeline``
    to a :class:`chipmix.rules.Timeline` over the scenario's rule sets.
    """
    scenario = scenario.in_usd()  # the scenario's own money (currency:) in USD
    if catalog is None:
        catalog = scenario.load_catalog()
    if timeline is None:
        timeline = _make_timeline(scenario, catalog)
    periods = list(scenario.periods)
    T = len(periods)
    per_year = 4 if periods and periods[0].kind == "Q" else 12
    days = [p.days for p in periods]
    years = [t / per_year for t in range(T)]
    rate = float(scenario.discount_rate)
    policy = scenario.policy
    records = {r.id: r for r in catalog.records}
    skus = _sku_params(scenario, records, periods)
    workloads, cap = _workload_params(scenario, records, periods)
    table = _SupplyTable(scenario, timeline, periods, years)
    serving = {sku for sku, _ in cap}
    for sku, r in records.items():
        table.add_sku(sku, r, skus[sku], serving)
    return Parameters(
        periods=periods,
        labels=[str(p) for p in periods],
        days=days,
        hours=[24.0 * d for d in days],
        years=years,
        discount=[(1.0 + rate) ** -y for y in years],
        skus=skus,
        workloads=workloads,
        cap=cap,
        supply=table.supply,
        price=table.price,
        fee=table.fee,
        tranches=table.tranches,
        status=table.status,
        unbuyable=table.unbuyable,
        port=_port_params(scenario),
        share=[float(v) for v in _steps(policy.domestic_share, periods, 0.0)],
        share_basis=str(policy.share_basis),
        vendor_cap=_opt_float(policy.vendor_cap),
        budget=[_opt_float(v) for v in _steps(policy.budget, periods, None)],
        power_mw=[_opt_float(v) for v in _steps(policy.power_mw, periods, None)],
        pue=float(policy.pue),
        energy_price=[float(v) for v in _steps(policy.energy_price, periods, 0.0)],
        share_of="purchases" if str(policy.share_basis) == "spend" else str(policy.share_of),
        pools={str(vendor): [_opt_float(v) for v in _steps(steps, periods, None)]
               for vendor, steps in dict(scenario.pools).items()},
        floors=_floor_params(timeline, periods),
    )


def _floor_params(timeline: Any, periods: list[Period]) -> list[FloorParams]:
    """Every rule floor in force on some day of each period (docs/planning-model.md)."""
    out: list[FloorParams] = []
    for t, period in enumerate(periods):
        seen: set[tuple[str, str, float, str, str]] = set()
        day = period.start
        while day < period.end:  # every day: independent of how the timeline cuts segments
            for f in timeline.floors(day):
                of = "purchases" if f.basis == "spend" else str(f.of)
                key = (str(f.rule), str(f.id), float(f.floor), of, str(f.basis))
                if key not in seen:
                    seen.add(key)
                    out.append(FloorParams(t, float(f.floor), of, str(f.basis),
                                           f"{f.rule} / {f.id}"))
            day += dt.timedelta(days=1)
    return out


# -- SKUs ------------------------------------------------------------------------------------


def _sku_params(scenario: Any, records: Mapping[str, Any], periods: list[Period]
                ) -> dict[str, SkuParams]:
    """Per SKU: vendor, origin, server size, lead and life in periods, inventory, watts, ..."""
    T = len(periods)
    periods_per_quarter = 3 // periods[0].months if periods else 1
    lifetimes, default_life = _lifetimes(scenario)
    skus: dict[str, SkuParams] = {}
    for sku, r in records.items():
        server = _opt_float(r.server_size)
        lead = _opt_float(r.lead_quarters)
        bf16 = _opt_float(r.bf16_dense_tflops)
        if bf16 is None:
            bf16 = _opt_float(r.fp16_dense_tflops)
        retire_t = T
        if sku in scenario.retire:
            when = scenario.retire[sku]
            retire_t = 0
            for t, p in enumerate(periods):
                if p < when:
                    retire_t = t + 1
        skus[sku] = SkuParams(
            sku=sku,
            vendor=r.vendor,
            origin=r.origin,
            domestic=r.origin == scenario.home,
            server=int(server) if server is not None else DEFAULT_SERVER_SIZE,
            lead=int(lead if lead is not None else DEFAULT_LEAD_QUARTERS) * periods_per_quarter,
            life=float(lifetimes.get(sku, default_life)),
            inventory=float(scenario.inventory.get(sku, 0.0)),
            watts=_opt_float(r.tdp_w),
            weight=bf16 if bf16 is not None else 0.0,
            list_price=_opt_float(r.price_usd),
            retire_t=retire_t,
            release=_release_day(r.release),
        )
    return skus


# -- workloads, demand, capability -------------------------------------------------------------


def _workload_params(scenario: Any, records: Mapping[str, Any], periods: list[Period]
                     ) -> tuple[dict[str, WorkloadParams], dict[tuple[str, str], float]]:
    """Workloads with their demand per period, and ``cap[(sku, workload)]`` of eligible pairs."""
    measured = {(e.sku, e.workload): float(e.value) for e in scenario.performance}
    workloads: dict[str, WorkloadParams] = {}
    cap: dict[tuple[str, str], float] = {}
    for w in scenario.workloads:
        demand = [float(v) for v in _steps(w.demand, periods, 0.0)]
        workloads[w.name] = WorkloadParams(w.name, w.kind, w.metric,
                                           _opt_float(w.shortfall_penalty), demand)
        for sku, r in records.items():
            value = measured.get((sku, w.name))
            if value is None:
                value = _catalog_capability(r, w)
            if value is not None and value > 0 and _eligible(r, w):
                cap[(sku, w.name)] = value
    return workloads, cap


def _catalog_capability(record: Any, workload: Any) -> float | None:
    """Metric units per card from the catalog: the first known figure ÷ divisor × efficiency."""
    fields, divisor, takes_efficiency = METRIC_FIGURES[workload.metric]
    figure = None
    for name in fields:
        figure = _opt_float(getattr(record, name))
        if figure is not None:
            break
    if figure is None:
        return None
    value = figure / divisor
    if takes_efficiency:
        eff = _opt_float(getattr(record, f"efficiency_{workload.kind}"))
        value *= eff if eff is not None else DEFAULT_EFFICIENCY[workload.kind]
    return value


def _eligible(record: Any, workload: Any) -> bool:
    """The workload's memory and interconnect minimums and its exclusions."""
    if workload.min_memory_gb is not None:
        memory = _opt_float(record.memory_gb)
        if memory is None or memory < float(workload.min_memory_gb):
            return False
    if workload.min_interconnect_gbps is not None:
        link = _opt_float(record.interconnect_gbps)
        if link is None or link < float(workload.min_interconnect_gbps):
            return False
    excluded = set(workload.exclude)
    return record.id not in excluded and record.vendor not in excluded


# -- supply, price, availability ---------------------------------------------------------------


class _SupplyTable:
    """supply, tranches, price, fee, status and unbuyable per (sku, t), filled SKU by SKU."""

    def __init__(self, scenario: Any, timeline: Any, periods: list[Period],
                 years: list[float]) -> None:
        self.scenario, self.timeline, self.periods, self.years = scenario, timeline, periods, years
        self.quarter_scale = periods[0].months / 3.0 if periods else 1.0  # per quarter → period
        self.decline = float(scenario.price_decline_per_year)
        self.supply: dict[tuple[str, int], float] = {}
        self.tranches: dict[tuple[str, int], list[Tranche]] = {}
        self.price: dict[tuple[str, int], float | None] = {}
        self.fee: dict[tuple[str, int], float] = {}
        self.status: dict[tuple[str, int], str] = {}
        self.unbuyable: dict[tuple[str, int], str] = {}

    def add_sku(self, sku: str, record: Any, k: SkuParams, serving: set[str]) -> None:
        """Every period of one SKU."""
        periods = self.periods
        catalog_q = _opt_float(record.supply_per_quarter)
        catalog_base = math.inf if catalog_q is None else catalog_q * self.quarter_scale
        scenario_base = _steps(self.scenario.supply.get(sku), periods, None)
        price_override = _steps(self.scenario.prices.get(sku), periods, None)
        licence = _licence_terms(self.scenario.licenses, sku)
        for t, period in enumerate(periods):
            base = float(scenario_base[t]) if scenario_base[t] is not None else catalog_base
            stretches, worst = self._rules_cut(sku, k, period, base, licence)
            if price_override[t] is not None:
                list_price: float | None = float(price_override[t])
            elif k.list_price is not None:
                list_price = k.list_price * (1.0 - self.decline) ** self.years[t]
            else:
                list_price = None
            mine = _tranches(stretches, period, list_price)
            why = _unbuyable_reason(k, t, period, periods, sku in serving, list_price)
            self.supply[(sku, t)] = 0.0 if why else sum(tr.supply for tr in mine)
            self.tranches[(sku, t)] = [] if why else mine
            if why:
                self.unbuyable[(sku, t)] = why
            fee = min((tr.fee for tr in mine), default=0.0)
            self.price[(sku, t)] = None if list_price is None else list_price * (1.0 + fee)
            self.fee[(sku, t)] = fee
            self.status[(sku, t)] = STATUS_ORDER[worst]

    def _rules_cut(self, sku: str, k: SkuParams, period: Period, base: float,
                   licence: tuple[bool, float, float | None]
                   ) -> tuple[list[tuple[dt.date, dt.date, float, float]], int]:
        """The purchasable stretches of ``period`` after the rules.

        The purchasable stretches of ``period`` after the rules — ``(start, end, fee, units per
        period)`` — and the most restrictive status.
        """
        licence_allow, licence_fee, licence_cap = licence
        stretches: list[tuple[dt.date, dt.date, float, float]] = []
        worst = 0
        for seg_start, seg_end, decision in self.timeline.segments(sku, period.start, period.end):
            name = _status_name(decision.status)
            worst = max(worst, STATUS_ORDER.index(name))
            if k.release is not None and seg_start < k.release:
                seg_start = min(k.release, seg_end)  # nothing to buy before the release
            rule_fee = float(decision.fee or 0.0)
            rule_cap = _opt_float(decision.cap)
            if name in ("allowed", "notify"):
                seg_fee, caps = rule_fee, [rule_cap]
            elif name == "license" and licence_allow and decision.issued:
                # a licence policy of allow buys only while licences are being issued
                seg_fee, caps = rule_fee + licence_fee, [rule_cap, licence_cap]
            else:
                continue
            units = base
            for c in caps:
                if c is not None:
                    units = min(units, c * self.quarter_scale)
            if seg_end > seg_start:
                stretches.append((seg_start, seg_end, seg_fee, units))
        return stretches, worst


def _tranches(stretches: list[tuple[dt.date, dt.date, float, float]], period: Period,
              list_price: float | None) -> list[Tranche]:
    """The tranches of a period.

    Maximal runs of touching stretches with the same fee and rate, each a tranche with ``supply =
    days / period days × rate`` and ``price = list price × (1 + fee)``.
    """
    out: list[Tranche] = []
    for start, end, fee, rate in stretches:
        if out and out[-1].end == start and out[-1].fee == fee and out[-1].rate == rate:
            out[-1].end = end
        else:
            price = None if list_price is None else list_price * (1.0 + fee)
            out.append(Tranche(start=start, end=end, fee=fee, rate=rate, supply=0.0, price=price))
    for tr in out:
        tr.supply = (tr.end - tr.start).days / period.days * tr.rate
    return out


def _unbuyable_reason(k: SkuParams, t: int, period: Period, periods: list[Period],
                      serves: bool, list_price: float | None) -> str | None:
    """Why the SKU cannot be bought in ``period`` for a reason other than the rules."""
    if t >= k.retire_t:
        return f"retired from {periods[k.retire_t]} by the scenario"
    if k.release is not None and k.release >= period.end:
        return f"not released until {k.release:%Y-%m}"
    if not serves:
        return "serves no workload"
    if list_price is None:
        return "no price"
    if k.watts is None:
        return "no power figure (tdp_w)"
    return None


# -- porting ---------------------------------------------------------------------------------


def _port_params(scenario: Any) -> dict[tuple[str, str], float]:
    """``port[(vendor, workload)]``: one-off USD, > 0 only, vendors not already ported."""
    ported_vendors = set(scenario.ported)
    port: dict[tuple[str, str], float] = {}
    for vendor, per_workload in scenario.porting.items():
        if vendor in ported_vendors:
            continue
        for w, cost in dict(per_workload).items():
            if cost is not None and float(cost) > 0:
                port[(vendor, w)] = float(cost)
    return port


__all__ = ["Parameters", "SkuParams", "Tranche", "WorkloadParams", "derive_parameters"]
