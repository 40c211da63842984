"""The MILP over cumulative purchases: the same model, branched on where it matters.

The model buys ``n[k,t]`` whole servers of SKU ``k`` in period ``t``; the fleet of ``k`` at
``t`` is a running sum of them. In the LP relaxation an optimum buys fractional servers spread
over several periods, and branching on one ``n[k,t]`` barely moves the bound: the fraction
just moves to the neighbouring period. Written over the cumulative purchases

    C[k,t_j] = Σ_{i ≤ j} n[k,t_i]      (t_1 < t_2 < … the periods in which k can be bought)

the fleet while no unit retires is ``inventory + server·C``: branching on ``C`` decides how
many servers of ``k`` exist by then, which is what the allocation, demand and share rows
read. The change of variables ``n = D·C`` (``D`` bidiagonal, 1 on the diagonal, −1 below) is
unimodular — integer ``n`` and integer ``C`` correspond one to one — so the reformulated model
has exactly the feasible plans and costs of the original, the same LP relaxation, and the
solution maps back exactly (``n[k,t_j] = C_j − C_{j−1}``). Each former column bound
``lower ≤ n[k,t_j] ≤ upper`` becomes the row ``lower ≤ C_j − C_{j−1} ≤ upper`` (the first
column of a chain keeps its own bound), and ``C_j`` is bounded by the sums of the bounds.

On the default scenario with every priced domestic vendor (benchmarks/README.md, "MILP") HiGHS
needs 5 nodes instead of 1,300 at a 5e-4 gap. :func:`chipmix.solve.solve` applies it to every
MILP with a ``buy`` block (not to LPs: there it wins nothing and duals would need mapping).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from chipmix.model.matrix import Block, LinearModel

#: The column block whose columns are chained per SKU (keys: sku, period; period order).
CHAINED_BLOCK = "buy"


@dataclass
class Cumulative:
    """The change of variables: ``prev[j]`` is the column before ``j`` in its chain, or −1.

    Attributes
    ----------
    model : the reformulated model (same columns, in the same order, plus one row per chained
        column that has a predecessor: the former column bounds).
    prev : per column of the original model, its predecessor in its chain (−1: none).
    """

    model: LinearModel
    prev: np.ndarray

    def back(self, y: np.ndarray) -> np.ndarray:
        """The original model's solution from the reformulated one's (``n = C_j − C_{j−1}``)."""
        x = np.asarray(y, dtype=float).copy()
        has = self.prev >= 0
        x[has] = y[has] - y[self.prev[has]]
        return x

    def forward(self, x: np.ndarray) -> np.ndarray:
        """The reformulated model's solution from the original one's (running sums)."""
        y = np.asarray(x, dtype=float).copy()
        for j in np.flatnonzero(self.prev >= 0):  # predecessors come first: sums in order
            y[j] = y[self.prev[j]] + x[j]
        return y


def chained_blocks(model: LinearModel) -> list[Block]:
    """The purchase blocks: ``buy``, and each scenario's ``s<i>.buy`` of a stacked model."""
    return [block for name, block in model.col_blocks.items()
            if name == CHAINED_BLOCK or name.endswith("." + CHAINED_BLOCK)]


def chains(model: LinearModel) -> np.ndarray:
    """Per column, its predecessor among the integer ``buy`` columns of the same SKU (−1: none).

    Purchase columns are laid out in period order within a SKU (``model.variables``), so a
    SKU's chain is its columns in column order. Each block of :func:`chained_blocks` chains
    on its own (a stacked scenario's purchases never chain into another's).
    """
    prev = np.full(model.num_cols, -1, dtype=np.int64)
    integer = model.arrays()["integer"]
    for block in chained_blocks(model):
        last: dict[object, int] = {}
        for offset, key in enumerate(block.keys):
            col = block.start + offset
            if not integer[col]:
                continue
            sku = key[0]
            if sku in last:
                prev[col] = last[sku]
            last[sku] = col
    return prev


def cumulative(model: LinearModel) -> Cumulative | None:
    """The model over cumulative purchases (module docstring); None when nothing chains."""
    prev = chains(model)
    chained = np.flatnonzero(prev >= 0)
    if not len(chained):
        return None
    a = model.arrays()
    # A·n = Σ_j A_j (C_j − C_prev(j)): every entry of a chained column j is repeated, negated,
    # on its predecessor's column; so is its cost.
    cols = np.repeat(np.arange(model.num_cols), np.diff(a["csc_start"]))
    rows, vals = a["csc_index"], a["csc_value"]
    on_chain = prev[cols] >= 0
    cost = a["cost"].copy()
    np.add.at(cost, prev[chained], -a["cost"][chained])
    lower, upper = a["col_lower"].copy(), a["col_upper"].copy()
    for j in chained:  # predecessors first (column order): running sums of the bounds
        lower[j] = lower[prev[j]] + a["col_lower"][j]
        upper[j] = upper[prev[j]] + a["col_upper"][j]
    out = model.copy()
    out._a_row = [rows, rows[on_chain]]
    out._a_col = [cols, prev[cols[on_chain]]]
    out._a_val = [vals, -vals[on_chain]]
    out._cost, out._col_lower, out._col_upper = [cost], [lower], [upper]
    out._row_lower, out._row_upper = [a["row_lower"]], [a["row_upper"]]
    out._integer = [a["integer"]]
    out._frozen = None
    _add_differences(out, model, chained, prev[chained], a["col_lower"][chained],
                     a["col_upper"][chained])
    return Cumulative(out, prev)


def _add_differences(out: LinearModel, model: LinearModel, cols: np.ndarray, prev: np.ndarray,
                     lower: np.ndarray, upper: np.ndarray) -> None:
    """The former bounds ``lower ≤ C_j − C_prev ≤ upper`` as rows (one-sided: PuLP has no ranges).

    An equality where ``lower == upper`` (a fixed purchase), else a row per finite side.
    """
    names = np.empty(len(cols), dtype=object)
    for block in chained_blocks(model):
        inside = (cols >= block.start) & (cols < block.start + len(block))
        names[inside] = np.asarray(block.labels(), dtype=object)[cols[inside] - block.start]
    fixed = lower == upper
    for side, keep, lo, up in (
            ("fixed", fixed, lower, upper),
            ("lower", ~fixed & np.isfinite(lower), lower, np.full(len(cols), np.inf)),
            ("upper", ~fixed & np.isfinite(upper), np.full(len(cols), -np.inf), upper)):
        n = int(keep.sum())
        if not n:
            continue
        r = np.arange(n)
        out.add_rows(f"cumulative_{side}", (names[keep],), np.concatenate([r, r]),
                     np.concatenate([cols[keep], prev[keep]]),
                     np.concatenate([np.ones(n), -np.ones(n)]), lower=lo[keep], upper=up[keep])


__all__ = ["CHAINED_BLOCK", "Cumulative", "chained_blocks", "chains", "cumulative"]
