"""Recourse MIPs shared between contained scenarios: solve one, hand its plan to the others.

Step 2 of the decomposed hedge (:mod:`chipmix.hedging.evaluate`) re-plans every scenario of a
two-stage tree with the here-and-now decisions pinned: one MIP of the size of a plan each.
Sampled shocks only take supply away, so many of these MIPs lie inside one another: the
same columns (or fewer — a purchase the shock bans is not built), the same rows, every bound
at least as tight, the same costs. When scenario ``s'``'s recourse MIP is *contained* in
``s``'s (:func:`chipmix.solve.session.contains`, on ``s``'s numbers restricted to ``s'``'s
columns), ``s``'s proven dual bound is a bound of ``s'``'s optimum too (a column ``s'`` lacks
is one fixed at 0 in ``s``'s model, a smaller problem); so when ``s``'s plan, read on ``s'``'s
columns, is feasible for ``s'`` and its cost there is within the requested gap of that bound,
it is what a solve of ``s'`` may return — optimal within the gap — and ``s'`` is not solved
(:func:`chipmix.solve.session.carried`, the rule sweeps carry plans by). Identical models
(draws whose shocks round to the same whole servers) are the trivial case.

Which scenarios are solved is a function of the scenarios alone, in **waves**
(:func:`share_recourse`): each wave solves, on the executor, the scenarios still open that no
other open scenario strictly contains (of identical ones, the first); then every open
scenario contained in a solved one takes the first such plan that passes the test, in
scenario order. After :data:`MAX_WAVES` waves the rest is solved at once. Neither the worker
count nor the executor changes what is solved or carried, so the hedge is the same however
it runs (``tests/test_hedge_share.py``).

The same machinery shares the hedge's evaluations (:func:`chipmix.hedging.evaluate.replan`):
the wait-and-see plans are the scenarios' own models with nothing pinned, the base plan's
re-plans are pinned like the recourse, to the base plan's here-and-now decisions.

Costs are compared unweighted (each scenario's own cost, not weighted by its probability,
which differs between merged draws).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from chipmix.hedging.extensive import Fixed, Part, pinned
from chipmix.inputs.solver import Status
from chipmix.model.matrix import LinearModel
from chipmix.solve.result import SolveResult
from chipmix.solve.session import carried, contains

#: Waves of solves before every scenario still open is solved at once (each wave waits for
#: the previous one; later waves carry less).
MAX_WAVES = 8


@dataclass
class Recourse:
    """One scenario's recourse MIP at its own cost, and how its columns are named."""

    model: LinearModel  # what the recourse task solves, at probability 1
    weight: float  # the scenario's probability: the task's model costs weight × these
    cols: tuple[str, ...]
    rows: tuple[str, ...]

    @functools.cached_property
    def layout(self) -> tuple[tuple[str, ...], tuple[str, ...], bytes]:
        """What fixes how another model's columns line up with these: names and sparsity."""
        a = self.model.arrays()
        return self.cols, self.rows, b"".join(a[k].tobytes() for k in ("integer", "csc_start",
                                                                          "csc_index"))


@dataclass
class Shared:
    """How the recourse MIPs were shared: per scenario, solved (-1) or the one it carried."""

    source: list[int]
    waves: int = 0
    seconds: float = 0.0  # spent on the containment and carry checks (wall clock)

    @property
    def solved(self) -> int:
        """How many recourse MIPs were solved."""
        return sum(1 for s in self.source if s < 0)

    @property
    def carried(self) -> int:
        """How many scenarios took a contained sibling's plan."""
        return sum(1 for s in self.source if s >= 0)


def recourses_of(parts: Sequence[Part], probabilities: Sequence[float],
                 fixed: Fixed) -> list[Recourse]:
    """Every scenario's recourse MIP with ``fixed`` pinned, at its own cost.

    With nothing pinned (``Fixed(set(), {}, None)``: ``ported=None`` leaves porting free, an
    empty set would pin every porting decision to 0) each is the scenario's own model: the
    wait-and-see MIPs.
    """
    models = pinned(parts, fixed)
    return [Recourse(model, float(p), tuple(model.col_names()), tuple(model.row_names()))
            for model, p in zip(models, probabilities, strict=True)]


