"""Units of the scenario's quantities, for every table that shows them.

A workload's demand, delivery and shortfall are in its ``metric`` per period; the unit a
person reads is :data:`METRIC_UNITS`.
"""

from __future__ import annotations

#: The unit of demand, delivery and shortfall per workload metric (per period).
METRIC_UNITS = {
    "bf16_pflops": "PFLOPS bf16",
    "fp8_pflops": "PFLOPS fp8",
    "int8_pops": "POPS int8",
    "memory_bw_tbps": "TB/s",
    "memory_tb": "TB",
}


def metric_unit(metric: str | None) -> str:
    """``PFLOPS bf16`` for ``bf16_pflops``...; ``metric units`` when unknown."""
    return METRIC_UNITS.get(metric or "", "metric units")


__all__ = ["METRIC_UNITS", "metric_unit"]
