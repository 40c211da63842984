"""LPs with duals: a warm-startable HiGHS session whose costs and coefficients can change.

The insight figures (:mod:`chipmix.planner.sensitivity`) solve many small variants of one
LP; :class:`LPSession` keeps one HiGHS instance and re-solves from the last basis.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from chipmix.errors import SolverError
from chipmix.inputs.solver import SolverOptions
from chipmix.model.matrix import LinearModel
from chipmix.solve.highs import make_highs
from chipmix.solve.stdout import stdout_to_stderr


@dataclass
class LPSolution:
    """Primal and dual values of an optimal LP (HiGHS sign conventions).

    ``row_duals[i]`` is d(objective)/d(active bound of row i): ≥ 0 for a binding ``≥`` row,
    ≤ 0 for a binding ``≤`` row of this minimisation. ``col_duals`` are reduced costs
    ``c − Aᵀy``: d(objective)/d(active bound of the column).
    """

    x: np.ndarray
    row_duals: np.ndarray
    col_duals: np.ndarray
    objective: float
    #: with ``ranging``: per row and column, the interval of its active bound (the row's
    #: right-hand side, the column's bound) over which the dual holds (HiGHS ranging; ±inf
    #: = unbounded); None without
    row_range: tuple[np.ndarray, np.ndarray] | None = None
    col_range: tuple[np.ndarray, np.ndarray] | None = None




class LPSession:
    """One HiGHS instance holding an LP.

    Costs and coefficients can be changed and re-solved (warm-started from the last basis).
    """

    def __init__(self, model: LinearModel) -> None:
        self.model = model
        options = SolverOptions(name="highs", time_limit=None, gap=None, relax=True)
        self.h, self.highspy = make_highs(model, options)

    def set_costs(self, cols: np.ndarray, costs: np.ndarray) -> None:
        cols = np.asarray(cols, dtype=np.int32)
        self.h.changeColsCost(len(cols), cols, np.asarray(costs, dtype=float))

    def set_bounds(self, cols: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> None:
        cols = np.asarray(cols, dtype=np.int32)
        self.h.changeColsBounds(len(cols), cols, np.asarray(lower, dtype=float),
                                np.asarray(upper, dtype=float))

    def upper(self, cols: np.ndarray) -> np.ndarray:
        """The model's upper bounds of ``cols`` (as built, before any :meth:`set_bounds`)."""
        return self.model.arrays()["col_upper"][np.asarray(cols, dtype=np.int64)]

    def set_coefficient(self, row: int, col: int, value: float) -> None:
        self.h.changeCoeff(int(row), int(col), float(value))

    def solve(self, ranging: bool = False) -> LPSolution:
        with stdout_to_stderr():
            self.h.run()
        status = self.h.getModelStatus()
        if status != self.highspy.HighsModelStatus.kOptimal:
            raise SolverError(
                f"insight LP not solved to optimality: {self.h.modelStatusToString(status)}")
        sol = self.h.getSolution()
        info = self.h.getInfo()
        if not sol.dual_valid:
            raise SolverError("HiGHS returned no duals for the insight LP")
        out = LPSolution(
            x=np.asarray(sol.col_value, dtype=float),
            row_duals=np.asarray(sol.row_dual, dtype=float),
            col_duals=np.asarray(sol.col_dual, dtype=float),
            objective=float(info.objective_function_value),
        )
        if ranging:
            out.row_range, out.col_range = self._ranging(sol)
        return out

    def _ranging(self, sol: Any) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
        """The ranges over which the current duals hold.

        Intervals of the active bounds over which the current basis (so each dual) stays optimal,
        from HiGHS ranging: a nonbasic row or column (at a bound) takes HiGHS's ``*_bound_dn`` /
        ``*_bound_up`` values; a basic one (dual 0) keeps its dual while its bound stays on the far
        side of its value (``u ≥ activity`` for ``≤``, ``l ≤ activity`` for ``≥``).
        """
        with stdout_to_stderr():
            status, ranging = self.h.getRanging()
        if status == self.highspy.HighsStatus.kError or not ranging.valid:
            raise SolverError("HiGHS could not range the insight LP")
        basis = self.h.getBasis()
        basic = self.highspy.HighsBasisStatus.kBasic
        a = self.model.arrays()

        def intervals(status_list: Any, dn: Any, up: Any, value: Any, lower: np.ndarray,
                      upper: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            lo = np.asarray(dn.value_, dtype=float).copy()
            hi = np.asarray(up.value_, dtype=float).copy()
            is_basic = np.array([s == basic for s in status_list], dtype=bool)
            value = np.asarray(value, dtype=float)
            upper_side = np.isfinite(upper) & ~np.isfinite(lower)
            lower_side = np.isfinite(lower) & ~np.isfinite(upper)
            both = ~upper_side & ~lower_side
            lo[is_basic & upper_side] = value[is_basic & upper_side]
            hi[is_basic & upper_side] = np.inf
            lo[is_basic & lower_side] = -np.inf
            hi[is_basic & lower_side] = value[is_basic & lower_side]
            lo[is_basic & both] = hi[is_basic & both] = value[is_basic & both]
            return lo, hi

        rows = intervals(basis.row_status, ranging.row_bound_dn, ranging.row_bound_up,
                         sol.row_value, a["row_lower"], a["row_upper"])
        cols = intervals(basis.col_status, ranging.col_bound_dn, ranging.col_bound_up,
                         sol.col_value, a["col_lower"], a["col_upper"])
        return rows, cols


def solve_lp(model: LinearModel, ranging: bool = False) -> LPSolution:
    """Solve an LP with HiGHS.

    Solve an LP with HiGHS and return primal and dual values (SolverError if not optimal), with
    ``ranging`` also the intervals over which the duals hold.
    """
    return LPSession(model).solve(ranging=ranging)
