"""The relaxed-recourse step of a two-stage hedge by the L-shaped method (Benders).

Step 1 of the decomposed solve (:mod:`chipmix.hedging.evaluate`) needs, for the extensive
form with every purchase from the reveal on continuous, a lower bound ``LB`` and its
here-and-now decisions. Solved whole, that is a MIP over every scenario's LP at once: its
root LP alone grows with the number of scenarios (measured: benchmarks/README.md "Hedges").
In a two-stage tree — every scenario shares the here-and-now purchases and the porting
decisions ``x`` and nothing else — it separates:

    min_x  Σ_s p[s]·Q_s(x),   Q_s(x) = the LP of scenario s with its copy of x fixed to x,

and each ``Q_s`` is convex and piecewise linear in ``x``: an LP's optimal value as a
function of fixed column values. A solve of scenario ``s`` at ``x̂`` gives ``Q_s(x̂)`` and the
reduced costs ``d`` of the fixed columns, a subgradient, so ``Q_s(x) ≥ Q_s(x̂) + d·(x − x̂)``
for every ``x`` (LP duality: the dual solution stays feasible when only those values move).
The **master** is the MIP over ``x`` (integer, within the bounds every scenario allows) and
one ``θ_g`` per **group** of scenarios with every cut found so far, minimising ``Σ P_g·θ_g``:
the scenarios, sorted by their own LP optimum, cut into at most :data:`GROUPS` runs of
consecutive ones, ``P_g`` the group's probability and ``θ_g`` its expected cost given the
group, ``Σ_{s∈g} (p[s]/P_g)·Q_s(x)``, bounded by the same weighted sum of its scenarios' cuts.
(One ``θ`` per scenario — multi-cut — takes fewer rounds, but its master has a row per
scenario and round, and its branch and bound over those rows was most of the time at many
scenarios: 35 of 48 s at 256 draws of the default. Grouped, the master stays a few hundred
rows: measured, benchmarks/README.md "Hedges".)

- its bound is a lower bound of the relaxation, hence of the hedge (the cuts under-estimate);
- its ``x`` evaluated in every scenario is a feasible point of the relaxation, an upper bound;
- it stops when the two are within :data:`TOLERANCE_SHARE` of the requested gap, when ``x``
  repeats (the cuts at ``x`` are then exact: converged), or after :data:`MAX_ROUNDS` rounds
  (the bound found so far is still valid).

The first cuts come from every scenario's LP with ``x`` free too (its optimum bounds
``Q_s`` from below, so their weighted sum bounds ``θ_g``). Each scenario's LP stays in its
own HiGHS instance; a round changes only the fixed columns' bounds and re-solves from the
previous basis. Anything it cannot decide
(a scenario LP without an optimum at some ``x``, CBC, a CVaR weight, a multi-stage tree)
returns None and the relaxation is solved whole.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from chipmix.hedging.extensive import Fixed
from chipmix.inputs.solver import Status
from chipmix.model.matrix import INF, LinearModel
from chipmix.solve.highs import make_highs, run_highs
from chipmix.solve.stdout import stdout_to_stderr

#: Stop when the relaxation's upper and lower bound are within this share of the gap.
TOLERANCE_SHARE = 0.1
#: At most this many master solves.
MAX_ROUNDS = 60
#: The master's cost estimates: at most this many groups of scenarios, one ``θ`` and one
#: cut per group and round (module docstring; measured: benchmarks/README.md "Hedges").
GROUPS = 4


@dataclass
class LShaped:
    """The outcome: the relaxation's bounds and the here-and-now decisions of the best ``x``."""

    lower: float
    upper: float
    fixed: Fixed
    rounds: int
    converged: bool
    notes: list[str] = field(default_factory=list)


@dataclass
class _Decisions:
    """The first-stage decisions: one key per master column, each scenario's column of it."""

    keys: list[tuple[str, tuple[Any, ...]]]  # ("buy", (sku, t, from)) or ("port", (v, w))
    cols: list[np.ndarray]  # per scenario: its column of each key (-1: it has none)
    lower: np.ndarray
    upper: np.ndarray
    integer: np.ndarray


