"""The model builder: ``build(data)`` reads like ``model.md``.

Variables first (:mod:`.variables`), then one ``add_<family>`` call per constraint family
(:mod:`.families`), then the objective (:mod:`.objective`), all into one sparse
:class:`~chipmix.model.matrix.LinearModel`. ``tests/test_golden_lp.py`` holds a golden LP file
per family and fails when a family listed here has none.
"""

from __future__ import annotations

from chipmix.model.data import PlanningData
from chipmix.model.families import (
    add_allocation,
    add_budget,
    add_demand,
    add_domestic_share,
    add_fleet,
    add_pools,
    add_porting,
    add_power,
    add_share_floors,
    add_supply,
    add_vendor_cap,
)
from chipmix.model.matrix import LinearModel
from chipmix.model.objective import add_objective
from chipmix.model.variables import Index, add_variables, service_window


def build(data: PlanningData, *, keep_idle: bool = False) -> tuple[LinearModel, Index]:
    """The whole planning model of ``model.md`` as one sparse matrix, and its column index.

    ``keep_idle`` keeps columns a stochastic program ties to other scenarios
    (:func:`chipmix.model.variables.add_variables`).
    """
    model = LinearModel()
    index = add_variables(model, data, keep_idle=keep_idle)
    add_supply(model, data, index)
    add_fleet(model, data, index)
    add_allocation(model, data, index)
    add_demand(model, data, index)
    add_porting(model, data, index)
    add_domestic_share(model, data, index)
    add_share_floors(model, data, index)
    add_vendor_cap(model, data, index)
    add_pools(model, data, index)
    add_budget(model, data, index)
    add_power(model, data, index)
    add_objective(model, data, index)
    return model, index


__all__ = ["Index", "build", "service_window"]
