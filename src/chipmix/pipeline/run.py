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

import dataclasses
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chipmix.errors import PlanError
from chipmix.inputs.scenario import Scenario, load_scenario
from chipmix.inputs.solver import SolverOptions
from chipmix.model.build import Index, build
from chipmix.model.data import PlanningData, prepare
from chipmix.model.matrix import LinearModel
from chipmix.solve import SolveResult, solve


@dataclass
class Run:
    """The stages of one planning run (see the module docstring).

    Attributes
    ----------
    scenario : the validated scenario.
    options : the solver settings of every solve of this run.
    data, model, index, result : what :meth:`prepare`, :meth:`build` and :meth:`solve`
        made (None until then).
    timings : wall-clock seconds per stage (``prepare``, ``build``, ``solve``).
    """

    scenario: Scenario
    options: SolverOptions
    data: PlanningData | None = None
    model: LinearModel | None = None
    index: Index | None = None
    result: SolveResult | None = None
    timings: dict[str, float] = field(default_factory=dict)

    # -- starting -------------------------------------------------------------------------
    @classmethod
    def for_scenario(cls, scenario: Scenario | str | Path, *, solver: str | None = None,
                     time_limit: float | None = None, gap: float | None = None,
                     threads: int | None = None, relax: bool | None = None) -> Run:
        """A run of ``scenario`` (a Scenario or the path of its YAML) with the scenario's
        solver settings, overridden by every argument that is not None."""
        if not isinstance(scenario, Scenario):
            scenario = load_scenario(scenario)
        options = scenario.solver.with_overrides(name=solver, time_limit=time_limit, gap=gap,
                                                 threads=threads, relax=relax)
        return cls(scenario=scenario, options=options)

    @classmethod
    def from_data(cls, data: PlanningData, options: SolverOptions) -> Run:
        """A run whose data is already prepared (a variant of another run's data)."""
        return cls(scenario=data.scenario, options=options, data=data)

    # -- stages -----------------------------------------------------------------------------
    def prepare(self, *, catalog: Any = None, timeline: Any = None) -> Run:
        """Derive the planning data (optionally from an already loaded catalog / timeline)."""
        with self._timed("prepare"):
            self.data = prepare(self.scenario, catalog=catalog, timeline=timeline)
        return self

    def build(self) -> Run:
        """Build the model and its column index (preparing first if needed)."""
        if self.data is None:
            self.prepare()
        with self._timed("build"):
            self.model, self.index = build(self.data)
            self.model.arrays()  # the finished matrix is part of building
        return self

    def solve(self) -> Run:
        """Solve the model (building first if needed); the result is kept in ``result``."""
        if self.model is None:
            self.build()
        with self._timed("solve"):
            self.result = solve(self.model, self.options)
        return self

    def execute(self) -> Run:
        """Every stage not done yet: prepare, build, solve."""
        return self.solve() if self.result is None else self

    # -- derived runs -------------------------------------------------------------------------
    def solve_model(self, model: LinearModel, options: SolverOptions | None = None
                    ) -> SolveResult:
        """Solve another model over this run's columns (a changed or extended copy of
        ``self.model``); this run is left as it is."""
        return solve(model, options or self.options)

    def with_model(self, model: LinearModel, result: SolveResult | None = None) -> Run:
        """A run with the same scenario, options, data and column index, another model of the
        same columns (possibly extended) and, optionally, its result."""
        return dataclasses.replace(self, model=model, result=result, timings={})

    def with_data(self, data: PlanningData, options: SolverOptions | None = None) -> Run:
        """A new run from changed data (not built yet)."""
        return Run.from_data(data, options or self.options)

    def require_plan(self) -> SolveResult:
        """The result, which must hold a plan (PlanError otherwise)."""
        result = self.execute().result
        assert result is not None
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