def applies(ext, options) -> bool:
    """A two-stage, risk-neutral tree with more than one scenario, solved with HiGHS."""
    tree = ext.tree
    if options.name != "highs" or ext.weight > 0 or len(tree) < 2:
        return False
    head = tree.here_and_now_periods
    if any(len(tree.groups(t)) != 1 for t in head):
        return False
    return all(len(c) == 1 for c in tree.components(tree.first_reveal))


def _decisions(ext) -> _Decisions:
    head = set(ext.tree.here_and_now_periods)
    a = ext.model.arrays()
    index: dict[tuple[str, tuple[Any, ...]], int] = {}
    per_part: list[dict[int, int]] = []
    for part in ext.parts:
        mine: dict[int, int] = {}
        buy = part.index.buy
        for k, t, start, c in zip(buy["sku"], buy["t"], buy["start"], buy["col"], strict=True):
            if int(t) in head:
                key = ("buy", (k, int(t), start.isoformat()))
                mine[index.setdefault(key, len(index))] = int(c)
        port = part.index.port
        for v, w, c in zip(port["vendor"], port["workload"], port["col"], strict=True):
            mine[index.setdefault(("port", (v, w)), len(index))] = int(c)
        per_part.append(mine)
    n = len(index)
    cols = []
    lower, upper = np.full(n, -INF), np.full(n, INF)
    integer = np.zeros(n, dtype=bool)
    for s, mine in enumerate(per_part):
        col = np.full(n, -1, dtype=np.int64)
        for j, c in mine.items():
            col[j] = c
            g = c + ext.col_offset[s]
            lower[j] = max(lower[j], a["col_lower"][g])
            upper[j] = min(upper[j], a["col_upper"][g])
            integer[j] |= bool(a["integer"][g])
        cols.append(col)
    return _Decisions(list(index), cols, lower, upper, integer)


class _Scenario:
    """One scenario's LP in its own HiGHS instance; only the decisions' bounds change."""

    def __init__(self, ext, s: int, dec: _Decisions, options) -> None:
        a = ext.model.arrays()
        part = ext.parts[s]
        start = ext.col_offset[s]
        n = part.model.num_cols
        self.lower = a["col_lower"][start:start + n].copy()
        self.upper = a["col_upper"][start:start + n].copy()
        self.model = part.model.with_arrays(col_lower=self.lower, col_upper=self.upper,
                                            integer=np.zeros(n, dtype=bool))
        self.has = dec.cols[s] >= 0
        self.cols = dec.cols[s][self.has].astype(np.int32)
        self.options = options
        self.highs, self.highspy = make_highs(self.model, options)

    def solve(self, x: np.ndarray | None) -> tuple[float, np.ndarray, np.ndarray] | None:
        """``Q_s(x)``, its subgradient and the decisions' values (None: no optimum).

        ``x`` None: the decisions free within their bounds (the LP's own optimum).
        """
        if x is None:
            lo, up = self.lower[self.cols], self.upper[self.cols]
        else:
            lo = up = x[self.has]
        self.highs.changeColsBounds(len(self.cols), self.cols, lo, up)
        result = run_highs(self.highs, self.highspy, self.model, self.options)
        if result.status != Status.OPTIMAL or result.col_duals is None:
            return None
        grad, at = np.zeros(len(self.has)), np.zeros(len(self.has))
        grad[self.has] = result.col_duals[self.cols]
        at[self.has] = result.plan_x()[self.cols]
        return float(result.plan_objective()), grad, at


