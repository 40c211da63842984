"""Purchases: servers, units, supply, unit price and spend of every purchase row."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from chipmix.checker.params import Parameters
from chipmix.checker.report import Checker, fmt, num


def check_purchases(
    chk: Checker,
    params: Parameters,
    rows: Iterable[Mapping[str, Any]],
    t_of: Mapping[str, int],
    relaxed: bool,
) -> dict[tuple[str, int], float]:
    """Servers, units, supply, unit price and spend of every purchase row.

    Returns the units bought per (sku, t).
    """
    buy: dict[tuple[str, int], float] = {}
    for row in rows:
        sku, label = str(row.get("sku")), str(row.get("period"))
        where = f"{sku} {label}"
        known = chk.check("purchases", sku in params.skus, f"{where}: unknown SKU")
        known &= chk.check("purchases", label in t_of, f"{where}: period outside the horizon")
        if not known:
            continue
        t = t_of[label]
        k = params.skus[sku]
        servers, units = num(row.get("servers")), num(row.get("units"))
        chk.check("purchases", (sku, t) not in buy, f"{where}: listed twice")
        chk.check("servers", servers >= 0, f"{where}: {fmt(servers)} servers < 0")
        if not relaxed:
            chk.check("servers", math.isfinite(servers) and servers == round(servers),
                      f"{where}: {fmt(servers)} servers is not a whole number")
        chk.check("servers", chk.close(units, servers * k.server),
                  f"{where}: units {fmt(units)} != {fmt(servers)} servers × {k.server} cards")
        buy[(sku, t)] = buy.get((sku, t), 0.0) + units
        limit = params.supply[(sku, t)]
        reason = params.unbuyable.get((sku, t))
        if reason is None and limit == 0:
            reason = f"the rules forbid buying it ({params.status[(sku, t)]})"
        detail = f" ({reason})" if reason else ""
        chk.check("supply", chk.le(units, limit),
                  f"{where}: bought {fmt(units)} units > {fmt(limit)} purchasable{detail}")
        price = params.price[(sku, t)]
        unit_price = num(row.get("unit_price"))
        row_spend = num(row.get("spend"))
        if price is None:
            chk.fail("price", f"{where}: bought at {fmt(unit_price)} but the SKU has no price")
        else:
            fee = params.fee[(sku, t)]
            fee_text = f" incl. {fee:.4g} fee" if fee else ""
            chk.check("price", chk.close(unit_price, price),
                      f"{where}: unit_price {fmt(unit_price)} != {fmt(price)} "
                      f"recomputed{fee_text}")
            chk.check("spend", chk.close(row_spend, units * price),
                      f"{where}: spend {fmt(row_spend)} != {fmt(units)} units × "
                      f"{fmt(price)} = {fmt(units * price)}")
    return buy


__all__ = ["check_purchases"]
