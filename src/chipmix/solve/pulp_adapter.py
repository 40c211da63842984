"""PuLP adapter: CBC (bundled with PuLP), HiGHS through PuLP, and LP/MPS export.

Rows are built with PuLP's fastest construction: one ``LpAffineExpression`` per row from an
already-aggregated ``{variable: coefficient}`` mapping (duplicates were summed in the matrix),
never ``lpSum`` over tuples.
"""

from __future__ import annotations

import math
import os
import re
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from chipmix.errors import SolverError
from chipmix.inputs.solver import SolverOptions, Status
from chipmix.model.matrix import LinearModel
from chipmix.solve.highs import load_highspy, prepare_scheduler, read_status, solve_highs
from chipmix.solve.result import SolveResult
from chipmix.solve.stdout import stdout_to_stderr


def _load_pulp() -> Any:
    try:
        import pulp  # lazy: PuLP only for cbc, highs-pulp and LP export
    except ImportError as exc:
        raise SolverError(f"PuLP is not installed (import pulp failed: {exc}); pip install "
                          "pulp, or use --solver highs") from None
    return pulp


def to_pulp(model: LinearModel, relax: bool = False, readable: bool = False
            ) -> tuple[Any, list[Any], list[Any]]:
    """An ``LpProblem`` equal to the model, and its variables in column order.

    With ``readable`` the variables carry the model's names (``buy_nvidia_h800_2023Q4_``
    after PuLP's character rules; made unique by index where two collide), for LP export.
    """
    pulp = _load_pulp()

    a = model.arrays()
    names = _unique_names(model.col_names()) if readable else None
    prob = pulp.LpProblem("chipmix", pulp.LpMinimize)
    lower, upper, integer = a["col_lower"], a["col_upper"], a["integer"]
    # PuLP >= 3.3 attaches variables to the problem; older releases construct them directly
    make = prob.add_variable if hasattr(prob, "add_variable") else pulp.LpVariable
    variables = [
        make(
            names[j] if names else f"x{j:07d}",
            lowBound=None if np.isneginf(lower[j]) else float(lower[j]),
            upBound=None if np.isposinf(upper[j]) else float(upper[j]),
            cat=pulp.LpInteger if (integer[j] and not relax) else pulp.LpContinuous,
        )
        for j in range(model.num_cols)
    ]
    cost = a["cost"]
    nz = np.flatnonzero(cost)
    prob.setObjective(
        pulp.LpAffineExpression({variables[j]: float(cost[j]) for j in nz},
                                constant=model.objective_offset)
    )
    start, index, value = a["csr_start"], a["csr_index"], a["csr_value"]
    rlo, rup = a["row_lower"], a["row_upper"]
    constraints = []
    for i in range(model.num_rows):
        s, e = start[i], start[i + 1]
        expr = pulp.LpAffineExpression(
            {variables[j]: float(v) for j, v in zip(index[s:e], value[s:e], strict=True)})
        lo, up = rlo[i], rup[i]
        name = f"r{i:07d}"
        if np.isfinite(lo) and np.isfinite(up) and lo == up:
            c = pulp.LpConstraint(expr, pulp.LpConstraintEQ, name=name, rhs=float(lo))
        elif np.isfinite(lo) and np.isfinite(up):
            raise SolverError(
                f"ranged row {model.row_names()[i]} is not supported by the PuLP adapter")
        elif np.isfinite(lo):
            c = pulp.LpConstraint(expr, pulp.LpConstraintGE, name=name, rhs=float(lo))
        elif np.isfinite(up):
            c = pulp.LpConstraint(expr, pulp.LpConstraintLE, name=name, rhs=float(up))
        else:
            c = None
        if c is not None:
            prob.addConstraint(c)
        constraints.append(c)
    return prob, variables, constraints


