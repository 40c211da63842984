"""One pass of the pipeline: prepare → build → solve, with every stage kept.

A :class:`Run` holds what each stage made — the planning data (:mod:`chipmix.model.data`),
the model and its column index (:mod:`chipmix.model.build`), the solver result
(:mod:`chipmix.solve`) — so whatever comes after reads them instead of building again:
the plan's report tables, the infeasibility diagnosis (an elastic copy of the model),
sensitivities (LPs derived from the model), near-optimal alternatives (the model extended
by rows) and stress draws (the data with another supply table).

Derived runs never change their parent: :meth:`Run.with_data` starts again from new data
(e.g. shocked supply), :meth:`Run.with_model` keeps data and columns with another model of
the same columns (a :meth:`~chipmix.model.matrix.LinearModel.copy` with bounds, costs or
right-hand sides changed, or extended by rows) and its result.

::

    run = Run.for_scenario("examples/rush-before-ban.yaml", time_limit=30).execute()
    run.result.status, run.model.num_cols, run.index.buy
    fixed = run.model.with_arrays(col_upper=upper)   # a copy with other bounds
    result = run.solve_model(fixed)
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from chipmix.errors import PlanError
from chipmix.inputs.scenario import Scenario, load_scenario
from chipmix.inputs.solver import SolverOptions
from chipmix.model.build import Index, build
from chipmix.model.data import PlanningData, prepare
from chipmix.model.matrix import LinearModel
from chipmix.pipeline.presolved import PresolveOutcome, solve_presolved
from chipmix.solve import SolveResult, solve


class Run:
    """The stages of one planning run (see the module docstring).

    ``data``, ``model``, ``index`` and ``result`` are made on first use (or by
    :meth:`prepare`, :meth:`build`, :meth:`solve`, which also say when): reading
    ``run.result`` of a fresh run prepares, builds and solves it.

    Attributes
    ----------
    scenario : the validated scenario.
    options : the solver settings of every solve of this run.
    timings : wall-clock seconds per stage done (``prepare``, ``build``, ``solve``).
    """

    def __init__(self, scenario: Scenario, options: SolverOptions, *,
                 data: PlanningData | None = None, model: LinearModel | None = None,
                 index: Index | None = None, result: SolveResult | None = None) -> None:
        self.scenario = scenario
        self.options = options
        self._data = data
        self._model = model
        self._index = index
        self._result = result
        self.timings: dict[str, float] = {}
        #: what the exact domain presolve did in :meth:`solve` (None: off, or not solved yet)
        self.presolved: PresolveOutcome | None = None

    # -- starting -------------------------------------------------------------------------
    @classmethod
    def for_scenario(cls, scenario: Scenario | str | Path, *, solver: str | None = None,
                     time_limit: float | None = None, gap: float | None = None,
                     threads: int | None = None, relax: bool | None = None,
                     presolve: bool | None = None) -> Run:
        """A run of ``scenario`` (a Scenario or the path of its YAML).

        Its solver settings are the scenario's, overridden by every argument that is not None.
        """
        if not isinstance(scenario, Scenario):
            scenario = load_scenario(scenario)
        options = scenario.solver.with_overrides(name=solver, time_limit=time_limit, gap=gap,
                                                 threads=threads, relax=relax,
                                                 presolve=presolve)
        return cls(scenario=scenario, options=options)

    @classmethod
    def from_data(cls, data: PlanningData, options: SolverOptions) -> Run:
        """A run whose data is already prepared (a variant of another run's data)."""
        return cls(scenario=data.scenario, options=options, data=data)

    # -- stages -----------------------------------------------------------------------------
    def prepare(self, *, catalog: Any = None, timeline: Any = None) -> Run:
        """Derive the planning data (optionally from an already loaded catalog / timeline)."""
        with self._timed("prepare"):
            self._data = prepare(self.scenario, catalog=catalog, timeline=timeline)
        return self

    def build(self) -> Run:
        """Build the model and its column index (preparing first if needed)."""
        data = self.data
        with self._timed("build"):
            self._model, self._index = build(data)
            self._model.arrays()  # the finished matrix is part of building
        return self

    def solve(self) -> Run:
        """Solve the model (building first if needed); the result is kept in ``result``."""
        model = self.model
        with self._timed("solve"):
            self.presolved = None
            if self.options.presolve:
                self.presolved = solve_presolved(self.data, model, self.index, self.options)
            if self.presolved is not None and self.presolved.result is not None:
                self._result = self.presolved.result
            else:
                self._result = solve(model, self.options)
        return self

    def execute(self) -> Run:
        """Every stage not done yet: prepare, build, solve."""
        return self.solve() if self._result is None else self

    @property
    def data(self) -> PlanningData:
        """The planning data (prepared on first use)."""
        if self._data is None:
            self.prepare()
        assert self._data is not None
        return self._data

    @property
    def model(self) -> LinearModel:
        """The model (built on first use)."""
        if self._model is None:
            self.build()
        assert self._model is not None
        return self._model

    @property
    def index(self) -> Index:
        """The model's column index (built with the model)."""
        if self._index is None:
            self.build()
        assert self._index is not None
        return self._index

    @property
    def result(self) -> SolveResult:
        """The solver's result (solved on first use)."""
        if self._result is None:
            self.solve()
        assert self._result is not None
        return self._result

    # -- derived runs -------------------------------------------------------------------------
    def solve_model(self, model: LinearModel, options: SolverOptions | None = None
                    ) -> SolveResult:
        """Solve another model over this run's columns; this run is left as it is.

        ``model`` is a changed or extended copy of ``self.model``.
        """
        return solve(model, options or self.options)

    def with_model(self, model: LinearModel, result: SolveResult | None = None) -> Run:
        """A run like this one with another model of the same columns and its result.

        Scenario, options, data and column index are shared; the model may be extended.
        """
        return Run(self.scenario, self.options, data=self.data, model=model, index=self.index,
                   result=result)

    def with_data(self, data: PlanningData, options: SolverOptions | None = None) -> Run:
        """A new run from changed data (not built yet)."""
        return Run.from_data(data, options or self.options)

    def require_plan(self) -> SolveResult:
        """The result, which must hold a plan (PlanError otherwise)."""
        result = self.result
        if not result.status.has_plan or result.x is None:
            raise PlanError(f"no plan for '{self.scenario.name}': status {result.status.value}"
                            + (f" ({result.message})" if result.message else ""))
        return result

    @contextmanager
    def _timed(self, stage: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.timings[stage] = time.perf_counter() - started


__all__ = ["Run"]