def relaxed_bound(ext, options) -> LShaped | None:
    """Solve the relaxed recourse by the L-shaped method (module docstring); None: cannot."""
    if not applies(ext, options):
        return None
    dec = _decisions(ext)
    heads = set(ext.tree.here_and_now_periods)
    if np.any(dec.lower > dec.upper):
        return None
    lp_options = options.with_overrides(relax=True, time_limit=None)
    scenarios = [_Scenario(ext, s, dec, lp_options) for s in range(len(ext.parts))]
    probs = np.asarray(ext.tree.probabilities, dtype=float)
    target = TOLERANCE_SHARE * (options.gap if options.gap is not None else 1e-4)
    first = [sc.solve(None) for sc in scenarios]
    if any(f is None for f in first):
        return None
    groups = _Groups(np.array([f[0] for f in first if f is not None]), probs, GROUPS)
    master = _Master(dec, groups.probs)
    if not len(dec.keys):  # nothing shared: the scenarios' own LPs are the relaxation
        value = float(sum(p * f[0] for p, f in zip(probs, first, strict=True) if f))
        return LShaped(value, value, Fixed(heads, {}, set()), 0, True)
    # a free x's LP optimum bounds θ_s, and its cut holds at every x (module docstring)
    master.theta_lower[:] = groups.total(groups.free)
    master.add_cuts(*groups.cuts(first))
    best: tuple[float, np.ndarray] | None = None
    lower = -INF
    seen: set[bytes] = set()
    started = time.perf_counter()
    for rounds in range(1, MAX_ROUNDS + 1):
        m = master.solve(options, gap=target / 2)
        if m is None:
            return None
        x, bound = m
        lower = max(lower, bound)
        key = np.round(x, 9).tobytes()
        if key in seen:  # the cuts at x are exact there: the master's x is optimal
            return _outcome(dec, best, lower, rounds, True, started, heads)
        seen.add(key)
        values = [sc.solve(x) for sc in scenarios]
        if any(v is None for v in values):
            return None
        upper = float(sum(p * v[0] for p, v in zip(probs, values, strict=True)
                          if v is not None))
        if best is None or upper < best[0]:
            best = (upper, x)
        master.add_cuts(*groups.cuts(values))
        if best[0] - lower <= target * max(abs(best[0]), 1e-9):
            return _outcome(dec, best, lower, rounds, True, started, heads)
    return _outcome(dec, best, lower, MAX_ROUNDS, False, started, heads)


class _Groups:
    """The scenarios in groups, one ``θ`` of the master per group (module docstring).

    Sorted by their own LP optimum (``free``), the scenarios are cut into at most ``count``
    runs of consecutive ones. Group ``g``'s ``θ_g`` stands for ``Σ_{s∈g} w[s]·Q_s(x)`` with
    ``w[s] = p[s] / P_g``, and ``P_g = Σ_{s∈g} p[s]`` is its weight in the master; its cut
    in a round is the same weighted sum of its scenarios' cuts.
    """

    def __init__(self, free: np.ndarray, probs: np.ndarray, count: int) -> None:
        n = len(free)
        self.count = min(count, n)
        self.free = free
        self.of = np.empty(n, dtype=np.int64)
        self.of[np.argsort(free, kind="stable")] = (np.arange(n) * self.count) // n
        self.probs = np.bincount(self.of, weights=probs, minlength=self.count)
        self.weights = probs / self.probs[self.of]

    def total(self, per_scenario: np.ndarray) -> np.ndarray:
        """Each group's weighted sum of a per-scenario vector (or of matrix rows)."""
        weighted = self.weights.reshape((-1,) + (1,) * (per_scenario.ndim - 1)) * per_scenario
        out = np.zeros((self.count,) + per_scenario.shape[1:])
        np.add.at(out, self.of, weighted)
        return out

    def cuts(self, solved: list) -> tuple[np.ndarray, np.ndarray]:
        """Each group's cut ``θ_g ≥ constant + slope·x`` from its scenarios' solves."""
        values = np.array([v[0] for v in solved])
        slopes = np.array([v[1] for v in solved])
        points = np.array([v[2] for v in solved])
        constants = values - np.einsum("ij,ij->i", slopes, points)
        return self.total(constants), self.total(slopes)


def _outcome(dec: _Decisions, best: tuple[float, np.ndarray] | None, lower: float,
             rounds: int, converged: bool, started: float, heads: set[int]) -> LShaped | None:
    if best is None:
        return None
    upper, x = best
    servers: dict[tuple[str, int, str], float] = {}
    ported: set[tuple[str, str]] = set()
    for (kind, key), value in zip(dec.keys, x, strict=True):
        if kind == "buy":
            if np.round(value) > 0:
                servers[(str(key[0]), int(key[1]), str(key[2]))] = float(np.round(value))
        elif np.round(value) >= 1:
            ported.add((str(key[0]), str(key[1])))
    notes = [] if converged else [f"the L-shaped relaxation stopped after {rounds} rounds "
                                  f"({time.perf_counter() - started:.0f} s) with a valid bound"]
    return LShaped(min(lower, upper), upper, Fixed(heads, servers, ported), rounds, converged,
                   notes)


