"""The HTML report of one plan (``chipmix report``, ``chipmix plan --report``).

:func:`plan_report` takes a plan (its JSON as a dict, or a :class:`~chipmix.planner.Plan`)
and writes the headline, purchases, the fleet by vendor in use vs idle, demand vs delivered
with the shortfalls, shares against the policy, power and budget use against their caps, why
each SKU was or was not bought, the sensitivity tables when the plan has them, and the
scenario's assumptions and sources (from ``context``, see :func:`scenario_context`).
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from html import escape
from typing import Any

import numpy as np

from chipmix.inputs.catalog import bundled_names, load_catalogs
from chipmix.inputs.units import METRIC_UNITS, metric_unit
from chipmix.io import write_text
from chipmix.periods import step_values
from chipmix.present import svg
from chipmix.present.charts import _colors, visible_caps
from chipmix.present.formatting import (
    DASH,
    Currency,
    currency_of,
    gap,
    megawatts,
    money,
    money_exact,
    money_scale,
    number,
    percent,
)
from chipmix.present.html import (
    Col,
    cards,
    figure,
    link,
    page,
    para,
    section,
    status_badge,
    table,
)
from chipmix.rules import load_rulesets


def scenario_context(scenario: Any) -> dict[str, Any]:
    """What a report needs from the scenario besides the plan.

    Assumptions, sources, SKU vendors and origins, power per card, the policy's requirements
    and caps per period.

    Plain data (JSON-ready); :func:`plan_report` works without it, with less to say.
    """
    periods = list(scenario.periods)
    labels = [str(p) for p in periods]
    policy = scenario.policy
    catalog = scenario.load_catalog().frame

    def steps(points: Mapping[Any, float], before: float | None) -> list[float | None]:
        values = step_values(dict(points or {}), periods, before=before)
        return [None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)
                for v in values]

    skus = {}
    for sku, row in catalog.iterrows():
        skus[str(sku)] = {
            "vendor": row.get("vendor"),
            "name": row.get("name"),
            "origin": row.get("origin"),
            "domestic": row.get("origin") == scenario.home,
            "tdp_w": _clean(row.get("tdp_w")),
            "price_usd": _clean(row.get("price_usd")),
            "catalog": row.get("catalog"),
            "sources": [s for s in str(row.get("sources") or "").split() if s],
            "notes": _clean(row.get("notes")) or "",
        }
    try:

        rulesets = load_rulesets(scenario.rules, base_dir=scenario.base_dir)
    except Exception:  # the plan ran, so this does not fail; a report never dies of it
        rulesets = []
    start, end = periods[0].start, periods[-1].end
    rules = [
        {"id": rs.id, "title": rs.title, "authority": rs.authority,
         "effective": rs.effective.isoformat(), "until": rs.until.isoformat() if rs.until else None,
         "confidence": rs.confidence, "sources": list(rs.sources),
         "binds": rs.binds(scenario.home)}
        for rs in sorted(rulesets, key=lambda r: (r.effective, r.id))
        if rs.effective <= end and (rs.until is None or rs.until > start)
        and rs.binds(scenario.home)
    ]
    workloads = [
        {"name": w.name, "kind": w.kind, "metric": w.metric, "unit": metric_unit(w.metric),
         "shortfall_penalty": w.shortfall_penalty}
        for w in scenario.workloads
    ]
    raw = scenario.to_dict()
    return {
        "name": scenario.name,
        "description": scenario.description or "",
        "source": str(scenario.source) if scenario.source else None,
        "horizon": f"{labels[0]}–{labels[-1]}",
        "home": scenario.home,
        "buyer": scenario.buyer,
        "discount_rate": scenario.discount_rate,
        "catalogs": list(scenario.catalogs),
        "rules": rules,
        "licenses": raw.get("licenses"),
        "unknown_policy": scenario.unknown_policy,
        "workloads": workloads,
        "periods": labels,
        "required_share": steps(policy.domestic_share, None),  # None: no requirement
        "vendor_cap": policy.vendor_cap,
        "budget": steps(policy.budget, None),
        "power_cap_mw": steps(policy.power_mw, None),
        "pue": policy.pue,
        "share_basis": policy.share_basis,
        "assumptions": {k: raw.get(k) for k in ("supply", "prices", "overrides", "inventory",
                                                  "retire", "lifetime", "porting", "ported",
                                                  "performance", "price_decline_per_year")
                        if raw.get(k)},
        "policy": raw.get("policy"),
        "skus": skus,
        "currency": currency_of(scenario).to_dict(),
    }


def _clean(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    try:

        if isinstance(value, np.generic):
            return value.item()
    except ImportError:  # pragma: no cover
        pass
    return value


def _plan_dict(plan: Any) -> dict[str, Any]:
    if isinstance(plan, Mapping):
        return dict(plan)

    return json.loads(plan.to_json())  # as written to a file: no wall-clock figures


# --------------------------------------------------------------------------------------------
# Plan report


def _vendor_colors(names: Sequence[str]) -> dict[str, str]:
    return _colors(list(names))


def _lookup_vendors(skus: Iterable[str], context: Mapping[str, Any] | None,
                    plan: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Vendor / origin / domestic per SKU.

    The plan's own ``skus`` table, the context's catalog, else the bundled catalogs (a plan
    JSON read without its scenario).
    """
    known: dict[str, dict[str, Any]] = {}
    for row in plan.get("skus") or []:
        known[row["sku"]] = dict(row)
    if context:
        for sku, row in (context.get("skus") or {}).items():
            known.setdefault(sku, dict(row))
    missing = [s for s in skus if s not in known]
    if missing:
        try:

            frame = load_catalogs(bundled_names()).frame
            for sku in missing:
                if sku in frame.index:
                    row = frame.loc[sku]
                    known[sku] = {"vendor": row["vendor"], "origin": row["origin"],
                                  "name": row["name"], "domestic": None}
        except Exception:  # a label is not worth failing a report for
            pass
    for sku in skus:
        known.setdefault(sku, {"vendor": sku.split("-")[0].capitalize(), "origin": None,
                               "domestic": None})
    return known


