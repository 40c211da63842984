"""Solving through the exact domain presolve (:mod:`chipmix.model.presolve`).

:func:`solve_presolved` reduces the planning data, builds and solves the smaller model, maps
its solution back to the full model and proves it there (:meth:`Reduction.check`). The
result is a :class:`~chipmix.solve.SolveResult` *of the full model* — its ``x`` indexes the
full model's columns — so the plan is extracted (and checked by ``chipmix.verify``) exactly
as without the presolve. Duals are not carried over (the reduced model's rows are not the
full model's); whatever needs them re-solves an LP of the full model.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from chipmix.model.build import build
from chipmix.model.data import PlanningData
from chipmix.model.matrix import LinearModel
from chipmix.model.presolve import PresolveMismatch, Reduction, presolve
from chipmix.model.variables import Index
from chipmix.solve import SolveResult, SolverOptions, solve


@dataclass
class PresolveOutcome:
    """What the presolve did for one solve (``reduction`` None: nothing merged)."""

    reduction: Reduction | None
    result: SolveResult | None  # the full model's result, None: solve the full model instead
    seconds: dict[str, float] = field(default_factory=dict)
    reduced_size: tuple[int, int] = (0, 0)  # columns, rows of the reduced model
    fallback: str = ""  # why the full model had to be solved after all

    def info(self) -> dict[str, object] | None:
        """The plan's ``solver.presolve`` entry (None when nothing merged)."""
        if self.reduction is None:
            return None
        out: dict[str, object] = dict(self.reduction.summary())
        out["variables"], out["constraints"] = self.reduced_size
        if self.fallback:
            out["fallback"] = self.fallback
        return out


def solve_presolved(data: PlanningData, model: LinearModel, index: Index,
                    options: SolverOptions) -> PresolveOutcome:
    """Solve ``model`` (built from ``data``) through the presolve when anything merges."""
    started = time.perf_counter()
    reduction = presolve(data, relax=bool(options.relax))
    seconds = {"presolve": time.perf_counter() - started}
    if reduction is None:
        return PresolveOutcome(None, None, seconds)
    small, small_index = build(reduction.data)
    small.arrays()
    if small.num_cols == model.num_cols and small.num_rows == model.num_rows:
        # the merged workloads or SKUs had no columns (e.g. twins nobody can buy): nothing won
        return PresolveOutcome(None, None, seconds)
    outcome = PresolveOutcome(reduction, None, seconds, (small.num_cols, small.num_rows))
    result = solve(small, options)
    if not result.status.has_plan or result.x is None:
        # the reduced model is infeasible / unbounded / stopped exactly when the full one is
        result.x = None
        result.row_duals = result.col_duals = None
        outcome.result = result
        return outcome
    started = time.perf_counter()
    integral = not options.relax and bool(model.arrays()["integer"].any())
    try:
        x = reduction.expand(model, index, small, small_index, result.x, integral=integral)
        reduction.check(model, x, result.objective, integral=integral)
    except PresolveMismatch as exc:
        outcome.fallback = f"the presolved solution did not solve the full model ({exc})"
        return outcome
    seconds["expand"] = time.perf_counter() - started
    result.x = x
    result.row_duals = result.col_duals = None
    outcome.result = result
    return outcome


__all__ = ["PresolveOutcome", "solve_presolved"]