#: HiGHS options of the master MIP (a handful of integers, dense cuts): its primal
#: heuristics cost more than the few nodes they save (measured: 0.3 s → see the benchmarks).
MASTER_OPTIONS = {"mip_heuristic_effort": 0.0, "mip_allow_restart": False}


def _solve_master(model: LinearModel, options, start: np.ndarray | None):
    h, highspy = make_highs(model, options)
    for name, value in MASTER_OPTIONS.items():
        h.setOptionValue(name, value)
    if start is not None:
        solution = highspy.HighsSolution()
        solution.col_value = start.tolist()
        solution.value_valid = True
        with stdout_to_stderr():
            h.setSolution(solution)
    return run_highs(h, highspy, model, options)


class _Master:
    """``min Σ p[s]·θ_s`` over the decisions (integer) and θ, subject to the cuts so far."""

    def __init__(self, dec: _Decisions, probs: np.ndarray) -> None:
        self.dec = dec
        self.probs = probs
        self.theta_lower = np.full(len(probs), -INF)
        # cut r: θ[scen[r]] ≥ const[r] + grad[r]·x
        self.scen = np.zeros(0, dtype=np.int64)
        self.const = np.zeros(0)
        self.grad = np.zeros((0, len(dec.keys)))
        self.last: np.ndarray | None = None

    def add_cuts(self, constants: np.ndarray, slopes: np.ndarray) -> None:
        """``θ_g ≥ constants[g] + slopes[g]·x``, one cut per θ."""
        self.scen = np.concatenate([self.scen, np.arange(len(constants))])
        self.const = np.concatenate([self.const, constants])
        self.grad = np.concatenate([self.grad, slopes])

    def theta_at(self, x: np.ndarray) -> np.ndarray:
        """The smallest θ the cuts allow at ``x``."""
        theta = self.theta_lower.copy()
        np.maximum.at(theta, self.scen, self.const + self.grad @ x)
        return theta

    def solve(self, options, gap: float) -> tuple[np.ndarray, float] | None:
        """The master's ``x`` and its bound, from the previous ``x`` (still feasible, θ raised).

        ``gap``: the master's relative MIP gap (its bound, not its plan, is the lower bound).
        """
        dec, n, S = self.dec, len(self.dec.keys), len(self.probs)
        model = LinearModel()
        for integer in (True, False):  # the block names only: one column per decision
            keys = [(j,) for j in range(n) if bool(dec.integer[j]) == integer]
            if keys:
                model.add_columns("x_int" if integer else "x", keys,
                                  lower=dec.lower[[k[0] for k in keys]],
                                  upper=dec.upper[[k[0] for k in keys]], integer=integer)
        order = np.concatenate([np.flatnonzero(dec.integer), np.flatnonzero(~dec.integer)])
        col_of = np.empty(n, dtype=np.int64)
        col_of[order] = np.arange(n)
        theta = model.add_columns("theta", [(s,) for s in range(S)], lower=self.theta_lower,
                                  cost=self.probs)
        m = len(self.scen)
        if m:
            r, j = np.nonzero(self.grad)
            model.add_rows("cut", [(i,) for i in range(m)], np.concatenate([np.arange(m), r]),
                           np.concatenate([theta.start + self.scen, col_of[j]]),
                           np.concatenate([np.ones(m), -self.grad[r, j]]), lower=self.const)
        start = None
        if self.last is not None:
            start = np.empty(model.num_cols)
            start[col_of] = self.last
            start[theta.start:theta.start + S] = self.theta_at(self.last)
        result = _solve_master(model, options.with_overrides(gap=gap, time_limit=None), start)
        if not result.status.has_plan:
            return None
        x = result.plan_x()[col_of]
        self.last = np.where(dec.integer, np.round(x), x)
        bound = float(result.bound if result.bound is not None else result.plan_objective())
        return self.last, bound


__all__ = ["MAX_ROUNDS", "TOLERANCE_SHARE", "LShaped", "applies", "relaxed_bound"]
