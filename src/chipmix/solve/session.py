"""Solving many models of one shape in place: one HiGHS instance per shape, changed numbers only.

Sweeps and stress draws solve hundreds of models that differ only in numbers — a supply
bound, a share, a price. :class:`HighsSession` keeps one ``highspy.Highs`` per *shape*
(columns, rows, integrality and the matrix's sparsity pattern) and solves the next model of a
shape it holds by changing, in place, only the numbers that differ: column bounds
(``changeColsBounds``), costs (``changeColsCost``), row bounds (``changeRowsBounds``) and
matrix coefficients (``changeCoeff``). No HiGHS model is rebuilt; an LP starts from the
previous optimal basis (a warm start: the same optimum, found in fewer iterations); a MILP is
solved by HiGHS's branch and bound from scratch on the changed model, so its result is bit
for bit what a fresh solve of the same model gives (``tests/test_reuse.py`` proves both).
A model of another shape is passed whole (``passModel``) and becomes a shape of its own (the
``max_shapes`` most recent are kept).

With ``carry`` on (a sweep's chunk of variants, :mod:`chipmix.studies.execute`), a MILP may
take the plan of an earlier MILP of its shape instead of being solved, when that is exact
within the requested gap (:func:`carried`): the new model's feasible set lies inside the
earlier one's and costs are no lower (checked on the arrays), so the earlier dual bound is a
bound here too; the earlier plan is feasible here; and its cost here is within the gap of
that bound.

:func:`reusing` turns it on for a block of code: every HiGHS solve of
:func:`chipmix.solve.solve` in this thread then goes through the session (sweep and stress
workers do this once per process).
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from chipmix.inputs.solver import SolverOptions, Status
from chipmix.model.matrix import LinearModel
from chipmix.solve.highs import load_highspy, make_highs, run_highs, set_options
from chipmix.solve.result import SolveResult

#: Beyond this share of changed coefficients the model is passed whole instead.
MAX_CHANGED_SHARE = 0.25


@dataclass
class _Incumbent:
    """A solved MILP of a shape: its numbers, plan and proven bound (for :func:`carried`)."""

    arrays: dict[str, np.ndarray]
    offset: float
    result: SolveResult


@dataclass
class _Shape:
    highs: Any
    arrays: dict[str, np.ndarray]
    offset: float
    solves: int = 0


def shape_key(model: LinearModel) -> str:
    """What a model's shape is known by: sizes, integrality and the matrix's sparsity."""
    a = model.arrays()
    digest = hashlib.blake2b(digest_size=16)
    digest.update(np.array([model.num_cols, model.num_rows], dtype=np.int64).tobytes())
    for name in ("integer", "csc_start", "csc_index"):
        digest.update(np.ascontiguousarray(a[name]).tobytes())
    return digest.hexdigest()


class HighsSession:
    """HiGHS instances kept across solves, one per model shape (module docstring).

    Attributes
    ----------
    stats : counts of ``passed`` (whole models handed to HiGHS), ``changed`` (solved in
        place) and ``carried`` (an earlier plan taken, no solve) solves, for benchmarks and
        tests.
    carry : take an earlier MILP's plan when that is exact (module docstring); off unless
        the caller turns it on, and then for a fixed, ordered batch of solves only (what is
        carried depends on what was solved before: :meth:`forget_incumbents` between
        batches keeps results independent of how batches are spread over workers).
    """

    def __init__(self, max_shapes: int = 4) -> None:
        self.max_shapes = max_shapes
        self._shapes: OrderedDict[str, _Shape] = OrderedDict()
        self.stats = {"passed": 0, "changed": 0, "carried": 0}
        self.carry = False
        self._incumbents: dict[str, list[_Incumbent]] = {}

    def clear(self) -> None:
        """Forget every held model and plan."""
        self._shapes.clear()
        self._incumbents.clear()

    def forget_incumbents(self) -> None:
        """Forget the plans :func:`carried` may take (the models stay)."""
        self._incumbents.clear()

    def solve(self, model: LinearModel, options: SolverOptions) -> SolveResult:
        """Solve ``model`` with HiGHS, in place when a model of its shape was solved before."""
        highspy = load_highspy()
        if options.relax:
            model = model.relaxed()
        key = shape_key(model)
        mip = bool(model.arrays()["integer"].any())
        if self.carry and mip:
            for incumbent in self._incumbents.get(key, []):
                taken = carried(model, incumbent.arrays, incumbent.offset, incumbent.result,
                                options)
                if taken is not None:
                    self.stats["carried"] += 1
                    return taken
        shape = self._shapes.get(key)
        if shape is not None and self._change(shape, model):
            self._shapes.move_to_end(key)
            set_options(shape.highs, highspy, options, mip=bool(model.arrays()["integer"].any()))
            self.stats["changed"] += 1
            h = shape.highs
            if model.arrays()["integer"].any():
                # branch and bound from scratch, as a fresh solve: no basis, no solution kept
                h.clearSolver()
        else:
            h, _ = make_highs(model, options)
            shape = _Shape(h, _copy(model.arrays()), model.objective_offset)
            self._shapes[key] = shape
            while len(self._shapes) > self.max_shapes:
                self._shapes.popitem(last=False)
            self.stats["passed"] += 1
        shape.solves += 1
        result = run_highs(h, highspy, model, options)
        if result.extra.get("probed"):
            # the infeasible-or-unbounded probe changed options and costs: start afresh
            self._shapes.pop(key, None)
        if self.carry and mip and result.status.has_plan and result.x is not None \
                and result.bound is not None and np.isfinite(result.bound):
            # a copy: the caller maps the result's x back (chipmix.solve, cumulative form)
            kept = dataclasses.replace(result, x=result.x.copy(), extra=dict(result.extra))
            self._incumbents.setdefault(key, []).append(
                _Incumbent(_copy(model.arrays()), model.objective_offset, kept))
        return result

    def _change(self, shape: _Shape, model: LinearModel) -> bool:
        """Change the held model into ``model`` in place; False: pass it whole instead."""
        h, old, new = shape.highs, shape.arrays, model.arrays()
        changed_values = np.flatnonzero(old["csc_value"] != new["csc_value"])
        if len(changed_values) > MAX_CHANGED_SHARE * max(1, len(new["csc_value"])):
            return False
        cols = np.flatnonzero((old["col_lower"] != new["col_lower"])
                              | (old["col_upper"] != new["col_upper"]))
        if len(cols):
            h.changeColsBounds(len(cols), cols.astype(np.int32), new["col_lower"][cols],
                               new["col_upper"][cols])
        cost = np.flatnonzero(old["cost"] != new["cost"])
        if len(cost):
            h.changeColsCost(len(cost), cost.astype(np.int32), new["cost"][cost])
        rows = np.flatnonzero((old["row_lower"] != new["row_lower"])
                              | (old["row_upper"] != new["row_upper"]))
        if len(rows):
            h.changeRowsBounds(len(rows), rows.astype(np.int32), new["row_lower"][rows],
                               new["row_upper"][rows])
        if len(changed_values):
            col_of = np.repeat(np.arange(model.num_cols), np.diff(new["csc_start"]))
            for k in changed_values:
                h.changeCoeff(int(new["csc_index"][k]), int(col_of[k]),
                              float(new["csc_value"][k]))
        if model.objective_offset != shape.offset:
            h.changeObjectiveOffset(float(model.objective_offset))
        shape.arrays, shape.offset = _copy(new), model.objective_offset
        return True


#: feasibility tolerance of a carried plan (HiGHS's MIP feasibility tolerance)
CARRY_TOLERANCE = 1e-6


def contains(model: LinearModel, arrays: dict[str, np.ndarray], offset: float) -> bool:
    """Whether the MILP ``arrays`` (of ``model``'s shape) contains ``model`` at no lower cost.

    Sufficient conditions, checked entry by entry: ``model``'s column and row bounds lie
    within the earlier ones; every matrix entry that differs does so in the direction that
    only tightens its row for columns that cannot be negative (``a - b >= 0`` where the
    earlier row has a lower bound, ``<= 0`` where it has an upper one, equal for a
    two-sided row, any for a free row); costs and offset are no lower (equal on columns
    that can be negative). Then every plan of ``model`` is a plan of the earlier MILP and
    costs at least as much there, so ``model``'s optimum is at least the earlier optimum.
    """
    b, a = model.arrays(), arrays
    if np.any(b["col_lower"] < a["col_lower"]) or np.any(b["col_upper"] > a["col_upper"]) \
            or np.any(b["row_lower"] < a["row_lower"]) or np.any(b["row_upper"] > a["row_upper"]) \
            or model.objective_offset < offset:
        return False
    nonneg = b["col_lower"] >= 0
    cost_up = b["cost"] - a["cost"]
    if np.any(cost_up[nonneg] < 0) or np.any(cost_up[~nonneg] != 0):
        return False
    d = a["csc_value"] - b["csc_value"]
    if not d.any():
        return True
    cols = np.repeat(np.arange(model.num_cols), np.diff(b["csc_start"]))
    rows = b["csc_index"]
    lower = np.isfinite(a["row_lower"])[rows]
    upper = np.isfinite(a["row_upper"])[rows]
    ok = (d == 0) | (~lower & ~upper) | (nonneg[cols] & ((lower & ~upper & (d > 0))
                                                        | (upper & ~lower & (d < 0))))
    return bool(ok.all())


def feasible(model: LinearModel, x: np.ndarray, tol: float = CARRY_TOLERANCE) -> bool:
    """Whether ``x`` satisfies every bound, integrality and row of ``model`` (within ``tol``)."""
    a = model.arrays()
    lo, up = a["col_lower"], a["col_upper"]
    if np.any(x < lo - tol * (1 + np.abs(lo))) or np.any(x > up + tol * (1 + np.abs(up))):
        return False
    integer = a["integer"]
    if np.any(np.abs(x[integer] - np.round(x[integer])) > tol):
        return False
    activity = model.activity(x)
    rl, ru = a["row_lower"], a["row_upper"]
    with np.errstate(invalid="ignore"):
        return bool(np.all(activity >= rl - tol * (1 + np.abs(rl)))
                    and np.all(activity <= ru + tol * (1 + np.abs(ru))))


def carried(model: LinearModel, arrays: dict[str, np.ndarray], offset: float,
            earlier: SolveResult, options: SolverOptions) -> SolveResult | None:
    """The earlier MILP's plan as ``model``'s result, when that is exact within the gap.

    Exact when (1) the earlier MILP contains ``model`` at no lower cost (:func:`contains`),
    so its proven dual bound is a bound of ``model``'s optimum; (2) its plan is feasible
    for ``model`` (:func:`feasible`); (3) that plan's cost under ``model`` is within the
    requested relative gap of that bound (HiGHS's measure: ``(cost - bound) / |cost|``).
    Such a plan is what a solve of ``model`` may return: optimal within the gap. None
    otherwise (solve it).
    """
    x, bound = earlier.x, earlier.bound
    if x is None or bound is None or not np.isfinite(bound) or len(x) != model.num_cols:
        return None
    if not contains(model, arrays, offset) or not feasible(model, x):
        return None
    objective = float(model.arrays()["cost"] @ x + model.objective_offset)
    gap = float(options.gap) if options.gap is not None else 1e-4
    if objective - bound > gap * abs(objective):
        return None
    found = (objective - bound) / abs(objective) if objective else 0.0
    return SolveResult(Status.OPTIMAL, "highs", x=np.asarray(x, dtype=float).copy(),
                       objective=objective, bound=float(bound), gap=max(0.0, found),
                       message="Optimal (an earlier variant's plan, proven within the gap "
                               "here)", extra={"carried": True})


def _copy(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {k: arrays[k].copy() for k in ("col_lower", "col_upper", "cost", "row_lower",
                                          "row_upper", "csc_value")}


_ACTIVE = threading.local()


def active_session() -> HighsSession | None:
    """The session :func:`reusing` turned on in this thread, if any."""
    return getattr(_ACTIVE, "session", None)


@contextlib.contextmanager
def reusing(session: HighsSession | None = None) -> Iterator[HighsSession]:
    """Route this thread's HiGHS solves through ``session`` (default: a new one)."""
    previous = active_session()
    session = session or previous or HighsSession()
    _ACTIVE.session = session
    try:
        yield session
    finally:
        _ACTIVE.session = previous


__all__ = ["HighsSession", "active_session", "carried", "contains", "feasible", "reusing",
           "shape_key"]
