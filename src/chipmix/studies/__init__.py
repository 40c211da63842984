"""Substitution studies: compare scenarios, sweep overrides over a grid, trace the frontier.

::

    import chipmix
    chipmix.compare(["examples/rush-before-ban.yaml", "examples/state-funded-dc.yaml"])
    chipmix.sweep("examples/rush-before-ban.yaml",
                  {"policy.domestic_share": "0:1:0.1", "supply.nvidia-h20": [0, 3000, 6000]})
    chipmix.frontier("examples/rush-before-ban.yaml", steps=11).max_share

Every study loads and validates its base scenario once and plans the variants with the
normal planner (:func:`chipmix.plan`); sweeps and frontiers run them on a local process pool
(``workers``) or a Dask cluster (``dask``), see :mod:`chipmix.pipeline.executor`.
"""

from __future__ import annotations

from chipmix.studies.compare import compare, comparison_frame, comparison_long, with_status
from chipmix.studies.execute import Job, RunInfo, run_batch, run_variants, solve_variant
from chipmix.studies.frontier import Frontier, frontier
from chipmix.studies.sweep import (
    SweepRun,
    expand_range,
    grid,
    parse_vary,
    run_sweep,
    split_list,
    sweep,
)

__all__ = [
    "Frontier",
    "Job",
    "RunInfo",
    "SweepRun",
    "compare",
    "comparison_frame",
    "comparison_long",
    "expand_range",
    "frontier",
    "grid",
    "parse_vary",
    "run_batch",
    "run_sweep",
    "run_variants",
    "solve_variant",
    "split_list",
    "sweep",
    "with_status",
]
