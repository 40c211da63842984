"""Solver adapters over one :class:`~chipmix.model.matrix.LinearModel`.

``solve(model, options)`` picks the adapter: ``highs`` (direct highspy, the default),
``cbc`` (PuLP's bundled CBC) or ``highs-pulp`` (HiGHS through PuLP). Every adapter returns a
:class:`SolveResult` whose :class:`Status` is read from the solver's own outcome.
"""

from __future__ import annotations

import contextlib
import enum
import math
import os
import sys
import threading
from dataclasses import dataclass, field

import numpy as np

from chipmix.errors import InputError, SolverError
from chipmix.yamlio import MAX_THREADS

SOLVERS = ("highs", "cbc", "highs-pulp")


class Status(str, enum.Enum):  # noqa: UP042 - StrEnum would change str(status)
    """What the solver established."""

    OPTIMAL = "optimal"
    FEASIBLE = "feasible"  # a plan within the gap reached at a time limit (or gap > target)
    INFEASIBLE = "infeasible"
    UNBOUNDED = "unbounded"
    NO_SOLUTION = "no_solution"  # time limit (or other stop) without any feasible plan
    ERROR = "error"

    @property
    def has_plan(self) -> bool:
        return self in (Status.OPTIMAL, Status.FEASIBLE)


@dataclass
class SolverOptions:
    name: str = "highs"
    time_limit: float | None = 60.0
    gap: float | None = 1e-4
    threads: int | None = None
    relax: bool = False


@dataclass
class SolveResult:
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
    extra: dict = field(default_factory=dict)


_REDIRECT_LOCK = threading.Lock()
_redirect_state: dict = {"depth": 0, "saved": []}


def _stdout_fds() -> list[int]:
    """File descriptors a C library's "stdout" may reach: fd 1, and sys.stdout's own fd when
    it differs (e.g. a test harness that captures into a file)."""
    fds = [1]
    try:
        fd = sys.stdout.fileno()
        if fd not in fds:
            fds.append(fd)
    except (AttributeError, ValueError, OSError):
        pass
    return fds


@contextlib.contextmanager
def _redirect_stdout_fds(to_stderr: bool):
    """Point the stdout file descriptors at stderr (or /dev/null) for the block.

    Reference-counted under a lock: threads that solve at once share one redirection, and
    the last one out restores stdout, so stdout is never left pointing elsewhere.
    """
    with _REDIRECT_LOCK:
        if _redirect_state["depth"] == 0:
            try:
                sys.stdout.flush()
            except (AttributeError, ValueError, OSError):
                pass
            saved = []
            for fd in _stdout_fds():
                try:
                    saved.append((fd, os.dup(fd)))
                except OSError:
                    continue
                if to_stderr and _has_fileno(sys.stderr):
                    sys.stderr.flush()
                    os.dup2(sys.stderr.fileno(), fd)
                else:
                    _dup_devnull(fd)
            _redirect_state["saved"] = saved
        _redirect_state["depth"] += 1
    try:
        yield
    finally:
        with _REDIRECT_LOCK:
            _redirect_state["depth"] -= 1
            if _redirect_state["depth"] == 0:
                try:
                    sys.stdout.flush()
                except (AttributeError, ValueError, OSError):
                    pass
                for fd, copy in _redirect_state["saved"]:
                    os.dup2(copy, fd)
                    os.close(copy)
                _redirect_state["saved"] = []


def stdout_to_stderr():
    """Send everything written to stdout's file descriptors to stderr (solver chatter).

    Keeps stdout clean for ``--json`` even when a C library prints directly to fd 1.
    """
    return _redirect_stdout_fds(to_stderr=True)


def quiet_stdout():
    """Discard everything written to stdout's file descriptors (a C library's banner)."""
    return _redirect_stdout_fds(to_stderr=False)


def _dup_devnull(fd: int) -> None:
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, fd)
    finally:
        os.close(null)


def _has_fileno(stream) -> bool:
    try:
        stream.fileno()
        return True
    except (AttributeError, ValueError, OSError):
        return False


#: Magnitude from which solvers read a number as infinite (HiGHS: ``infinite_cost`` and
#: ``infinite_bound`` are 1e20); a finite cost, coefficient or bound that large would silently
#: become "unlimited", so the model is refused instead.
SOLVER_INFINITY = 1e20
#: Ratio between the largest and the smallest non-zero coefficient magnitude (matrix, or
#: costs) beyond which a solver's tolerances (~1e-9 relative) may give inexact plans.
BAD_SCALING = 1e12


def check_numbers(model) -> list[str]:
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


def check_options(options: SolverOptions) -> None:
    """Refuse a time limit, gap or thread count a solver would ignore or misread.

    Scenario files are validated on load; these checks catch the command line and library
    calls (``--time-limit -1`` must not silently mean "no limit").
    """
    checks = (
        ("time limit (--time-limit)", options.time_limit, "a number of seconds > 0",
         lambda v: math.isfinite(v) and v > 0),
        ("relative gap (--gap)", options.gap, "a number >= 0, e.g. 0.001",
         lambda v: math.isfinite(v) and v >= 0),
        ("threads (--threads)", options.threads, f"a whole number from 1 to {MAX_THREADS}",
         lambda v: float(v).is_integer() and 1 <= v <= MAX_THREADS),
    )
    for what, value, expected, ok in checks:
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float) or not ok(value):
            raise InputError(field=f"solver {what}", value=value, expected=expected)


def _solve_empty(model, name: str) -> SolveResult:
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


def solve(model, options: SolverOptions) -> SolveResult:
    """Solve ``model`` with the adapter ``options.name``.

    The model's numbers are checked first (:func:`check_numbers`); scaling warnings are
    appended to the result's message.
    """
    name = (options.name or "highs").lower()
    if name not in SOLVERS:
        raise SolverError(f"unknown solver '{options.name}'; expected one of {', '.join(SOLVERS)}")
    check_options(options)
    warnings = check_numbers(model)
    if model.num_cols == 0:
        return _solve_empty(model, name)
    if name == "highs":
        from chipmix.solve.highs import solve_highs

        result = solve_highs(model, options)
    else:
        from chipmix.solve.pulp_adapter import solve_pulp

        result = solve_pulp(model, options)
    if warnings:
        result.message = "; ".join([result.message, *warnings] if result.message else warnings)
        result.extra["warnings"] = warnings
    return result
