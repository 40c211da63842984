"""Planning data: the scenario, catalogs and rule timeline turned into tidy parameter tables.

Every parameter of ``model.md`` is derived here, once, as pandas tables keyed by sku /
workload / period (conventions in ``docs/planning-model.md``). The model builder reads only
these tables.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import json
import math
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from chipmix.errors import InputError
from chipmix.inputs.catalog import Catalog, release_date
from chipmix.inputs.scenario import Scenario
from chipmix.periods import Period, step_values, years_from_start
from chipmix.rules import RuleSet, Timeline, load_rulesets

#: workload metric -> (catalog columns tried in order, divisor, takes efficiency)
METRICS: dict[str, tuple[tuple[str, ...], float, bool]] = {
    "bf16_pflops": (("bf16_dense_tflops", "fp16_dense_tflops"), 1000.0, True),
    "fp8_pflops": (("fp8_dense_tflops",), 1000.0, True),
    "int8_pops": (("int8_dense_tops",), 1000.0, True),
    "memory_bw_tbps": (("memory_bw_tbps",), 1.0, True),
    "memory_tb": (("memory_gb",), 1000.0, False),
}

PURCHASABLE = {"allowed", "notify"}
#: Days of some periods that count, by period index: ``(first day, day after the last)``.
Windows = Mapping[int, tuple[dt.date, dt.date]]


#: columns of :attr:`PlanningData.floors`
FLOOR_COLUMNS = ["t", "period", "of", "basis", "floor", "rules", "merged"]


@dataclass
class PlanningData:
    """Every parameter of the planning model, as tables.

    Attributes
    ----------
    periods : the horizon, ``t = 0..T-1``.
    skus : one row per SKU (index ``sku``): vendor, origin, domestic, server, lead (periods),
        life (periods or inf), inventory (units), watts (W), weight (share weight on the
        compute basis, TFLOPS), retire_t (first period index out of service, or T).
    workloads : one row per workload (index ``workload``): kind, metric, penalty (USD per
        metric unit per period or NaN).
    demand : DataFrame periods × workloads, metric units.
    cap : Series indexed (sku, workload) of metric units per unit of sku, eligible pairs only.
    supply : DataFrame periods × skus, units purchasable (inf = unlimited, 0 = none): the
        sum over the period's tranches.
    price : DataFrame periods × skus, USD per unit incl. fees (NaN = no price): the cheapest
        tranche's price.
    tranches : the purchase tranches (:data:`TRANCHE_COLUMNS`): one row per SKU, period and
        run of equal terms (fee, cap) inside it, with its days ``[start, end)``, supply
        (units) and price; only where the SKU can be bought. :func:`purchase_tranches` gives
        them consistent with ``supply``.
    availability : rows (period, sku, status, supply, reason).
    port : Series indexed (vendor, workload) of one-off USD, only > 0 entries.
    period_table : per period: days, hours, years, discount, energy_price, pue, share,
        budget, power_mw.
    share_basis, share_of : what the domestic share and vendor cap are measured in (compute,
        units, spend) and on (use, fleet, purchases); :attr:`share_measure` is the effective
        one (the spend basis always measures purchases).
    pools : DataFrame periods × vendors of units per period (only vendors with a pool; inf
        before a pool's first key).
    floors : the rule sets' domestic-share floors for the scenario's buyer
        (:data:`FLOOR_COLUMNS`): one row per period and (of, basis) with the largest floor in
        force on any day of the period. A row whose (of, basis) is the policy's own
        (``share_measure``, ``share_basis``) is ``merged``: ``period_table.share`` already
        holds the larger of it and the policy's share; the others get rows of their own
        (:func:`chipmix.model.families.add_share_floors`).
    """

    scenario: Scenario
    periods: list[Period]
    skus: pd.DataFrame
    workloads: pd.DataFrame
    demand: pd.DataFrame
    cap: pd.Series
    supply: pd.DataFrame
    price: pd.DataFrame
    availability: pd.DataFrame
    port: pd.Series
    period_table: pd.DataFrame
    share_basis: str
    vendor_cap: float | None
    rule_count: int = 0
    warnings: list[str] = field(default_factory=list)
    share_of: str = "use"
    pools: pd.DataFrame = field(default_factory=pd.DataFrame)
    tranches: pd.DataFrame | None = None
    floors: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=FLOOR_COLUMNS))

    @property
    def labels(self) -> list[str]:
        return [str(p) for p in self.periods]

    @property
    def share_measure(self) -> str:
        """What the share rows sum: ``use``, ``fleet`` or ``purchases`` (spend: purchases)."""
        return "purchases" if self.share_basis == "spend" else self.share_of


def prepare(scenario: Scenario, catalog: Catalog | None = None, timeline: Timeline | None = None,
            windows: Windows | None = None) -> PlanningData:
    """Derive every model parameter from the scenario (see docs/planning-model.md).

    ``catalog`` and ``timeline`` may be passed when already built for this scenario (a hedge
    prepares many scenarios that share them: :func:`make_timeline`). ``windows`` maps a
    period index to ``(first day, day after the last)``: that period's supply is what can be
    bought in those days only (a foresight replay deciding in mid-period).
    """
    scenario = scenario.in_usd()  # the scenario's own money (currency:) in USD, as catalogs
    periods = list(scenario.periods)
    if catalog is None and timeline is None and getattr(_REUSE, "cache", None) is not None:
        catalog, timeline, _ = _reused_inputs(scenario)
    catalog = catalog if catalog is not None else scenario.load_catalog()
    frame = catalog.frame
    if timeline is None:
        timeline, _ = make_timeline(scenario, frame)
    period_table = _period_table(scenario, periods)
    skus = _derived(timeline, frame, ("skus", repr(scenario.lifetime), repr(scenario.retire),
                                      repr(scenario.inventory), scenario.home, tuple(periods)),
                    lambda: _sku_table(scenario, frame, periods)).copy()
    workloads, demand = (table.copy() for table in _derived(
        timeline, frame, ("workloads", repr(scenario.workloads), repr(tuple(periods))),
        lambda: _workload_tables(scenario, periods)))
    cap_key = ("cap", repr(scenario.performance), repr(workloads[CAP_READS].to_dict("split")))
    cap = _derived(timeline, frame, cap_key, lambda: _capability(scenario, frame, workloads)).copy()
    supply, price, availability, tranches = _supply_and_price(
        scenario, frame, skus, cap, periods, period_table, timeline, windows
    )
    # reads the catalog's vendors, the eligible pairs (cap's key) and the porting fields
    port = _derived(timeline, frame, ("port", repr(scenario.porting), repr(scenario.ported),
                                      cap_key), lambda: _porting(scenario, skus, cap)).copy()
    floors = _share_floors(scenario, periods, timeline, period_table)
    return PlanningData(
        scenario=scenario,
        periods=periods,
        skus=skus,
        workloads=workloads,
        demand=demand,
        cap=cap,
        supply=supply,
        price=price,
        availability=availability,
        port=port,
        period_table=period_table,
        share_basis=scenario.policy.share_basis,
        vendor_cap=scenario.policy.vendor_cap,
        rule_count=len(timeline.rulesets),  # also when the caller passed the timeline
        share_of=scenario.policy.share_of,
        pools=_pools(scenario, periods),
        tranches=tranches,
        floors=floors,
    )


#: the workload columns :func:`_capability` reads
CAP_READS = ["kind", "metric", "min_memory_gb", "min_interconnect_gbps", "exclude"]
#: results kept per timeline by :func:`_derived` (least recently used dropped first)
DERIVED_ENTRIES = 2048
#: whole tables kept per timeline by ``_derived(..., large=True)`` (a variant's supply tables)
LARGE_ENTRIES = 32


@dataclass
class _Derived:
    frame: pd.DataFrame  # the catalog frame the entries were derived from
    entries: OrderedDict[tuple[Any, ...], Any] = field(default_factory=OrderedDict)
    large: OrderedDict[tuple[Any, ...], Any] = field(default_factory=OrderedDict)


_DERIVED: weakref.WeakKeyDictionary[Timeline, _Derived] = weakref.WeakKeyDictionary()
_DERIVED_LOCK = threading.Lock()
_MISSING = object()


def _derived(timeline: Timeline, frame: pd.DataFrame, key: tuple[Any, ...],
             compute: Callable[[], Any], *, large: bool = False) -> Any:
    """``compute()``, or what it returned for an earlier scenario with the same ``key``.

    A sweep's, stress run's or hedge's scenarios share one timeline (and catalog) and differ
    in a few numbers: the parts of :func:`prepare` that read neither those numbers nor
    anything else outside ``key`` are derived once per timeline. ``key`` must hold
    everything ``compute`` reads besides ``frame`` and ``timeline`` (a repr of each scenario
    field it reads); entries live as long as the timeline and only for the same ``frame``
    object. Callers must not change what is returned (copy a table before handing it on).
    ``large``: whole tables, kept in a store of their own of :data:`LARGE_ENTRIES`.
    """
    with _DERIVED_LOCK:
        store = _DERIVED.get(timeline)
        if store is None or store.frame is not frame:
            store = _DERIVED[timeline] = _Derived(frame)
        entries = store.large if large else store.entries
        value = entries.get(key, _MISSING)
        if value is not _MISSING:
            entries.move_to_end(key)
            return value
    value = compute()
    with _DERIVED_LOCK:
        entries[key] = value
        while len(entries) > (LARGE_ENTRIES if large else DERIVED_ENTRIES):
            entries.popitem(last=False)
    return value


_REUSE = threading.local()
#: Catalog/timeline pairs kept by :func:`reusing_inputs` (most recent last).
REUSE_ENTRIES = 4


@contextlib.contextmanager
def reusing_inputs(cache: dict[str, Any] | None = None) -> Iterator[None]:
    """Reuse loaded catalogs and rule timelines in :func:`prepare` within this block.

    In this thread, :func:`prepare` reuses the loaded catalog and the
    rule timeline — with its per-SKU decisions already evaluated — of an earlier scenario
    that has the same catalogs, overrides, rule sets, home, buyer, unknown policy and rule
    parameters (a sweep's or a stress run's variants, in one worker process). ``cache``: the
    dict to keep them in (default: the enclosing block's, else a new one).
    """
    previous = getattr(_REUSE, "cache", None)
    _REUSE.cache = cache if cache is not None else previous if previous is not None else {}
    try:
        yield
    finally:
        _REUSE.cache = previous


def _inputs_key(scenario: Scenario) -> str:
    """What the loaded catalog and the timeline depend on, as text."""
    return json.dumps([[str(c) for c in scenario.catalogs], scenario.overrides,
                       [str(r) for r in (scenario.rules or [])] if scenario.rules is not None
                       else None, str(scenario.base_dir), scenario.home, scenario.buyer,
                       scenario.unknown_policy, scenario.rule_params],
                      sort_keys=True, default=str)


def catalog_of(scenario: Scenario) -> Catalog:
    """The scenario's catalog: the reused one within :func:`reusing_inputs`, else loaded."""
    if getattr(_REUSE, "cache", None) is not None:
        return _reused_inputs(scenario)[0]
    return scenario.load_catalog()


def _reused_inputs(scenario: Scenario) -> tuple[Catalog, Timeline, int]:
    """The (catalog, timeline, rule-set count) of the scenario from the reuse cache."""
    cache: dict[str, tuple[Catalog, Timeline, int]] = _REUSE.cache
    key = _inputs_key(scenario)
    entry = cache.pop(key, None)
    if entry is None:
        catalog = scenario.load_catalog()
        timeline, count = make_timeline(scenario, catalog.frame)
        entry = (catalog, timeline, count)
    cache[key] = entry  # most recent last
    while len(cache) > REUSE_ENTRIES:
        cache.pop(next(iter(cache)))
    return entry


def make_timeline(scenario: Scenario, frame: pd.DataFrame,
                  rulesets: list[RuleSet] | None = None) -> tuple[Timeline, int]:
    """The export-control timeline over catalog ``frame``, and the number of rule sets.

    The rule sets are the scenario's, or ``rulesets`` when already loaded.

    A bad rule parameter or buyer is reported at the scenario's key (``rule_params``).
    """
    if rulesets is None:
        rulesets = load_rulesets(scenario.rules, base_dir=scenario.base_dir)
    try:
        timeline = Timeline(
            rulesets,
            frame,
            home=scenario.home,
            buyer=scenario.buyer,
            unknown_policy=scenario.unknown_policy,
            params=dict(scenario.rule_params or {}),
        )
    except InputError as exc:
        if exc.file is not None:
            raise
        # a bad rule parameter or buyer: the scenario's key is where to fix it
        where = "rule_params" if exc.field in (None, "params") else exc.field
        raise InputError(
            exc.detail, file=scenario.source, location=where, value=exc.value,
            expected=exc.expected, hint=exc.hint,
        ) from None
    return timeline, len(rulesets)


def floor_measure(of: str, basis: str) -> str:
    """What a share on ``basis`` of ``of`` sums: the spend basis always measures purchases."""
    return "purchases" if basis == "spend" else of


def _share_floors(scenario: Scenario, periods: list[Period], timeline: Timeline,
                  period_table: pd.DataFrame) -> pd.DataFrame:
    """The rule floors per period and (of, basis); merges the policy's own into ``share``.

    A floor binds every period with a day on or after its effective date (it is in force on
    some day of the period: :meth:`Timeline.floor_segments`); several floors on the same
    (of, basis) give one requirement, their maximum, whose ``rules`` are the floors that
    reach it. Where (of, basis) is the policy's (``share_of``, ``share_basis``) the
    requirement is combined with ``policy.domestic_share`` (the larger of the two) in
    ``period_table["share"]`` (modified in place) and the row is ``merged``.
    """
    policy = scenario.policy
    own = (floor_measure(str(policy.share_of), str(policy.share_basis)), str(policy.share_basis))
    share = period_table["share"].to_numpy(dtype=float).copy()
    rows: list[dict[str, Any]] = []
    for t, period in enumerate(periods):
        best: dict[tuple[str, str], tuple[float, list[str]]] = {}
        for _start, _end, in_force in timeline.floor_segments(period.start, period.end):
            for f in in_force:
                key = (floor_measure(f.of, f.basis), f.basis)
                name = f"{f.rule} / {f.id}"
                floor, names = best.get(key, (0.0, []))
                if f.floor > floor + 1e-12:
                    best[key] = (float(f.floor), [name])
                elif abs(f.floor - floor) <= 1e-12 and name not in names:
                    best[key] = (floor, [*names, name])
        for (of, basis), (floor, names) in sorted(best.items()):
            merged = (of, basis) == own
            if merged:
                share[t] = max(share[t], floor)
            rows.append({"t": t, "period": str(period), "of": of, "basis": basis,
                         "floor": floor, "rules": "; ".join(names), "merged": merged})
    period_table["share"] = share
    return pd.DataFrame(rows, columns=FLOOR_COLUMNS)


def _pools(scenario: Scenario, periods: list[Period]) -> pd.DataFrame:
    """Units per period per vendor with a pool (inf before the pool's first key)."""
    columns = {
        vendor: [math.inf if v is None else float(v) for v in _steps(steps, periods, None)]
        for vendor, steps in sorted((scenario.pools or {}).items())
    }
    index = pd.Index([str(p) for p in periods], name="period")
    return pd.DataFrame(columns, index=index, dtype=float)


def _steps(points: Mapping[Period, Any] | None, periods: list[Period], before: Any
           ) -> list[Any]:
    return step_values(dict(points or {}), periods, before=before)


def _period_table(scenario: Scenario, periods: list[Period]) -> pd.DataFrame:
    policy = scenario.policy
    years = years_from_start(periods)
    rate = scenario.discount_rate or 0.0
    steps = {col: np.asarray(_steps(getattr(policy, field), periods, before), dtype=float)
             for col, field, before in (("energy_price", "energy_price", 0.0),
                                        ("share", "domestic_share", 0.0),
                                        ("budget", "budget", math.nan),
                                        ("power_mw", "power_mw", math.nan))}
    return pd.DataFrame(
        {
            "days": [p.days for p in periods],
            "hours": [p.hours for p in periods],
            "years": years,
            "discount": [(1.0 + rate) ** -y for y in years],
            "energy_price": steps["energy_price"],
            "share": steps["share"],
            "budget": steps["budget"],
            "power_mw": steps["power_mw"],
            "pue": np.full(len(periods), float(policy.pue if policy.pue is not None else 1.0)),
        },
        index=pd.Index([str(p) for p in periods], name="period"),
    )


def _sku_table(scenario: Scenario, frame: pd.DataFrame, periods: list[Period]) -> pd.DataFrame:
    months = periods[0].months if periods else 3
    per_quarter = 3 // months  # periods per quarter: 1 for quarters, 3 for months
    lifetime = dict(scenario.lifetime)
    default_life = lifetime.pop("default", math.inf)
    t_index = {p: i for i, p in enumerate(periods)}
    rows = []
    for sku, row in frame.iterrows():
        bf16 = row.get("bf16_dense_tflops")
        if pd.isna(bf16):
            bf16 = row.get("fp16_dense_tflops")
        retire = scenario.retire.get(sku) if scenario.retire else None
        if retire is None:
            retire_t = len(periods)
        elif retire in t_index:
            retire_t = t_index[retire]
        else:
            retire_t = 0 if periods and retire < periods[0] else len(periods)
        rows.append(
            {
                "sku": sku,
                "vendor": row["vendor"],
                "origin": row["origin"],
                "domestic": row["origin"] == scenario.home,
                "server": int(row["server_size"]) if not pd.isna(row["server_size"]) else 8,
                "lead": int(round(float(row["lead_quarters"] or 0))) * per_quarter,
                "life": float(lifetime.get(sku, default_life)),
                "inventory": float((scenario.inventory or {}).get(sku, 0.0)),
                "watts": float(row["tdp_w"]) if not pd.isna(row["tdp_w"]) else math.nan,
                "weight": float(bf16) if not pd.isna(bf16) else 0.0,
                "retire_t": retire_t,
            }
        )
    table = pd.DataFrame(rows).set_index("sku")
    return table


def _workload_tables(scenario: Scenario, periods: list[Period]
                     ) -> tuple[pd.DataFrame, pd.DataFrame]:
    rows = []
    demand = {}
    for w in scenario.workloads:
        rows.append(
            {
                "workload": w.name,
                "kind": w.kind,
                "metric": w.metric,
                "penalty": math.nan if w.shortfall_penalty is None else float(w.shortfall_penalty),
                "min_memory_gb": w.min_memory_gb,
                "min_interconnect_gbps": w.min_interconnect_gbps,
                "exclude": tuple(w.exclude or ()),
            }
        )
        demand[w.name] = [float(v) for v in _steps(w.demand, periods, 0.0)]
    workloads = pd.DataFrame(rows).set_index("workload")
    demand_frame = pd.DataFrame(demand, index=pd.Index([str(p) for p in periods], name="period"))
    return workloads, demand_frame


def _capability(scenario: Scenario, frame: pd.DataFrame, workloads: pd.DataFrame) -> pd.Series:
    """cap[k,w] for eligible pairs: measured figures win, else catalog figure × efficiency."""
    measured = {(p.sku, p.workload): float(p.value) for p in (scenario.performance or [])}
    out: dict[tuple[str, str], float] = {}
    names = list(frame.index)
    for w, wrow in workloads.iterrows():
        columns, divisor, takes_eff = METRICS[wrow["metric"]]
        figure = pd.Series(np.nan, index=frame.index)
        for col in columns:
            figure = figure.fillna(frame[col].astype(float))
        figure = figure / divisor
        if takes_eff:
            eff_col = (
                "efficiency_training" if wrow["kind"] == "training" else "efficiency_inference"
            )
            figure = figure * frame[eff_col].astype(float)
        eligible = _eligible(frame, wrow).to_numpy(dtype=bool)
        for sku, catalog_value, ok in zip(names, figure.to_numpy(), eligible, strict=True):
            value = measured.get((sku, w), catalog_value)
            if ok and value == value and value > 0:  # not NaN, positive
                out[(sku, w)] = float(value)
    index = pd.MultiIndex.from_tuples(list(out), names=["sku", "workload"])
    return pd.Series(list(out.values()), index=index, dtype=float, name="cap")


def _eligible(frame: pd.DataFrame, wrow: pd.Series) -> pd.Series:
    ok = pd.Series(True, index=frame.index)
    if wrow["min_memory_gb"] is not None and not pd.isna(wrow["min_memory_gb"]):
        ok &= frame["memory_gb"].astype(float).ge(float(wrow["min_memory_gb"])).fillna(False)
    if wrow["min_interconnect_gbps"] is not None and not pd.isna(wrow["min_interconnect_gbps"]):
        ic = frame["interconnect_gbps"].astype(float)
        ok &= ic.ge(float(wrow["min_interconnect_gbps"])).fillna(False)
    excluded = set(wrow["exclude"])
    if excluded:
        ok &= ~(frame.index.isin(excluded) | frame["vendor"].isin(excluded))
    return ok.astype(bool)


#: columns of :attr:`PlanningData.tranches`
TRANCHE_COLUMNS = ["sku", "t", "tranche", "start", "end", "supply", "fee", "price"]


def _supply_and_price(scenario: Scenario, frame: pd.DataFrame, skus: pd.DataFrame, cap: pd.Series,
                      periods: list[Period], period_table: pd.DataFrame, timeline: Timeline,
                      windows: Windows | None = None
                      ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Supply, prices, availability and purchase tranches.

    supply[k,t] (units), price[k,t] (USD incl. fees), the availability table and the
    purchase tranches. A period whose purchasable days carry different terms (a fee or cap
    from a mid-period date) is split into tranches, one per run of equal terms, each with
    its own price and supply (``supply = days / period days × rate``); ``supply[k,t]`` is
    their sum and ``price[k,t]`` the cheapest tranche's price (the list price where none is
    purchasable). ``windows`` limits some periods to some of their days (a hedge's stages).
    """
    labels = [str(p) for p in periods]
    serving = set(cap.index.get_level_values("sku")) if len(cap) else set()
    years = period_table["years"].to_numpy()
    # plain dicts: no pandas lookups in the loop
    rows = _derived(timeline, frame, ("rows",), functools.partial(frame.to_dict, "index"))
    sku_info = {k: {"server": a, "watts": b, "retire_t": c} for k, a, b, c in zip(
        skus.index, skus["server"].tolist(), skus["watts"].tolist(), skus["retire_t"].tolist(),
        strict=True)}
    bounds = [(p.start, p.end) for p in periods]
    for t, (first, stop) in (windows or {}).items():
        bounds[t] = (max(first, bounds[t][0]), min(stop, bounds[t][1]))
    # the periods and their counted days, as one text: hashed and compared once per SKU
    horizon = repr((tuple(periods), tuple(bounds)))
    parts: list[tuple[tuple[Any, ...], Callable[[], Any]]] = []
    for sku in frame.index:
        row = rows[sku]
        facts = _SkuFacts(
            sku=sku, server=sku_info[sku]["server"], watts=sku_info[sku]["watts"],
            retire_t=sku_info[sku]["retire_t"], serves=sku in serving,
            terms=scenario.licenses.terms_for(sku), released=release_date(row.get("release")))
        key = ("supply", repr(facts), repr(scenario.supply.get(sku)),
               repr(scenario.prices.get(sku)), scenario.price_decline_per_year, horizon)
        parts.append((key, functools.partial(_sku_supply, scenario, facts, row, periods, years,
                                             timeline, bounds)))
    # every SKU's key as an earlier scenario's (one that differs in other fields): its tables
    tables = _derived(timeline, frame, ("supply tables", horizon, *(k for k, _ in parts)),
                      functools.partial(_supply_tables, timeline, frame, labels, parts),
                      large=True)
    return tables[0].copy(), tables[1].copy(), tables[2].copy(), tables[3].copy()


def _supply_tables(timeline: Timeline, frame: pd.DataFrame, labels: list[str],
                   parts: list[tuple[tuple[Any, ...], Callable[[], Any]]]
                   ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """:func:`_supply_and_price`'s tables from each SKU's (key, compute) (SKUs memoised)."""
    supply_cols: list[list[float]] = []
    price_cols: list[list[float]] = []
    avail_parts: list[list[dict[str, Any]]] = []
    tranche_rows: list[dict[str, Any]] = []
    for key, compute in parts:
        supplies, prices, avail, tranches = _derived(timeline, frame, key, compute)
        supply_cols.append(supplies)
        price_cols.append(prices)
        avail_parts.append(avail)
        tranche_rows.extend(tranches)
    index = pd.Index(labels, name="period")
    names = list(frame.index)
    supply, price = (_period_frame(cols, index, names) for cols in (supply_cols, price_cols))
    availability = pd.DataFrame(_avail_columns(labels, names, avail_parts), columns=AVAIL_COLUMNS)
    tranches_frame = pd.DataFrame(
        {c: [r[c] for r in tranche_rows] for c in TRANCHE_COLUMNS}, columns=TRANCHE_COLUMNS
    ) if tranche_rows else pd.DataFrame(tranche_rows, columns=TRANCHE_COLUMNS)
    return supply, price, availability, tranches_frame


#: columns of :attr:`PlanningData.availability`
AVAIL_COLUMNS = ["period", "sku", "status", "supply", "fee", "reason", "cause"]


def _period_frame(columns: list[list[float]], index: pd.Index, names: list[str]) -> pd.DataFrame:
    """The periods × SKUs table from one list per SKU (one float block, as a dict gives)."""
    if not names or not len(index):
        return pd.DataFrame(dict(zip(names, columns, strict=True)), index=index)
    values = np.array(columns, dtype=float).T
    return pd.DataFrame(values, index=index, columns=pd.Index(names))


def _avail_columns(labels: list[str], names: list[str], parts: list[list[dict[str, Any]]]
                   ) -> dict[str, list[Any]]:
    """The availability rows (SKU by SKU, period by period) as columns."""
    out: dict[str, list[Any]] = {
        "period": labels * len(names),
        "sku": [sku for sku in names for _ in labels],
    }
    flat = [a for part in parts for a in part]
    if not flat:
        return {column: [] for column in AVAIL_COLUMNS}
    for column in AVAIL_COLUMNS[2:]:
        out[column] = [a[column] for a in flat]
    return out


@dataclass(frozen=True)
class _SkuFacts:
    """What decides one SKU's supply besides the rules.

    Server size, power figure, retirement, whether it serves a workload, its licence terms
    and release day.
    """

    sku: str
    server: int
    watts: float
    retire_t: int
    serves: bool
    terms: Any
    released: dt.date | None


@dataclass
class _PeriodCut:
    """The rules' verdict on one SKU in one period, segment by segment.

    ``runs`` the purchasable stretches of days, one per run of equal terms: ``(start, end
    (exclusive), fee, rate)`` with ``rate`` the units per period at those terms; ``supply``
    units purchasable (Σ days/period days × rate), ``fraction`` of the period purchasable,
    ``fee`` the lowest fee of the runs, the segments' ``statuses`` and ``reasons``,
    ``not_yet`` when a segment ended before the release day, ``not_issued`` when a licence
    was required while no licences were being issued.
    """

    runs: list[tuple[dt.date, dt.date, float, float]] = field(default_factory=list)
    supply: float = 0.0
    fraction: float = 0.0
    fee: float = 0.0
    statuses: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    not_yet: bool = False
    not_issued: bool = False


def _list_price(price_point: Any, row: dict[str, Any], decline: float, years: float) -> float:
    """The price before fees: the scenario's override, else the catalog's with its decline."""
    if price_point is not None:
        return float(price_point)
    if not math.isnan(row["price_usd"]):
        return float(row["price_usd"]) * float((1.0 - decline) ** years)
    return math.nan


def _sku_supply(scenario: Scenario, facts: _SkuFacts, row: dict[str, Any], periods: list[Period],
                years: np.ndarray, timeline: Timeline, bounds: list[tuple[dt.date, dt.date]]
                ) -> tuple[list[float], list[float], list[dict[str, Any]], list[dict[str, Any]]]:
    """One SKU over the horizon.

    Supply and unit price per period, the availability rows (without period and sku) and
    the purchase tranches (:data:`TRANCHE_COLUMNS`).
    ``bounds[t]``: the days of period ``t`` that count (the whole period, or a window of it).
    """
    # the rules' decisions over the whole horizon at once, then cut per period
    segments = timeline.segments(facts.sku, periods[0].start, periods[-1].end) if periods else []
    # each segment's status and reasons as text, once (a segment spans many periods)
    texts = [(str(d.status), [str(r) for r in d.reasons]) for _, _, d in segments]
    catalog_q = row["supply_per_quarter"]
    catalog_base = math.inf if pd.isna(catalog_q) else float(catalog_q)
    base = _steps(scenario.supply.get(facts.sku), periods, None)
    price_points = _steps(scenario.prices.get(facts.sku), periods, None)
    decline = scenario.price_decline_per_year
    supplies, prices, avail, tranches = [], [], [], []
    seg_i = 0
    for t, period in enumerate(periods):
        scale = period.months / 3.0  # per quarter -> per period
        b = base[t] if base[t] is not None else catalog_base * scale
        list_price = _list_price(price_points[t], row, decline, years[t])
        while seg_i < len(segments) and segments[seg_i][1] <= bounds[t][0]:
            seg_i += 1
        cut = _rules_cut(period, bounds[t], segments, seg_i, b, scale, facts, texts)
        unit_price = list_price * (1.0 + cut.fee)
        supply, why = _cut_supply(t, period, cut, facts, unit_price)
        if supply > 0:
            mine = [
                {"sku": facts.sku, "t": t, "tranche": j, "start": start, "end": end,
                 "supply": (end - start).days / period.days * rate, "fee": fee,
                 "price": list_price * (1.0 + fee)}
                for j, (start, end, fee, rate) in enumerate(cut.runs)
            ]
            tranches.extend(mine)
            if len(mine) > 1:
                why.append(_tranche_text(mine))
        supplies.append(supply)
        prices.append(unit_price)
        status = _most_restrictive(cut.statuses)
        cause = why[0] if why else ("" if supply > 0 else next(iter(cut.reasons), status))
        avail.append({
            "status": status,
            "supply": supply,
            "fee": cut.fee,
            "reason": "; ".join(_unique(cut.reasons + why)) or "no control applies",
            "cause": cause,
        })
    return supplies, prices, avail, tranches


def _rules_cut(period: Period, days: tuple[dt.date, dt.date],
               segments: list[tuple[dt.date, dt.date, Any]], seg_i: int,
               base: float, scale: float, facts: _SkuFacts,
               texts: list[tuple[str, list[str]]]) -> _PeriodCut:
    """The purchasable runs of equal terms of ``period``.

    The rule segments overlapping ``days`` (from ``segments[seg_i]`` on), as purchasable runs of
    equal terms. ``days`` are the first and the after-last day of ``period`` that count;
    fractions are of the whole period.

    A segment is purchasable when its status is allowed / notify, or license with the licence
    policy allowing it (and licences being issued). Its terms are its fee (rule fee + licence
    fee) and its rate ``min(base, rule cap, licence cap)`` (caps per quarter × ``scale``).
    Touching purchasable segments with equal terms form one run; days before the release are
    not purchasable. ``texts[j]``: segment ``j``'s status and reasons as text.
    """
    cut = _PeriodCut()
    first, stop = days
    j = seg_i
    while j < len(segments) and segments[j][0] < stop:
        seg_start, seg_end, decision = segments[j]
        seg_start, seg_end = max(seg_start, first), min(seg_end, stop)
        status, reasons = texts[j]
        j += 1
        cut.statuses.append(status)
        cut.reasons.extend(reasons)
        released = facts.released
        if released is not None and seg_start < released:
            if seg_end <= released:
                cut.not_yet = True
                continue
            seg_start = released
        cut.not_issued |= status == "license" and not decision.issued
        if status in PURCHASABLE:
            caps, fee = [decision.cap], decision.fee or 0.0
        elif status == "license" and facts.terms.allow and decision.issued:
            caps = [decision.cap, facts.terms.cap]
            fee = (decision.fee or 0.0) + (facts.terms.fee or 0.0)
        else:
            continue
        rate = min([base, *(c * scale for c in caps if c is not None)])
        last = cut.runs[-1] if cut.runs else None
        if last is not None and last[1] == seg_start and last[2] == fee and last[3] == rate:
            cut.runs[-1] = (last[0], seg_end, fee, rate)
        else:
            cut.runs.append((seg_start, seg_end, fee, rate))
    run_days = [(end - start).days for start, end, _, _ in cut.runs]
    cut.fraction = sum(run_days) / period.days
    cut.supply = sum(d / period.days * run[3] for d, run in zip(run_days, cut.runs, strict=True))
    cut.fee = min((run[2] for run in cut.runs), default=0.0)
    return cut


def _tranche_text(tranches: list[dict[str, Any]]) -> str:
    """``2 tranches: 1 Jan–14 Feb at 10,000 USD; 15 Feb–31 Mar at 13,000 USD (fee 30 %)``."""
    parts = []
    for tr in tranches:
        last = tr["end"] - dt.timedelta(days=1)
        fee = f" (fee {tr['fee']:.0%})" if tr["fee"] else ""
        parts.append(f"{tr['start'].day} {tr['start']:%b}–{last.day} {last:%b} at "
                     f"{tr['price']:,.0f} USD{fee}")
    return f"{len(tranches)} tranches: " + "; ".join(parts)


NO_WORKLOAD = "serves no workload of this scenario (no figure for its metric, or filtered out)"


def _cut_supply(t: int, period: Period, cut: _PeriodCut, facts: _SkuFacts,
                unit_price: float) -> tuple[float, list[str]]:
    """Final supply of one SKU in one period and why it is cut (most decisive cause first)."""
    if not facts.serves:
        return 0.0, [NO_WORKLOAD]
    if t >= facts.retire_t:
        return 0.0, ["retired by the scenario"]
    if cut.fraction == 0:
        if cut.not_yet and facts.released is not None and facts.released >= period.end:
            return 0.0, [f"not released until {facts.released:%Y-%m}"]
        if "license" in cut.statuses and not facts.terms.allow:
            return 0.0, ["licence required; the scenario's licence policy denies it"]
        if cut.not_issued:
            return 0.0, ["licence required; no licences are being issued"]
        return 0.0, []  # the deciding rule is the cause
    if math.isnan(unit_price):
        return 0.0, ["no price: set prices or overrides"]
    if math.isnan(facts.watts):
        return 0.0, ["no power figure (tdp_w): set overrides"]
    why = []
    if cut.fraction < 1:
        rule = next(iter(cut.reasons), "")
        why.append(f"purchasable {cut.fraction:.0%} of the period" + (f" ({rule})" if rule else ""))
    if 0 < cut.supply < facts.server:
        why.append(f"window of {cut.supply:.1f} units is less than one {facts.server}-card server")
    return cut.supply, why


@dataclass(frozen=True)
class TrancheBase:
    """What :func:`purchase_tranches` reads of ``data`` besides its supply (fixed per plan).

    A stress run re-checks its tranches against hundreds of shocked supplies
    (:func:`chipmix.insight.stress.still_fits`); this part is the same for all of them.
    """

    frame: pd.DataFrame  # the prepared tranches of the plan's SKUs, with ``k_i`` and int ``t``
    skus: tuple[str, ...]
    before: np.ndarray  # per tranche: the period total of its SKU as prepared
    days: np.ndarray  # per tranche: the days of its SKU's tranches in that period
    span: np.ndarray  # per tranche: its own days
    covered: np.ndarray  # T × K: the (period, SKU) pairs that have a tranche
    keys: tuple[tuple[str, int, str], ...]  # per tranche: (sku, t, start ISO date)


def tranche_base(data: PlanningData) -> TrancheBase:
    """The fixed part of ``data``'s purchase tranches (see :func:`purchase_tranches`)."""
    skus = list(data.skus.index)
    k_of = {k: i for i, k in enumerate(skus)}
    tr = getattr(data, "tranches", None)
    if tr is None or not len(tr):
        tr = pd.DataFrame(columns=TRANCHE_COLUMNS)
    tr = tr[tr["sku"].isin(k_of)].copy()
    tr["k_i"] = tr["sku"].map(k_of).astype(np.int64)
    tr["t"] = tr["t"].astype(np.int64)
    shape = (len(data.periods), len(skus))
    t_i, k_i = tr["t"].to_numpy(), tr["k_i"].to_numpy()
    total, days = np.zeros(shape), np.zeros(shape)
    np.add.at(total, (t_i, k_i), tr["supply"].to_numpy(float))
    span = np.asarray([(e - s).days for s, e in zip(tr["start"], tr["end"], strict=True)],
                      dtype=float)
    np.add.at(days, (t_i, k_i), span)
    covered = np.zeros(shape, dtype=bool)
    covered[t_i, k_i] = True
    keys = tuple(zip(tr["sku"], (int(t) for t in t_i), (d.isoformat() for d in tr["start"]),
                     strict=True))
    return TrancheBase(tr, tuple(skus), total[t_i, k_i], days[t_i, k_i], span, covered, keys)


def tranche_supply(base: TrancheBase, supply: np.ndarray) -> np.ndarray:
    """Each tranche's units under ``supply`` (T × K in ``base.skus`` order).

    A period whose total was changed scales its tranches alike (a total of 0 closes them);
    an unchanged or unlimited total keeps each tranche's own figure.
    """
    t_i, k_i = base.frame["t"].to_numpy(), base.frame["k_i"].to_numpy()
    now, before = supply[t_i, k_i], base.before
    own = base.frame["supply"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        same = (np.isinf(now) & np.isinf(before)) | (
            np.isfinite(before) & (np.abs(now - before) <= 1e-9 * np.maximum(1.0, np.abs(before))))
        scaled = np.where(
            now <= 0, 0.0,
            np.where(np.isfinite(before), own * now / np.where(before > 0, before, 1.0),
                     now * base.span / np.maximum(base.days, 1.0)))
    out: np.ndarray = np.where(same, own, np.where(np.isinf(now), own, scaled))
    return out


def _untranched(base: TrancheBase, supply: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(t, k) of the periods with supply and no tranche: one whole-period tranche each."""
    t_new, k_new = np.nonzero((supply > 0) & ~base.covered)
    return t_new, k_new


def purchase_tranches(data: PlanningData, base: TrancheBase | None = None) -> pd.DataFrame:
    """The purchase tranches the model buys in, consistent with ``data.supply``.

    ``data.tranches`` as prepared, rescaled where ``data.supply`` has since been changed (a
    stress draw's supply shock scales every tranche of the period alike; a period total of 0
    closes them all); a period with supply but no tranche (data built without tranches) is
    one whole-period tranche at ``data.price``. Columns :data:`TRANCHE_COLUMNS` plus
    ``k_i`` (the SKU's position in ``data.skus``), sorted by period, SKU and start.
    ``base``: :func:`tranche_base` of ``data`` (or of data that differs only in supply).
    """
    if base is None:
        prepared = _as_prepared(data)
        if prepared is not None:
            return prepared
    base = tranche_base(data) if base is None else base
    skus = list(base.skus)
    supply = data.supply.reindex(columns=skus).to_numpy(dtype=float)  # T × K
    tr = base.frame.copy()
    tr["supply"] = tranche_supply(base, supply)
    t_new, k_new = _untranched(base, supply)
    if len(t_new):
        price = data.price.reindex(columns=skus).to_numpy(dtype=float)
        extra = pd.DataFrame({
            "sku": np.asarray(skus, dtype=object)[k_new], "t": t_new, "tranche": 0,
            "start": [data.periods[t].start for t in t_new],
            "end": [data.periods[t].end for t in t_new],
            "supply": supply[t_new, k_new], "fee": 0.0, "price": price[t_new, k_new],
            "k_i": k_new,
        })
        tr = pd.concat([tr, extra], ignore_index=True) if len(tr) else extra
    starts = np.fromiter((d.toordinal() for d in tr["start"]), dtype=np.int64, count=len(tr))
    order = np.lexsort((starts, tr["k_i"].to_numpy(), tr["t"].to_numpy()))  # stable
    return tr.take(order).reset_index(drop=True)


def _as_prepared(data: PlanningData) -> pd.DataFrame | None:
    """:func:`purchase_tranches` of data whose supply is still the one prepared, else None.

    The common case (a plan's build right after its prepare): every period total of
    ``data.supply`` is exactly the sum of its tranches and every period with supply has
    one, so the tranches keep their own figures and only need ``k_i`` and their order —
    without :func:`tranche_base`'s tables. Anything else returns None (the general path).
    """
    tr = getattr(data, "tranches", None)
    if tr is None or not len(tr):
        return None
    skus = list(data.skus.index)
    k_of = {k: i for i, k in enumerate(skus)}
    names = tr["sku"].tolist()
    if not all(k in k_of for k in names):
        return None
    k_i = np.fromiter((k_of[k] for k in names), dtype=np.int64, count=len(names))
    t_i = tr["t"].to_numpy().astype(np.int64)
    own = tr["supply"].to_numpy(dtype=float)
    supply = data.supply.reindex(columns=skus).to_numpy(dtype=float)
    total = np.zeros(supply.shape)
    np.add.at(total, (t_i, k_i), own)
    covered = np.zeros(supply.shape, dtype=bool)
    covered[t_i, k_i] = True
    if not np.array_equal(total[covered], supply[covered]) or ((supply > 0) & ~covered).any():
        return None
    starts = np.fromiter((d.toordinal() for d in tr["start"]), dtype=np.int64, count=len(tr))
    order = np.lexsort((starts, k_i, t_i))  # stable
    out = tr.take(order).reset_index(drop=True)
    out["t"] = t_i[order]
    out["supply"] = own[order]
    out["k_i"] = k_i[order]
    return out


def tranche_room(data: PlanningData, supply: pd.DataFrame, base: TrancheBase
                 ) -> dict[tuple[str, int, str], float]:
    """Whole servers each tranche of :func:`purchase_tranches` offers under ``supply``.

    By (sku, t, start ISO date), exactly ``floor(units / server)`` of the tranches
    :func:`purchase_tranches` gives ``data`` with this supply — without building its table.
    """
    skus = list(base.skus)
    values = supply.reindex(columns=skus).to_numpy(dtype=float)
    server = data.skus["server"].reindex(skus).to_numpy(dtype=float)
    units = tranche_supply(base, values)
    k_i = base.frame["k_i"].to_numpy()
    room = dict(zip(base.keys, np.floor(units / server[k_i]).tolist(), strict=True))
    t_new, k_new = _untranched(base, values)
    for t, k in zip(t_new.tolist(), k_new.tolist(), strict=True):
        room[(skus[k], t, data.periods[t].start.isoformat())] = float(
            np.floor(values[t, k] / server[k]))
    return room


_ORDER = ["allowed", "notify", "license", "denied"]
_RANK = {status: i for i, status in enumerate(_ORDER)}


def _most_restrictive(statuses: list[str]) -> str:
    known = [s for s in statuses if s in _RANK]
    if not known:
        return "allowed"
    return max(known, key=_RANK.__getitem__)


def _unique(items: Iterable[str]) -> list[str]:
    seen, out = set(), []
    for item in items:
        if item not in seen:
            seen.add(item)
            out.append(item)
    return out


def _porting(scenario: Scenario, skus: pd.DataFrame, cap: pd.Series) -> pd.Series:
    ported = set(scenario.ported or [])
    serving_vendors: dict[str, set[str]] = {}
    if scenario.porting:
        vendor_of = skus["vendor"].to_dict()
        for sku, w in cap.index:
            serving_vendors.setdefault(w, set()).add(vendor_of[sku])
    out = {}
    for vendor, per_workload in (scenario.porting or {}).items():
        if vendor in ported:
            continue
        for w, cost in per_workload.items():
            if cost and cost > 0 and vendor in serving_vendors.get(w, set()):
                out[(vendor, w)] = float(cost)
    index = pd.MultiIndex.from_tuples(list(out), names=["vendor", "workload"])
    return pd.Series(list(out.values()), index=index, dtype=float, name="port")
