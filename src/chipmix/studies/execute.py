"""Running many variants of one scenario on the one executor (:mod:`chipmix.pipeline.executor`).

A :class:`Job` carries the base scenario as plain data (``Scenario.to_dict()``, validated
once in the caller) plus the folder its relative paths resolve against and the solver
settings; a variant is ``(index, {key.path: value})``. :func:`solve_variant` applies the
overrides, validates the result with the normal loader and plans it with ``threads=1``; it
never raises: a bad value becomes a row with status ``error`` and the loader's message, an
infeasible variant a row with status ``infeasible`` and the diagnosis summary.

Only plain data crosses process boundaries (the job's dict, the overrides, the row dicts),
so the same function runs unchanged in a spawned pool worker or on a remote Dask worker. The
job also carries the bytes of every file the base scenario was read from (``files``: its
catalogs and rule sets, served by ``chipmix.io.using_files``) and the caller's caps
(``limits``), so every variant sees exactly the inputs the caller validated — a catalog
edited or deleted mid-sweep changes nothing, and a Dask worker needs no copy of the files.
Results come back in variant order whichever executor ran them.
"""

from __future__ import annotations

import itertools
import math
import time
import traceback
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import chipmix.limits as limits
from chipmix.errors import ChipmixError, SolverError
from chipmix.inputs.overrides import apply_overrides
from chipmix.inputs.scenario import Scenario
from chipmix.io import using_files
from chipmix.numbers import table_number
from chipmix.pipeline.executor import Executor, Progress
from chipmix.pipeline.reuse import worker_reuse
from chipmix.pipeline.run import Run
from chipmix.planner import plan_run
from chipmix.solve.session import contains, shape_key
from chipmix.studies.summary import plan_summary, problem_text, sku_table


@dataclass(frozen=True)
class Job:
    """Everything a worker needs besides the variant's overrides (plain, picklable data)."""

    data: dict[str, Any]
    base_dir: str
    name: str
    solver: str | None = None
    time_limit: float | None = None
    gap: float | None = None
    relax: bool | None = None
    diagnose: bool = True
    workloads: tuple[str, ...] = ()
    label: str = "variant"
    #: one per study: workers reuse inputs and HiGHS models within it (pipeline.reuse)
    token: str | None = None
    #: a variant may take the plan of an earlier variant of its chunk when that is exact
    #: within the gap (:func:`chipmix.solve.session.carried`; False: solve every variant)
    carry: bool = True
    files: dict[str, bytes] = field(default_factory=dict)
    limits: dict[str, int] = field(default_factory=dict)


@dataclass
class Outcome:
    """What one variant produced: its figures (see ``summary.plan_summary``) and timing."""

    index: int
    row: dict[str, Any]
    seconds: float = 0.0


@dataclass
class RunInfo:
    """How a batch ran."""

    executor: str
    workers: int
    seconds: float
    variants: int
    per_variant: list[float] = field(default_factory=list)

    @property
    def throughput(self) -> float:
        """Variants per second of wall time."""
        return self.variants / self.seconds if self.seconds > 0 else math.nan


# --------------------------------------------------------------------------------------------
# The worker side


def solve_variant(job: Job, index: int, overrides: Mapping[str, Any],
                  built: Run | None = None) -> Outcome:
    """Plan one variant with ``threads=1``; every failure becomes a row (never raises).

    ``built``: the variant's run, already built by :func:`variant_run` (not built again).
    """
    started = time.perf_counter()
    try:
        with worker_reuse(job.token), limits.using(job.limits), using_files(job.files):
            row = _solve(job, index, overrides, built)
    except ChipmixError as exc:
        row = {"status": "error", "message": str(exc)}
    except Exception as exc:  # a bug must not sink the other 199 variants
        last = traceback.format_exception_only(type(exc), exc)[-1].strip()
        row = {"status": "error", "message": f"internal error: {last}"}
    return Outcome(index, row, time.perf_counter() - started)


#: False once this process has seen HiGHS refuse threads=1 (see ``_solve``).
_ONE_THREAD = True


