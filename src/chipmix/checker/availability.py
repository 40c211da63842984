"""Availability: the plan's status and purchasable supply per SKU and period."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from chipmix.checker.params import Parameters
from chipmix.checker.report import Checker, fmt


def check_availability(
    chk: Checker, params: Parameters, rows: Iterable[Mapping[str, Any]], t_of: Mapping[str, int]
) -> None:
    """The plan's availability table: status and purchasable supply per SKU and period."""
    for row in rows:
        sku, label = str(row.get("sku")), str(row.get("period"))
        if not chk.check("availability", sku in params.skus and label in t_of,
                         f"{sku} {label}: unknown SKU or period"):
            continue
        t = t_of[label]
        status = str(row.get("status", "")).lower()
        mine = params.status[(sku, t)]
        chk.check("availability", status == mine,
                  f"{sku} {label}: plan reports status {status}, recomputed {mine}")
        theirs = row.get("supply")
        theirs_f = math.inf if theirs is None else float(theirs)
        limit = params.supply[(sku, t)]
        chk.check("availability", chk.close(theirs_f, limit),
                  f"{sku} {label}: plan reports supply {fmt(theirs_f)}, recomputed {fmt(limit)}"
                  + (f" ({params.unbuyable[(sku, t)]})" if (sku, t) in params.unbuyable else ""))


__all__ = ["check_availability"]