def alignment(small: Recourse, big: Recourse) -> tuple[np.ndarray, np.ndarray] | None:
    """Which columns and matrix entries of ``big`` are ``small``'s, when its layout fits.

    ``(pos, gather)``: ``big``'s column of each of ``small``'s columns (by name) and
    ``big``'s matrix entry of each of ``small``'s (CSC order); None when the rows differ,
    ``small`` has a column ``big`` lacks, a column integer in ``big`` is not in ``small``, or
    their sparsity differs on those columns. (``big``'s other columns must also admit 0:
    :meth:`Containment.zero_outside`.)
    """
    if small.rows != big.rows:
        return None
    index = {name: k for k, name in enumerate(big.cols)}
    found = [index.get(name, -1) for name in small.cols]
    if min(found, default=0) < 0:
        return None
    pos = np.asarray(found, dtype=np.int64)
    a, b = small.model.arrays(), big.model.arrays()
    if np.any(b["integer"][pos] & ~a["integer"]):
        return None
    start = b["csc_start"]
    counts = start[pos + 1] - start[pos]
    if not np.array_equal(counts, np.diff(a["csc_start"])):
        return None
    gather = np.repeat(start[pos] - a["csc_start"][:-1], counts) + np.arange(int(counts.sum()))
    if not np.array_equal(b["csc_index"][gather], a["csc_index"]):
        return None
    return pos, gather


def restricted(big: Recourse, pos: np.ndarray, gather: np.ndarray) -> dict[str, np.ndarray]:
    """``big``'s bounds, costs and matrix values on the columns ``pos`` (entries ``gather``)."""
    b = big.model.arrays()
    return {"col_lower": b["col_lower"][pos], "col_upper": b["col_upper"][pos],
            "cost": b["cost"][pos], "row_lower": b["row_lower"], "row_upper": b["row_upper"],
            "csc_value": b["csc_value"][gather]}


class Containment:
    """Which recourse MIPs contain which (:func:`chipmix.solve.session.contains`).

    ``inside[s][r]``: scenario ``s``'s MIP is contained in ``r``'s at no lower cost
    (``s ≠ r``). The alignment of two layouts is found once per pair of layouts; each pair
    of scenarios is first screened on its column bounds (vectorised), then checked whole.
    """

    def __init__(self, recourses: Sequence[Recourse]) -> None:
        self.recourses = list(recourses)
        n = len(self.recourses)
        self.inside = np.zeros((n, n), dtype=bool)
        layouts: dict[Any, list[int]] = {}
        for s, rec in enumerate(self.recourses):
            layouts.setdefault(rec.layout, []).append(s)
        self.fits: dict[tuple[Any, Any], tuple[np.ndarray, np.ndarray] | None] = {}
        groups = list(layouts.values())
        for small in groups:
            for big in groups:
                fit = alignment(self.recourses[small[0]], self.recourses[big[0]])
                self.fits[self.recourses[small[0]].layout, self.recourses[big[0]].layout] = fit
                if fit is not None:
                    self._screen(small, big, *fit)

    def _screen(self, small: list[int], big: list[int], pos: np.ndarray,
                gather: np.ndarray) -> None:
        lower = np.stack([self.recourses[r].model.arrays()["col_lower"][pos] for r in big])
        upper = np.stack([self.recourses[r].model.arrays()["col_upper"][pos] for r in big])
        zero = np.array([self.zero_outside(self.recourses[r], pos) for r in big], dtype=bool)
        for s in small:
            a = self.recourses[s].model.arrays()
            maybe = zero & np.all(a["col_lower"] >= lower, axis=1) \
                & np.all(a["col_upper"] <= upper, axis=1)
            for i in np.flatnonzero(maybe):
                r = big[int(i)]
                if r != s:
                    rec = self.recourses[r]
                    self.inside[s, r] = contains(self.recourses[s].model,
                                                 restricted(rec, pos, gather),
                                                 rec.model.objective_offset)

    @staticmethod
    def zero_outside(big: Recourse, pos: np.ndarray) -> bool:
        """Whether every column of ``big`` outside ``pos`` may be 0.

        Then a plan of the smaller layout, those columns at 0, is a point of ``big``'s model:
        ``big`` restricted to ``pos`` is ``big`` with them fixed at 0, a smaller problem, so
        ``big``'s bound holds for it.
        """
        b = big.model.arrays()
        outside = np.ones(big.model.num_cols, dtype=bool)
        outside[pos] = False
        return bool(np.all(b["col_lower"][outside] <= 0) and np.all(b["col_upper"][outside] >= 0))

    def fit(self, s: int, r: int) -> tuple[np.ndarray, np.ndarray] | None:
        """The alignment of ``s``'s columns in ``r``'s model (:func:`alignment`)."""
        return self.fits.get((self.recourses[s].layout, self.recourses[r].layout))

    def roots(self, open_: Sequence[int]) -> list[int]:
        """The open scenarios no other open one strictly contains (identical: the first)."""
        out = []
        for s in open_:
            if not any(self.inside[s, r] and (not self.inside[r, s] or r < s)
                       for r in open_ if r != s):
                out.append(s)
        return out

    def carry(self, s: int, r: int, row: dict[str, Any], options) -> dict[str, Any] | None:
        """``r``'s solved recourse ``row`` as ``s``'s, when that is exact within the gap."""
        small, big = self.recourses[s], self.recourses[r]
        fit = self.fit(s, r)
        if not self.inside[s, r] or fit is None or row.get("x") is None \
                or row.get("bound") is None or not big.weight > 0:
            return None
        pos, gather = fit
        earlier = SolveResult(Status(row["status"]), options.name,
                              x=np.asarray(row["x"][0], dtype=float)[pos],
                              bound=float(row["bound"]) / big.weight)
        taken = carried(small.model, restricted(big, pos, gather), big.model.objective_offset,
                        earlier, options)
        if taken is None or taken.x is None or taken.objective is None:
            return None
        return {"members": [s], "status": taken.status.value,
                "costs": [float(taken.objective)], "notes": [],
                "x": [taken.x], "gap": taken.gap or 0.0, "bound": None, "carried_from": r}