def plan_report(plan: Any, context: Mapping[str, Any] | None = None, *,
                currency: Currency | None = None) -> str:
    """The HTML report of one plan (a :class:`Plan` or its JSON as a dict).

    ``context`` (:func:`scenario_context`) adds the scenario's assumptions, sources, SKU
    vendors, power per card and policy caps; without it the report says what is missing.
    """
    d = _plan_dict(plan)
    cur = currency or currency_of(d.get("currency") and d or context)
    ctx = dict(context or {})
    name = str(d.get("scenario", "plan"))
    status = str(d.get("status", "?"))
    periods: list[str] = list(d.get("periods") or [])
    title = f"chipmix plan: {name}"
    sub = (f"{periods[0]}–{periods[-1]}, {len(periods)} periods" if periods else "")
    if ctx.get("home"):
        sub += f" · buyer market {ctx['home']} ({ctx.get('buyer', '')})"
    body = [f'<p class="lead">Status {status_badge(status)}</p>']
    has_plan = status in ("optimal", "feasible") and d.get("objective") is not None
    if not has_plan:
        body.append(_diagnosis(d))
        body.append(_why_skus(d, ctx, cur, {}))
        body.append(_assumptions(ctx, d))
        return page(title, body, subtitle=sub)
    skus_seen = sorted({r["sku"] for key in ("purchases", "fleet", "allocation")
                        for r in d.get(key) or []})
    info = _lookup_vendors(skus_seen, ctx, d)
    body.append(_headline(d, ctx, cur, info))
    body.append(_purchases(d, cur, info))
    body.append(_fleet(d, info))
    body.append(_delivery(d, ctx, cur))
    body.append(_shares(d, ctx))
    body.append(_caps(d, ctx, cur))
    body.append(_why_skus(d, ctx, cur, info))
    body.append(_sensitivity(d))
    body.append(_assumptions(ctx, d))
    body.append(_solver(d))
    return page(title, body, subtitle=sub)


def _sum(rows: Iterable[Mapping[str, Any]], key: str) -> float:
    return float(sum(float(r.get(key) or 0.0) for r in rows))


def _headline(d, ctx, cur: Currency, info) -> str:
    cost = d.get("cost") or {}
    disc = d.get("discounted_cost") or {}
    purchases = d.get("purchases") or []
    periods = d.get("periods") or []
    units = _sum(purchases, "units")
    capex = _sum(purchases, "spend")
    by_vendor: dict[str, float] = {}
    for r in purchases:
        v = info.get(r["sku"], {}).get("vendor") or "?"
        by_vendor[v] = by_vendor.get(v, 0.0) + float(r["units"])
    shares = d.get("shares") or []
    last = shares[-1] if shares else None
    short_rows = [r for r in d.get("delivered") or [] if (r.get("shortfall") or 0) > 1e-9]
    short_periods = sorted({r["period"] for r in short_rows}, key=periods.index)
    top = ", ".join(f"{v} {number(u)}" for v, u in
                    sorted(by_vendor.items(), key=lambda kv: (-kv[1], kv[0])))
    lead = (f"Buy {number(units)} cards ({top}) over {periods[0]}–{periods[-1]} for "
            f"{money(capex, cur)} of capex (nominal); the plan costs "
            f"{money(d.get('objective'), cur)} discounted to {periods[0]}.") if periods else ""
    if last is not None:
        lead += (f" Domestic share in {last['period']}: "
                 f"{_share_text(last)} ({d.get('share_basis', 'compute')} basis).")
    if short_rows:
        lead += (f" Demand is not met in {len(short_periods)} period(s) "
                 f"({', '.join(short_periods[:6])}{'…' if len(short_periods) > 6 else ''}); "
                 f"the shortfall is rented for {money(cost.get('shortfall'), cur)}.")
    else:
        lead += " Every workload's demand is met in every period."
    items = [
        ("objective", "cost, discounted", money(d.get("objective"), cur),
         f"nominal {money(cost.get('total'), cur)}"),
        ("capex", "capex (nominal)", money(cost.get("capex"), cur),
         f"discounted {money(disc.get('capex'), cur)}" if disc else ""),
        ("units", "cards bought", number(units), f"{len(purchases)} purchase line(s)"),
        ("domestic", f"domestic share {last['period']}" if last else "domestic share",
         _share_text(last) if last else DASH, f"{d.get('share_basis', 'compute')} basis"),
        ("shortfall", "shortfall (rented)", money(cost.get("shortfall"), cur),
         f"{len(short_periods)} period(s) short" if short_rows else "none"),
        ("energy", "energy + porting (nominal)",
         money((cost.get("energy") or 0) + (cost.get("porting") or 0), cur),
         f"energy {money(cost.get('energy'), cur)}"),
    ]
    cost_rows = [{"item": k, "nominal": cost.get(k), "discounted": disc.get(k) if disc else None}
                 for k in ("capex", "energy", "porting", "shortfall")]
    cost_total = {"item": "total", "nominal": cost.get("total"),
                  "discounted": cost.get("discounted_total")}
    money_col = functools.partial(money_exact, currency=cur)
    unit = cur.code
    cost_table = table("cost", [Col("item", "cost"),
                                Col("nominal", f"nominal ({unit})", money_col, num=True),
                                Col("discounted", f"discounted ({unit})", money_col, num=True)],
                       cost_rows, total=cost_total,
                       caption="Cost over the horizon by category")
    note = ""
    if not cur.is_usd:
        note = para(f"Money in {cur.code} at {cur.per_usd:g} {cur.code} per USD (the "
                    "scenario's rate); data-value attributes hold USD, as the plan JSON.", "note")
    return section("headline", "Headline", para(lead, "lead"), cards(items), cost_table, note)


