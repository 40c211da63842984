"""Policies: domestic share, vendor cap, vendor pools, budget and power; the plan's shares table.

What a share measures is the policy's ``share_of`` (use, fleet, purchases).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from chipmix.checker.params import Parameters
from chipmix.checker.report import Checker, fmt, num


def basis_amounts(
    params: Parameters,
    spend: Mapping[tuple[str, int], float],
    buy: Mapping[tuple[str, int], float],
    use: Mapping[tuple[str, str, int], float],
    fleet: Mapping[tuple[str, int], float],
    t: int,
    basis: str | None = None,
    of: str | None = None,
) -> dict[str, float]:
    """Per-SKU amount in period t on the share basis.

    Per-SKU amount in period t on the share basis, of what ``share_of`` measures: units in use, the
    fleet (idle units too) or the period's purchases; spend is always purchases. ``basis`` and
    ``of`` default to the policy's (a rule floor passes its own).
    """
    basis = basis or params.share_basis
    of = of or params.share_of
    out: dict[str, float] = {}
    if basis == "spend":
        for (sku, tau), usd in spend.items():
            if tau == t:
                out[sku] = out.get(sku, 0.0) + usd
        return out

    def weight(sku: str) -> float:
        return params.skus[sku].weight if basis == "compute" else 1.0

    if of == "purchases":
        for (sku, tau), units in buy.items():
            if tau == t:
                out[sku] = out.get(sku, 0.0) + weight(sku) * units
    elif of == "fleet":
        for (sku, tau), units in fleet.items():
            if tau == t and units:
                out[sku] = out.get(sku, 0.0) + weight(sku) * units
    else:
        for (sku, _w, tau), units in use.items():
            if tau == t:
                out[sku] = out.get(sku, 0.0) + weight(sku) * units
    return out


def check_policies(
    chk: Checker,
    params: Parameters,
    spend: Mapping[tuple[str, int], float],
    buy: Mapping[tuple[str, int], float],
    use: Mapping[tuple[str, str, int], float],
    fleet: Mapping[tuple[str, int], float],
    plan_shares: Iterable[Mapping[str, Any]],
    t_of: Mapping[str, int],
) -> list[dict[str, Any]]:
    """Domestic share, vendor cap, vendor pools, budget, power; the plan's shares table.

    Returns the recomputed shares. ``spend`` is USD per (sku, t) at the purchase rows' tranche
    prices, ``buy`` units, ``fleet`` units in service.
    """
    reported = {}
    for row in plan_shares:
        label = str(row.get("period"))
        if chk.check("shares", label in t_of, f"{label}: period outside the horizon"):
            reported[t_of[label]] = row
    shares: list[dict[str, Any]] = []
    for t, label in enumerate(params.labels):
        amounts = basis_amounts(params, spend, buy, use, fleet, t)
        total = sum(amounts.values())
        domestic = sum(a for sku, a in amounts.items() if params.skus[sku].domestic)
        by_vendor: dict[str, float] = {}
        for sku, a in amounts.items():
            vendor = params.skus[sku].vendor
            by_vendor[vendor] = by_vendor.get(vendor, 0.0) + a
        _check_share_and_cap(chk, params, t, total, domestic, by_vendor)
        floors = _check_floors(chk, params, spend, buy, use, fleet, t)
        _check_pools(chk, params, buy, t)
        _check_budget(chk, params, spend, t)
        _check_power(chk, params, use, t)
        mine_dom = domestic / total if total > 1e-12 else 0.0
        mine_vendors = {
            v: a / total for v, a in sorted(by_vendor.items()) if total > 1e-12 and a > 1e-12
        }
        mine: dict[str, Any] = {"period": label, "domestic": mine_dom, "vendors": mine_vendors}
        if floors:
            mine["floors"] = floors
        shares.append(mine)
        _check_shares_row(chk, params, reported.get(t), label, total, mine_dom, mine_vendors)
        _check_floor_rows(chk, reported.get(t), label, floors)
    return shares


def _check_floors(chk: Checker, params: Parameters, spend: Mapping[tuple[str, int], float],
                  buy: Mapping[tuple[str, int], float], use: Mapping[tuple[str, str, int], float],
                  fleet: Mapping[tuple[str, int], float], t: int) -> list[dict[str, Any]]:
    """Every rule floor in force in period ``t``: domestic ≥ floor·total on its own measure.

    Returns the recomputed domestic share of each floor's measure, for the shares table.
    """
    out: list[dict[str, Any]] = []
    label = params.labels[t]
    for f in (f for f in params.floors if f.t == t):
        amounts = basis_amounts(params, spend, buy, use, fleet, t, basis=f.basis, of=f.of)
        total = sum(amounts.values())
        domestic = sum(a for sku, a in amounts.items() if params.skus[sku].domestic)
        share = domestic / total if total > 1e-12 else 0.0
        chk.check("domestic_share", chk.le(f.floor * total, domestic),
                  f"{label}: domestic {fmt(domestic)} of {fmt(total)} ({f.basis} basis, of the "
                  f"{f.of}) = {fmt(share)} < floor {fmt(f.floor)} of {f.text}")
        out.append({"rule": f.text, "floor": f.floor, "of": f.of, "basis": f.basis,
                    "domestic": share})
    return out


def _check_floor_rows(chk: Checker, row: Mapping[str, Any] | None, label: str,
                      floors: list[dict[str, Any]]) -> None:
    """The plan's ``floors`` of a shares row, where it reports them, against the recomputed."""
    if row is None or "floors" not in row:
        return
    mine = {(f["of"], f["basis"]): f["domestic"] for f in floors}
    for item in row.get("floors") or []:
        key = (str(item.get("of")), str(item.get("basis")))
        theirs = num(item.get("domestic"))
        ok = key in mine and chk.close(theirs, mine[key])
        chk.check("shares", ok,
                  f"{label}: plan reports a domestic share {fmt(theirs)} of the {key[0]} "
                  f"({key[1]} basis) under a rule floor, recomputed "
                  f"{fmt(mine[key]) if key in mine else 'no such floor in force'}")


