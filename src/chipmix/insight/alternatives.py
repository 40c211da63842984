"""Near-optimal alternatives (modelling to generate alternatives).

Solve the cost-minimal plan (cost ``C*``), add the row ``cost ≤ (1 + slack)·C*`` and optimise
other objectives instead, one after another (each one, once optimised, is held within a
small tolerance while the next is optimised); a last stage minimises cost again with all of
them held, so the alternative wastes no money it does not need for them.

Objectives (``--maximize`` / ``--minimize``) are linear in the plan's decisions and measured
on the scenario's share basis (``compute``: bf16 TFLOPS in use, ``units``: cards in use,
``spend``: USD of purchases), summed over the periods:

- ``domestic_share`` — the domestic amount (maximise: the most domestic plan);
- ``vendor:NAME`` — one vendor's amount (minimise: the least dependence on it);
- ``sku:ID`` — one SKU's amount;
- ``vendor_diversity`` — maximise only: minimises the largest single vendor's amount in each
  period (a linear stand-in for "spread over vendors"), summed over periods.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from chipmix.errors import InputError, PlanError, unknown_name_hint
from chipmix.numbers import rounded
from chipmix.pipeline.run import Run
from chipmix.planner.extract import extract

TARGETS = ("domestic_share", "vendor_diversity", "vendor:NAME", "sku:ID")


@dataclass(frozen=True)
class Objective:
    """One secondary objective: ``sense`` (max | min) of ``target``."""

    sense: str
    target: str

    @property
    def label(self) -> str:
        return f"{'maximise' if self.sense == 'max' else 'minimise'} {self.target}"


def parse_objective(sense: str, text: str) -> Objective:
    """``Objective`` from a CLI word (``domestic_share``, ``vendor:Nvidia``, ``sku:nvidia-h20``)."""
    sense = {"max": "max", "maximize": "max", "maximise": "max",
             "min": "min", "minimize": "min", "minimise": "min"}.get(sense, sense)
    if sense not in ("max", "min"):
        raise InputError(field="sense", value=sense, expected="max or min")
    text = text.strip()
    if text in ("domestic_share", "vendor_diversity"):
        if text == "vendor_diversity" and sense == "min":
            raise InputError(field="--minimize", value=text,
                             expected="vendor_diversity with --maximize only")
        return Objective(sense, text)
    kind, _, name = text.partition(":")
    if kind in ("vendor", "sku") and name:
        return Objective(sense, f"{kind}:{name}")
    raise InputError(field=f"--{'maximize' if sense == 'max' else 'minimize'}", value=text,
                     expected="one of " + ", ".join(TARGETS),
                     hint=unknown_name_hint(text, ["domestic_share", "vendor_diversity"]))


@dataclass
class Alternative:
    """A near-optimal plan and how it compares with the cost-optimal one.

    ``optimum`` and ``cost`` are discounted USD (the objective); ``limit`` =
    ``(1 + slack)·optimum``; ``objectives`` one dict per objective with its ``measure`` and its
    value in the ``optimal`` plan and in the ``alternative``.
    """

    plan: Any
    optimal: Any
    slack: float
    optimum: float
    limit: float
    cost: float
    objectives: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "slack": self.slack,
            "optimum": rounded(self.optimum),
            "limit": rounded(self.limit),
            "cost": rounded(self.cost),
            "cost_increase": rounded(self.cost / self.optimum - 1.0) if self.optimum else None,
            "objectives": self.objectives,
            "plan": self.plan.to_dict(),
        }


_BASIS_UNIT = {"compute": "bf16 TFLOPS in use", "units": "cards in use", "spend": "USD spent"}


class _Measures:
    """The share-basis amounts per (t, sku) as linear forms over the model's columns."""

    def __init__(self, data, index) -> None:
        self.data = data
        if data.share_basis == "spend":
            frame = index.buy
            weight = frame["price"].to_numpy(dtype=float) * frame["server"].to_numpy(dtype=float)
        else:
            frame = index.use
            weight = (frame["sku"].map(data.skus["weight"]).to_numpy(dtype=float)
                      if data.share_basis == "compute" else np.ones(len(frame)))
        self.cols = frame["col"].to_numpy(dtype=np.int64)
        self.t = frame["t"].to_numpy(dtype=np.int64)
        self.sku = frame["sku"].to_numpy()
        self.vendor = frame["sku"].map(data.skus["vendor"]).to_numpy()
        self.weight = weight

    def member(self, target: str) -> np.ndarray:
        skus = self.data.skus
        if target == "domestic_share":
            return _as_bool(pd.Series(self.sku).map(skus["domestic"]))
        kind, _, name = target.partition(":")
        if kind == "vendor":
            vendors = sorted(set(skus["vendor"]))
            if name not in vendors:
                raise InputError("unknown vendor", field="objective", value=name,
                                 expected="a vendor of the scenario's catalogs",
                                 hint=unknown_name_hint(name, vendors))
            return self.vendor == name
        if kind == "sku":
            if name not in skus.index:
                raise InputError("unknown SKU", field="objective", value=name,
                                 expected="a SKU of the scenario's catalogs",
                                 hint=unknown_name_hint(name, list(skus.index)))
            return self.sku == name
        raise InputError(field="objective", value=target, expected=", ".join(TARGETS))

    def vector(self, target: str, num_cols: int) -> np.ndarray:
        g = np.zeros(num_cols)
        np.add.at(g, self.cols, np.where(self.member(target), self.weight, 0.0))
        return g

    def value(self, target: str, x: np.ndarray) -> float:
        amount = self.weight * x[self.cols]
        if target == "vendor_diversity":
            frame = pd.DataFrame({"t": self.t, "v": self.vendor, "a": amount})
            per = frame.groupby(["t", "v"])["a"].sum()
            return float(per.groupby(level="t").max().sum()) if len(per) else 0.0
        return float(np.sum(amount[self.member(target)]))

    def measure(self, target: str) -> str:
        unit = _BASIS_UNIT[self.data.share_basis]
        if target == "vendor_diversity":
            return f"largest single vendor's {unit}, per period, summed (lower = more diverse)"
        what = "domestic" if target == "domestic_share" else target.partition(":")[2]
        return f"{what} {unit}, summed over periods"


