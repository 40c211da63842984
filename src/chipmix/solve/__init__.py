"""Solver adapters over one :class:`~chipmix.model.matrix.LinearModel`.

``solve(model, options)`` picks the adapter: ``highs`` (direct highspy, the default),
``cbc`` (PuLP's bundled CBC) or ``highs-pulp`` (HiGHS through PuLP). Every adapter returns a
:class:`SolveResult` whose :class:`Status` is read from the solver's own outcome.
"""

from __future__ import annotations

import contextlib
import enum
import os
import sys
from dataclasses import dataclass, field

import numpy as np

from chipmix.errors import SolverError

SOLVERS = ("highs", "cbc", "highs-pulp")


class Status(str, enum.Enum):
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


@contextlib.contextmanager
def stdout_to_stderr():
    """Send everything written to file descriptor 1 to descriptor 2 (solver banners).

    Keeps stdout clean for ``--json`` even when a C library prints directly to fd 1.
    """
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, ValueError, OSError):
        yield
        return
    sys.stdout.flush()
    saved = os.dup(fd)
    try:
        os.dup2(sys.stderr.fileno() if _has_fileno(sys.stderr) else os.open(os.devnull, os.O_WRONLY), fd)
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, fd)
        os.close(saved)


def _has_fileno(stream) -> bool:
    try:
        stream.fileno()
        return True
    except (AttributeError, ValueError, OSError):
        return False


def solve(model, options: SolverOptions) -> SolveResult:
    """Solve ``model`` with the adapter ``options.name``."""
    name = (options.name or "highs").lower()
    if name == "highs":
        from chipmix.solve.highs import solve_highs

        return solve_highs(model, options)
    if name in ("cbc", "highs-pulp"):
        from chipmix.solve.pulp_adapter import solve_pulp

        return solve_pulp(model, options)
    raise SolverError(f"unknown solver '{options.name}'; expected one of {', '.join(SOLVERS)}")
