"""``plan(scenario)``: one :class:`~chipmix.pipeline.run.Run`, extracted into a :class:`Plan`.

Phases are timed (load, prepare, build, solve, extract, and diagnose or sensitivity when
they run); ``chipmix plan --timings`` shows them.
"""

from __future__ import annotations

import time
from pathlib import Path

from chipmix.errors import require
from chipmix.inputs.scenario import Scenario
from chipmix.pipeline.run import Run
from chipmix.planner.extract import extract
from chipmix.planner.result import Plan


def plan(
    scenario: Scenario | str | Path,
    solver: str | None = None,
    relax: bool | None = None,
    time_limit: float | None = None,
    gap: float | None = None,
    threads: int | None = None,
    diagnose: bool = True,
    write_lp: str | Path | None = None,
    write_mps: str | Path | None = None,
    sensitivity: bool = False,
    presolve: bool | None = None,
    steps: bool = True,
    workers: int = 1,
) -> Plan:
    """Plan purchases for ``scenario``: the cost-minimal mix within the rules and policies.

    Parameters
    ----------
    scenario
        A :class:`~chipmix.inputs.scenario.Scenario` or the path to its YAML.
    solver, relax, time_limit, gap, threads
        Override the scenario's ``solver:`` block (None: the scenario's value): ``"highs"``
        or ``"cbc"``; the LP relaxation (fractional servers); seconds; relative MIP gap (a
        fraction: 0.001 = 0.1 %); solver threads.
    diagnose
        Without a plan, say why (what is short, by how much, which constraint binds) in
        ``Plan.diagnosis``. Default True.
    write_lp, write_mps
        Also write the model as LP / MPS files before solving.
    sensitivity
        Also compute shadow prices with the ranges over which they hold, and break-even
        prices (:mod:`chipmix.planner.sensitivity`), on LPs derived from the plan, into
        ``Plan.sensitivity``.
    steps
        With ``sensitivity``, also re-plan a whole step of every input (one metric unit, one
        share point, one server...; integers re-decided). Default True.
    workers
        Processes for those re-plans (1: in this process).
    presolve
        Merge interchangeable workloads and identical SKUs first (default: the scenario's
        ``solver.presolve``, on; :mod:`chipmix.model.presolve`: exact, the plan is a plan of
        the full model; ``Plan.solver["presolve"]`` says what merged).

    Returns
    -------
    Plan
        ``status`` (``optimal``, ``feasible`` within the gap, ``infeasible``...), the cost
        (nominal and discounted, USD), typed tables (``purchases``, ``fleet``,
        ``allocation``, ``delivered`` with what binds each shortfall, ``shares``, ``usage``
        of power and budget against the caps, ``availability``), ``to_json()`` (the plan JSON
        of ``docs/outputs.md``). An infeasible scenario is not an error: the Plan has empty
        tables and its ``diagnosis``.

    Raises
    ------
    InputError
        A bad scenario file or an unusable solver option (an unknown ``solver``, a time
        limit, gap or thread count out of range).
    OutputError
        ``write_lp`` / ``write_mps`` name a target the output policy refuses
        (:mod:`chipmix.io`).
    ArgumentError
        ``scenario`` is neither a Scenario nor a path, or ``solver`` is not a name.
    SolverError
        The solver is missing or crashed.
    """
    require("chipmix.plan", "solver", solver, str, "a solver name (highs, cbc, highs-pulp)",
            optional=True)
    started = time.perf_counter()
    run = Run.for_scenario(scenario, solver=solver, time_limit=time_limit, gap=gap,
                           threads=threads, relax=relax, presolve=presolve)
    load = time.perf_counter() - started
    run.build()
    if write_lp or write_mps:
        from chipmix.solve.files import write_model_files  # lazy: most plans write no files
        model = run.model.relaxed() if run.options.relax else run.model
        write_model_files(model, lp=write_lp, mps=write_mps)
    return plan_run(run, diagnose=diagnose, sensitivity=sensitivity, steps=steps,
                    workers=workers, timings={"load": load})


def plan_run(run: Run, *, diagnose: bool = True, sensitivity: bool = False, steps: bool = True,
             workers: int = 1, timings: dict[str, float] | None = None,
             summary: bool = False) -> Plan:
    """The :class:`Plan` of ``run``: solved (and built first) if not yet, then extracted.

    What :func:`plan` does after loading; a study plans its variants' runs with it
    (:mod:`chipmix.studies.execute`: a run built to order a chunk is not built again).
    ``timings``: stages timed before (``load``), kept in ``Plan.timings``; ``summary``: only
    the tables a study's row reads (:func:`chipmix.planner.extract.extract`).
    """
    timings = dict(timings or {})
    run.solve()
    timings.update(run.timings)
    t = time.perf_counter()
    out = extract(run, summary=summary)
    info = run.presolved.info() if run.presolved is not None else None
    if info is not None:
        out.solver["presolve"] = info
    timings["extract"] = time.perf_counter() - t
    if diagnose and not out.ok:
        from chipmix.planner.diagnose import diagnose as diagnose_run  # lazy: only without a plan
        t = time.perf_counter()
        out.diagnosis = diagnose_run(run)
        timings["diagnose"] = time.perf_counter() - t
    if sensitivity and out.ok:
        from chipmix.planner.sensitivity import compute_sensitivity  # lazy: only when asked
        t = time.perf_counter()
        out.sensitivity = compute_sensitivity(run, steps=steps, workers=workers)
        timings["sensitivity"] = time.perf_counter() - t
    out.timings = timings
    return out


__all__ = ["plan", "plan_run"]
