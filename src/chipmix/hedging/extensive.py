"""The extensive form of a hedge: every scenario's model stacked, tied and risk-weighted.

Each scenario ``s`` is planned by the ordinary builder (:func:`chipmix.model.build.build`,
``keep_idle=True`` so a purchase one scenario cannot use still exists to be tied to one
another scenario makes). The models are stacked block-diagonally
(:meth:`LinearModel.stack`, block ``s3.buy`` is scenario 3's purchases) and linked by:

- **non-anticipativity**: ``n[k,t,s] = n[k,t,s']`` for scenarios indistinguishable at ``t``
  (:meth:`ScenarioTree.groups`); where one of them cannot buy ``k`` in ``t`` at all (no
  column), none of them buys it. The builder's demand-implied bound on a purchase holds for
  its own scenario only, so a tied purchase may go up to the largest such bound in its
  group (still within each scenario's supply and budget).
- **porting decided once**: ``z[v,w,s] = z[v,w,s']`` for every pair of scenarios.
- **risk**: with ``weight ω > 0``, Rockafellar–Uryasev CVaR: ``η`` free, ``u[s] ≥ 0``,
  ``u[s] ≥ cost[s] − η`` where ``cost[s]`` is scenario ``s``'s own objective row; the
  objective is ``(1 − ω)·Σ_s p[s]·cost[s] + ω·(η + Σ_s p[s]·u[s]/(1 − α))``.

``fixed`` pins decisions (the deterministic plan's here-and-now purchases and porting).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from chipmix.hedging.tree import ScenarioTree
from chipmix.model.matrix import INF, LinearModel


@dataclass
class Part:
    """One scenario's planning data, model and column index."""

    data: Any  # PlanningData
    model: LinearModel
    index: Any  # chipmix.model.build.Index


@dataclass
class Fixed:
    """Decisions pinned in every scenario.

    Servers per ``(sku, t, from)`` (``from``: the ISO first day of the purchase tranche) for
    periods ``periods`` (absent = 0) and the ported ``(vendor, workload)`` pairs (others not
    ported).
    """

    periods: set[int]
    servers: dict[tuple[str, int, str], float]
    ported: set[tuple[str, str]] | None = None


@dataclass
class Extensive:
    """The stacked model and where each scenario lives in it."""

    model: LinearModel
    tree: ScenarioTree
    parts: list[Part]
    col_offset: list[int]
    weight: float
    alpha: float
    na_rows: int = 0
    notes: list[str] = field(default_factory=list)

    def part_x(self, x: np.ndarray, s: int) -> np.ndarray:
        """Scenario ``s``'s slice of a solution vector (its own model's column order)."""
        start = self.col_offset[s]
        return x[start:start + self.parts[s].model.num_cols]

    def scenario_costs(self, x: np.ndarray) -> np.ndarray:
        """``cost[s]``: each scenario's own objective at ``x`` (discounted USD)."""
        return np.array([
            float(part.model.arrays()["cost"] @ self.part_x(x, s)) + part.model.objective_offset
            for s, part in enumerate(self.parts)
        ])


def prefix(s: int) -> str:
    """Block-name prefix of scenario ``s`` in the stacked model."""
    return f"s{s}."