def _share_text(row: Mapping[str, Any] | None) -> str:
    if not row or not row.get("vendors"):
        return DASH  # nothing in service: no share to speak of
    return percent(row.get("domestic"))


def _purchases(d, cur: Currency, info) -> str:
    rows = []
    for r in d.get("purchases") or []:
        meta = info.get(r["sku"], {})
        rows.append({**r, "vendor": r.get("vendor") or meta.get("vendor"),
                     "origin": r.get("origin") or meta.get("origin")})
    if not rows:
        return section("purchases", "Purchases", para("No purchases: the inventory covers "
                                                      "demand."))
    periods = d["periods"]
    vendors = _vendor_order(rows, "spend")
    colors = _vendor_colors(vendors)
    divisor, label = money_scale([_sum([r for r in rows if r["period"] == p], "spend")
                                  for p in periods], cur)
    series = [svg.Series(v, [sum(r["spend"] for r in rows if r["period"] == p
                                 and r["vendor"] == v) / divisor or None for p in periods],
                         colors[v]) for v in vendors]
    chart = svg.chart("chart-purchases", periods, series, title="Capex by period and vendor",
                      y_label=f"capex ({label}, nominal)")
    columns = [Col("period", "period"), Col("sku", "SKU"), Col("vendor", "vendor"),
               Col("origin", "origin"), Col("servers", "servers", number, num=True),
               Col("units", "units (cards)", number, num=True),
               Col("unit_price", f"unit price ({cur.code}/card)",
                   lambda v: money_exact(v, cur), num=True),
               Col("spend", f"spend ({cur.code})", lambda v: money_exact(v, cur), num=True)]
    total = {"period": "total", "servers": _sum(rows, "servers"), "units": _sum(rows, "units"),
             "spend": _sum(rows, "spend")}
    return section("purchases", "Purchases",
                   figure(chart), table("purchases", columns, rows, total=total,
                                        caption="Whole servers bought per period and SKU; "
                                                "prices after licence fees and price decline"))


def _vendor_order(rows: Sequence[Mapping[str, Any]], key: str) -> list[str]:
    totals: dict[str, float] = {}
    for r in rows:
        totals[r["vendor"]] = totals.get(r["vendor"], 0.0) + float(r[key] or 0.0)
    return sorted(totals, key=lambda v: (-totals[v], v))


