"""Direct HiGHS adapter: the model's arrays go to highspy in one ``passModel`` call."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from chipmix.errors import SolverError
from chipmix.inputs.solver import SolverOptions, Status
from chipmix.model.matrix import LinearModel
from chipmix.solve.result import SolveResult
from chipmix.solve.stdout import quiet_stdout, stdout_to_stderr

#: HiGHS ``primal_solution_status`` value meaning "a feasible point is held".
_FEASIBLE_POINT = 2


def load_highspy() -> Any:
    """The ``highspy`` module, or a SolverError saying how to install it."""
    try:
        import highspy  # lazy: HiGHS loads a native library
    except ImportError as exc:
        raise SolverError("HiGHS is not installed (import highspy failed: "
                          f"{exc}); pip install highspy, or use --solver cbc") from None
    return highspy


def to_highs_lp(model: LinearModel, highspy: Any, names: bool = False) -> Any:
    """A ``highspy.HighsLp`` holding the model's arrays (column-wise matrix)."""
    a = model.arrays()
    lp = highspy.HighsLp()
    lp.num_col_ = model.num_cols
    lp.num_row_ = model.num_rows
    lp.col_cost_ = a["cost"]
    lp.col_lower_ = a["col_lower"]
    lp.col_upper_ = a["col_upper"]
    lp.row_lower_ = a["row_lower"]
    lp.row_upper_ = a["row_upper"]
    lp.offset_ = model.objective_offset
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.num_col_ = model.num_cols
    lp.a_matrix_.num_row_ = model.num_rows
    lp.a_matrix_.start_ = a["csc_start"].astype(np.int32)
    lp.a_matrix_.index_ = a["csc_index"].astype(np.int32)
    lp.a_matrix_.value_ = a["csc_value"]
    if a["integer"].any():
        kint, kcont = highspy.HighsVarType.kInteger, highspy.HighsVarType.kContinuous
        lp.integrality_ = [kint if i else kcont for i in a["integer"]]
    if names:
        lp.col_names_ = [n.replace(" ", "_") for n in model.col_names()]
        lp.row_names_ = [n.replace(" ", "_") for n in model.row_names()]
    return lp


#: The thread count HiGHS's process-wide scheduler was started with (None: its default).
_scheduler: dict[str, object] = {"started": False, "threads": None}


def prepare_scheduler(highspy: Any, threads: int | None) -> None:
    """Make a run with ``threads`` possible in this process.

    HiGHS starts one scheduler per process with the first run's thread count; a later run
    asking for another count fails ("Not Set") unless the scheduler is reset. Reset it when
    the count changes (never while another thread of this process is solving with HiGHS:
    the scheduler is shared). A run with the default count works with any scheduler.
    """
    if threads is not None and _scheduler["started"] and _scheduler["threads"] != threads:
        highspy.Highs.resetGlobalScheduler(True)
    if threads is not None or not _scheduler["started"]:
        _scheduler.update(started=True, threads=threads)


def settings_for(options: SolverOptions, *, mip: bool = False) -> dict[str, object]:
    """Every HiGHS option chipmix sets, for ``options`` (``mip``: the model has integers).

    A reused instance gets all of them again, so no setting of an earlier solve carries over.
    A MILP's LPs are solved serially (``parallel=off``): with HiGHS's default (``choose``)
    their vertices, and so the plan within the gap, depend on the thread count (measured on
    the default scenario: threads 1 and 2 stopped at different plans); serial, every thread
    count gives the same plan.

    A MILP runs without HiGHS's RINS and RENS sub-MIP heuristics: measured on every bundled
    example and three generated national-scale MILPs (benchmarks/README.md, "MILP options"),
    they never made a solve faster and took a third of the default's CPU (1.60 → 1.00 s;
    its other heuristics and cuts still find the plans, and the gap is proven as before).
    """
    settings: dict[str, object] = {"output_flag": False, "log_to_console": False,
                                   "random_seed": 0, "parallel": "off" if mip else "choose"}
    if mip:
        settings.update(mip_heuristic_run_rins=False, mip_heuristic_run_rens=False)
    settings["time_limit"] = float(options.time_limit) if options.time_limit else float("inf")
    settings["mip_rel_gap"] = float(options.gap) if options.gap is not None else 1e-4
    if options.threads:
        settings["threads"] = int(options.threads)
    return settings


def set_options(h: Any, highspy: Any, options: SolverOptions, *, mip: bool = False) -> None:
    """Set :func:`settings_for` on ``h``; a value HiGHS refuses is an error, not ignored."""
    prepare_scheduler(highspy, int(options.threads) if options.threads else None)
    with stdout_to_stderr():
        for option, value in settings_for(options, mip=mip).items():
            if h.setOptionValue(option, value) == highspy.HighsStatus.kError:
                raise SolverError(f"HiGHS refused the option {option}={value!r}")


def make_highs(model: LinearModel, options: SolverOptions, names: bool = False
               ) -> tuple[Any, Any]:
    """A configured, silent ``highspy.Highs`` with the model passed in."""
    highspy = load_highspy()
    if options.relax:
        model = model.relaxed()
    with quiet_stdout():  # the once-per-process banner: HiGHS prints it before output_flag
        h = highspy.Highs()
    set_options(h, highspy, options, mip=bool(model.arrays()["integer"].any()))
    with stdout_to_stderr():
        status = h.passModel(to_highs_lp(model, highspy, names=names))
    if status == highspy.HighsStatus.kError:
        raise SolverError("HiGHS rejected the model (passModel failed)")
    return h, highspy


