"""Linear programmes derived from a solved plan, and a warm-startable HiGHS session over them.

Two LPs carry the insight figures (``docs/insight.md``):

- the **operations LP**: every integer decision (servers bought, porting) fixed at the plan's
  values; only use and shortfall move. Its duals are the spec's "duals of the LP with the
  integer decisions fixed".
- the **purchase LP**: porting decisions fixed at the plan's values, servers bought made
  continuous (within their supply bounds). Purchases can trade against each other, so its
  duals and reduced costs price budget, supply and SKU prices.

Both are built by :func:`insight_lp` and solved by :func:`chipmix.solve.lp.solve_lp` (``fix_purchases=True`` / ``False``). A relaxed plan
(``--relax``) has no integer decision: both are then the model's LP (less the builder's
implied bounds, see :func:`insight_lp`). Both are always solved with HiGHS (the only adapter that returns duals), whatever solver
made the plan.
"""

from __future__ import annotations

import numpy as np

from chipmix.model.matrix import LinearModel


def block_columns(model: LinearModel, name: str) -> np.ndarray:
    """Global column indices of block ``name`` (empty when absent)."""
    block = model.col_blocks.get(name)
    return np.arange(block.start, block.stop) if block is not None else np.zeros(0, dtype=np.int64)


def block_rows(model: LinearModel, name: str) -> np.ndarray:
    """Global row indices of block ``name`` (empty when absent)."""
    block = model.row_blocks.get(name)
    return np.arange(block.start, block.stop) if block is not None else np.zeros(0, dtype=np.int64)


def insight_lp(model: LinearModel, data, index, x: np.ndarray, *, fix_purchases: bool,
               relax: bool = False) -> LinearModel:
    """An LP for insight figures derived from a solved model (see the module docstring).

    - ``relax``: the plan was an LP; nothing is fixed.
    - otherwise porting decisions are fixed at ``round(x)``, and with ``fix_purchases`` the
      servers bought too (the operations LP); without, servers are continuous (purchase LP).

    The builder's *implied* bounds are dropped: ``use ≤`` the most units that could exist or
    be needed, ``short ≤ demand``, purchases ``≤`` the servers the budget or the need allow,
    and the porting rows ``use ≤ M·z`` of workloads already ported. They never change the
    optimum (the constraints they are implied by remain), but a variable sitting on one would
    take the marginal value that belongs to the constraint (demand, allocation, budget),
    leaving that constraint's dual short. Purchases keep their real bound
    ``floor(supply/server)``.
    """
    a = model.arrays()
    lower, upper = a["col_lower"].copy(), a["col_upper"].copy()
    row_upper = a["row_upper"].copy()
    upper[block_columns(model, "use")] = np.inf
    upper[block_columns(model, "short")] = np.inf
    buy = index.buy
    if len(buy):
        cols = buy["col"].to_numpy(dtype=np.int64)
        supply = buy["supply"].to_numpy(dtype=float)
        server = buy["server"].to_numpy(dtype=float)
        with np.errstate(invalid="ignore"):
            upper[cols] = np.where(np.isfinite(supply), np.floor(supply / server + 1e-9), np.inf)
        if fix_purchases and not relax:
            lower[cols] = upper[cols] = np.round(x[cols])
    port = index.port
    if len(port) and not relax:
        z_cols = port["col"].to_numpy(dtype=np.int64)
        z = np.round(x[z_cols])
        lower[z_cols] = upper[z_cols] = z
        block = model.row_blocks.get("porting")
        if block is not None:
            ported = {(v, w) for v, w, zv in zip(port["vendor"], port["workload"], z, strict=True)
                      if zv >= 1}
            vendor = data.skus["vendor"]
            done = np.array([(vendor[k[0]], k[1]) in ported for k in block.keys], dtype=bool)
            rows = np.arange(block.start, block.stop)
            row_upper[rows[done]] = np.inf
    return model.with_arrays(col_lower=lower, col_upper=upper, row_upper=row_upper,
                       integer=np.zeros(model.num_cols, dtype=bool))