def fleet_use(d: Mapping[str, Any], info: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Per period and vendor: cards installed, in use (serving a workload) and idle."""
    used: dict[tuple[str, str], float] = {}
    for r in d.get("allocation") or []:
        key = (r["period"], r["sku"])
        used[key] = used.get(key, 0.0) + float(r["units"])
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for r in d.get("fleet") or []:
        vendor = info.get(r["sku"], {}).get("vendor") or "?"
        key = (r["period"], vendor)
        row = rows.setdefault(key, {"period": r["period"], "vendor": vendor, "installed": 0.0,
                                    "in_use": 0.0})
        row["installed"] += float(r["units"])
        row["in_use"] += min(float(r["units"]), used.get((r["period"], r["sku"]), 0.0))
    order = {p: i for i, p in enumerate(d.get("periods") or [])}
    out = sorted(rows.values(), key=lambda r: (order.get(r["period"], 0), r["vendor"]))
    for r in out:
        r["in_use"] = round(r["in_use"], 6)
        r["idle"] = round(r["installed"] - r["in_use"], 6)
    return out


def _fleet(d, info) -> str:
    rows = fleet_use(d, info)
    periods = d["periods"]
    if not rows:
        return section("fleet", "Fleet", para("No cards in service in any period."))
    vendors = _vendor_order(rows, "installed")
    colors = _vendor_colors(vendors)
    cell = {(r["period"], r["vendor"]): r for r in rows}
    series = [svg.Series(f"{v} in use", [_get(cell, p, v, "in_use") for p in periods],
                         colors[v]) for v in vendors]
    series += [svg.Series(f"{v} idle", [_get(cell, p, v, "idle") for p in periods], colors[v],
                          hatch=True) for v in vendors
               if any((_get(cell, p, v, "idle") or 0) > 1e-9 for p in periods)]
    chart = svg.chart("chart-fleet", periods, series,
                      title="Cards in service by vendor: in use vs idle",
                      y_label="cards (units)", y_format=lambda v: number(v, 0))
    table_rows = []
    for p in periods:
        row: dict[str, Any] = {"period": p}
        installed = 0.0
        for v in vendors:
            r = cell.get((p, v))
            row[f"{v}.in_use"] = r["in_use"] if r else None
            row[f"{v}.idle"] = r["idle"] if r else None
            installed += r["installed"] if r else 0.0
        row["installed"] = installed
        table_rows.append(row)
    columns = [Col("period", "period")]
    for v in vendors:
        columns += [Col(f"{v}.in_use", "in use", _count, num=True, group=v),
                    Col(f"{v}.idle", "idle", _count, num=True, group=v)]
    columns.append(Col("installed", "installed", _count, num=True))
    return section("fleet", "Fleet by vendor",
                   figure(chart, "Idle cards are installed but serve no workload in that "
                                 "period (bought ahead of a ban, or kept after demand moved)."),
                   table("fleet", columns, table_rows,
                         caption="Cards in service per period, by vendor (cards); — = none "
                                 "of that vendor"))


def _count(v: Any) -> str:
    """Whole cards for the reader (use is fractional in the LP); data-value keeps it exact."""
    return DASH if v is None else number(v, 0)


def _get(cell, p, v, key):
    r = cell.get((p, v))
    return r[key] if r and r[key] > 1e-9 else None


def _delivery(d, ctx, cur: Currency) -> str:
    rows = d.get("delivered") or []
    periods = d["periods"]
    units = {w["name"]: w["unit"] for w in ctx.get("workloads") or []}
    workloads = list(dict.fromkeys([*(w["name"] for w in ctx.get("workloads") or []),
                                    *(r["workload"] for r in rows)]))
    parts = []
    for i, w in enumerate(workloads):
        mine = {r["period"]: r for r in rows if r["workload"] == w}
        if not mine:
            continue
        unit = units.get(w, "metric units")
        served = [min(mine[p]["delivered"], mine[p]["demand"]) if p in mine else None
                  for p in periods]
        short = [mine[p]["shortfall"] if p in mine and mine[p]["shortfall"] > 1e-9 else None
                 for p in periods]
        extra = [max(0.0, mine[p]["delivered"] - mine[p]["demand"]) or None if p in mine
                 else None for p in periods]
        series = [svg.Series("delivered", served, svg.PALETTE[i % len(svg.PALETTE)])]
        if any(extra):
            series.append(svg.Series("delivered above demand", extra,
                                     svg.PALETTE[i % len(svg.PALETTE)], hatch=True))
        if any(short):
            series.append(svg.Series("shortfall (rented)", short, svg.SHORT, hatch=True))
        series.append(svg.Series("demand", [mine[p]["demand"] if p in mine else None
                                            for p in periods], svg.CAP, kind="step",
                                 dash=True))
        parts.append(figure(svg.chart(f"chart-delivery-{i}", periods, series,
                                      title=f"{w}: demand vs delivered",
                                      y_label=f"per period ({unit})")))
    short_rows = [dict(r, unit=units.get(r["workload"], "metric units"))
                  for r in rows if (r.get("shortfall") or 0) > 1e-9]
    columns = [Col("period", "period"), Col("workload", "workload"), Col("unit", "unit"),
               Col("demand", "demand", number, num=True),
               Col("delivered", "delivered", number, num=True),
               Col("shortfall", "shortfall", number, num=True, cls=lambda r: "short"),
               Col("binding", "what binds", lambda v: "; ".join(v) if isinstance(v, list)
                   else str(v or ""))]
    if short_rows:
        penalties = {w["name"]: w.get("shortfall_penalty") for w in ctx.get("workloads") or []}
        for r in short_rows:
            p = penalties.get(r["workload"])
            r["cost"] = r["shortfall"] * p if p is not None else None
        columns.insert(6, Col("cost", f"rent ({cur.code}, nominal)",
                              lambda v: money_exact(v, cur), num=True))
        parts.append(table("shortfalls", columns, short_rows,
                           caption="Shortfalls: demand not met by the fleet, rented at the "
                                   "workload's shortfall penalty"))
    else:
        parts.append(para("No shortfall: the fleet meets every workload's demand in every "
                          "period."))
    all_columns = [c for c in columns if c.key not in ("binding", "cost")]
    parts.append("<details><summary>Every period and workload</summary>"
                 + table("delivered", all_columns,
                         [dict(r, unit=units.get(r["workload"], "metric units")) for r in rows])
                 + "</details>")
    return section("delivery", "Demand vs delivered", *parts)


def _shares(d, ctx) -> str:
    rows = d.get("shares") or []
    periods = d["periods"]
    if not rows:
        return ""
    required = ctx.get("required_share") if ctx.get("periods") == periods else None
    vendors = sorted({v for r in rows for v in (r.get("vendors") or {})})
    colors = _vendor_colors(vendors)
    by_period = {r["period"]: r for r in rows}

    def pct(v: float | None) -> float | None:
        return None if v is None else v * 100

    series = [svg.Series("domestic", [pct(by_period[p]["domestic"]) if by_period.get(p, {})
                                      .get("vendors") else None for p in periods], "#c7000b",
                         kind="line")]
    for v in vendors:
        series.append(svg.Series(v, [pct((by_period.get(p, {}).get("vendors") or {}).get(v))
                                     for p in periods], colors[v], kind="line", dash=True))
    if required and any(required):
        series.append(svg.Series("required domestic share", [pct(v) if v else None
                                                             for v in required], svg.CAP,
                                 kind="step", dash=True))
    cap = ctx.get("vendor_cap")
    if cap is not None:
        series.append(svg.Series("vendor cap", [cap * 100] * len(periods), "#777777",
                                 kind="step", dash=True))
    chart = svg.chart("chart-shares", periods, series,
                      title=f"Shares of the fleet ({d.get('share_basis', 'compute')} basis)",
                      y_label="share (%)", y_format=lambda v: f"{v:g} %", y_max=100)
    table_rows = []
    for i, p in enumerate(periods):
        r = by_period.get(p)
        if r is None:
            continue
        empty = not r.get("vendors")
        row = {"period": p, "domestic": None if empty else r["domestic"],
               "required": required[i] if required else None}
        for v in vendors:
            row[v] = None if empty else (r.get("vendors") or {}).get(v, 0.0)
        table_rows.append(row)
    columns = [Col("period", "period"),
               Col("domestic", "domestic (%)", lambda v: percent(v, 1), num=True)]
    if required and any(v is not None for v in required):
        columns.append(Col("required", "required (%)", lambda v: percent(v, 1), num=True,
                           cls=lambda r: "short" if r.get("domestic") is not None
                           and r.get("required")
                           and r["domestic"] < r["required"] - 1e-6 else ""))
    columns += [Col(v, f"{v} (%)", lambda x: percent(x, 1), num=True) for v in vendors]
    return section("shares", "Shares vs policy", figure(chart),
                   table("shares", columns, table_rows,
                         caption=f"Shares on the {d.get('share_basis', 'compute')} basis; "
                                 "— = nothing in service that period"))


def caps_table(d: Mapping[str, Any], ctx: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Power (MW) and capex per period against the caps.

    The plan's ``usage`` when it has one, else computed from the allocation and the context
    (watts per card, PUE, caps).
    """
    if d.get("usage"):
        return [dict(r) for r in d["usage"]]
    periods = d.get("periods") or []
    same = ctx.get("periods") == periods
    watts = {sku: (row.get("tdp_w") or 0.0) for sku, row in (ctx.get("skus") or {}).items()}
    pue = float(ctx.get("pue") or 1.0)
    power: dict[str, float] = {}
    for r in d.get("allocation") or []:
        power[r["period"]] = power.get(r["period"], 0.0) + r["units"] * watts.get(r["sku"], 0.0)
    capex: dict[str, float] = {}
    for r in d.get("purchases") or []:
        capex[r["period"]] = capex.get(r["period"], 0.0) + float(r["spend"])
    out = []
    for i, p in enumerate(periods):
        out.append({
            "period": p,
            "power_mw": power.get(p, 0.0) * pue / 1e6 if ctx.get("skus") else None,
            "power_cap_mw": (ctx.get("power_cap_mw") or [None] * len(periods))[i] if same
            else None,
            "capex": capex.get(p, 0.0),
            "budget": (ctx.get("budget") or [None] * len(periods))[i] if same else None,
        })
    return out


def _caps(d, ctx, cur: Currency) -> str:
    rows = caps_table(d, ctx)
    periods = d["periods"]
    if not rows:
        return ""
    parts = []
    for r in rows:
        cap, used = r.get("power_cap_mw"), r.get("power_mw")
        r["power_use"] = used / cap if cap and used is not None else None
        b, c = r.get("budget"), r.get("capex")
        r["budget_use"] = c / b if b and c is not None else None
    if any(r.get("power_mw") is not None for r in rows):
        series = [svg.Series("power in use (MW)", [r.get("power_mw") or None for r in rows],
                             "#dd8452")]
        caps, off = visible_caps([r.get("power_cap_mw") for r in rows],
                                  [r.get("power_mw") for r in rows], periods)
        if any(c is not None for c in caps):
            series.append(svg.Series("power cap (MW)", caps, svg.CAP, kind="step", dash=True))
        note = ("Caps far above the use are left off the scale: " + "; ".join(
            f"{p} {number(v, 3)} MW" for p, v in off) + ".") if off else ""
        parts.append(figure(svg.chart("chart-power", periods, series,
                                      title="Power drawn by the cards in use (incl. PUE)",
                                      y_label="MW", y_format=lambda v: f"{v:g}"), note))
    if any(r.get("budget") is not None for r in rows):  # else the purchases chart says it
        divisor, label = money_scale([r.get("capex") for r in rows]
                                     + [r.get("budget") for r in rows], cur)
        series = [svg.Series(f"capex ({label})", [(r.get("capex") or 0) / divisor or None
                                                  for r in rows], "#4c72b0"),
                  svg.Series(f"budget ({label})", [None if r.get("budget") is None
                                                   else r["budget"] / divisor for r in rows],
                             svg.CAP, kind="step", dash=True)]
        parts.append(figure(svg.chart("chart-budget", periods, series,
                                      title="Capex per period against the budget",
                                      y_label=f"{label} (nominal)")))
    money_col = functools.partial(money_exact, currency=cur)
    columns = [Col("period", "period"),
               Col("power_mw", "power (MW)", megawatts, num=True),
               Col("power_cap_mw", "power cap (MW)", megawatts, num=True),
               Col("power_use", "of cap (%)", lambda v: percent(v, 1), num=True,
                   cls=lambda r: "short" if (r.get("power_use") or 0) > 0.999 else ""),
               Col("capex", f"capex ({cur.code})", money_col, num=True),
               Col("budget", f"budget ({cur.code})", money_col, num=True),
               Col("budget_use", "of budget (%)", lambda v: percent(v, 1), num=True,
                   cls=lambda r: "short" if (r.get("budget_use") or 0) > 0.999 else "")]
    if not any(r.get("power_cap_mw") is not None for r in rows):
        columns = [c for c in columns if c.key not in ("power_cap_mw", "power_use")]
    if not any(r.get("budget") is not None for r in rows):
        columns = [c for c in columns if c.key not in ("budget", "budget_use")]
    if any(r.get("binding") for r in rows):
        columns.append(Col("binding", "binding", lambda v: ", ".join(v) if isinstance(v, list)
                           else str(v or "")))
    caption = ("Power: Σ cards in use × TDP × PUE; — = no cap in that period (no cap column: "
               "no cap in any period)")
    if not ctx.get("skus") and not d.get("usage"):
        caption = "Power needs the scenario (TDP per card): chipmix report PLAN --scenario S"
    parts.append(table("caps", columns, rows, caption=caption))
    return section("caps", "Power and budget against their caps", *parts)


def _spans(rows: Sequence[Mapping[str, Any]], periods: Sequence[str]) -> list[dict[str, Any]]:
    """Runs of consecutive periods with the same status and reason."""
    order = {p: i for i, p in enumerate(periods)}
    out: list[dict[str, Any]] = []
    for r in sorted(rows, key=lambda r: order.get(r["period"], 0)):
        last = out[-1] if out else None
        if (last and last["status"] == r["status"] and last["reason"] == r["reason"]
                and order.get(last["to"], -2) + 1 == order.get(r["period"], -1)):
            last["to"] = r["period"]
        else:
            out.append({"from": r["period"], "to": r["period"], "status": r["status"],
                        "reason": r["reason"]})
    return out


_UNBUYABLE = ("no price", "not released", "serves no workload", "no power")


def sku_verdicts(d: Mapping[str, Any], sens: Mapping[str, Any] | None = None
                 ) -> list[dict[str, Any]]:
    """One row per SKU: units bought, a verdict and why, and its status by period.

    Verdicts: ``bought``; ``not bought`` (buyable in some period, but other SKUs meet demand
    and policy for less; the break-even price when the plan has sensitivities); ``not
    buyable`` (a rule, a missing figure or no supply in every period); ``not relevant``
    (serves none of the scenario's workloads).
    """
    periods = d.get("periods") or []
    bought: dict[str, dict[str, float]] = {}
    for r in d.get("purchases") or []:
        mine = bought.setdefault(r["sku"], {})
        mine[r["period"]] = mine.get(r["period"], 0.0) + float(r["units"])
    by_sku: dict[str, list[Mapping[str, Any]]] = {}
    for r in d.get("availability") or []:
        by_sku.setdefault(r["sku"], []).append(r)
    break_even: dict[str, Mapping[str, Any]] = {}
    for r in (sens or {}).get("break_even") or []:
        break_even.setdefault(r["sku"], r)
    out = []
    for sku in sorted(set(by_sku) | set(bought)):
        rows = by_sku.get(sku, [])
        spans = _spans(rows, periods)
        buys = bought.get(sku, {})
        units = sum(buys.values())
        irrelevant = bool(rows) and all(str(r["reason"]).startswith("serves no workload")
                                        for r in rows)
        buyable = [r for r in rows if r["status"] in ("allowed", "license", "notify")
                   and (r.get("supply") is None or r["supply"] > 0)
                   and not str(r["reason"]).startswith(_UNBUYABLE)]
        blocked = [s for s in spans if s["status"] not in ("allowed",)
                   or str(s["reason"]).startswith(_UNBUYABLE)]
        if units > 0:
            verdict = "bought"
            why = "bought in " + ", ".join(f"{p} ({number(u)})" for p, u in buys.items())
            later = [s for s in blocked if s["from"] not in buys]
            if later:
                why += "; not buyable in " + _reasons(later)
        elif irrelevant:
            verdict = "not relevant"
            why = str(rows[0]["reason"])
        elif buyable:
            verdict = "not bought"
            why = (f"buyable in {_span_text(_spans(buyable, periods))}, but other SKUs meet "
                   "demand and policy for less")
            be = break_even.get(sku)
            if be and be.get("break_even_price") is not None:
                why += (f"; it would be bought at or below "
                        f"{money_exact(be['break_even_price'])} per card in {be['period']}"
                        f" (now {money_exact(be.get('unit_price'))})")
        else:
            verdict = "not buyable"
            why = _reasons(blocked) or "no supply to this buyer"
        out.append({"sku": sku, "verdict": verdict, "units": units, "why": why,
                    "spans": spans})
    rank = {"bought": 0, "not bought": 1, "not buyable": 2, "not relevant": 3}
    return sorted(out, key=lambda r: (rank[r["verdict"]], -r["units"], r["sku"]))


def _reasons(spans: Sequence[Mapping[str, Any]]) -> str:
    """``2024Q1–2025Q4: denied (us-2023-10 ...)``, one clause per distinct reason."""
    by_reason: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for s in spans:
        by_reason.setdefault((s["status"], s["reason"]), []).append(s)
    return "; ".join(f"{_span_text(group)}: {status}"
                     + (f" ({_short_reason(reason)})" if reason else "")
                     for (status, reason), group in by_reason.items())


def _short_reason(reason: str) -> str:
    """The deciding rule or missing figure without its arithmetic (that is in the detail)."""
    head = str(reason).split(": ")[0]
    return head if len(head) <= 80 else head[:77] + "..."


def _span_text(spans: Sequence[Mapping[str, Any]]) -> str:
    return ", ".join(s["from"] if s["from"] == s["to"] else f"{s['from']}–{s['to']}"
                     for s in spans)


def _span_list(spans: Sequence[Mapping[str, Any]]) -> str:
    return "<ul class=\"spans\">" + "".join(
        f"<li><b>{escape(_span_text([s]))}</b> {escape(s['status'])}"
        + (f": {escape(str(s['reason']))}" if s["reason"] else "") + "</li>"
        for s in spans) + "</ul>"


def _why_skus(d, ctx, cur: Currency, info) -> str:
    verdicts = sku_verdicts(d, d.get("sensitivity"))
    if not verdicts:
        return ""
    relevant = [v for v in verdicts if v["verdict"] != "not relevant"]
    others = [v["sku"] for v in verdicts if v["verdict"] == "not relevant"]
    rows = [{**v, "vendor": (info.get(v["sku"]) or (ctx.get("skus") or {}).get(v["sku"])
                             or {}).get("vendor")} for v in relevant]
    columns = [Col("sku", "SKU"), Col("vendor", "vendor"), Col("verdict", "verdict"),
               Col("units", "bought (cards)", number, num=True), Col("why", "why"),
               Col("spans", "status by period (the deciding rule or missing figure)",
                   _span_list, html=True)]
    parts = [table("skus", columns, rows,
                   caption="Every SKU of the scenario's catalogs that could serve a workload")]
    if others:
        parts.append(para(f"{len(others)} SKUs serve none of this scenario's workloads (no "
                          f"figure for their metric, or filtered out by a workload's minimum "
                          f"memory or interconnect): {', '.join(others)}.", "note"))
    return section("skus", "Why each SKU was or was not bought", *parts)


def _sensitivity(d) -> str:
    s = d.get("sensitivity") or {}
    if not s:
        return ""
    parts = [para(str(s.get("note", "")), "note")]
    if "error" in s:
        parts.append(para(f"Sensitivity not available: {s['error']}", "bad"))
    titles = {
        "demand": "One more unit of demand costs (discounted USD per metric unit)",
        "domestic_share": "One more point of required domestic share costs (discounted USD)",
        "vendor_cap": "Vendor cap: change of cost per point (discounted USD)",
        "budget": "One more USD of budget changes the cost by (discounted USD per USD)",
        "power": "One more MW of power changes the cost by (discounted USD per MW)",
        "supply": "One more card of supply changes the cost by (discounted USD per card)",
        "pools": "One more card in a vendor's supply pool changes the cost by (discounted "
                 "USD per card)",
        "share_floors": "One more point of a required share floor costs (discounted USD)",
        "break_even": "Break-even prices: the price at which the plan would change",
    }
    for key, rows in s.items():
        if key in ("note", "error", "discount_factors") or not isinstance(rows, list) \
                or not rows:
            continue
        if key == "supply":
            rows = [r for r in rows if abs(r.get("usd_per_unit") or 0) > 1e-9] or rows[:0]
            if not rows:
                continue
        cols = list(dict.fromkeys(k for r in rows for k in r))
        columns = [Col(c, c.replace("_", " "), _sens_fmt(c), num=_is_num(rows, c))
                   for c in cols]
        parts.append(f"<h3>{escape(titles.get(key, key))}</h3>")
        parts.append(table(f"sensitivity-{key}", columns, rows))
    return section("sensitivity", "Sensitivity", *parts)


def _is_num(rows: Sequence[Mapping[str, Any]], key: str) -> bool:
    values = [r.get(key) for r in rows if r.get(key) is not None]
    return bool(values) and all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                for v in values)


