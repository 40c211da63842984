"""Running many variants of one scenario: in-process, on a local process pool, or on Dask.

A :class:`Job` carries the base scenario as plain data (``Scenario.to_dict()``, validated
once in the caller) plus the folder its relative paths resolve against and the solver
settings; a variant is ``(index, {key.path: value})``. :func:`solve_variant` applies the
overrides, validates the result with the normal loader and plans it with ``threads=1``; it
never raises: a bad value becomes a row with status ``error`` and the loader's message, an
infeasible variant a row with status ``infeasible`` and the diagnosis summary.

Only plain data crosses process boundaries (the job's dict, the overrides, the row dicts),
so the same function runs unchanged in a spawned pool worker or on a remote Dask worker —
which must see the same catalog files when the scenario names catalogs by path.
Results come back in variant order whichever executor ran them.
"""

from __future__ import annotations

import math
import os
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from chipmix.errors import ChipmixError, InputError, SolverError
from chipmix.inputs.overrides import apply_overrides
from chipmix.inputs.scenario import Scenario
from chipmix.planner import plan as make_plan
from chipmix.studies.summary import plan_summary, problem_text, sku_table

#: ``progress(done, total)``: called in the caller's thread as variants finish.
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Job:
    """Everything a worker needs besides the variant's overrides (plain, picklable data)."""

    data: dict[str, Any]
    base_dir: str
    name: str
    solver: str | None = None
    time_limit: float | None = None
    gap: float | None = None
    relax: bool = False
    diagnose: bool = True
    workloads: tuple[str, ...] = ()
    label: str = "variant"


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


