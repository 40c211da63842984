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

:func:`reusing` turns it on for a block of code: every HiGHS solve of
:func:`chipmix.solve.solve` in this thread then goes through the session (sweep and stress
workers do this once per process).
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from chipmix.inputs.solver import SolverOptions
from chipmix.model.matrix import LinearModel
from chipmix.solve.highs import load_highspy, make_highs, run_highs, set_options
from chipmix.solve.result import SolveResult

#: Beyond this share of changed coefficients the model is passed whole instead.
MAX_CHANGED_SHARE = 0.25


@dataclass
class _Shape:
    highs: Any
    arrays: dict[str, np.ndarray]
    offset: float
    solves: int = 0


def _shape_key(model: LinearModel) -> str:
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
    stats : counts of ``passed`` (whole models handed to HiGHS) and ``changed`` (solved in
        place) solves, for benchmarks and tests.
    """

    def __init__(self, max_shapes: int = 4) -> None:
        self.max_shapes = max_shapes
        self._shapes: OrderedDict[str, _Shape] = OrderedDict()
        self.stats = {"passed": 0, "changed": 0}

    def clear(self) -> None:
        """Forget every held model."""
        self._shapes.clear()

    def solve(self, model: LinearModel, options: SolverOptions) -> SolveResult:
        """Solve ``model`` with HiGHS, in place when a model of its shape was solved before."""
        highspy = load_highspy()
        if options.relax:
            model = model.relaxed()
        key = _shape_key(model)
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


__all__ = ["HighsSession", "active_session", "reusing"]