def _unique_names(labels: list[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for j, label in enumerate(labels):
        name = "".join(c if c.isalnum() or c in "_." else "_" for c in label)
        if name in seen:
            name = f"{name}_{j}"
        seen.add(name)
        out.append(name)
    return out


def _cbc(pulp: Any, kwargs: dict[str, Any]) -> Any:
    """CBC.

    PuLP's bundled binary (PULP_CBC_CMD, deprecated in PuLP 3.3 but still shipped), else a
    CBC on the PATH or from the ``cbcbox`` package (COIN_CMD).
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        bundled = getattr(pulp, "PULP_CBC_CMD", None)
        solver = bundled(**kwargs) if bundled is not None else None
    if solver is not None and solver.available():
        return solver
    solver = pulp.COIN_CMD(**kwargs)
    if solver.available():
        return solver
    raise SolverError("CBC is not available: PuLP's bundled cbc binary is missing; "
                      "pip install 'pulp[cbc]' or use --solver highs")


def _solver(options: SolverOptions, tmpdir: str) -> Any:
    pulp = _load_pulp()

    kwargs: dict[str, Any] = {"msg": False}
    if options.time_limit:
        kwargs["timeLimit"] = float(options.time_limit)
    if options.gap is not None:
        kwargs["gapRel"] = float(options.gap)
    if options.threads:
        kwargs["threads"] = int(options.threads)
    if options.name == "cbc":
        # the log (per-run folder) is where CBC states its bound at a time limit
        # CBC's integer preprocessing can return a worse point as "optimal" (a power-capped
        # plan: 159,900 against HiGHS's proven 159,584.6, tests/test_solver_agreement.py), so
        # it is off; on the bundled default this costs nothing measurable (benchmarks/README)
        solver = _cbc(pulp, {**kwargs, "logPath": os.path.join(tmpdir, "cbc.log"),
                             "options": ["preprocess off"]})
        solver.tmpDir = tmpdir  # per-run folder: parallel runs never share temp files
        return solver
    solver = pulp.HiGHS(**kwargs)
    if not solver.available():
        raise SolverError("HiGHS is not available through PuLP: pip install highspy")
    prepare_scheduler(load_highspy(), kwargs.get("threads"))
    return solver


#: ``prob.sol_status`` → our status. PuLP's ``prob.status`` says "Optimal" for a CBC point
#: found at a time limit; ``sol_status`` tells integer-feasible from proven optimal.
_SOL_STATUS = {
    1: Status.OPTIMAL,  # LpSolutionOptimal
    2: Status.FEASIBLE,  # LpSolutionIntegerFeasible
    -2: Status.UNBOUNDED,  # LpSolutionUnbounded
    -1: Status.INFEASIBLE,  # LpSolutionInfeasible
    0: Status.NO_SOLUTION,  # LpSolutionNoSolutionFound
}
_MESSAGES = {
    Status.OPTIMAL: "Optimal",
    Status.FEASIBLE: "a feasible plan, not proven optimal (stopped at the time limit)",
    Status.INFEASIBLE: "Infeasible",
    Status.UNBOUNDED: "Unbounded",
    Status.NO_SOLUTION: "no feasible plan found (stopped at the time limit)",
}


def solve_pulp(model: LinearModel, options: SolverOptions) -> SolveResult:
    """Solve through PuLP; the status comes from ``sol_status``, never ``LpStatus`` alone."""
    pulp = _load_pulp()

    is_mip = bool(model.arrays()["integer"].any()) and not options.relax
    prob, variables, constraints = to_pulp(model, relax=options.relax)
    log = ""
    with tempfile.TemporaryDirectory(prefix="chipmix-") as tmpdir:
        solver = _solver(options, tmpdir)
        started = time.perf_counter()
        try:
            with stdout_to_stderr():
                prob.solve(solver)
        except Exception as exc:  # noqa: BLE001 - PulpSolverError, a crashed or killed binary
            return SolveResult(Status.ERROR, options.name, seconds=time.perf_counter() - started,
                               message=f"{options.name} failed: {type(exc).__name__}: {exc}")
        seconds = time.perf_counter() - started
        log_path = os.path.join(tmpdir, "cbc.log")
        if os.path.exists(log_path):
            with open(log_path, encoding="utf-8", errors="replace") as handle:
                log = handle.read()
    if options.name == "highs-pulp":
        return _from_pulp_highs(prob, variables, model, options, is_mip, seconds)
    status = _SOL_STATUS.get(prob.sol_status, Status.ERROR)
    if status == Status.OPTIMAL and prob.status != pulp.LpStatusOptimal:
        status = Status.FEASIBLE
    message = _MESSAGES.get(status, f"{options.name}: {pulp.LpStatus.get(prob.status, '?')}")
    result = SolveResult(status, options.name, seconds=seconds, message=message)
    if status.has_plan:
        x = np.array([v.varValue if v.varValue is not None else np.nan for v in variables],
                     dtype=float)
        if np.isnan(x).any():  # CBC said "solution" but wrote none
            result.status, result.message = Status.ERROR, f"{options.name} returned no values"
            return result
        result.x = x
        result.objective = float(model.arrays()["cost"] @ x + model.objective_offset)
        if is_mip:
            result.bound, result.gap = _cbc_bound(log, result.objective)
            if result.gap is None and status == Status.OPTIMAL:
                result.gap = float(options.gap or 0.0)  # proven within the requested gap
        else:
            result.gap = 0.0 if status == Status.OPTIMAL else None
            pis = [c.pi if c is not None else 0.0 for c in constraints]
            if status == Status.OPTIMAL and all(p is not None for p in pis):
                result.row_duals = np.array(pis, dtype=float)
    return result


_CBC_OBJECTIVE = re.compile(r"^Objective value:\s*(\S+)", re.MULTILINE)
_CBC_BOUND = re.compile(r"^Lower bound:\s*(\S+)", re.MULTILINE)


def _cbc_bound(log: str, objective: float) -> tuple[float | None, float | None]:
    """CBC's lower bound and relative gap from its log; ``(None, None)`` when it does not say.

    The gap is ``|objective - bound| / |objective|`` (HiGHS's definition).
    """
    found_obj, found_bound = _CBC_OBJECTIVE.findall(log), _CBC_BOUND.findall(log)
    if not found_obj or not found_bound:
        return None, None
    try:
        cbc_objective, cbc_bound = float(found_obj[-1]), float(found_bound[-1])
    except ValueError:
        return None, None
    if not (math.isfinite(cbc_objective) and math.isfinite(cbc_bound)):
        return None, None
    bound = cbc_bound + (objective - cbc_objective)  # CBC's objective may omit the constant
    gap = max(0.0, objective - bound) / max(abs(objective), 1e-10)
    return bound, gap


def _from_pulp_highs(prob: Any, variables: list[Any], model: LinearModel,
                     options: SolverOptions, is_mip: bool,
                     seconds: float) -> SolveResult:
    """HiGHS through PuLP: read the status from the highspy object PuLP kept.

    PuLP maps HiGHS's "infeasible or unbounded" to infeasible and an interrupted LP iterate to
    "integer feasible"; :func:`chipmix.solve.highs.read_status` does neither.
    """
    highspy = load_highspy()
    h = prob.solverModel
    status, text = read_status(h, highspy)
    if h.getModelStatus() == highspy.HighsModelStatus.kUnboundedOrInfeasible:
        direct = solve_highs(model, options)
        if direct.status in (Status.INFEASIBLE, Status.UNBOUNDED):
            status, text = direct.status, direct.message
    result = SolveResult(status, options.name, seconds=seconds, message=text)
    if status.has_plan:
        info = h.getInfo()
        result.x = np.array([v.varValue for v in variables], dtype=float)
        result.objective = float(model.arrays()["cost"] @ result.x + model.objective_offset)
        if is_mip:
            result.bound = float(info.mip_dual_bound)
            result.gap = float(info.mip_gap) if math.isfinite(info.mip_gap) else None
        else:
            result.gap = 0.0 if status == Status.OPTIMAL else None
    return result


def write_lp(model: LinearModel, path: str | Path) -> None:
    """Write the model in LP format through PuLP (readable variable names)."""
    prob, _, _ = to_pulp(model, readable=True)
    tmp = f"{path}.tmp-{os.getpid()}"
    try:
        prob.writeLP(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