def _sens_fmt(key: str) -> Callable[[Any], str]:
    if key == "change":
        return lambda v: percent(v, 1, signed=True)
    if key.endswith("price") or key.startswith("usd_per"):
        return lambda v: number(v, 2 if v is not None and abs(float(v)) < 10 else 0)
    def text(v: Any) -> str:
        if isinstance(v, bool):
            return "yes" if v else "no"
        return number(v) if isinstance(v, float) or v is None else str(v)  # None: —
    return text


def _assumptions(ctx, d) -> str:
    if not ctx:
        return section("assumptions", "Assumptions and sources", para(
            "This report was made from a plan file alone. Run `chipmix report PLAN.json "
            "--scenario SCENARIO.yaml` (or `chipmix report SCENARIO.yaml`) to add the "
            "scenario's assumptions, the rule sets in force and the sources of every "
            "catalog figure.", "note"))
    parts = []
    if ctx.get("description"):
        parts.append(f'<pre class="desc" id="description">{escape(ctx["description"])}</pre>')
    settings = [
        ("scenario file", ctx.get("source") or "(built in code)"),
        ("horizon", ctx.get("horizon")),
        ("buyer", f"{ctx.get('buyer')} buyer in {ctx.get('home')}"),
        ("discount rate", percent(ctx.get("discount_rate"), 1) + " per year"),
        ("catalogs", ", ".join(str(c) for c in ctx.get("catalogs") or [])),
        ("licences", _plain(ctx.get("licenses"))),
        ("unknown catalog cells", str(ctx.get("unknown_policy"))),
        ("policy", _plain(ctx.get("policy"))),
    ]
    if ctx.get("currency") and ctx["currency"].get("code") != "USD":
        c = ctx["currency"]
        settings.append(("currency", f"{c['code']} at {c['per_usd']:g} per USD"))
    for key, value in (ctx.get("assumptions") or {}).items():
        settings.append((key.replace("_", " "), _plain(value)))
    parts.append(table("settings", [Col("k", "setting"), Col("v", "value")],
                       [{"k": k, "v": v} for k, v in settings]))
    workloads = ctx.get("workloads") or []
    if workloads:
        parts.append("<h3>Workloads</h3>" + table(
            "workloads", [Col("name", "workload"), Col("kind", "kind"), Col("unit", "unit"),
                          Col("shortfall_penalty", "shortfall penalty (USD per unit and "
                              "period)", lambda v: DASH if v is None else number(v), num=True)],
            workloads))
    rules = ctx.get("rules") or []
    if rules:
        rows = [{**r, "window": f"{r['effective']}\u00a0→ {r['until'] or 'open'}",
                 "src": list(r["sources"])} for r in rules if r.get("binds", True)]
        parts.append("<h3>Rule sets in force during the horizon</h3>")
        parts.append(_linked_table("rules", [("id", "id"), ("title", "measure"),
                                             ("authority", "authority"), ("window", "in force"),
                                             ("confidence", "confidence"), ("src", "sources")],
                                   rows))
    used = sorted({r["sku"] for key in ("purchases", "fleet") for r in d.get(key) or []})
    skus = ctx.get("skus") or {}
    if used and skus:
        parts.append('<h3>Sources of the SKUs in the plan</h3><div id="sources">')
        for sku in used:
            row = skus.get(sku, {})
            head = f"{sku} — {row.get('name') or ''} ({row.get('vendor')}, catalog " \
                   f"{row.get('catalog')})"
            parts.append(f'<div class="source" data-sku="{escape(sku, quote=True)}">'
                         f"<h4>{escape(head)}</h4>")
            if row.get("notes"):
                parts.append(para(str(row["notes"]), "note"))
            parts.append('<ol class="src">' + "".join(
                f"<li>{link(u)}</li>" for u in row.get("sources") or []) + "</ol></div>")
        parts.append("</div>")
    return section("assumptions", "Assumptions and sources", *parts)


