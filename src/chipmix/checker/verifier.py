"""Independent plan checker: ``verify(plan, scenario) -> VerifyReport``.

Recomputes every parameter of the planning model (``docs/planning-model.md``) from the
*inputs* — the scenario, its catalogs and the export-control timeline — and then every
constraint and the objective from the plan's *decisions* (purchases, allocation, ported
workloads, shortfall). It is a second implementation on purpose: plain scalar loops over
SKUs, workloads and periods, written from the documentation, never importing the model code
(``chipmix.model``, ``chipmix.solve``, ``chipmix.planner.extract``). It uses only the input
layer: ``chipmix.inputs.scenario``, ``chipmix.inputs.catalog``, ``chipmix.rules`` and ``chipmix.periods``.

Each comparison is one *check* of a named family (``supply``, ``price``, ``fleet``,
``demand``, ...); a failed check is a violation, a line that names the family, the SKU /
workload / period, the plan's value and the limit::

    supply nvidia-h800 2023Q4: bought 1600 units > 1533.7 purchasable

Two numbers agree when ``|a - b| <= 1e-6 + tolerance * max(|a|, |b|)``; an inequality
``a <= b`` holds when ``a <= b + 1e-6 + tolerance * max(|a|, |b|)``. The absolute part
absorbs the plan's rounding of continuous quantities to 6 decimals.
"""

from __future__ import annotations

import datetime as dt
import enum
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chipmix.errors import InputError
from chipmix.inputs.scenario import load_scenario
from chipmix.inputs.solver import Status
from chipmix.periods import Period, step_values
from chipmix.rules import Timeline, load_rulesets

__all__ = ["Parameters", "VerifyReport", "derive_parameters", "verify"]

#: Absolute tolerance added to every comparison (the plan rounds to 6 decimals).
ABS_TOL = 1e-6

#: Statuses that carry decisions to check.
PLAN_STATUSES = Status.with_plan()

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


# ============================================================================================
# The report


@dataclass
class VerifyReport:
    """The outcome of :func:`verify`.

    Attributes
    ----------
    ok : True when no check failed.
    checks : the number of individual checks evaluated (one per constraint instance or
        reported figure compared); ``recomputed["checks"]`` breaks it down by family.
    violations : one human-readable line per failed check.
    recomputed : the checker's own figures: ``cost`` (nominal, USD), ``discounted_cost``,
        ``objective``, ``fleet``, ``delivered``, ``shares``, ``availability`` and ``checks``.
    notes : remarks that are not violations (e.g. "no decisions to check").
    """

    ok: bool
    checks: int
    violations: list[str]
    recomputed: dict[str, Any]
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "checks": self.checks,
            "violations": list(self.violations),
            "notes": list(self.notes),
            "recomputed": self.recomputed,
        }

    def summary(self) -> str:
        """One line: ``ok: 412 checks`` or ``3 violations in 412 checks``."""
        if self.ok:
            extra = f" ({'; '.join(self.notes)})" if self.notes else ""
            return f"ok: {self.checks} checks{extra}"
        n = len(self.violations)
        return f"{n} violation{'s' if n != 1 else ''} in {self.checks} checks"

    def __str__(self) -> str:
        return "\n".join([self.summary(), *self.violations])


# ============================================================================================
# Parameters, derived independently from the inputs


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
    name: str
    kind: str
    metric: str
    penalty: float | None  # USD per metric unit short per period; None = hard demand
    demand: list[float]  # per period, metric units


