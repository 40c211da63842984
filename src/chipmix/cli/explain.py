"""Rich tables of a plan's sensitivity (``chipmix plan --explain``); presentation only.

Reads ``plan.sensitivity`` (filled by :func:`chipmix.planner.sensitivity.compute_sensitivity`)
and prints shadow prices and break-even prices in a planner's words.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from chipmix.present.formatting import money, percent


def _pct(v: float | None) -> str:
    return percent(v, 1, signed=True)


def print_explain(plan, console: Console) -> None:
    """Shadow prices and break-even prices of ``plan`` (needs ``plan.sensitivity``)."""
    s: dict[str, Any] = plan.sensitivity or {}
    if not s:
        console.print("No sensitivity figures (plan without decisions, or not requested).")
        return
    console.print(Text("What the cost depends on — " + s.get("note", ""), style="dim"))
    if "error" in s:
        console.print(Text(f"sensitivity not available: {s['error']}", style="red"))
        return
    _demand(plan, s, console)
    _per_period(s, console, "domestic_share", "usd_per_point",
                "One more percentage point of domestic share costs (discounted USD)")
    _vendor_cap(s, console)
    _per_period(s, console, "budget", "usd_per_usd",
                "One more USD of budget changes the cost by (discounted USD per USD)", digits=4)
    _per_period(s, console, "power", "usd_per_mw",
                "One more MW of power changes the cost by (discounted USD per MW)")
    _supply(s, console)
    _break_even(s, console)


def _demand(plan, s, console) -> None:
    rows = s.get("demand") or []
    if not rows:
        return
    periods = [p for p in plan.periods if any(r["period"] == p for r in rows)]
    workloads = list(dict.fromkeys(r["workload"] for r in rows))
    value = {(r["workload"], r["period"]): r["usd_per_unit"] for r in rows}
    table = Table(title="One more unit of demand costs (discounted USD per metric unit)")
    table.add_column("period")
    for w in workloads:
        table.add_column(w, justify="right")
    for p in periods:
        cells = [money(value[(w, p)]) if (w, p) in value else "" for w in workloads]
        table.add_row(p, *cells)
    console.print(table)


def _per_period(s, console, key, field, title, digits: int = 0) -> None:
    rows = s.get(key) or []
    if not rows or all(not r[field] for r in rows):
        if rows:
            console.print(f"{title.split(' (')[0]}: 0 in every period (not binding).", style="dim")
        return
    table = Table(title=title)
    table.add_column("period")
    table.add_column("USD", justify="right")
    for r in rows:
        cell = money(r[field]) if digits == 0 else f"{r[field]:,.{digits}f}"
        table.add_row(r["period"], cell)
    console.print(table)


def _vendor_cap(s, console) -> None:
    rows = [r for r in s.get("vendor_cap") or [] if r["usd_per_point"]]
    if not rows:
        return
    table = Table(
        title="One more percentage point of vendor cap changes the cost by (discounted USD)")
    for c in ("period", "vendor", "USD"):
        table.add_column(c, justify="right" if c == "USD" else "left")
    for r in rows:
        table.add_row(r["period"], r["vendor"], money(r["usd_per_point"]))
    console.print(table)


def _supply(s, console) -> None:
    rows = [r for r in s.get("supply") or [] if r["usd_per_unit"]]
    if not s.get("supply"):
        return
    if not rows:
        console.print("More supply would save nothing: no supply cap binds.", style="dim")
        return
    table = Table(
        title="One more unit of supply would save (discounted USD per card; binding caps only)")
    for c in ("period", "SKU", "saves"):
        table.add_column(c, justify="right" if c == "saves" else "left", no_wrap=True)
    for r in rows:
        table.add_row(r["period"], r["sku"], money(-r["usd_per_unit"]))
    console.print(table)


def _columns(table: Table, names) -> None:
    for i, c in enumerate(names):
        numeric = 2 <= i <= 4
        table.add_column(c, justify="right" if numeric else "left",
                         no_wrap=i < 2, overflow="fold")


def _break_even(s, console) -> None:
    rows = s.get("break_even") or []
    out = [r for r in rows if not r["bought"]]
    kept = [r for r in rows if r["bought"]]
    if out:
        table = Table(title="Not bought: the unit price at which it would enter the mix")
        _columns(table, ("SKU", "period", "price now", "break-even", "change", "note"))
        for r in out:
            table.add_row(r["sku"], r["period"], money(r["unit_price"]), money(r["break_even_price"]),
                          _pct(r["change"]), Text(r.get("note") or ""))
        console.print(table)
    if kept:
        table = Table(title="Bought: how far its price could rise before the plan buys less of it")
        _columns(table, ("SKU", "first bought", "price now", "up to", "headroom", "note"))
        for r in kept:
            table.add_row(r["sku"], r["period"], money(r["unit_price"]), money(r["break_even_price"]),
                          _pct(r["change"]) if r["change"] is not None else "≥ +900%",
                          Text(r.get("note") or ""))
        console.print(table)
    if rows:
        console.print(
            "Break-even prices scale the SKU's price in every period together and come from the "
            "LP with servers continuous and porting fixed: whole-server rounding can move the "
            "real threshold a little.", style="dim")


__all__ = ["print_explain"]