def share_recourse(parts: Sequence[Part], probabilities: Sequence[float], fixed: Fixed,
                   options, solve: Callable[[list[int]], list[dict[str, Any]]]
                   ) -> tuple[list[dict[str, Any]], Shared]:
    """Every scenario's recourse row, solving only what no contained sibling answers.

    ``parts`` and ``probabilities``: the scenarios (an extensive form's ``parts`` and its
    tree's probabilities). ``solve(scenarios)`` solves those scenarios' recourse MIPs (on the
    executor) and returns :func:`chipmix.hedging.evaluate.recourse_task` rows in that order,
    each with the solver's ``bound`` (of the task's probability-weighted model). Waves:
    module docstring. The same for every batch of single-scenario MIPs with ``fixed``
    pinned: the hedge's recourse, the base plan's re-plans (``fixed``: its here-and-now
    decisions) and the wait-and-see plans (nothing pinned).
    """
    n = len(parts)
    started = time.perf_counter()
    within = Containment(recourses_of(parts, probabilities, fixed))
    checks = time.perf_counter() - started
    rows: list[dict[str, Any] | None] = [None] * n
    source = [-1] * n
    open_ = list(range(n))
    waves = 0
    while open_:
        waves += 1
        batch = within.roots(open_) if waves < MAX_WAVES else list(open_)
        for s, row in zip(batch, solve(batch), strict=True):
            rows[s] = row
        started = time.perf_counter()
        # a scenario still open was refused by every plan solved in earlier waves (a carry
        # test depends on the two scenarios alone), so only this wave's plans can take it;
        # in scenario order, they give the first solved plan that passes
        solved = sorted(batch)
        left = []
        for s in open_:
            if rows[s] is not None:
                continue
            for r in solved:
                taken = within.carry(s, r, rows[r] or {}, options)
                if taken is not None:
                    rows[s], source[s] = taken, r
                    break
            else:
                left.append(s)
        open_ = left
        checks += time.perf_counter() - started
    return [row for row in rows if row is not None], Shared(source, waves, checks)


__all__ = ["MAX_WAVES", "Containment", "Recourse", "Shared", "alignment", "recourses_of",
           "restricted", "share_recourse"]