def _variant_scenario(job: Job, label: str, overrides: Mapping[str, Any]) -> Scenario:
    data = apply_overrides(job.data, overrides, schema=Scenario, label=label) if overrides else job.data
    return Scenario.from_dict(data, base_dir=job.base_dir, source_name=label)


def variant_run(job: Job, index: int, overrides: Mapping[str, Any],
                threads: int | None = 1) -> Run:
    """The built run of one variant, exactly as :func:`solve_variant` plans it (no solve)."""
    scenario = _variant_scenario(job, f"{job.label} {index}", overrides)
    with limits.using(job.limits), using_files(job.files):
        return Run.for_scenario(scenario, solver=job.solver, time_limit=job.time_limit,
                                gap=job.gap, threads=threads, relax=job.relax).build()


def _solve(job: Job, index: int, overrides: Mapping[str, Any],
           built: Run | None = None) -> dict[str, Any]:
    global _ONE_THREAD
    plan = None
    if _ONE_THREAD:
        try:
            run = built if built is not None else variant_run(job, index, overrides)
            plan = plan_run(run, diagnose=job.diagnose, summary=True)
        except SolverError:
            plan = None
        if plan is None or plan.status.value == "error":
            # HiGHS fixes its thread count at the first solve in a process: a process that
            # has already solved with another count (an in-process run after other plans, a
            # threaded Dask worker) errors on threads=1. Solve with the count it has, from
            # now on in this process.
            _ONE_THREAD = False
            plan = None
    if plan is None:
        run = variant_run(job, index, overrides, threads=None)
        plan = plan_run(run, diagnose=job.diagnose, summary=True)
    row = plan_summary(plan, sku_table(run.scenario), list(job.workloads))
    gap = plan.solver.get("gap") if plan.ok else None
    row["gap"] = table_number(float(gap)) if gap is not None else math.nan
    row["message"] = problem_text(plan)
    return row


# --------------------------------------------------------------------------------------------
# The caller side


#: Most variants per task. A worker solves a chunk in order, one HiGHS session for it, and a
#: variant may take the plan of an earlier one of its chunk (``Job.carry``).
CHUNK = 10
#: Fewest chunks a batch is cut into (a frontier's few probes stay one per task).
MIN_CHUNKS = 8
#: Variants from each end of a chunk whose models may tell which way it runs.
END_PROBES = 2


