"""What an adapter returns: :class:`SolveResult` (status, solution vector, duals, timing).

The settings going in (:class:`~chipmix.inputs.solver.SolverOptions`) and the status
vocabulary (:class:`~chipmix.inputs.solver.Status`) are defined once, in
:mod:`chipmix.inputs.solver`; ``chipmix.solve`` re-exports all three.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from chipmix.errors import PlanError
from chipmix.inputs.solver import Status


@dataclass
class SolveResult:
    """One solver run.

    Attributes
    ----------
    status : what the solver established (``status.has_plan``: ``x`` is set).
    solver : the adapter's name (one of :data:`~chipmix.inputs.solver.SOLVERS`).
    x : the solution vector in column order, or None without a plan.
    objective : ``c·x + c0`` of ``x``; bound and gap: the MIP's dual bound and relative gap.
    row_duals, col_duals : of an LP solved to optimality (HiGHS signs), else None.
    seconds : wall-clock solve time; message : the solver's outcome in words.
    extra : adapter-specific details (e.g. ``warnings`` about scaling).
    """

    status: Status
    solver: str
    x: np.ndarray | None = None
    objective: float | None = None
    bound: float | None = None
    gap: float | None = None
    row_duals: np.ndarray | None = None
    col_duals: np.ndarray | None = None
    seconds: float = 0.0
    message: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def plan_x(self) -> np.ndarray:
        """The solution vector of a result that holds a plan (PlanError otherwise)."""
        if not self.status.has_plan or self.x is None:
            raise PlanError(f"the solver found no plan: {self.status.value}"
                            + (f" ({self.message})" if self.message else ""))
        return self.x

    def plan_objective(self) -> float:
        """The objective of a result that holds a plan (PlanError otherwise)."""
        self.plan_x()
        assert self.objective is not None
        return float(self.objective)