def _linked_table(table_id: str, columns: Sequence[tuple[str, str]],
                  rows: Sequence[Mapping[str, Any]]) -> str:
    out = [f'<div class="wide"><table id="{table_id}"><thead><tr>']
    out += [f"<th>{escape(h)}</th>" for _, h in columns]
    out.append("</tr></thead><tbody>")
    for r in rows:
        out.append("<tr>")
        for key, _ in columns:
            v = r.get(key)
            if key == "src":
                cell = "<br>".join(link(u, short=True) for u in v or [])
            else:
                cell = escape("" if v is None else str(v))
            out.append(f'<td data-key="{key}">{cell}</td>')
        out.append("</tr>")
    out.append("</tbody></table></div>")
    return "".join(out)


def _plain(value: Any) -> str:
    """Compact YAML-like text of scenario data."""
    if value is None:
        return DASH
    if isinstance(value, Mapping):
        items = [(k, v) for k, v in value.items() if v not in (None, {}, [], "")]
        return "; ".join(f"{k}: {_plain(v)}" for k, v in items) or DASH
    if isinstance(value, (list, tuple)):
        return ", ".join(_plain(v) for v in value) or DASH
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _solver(d) -> str:
    s = d.get("solver") or {}
    rows = [{"k": "solver", "v": str(s.get("name"))},
            {"k": "relative MIP gap", "v": gap(s.get("gap"))},
            {"k": "model", "v": f"{number(s.get('variables'))} variables "
                                f"({number(s.get('integers'))} integer), "
                                f"{number(s.get('constraints'))} constraints"}]
    if s.get("seconds") is not None:
        rows.append({"k": "solve time", "v": f"{s['seconds']:.2f} s"})
    return section("solver", "Solver", table("solver-info", [Col("k", "item"),
                                                             Col("v", "value")], rows))