def _as_bool(series: pd.Series) -> np.ndarray:
    return series.fillna(False).astype(bool).to_numpy()


def near_optimal(scenario, objectives, slack: float = 0.03, solver: str | None = None,
                 time_limit: float | None = None, gap: float | None = None,
                 threads: int | None = None):
    """The best plan for ``objectives`` costing at most ``(1 + slack)`` × the optimum.

    Parameters
    ----------
    scenario : a Scenario or a path to its YAML.
    objectives : :class:`Objective` items (or ``(sense, target)`` pairs), optimised in order.
    slack : allowed relative cost increase over the cost-optimal plan (0.03 = 3 %).

    Returns
    -------
    Alternative

    Raises
    ------
    InputError
        A bad scenario, an unknown objective target, vendor or SKU, no objective, or a
        negative ``slack``.
    PlanError
        No cost-optimal plan to start from, or a stage of the lexicographic search found none.
    """
    if isinstance(slack, bool) or not isinstance(slack, (int, float)) or not slack >= 0 \
            or slack == float("inf"):
        raise InputError(field="--slack", value=slack, expected="a number ≥ 0 (0.03 = 3 %)")
    objectives = [o if isinstance(o, Objective) else parse_objective(*o) for o in objectives]
    if not objectives:
        raise InputError(field="objective", value=None,
                         expected="at least one --maximize or --minimize")
    run = Run.for_scenario(scenario, solver=solver, time_limit=time_limit, gap=gap,
                           threads=threads, relax=False).execute()
    first = run.result
    optimal = extract(run)
    if not optimal.ok:
        raise PlanError(f"no cost-optimal plan to start from: status {first.status.value}"
                        + (f" ({first.message})" if first.message else ""))
    optimum = first.plan_objective()
    limit = (1.0 + slack) * optimum

    model, index, data = run.model.copy(), run.index, run.data  # the same model, extended
    cost = model.arrays()["cost"].copy()
    measures = _Measures(data, index)
    for o in objectives:  # unknown names fail before any solve
        if o.target != "vendor_diversity":
            measures.member(o.target)
    nz = np.flatnonzero(cost)
    model.add_rows("near_optimal_cost", [("cost",)], np.zeros(len(nz), dtype=np.int64), nz,
                   cost[nz], upper=limit - model.objective_offset)
    rows: list[dict[str, Any]] = []
    x = first.x
    for i, o in enumerate(objectives):
        g = _stage_vector(model, measures, o)
        # vendor_diversity's g is Σ_t (largest vendor amount in t): maximising diversity
        # minimises it
        minimise = o.sense == "min" or o.target == "vendor_diversity"
        model.set_cost(g if minimise else -g)
        result = run.solve_model(model)
        if not result.status.has_plan:
            raise PlanError(f"stage '{o.label}' found no plan: {result.status.value}")
        x = result.x
        value = float(g @ x)
        tol = 1e-6 * max(1.0, abs(value))
        lo, hi = (-np.inf, value + tol) if minimise else (value - tol, np.inf)
        nzg = np.flatnonzero(g)
        model.add_rows(f"near_optimal_hold_{i}", [(o.target,)], np.zeros(len(nzg), dtype=np.int64),
                       nzg, g[nzg], lower=lo, upper=hi)
        rows.append({"sense": o.sense, "target": o.target, "measure": measures.measure(o.target),
                     "optimal": rounded(measures.value(o.target, first.plan_x()))})
    full_cost = np.zeros(model.num_cols)
    full_cost[: len(cost)] = cost
    model.set_cost(full_cost)
    final = run.solve_model(model)
    if not final.status.has_plan:
        raise PlanError(f"final cost stage found no plan: {final.status.value}")
    plan = extract(run.with_model(model, final))
    total = float(cost @ final.plan_x()[: len(cost)]) + model.objective_offset
    plan.objective = total
    for row in rows:
        row["alternative"] = rounded(measures.value(row["target"], final.plan_x()))
    plan.message = (f"near-optimal alternative: {', '.join(o.label for o in objectives)} "
                    f"at most {slack:.1%} above the optimum {optimum:,.0f}")
    return Alternative(plan=plan, optimal=optimal, slack=slack, optimum=optimum, limit=limit,
                       cost=total, objectives=rows)


