"""Rich tables of a plan's sensitivity (``chipmix plan --explain``); presentation only.

Reads ``plan.sensitivity`` (filled by :func:`chipmix.planner.sensitivity.compute_sensitivity`)
and prints, beside every shadow price, the range over which it holds and what a whole step
really costs re-planned, then the break-even prices, in a planner's words.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from chipmix.present.formatting import money, number, percent


def _usd(v: float | None, digits: int = 0) -> str:
    """Money as the rest of chipmix prints it; ``digits`` for an exact price ($3,993.03)."""
    if digits and v is not None:
        return ("-" if v < 0 else "") + "$" + number(abs(v), digits)
    return money(v)


def _pct(v: float | None) -> str:
    return percent(v, 1, signed=True)


def _amount(v: float | None) -> str:
    if v is None:
        return "—"
    if v != 0 and abs(v) < 0.01:
        return f"{v:.2g}"
    return f"{v:,.2f}".rstrip("0").rstrip(".") if abs(v) < 1000 else f"{v:,.0f}"


def _holds(row: dict[str, Any]) -> str:
    """How far up the marginal figure holds: ``+0.01``, or ``∞``."""
    high, value = row.get("range_high"), row.get("value")
    if value is None:
        return "—"
    if high is None:
        return "+∞"
    return "+" + _amount(high - value)


def _step(row: dict[str, Any], digits: int = 0) -> str:
    if row.get("step_usd") is None:
        return "not re-solved" if row.get("step") else "—"
    return _usd(row["step_usd"], digits)


def print_explain(plan, console: Console) -> None:
    """The ``--explain`` tables of a plan.

    Shadow prices, ranges, whole steps and break-even prices of ``plan`` (needs
    ``plan.sensitivity``).
    """
    s: dict[str, Any] = plan.sensitivity or {}
    if not s:
        console.print("No sensitivity figures (plan without decisions, or not requested).")
        return
    console.print(Text("What the cost depends on — " + s.get("note", ""), style="dim"))
    if "error" in s:
        console.print(Text(f"sensitivity not available: {s['error']}", style="red"))
        return
    _demand(plan, s, console)
    _family(s, console, "domestic_share", "usd_per_point",
            "One more percentage point of domestic share (discounted USD)",
            ("period",), "per point", "+1 point, re-planned")
    _family(s, console, "share_floors", "usd_per_point",
            "One more percentage point of a rule set's domestic-share floor (discounted USD)",
            ("period", "of", "basis", "rules"), "per point", "+1 point, re-planned")
    _vendor_cap(s, console)
    _family(s, console, "pools", "usd_per_unit",
            "One more card of a vendor pool (discounted USD; negative = saves)",
            ("period", "vendor"), "per card", "+1 server, re-planned")
    _family(s, console, "budget", "usd_per_usd",
            "One more USD of budget (discounted USD per USD; negative = saves)",
            ("period",), "per USD", "+1 server's price, re-planned", digits=4, step_key=True)
    _family(s, console, "power", "usd_per_mw",
            "One more MW of power (discounted USD per MW; negative = saves)",
            ("period",), "per MW", "+1 MW, re-planned")
    _supply(s, console)
    console.print(
        "Marginal = the LP's dual, valid up to 'holds for' more of the input; whole step = the "
        "input raised by one step (one metric unit, point, server, MW, or one server's price of "
        "budget) and the plan re-solved with whole servers and porting re-decided. A "
        "'sliver' marginal holds for under 10 % of its step: read the whole step.",
        style="dim")
    _break_even(s, console)


def _demand(plan, s, console) -> None:
    rows = s.get("demand") or []
    if not rows:
        return
    table = Table(title="One more unit of demand costs (discounted USD per metric unit)")
    for c in ("period", "workload", "marginal", "holds for", "whole step (+1), re-planned",
              "note"):
        table.add_column(c, justify="right" if c in ("marginal", "holds for") or
                         c.startswith("whole") else "left", overflow="fold")
    order = {p: i for i, p in enumerate(plan.periods)}
    for r in sorted(rows, key=lambda r: (order.get(r["period"], 0), r["workload"])):
        table.add_row(r["period"], r["workload"], _usd(r["usd_per_unit"]), _holds(r),
                      _step(r), Text(r.get("note") or ""))
    console.print(table)


def _family(s, console, key, field, title, keys, marginal, step_title, digits: int = 0,
            step_key: bool = False) -> None:
    rows = s.get(key) or []
    if not rows:
        return
    if all(not r.get(field) and not r.get("step_usd") for r in rows):
        console.print(f"{title.split(' (')[0]}: 0 in every period (not binding).", style="dim")
        return
    table = Table(title=title)
    for c in keys:
        table.add_column(c)
    table.add_column(marginal, justify="right")
    table.add_column("holds for", justify="right")
    if step_key:
        table.add_column("step", justify="right")
    table.add_column(step_title, justify="right")
    table.add_column("note", overflow="fold")
    for r in rows:
        cell = _usd(r[field]) if digits == 0 else _amount(r[field])
        step = [_usd(r.get("step"))] if step_key else []
        table.add_row(*[str(r[k]) for k in keys], cell, _holds(r), *step, _step(r),
                      Text(r.get("note") or ""))
    console.print(table)


def _vendor_cap(s, console) -> None:
    rows = [r for r in s.get("vendor_cap") or [] if r["usd_per_point"]]
    summary = s.get("vendor_cap_step")
    if not rows and not (summary and summary.get("step_usd")):
        return
    table = Table(
        title="One more percentage point of vendor cap changes the cost by (discounted USD)")
    for c in ("period", "vendor", "marginal", "holds for"):
        table.add_column(c, justify="right" if c in ("marginal", "holds for") else "left")
    for r in rows:
        table.add_row(r["period"], r["vendor"], _usd(r["usd_per_point"]), _holds(r))
    console.print(table)
    if summary:
        console.print(f"Raising the vendor cap by {_amount(summary.get('step'))} point for "
                      f"every vendor and period, re-planned: {_step(summary)}.")


def _supply(s, console) -> None:
    rows = [r for r in s.get("supply") or [] if r["usd_per_unit"] or r.get("step_usd")]
    if not s.get("supply"):
        return
    if not rows:
        console.print("More supply would save nothing: no supply cap binds.", style="dim")
        return
    table = Table(
        title="One more unit of supply would save (discounted USD per card; binding caps only)")
    for c in ("period", "SKU", "saves", "holds for", "+1 server, re-planned", "note"):
        table.add_column(c, justify="right" if c in ("saves", "holds for") or
                         c.startswith("+") else "left", no_wrap=c in ("period", "SKU"),
                         overflow="fold")
    for r in rows:
        saves = None if r["usd_per_unit"] is None else -r["usd_per_unit"]
        step = dict(r, step_usd=None if r.get("step_usd") is None else -r["step_usd"])
        table.add_row(r["period"], r["sku"], _usd(saves), _holds(r), _step(step),
                      Text(r.get("note") or ""))
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
            table.add_row(r["sku"], r["period"], _usd(r["unit_price"]),
                          _usd(r["break_even_price"], 2), _pct(r["change"]),
                          Text(r.get("note") or ""))
        console.print(table)
    if kept:
        table = Table(title="Bought: how far its price could rise before the plan buys less of it")
        _columns(table, ("SKU", "first bought", "price now", "up to", "headroom", "note"))
        for r in kept:
            table.add_row(r["sku"], r["period"], _usd(r["unit_price"]),
                          _usd(r["break_even_price"], 2),
                          _pct(r["change"]) if r["change"] is not None else "≥ +900%",
                          Text(r.get("note") or ""))
        console.print(table)
    if rows:
        console.print(
            "Break-even prices scale the SKU's price in every period together and come from "
            "the LP with servers continuous and porting fixed (exact for that LP: found by "
            "re-solving it, not read off one dual): whole-server rounding can move the real "
            "threshold a little.", style="dim")


__all__ = ["print_explain"]