def _diagnosis(d) -> str:
    diag = d.get("diagnosis") or {}
    parts = [para(str(diag.get("summary") or d.get("message") or
                      "The solver found no plan."), "bad")]
    findings = diag.get("findings") or []
    if findings:
        parts.append("<ul id=\"findings\">" + "".join(f"<li>{escape(str(f.get('text')))}</li>"
                                                        for f in findings) + "</ul>")
    return section("diagnosis", "Why there is no plan", *parts)


def report(plan: Any, scenario: Any = None, path: Any = None) -> str:
    """The self-contained HTML report of ``plan`` (a Plan or its JSON dict) as text.

    Parameters
    ----------
    plan : the plan (:func:`chipmix.plan`'s result, or its JSON as a dict).
    scenario : its scenario, for the assumptions, sources, caps, power and currency
        (without it the report says what is missing).
    path : also write the report there (atomically), e.g. ``"report.html"``.

    Returns
    -------
    str : the HTML document (one file: inline CSS and SVG, no script).

    Raises
    ------
    InputError
        A plan dict that is not a chipmix plan JSON.
    OutputError
        ``path`` names a target the output policy refuses (:mod:`chipmix.io`).
    """
    html = plan_report(plan, scenario_context(scenario) if scenario is not None else None)
    if path is not None:
        write_text(path, html)
    return html


__all__ = ["METRIC_UNITS", "report", "caps_table", "fleet_use", "metric_unit", "plan_report",
           "scenario_context", "sku_verdicts"]