def build_extensive(parts: Sequence[Part], tree: ScenarioTree, *, weight: float = 0.0,
                    alpha: float = 0.9, fixed: Fixed | None = None) -> Extensive:
    """The extensive form of ``parts`` (one per scenario of ``tree``, same order)."""
    if len(parts) != len(tree):
        raise ValueError("one part per scenario")
    probs = np.asarray(tree.probabilities, dtype=float)
    expected_weight = 1.0 - weight if weight > 0 else 1.0
    model = LinearModel.stack([(prefix(s), p.model) for s, p in enumerate(parts)],
                              cost_weights=expected_weight * probs)
    sizes = [p.model.num_cols for p in parts]
    offsets = [int(o) for o in np.cumsum([0, *sizes[:-1]])]
    ext = Extensive(model, tree, list(parts), offsets, weight, alpha)
    a = model.arrays()
    lower, upper = a["col_lower"].copy(), a["col_upper"].copy()
    rows: list[tuple[int, int]] = []  # (column, column of the group's first member)

    buys = _stacked(parts, offsets, "buy", ["sku", "t", "start", "col", "ub_hard", "ub_need"])
    buys["from"] = [d.isoformat() for d in buys["start"]]
    for t in range(len(tree.periods)):
        for group in tree.groups(t):
            if len(group) > 1:
                _tie_purchases(buys, t, group, lower, upper, rows)
    ports = _stacked(parts, offsets, "port", ["vendor", "workload", "col"])
    if len(tree) > 1 and len(ports):
        for _, same in ports.groupby(["vendor", "workload"], sort=True):
            cols = same.sort_values("s")["gcol"].to_numpy()
            rows.extend((int(c), int(cols[0])) for c in cols[1:])
    if fixed is not None:
        ext.notes.extend(_pin(buys, ports, fixed, lower, upper))

    if rows:
        pair = np.asarray(rows, dtype=np.int64)
        r = np.arange(len(pair))
        model.add_rows("nonanticipativity", [(int(c), int(f)) for c, f in pair],
                       np.concatenate([r, r]), np.concatenate([pair[:, 0], pair[:, 1]]),
                       np.concatenate([np.ones(len(pair)), -np.ones(len(pair))]),
                       lower=0.0, upper=0.0)
        ext.na_rows = len(pair)
    if weight > 0:
        _add_cvar(model, parts, offsets, probs, weight, alpha)
        lower = np.concatenate([lower, [-INF], np.zeros(len(parts))])
        upper = np.concatenate([upper, [INF], np.full(len(parts), INF)])
    current = model.arrays()
    if not (np.array_equal(lower, current["col_lower"])
            and np.array_equal(upper, current["col_upper"])):
        model = model.with_arrays(col_lower=lower, col_upper=upper)
    ext.model = model
    return ext


def pinned(parts: Sequence[Part], fixed: Fixed) -> list[LinearModel]:
    """Each part's own model with ``fixed`` pinned, its cost unweighted.

    What :func:`build_extensive` of that part alone makes at probability 1 (one scenario: no
    tie to another), for every part in one pass: the recourse MIPs of a two-stage tree.
    """
    sizes = [p.model.num_cols for p in parts]
    offsets = [int(o) for o in np.cumsum([0, *sizes[:-1]])]
    lower = np.concatenate([p.model.arrays()["col_lower"] for p in parts]) if parts else \
        np.zeros(0)
    upper = np.concatenate([p.model.arrays()["col_upper"] for p in parts]) if parts else \
        np.zeros(0)
    buys = _stacked(parts, offsets, "buy", ["sku", "t", "start", "col", "ub_hard"])
    buys["from"] = [d.isoformat() for d in buys["start"]]
    ports = _stacked(parts, offsets, "port", ["vendor", "workload", "col"])
    _pin(buys, ports, fixed, lower, upper)
    return [p.model.with_arrays(col_lower=lower[o:o + n], col_upper=upper[o:o + n])
            for p, o, n in zip(parts, offsets, sizes, strict=True)]


def _stacked(parts: Sequence[Part], offsets: Sequence[int], family: str,
             columns: list[str]) -> pd.DataFrame:
    """One index table over every scenario: ``s`` and the global column ``gcol``."""
    frames = []
    for s, part in enumerate(parts):
        table = getattr(part.index, family)
        if not len(table):
            continue
        frame = table[columns].copy()
        frame["s"] = s
        frame["gcol"] = frame["col"].to_numpy(dtype=np.int64) + offsets[s]
        frames.append(frame)
    if not frames:
        return pd.DataFrame(columns=[*columns, "s", "gcol"])
    return pd.concat(frames, ignore_index=True)


def _tie_purchases(buys: pd.DataFrame, t: int, group: list[int], lower: np.ndarray,
                   upper: np.ndarray, rows: list[tuple[int, int]]) -> None:
    """Equal purchases at ``t`` across ``group``.

    Equal purchases at ``t`` across ``group``, per SKU and purchase tranche (the members agree on
    the terms known by then); none where some member has no column.
    """
    here = buys[(buys["t"] == t) & buys["s"].isin(group)]
    for _key, same in here.groupby(["sku", "from"], sort=True):
        cols = same.sort_values("s")["gcol"].to_numpy(dtype=np.int64)
        if len(same) < len(group):  # a member cannot buy it: nobody in the group can
            lower[cols] = upper[cols] = 0.0
            continue
        need = float(same["ub_need"].max())
        upper[cols] = np.fmin(same.sort_values("s")["ub_hard"].to_numpy(dtype=float), need)
        rows.extend((int(c), int(cols[0])) for c in cols[1:])


