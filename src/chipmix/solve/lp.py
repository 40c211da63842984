"""LPs with duals: a warm-startable HiGHS session whose costs and coefficients can change.

The insight figures (:mod:`chipmix.planner.sensitivity`) solve many small variants of one
LP; :class:`LPSession` keeps one HiGHS instance and re-solves from the last basis.
"""

from __future__ import annotations

from dataclasses import dataclass

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

    def set_coefficient(self, row: int, col: int, value: float) -> None:
        self.h.changeCoeff(int(row), int(col), float(value))

    def solve(self) -> LPSolution:
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
        return LPSolution(
            x=np.asarray(sol.col_value, dtype=float),
            row_duals=np.asarray(sol.row_dual, dtype=float),
            col_duals=np.asarray(sol.col_dual, dtype=float),
            objective=float(info.objective_function_value),
        )


def solve_lp(model: LinearModel) -> LPSolution:
    """Solve an LP with HiGHS and return primal and dual values (SolverError if not optimal)."""
    return LPSession(model).solve()
