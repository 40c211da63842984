"""The objective of ``model.md``: the discounted cost of the plan.

minimise ``Σ_t δ[t]·( Σ_k price[k,t]·buy[k,t]
+ Σ_{k,w} watts[k]·pue·hours[t]·energy_price[t]/1000·use[k,w,t] + Σ_w penalty[w]·short[w,t] )
+ Σ_{v,w} port[v,w]·z[v,w]``, with ``buy = server·n`` and ``δ[t]`` the discount factor.
"""

from __future__ import annotations

import numpy as np

from chipmix.model.data import PlanningData
from chipmix.model.matrix import LinearModel
from chipmix.model.variables import Index


def add_objective(model: LinearModel, data: PlanningData, index: Index) -> None:
    """Set every column's cost (module docstring); the columns are those of ``index``."""
    disc = data.period_table["discount"].to_numpy()
    buy, use, port, short = index.buy, index.use, index.port, index.short
    cost = np.zeros(model.num_cols)
    cost[buy["col"].to_numpy()] = (
        disc[buy["t"].to_numpy()] * buy["price"].to_numpy() * buy["server"].to_numpy())
    cost[use["col"].to_numpy()] = disc[use["t"].to_numpy()] * use["energy_per_unit"].to_numpy()
    cost[port["col"].to_numpy()] = port["port"].to_numpy()
    cost[short["col"].to_numpy()] = disc[short["t"].to_numpy()] * short["penalty"].to_numpy()
    model.set_cost(cost)


__all__ = ["add_objective"]
