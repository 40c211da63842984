"""Direct HiGHS adapter: the model's arrays go to highspy in one ``passModel`` call."""

from __future__ import annotations

import time

import numpy as np

from chipmix.errors import SolverError
from chipmix.solve import SolveResult, SolverOptions, Status, stdout_to_stderr


def _load_highspy():
    try:
        import highspy
    except ImportError as exc:  # pragma: no cover - highspy is a dependency
        raise SolverError("HiGHS is not installed: pip install highspy") from exc
    return highspy


def to_highs_lp(model, highspy, names: bool = False):
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


def make_highs(model, options: SolverOptions, names: bool = False):
    """A configured, silent ``highspy.Highs`` with the model passed in."""
    highspy = _load_highspy()
    if options.relax:
        model = model.relaxed()
    with stdout_to_stderr():
        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        h.setOptionValue("log_to_console", False)
        if options.time_limit:
            h.setOptionValue("time_limit", float(options.time_limit))
        if options.gap is not None:
            h.setOptionValue("mip_rel_gap", float(options.gap))
        if options.threads:
            h.setOptionValue("threads", int(options.threads))
        h.setOptionValue("random_seed", 0)
        status = h.passModel(to_highs_lp(model, highspy, names=names))
    if status == highspy.HighsStatus.kError:
        raise SolverError("HiGHS rejected the model (passModel failed)")
    return h, highspy


def solve_highs(model, options: SolverOptions) -> SolveResult:
    """Solve with highspy; read the status from HiGHS's model status and solution status."""
    h, highspy = make_highs(model, options)
    started = time.perf_counter()
    with stdout_to_stderr():
        run_status = h.run()
    seconds = time.perf_counter() - started
    ms = h.getModelStatus()
    info = h.getInfo()
    text = h.modelStatusToString(ms)
    has_point = info.primal_solution_status == 2  # kSolutionStatusFeasible
    is_mip = bool(model.arrays()["integer"].any()) and not options.relax
    MS = highspy.HighsModelStatus
    if run_status == highspy.HighsStatus.kError and not has_point:
        return SolveResult(Status.ERROR, "highs", seconds=seconds, message=f"HiGHS failed: {text}")
    if ms == MS.kOptimal:
        status = Status.OPTIMAL
    elif ms == MS.kInfeasible:
        status = Status.INFEASIBLE
    elif ms in (MS.kUnbounded, MS.kUnboundedOrInfeasible):
        status = Status.UNBOUNDED if ms == MS.kUnbounded else Status.INFEASIBLE
        if ms == MS.kUnboundedOrInfeasible:
            text = "infeasible or unbounded (HiGHS could not tell which)"
    elif has_point:
        status = Status.FEASIBLE
    else:
        status = Status.NO_SOLUTION
    result = SolveResult(status, "highs", seconds=seconds, message=text)
    if status.has_plan:
        sol = h.getSolution()
        result.x = np.asarray(sol.col_value, dtype=float)
        result.objective = float(info.objective_function_value)
        if is_mip:
            result.bound = float(info.mip_dual_bound)
            result.gap = float(info.mip_gap) if np.isfinite(info.mip_gap) else None
        else:
            result.gap = 0.0
            if sol.dual_valid:
                result.row_duals = np.asarray(sol.row_dual, dtype=float)
                result.col_duals = np.asarray(sol.col_dual, dtype=float)
    return result


def write_model(model, path, options: SolverOptions | None = None) -> None:
    """Write the model as MPS (or LP, by extension) through HiGHS, names included."""
    h, _ = make_highs(model, options or SolverOptions(), names=True)
    with stdout_to_stderr():
        h.writeModel(str(path))