def default_workers() -> int:
    """Cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - macOS, Windows
        return max(1, os.cpu_count() or 1)


# --------------------------------------------------------------------------------------------
# The worker side


def solve_variant(job: Job, index: int, overrides: Mapping[str, Any]) -> Outcome:
    """Plan one variant with ``threads=1``; every failure becomes a row (never raises)."""
    started = time.perf_counter()
    try:
        row = _solve(job, index, overrides)
    except ChipmixError as exc:
        row = {"status": "error", "message": str(exc)}
    except Exception as exc:  # a bug must not sink the other 199 variants
        last = traceback.format_exception_only(type(exc), exc)[-1].strip()
        row = {"status": "error", "message": f"internal error: {last}"}
    return Outcome(index, row, time.perf_counter() - started)


#: False once this process has seen HiGHS refuse threads=1 (see ``_solve``).
_ONE_THREAD = True


def _solve(job: Job, index: int, overrides: Mapping[str, Any]) -> dict[str, Any]:

    label = f"{job.label} {index}"
    data = apply_overrides(job.data, overrides, schema=Scenario, label=label) if overrides else job.data
    scenario = Scenario.from_dict(data, base_dir=job.base_dir, source_name=label)
    options = dict(solver=job.solver, time_limit=job.time_limit, gap=job.gap, relax=job.relax,
                   diagnose=job.diagnose)
    global _ONE_THREAD
    plan = None
    if _ONE_THREAD:
        try:
            plan = make_plan(scenario, threads=1, **options)
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
        plan = make_plan(scenario, **options)
    row = plan_summary(plan, sku_table(scenario), list(job.workloads))
    gap = plan.solver.get("gap") if plan.ok else None
    row["gap"] = round(float(gap), 9) if gap is not None else math.nan
    row["message"] = problem_text(plan)
    return row


# --------------------------------------------------------------------------------------------
# The caller side


class Runner:
    """Runs batches of variants on one executor, kept alive between batches.

    ``client`` (a ``dask.distributed.Client``) wins over ``workers``; ``workers=1`` solves in
    this process; otherwise a pool of ``workers`` spawned processes (default: every core),
    started at the first batch that needs it. Use as a context manager.
    """

    def __init__(self, workers: int | None = None, client: Any = None,
                 max_tasks: int | None = None) -> None:
        if client is not None:
            self.executor, self.workers = "dask", _dask_workers(client)
        else:
            wanted = default_workers() if workers is None else int(workers)
            if wanted < 1:

                raise InputError(field="--workers", value=wanted, expected="1 or more")
            if max_tasks is not None:
                wanted = min(wanted, max(1, max_tasks))
            self.executor = "in-process" if wanted == 1 else "process-pool"
            self.workers = wanted
        self.client = client
        self._pool: Any = None

    def __enter__(self) -> Runner:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def run(self, job: Job, variants: Sequence[Mapping[str, Any]],
            progress: Progress | None = None) -> tuple[list[Outcome], RunInfo]:
        """Solve every variant; outcomes in variant order."""
        started = time.perf_counter()
        tasks = list(enumerate(variants))
        if self.executor == "dask":
            outcomes = _run_dask(job, tasks, self.client, progress)
        elif self.executor == "in-process" or len(tasks) <= 1:
            outcomes = _run_here(job, tasks, progress)
        else:
            outcomes = self._run_pool(job, tasks, progress)
        outcomes.sort(key=lambda o: o.index)
        info = RunInfo(executor=self.executor, workers=self.workers,
                       seconds=time.perf_counter() - started, variants=len(tasks),
                       per_variant=[o.seconds for o in outcomes])
        return outcomes, info

    def _run_pool(self, job: Job, tasks, progress: Progress | None) -> list[Outcome]:
        from concurrent.futures import as_completed

        pool = self._ensure_pool()
        outcomes: list[Outcome] = []
        _tick(progress, 0, len(tasks))
        futures = {pool.submit(solve_variant, job, index, dict(overrides)): index
                   for index, overrides in tasks}
        for future in as_completed(futures):
            outcomes.append(_result(future, futures[future]))
            _tick(progress, len(outcomes), len(tasks))
        return outcomes

    def _ensure_pool(self) -> Any:
        if self._pool is None:
            # spawn, not fork: a forked child inherits HiGHS's thread pool without its threads
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            self._pool = ProcessPoolExecutor(max_workers=self.workers,
                                             mp_context=multiprocessing.get_context("spawn"))
        return self._pool


def run_variants(
    job: Job,
    variants: Sequence[Mapping[str, Any]],
    *,
    workers: int | None = None,
    client: Any = None,
    progress: Progress | None = None,
) -> tuple[list[Outcome], RunInfo]:
    """Solve every variant of ``job`` once (see :class:`Runner`); outcomes in variant order."""
    with Runner(workers, client, max_tasks=len(variants)) as runner:
        return runner.run(job, variants, progress)


def _tick(progress: Progress | None, done: int, total: int) -> None:
    if progress is not None:
        progress(done, total)


def _run_here(job: Job, tasks, progress: Progress | None) -> list[Outcome]:
    outcomes = []
    _tick(progress, 0, len(tasks))
    for index, overrides in tasks:
        outcomes.append(solve_variant(job, index, overrides))
        _tick(progress, len(outcomes), len(tasks))
    return outcomes


def _result(future: Any, index: int) -> Outcome:
    try:
        return future.result()
    except Exception as exc:  # the worker died (killed, out of memory, solver crash)
        last = traceback.format_exception_only(type(exc), exc)[-1].strip()
        return Outcome(index, {"status": "error", "message": f"worker failed: {last}"})


def _run_dask(job: Job, tasks, client: Any, progress: Progress | None) -> list[Outcome]:
    distributed = import_distributed()
    job_future = client.scatter(job, broadcast=True, hash=False)
    futures = {
        client.submit(solve_variant, job_future, index, dict(overrides), pure=False): index
        for index, overrides in tasks
    }
    outcomes: list[Outcome] = []
    _tick(progress, 0, len(tasks))
    try:
        for future in distributed.as_completed(list(futures)):
            outcomes.append(_result(future, futures[future]))
            _tick(progress, len(outcomes), len(tasks))
    finally:
        for future in futures:
            future.release()
        job_future.release()
    return outcomes


def _dask_workers(client: Any) -> int:
    try:
        info = client.scheduler_info()
        return sum(int(w.get("nthreads", 1)) for w in info.get("workers", {}).values()) or 1
    except Exception:  # pragma: no cover - informational only
        return 0


def import_distributed() -> Any:
    """``dask.distributed``, or a ChipmixError saying how to install it."""
    try:
        import dask.distributed as distributed
    except ImportError:
        raise ChipmixError(
            "the Dask executor needs dask[distributed]: pip install 'chipmix[dask]'"
        ) from None
    return distributed


def connect(address: str) -> Any:
    """A ``dask.distributed.Client`` connected to the scheduler at ``address``."""
    distributed = import_distributed()
    try:
        return distributed.Client(address, timeout="10s")
    except (OSError, TimeoutError) as exc:
        raise ChipmixError(f"cannot reach the Dask scheduler at {address}: {exc}") from None