@dataclass
class Parameters:
    """Every parameter of the planning model, as plain dicts and lists.

    ``supply[(k, t)]`` is units (``inf`` = unlimited), ``price[(k, t)]`` USD per unit incl.
    fees (None = no price), ``status[(k, t)]`` the most restrictive status in the period,
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
    """(allow, fee, cap) of the scenario's licence policy for ``sku``.

    A bare ``deny`` / ``allow`` text is accepted as well as a ``LicensePolicy``.
    """
    if policy is None:
        return False, 0.0, None
    if isinstance(policy, str):
        return policy.strip().lower() == "allow", 0.0, None
    per_sku = dict(getattr(policy, "per_sku", None) or {})
    terms = per_sku.get(sku)
    if terms is None:
        default = getattr(policy, "default", "deny")
        allow = default is True or str(default).strip().lower() == "allow"
        return allow, 0.0, None
    if isinstance(terms, Mapping):
        allow = bool(terms.get("allow", True))
        fee, cap = terms.get("fee"), terms.get("cap")
    else:
        allow = bool(getattr(terms, "allow", True))
        fee, cap = getattr(terms, "fee", None), getattr(terms, "cap", None)
    return allow, float(fee or 0.0), _opt_float(cap)


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
    raw = getattr(scenario, "lifetime", None)
    if raw is None:
        return {}, math.inf
    if isinstance(raw, (int, float)):
        return {}, float(raw)
    table = {str(k): float(v) for k, v in dict(raw).items() if v is not None}
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
        params=dict(getattr(scenario, "rule_params", None) or {}),
    )


def derive_parameters(scenario: Any, catalog: Any = None, timeline: Any = None) -> Parameters:
    """Every model parameter from the inputs, following ``docs/planning-model.md``.

    ``catalog`` defaults to ``scenario.load_catalog()`` (overrides applied) and ``timeline``
    to a :class:`chipmix.rules.Timeline` over the scenario's rule sets.
    """
    if hasattr(scenario, "in_usd"):  # the scenario's own money (currency:) in USD
        scenario = scenario.in_usd()
    if catalog is None:
        catalog = scenario.load_catalog()
    if timeline is None:
        timeline = _make_timeline(scenario, catalog)
    periods = list(scenario.periods)
    T = len(periods)
    labels = [str(p) for p in periods]
    per_year = 4 if periods and periods[0].kind == "Q" else 12
    quarter_scale = periods[0].months / 3.0 if periods else 1.0  # per-quarter → per-period
    periods_per_quarter = 3 // periods[0].months if periods else 1

    days = [p.days for p in periods]
    hours = [24.0 * d for d in days]
    years = [t / per_year for t in range(T)]
    rate = float(scenario.discount_rate or 0.0)
    discount = [(1.0 + rate) ** -y for y in years]
    policy = scenario.policy
    pue = float(policy.pue) if getattr(policy, "pue", None) is not None else 1.0

    # ---- SKUs --------------------------------------------------------------------------
    lifetimes, default_life = _lifetimes(scenario)
    inventory = dict(scenario.inventory or {})
    retire = dict(scenario.retire or {})
    skus: dict[str, SkuParams] = {}
    records = {r.id: r for r in catalog.records}
    for sku, r in records.items():
        server = _opt_float(r.server_size)
        lead = _opt_float(r.lead_quarters)
        bf16 = _opt_float(r.bf16_dense_tflops)
        if bf16 is None:
            bf16 = _opt_float(r.fp16_dense_tflops)
        retire_t = T
        if sku in retire:
            when = retire[sku]
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
            inventory=float(inventory.get(sku, 0.0)),
            watts=_opt_float(r.tdp_w),
            weight=bf16 if bf16 is not None else 0.0,
            list_price=_opt_float(r.price_usd),
            retire_t=retire_t,
            release=_release_day(r.release),
        )

    # ---- workloads, demand, capability -------------------------------------------------
    measured: dict[tuple[str, str], float] = {}
    for entry in scenario.performance or []:
        measured[(entry.sku, entry.workload)] = float(entry.value)
    workloads: dict[str, WorkloadParams] = {}
    cap: dict[tuple[str, str], float] = {}
    for w in scenario.workloads:
        penalty = _opt_float(w.shortfall_penalty)
        demand = [float(v) for v in _steps(w.demand, periods, 0.0)]
        workloads[w.name] = WorkloadParams(w.name, w.kind, w.metric, penalty, demand)
        fields, divisor, takes_efficiency = METRIC_FIGURES[w.metric]
        excluded = set(w.exclude or ())
        for sku, r in records.items():
            if (sku, w.name) in measured:
                value: float | None = measured[(sku, w.name)]
            else:
                figure = None
                for name in fields:
                    figure = _opt_float(getattr(r, name))
                    if figure is not None:
                        break
                if figure is None:
                    value = None
                else:
                    value = figure / divisor
                    if takes_efficiency:
                        eff = _opt_float(getattr(r, f"efficiency_{w.kind}"))
                        value *= eff if eff is not None else DEFAULT_EFFICIENCY[w.kind]
            if value is None or not value > 0:
                continue
            if w.min_memory_gb is not None:
                memory = _opt_float(r.memory_gb)
                if memory is None or memory < float(w.min_memory_gb):
                    continue
            if w.min_interconnect_gbps is not None:
                link = _opt_float(r.interconnect_gbps)
                if link is None or link < float(w.min_interconnect_gbps):
                    continue
            if sku in excluded or r.vendor in excluded:
                continue
            cap[(sku, w.name)] = value
    serving = {sku for sku, _ in cap}

    # ---- supply, price, availability ---------------------------------------------------
    decline = float(scenario.price_decline_per_year or 0.0)
    supply_maps = dict(scenario.supply or {})
    price_maps = dict(scenario.prices or {})
    supply: dict[tuple[str, int], float] = {}
    price: dict[tuple[str, int], float | None] = {}
    fees: dict[tuple[str, int], float] = {}
    status: dict[tuple[str, int], str] = {}
    unbuyable: dict[tuple[str, int], str] = {}
    for sku, r in records.items():
        k = skus[sku]
        catalog_q = _opt_float(r.supply_per_quarter)
        catalog_base = math.inf if catalog_q is None else catalog_q * quarter_scale
        scenario_base = _steps(supply_maps.get(sku), periods, None)
        price_override = _steps(price_maps.get(sku), periods, None)
        licence_allow, licence_fee, licence_cap = _licence_terms(scenario.licenses, sku)
        for t, period in enumerate(periods):
            base = float(scenario_base[t]) if scenario_base[t] is not None else catalog_base
            cut = 0.0
            purchasable_fraction = 0.0
            fee_days = 0.0
            worst = 0
            for seg_start, seg_end, decision in timeline.segments(sku, period.start, period.end):
                name = _status_name(decision.status)
                worst = max(worst, STATUS_ORDER.index(name))
                if k.release is not None and seg_start < k.release:
                    seg_start = min(k.release, seg_end)  # nothing to buy before the release
                fraction = (seg_end - seg_start).days / period.days
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
                        units = min(units, c * quarter_scale)
                if fraction > 0:
                    cut += fraction * units
                purchasable_fraction += fraction
                fee_days += fraction * seg_fee
            fee = fee_days / purchasable_fraction if purchasable_fraction > 0 else 0.0
            if price_override[t] is not None:
                list_price: float | None = float(price_override[t])
            elif k.list_price is not None:
                list_price = k.list_price * (1.0 - decline) ** years[t]
            else:
                list_price = None
            why = None
            if t >= k.retire_t:
                why = f"retired from {periods[k.retire_t]} by the scenario"
            elif k.release is not None and k.release >= period.end:
                why = f"not released until {k.release:%Y-%m}"
            elif sku not in serving:
                why = "serves no workload"
            elif list_price is None:
                why = "no price"
            elif k.watts is None:
                why = "no power figure (tdp_w)"
            supply[(sku, t)] = 0.0 if why else cut
            if why:
                unbuyable[(sku, t)] = why
            price[(sku, t)] = None if list_price is None else list_price * (1.0 + fee)
            fees[(sku, t)] = fee
            status[(sku, t)] = STATUS_ORDER[worst]

    # ---- porting -----------------------------------------------------------------------
    ported_vendors = set(scenario.ported or [])
    port: dict[tuple[str, str], float] = {}
    for vendor, per_workload in (scenario.porting or {}).items():
        if vendor in ported_vendors:
            continue
        for w, cost in dict(per_workload).items():
            if cost is not None and float(cost) > 0:
                port[(vendor, w)] = float(cost)

    vendor_cap = _opt_float(getattr(policy, "vendor_cap", None))
    return Parameters(
        periods=periods,
        labels=labels,
        days=days,
        hours=hours,
        years=years,
        discount=discount,
        skus=skus,
        workloads=workloads,
        cap=cap,
        supply=supply,
        price=price,
        fee=fees,
        status=status,
        unbuyable=unbuyable,
        port=port,
        share=[float(v) for v in _steps(policy.domestic_share, periods, 0.0)],
        share_basis=str(policy.share_basis or "compute"),
        vendor_cap=vendor_cap,
        budget=[_opt_float(v) for v in _steps(policy.budget, periods, None)],
        power_mw=[_opt_float(v) for v in _steps(policy.power_mw, periods, None)],
        pue=pue,
        energy_price=[float(v) for v in _steps(policy.energy_price, periods, 0.0)],
    )


# ============================================================================================
# The checks


def _fmt(x: float | None) -> str:
    """A number as a planner reads it: 1600, 1533.7, 2.5e+07, unlimited."""
    if x is None:
        return "none"
    if math.isinf(x):
        return "unlimited" if x > 0 else "-unlimited"
    if math.isnan(x):
        return "nan"
    if x == int(x) and abs(x) < 1e15:
        return str(int(x))
    return f"{x:.10g}"


class _Checker:
    """Counts checks per family and collects violations."""

    def __init__(self, tolerance: float) -> None:
        self.tolerance = tolerance
        self.counts: dict[str, int] = {}
        self.violations: list[str] = []
        self.notes: list[str] = []

    def slack(self, a: float, b: float) -> float:
        magnitude = max(abs(a), abs(b)) if math.isfinite(a) and math.isfinite(b) else 0.0
        return ABS_TOL + self.tolerance * magnitude

    def close(self, a: float, b: float) -> bool:
        if math.isinf(a) or math.isinf(b):
            return a == b
        return abs(a - b) <= self.slack(a, b)

    def le(self, a: float, b: float) -> bool:
        """a <= b within tolerance (b may be inf)."""
        if math.isinf(b) and b > 0:
            return True
        return a <= b + self.slack(a, b)

    def check(self, family: str, ok: bool, message: str) -> bool:
        self.counts[family] = self.counts.get(family, 0) + 1
        if not ok:
            sep = "" if message.startswith(":") else " "
            self.violations.append(f"{family}{sep}{message}")
        return ok

    def fail(self, family: str, message: str) -> None:
        self.check(family, False, message)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


#: keys every plan JSON carries (formats.md); a file without them is not a plan
REQUIRED_KEYS = ("scenario", "status", "periods", "purchases", "allocation")


def _as_dict(plan: Any) -> dict[str, Any]:
    if hasattr(plan, "to_dict") and not isinstance(plan, Mapping):
        return plan.to_dict()
    if not isinstance(plan, Mapping):
        raise InputError(
            "not a plan", value=type(plan).__name__,
            expected="a plan JSON object (formats.md: scenario, status, periods, purchases, ...)",
        )
    missing = [key for key in REQUIRED_KEYS if key not in plan]
    if missing:
        raise InputError(
            "not a plan: missing " + ", ".join(missing),
            expected="the keys of a plan JSON (formats.md: " + ", ".join(REQUIRED_KEYS) + ", ...)",
        )
    return dict(plan)


def _num(value: Any) -> float:
    if value is None:
        return math.nan
    return float(value)


def verify(
    plan: Any,
    scenario: Any,
    tolerance: float = 1e-6,
    *,
    catalog: Any = None,
    timeline: Any = None,
) -> VerifyReport:
    """Check a plan against its scenario from scratch.

    Parameters
    ----------
    plan : a :class:`chipmix.planner.Plan` or its JSON dict (formats.md).
    scenario : the :class:`chipmix.inputs.scenario.Scenario` the plan was made for, or a path to
        its YAML.
    tolerance : relative tolerance of every comparison (an absolute 1e-6 is always added).
    catalog, timeline : optional prebuilt inputs (default: from the scenario).

    Returns
    -------
    VerifyReport — ``ok`` when every constraint holds and every reported figure (fleet,
    delivered, shares, availability, costs, objective) matches the recomputation.
    """
    if isinstance(scenario, (str, Path)):

        scenario = load_scenario(scenario)
    data = _as_dict(plan)
    chk = _Checker(tolerance)
    notes = chk.notes
    status = str(data.get("status", "")).lower()
    purchases = list(data.get("purchases") or [])
    allocation = list(data.get("allocation") or [])

    if status not in PLAN_STATUSES:
        if purchases or allocation:
            chk.fail("status", f"{status or 'missing'}: the plan has no decisions but lists "
                     f"{len(purchases)} purchases and {len(allocation)} allocations")
            return VerifyReport(False, chk.total, chk.violations, {"checks": dict(chk.counts)})
        notes.append(f"no decisions to check: status {status or 'missing'}")
        return VerifyReport(True, 0, [], {"checks": {}}, notes)

    params = derive_parameters(scenario, catalog=catalog, timeline=timeline)
    relaxed = bool((data.get("solver") or {}).get("relaxed", False))
    if relaxed:
        notes.append("relaxed plan: fractional servers allowed")
    T = len(params.periods)
    t_of = {label: t for t, label in enumerate(params.labels)}

    chk.check("status", True, "")
    plan_periods = [str(p) for p in data.get("periods") or []]
    chk.check("periods", plan_periods == params.labels,
              f": plan has {plan_periods} != horizon {params.labels}")

    buy = _check_purchases(chk, params, purchases, t_of, relaxed)
    use = _read_allocation(chk, params, allocation, t_of)
    fleet = _check_fleet(chk, params, buy, use, data.get("fleet") or [], t_of)
    delivered = _delivered(params, use)
    shortfall = _check_demand(chk, params, delivered, data.get("delivered") or [], t_of)
    ported = _check_porting(chk, params, use, data.get("ported") or [], relaxed)
    shares = _check_policies(chk, params, buy, use, data.get("shares") or [], t_of)
    _check_availability(chk, params, data.get("availability") or [], t_of)
    cost, discounted = _check_costs(
        chk, params, buy, use, shortfall, ported, data
    )

    recomputed = {
        "cost": cost,
        "discounted_cost": discounted,
        "objective": cost["discounted_total"],
        "fleet": [
            {"period": params.labels[t], "sku": k, "units": fleet[(k, t)]}
            for t in range(T)
            for k in sorted(params.skus)
            if fleet[(k, t)] > 0
        ],
        "delivered": [
            {"period": params.labels[t], "workload": w, "demand": wl.demand[t],
             "delivered": delivered.get((w, t), 0.0), "shortfall": shortfall.get((w, t), 0.0)}
            for t in range(T)
            for w, wl in params.workloads.items()
            if wl.demand[t] > 0 or delivered.get((w, t), 0.0) > 0
        ],
        "shares": shares,
        "availability": [
            {"period": params.labels[t], "sku": k, "status": params.status[(k, t)],
             "supply": None if math.isinf(params.supply[(k, t)]) else params.supply[(k, t)],
             "unit_price": params.price[(k, t)], "reason": params.unbuyable.get((k, t))}
            for t in range(T)
            for k in sorted(params.skus)
        ],
        "checks": dict(chk.counts),
    }
    ok = not chk.violations
    return VerifyReport(ok, chk.total, list(chk.violations), recomputed, notes)


# -- purchases ----------------------------------------------------------------------------


def _check_purchases(
    chk: _Checker,
    params: Parameters,
    rows: Iterable[Mapping[str, Any]],
    t_of: Mapping[str, int],
    relaxed: bool,
) -> dict[tuple[str, int], float]:
    """Servers, units, supply, unit price and spend of every purchase row.

    Returns the units bought per (sku, t).
    """
    buy: dict[tuple[str, int], float] = {}
    for row in rows:
        sku, label = str(row.get("sku")), str(row.get("period"))
        where = f"{sku} {label}"
        known = chk.check("purchases", sku in params.skus, f"{where}: unknown SKU")
        known &= chk.check("purchases", label in t_of, f"{where}: period outside the horizon")
        if not known:
            continue
        t = t_of[label]
        k = params.skus[sku]
        servers, units = _num(row.get("servers")), _num(row.get("units"))
        chk.check("purchases", (sku, t) not in buy, f"{where}: listed twice")
        chk.check("servers", servers >= 0, f"{where}: {_fmt(servers)} servers < 0")
        if not relaxed:
            chk.check("servers", math.isfinite(servers) and servers == round(servers),
                      f"{where}: {_fmt(servers)} servers is not a whole number")
        chk.check("servers", chk.close(units, servers * k.server),
                  f"{where}: units {_fmt(units)} != {_fmt(servers)} servers × {k.server} cards")
        buy[(sku, t)] = buy.get((sku, t), 0.0) + units
        limit = params.supply[(sku, t)]
        reason = params.unbuyable.get((sku, t))
        if reason is None and limit == 0:
            reason = f"the rules forbid buying it ({params.status[(sku, t)]})"
        detail = f" ({reason})" if reason else ""
        chk.check("supply", chk.le(units, limit),
                  f"{where}: bought {_fmt(units)} units > {_fmt(limit)} purchasable{detail}")
        price = params.price[(sku, t)]
        unit_price = _num(row.get("unit_price"))
        row_spend = _num(row.get("spend"))
        if price is None:
            chk.fail("price", f"{where}: bought at {_fmt(unit_price)} but the SKU has no price")
        else:
            fee = params.fee[(sku, t)]
            fee_text = f" incl. {fee:.4g} fee" if fee else ""
            chk.check("price", chk.close(unit_price, price),
                      f"{where}: unit_price {_fmt(unit_price)} != {_fmt(price)} "
                      f"recomputed{fee_text}")
            chk.check("spend", chk.close(row_spend, units * price),
                      f"{where}: spend {_fmt(row_spend)} != {_fmt(units)} units × "
                      f"{_fmt(price)} = {_fmt(units * price)}")
    return buy


# -- allocation and fleet ------------------------------------------------------------------


def _read_allocation(
    chk: _Checker, params: Parameters, rows: Iterable[Mapping[str, Any]], t_of: Mapping[str, int]
) -> dict[tuple[str, str, int], float]:
    """use[k,w,t] from the allocation rows, checking names, signs and eligibility."""
    use: dict[tuple[str, str, int], float] = {}
    for row in rows:
        sku, w, label = str(row.get("sku")), str(row.get("workload")), str(row.get("period"))
        where = f"{sku} {w} {label}"
        known = chk.check("allocation", sku in params.skus, f"{where}: unknown SKU")
        known &= chk.check("allocation", w in params.workloads, f"{where}: unknown workload")
        known &= chk.check("allocation", label in t_of, f"{where}: period outside the horizon")
        if not known:
            continue
        t = t_of[label]
        units = _num(row.get("units"))
        chk.check("allocation", (sku, w, t) not in use, f"{where}: listed twice")
        chk.check("allocation", units >= -ABS_TOL, f"{where}: {_fmt(units)} units < 0")
        if abs(units) > ABS_TOL:
            chk.check("eligibility", (sku, w) in params.cap,
                      f"{where}: {_fmt(units)} units in use but {sku} cannot serve {w} "
                      "(no figure for the metric, filtered by min_memory_gb / "
                      "min_interconnect_gbps, or excluded)")
            k = params.skus[sku]
            chk.check("eligibility", t < k.retire_t,
                      f"{where}: {_fmt(units)} units in use after retirement "
                      f"({params.labels[k.retire_t] if k.retire_t < len(params.labels) else ''})")
            chk.check("eligibility", k.watts is not None,
                      f"{where}: {_fmt(units)} units in use but {sku} has no power figure "
                      "(tdp_w): energy and power cannot be accounted")
        use[(sku, w, t)] = use.get((sku, w, t), 0.0) + units
    return use


def _check_fleet(
    chk: _Checker,
    params: Parameters,
    buy: Mapping[tuple[str, int], float],
    use: Mapping[tuple[str, str, int], float],
    plan_fleet: Iterable[Mapping[str, Any]],
    t_of: Mapping[str, int],
) -> dict[tuple[str, int], float]:
    """fleet[k,t] = inv[k] + Σ buy[k,τ] over τ + lead ≤ t < τ + lead + life, 0 from retirement."""
    T = len(params.periods)
    fleet: dict[tuple[str, int], float] = {}
    for sku, k in params.skus.items():
        for t in range(T):
            units = 0.0
            if t < k.retire_t:
                units = k.inventory
                for tau in range(T):
                    bought = buy.get((sku, tau), 0.0)
                    if bought and tau + k.lead <= t < tau + k.lead + k.life:
                        units += bought
            fleet[(sku, t)] = units

    reported: dict[tuple[str, int], float] = {}
    for row in plan_fleet:
        sku, label = str(row.get("sku")), str(row.get("period"))
        ok = chk.check("fleet", sku in params.skus and label in t_of,
                       f"{sku} {label}: unknown SKU or period in the fleet table")
        if ok:
            key = (sku, t_of[label])
            reported[key] = reported.get(key, 0.0) + _num(row.get("units"))
    for sku in sorted(params.skus):
        for t in range(T):
            mine, theirs = fleet[(sku, t)], reported.get((sku, t), 0.0)
            if mine == 0 and (sku, t) not in reported:
                continue
            chk.check("fleet", chk.close(theirs, mine),
                      f"{sku} {params.labels[t]}: plan reports {_fmt(theirs)} units, "
                      f"recomputed {_fmt(mine)} (inventory + purchases in service)")

    in_use: dict[tuple[str, int], float] = {}
    for (sku, _w, t), units in use.items():
        in_use[(sku, t)] = in_use.get((sku, t), 0.0) + units
    for (sku, t), units in sorted(in_use.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        chk.check("allocation", chk.le(units, fleet[(sku, t)]),
                  f"{sku} {params.labels[t]}: {_fmt(units)} units in use > fleet "
                  f"{_fmt(fleet[(sku, t)])}")
    return fleet


# -- demand ------------------------------------------------------------------------------


def _delivered(
    params: Parameters, use: Mapping[tuple[str, str, int], float]
) -> dict[tuple[str, int], float]:
    """Σ_k cap[k,w]·use[k,w,t] per (workload, t) (ineligible use delivers nothing)."""
    total: dict[tuple[str, int], float] = {}
    for (sku, w, t), units in use.items():
        total[(w, t)] = total.get((w, t), 0.0) + params.cap.get((sku, w), 0.0) * units
    return total


def _check_demand(
    chk: _Checker,
    params: Parameters,
    delivered: Mapping[tuple[str, int], float],
    plan_delivered: Iterable[Mapping[str, Any]],
    t_of: Mapping[str, int],
) -> dict[tuple[str, int], float]:
    """Σ_k cap·use + short ≥ demand; shortfall only with a penalty; the delivered table.

    Returns the plan's shortfall per (workload, t) (a decision reported in ``delivered``).
    """
    T = len(params.periods)
    rows: dict[tuple[str, int], Mapping[str, Any]] = {}
    for row in plan_delivered:
        w, label = str(row.get("workload")), str(row.get("period"))
        ok = chk.check("delivered", w in params.workloads and label in t_of,
                       f"{w} {label}: unknown workload or period in the delivered table")
        if ok:
            chk.check("delivered", (w, t_of[label]) not in rows, f"{w} {label}: listed twice")
            rows[(w, t_of[label])] = row
    shortfall: dict[tuple[str, int], float] = {}
    for t in range(T):
        for w, wl in params.workloads.items():
            where = f"{w} {params.labels[t]}"
            demand = wl.demand[t]
            got = delivered.get((w, t), 0.0)
            row = rows.get((w, t))
            short = _num(row.get("shortfall")) if row is not None else 0.0
            if math.isnan(short):
                short = 0.0
            shortfall[(w, t)] = short
            if row is None:
                chk.check("delivered", not (demand > 0 or got > ABS_TOL),
                          f"{where}: no row in the delivered table (demand {_fmt(demand)}, "
                          f"delivered {_fmt(got)})")
            else:
                chk.check("delivered", chk.close(_num(row.get("demand")), demand),
                          f"{where}: plan reports demand {_fmt(_num(row.get('demand')))}, "
                          f"scenario says {_fmt(demand)}")
                chk.check("delivered", chk.close(_num(row.get("delivered")), got),
                          f"{where}: plan reports delivered {_fmt(_num(row.get('delivered')))}, "
                          f"recomputed {_fmt(got)} from the allocation")
            if abs(short) > ABS_TOL:
                chk.check("shortfall", short >= 0, f"{where}: shortfall {_fmt(short)} < 0")
                chk.check("shortfall", wl.penalty is not None,
                          f"{where}: shortfall {_fmt(short)} but demand is hard "
                          "(no shortfall_penalty)")
            if demand > 0 or got > 0 or short:
                chk.check("demand", chk.le(demand, got + short),
                          f"{where}: delivered {_fmt(got)} + shortfall {_fmt(short)} < "
                          f"demand {_fmt(demand)}")
    return shortfall


# -- porting ------------------------------------------------------------------------------


def _check_porting(
    chk: _Checker,
    params: Parameters,
    use: Mapping[tuple[str, str, int], float],
    plan_ported: Iterable[Mapping[str, Any]],
    relaxed: bool,
) -> dict[tuple[str, str], float]:
    """A workload served by vendor v with port[v,w] > 0 needs (v, w) in ``ported``.

    In a relaxed plan the porting decision z[v,w] is continuous: its ``ported`` rows carry
    ``fraction`` (the LP's z), and a served pair needs a positive fraction. Returns the ported
    pairs with their fractions (1 for a whole decision).
    """
    ported: dict[tuple[str, str], float] = {}
    for row in plan_ported:
        v, w = str(row.get("vendor")), str(row.get("workload"))
        chk.check("porting", (v, w) in params.port,
                  f"{v} {w}: listed as ported but there is no porting cost for it "
                  "(vendor already ported or not named in porting)")
        fraction = _num(row.get("fraction")) if relaxed and "fraction" in row else 1.0
        fraction = 1.0 if fraction is None else fraction
        chk.check("porting", -ABS_TOL <= fraction <= 1.0 + ABS_TOL,
                  f"{v} {w}: porting fraction {_fmt(fraction)} outside [0, 1]")
        ported[(v, w)] = fraction
    served: dict[tuple[str, str], tuple[str, str, float]] = {}
    for (sku, w, t), units in sorted(use.items(), key=lambda kv: (kv[0][2], kv[0][0], kv[0][1])):
        if units > ABS_TOL and sku in params.skus:
            key = (params.skus[sku].vendor, w)
            served.setdefault(key, (sku, params.labels[t], units))
    for (v, w), cost in sorted(params.port.items()):
        if (v, w) in served:
            sku, label, units = served[(v, w)]
            message = (f"{v} {w}: {_fmt(units)} units of {sku} serve {w} in {label} but the "
                       f"workload is not ported to {v} (porting cost {_fmt(cost)})")
            chk.check("porting", ported.get((v, w), 0.0) > 0.0, message)
    return ported


# -- share, vendor cap, budget, power -------------------------------------------------------


def _amounts(
    params: Parameters,
    buy: Mapping[tuple[str, int], float],
    use: Mapping[tuple[str, str, int], float],
    t: int,
) -> dict[str, float]:
    """Per-SKU amount in period t on the share basis."""
    out: dict[str, float] = {}
    if params.share_basis == "spend":
        for (sku, tau), units in buy.items():
            price = params.price[(sku, tau)]
            if tau == t and price is not None:
                out[sku] = out.get(sku, 0.0) + price * units
        return out
    for (sku, _w, tau), units in use.items():
        if tau == t:
            weight = params.skus[sku].weight if params.share_basis == "compute" else 1.0
            out[sku] = out.get(sku, 0.0) + weight * units
    return out


def _check_policies(
    chk: _Checker,
    params: Parameters,
    buy: Mapping[tuple[str, int], float],
    use: Mapping[tuple[str, str, int], float],
    plan_shares: Iterable[Mapping[str, Any]],
    t_of: Mapping[str, int],
) -> list[dict[str, Any]]:
    """Domestic share, vendor cap, budget, power; the plan's shares table. Returns shares."""
    basis = params.share_basis
    reported = {}
    for row in plan_shares:
        label = str(row.get("period"))
        if chk.check("shares", label in t_of, f"{label}: period outside the horizon"):
            reported[t_of[label]] = row
    shares = []
    for t, label in enumerate(params.labels):
        amounts = _amounts(params, buy, use, t)
        total = sum(amounts.values())
        domestic = sum(a for sku, a in amounts.items() if params.skus[sku].domestic)
        by_vendor: dict[str, float] = {}
        for sku, a in amounts.items():
            vendor = params.skus[sku].vendor
            by_vendor[vendor] = by_vendor.get(vendor, 0.0) + a

        share = params.share[t]
        if share > 0:
            chk.check("domestic_share", chk.le(share * total, domestic),
                      f"{label}: domestic {_fmt(domestic)} of {_fmt(total)} ({basis} basis) = "
                      f"{_fmt(domestic / total if total else 0.0)} < share {_fmt(share)}")
        cap = params.vendor_cap
        if cap is not None and cap < 1:
            for vendor in sorted(by_vendor):
                amount = by_vendor[vendor]
                chk.check("vendor_cap", chk.le(amount, cap * total),
                          f"{vendor} {label}: {_fmt(amount)} of {_fmt(total)} ({basis} basis) "
                          f"= {_fmt(amount / total if total else 0.0)} > cap {_fmt(cap)}")

        budget = params.budget[t]
        if budget is not None:
            capex = 0.0
            for (sku, tau), units in buy.items():
                price = params.price[(sku, tau)]
                if tau == t and price is not None:
                    capex += price * units
            chk.check("budget", chk.le(capex, budget),
                      f"{label}: capex {_fmt(capex)} USD > budget {_fmt(budget)} USD")
        power = params.power_mw[t]
        if power is not None:
            watts = 0.0
            for (sku, _w, tau), units in use.items():
                w = params.skus[sku].watts
                if tau == t and w is not None:
                    watts += w * params.pue * units
            chk.check("power", chk.le(watts, 1e6 * power),
                      f"{label}: {_fmt(watts / 1e6)} MW in use (pue {_fmt(params.pue)}) > "
                      f"cap {_fmt(power)} MW")

        mine_dom = domestic / total if total > 1e-12 else 0.0
        mine_vendors = {
            v: a / total for v, a in sorted(by_vendor.items()) if total > 1e-12 and a > 1e-12
        }
        shares.append({"period": label, "domestic": mine_dom, "vendors": mine_vendors})
        row = reported.get(t)
        if row is None:
            chk.check("shares", total <= 1e-12,
                      f"{label}: no row in the shares table (domestic {_fmt(mine_dom)})")
            continue
        theirs = _num(row.get("domestic"))
        chk.check("shares", chk.close(theirs, mine_dom),
                  f"{label}: plan reports domestic {_fmt(theirs)}, recomputed {_fmt(mine_dom)} "
                  f"({basis} basis)")
        their_vendors = {str(v): _num(x) for v, x in dict(row.get("vendors") or {}).items()}
        for vendor in sorted(set(their_vendors) | set(mine_vendors)):
            a, b = their_vendors.get(vendor, 0.0), mine_vendors.get(vendor, 0.0)
            chk.check("shares", chk.close(a, b),
                      f"{vendor} {label}: plan reports vendor share {_fmt(a)}, "
                      f"recomputed {_fmt(b)}")
    return shares


# -- availability ----------------------------------------------------------------------------


def _check_availability(
    chk: _Checker, params: Parameters, rows: Iterable[Mapping[str, Any]], t_of: Mapping[str, int]
) -> None:
    """The plan's availability table: status and purchasable supply per SKU and period."""
    for row in rows:
        sku, label = str(row.get("sku")), str(row.get("period"))
        if not chk.check("availability", sku in params.skus and label in t_of,
                         f"{sku} {label}: unknown SKU or period"):
            continue
        t = t_of[label]
        status = str(row.get("status", "")).lower()
        mine = params.status[(sku, t)]
        chk.check("availability", status == mine,
                  f"{sku} {label}: plan reports status {status}, recomputed {mine}")
        theirs = row.get("supply")
        theirs_f = math.inf if theirs is None else float(theirs)
        limit = params.supply[(sku, t)]
        chk.check("availability", chk.close(theirs_f, limit),
                  f"{sku} {label}: plan reports supply {_fmt(theirs_f)}, recomputed {_fmt(limit)}"
                  + (f" ({params.unbuyable[(sku, t)]})" if (sku, t) in params.unbuyable else ""))


# -- objective -------------------------------------------------------------------------------


def _check_costs(
    chk: _Checker,
    params: Parameters,
    buy: Mapping[tuple[str, int], float],
    use: Mapping[tuple[str, str, int], float],
    shortfall: Mapping[tuple[str, int], float],
    ported: Mapping[tuple[str, str], float],
    data: Mapping[str, Any],
) -> tuple[dict[str, float], dict[str, float]]:
    """Capex, energy, porting, shortfall (nominal and discounted) and the objective.

    A relaxed plan's porting cost is Σ port·fraction over its ``ported`` rows.
    """
    T = len(params.periods)
    capex_t = [0.0] * T
    energy_t = [0.0] * T
    short_t = [0.0] * T
    for (sku, t), units in buy.items():
        price = params.price[(sku, t)]
        if price is not None:
            capex_t[t] += price * units
    for (sku, _w, t), units in use.items():
        per_unit = params.energy_per_unit(sku, t)
        if per_unit is not None:
            energy_t[t] += per_unit * units
    for (w, t), short in shortfall.items():
        penalty = params.workloads[w].penalty
        if penalty is not None:
            short_t[t] += penalty * short
    porting = sum(params.port.get(key, 0.0) * fraction for key, fraction in ported.items())
    cost = {
        "capex": sum(capex_t),
        "energy": sum(energy_t),
        "porting": porting,
        "shortfall": sum(short_t),
    }
    cost["total"] = cost["capex"] + cost["energy"] + cost["porting"] + cost["shortfall"]
    disc = params.discount
    discounted = {
        "capex": sum(disc[t] * capex_t[t] for t in range(T)),
        "energy": sum(disc[t] * energy_t[t] for t in range(T)),
        "porting": porting,
        "shortfall": sum(disc[t] * short_t[t] for t in range(T)),
    }
    discounted["total"] = (
        discounted["capex"] + discounted["energy"] + discounted["porting"] + discounted["shortfall"]
    )
    cost["discounted_total"] = discounted["total"]

    plan_cost = dict(data.get("cost") or {})
    for key, mine in cost.items():
        theirs = _num(plan_cost.get(key))
        chk.check("cost", chk.close(theirs, mine),
                  f"{key}: plan reports {_fmt(theirs)} USD, recomputed {_fmt(mine)} USD")
    plan_discounted = data.get("discounted_cost")
    if isinstance(plan_discounted, Mapping):
        for key, mine in discounted.items():
            if key in plan_discounted:
                theirs = _num(plan_discounted.get(key))
                chk.check("cost", chk.close(theirs, mine),
                          f"discounted {key}: plan reports {_fmt(theirs)} USD, "
                          f"recomputed {_fmt(mine)} USD")
    objective = _num(data.get("objective"))
    chk.check("objective", chk.close(objective, discounted["total"]),
              f": plan reports {_fmt(objective)}, recomputed discounted total "
              f"{_fmt(discounted['total'])}")
    return cost, discounted
