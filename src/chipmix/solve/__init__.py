"""Solver adapters over one :class:`~chipmix.model.matrix.LinearModel`.

``solve(model, options)`` picks the adapter: ``highs`` (direct highspy, the default),
``cbc`` (PuLP's bundled CBC) or ``highs-pulp`` (HiGHS through PuLP). Every adapter returns a
:class:`SolveResult` whose :class:`Status` is read from the solver's own outcome.
"""

from __future__ import annotations

import numpy as np

from chipmix.errors import SolverError
from chipmix.inputs.solver import SOLVERS, SolverOptions, Status
from chipmix.model.cumulative import cumulative
from chipmix.model.matrix import LinearModel
from chipmix.solve.highs import solve_highs
from chipmix.solve.result import SolveResult
from chipmix.solve.session import HighsSession, active_session, reusing
from chipmix.solve.stdout import quiet_stdout, stdout_to_stderr

__all__ = [
    "BAD_SCALING", "SOLVERS", "SOLVER_INFINITY", "SolveResult", "SolverOptions", "Status",
    "HighsSession", "check_numbers", "quiet_stdout", "reusing", "solve", "stdout_to_stderr",
]

#: Magnitude from which solvers read a number as infinite (HiGHS: ``infinite_cost`` and
#: ``infinite_bound`` are 1e20); a finite cost, coefficient or bound that large would silently
#: become "unlimited", so the model is refused instead.
SOLVER_INFINITY = 1e20
#: Ratio between the largest and the smallest non-zero coefficient magnitude (matrix, or
#: costs) beyond which a solver's tolerances (~1e-9 relative) may give inexact plans.
BAD_SCALING = 1e12


def check_numbers(model: LinearModel) -> list[str]:
    """Refuse a model no solver can be trusted with; return warnings about its scaling.

    Raises SolverError naming the first variable or constraint with a NaN, an infinite cost
    or coefficient, or a finite number at or beyond :data:`SOLVER_INFINITY`.
    """
    a = model.arrays()
    checks = [
        ("cost", a["cost"], "col", False),
        ("lower bound", a["col_lower"], "col", True),
        ("upper bound", a["col_upper"], "col", True),
        ("lower bound", a["row_lower"], "row", True),
        ("upper bound", a["row_upper"], "row", True),
    ]
    for what, values, kind, infinite_ok in checks:
        bad = np.isnan(values) | (np.abs(values) >= SOLVER_INFINITY)
        if infinite_ok:
            bad &= ~np.isinf(values)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            names = model.col_names() if kind == "col" else model.row_names()
            raise SolverError(_too_big(f"the {what} of {names[i]}", values[i]))
    matrix = a["csc_value"]
    bad = ~np.isfinite(matrix) | (np.abs(matrix) >= SOLVER_INFINITY)
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        col = int(np.searchsorted(a["csc_start"], k, side="right") - 1)
        row = int(a["csc_index"][k])
        raise SolverError(_too_big(f"the coefficient of {model.col_names()[col]} in "
                                   f"{model.row_names()[row]}", matrix[k]))
    warnings = []
    for what, values in (("matrix coefficients", matrix), ("costs", a["cost"])):
        sizes = np.abs(values[values != 0])
        if len(sizes) and sizes.max() / sizes.min() > BAD_SCALING:
            warnings.append(f"badly scaled {what} ({sizes.min():.3g} to {sizes.max():.3g}): "
                            "the solver's tolerances may make the plan inexact")
    return warnings


def _solve_empty(model: LinearModel, name: str) -> SolveResult:
    """No variables (e.g. no demand): nothing to decide; feasible iff every row admits 0."""
    a = model.arrays()
    if np.all(a["row_lower"] <= 0.0) and np.all(a["row_upper"] >= 0.0):
        return SolveResult(Status.OPTIMAL, name, x=np.zeros(0), objective=model.objective_offset,
                           bound=model.objective_offset, gap=0.0,
                           message="Optimal (no decisions to make)")
    return SolveResult(Status.INFEASIBLE, name, message="Infeasible (a constraint without "
                       "variables excludes 0)")


def _too_big(what: str, value: float) -> str:
    return (f"cannot solve: {what} is {value:g}, beyond what a solver can represent "
            f"(finite numbers below {SOLVER_INFINITY:g}); check very large prices, penalties, "
            "demands or server sizes in the scenario and its catalogs")


def solve(model: LinearModel, options: SolverOptions, start: np.ndarray | None = None, *,
          reformulate: bool = True) -> SolveResult:
    """Solve ``model`` with the adapter ``options.name``.

    The model's numbers are checked first (:func:`check_numbers`); scaling warnings are
    appended to the result's message. A MILP is solved over cumulative purchases
    (:mod:`chipmix.model.cumulative`: exact, the solution is mapped back to ``model``'s
    columns) unless ``reformulate`` is False. ``start`` (a full solution vector of ``model``,
    e.g. a feasible plan found otherwise) is handed to HiGHS as the MIP's first incumbent
    (mapped to the cumulative columns); the PuLP adapters ignore it.
    """
    name = options.name  # validated by SolverOptions: one of SOLVERS
    warnings = check_numbers(model)
    if model.num_cols == 0:
        return _solve_empty(model, name)
    change = None
    if reformulate and not options.relax and model.arrays()["integer"].any():
        change = cumulative(model)
    if change is not None and start is not None:
        start = change.forward(start)
    result = _dispatch(change.model if change is not None else model, options, start)
    if change is not None:
        result.extra["cumulative"] = True
        if result.x is not None:
            result.x = change.back(result.x)
        result.row_duals = result.row_duals[: model.num_rows] if result.row_duals is not None \
            else None
        result.col_duals = None  # of the cumulative columns: not the model's
    if warnings:
        result.message = "; ".join([result.message, *warnings] if result.message else warnings)
        result.extra["warnings"] = warnings
    return result


def _dispatch(model: LinearModel, options: SolverOptions,
              start: np.ndarray | None = None) -> SolveResult:
    """Hand ``model`` to the adapter ``options.name`` (``start``: HiGHS only)."""
    if options.name == "highs":
        session = active_session()  # sweeps and stress: the same HiGHS, changed in place
        if session is not None and start is None:
            return session.solve(model, options)
        return solve_highs(model, options, start=start)
    from chipmix.solve.pulp_adapter import solve_pulp  # lazy: PuLP's solvers only

    return solve_pulp(model, options)
