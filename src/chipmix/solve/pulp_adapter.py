"""PuLP adapter: CBC (bundled with PuLP), HiGHS through PuLP, and LP/MPS export.

Rows are built with PuLP's fastest construction: one ``LpAffineExpression`` per row from an
already-aggregated ``{variable: coefficient}`` mapping (duplicates were summed in the matrix),
never ``lpSum`` over tuples.
"""

from __future__ import annotations

import os
import tempfile
import time
import warnings

import numpy as np

from chipmix.errors import SolverError
from chipmix.solve import SolveResult, SolverOptions, Status, stdout_to_stderr


def to_pulp(model, relax: bool = False, readable: bool = False):
    """An ``LpProblem`` equal to the model, and its variables in column order.

    With ``readable`` the variables carry the model's names (``buy_nvidia_h800_2023Q4_``
    after PuLP's character rules; made unique by index where two collide), for LP export.
    """
    import pulp

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
        pulp.LpAffineExpression({variables[j]: float(cost[j]) for j in nz}, constant=model.objective_offset)
    )
    start, index, value = a["csr_start"], a["csr_index"], a["csr_value"]
    rlo, rup = a["row_lower"], a["row_upper"]
    constraints = []
    for i in range(model.num_rows):
        s, e = start[i], start[i + 1]
        expr = pulp.LpAffineExpression({variables[j]: float(v) for j, v in zip(index[s:e], value[s:e], strict=True)})
        lo, up = rlo[i], rup[i]
        name = f"r{i:07d}"
        if np.isfinite(lo) and np.isfinite(up) and lo == up:
            c = pulp.LpConstraint(expr, pulp.LpConstraintEQ, name=name, rhs=float(lo))
        elif np.isfinite(lo) and np.isfinite(up):
            raise SolverError(f"ranged row {model.row_names()[i]} is not supported by the PuLP adapter")
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


def _cbc(pulp, kwargs):
    """CBC: PuLP's bundled binary (PULP_CBC_CMD, deprecated in PuLP 3.3 but still shipped),
    else a CBC on the PATH or from the ``cbcbox`` package (COIN_CMD)."""
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


def _solver(options: SolverOptions, tmpdir: str):
    import pulp

    kwargs = {"msg": False}
    if options.time_limit:
        kwargs["timeLimit"] = float(options.time_limit)
    if options.gap is not None:
        kwargs["gapRel"] = float(options.gap)
    if options.threads:
        kwargs["threads"] = int(options.threads)
    if options.name == "cbc":
        solver = _cbc(pulp, kwargs)
        solver.tmpDir = tmpdir  # per-run folder: parallel runs never share temp files
        return solver
    solver = pulp.HiGHS(**kwargs)
    if not solver.available():
        raise SolverError("HiGHS is not available through PuLP: pip install highspy")
    return solver


def solve_pulp(model, options: SolverOptions) -> SolveResult:
    """Solve through PuLP; the status comes from ``sol_status``, never ``LpStatus`` alone."""
    import pulp

    is_mip = bool(model.arrays()["integer"].any()) and not options.relax
    prob, variables, constraints = to_pulp(model, relax=options.relax)
    with tempfile.TemporaryDirectory(prefix="chipmix-") as tmpdir:
        solver = _solver(options, tmpdir)
        started = time.perf_counter()
        try:
            with stdout_to_stderr():
                prob.solve(solver)
        except pulp.PulpSolverError as exc:
            return SolveResult(Status.ERROR, options.name, seconds=time.perf_counter() - started,
                               message=f"{options.name} failed: {exc}")
        seconds = time.perf_counter() - started
    sol = prob.sol_status
    status_map = {
        pulp.LpSolutionOptimal: Status.OPTIMAL,
        pulp.LpSolutionIntegerFeasible: Status.FEASIBLE,
        pulp.LpSolutionInfeasible: Status.INFEASIBLE,
        pulp.LpSolutionUnbounded: Status.UNBOUNDED,
        pulp.LpSolutionNoSolutionFound: Status.NO_SOLUTION,
    }
    status = status_map.get(sol, Status.ERROR)
    if status == Status.OPTIMAL and prob.status != pulp.LpStatusOptimal:
        status = Status.FEASIBLE
    result = SolveResult(status, options.name, seconds=seconds, message=pulp.LpStatus.get(prob.status, "?"))
    if status.has_plan:
        x = np.array([v.varValue if v.varValue is not None else 0.0 for v in variables], dtype=float)
        result.x = x
        result.objective = float(model.arrays()["cost"] @ x + model.objective_offset)
        result.gap = None if is_mip else 0.0
        if is_mip and status == Status.OPTIMAL:
            result.gap = float(options.gap or 0.0)  # proven within the requested relative gap
        if not is_mip:
            pis = [c.pi if c is not None else 0.0 for c in constraints]
            if all(p is not None for p in pis):
                result.row_duals = np.array(pis, dtype=float)
    return result


def write_lp(model, path) -> None:
    """Write the model in LP format through PuLP (variable names x0000000…, see the MPS for names)."""
    prob, _, _ = to_pulp(model, readable=True)
    tmp = f"{path}.tmp-{os.getpid()}"
    prob.writeLP(tmp)
    os.replace(tmp, path)
