"""Planner insight: what a plan's cost depends on, what could replace what, what could go wrong.

- :mod:`chipmix.planner.sensitivity` — shadow prices and break-even prices of a plan
  (``plan(..., sensitivity=True)`` / ``chipmix plan --explain``);
- :mod:`chipmix.insight.substitute` — substitution table for a blocked or scarce SKU;
- :mod:`chipmix.insight.alternatives` — near-optimal plans for another objective;
- :mod:`chipmix.insight.stress` — a fixed plan replayed against random supply shocks;
- :mod:`chipmix.pipeline.executor` — process-pool / Dask map used by ``stress``.

Figures are explained in a planner's words in ``docs/insight.md``.
"""
