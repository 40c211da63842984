"""Rich tables for a plan (presentation only)."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from chipmix.present.formatting import (
    DASH,
    Currency,
    currency_of,
    megawatts,
    money,
    money_exact,
    number,
    percent,
)
from chipmix.present.formatting import gap as gap_text


def print_plan(plan, console: Console, scenario: Any = None) -> None:
    """Purchases by period and SKU, cost breakdown, shares, shortfalls, blocked SKUs.

    With ``scenario``, money shows in its ``currency`` and shortfalls carry their workload's
    unit.
    """
    cur = currency_of(scenario)
    _money = lambda v: money(v, cur)  # noqa: E731 - one formatter, bound to the currency
    status_style = "green" if plan.status.value == "optimal" else ("yellow" if plan.ok else "red")
    console.print(Text.assemble(
        (str(plan.scenario), "bold"), ": ", (plan.status.value, status_style),
        f", objective {_money(plan.objective)} (discounted)" if plan.objective is not None
        else "",
    ))
    if not plan.ok:
        if plan.diagnosis:
            findings = plan.diagnosis.get("findings", [])
            if not findings:
                console.print(Text("why: " + plan.diagnosis.get("summary", "")), style="red")
            else:
                console.print(
                    Text(f"why: {len(findings)} requirement(s) cannot be met:"), style="red"
                )
            for f in findings[:30]:
                console.print(Text(f"  - {f['text']}"), highlight=False)
            if len(findings) > 30:
                console.print(f"  ... and {len(findings) - 30} more (see --json)")
        return
    _purchases(plan, console, cur)
    _costs(plan, console, cur)
    _shares(plan, console)
    _usage(plan, console, cur)
    _shortfalls(plan, console, scenario)
    _blocked(plan, console)
    s = plan.solver
    if not cur.is_usd:
        console.print(f"money in {cur.code} at {cur.per_usd:g} {cur.code} per USD (the "
                      "scenario's rate; the plan JSON stays in USD)", style="dim")
    console.print(
        f"solver {s['name']}: {s['seconds']:.2f} s, gap {gap_text(s.get('gap'))}, "
        f"{s['variables']} variables ({s['integers']} integer), {s['constraints']} constraints",
        style="dim",
    )


def _purchases(plan, console, cur: Currency):
    p = plan.purchases
    if not len(p):
        console.print("No purchases: inventory covers demand.")
        return
    table = Table(title="Purchases (whole servers)")
    table.add_column("period", no_wrap=True)
    table.add_column("SKU", no_wrap=True)
    table.add_column("servers", justify="right")
    table.add_column("units", justify="right")
    table.add_column(f"unit price ({cur.code}/card)", justify="right")
    table.add_column(f"spend ({cur.code})", justify="right")
    for r in p.itertuples():
        table.add_row(
            r.period, Text(r.sku), f"{r.servers:,.6g}", f"{r.units:,.6g}",
            money_exact(r.unit_price, cur), money(r.spend, cur),
        )
    console.print(table)


def _costs(plan, console, cur: Currency):
    table = Table(title=f"Cost ({cur.code})")
    table.add_column("")
    table.add_column("nominal", justify="right")
    table.add_column("discounted", justify="right")
    for key in ("capex", "energy", "porting", "shortfall", "total"):
        table.add_row(key, money(plan.cost.get(key, 0.0), cur),
                      money(plan.discounted.get(key, 0.0), cur))
    console.print(table)


def _shares(plan, console):
    s = plan.shares
    if not len(s):
        return
    vendors = sorted({v for d in s["vendors"] for v in d})
    table = Table(title=f"Shares ({plan.share_basis} basis)")
    table.add_column("period")
    table.add_column("domestic", justify="right")
    for v in vendors:
        table.add_column(v, justify="right")
    for row in s.itertuples():
        if not row.vendors:  # nothing in service: no share to speak of
            table.add_row(row.period, DASH, *[DASH for _ in vendors])
            continue
        table.add_row(
            row.period, percent(row.domestic), *[percent(row.vendors.get(v, 0)) for v in vendors]
        )
    console.print(table)


def _shortfalls(plan, console, scenario: Any = None):
    d = plan.delivered
    short = d[d["shortfall"] > 1e-9] if len(d) else d
    if not len(short):
        return
    table = Table(title="Shortfalls (rented at the penalty; per period, in the workload's unit)")
    for c in ("period", "workload", "unit", "demand", "delivered", "shortfall", "what binds"):
        table.add_column(c, justify="left" if c in ("period", "workload", "unit", "what binds")
                         else "right")
    for r in short.to_dict("records"):
        table.add_row(
            str(r["period"]), r["workload"], str(r.get("unit") or "metric units"),
            number(r["demand"], 2), number(r["delivered"], 2), number(r["shortfall"], 2),
            Text(str(r.get("binding") or "")),
        )
    console.print(table)


def _usage(plan, console, cur: Currency) -> None:
    """Power and budget per period against their caps (only when the scenario sets one)."""
    u = plan.usage
    if not len(u) or (u["power_cap_mw"].isna().all() and u["budget"].isna().all()):
        return
    table = Table(title="Power and budget against their caps")
    for c in ("period", "power (MW)", "cap (MW)", f"capex ({cur.code})",
              f"budget ({cur.code})", "binds"):
        table.add_column(c, justify="left" if c in ("period", "binds") else "right")
    for r in u.to_dict("records"):
        cap = r["power_cap_mw"]
        budget = r["budget"]
        table.add_row(str(r["period"]), megawatts(r["power_mw"]), megawatts(cap),
                      money(r["capex"], cur),
                      DASH if budget != budget else money(budget, cur),
                      Text(str(r["binding"] or ""), style="red" if r["binding"] else ""))
    console.print(table)


def _blocked(plan, console):
    """One line per SKU and run of periods with the same status and main reason."""
    a = plan.availability
    blocked = a[a["cause"] != ""]
    if not len(blocked):
        return
    idle = blocked["cause"].str.startswith("serves no workload")
    never = sorted(set(blocked.loc[idle, "sku"]))
    rows = blocked[~idle].copy()
    rows["main"] = rows["cause"]
    order = {p: i for i, p in enumerate(plan.periods)}
    rows["t"] = rows["period"].map(order)
    rows = rows.sort_values(["sku", "t"])
    table = Table(title="Not buyable (or only partly), and why")
    table.add_column("SKU", no_wrap=True)
    table.add_column("periods", no_wrap=True)
    table.add_column("status")
    table.add_column("why (the deciding rule or missing figure)", overflow="fold")
    for (sku, _status, main), group in rows.groupby(["sku", "status", "main"], sort=False):
        status = _status
        periods = list(group["period"])
        span = periods[0] if len(periods) == 1 else f"{periods[0]}–{periods[-1]}"
        table.add_row(Text(sku), span, status, Text(main))
    console.print(table)
    if never:
        console.print(
            Text(
                f"{len(never)} SKUs serve none of this scenario's workloads (no figure for "
                f"their metric, or filtered out): {', '.join(never)}"
            ),
            style="dim",
        )


__all__ = ["print_plan"]