def read_status(h: Any, highspy: Any, run_status: Any = None) -> tuple[Status, str]:
    """Our :class:`Status` and a message from a HiGHS object after ``run()``.

    A plan is reported only when HiGHS holds a primal-feasible point; a time limit (or any
    other stop) with one is ``feasible``, without one ``no_solution`` — never ``optimal``.
    """
    ms = h.getModelStatus()
    info = h.getInfo()
    text = h.modelStatusToString(ms)
    has_point = info.primal_solution_status == _FEASIBLE_POINT
    MS = highspy.HighsModelStatus
    if run_status == highspy.HighsStatus.kError and not has_point:
        return Status.ERROR, f"HiGHS failed: {text}"
    if ms == MS.kOptimal:
        return Status.OPTIMAL, text
    if ms == MS.kInfeasible:
        return Status.INFEASIBLE, text
    if ms == MS.kUnbounded:
        return Status.UNBOUNDED, text
    if ms == MS.kUnboundedOrInfeasible:
        return Status.NO_SOLUTION, "infeasible or unbounded (HiGHS could not tell which)"
    if has_point:
        return Status.FEASIBLE, f"{text}: a feasible plan, not proven optimal"
    return Status.NO_SOLUTION, f"{text}: no feasible plan found"


def solve_highs(model: LinearModel, options: SolverOptions,
                start: np.ndarray | None = None) -> SolveResult:
    """Solve with highspy; read the status from HiGHS's model status and solution status.

    ``start``: a solution vector given to a MIP as its first incumbent (``setSolution``).
    """
    h, highspy = make_highs(model, options)
    if start is not None and bool(model.arrays()["integer"].any()) and not options.relax:
        solution = highspy.HighsSolution()
        solution.col_value = np.asarray(start, dtype=float).tolist()
        solution.value_valid = True
        with stdout_to_stderr():
            h.setSolution(solution)
    return run_highs(h, highspy, model, options)


def run_highs(h: Any, highspy: Any, model: LinearModel, options: SolverOptions) -> SolveResult:
    """Run ``h`` (holding ``model``) and read its outcome into a :class:`SolveResult`.

    ``extra["probed"]`` is set when HiGHS could only say "infeasible or unbounded" and the
    probe changed ``h``'s options and costs to tell which (``h`` must not be reused then).
    """
    is_mip = bool(model.arrays()["integer"].any()) and not options.relax
    started = time.perf_counter()
    probed = False
    try:
        with stdout_to_stderr():
            run_status = h.run()
            status, text = read_status(h, highspy, run_status)
            if h.getModelStatus() == highspy.HighsModelStatus.kUnboundedOrInfeasible:
                probed = True
                status, text = _tell_infeasible_from_unbounded(h, highspy, model, options)
    except Exception as exc:  # noqa: BLE001 - a crash inside the solver library
        return SolveResult(Status.ERROR, "highs", seconds=time.perf_counter() - started,
                           message=f"HiGHS crashed: {type(exc).__name__}: {exc}",
                           extra={"probed": True})
    seconds = time.perf_counter() - started
    result = SolveResult(status, "highs", seconds=seconds, message=text)
    if probed:
        result.extra["probed"] = True
    if status.has_plan:
        info = h.getInfo()
        sol = h.getSolution()
        result.x = np.asarray(sol.col_value, dtype=float)
        result.objective = float(info.objective_function_value)
        if is_mip:
            result.bound = float(info.mip_dual_bound)
            result.gap = float(info.mip_gap) if np.isfinite(info.mip_gap) else None
        else:
            result.gap = 0.0 if status == Status.OPTIMAL else None
            if sol.dual_valid and status == Status.OPTIMAL:
                result.row_duals = np.asarray(sol.row_dual, dtype=float)
                result.col_duals = np.asarray(sol.col_dual, dtype=float)
    return result


def _tell_infeasible_from_unbounded(h: Any, highspy: Any, model: LinearModel,
                                    options: SolverOptions) -> tuple[Status, str]:
    """HiGHS's presolve may say only "infeasible or unbounded": find out which.

    First the same model without presolve; if still undecided, the feasibility problem
    (zero objective, so it cannot be unbounded): feasible means the model is unbounded.
    """
    h.setOptionValue("presolve", "off")
    status, text = read_status(h, highspy, h.run())
    if h.getModelStatus() != highspy.HighsModelStatus.kUnboundedOrInfeasible:
        return status, text
    h.changeColsCost(model.num_cols, np.arange(model.num_cols, dtype=np.int32),
                     np.zeros(model.num_cols))
    h.run()
    feasibility, _ = read_status(h, highspy)
    if feasibility == Status.INFEASIBLE:
        return Status.INFEASIBLE, "Infeasible"
    if feasibility.has_plan:
        return Status.UNBOUNDED, "Unbounded (feasible, and the cost has no lower bound)"
    return Status.NO_SOLUTION, "infeasible or unbounded (HiGHS could not tell which)"


def write_model(model: LinearModel, path: str | Path,
                options: SolverOptions | None = None) -> None:
    """Write the model as MPS (or LP, by extension) through HiGHS, names included."""
    h, _ = make_highs(model, options or SolverOptions(), names=True)
    with stdout_to_stderr():
        h.writeModel(str(path))