def chunks_of(count: int, line: int | None = None) -> list[range]:
    """The chunks of a batch of ``count`` variants: a function of ``count`` and ``line`` alone.

    Not of the executor or the number of workers, so what a variant may carry — and so
    every result — is the same however the batch runs. ``line``: the length of a sweep
    grid's fastest axis (consecutive variants that differ in that axis only). A chunk then
    never crosses from one line into the next, and a line is cut into as few near-equal
    chunks of at most :data:`CHUNK` as it takes: a variant can take the plan of any looser
    one of its line's chunk, which is where carried plans come from (a line of the
    default's H20 supply carries up to 5 of its 10 variants; cut in two, 3). A line shorter
    than 3 (too short to tell which way it runs), or a single axis, is not used. Without
    ``line`` the batch is cut into at least :data:`MIN_CHUNKS` chunks of at most ``CHUNK``.
    """
    if line is not None and 3 <= line < count and count % line == 0:
        pieces = -(-line // CHUNK)
        cuts = [round(i * line / pieces) for i in range(pieces + 1)]
        return [range(start + a, start + b) for start in range(0, count, line)
                for a, b in itertools.pairwise(cuts)]
    size = max(1, min(CHUNK, count // MIN_CHUNKS))
    return [range(i, min(i + size, count)) for i in range(0, count, size)]


def run_batch(executor: Executor, job: Job, variants: Sequence[Mapping[str, Any]],
              progress: Progress | None = None, line: int | None = None
              ) -> tuple[list[Outcome], RunInfo]:
    """Solve every variant of ``job`` on ``executor``, a chunk per task; outcomes in order.

    ``line``: see :func:`chunks_of` (a sweep passes its grid's fastest axis).
    """
    started = time.perf_counter()
    tasks = [(index, dict(overrides)) for index, overrides in enumerate(variants)]
    cut = chunks_of(len(tasks), line)
    chunks = [[tasks[i] for i in chunk] for chunk in cut]
    ends = list(itertools.accumulate(len(chunk) for chunk in cut))

    def tick(finished: int, total: int) -> None:  # chunks finished -> variants (about)
        if progress is not None:
            progress(ends[min(finished, len(ends)) - 1] if finished else 0, len(tasks))

    results = executor.map(_solve_chunk, job, chunks, progress=tick, chunksize=1,
                           on_error=_chunk_failed)
    outcomes = [outcome for chunk in results for outcome in chunk]
    info = RunInfo(executor=executor.kind, workers=executor.workers,
                   seconds=time.perf_counter() - started, variants=len(tasks),
                   per_variant=[o.seconds for o in outcomes])
    return outcomes, info


def run_variants(
    job: Job,
    variants: Sequence[Mapping[str, Any]],
    *,
    workers: int | None = None,
    dask: Any = None,
    progress: Progress | None = None,
    line: int | None = None,
) -> tuple[list[Outcome], RunInfo]:
    """Solve every variant of ``job`` once on a fresh :class:`Executor`.

    ``line``: see :func:`chunks_of`.
    """
    with Executor(workers, dask, max_tasks=len(variants)) as executor:
        return run_batch(executor, job, variants, progress, line)


def _solve_chunk(job: Job, chunk: list[tuple[int, dict[str, Any]]]) -> list[Outcome]:
    """The variants of one chunk in one HiGHS session, carrying plans if asked.

    With ``job.carry`` the chunk is solved loosest first when its first and last variants
    show the direction (:func:`_loosest_first`): a tighter variant may then take the plan
    of a looser one solved before it. Outcomes come back in chunk order either way.
    """
    if not job.carry:
        return [solve_variant(job, index, overrides) for index, overrides in chunk]
    with worker_reuse(job.token) as session:
        session.forget_incumbents()
        session.carry = True
        try:
            ordered, built = _loosest_first(job, chunk)
            outcomes = [solve_variant(job, index, overrides, built.pop(index, None))
                        for index, overrides in ordered]
        finally:
            session.carry = False
            session.forget_incumbents()
    return sorted(outcomes, key=lambda outcome: outcome.index)


def _loosest_first(job: Job, chunk: list[tuple[int, dict[str, Any]]]
                   ) -> tuple[list[tuple[int, dict[str, Any]]], dict[int, Run]]:
    """``chunk`` reversed when its last variants' models contain its first ones'.

    A sweep's fast axis runs one way (supply up: looser; a share up: tighter); the models of
    the chunk's ends say which (:func:`chipmix.solve.session.contains`), so the solve order
    — and what may be carried — depends on the chunk alone. An end whose model has another
    shape (a supply of 0 builds no purchase columns for it) cannot say: the variant next to
    it is asked instead (up to :data:`END_PROBES` from each end). Also returns the built runs
    by variant index, for their plans (each built once).
    """
    if len(chunk) < 3:
        return chunk, {}
    built: dict[int, Run] = {}

    def model(position: int) -> Any:
        index, overrides = chunk[position]
        if index not in built:
            built[index] = variant_run(job, index, overrides)
        return built[index].model

    probes = min(END_PROBES, len(chunk) // 2)
    try:
        pairs = sorted(itertools.product(range(probes), range(probes)),
                       key=lambda pair: (sum(pair), -pair[0]))  # nearest the ends first
        for low, high in pairs:
            a, b = model(low), model(len(chunk) - 1 - high)
            if shape_key(a) == shape_key(b):
                reverse = contains(a, b.arrays(), b.objective_offset)
                return (chunk[::-1] if reverse else chunk), built
    except Exception:  # noqa: BLE001 - only an ordering: each variant reports its own error
        pass
    return chunk, built


def _chunk_failed(chunk: list[tuple[int, dict[str, Any]]], exc: BaseException
                  ) -> list[Outcome]:
    last = traceback.format_exception_only(type(exc), exc)[-1].strip()
    return [Outcome(index, {"status": "error", "message": f"worker failed: {last}"})
            for index, _ in chunk]