def _pin(buys: pd.DataFrame, ports: pd.DataFrame, fixed: Fixed, lower: np.ndarray,
         upper: np.ndarray) -> list[str]:
    """Pin the fixed decisions; a purchase beyond a scenario's hard limits is cut to them.

    The cap is the column's hard limit (supply, rules), not the servers the scenario needs:
    a here-and-now purchase is shared by every scenario, so one that needs fewer servers
    than another still buys them (the need bound only tightens a scenario's own optimum).
    """
    notes = []
    pinned = buys[buys["t"].isin(sorted(fixed.periods))]
    for sku, t, start, gcol, s, hard in zip(pinned["sku"], pinned["t"], pinned["from"],
                                            pinned["gcol"], pinned["s"], pinned["ub_hard"],
                                            strict=True):
        want = float(fixed.servers.get((sku, int(t), start), 0.0))
        value = min(want, float(hard))
        if value < want:
            notes.append(f"scenario {int(s)}: {sku} in period {int(t)} capped at "
                         f"{value:g} of {want:g} servers")
        lower[gcol] = upper[gcol] = value
    missing = {(k, t, d) for (k, t, d), v in fixed.servers.items()
               if v > 0 and t in fixed.periods}
    have = set(zip(pinned["sku"], pinned["t"].astype(int), pinned["from"], strict=True))
    for sku, t, _start in sorted(missing - have):
        notes.append(f"{sku} in period {t} cannot be bought in any scenario (dropped)")
    if fixed.ported is not None and len(ports):
        for v, w, gcol in zip(ports["vendor"], ports["workload"], ports["gcol"], strict=True):
            lower[gcol] = upper[gcol] = 1.0 if (v, w) in fixed.ported else 0.0
    return notes


def _add_cvar(model: LinearModel, parts: Sequence[Part], offsets: Sequence[int],
              probs: np.ndarray, weight: float, alpha: float) -> None:
    """η (free) and u[s] ≥ 0 with rows ``u[s] + η − cost[s] ≥ offset[s]``."""
    S = len(parts)
    eta = model.add_columns("cvar_eta", [("eta",)], lower=-INF, cost=weight)
    u = model.add_columns("cvar_excess", [(s,) for s in range(S)],
                          cost=weight * probs / (1.0 - alpha))
    rows, cols, vals, rhs = [], [], [], []
    for s, part in enumerate(parts):
        c = part.model.arrays()["cost"]
        nz = np.flatnonzero(c)
        rows.append(np.full(len(nz) + 2, s))
        cols.append(np.concatenate([nz + offsets[s], [eta.start, u.start + s]]))
        vals.append(np.concatenate([-c[nz], [1.0, 1.0]]))
        rhs.append(part.model.objective_offset)
    model.add_rows("cvar", [(s,) for s in range(S)], np.concatenate(rows),
                   np.concatenate(cols), np.concatenate(vals), lower=np.asarray(rhs))


def cvar(costs: ArrayLike, probabilities: ArrayLike, alpha: float) -> float:
    """CVaR_alpha of a discrete distribution.

    ``min_η η + E[max(0, cost − η)]/(1 − α)``, the mean of the worst ``1 − α`` of
    probability mass (exact, by sorting).
    """
    c = np.asarray(costs, dtype=float)
    p = np.asarray(probabilities, dtype=float)
    if not len(c):
        return float("nan")
    order = np.argsort(-c, kind="stable")
    c, p = c[order], p[order]
    tail = 1.0 - alpha
    take = np.minimum(p, np.maximum(0.0, tail - (np.cumsum(p) - p)))
    return float((take * c).sum() / tail) if tail > 0 else float(c[0])


def expected(values: ArrayLike, probabilities: ArrayLike) -> float:
    """The probability-weighted mean of ``values``."""
    return float(np.dot(np.asarray(values, dtype=float), np.asarray(probabilities, dtype=float)))


def risk_objective(costs: ArrayLike, probabilities: ArrayLike, weight: float,
                   alpha: float) -> float:
    """``(1 − ω)·E[cost] + ω·CVaR_α(cost)``."""
    e = expected(costs, probabilities)
    return e if weight <= 0 else (1 - weight) * e + weight * cvar(costs, probabilities, alpha)


__all__ = ["Extensive", "Fixed", "Part", "build_extensive", "cvar", "expected", "pinned",
           "prefix", "risk_objective"]