def _stage_vector(model, measures: _Measures, o: Objective) -> np.ndarray:
    """The stage's linear objective over every column (adds columns/rows for diversity)."""
    if o.target != "vendor_diversity":
        return measures.vector(o.target, model.num_cols)
    T = len(measures.data.periods)
    labels = measures.data.labels
    block = model.add_columns("near_optimal_top_vendor", [(p,) for p in labels])
    vendors = sorted(set(measures.vendor))
    keys: list[tuple[str, str]] = []
    r: list[int] = []
    c: list[int] = []
    v: list[float] = []
    for vendor in vendors:
        mine = measures.vendor == vendor
        for t in range(T):
            sel = mine & (measures.t == t)
            if not sel.any():
                continue
            row = len(keys)
            keys.append((vendor, labels[t]))
            r.extend([row] * int(sel.sum()) + [row])
            c.extend(list(measures.cols[sel]) + [block.start + t])
            v.extend(list(measures.weight[sel]) + [-1.0])
    if keys:
        model.add_rows("near_optimal_top_vendor", keys, np.asarray(r), np.asarray(c),
                       np.asarray(v, dtype=float), upper=0.0)
    g = np.zeros(model.num_cols)
    g[block.start : block.stop] = 1.0
    return g


__all__ = ["TARGETS", "Alternative", "Objective", "near_optimal", "parse_objective"]
