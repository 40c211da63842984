"""The solver's vocabulary: which solvers exist, what they are told, what they report.

:class:`SolverOptions` (name, time limit, gap, threads, relax) goes into every adapter;
:class:`SolveResult` with its :class:`Status` comes out. The adapters (:mod:`.highs`,
:mod:`.pulp_adapter`) and :func:`chipmix.solve.solve` import them from here.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field

import numpy as np

from chipmix.errors import InputError
from chipmix.inputs.yamlio import MAX_THREADS

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
