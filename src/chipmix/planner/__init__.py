"""Layer 6, results: ``plan(scenario)`` → :class:`Plan`.

- :mod:`.planning` — ``plan()``: one :class:`~chipmix.pipeline.run.Run`, extracted, and
  diagnosed or priced when asked (``plan_run()``: the same for a run already built);
- :mod:`.result` — :class:`Plan` and its JSON of formats.md;
- :mod:`.extract` — ``extract()``: a solved run into a Plan, every report table computed
  from the solution vector;
- :mod:`.diagnose` — why a run has no plan (capacity check, elastic re-solve);
- :mod:`.sensitivity` — shadow prices and break-even prices of a solved plan, on the LPs of
  :mod:`.lp`.
"""

from chipmix.planner.extract import extract
from chipmix.planner.planning import plan, plan_run
from chipmix.planner.result import COST_KEYS, Plan

__all__ = ["COST_KEYS", "Plan", "extract", "plan", "plan_run"]
