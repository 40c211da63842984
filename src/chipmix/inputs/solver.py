"""The solver vocabulary: which solvers exist, what they are told, what they report.

- :data:`SOLVERS` — the solver names, the one list (the scenario's ``solver.name``, the CLI's
  ``--solver`` and :func:`chipmix.solve.solve` all check against it);
- :class:`SolverOptions` — the one record of solver settings: the scenario's ``solver:``
  block is validated into it, and the CLI flags and library keywords (``time_limit=`` …)
  override it with :meth:`SolverOptions.with_overrides`; every adapter reads it;
- :class:`Status` — what a solver established, as every plan, sweep row and stress draw
  reports it.

It sits in the inputs layer because the scenario file holds the settings; the solve layer
above imports it, never the other way round.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable, Mapping
from typing import Annotated, Any, Literal, get_args

from pydantic import BeforeValidator, Field, ValidationInfo, model_validator

from chipmix.errors import InputError
from chipmix.inputs.schema import StrictModel, not_bool
from chipmix.inputs.yamlio import MAX_THREADS

#: A solver name: ``highs`` (HiGHS through highspy), ``cbc`` (PuLP's bundled CBC) or
#: ``highs-pulp`` (HiGHS through PuLP).
SolverName = Literal["highs", "cbc", "highs-pulp"]
SOLVERS: tuple[str, ...] = get_args(SolverName)


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
        """True for the statuses that carry decisions (optimal, feasible)."""
        return self in (Status.OPTIMAL, Status.FEASIBLE)

    @classmethod
    def with_plan(cls) -> tuple[str, ...]:
        """The status names that carry decisions, as they appear in JSON and tables."""
        return tuple(s.value for s in cls if s.has_plan)


_Seconds = Annotated[float, BeforeValidator(not_bool), Field(gt=0, allow_inf_nan=False)]
_Gap = Annotated[float, BeforeValidator(not_bool), Field(ge=0, allow_inf_nan=False)]
_Threads = Annotated[int, BeforeValidator(not_bool), Field(ge=1, le=MAX_THREADS)]

#: field -> (what it is, with its CLI flag; what is expected; the check)
_CHECKS: dict[str, tuple[str, str, Callable[[float], bool]]] = {
    "time_limit": ("time limit (--time-limit)", "a number of seconds > 0",
                   lambda v: math.isfinite(v) and v > 0),
    "gap": ("relative gap (--gap)", "a number >= 0, e.g. 0.001",
            lambda v: math.isfinite(v) and v >= 0),
    "threads": ("threads (--threads)", f"a whole number from 1 to {MAX_THREADS}",
                lambda v: float(v).is_integer() and 1 <= v <= MAX_THREADS),
}


class SolverOptions(StrictModel):
    """Which solver, and how hard it tries (the scenario's ``solver:`` block).

    Built from YAML, errors name the key path (``solver.time_limit``); built in Python
    (``SolverOptions(threads=0)``) or overridden from the command line, they name the flag
    (``--threads``), both as :class:`~chipmix.errors.InputError`.
    """

    name: SolverName = Field(
        "highs", description="highs (direct), cbc (PuLP) or highs-pulp (HiGHS through PuLP)")
    time_limit: _Seconds | None = Field(
        60.0, description="wall-clock limit [s]; null = none")
    gap: _Gap | None = Field(
        1e-4, description="relative MIP gap the solver may stop at; null = the solver's default")
    threads: _Threads | None = Field(
        None, description="solver threads; null = the solver's default")
    relax: bool = Field(
        False, description="solve the LP relaxation (integrality dropped: fractional servers)")
    presolve: bool = Field(
        True, description="merge interchangeable workloads and identical SKUs before solving "
                          "(exact: chipmix.model.presolve); false = solve the full model")

    @model_validator(mode="before")
    @classmethod
    def _check_call(cls, data: Any, info: ValidationInfo) -> Any:
        """Built in Python, not from a scenario file: errors name the flag, not a key path.

        A scenario is validated with a context (its horizon and file), a call is not; an
        InputError raised here is not a ValueError, so pydantic lets it through unchanged.
        """
        if info.context is None and isinstance(data, Mapping):
            _check_values(data)
        return data

    def with_overrides(self, *, name: str | None = None, time_limit: float | None = None,
                       gap: float | None = None, threads: int | None = None,
                       relax: bool | None = None, presolve: bool | None = None
                       ) -> SolverOptions:
        """These options with every argument that is not None put in place (and checked).

        ``name`` is case-insensitive (``--solver CBC``).
        """
        given = {"name": name.lower() if isinstance(name, str) else name,
                 "time_limit": time_limit, "gap": gap, "threads": threads, "relax": relax,
                 "presolve": presolve}
        changes = {k: v for k, v in given.items() if v is not None}
        if not changes:
            return self
        return SolverOptions(**{**self.model_dump(), **changes})


def _check_values(data: Mapping[str, Any]) -> None:
    """Refuse a solver name, time limit, gap or thread count a solver would misread.

    ``--time-limit -1`` must not silently mean "no limit"; the message names the flag.
    """
    name = data.get("name", "highs")
    if name not in SOLVERS:
        raise InputError(field="solver", value=name, expected="one of " + ", ".join(SOLVERS))
    for key, (what, expected, ok) in _CHECKS.items():
        value = data.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float) or not ok(value):
            raise InputError(field=f"solver {what}", value=value, expected=expected)


__all__ = ["SOLVERS", "SolverName", "SolverOptions", "Status"]
