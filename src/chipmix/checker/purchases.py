"""Purchases: servers, units, purchase tranche, supply, unit price and spend of every row.

A period whose terms change inside it (a fee or cap from a mid-period date) is bought in
tranches (:class:`chipmix.checker.params.Tranche`, recomputed from the inputs): each purchase
row names its tranche by its ``from`` and ``until`` days and pays that tranche's price.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from chipmix.checker.params import Parameters, Tranche
from chipmix.checker.report import Checker, fmt, num


def _row_tranche(chk: Checker, params: Parameters, row: Mapping[str, Any], sku: str, t: int,
                 where: str) -> Tranche | None:
    """The tranche a purchase row buys in.

    The tranche a purchase row buys in: the one starting on its ``from`` day (and ending on its
    ``until`` day); a row without dates buys in the period's only tranche.
    """
    mine = params.tranches.get((sku, t), [])
    start, until = row.get("from"), row.get("until")
    if start is None:
        if len(mine) > 1:
            chk.fail("tranche", f"{where}: the period has {len(mine)} tranches ("
                     + ", ".join(tr.text() for tr in mine) + "); the row must name its own "
                     "with from/until")
            return None
        return mine[0] if mine else None
    match = [tr for tr in mine if tr.start.isoformat() == str(start)]
    if not match:
        chk.fail("tranche", f"{where}: no purchase tranche starts on {start} (tranches: "
                 + (", ".join(tr.text() for tr in mine) or "none") + ")")
        return None
    tranche = match[0]
    chk.check("tranche", str(until) == tranche.until.isoformat(),
              f"{where}: the tranche from {start} ends on {tranche.until.isoformat()}, not "
              f"{until} (its terms change there)")
    return tranche


def check_purchases(
    chk: Checker,
    params: Parameters,
    rows: Iterable[Mapping[str, Any]],
    t_of: Mapping[str, int],
    relaxed: bool,
) -> tuple[dict[tuple[str, int], float], dict[tuple[str, int], float]]:
    """Servers, units, tranche, supply, unit price and spend of every purchase row.

    Each row buys in one tranche of its period (a run of equal terms, named by its ``from``
    and ``until`` days) at that tranche's price, within that tranche's supply; the period's
    rows together stay within the period's supply. Returns the units bought and the spend
    (USD, at the recomputed prices) per (sku, t).
    """
    buy: dict[tuple[str, int], float] = {}
    spend: dict[tuple[str, int], float] = {}
    seen: set[tuple[str, int, str]] = set()
    in_tranche: dict[tuple[str, int, str], float] = {}
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
        key = (sku, t, str(row.get("from")))
        chk.check("purchases", key not in seen, f"{where}: listed twice"
                  + (f" (tranche from {row.get('from')})" if row.get("from") else ""))
        seen.add(key)
        chk.check("servers", servers >= 0, f"{where}: {fmt(servers)} servers < 0")
        if not relaxed:
            chk.check("servers", math.isfinite(servers) and servers == round(servers),
                      f"{where}: {fmt(servers)} servers is not a whole number")
        chk.check("servers", chk.close(units, servers * k.server),
                  f"{where}: units {fmt(units)} != {fmt(servers)} servers × {k.server} cards")
        buy[(sku, t)] = buy.get((sku, t), 0.0) + units
        tranche = _row_tranche(chk, params, row, sku, t, where)
        if tranche is not None:
            key = (sku, t, tranche.text())
            in_tranche[key] = in_tranche.get(key, 0.0) + units
            chk.check("supply", chk.le(in_tranche[key], tranche.supply),
                      f"{where}: bought {fmt(in_tranche[key])} units in the tranche "
                      f"{tranche.text()} > {fmt(tranche.supply)} purchasable there")
        price = tranche.price if tranche is not None else params.price[(sku, t)]
        unit_price = num(row.get("unit_price"))
        row_spend = num(row.get("spend"))
        if price is None:
            chk.fail("price", f"{where}: bought at {fmt(unit_price)} but the SKU has no price")
        else:
            fee = tranche.fee if tranche is not None else params.fee[(sku, t)]
            fee_text = f" incl. {fee:.4g} fee" if fee else ""
            span = f" in the tranche {tranche.text()}" if tranche is not None else ""
            chk.check("price", chk.close(unit_price, price),
                      f"{where}: unit_price {fmt(unit_price)} != {fmt(price)} "
                      f"recomputed{span}{fee_text}")
            chk.check("spend", chk.close(row_spend, units * price),
                      f"{where}: spend {fmt(row_spend)} != {fmt(units)} units × "
                      f"{fmt(price)} = {fmt(units * price)}")
            spend[(sku, t)] = spend.get((sku, t), 0.0) + units * price
    for (sku, t), units in buy.items():
        limit = params.supply[(sku, t)]
        reason = params.unbuyable.get((sku, t))
        if reason is None and limit == 0:
            reason = f"the rules forbid buying it ({params.status[(sku, t)]})"
        detail = f" ({reason})" if reason else ""
        chk.check("supply", chk.le(units, limit),
                  f"{sku} {params.labels[t]}: bought {fmt(units)} units > {fmt(limit)} "
                  f"purchasable{detail}")
    return buy, spend


__all__ = ["check_purchases"]