def _basis(params: Parameters) -> str:
    """``compute basis`` / ``units basis, of the fleet`` … for messages."""
    text = f"{params.share_basis} basis"
    if params.share_basis != "spend" and params.share_of != "use":
        text += f", of the {params.share_of}"
    return text


def _check_share_and_cap(chk: Checker, params: Parameters, t: int, total: float,
                         domestic: float, by_vendor: Mapping[str, float]) -> None:
    """Domestic ≥ share·total; every vendor ≤ vendor_cap·total (on the share basis)."""
    basis, label = _basis(params), params.labels[t]
    share = params.share[t]
    if share > 0:
        chk.check("domestic_share", chk.le(share * total, domestic),
                  f"{label}: domestic {fmt(domestic)} of {fmt(total)} ({basis}) = "
                  f"{fmt(domestic / total if total else 0.0)} < share {fmt(share)}")
    cap = params.vendor_cap
    if cap is not None and cap < 1:
        for vendor in sorted(by_vendor):
            amount = by_vendor[vendor]
            chk.check("vendor_cap", chk.le(amount, cap * total),
                      f"{vendor} {label}: {fmt(amount)} of {fmt(total)} ({basis}) "
                      f"= {fmt(amount / total if total else 0.0)} > cap {fmt(cap)}")


def _check_pools(chk: Checker, params: Parameters, buy: Mapping[tuple[str, int], float],
                 t: int) -> None:
    """Σ_{k of vendor v} buy[k,t] ≤ pool[v,t] for every vendor with a pool in force at t."""
    for vendor in sorted(params.pools):
        pool = params.pools[vendor][t]
        if pool is None:
            continue
        units = sum(u for (sku, tau), u in buy.items()
                    if tau == t and params.skus[sku].vendor == vendor)
        chk.check("pool", chk.le(units, pool),
                  f"{vendor} {params.labels[t]}: bought {fmt(units)} units of the vendor's SKUs "
                  f"> pool {fmt(pool)}")


def _check_budget(chk: Checker, params: Parameters, spend: Mapping[tuple[str, int], float],
                  t: int) -> None:
    """Σ_k price·buy ≤ budget in period ``t`` (when it has a budget), at tranche prices."""
    budget = params.budget[t]
    if budget is None:
        return
    capex = sum(usd for (_sku, tau), usd in spend.items() if tau == t)
    chk.check("budget", chk.le(capex, budget),
              f"{params.labels[t]}: capex {fmt(capex)} USD > budget {fmt(budget)} USD")


def _check_power(chk: Checker, params: Parameters, use: Mapping[tuple[str, str, int], float],
                 t: int) -> None:
    """Σ watts·pue·use ≤ 10^6·power_mw in period ``t`` (when it has a cap)."""
    power = params.power_mw[t]
    if power is None:
        return
    watts = 0.0
    for (sku, _w, tau), units in use.items():
        w = params.skus[sku].watts
        if tau == t and w is not None:
            watts += w * params.pue * units
    chk.check("power", chk.le(watts, 1e6 * power),
              f"{params.labels[t]}: {fmt(watts / 1e6)} MW in use (pue {fmt(params.pue)}) > "
              f"cap {fmt(power)} MW")


def _check_shares_row(chk: Checker, params: Parameters, row: Mapping[str, Any] | None,
                      label: str, total: float, mine_dom: float,
                      mine_vendors: Mapping[str, float]) -> None:
    """The plan's shares row of one period against the recomputed shares."""
    if row is None:
        chk.check("shares", total <= 1e-12,
                  f"{label}: no row in the shares table (domestic {fmt(mine_dom)})")
        return
    theirs = num(row.get("domestic"))
    chk.check("shares", chk.close(theirs, mine_dom),
              f"{label}: plan reports domestic {fmt(theirs)}, recomputed {fmt(mine_dom)} "
              f"({_basis(params)})")
    their_vendors = {str(v): num(x) for v, x in dict(row.get("vendors") or {}).items()}
    for vendor in sorted(set(their_vendors) | set(mine_vendors)):
        a, b = their_vendors.get(vendor, 0.0), mine_vendors.get(vendor, 0.0)
        chk.check("shares", chk.close(a, b),
                  f"{vendor} {label}: plan reports vendor share {fmt(a)}, recomputed {fmt(b)}")


__all__ = ["basis_amounts", "check_policies"]
