"""Foresight replay: plan period by period knowing only the rules announced by then.

``chipmix plan`` has perfect foresight: every rule set of the horizon is known from the first
day. A **myopic** replay (model.md "Foresight") walks the horizon instead. Its decision
points (*steps*) are the start of every period and every day inside a period on which a rule
set is announced (``announced:`` in its file, else its effective date: a rule nobody warned of
is learnt when it bites). At each step, on day ``d`` of period ``t``:

1. the rule sets known by ``d`` (announced on or before it) make the timeline; the others are
   not known, so the status quo is assumed for them;
2. the scenario is planned with the ordinary pipeline: purchases of earlier periods fixed at
   what was committed, this period's purchases at least what was committed in it so far, and
   this period's remaining supply the supply of days ``d`` .. period end under the known
   rules (``prepare(windows=...)``);
3. the purchases the plan makes in period ``t`` are **committed** for the days up to the next
   step, as many as those days' supply delivers (supply is a rate: a quarter's supply arrives
   over the quarter); the rest of the period's plan is decided again at the next step. A rule
   cannot bite before it is known (it is known by its effective date at the latest), so the
   orders of a step are never cut; what the buyer did not know shows in what it did not buy.

The committed purchases are then evaluated under the true rules, with use, shortfall and
porting re-optimised around them (the replay judges purchase decisions): that is the replay's
plan (a :class:`chipmix.planner.Plan` the independent checker accepts), its ``objective``,
and ``regret = objective − perfect_foresight``.

What a rule's warning was worth: for every rule set announced before it took effect, the
replay is run again with that rule learnt only on its effective date; the difference in cost
is the value of the window between announcement and effect (``windows`` in the JSON). On the
bundled default this is the 17 Oct 2023 announcement of the Oct-2023 rule, whose window the
23 Oct acceleration closed after six days.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from chipmix.errors import InputError, unknown_name_hint
from chipmix.inputs.scenario import Scenario, load_scenario
from chipmix.model.build import build
from chipmix.model.data import make_timeline, prepare
from chipmix.numbers import json_number
from chipmix.pipeline.executor import run_map
from chipmix.pipeline.run import Run
from chipmix.planner import extract, plan
from chipmix.planner.result import _records
from chipmix.rules import load_rulesets
from chipmix.solve import solve

FORESIGHTS = ("myopic", "perfect")


@dataclass(frozen=True)
class RuleDates:
    """When a rule set became known and when it took effect."""

    id: str
    known: dt.date
    effective: dt.date
    announced: dt.date | None


def rule_dates(rulesets) -> list[RuleDates]:
    """When each rule set became known (``announced``, else its effective date)."""
    out = []
    for r in rulesets:
        announced = getattr(r, "announced", None)
        out.append(RuleDates(r.id, announced or r.effective, r.effective, announced))
    return out


def steps_of(periods, dates: list[RuleDates]) -> list[tuple[int, dt.date]]:
    """Decision points, ``(period index, day)`` in time order.

    Every period start, and every day inside a period on which a rule set becomes known.
    """
    out = {(t, p.start) for t, p in enumerate(periods)}
    for d in dates:
        for t, p in enumerate(periods):
            if p.start < d.known < p.end:
                out.add((t, d.known))
    return sorted(out, key=lambda s: s[1])


def _announced(dates: list[RuleDates], override: dict[str, Any] | None) -> list[RuleDates]:
    """``dates`` with the announcement days of ``override`` (InputError on a bad one)."""
    if not override:
        return dates
    by_id = {d.id: d for d in dates}
    out = dict(by_id)
    for rule, day in override.items():
        if rule not in by_id:
            raise InputError("unknown rule set", field="--announced", value=rule,
                             expected="a rule set of the scenario",
                             hint=unknown_name_hint(rule, list(by_id)))
        if isinstance(day, str):
            try:
                day = dt.date.fromisoformat(day)
            except ValueError:
                raise InputError(field="--announced", value=f"{rule}={day}",
                                 expected="RULE=YYYY-MM-DD") from None
        d = by_id[rule]
        if day > d.effective:
            raise InputError(field="--announced", value=f"{rule}={day.isoformat()}",
                             expected=f"a day on or before its effective date "
                                      f"{d.effective.isoformat()}")
        out[rule] = RuleDates(d.id, day, d.effective, day)
    return [out[d.id] for d in dates]


@dataclass
class ReplayContext:
    """Everything one replay needs (pickled to a worker for the counterfactuals)."""

    scenario: Any
    rulesets: list[Any]
    dates: list[RuleDates]
    options: Any


class _Timelines:
    """One timeline per set of known rule sets."""

    def __init__(self, ctx: ReplayContext) -> None:
        self.ctx = ctx
        self.catalog = ctx.scenario.load_catalog()
        self.cache: dict[frozenset[str], Any] = {}

    def data(self, known: frozenset[str], windows=None):
        if known not in self.cache:
            rulesets = [r for r in self.ctx.rulesets if r.id in known]
            self.cache[known] = make_timeline(self.ctx.scenario, self.catalog.frame,
                                              rulesets)[0]
        return prepare(self.ctx.scenario, catalog=self.catalog, timeline=self.cache[known],
                       windows=windows)


def run_replay(ctx: ReplayContext, dates: list[RuleDates] | None = None) -> dict[str, Any]:
    """One myopic replay (module docstring); ``dates`` override when each rule is known."""
    dates = ctx.dates if dates is None else dates
    scenario = ctx.scenario
    periods = scenario.periods
    T = len(periods)
    labels = [str(p) for p in periods]
    steps = steps_of(periods, dates)
    timelines = _Timelines(ctx)
    committed: dict[tuple[str, int], float] = {}  # (sku, t) -> servers
    log: list[dict[str, Any]] = []
    status = "optimal"
    for i, (t, day) in enumerate(steps):
        nxt = steps[i + 1][1] if i + 1 < len(steps) else periods[-1].end
        until = min(nxt, periods[t].end)
        known = frozenset(d.id for d in dates if d.known <= day)
        data = timelines.data(known, windows={t: (day, periods[t].end)})
        data = _with_commitments(data, committed, t)
        model, index = build(data, keep_idle=True)
        model = _pin(model, index, committed, t)
        result = solve(model, ctx.options)
        entry = {"period": labels[t], "date": day.isoformat(),
                 "rules_known": sorted(known), "status": result.status.value,
                 "planned_cost": result.plan_objective() if result.status.has_plan else None}
        log.append(entry)
        if not result.status.has_plan:
            status = result.status.value
            break
        # commit what the plan buys in t up to the next step (the rest is re-planned then):
        # as much as the window [day, until) delivers. No rule can take effect inside the
        # window unannounced (a rule is known by its effective date at the latest and every
        # announcement is a step), so what the known rules deliver is what arrives.
        window = timelines.data(known, windows={t: (day, until)}).supply.loc[labels[t]]
        x = result.plan_x()
        buy = index.buy
        bought: dict[str, float] = {}  # servers in t per SKU, over its purchase tranches
        servers_of: dict[str, int] = {}
        for sku, tt, col, server in zip(buy["sku"], buy["t"], buy["col"], buy["server"],
                                        strict=True):
            if int(tt) == t:
                bought[sku] = bought.get(sku, 0.0) + float(np.round(x[col]))
                servers_of[sku] = server
        for sku, n in bought.items():
            want = n - committed.get((sku, t), 0.0)
            if want > 0:
                got = min(want, _servers(window[sku], servers_of[sku]))
                if got > 0:
                    committed[(sku, t)] = committed.get((sku, t), 0.0) + got
    return {"status": status, "steps": log, "committed": committed,
            "periods": labels, "T": T}


def _first_tranches(buy) -> list[tuple[str, int, int, bool]]:
    """``(sku, t, col, first)`` per purchase column: ``first`` for a (sku, t)'s first tranche.

    A replay commits servers per SKU and period: they are pinned on the period's first
    purchase tranche (its price), and any later tranche of a committed period is closed
    (pinned to 0). The bundled examples have one tranche per period wherever a replay buys.
    """
    out: list[tuple[str, int, int, bool]] = []
    seen: set[tuple[str, int]] = set()
    for sku, tt, col in zip(buy["sku"], buy["t"], buy["col"], strict=True):
        key = (str(sku), int(tt))
        out.append((key[0], key[1], int(col), key not in seen))
        seen.add(key)
    return out


def _servers(units: float, server: int) -> float:
    """Whole servers within ``units`` (inf stays inf)."""
    units = float(units)
    return math.floor(units / server + 1e-9) if math.isfinite(units) else math.inf


def _with_commitments(data, committed: dict[tuple[str, int], float], t: int):
    """``data`` whose supply lets the committed purchases stand.

    In earlier periods at least what was bought; in period ``t`` what was committed so far
    plus the window's supply.
    """
    supply = data.supply.copy()
    labels = data.labels
    for (sku, tt), servers in committed.items():
        units = servers * float(data.skus.at[sku, "server"])
        if tt < t:
            supply.at[labels[tt], sku] = max(float(supply.at[labels[tt], sku]), units)
        elif tt == t:
            supply.at[labels[tt], sku] = float(supply.at[labels[tt], sku]) + units
    return dataclasses.replace(data, supply=supply)


def _pin(model, index, committed: dict[tuple[str, int], float], t: int):
    """Purchases before ``t`` fixed at the committed servers, in ``t`` at least them."""
    a = model.arrays()
    lower, upper = a["col_lower"].copy(), a["col_upper"].copy()
    buy = index.buy
    for sku, tt, col, first in _first_tranches(buy):
        n = committed.get((sku, int(tt)), 0.0) if first else 0.0
        if int(tt) < t:
            lower[col] = upper[col] = n
        elif int(tt) == t and n > 0:
            lower[col] = n
            upper[col] = max(upper[col], n)
    return model.with_arrays(col_lower=lower, col_upper=upper)


def evaluate(ctx: ReplayContext, committed: dict[tuple[str, int], float]):
    """The committed purchases under the true rules, operations re-optimised: a Plan."""
    data = _Timelines(ctx).data(frozenset(d.id for d in ctx.dates))
    model, index = build(data, keep_idle=True)
    a = model.arrays()
    lower, upper = a["col_lower"].copy(), a["col_upper"].copy()
    buy = index.buy
    have = set()
    for sku, tt, col, first in _first_tranches(buy):
        n = committed.get((sku, int(tt)), 0.0) if first else 0.0
        lower[col] = upper[col] = n
        have.add((sku, int(tt)))
    missing = [k for k, v in committed.items() if v > 0 and k not in have]
    if missing:  # pragma: no cover - commitments never exceed the true supply
        raise RuntimeError(f"committed purchases without a column: {missing}")
    model = model.with_arrays(col_lower=lower, col_upper=upper)
    result = solve(model, ctx.options)
    return extract(Run(scenario=ctx.scenario, options=ctx.options, data=data, model=model,
                       index=index, result=result))


def counterfactual_task(ctx: ReplayContext, rule_id: str) -> dict[str, Any]:
    """The replay with ``rule_id`` learnt only on its effective date: its cost."""
    dates = [dataclasses.replace(d, known=d.effective) if d.id == rule_id else d
             for d in ctx.dates]
    run = run_replay(ctx, dates)
    if run["status"] not in ("optimal", "feasible"):
        return {"rule": rule_id, "status": run["status"], "objective": None}
    plan = evaluate(ctx, run["committed"])
    return {"rule": rule_id, "status": plan.status.value,
            "objective": plan.objective if plan.ok else None}


@dataclass
class Replay:
    """A foresight replay (formats.md "A replay")."""

    scenario: str
    foresight: str
    status: str
    objective: float | None
    perfect_foresight: float | None
    plan: Any  # the committed purchases' Plan under the true rules
    steps: list[dict[str, Any]]
    windows: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when the replay holds a plan."""
        return self.status in ("optimal", "feasible")

    @property
    def regret(self) -> float | None:
        """``objective − perfect_foresight`` (None without both)."""
        if self.objective is None or self.perfect_foresight is None:
            return None
        return self.objective - self.perfect_foresight

    @property
    def purchases(self):
        """The committed purchases (the replay plan's purchases table)."""
        if self.plan is None:
            return pd.DataFrame(columns=["period", "sku", "servers", "units", "unit_price",
                                         "spend"])
        return self.plan.purchases

    def to_dict(self) -> dict[str, Any]:
        """The replay JSON of formats.md (plus extensions: windows, cost, notes)."""
        return {
            "scenario": self.scenario,
            "foresight": self.foresight,
            "status": self.status,
            "objective": json_number(self.objective),
            "perfect_foresight": json_number(self.perfect_foresight),
            "regret": json_number(self.regret),
            "purchases": _records(self.purchases, ["period", "sku", "servers", "units",
                                                   "unit_price", "spend"]),
            "steps": [{"period": s["period"], "rules_known": s["rules_known"],
                       "planned_cost": json_number(s["planned_cost"]),
                       # extensions
                       "date": s["date"], "status": s["status"]} for s in self.steps],
            # extensions
            "windows": [{k: json_number(v) if isinstance(v, float) else v for k, v in w.items()}
                        for w in self.windows],
            "cost": {k: json_number(v) for k, v in (self.plan.discounted.items()
                                             if self.plan is not None and self.plan.ok
                                             else [])},
            "notes": list(self.notes),
            "timings": {k: round(v, 4) for k, v in self.timings.items()},
        }

    def to_json(self, timings: bool = False) -> str:
        """JSON text of :meth:`to_dict` (wall-clock figures only with ``timings``)."""
        d = self.to_dict()
        if not timings:
            d.pop("timings", None)
        return json.dumps(d, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def replay(scenario, foresight: str = "myopic", *, solver: str | None = None,
           time_limit: float | None = None, gap: float | None = None,
           threads: int | None = None, windows: bool = True, workers: int = 1,
           dask: Any = None, announced: dict[str, Any] | None = None) -> Replay:
    """Replay the scenario's horizon with ``foresight`` (``myopic`` or ``perfect``).

    ``announced`` overrides the day rule sets became public (``{rule id: date}``), e.g. to ask
    what an earlier warning would have been worth; ``windows`` values every announcement made
    before its rule took effect (one more replay each, on the executor).

    Raises
    ------
    InputError
        A bad scenario, ``foresight`` other than ``myopic`` or ``perfect``, an ``announced``
        override naming no rule set of the scenario or not a date, bad solver or executor
        options; ArgumentError (also a ``TypeError``) for a scenario of the wrong kind
        (``scenario=None``).
    """
    started = time.perf_counter()
    if foresight not in FORESIGHTS:
        raise InputError(field="--foresight", value=foresight,
                         expected=" or ".join(FORESIGHTS))
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    options = scenario.solver.with_overrides(name=solver, time_limit=time_limit, gap=gap,
                                             threads=threads)
    timings: dict[str, float] = {}
    t = time.perf_counter()
    perfect = plan(scenario, solver=options.name, time_limit=options.time_limit,
                   gap=options.gap, threads=options.threads, diagnose=False)
    timings["perfect_foresight"] = time.perf_counter() - t
    best = perfect.objective if perfect.ok else None
    rulesets = list(load_rulesets(scenario.rules, base_dir=scenario.base_dir))
    if foresight == "perfect":
        return Replay(scenario.name, foresight, perfect.status.value, best, best, perfect,
                      [{"period": str(scenario.periods[0]),
                        "date": scenario.periods[0].start.isoformat(),
                        "rules_known": sorted(r.id for r in rulesets),
                        "status": perfect.status.value, "planned_cost": best}],
                      timings=timings)
    ctx = ReplayContext(scenario, rulesets, _announced(rule_dates(rulesets), announced),
                        options)
    t = time.perf_counter()
    run = run_replay(ctx)
    timings["replay"] = time.perf_counter() - t
    notes = []
    if not any(d.announced for d in ctx.dates):
        notes.append("no rule set carries an announced: date: each is learnt when it takes "
                     "effect")
    if run["status"] not in ("optimal", "feasible"):
        return Replay(scenario.name, foresight, run["status"], None, best, None, run["steps"],
                      notes=notes, timings=timings)
    final = evaluate(ctx, run["committed"])
    out = Replay(scenario.name, foresight, final.status.value,
                 final.objective if final.ok else None, best, final, run["steps"],
                 notes=notes, timings=timings)
    if windows and final.ok:
        t = time.perf_counter()
        start, end = scenario.periods[0].start, scenario.periods[-1].end
        early = [d for d in ctx.dates
                 if d.announced is not None and d.announced < d.effective
                 and start < d.effective < end]
        announced = {d.id: d.announced for d in early if d.announced is not None}
        rows = run_map(counterfactual_task, ctx, [d.id for d in early], workers=workers,
                       dask=dask)
        gap = options.gap or 0.0
        for d, row in zip(early, rows, strict=True):
            value = None if row["objective"] is None else row["objective"] - final.objective
            # each replay is as good as its solves: differences within the gap are noise
            tolerance = gap * (abs(final.objective) + abs(row["objective"] or 0.0))
            out.windows.append({"rule": d.id, "announced": announced[d.id].isoformat(),
                                "effective": d.effective.isoformat(),
                                "warning_days": (d.effective - announced[d.id]).days,
                                "without_warning": row["objective"], "value": value,
                                "tolerance": tolerance,
                                "within_gap": value is not None and abs(value) <= tolerance})
        timings["windows"] = time.perf_counter() - t
    timings["total"] = time.perf_counter() - started
    return out


__all__ = ["FORESIGHTS", "Replay", "replay", "rule_dates", "run_replay", "steps_of"]
