"""HTML reports of the studies: ``compare``, ``sweep``, ``frontier`` and ``hedge`` (``--report FILE``).

Same page and rules as the plan report (:mod:`chipmix.present.html`): one file, inline SVG,
no script, every figure in a ``data-value`` attribute.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping, Sequence
from html import escape
from typing import Any

from chipmix.present import svg
from chipmix.present.export import to_records
from chipmix.present.formatting import (
    DASH,
    USD,
    Currency,
    money,
    money_exact,
    money_in,
    money_scale,
    number,
    percent,
)
from chipmix.present.html import (
    Col,
    cards,
    data_attr,
    figure,
    header_text,
    page,
    para,
    section,
    status_badge,
    table,
)
from chipmix.present.plan_report import _is_num, _vendor_colors


def _frame_rows(frame) -> list[dict[str, Any]]:
    return to_records(frame)


def _statuses(frame, names: Sequence[str]) -> dict[str, str]:
    """Each column's status: ``frame.attrs["status"]`` (chipmix.compare), else a status row."""
    if "status" in frame.index:
        return {n: str(frame.at["status", n]) for n in names}
    status = frame.attrs.get("status") or {}
    return {n: str(status.get(n, "")) for n in names}


def compare_report(frame, *, currency: Currency = USD, title: str = "chipmix compare") -> str:
    """The report of :func:`chipmix.compare`'s frame.

    Status, cost by category, units by vendor, domestic share per period, shortfall per
    workload — one column per scenario.
    """
    names = [c for c in frame.columns if c != "unit" and " vs " not in c]
    cur = currency

    def value(metric: str, name: str) -> float | None:
        try:
            v = frame.at[metric, name]
        except KeyError:
            return None
        try:
            v = float(v)
        except (TypeError, ValueError):
            return None
        return None if math.isnan(v) else v

    status = _statuses(frame, names)
    body = []
    totals = {n: c for n in names if (c := value("cost.discounted_total", n)) is not None}
    best = min(totals, key=totals.__getitem__, default=None)
    lead = f"{len(names)} scenarios compared; the first, {names[0]}, is the reference."
    if best is not None:
        lead += (f" Cheapest: {best} at {money(value('cost.discounted_total', best), cur)} "
                 "discounted.")
    failed = [n for n in names if status[n] not in ("optimal", "feasible")]
    if failed:
        lead += f" Without a plan: {', '.join(failed)}."
    body.append(section("headline", "Headline", para(lead, "lead")))
    costs = ["capex", "energy", "porting", "shortfall"]
    divisor, label = money_scale([value("cost.total", n) for n in names], cur)
    colors = {"capex": "#4c72b0", "energy": "#dd8452", "porting": "#8172b3",
              "shortfall": svg.SHORT}
    series = [svg.Series(c, [(value(f"cost.{c}", n) or 0) / divisor or None for n in names],
                         colors[c], hatch=c == "shortfall") for c in costs]
    series.append(svg.Series("discounted total", [None if (c := value("cost.discounted_total", n))
                                                  is None else
                                                  c / divisor
                                                  for n in names], svg.CAP, kind="line"))
    cost_chart = svg.chart("chart-compare-cost", names, series, title="Cost by category",
                           y_label=f"{label} (nominal)")
    vendor_rows = [m for m in frame.index if str(m).startswith("units.vendor.")]
    vendors = [m.split(".", 2)[2] for m in vendor_rows]
    vcolors = _vendor_colors(vendors)
    units_chart = svg.chart("chart-compare-units", names,
                            [svg.Series(v, [value(m, n) or None for n in names], vcolors[v])
                             for m, v in zip(vendor_rows, vendors, strict=True)],
                            title="Cards bought over the horizon by vendor",
                            y_label="cards (units)", y_format=lambda v: number(v, 0))
    share_rows = [m for m in frame.index if str(m).startswith("domestic_share.")]
    periods = [m.split(".", 1)[1] for m in share_rows]
    share_chart = svg.chart("chart-compare-share", periods,
                            [svg.Series(n, [None if (v := value(m, n)) is None else v * 100
                                            for m in share_rows],
                                        svg.PALETTE[i % len(svg.PALETTE)], kind="line",
                                        dash=i > 0) for i, n in enumerate(names)],
                            title="Domestic share by period", y_label="share (%)",
                            y_format=lambda v: f"{v:g} %", y_max=100)
    body.append(section("charts", "Charts", figure(cost_chart), figure(units_chart),
                        figure(share_chart)))
    rows = _frame_rows(frame)
    if "status" not in frame.index:  # chipmix.compare keeps the statuses in attrs
        every = _statuses(frame, [c for c in frame.columns if c != "unit"])
        rows.insert(0, {"metric": "status", "unit": "", **every})
    # the figures, then their differences from the reference: two tables of at most one
    # column per scenario each, so five scenarios fit a narrow page
    figures = [c for c in frame.columns[1:] if " vs " not in c]
    deltas = [c for c in frame.columns[1:] if " vs " in c]
    head = [Col("metric", "metric"), Col("unit", "unit")]
    parts = [_compare_table("compare", rows, [*head, *(Col(c, c, num=True) for c in figures)],
                            cur, caption="Each scenario's figures")]
    if deltas:
        parts.append(_compare_table(
            "compare-deltas", [r for r in rows if r.get("metric") != "status"],
            [*head, *(Col(c, "Δ " + c.split(" vs ")[0], num=True) for c in deltas)], cur,
            caption=f"Differences from the reference, {names[0]} (Δ = scenario − "
                    f"{names[0]})"))
    body.append(section("table", "All figures", *parts))
    return page(title, body, subtitle=" · ".join(names))


#: A comparison of more scenarios than this may not fit a narrow page: its tables scroll
#: sideways (their caption says so) with the metric column kept in view.
SCROLL_SCENARIOS = 5


def _compare_table(table_id: str, rows: Sequence[Mapping[str, Any]], columns: Sequence[Col],
                   cur: Currency, *, caption: str) -> str:
    scrolls = len(columns) - 2 > SCROLL_SCENARIOS
    # the announcement stands above the scrolling box: a caption inside it is clipped
    out = [f'<p class="note" id="{table_id}-scrolls">This table scrolls sideways for every '
           f"scenario; the metric column stays in view.</p>"
           f'<div class="wide" data-scroll><table id="{table_id}" class="sticky">' if scrolls
           else f'<div class="wide"><table id="{table_id}">',
           f"<caption>{escape(caption)}</caption><thead><tr>"]
    out += [f'<th class="{"num" if c.num else ""}">{header_text(c.header)}</th>' for c in columns]
    out.append("</tr></thead><tbody>")
    for r in rows:
        unit = str(r.get("unit") or "")
        out.append("<tr>")
        for c in columns:
            v = r.get(c.key)
            if not c.num:
                out.append(f'<td data-key="{escape(c.key)}">{escape(str(v or ""))}</td>')
                continue
            delta = c.header.startswith("Δ ")
            text = _figure_text(v, unit, delta, cur)
            attr = data_attr(v) if not isinstance(v, str) else escape(v, quote=True)
            out.append(f'<td class="num" data-key="{escape(c.key)}" data-value="{attr}">'
                       f"{escape(text)}</td>")
        out.append("</tr>")
    out.append("</tbody></table></div>")
    return "".join(out)


def _figure_text(v: Any, unit: str, delta: bool, cur: Currency) -> str:
    if v is None:
        return DASH
    if isinstance(v, str):
        return v
    if unit.startswith("USD"):
        return money(v, cur, signed=delta)
    if unit.startswith("share"):
        return percent(v, 1, signed=delta, points=delta)
    return number(v, 0 if float(v).is_integer() else 2, signed=delta)


def sweep_report(frame, axes: Sequence[str], *, scenario: str = "sweep",
                 currency: Currency = USD) -> str:
    """The report of a sweep: cost against each varied key, and every variant's row."""
    cur = currency
    rows = _frame_rows(frame)
    ok = [r for r in rows if r.get("status") in ("optimal", "feasible")]
    lead = f"{len(rows)} variants of {scenario} over {', '.join(axes)}; {len(ok)} with a plan."
    if ok:
        lo = min(ok, key=lambda r: r["objective"])
        hi = max(ok, key=lambda r: r["objective"])
        lead += (f" Cost ranges from {money(lo['objective'], cur)} (variant {lo['variant']}) to "
                 f"{money(hi['objective'], cur)} (variant {hi['variant']}), discounted.")
    body = [section("headline", "Headline", para(lead, "lead"))]
    charts = []
    for k, x in enumerate(axes):
        others = [a for a in axes if a != x]
        xs = sorted({r[x] for r in rows}, key=_sort_key)
        groups: dict[tuple, dict[Any, float | None]] = {}
        for r in rows:
            key = tuple(r.get(o) for o in others)
            groups.setdefault(key, {})[r[x]] = (r["objective"] if r in ok else None)
        divisor, label = money_scale([r["objective"] for r in ok], cur)
        series = []
        for i, (key, values) in enumerate(groups.items()):
            name = ", ".join(f"{o.split('.')[-1]}={_short(v)}" for o, v in
                             zip(others, key, strict=True)) or "minimum cost"
            series.append(svg.Series(name, [None if (y := values.get(v)) is None else
                                            y / divisor for v in xs],
                                     svg.PALETTE[i % len(svg.PALETTE)], kind="line",
                                     dash=i % 2 == 1))
        charts.append(figure(svg.chart(f"chart-sweep-{k}", [_short(v) for v in xs], series,
                                       title=f"Minimum cost against {x}",
                                       y_label=f"{label} (discounted)", x_label=x),
                             "Variants without a plan are gaps in the lines."))
    body.append(section("charts", "Charts", *charts))
    shares = [c for c in frame.columns if str(c).startswith("domestic_share.")]
    columns = [Col("variant", "#", number, num=True)]
    columns += [Col(a, a, _short, num=_is_num(rows, a)) for a in axes]
    columns += [Col("status", "status"),
                money_columns([r.get("objective") for r in ok], cur)(
                    "objective", "cost", "discounted")]
    if shares:
        columns.append(Col(shares[-1], f"domestic {shares[-1].split('.', 1)[1]} (%)",
                           lambda v: percent(v, 1), num=True))
    if "cost.shortfall" in frame.columns:
        columns.append(money_columns([r.get("cost.shortfall") for r in ok], cur)(
            "cost.shortfall", "shortfall"))
    columns.append(Col("top_skus", "top SKUs (units)"))
    if any(r.get("message") for r in rows):
        columns.append(Col("message", "why no plan"))
    body.append(section("variants", "Variants", table(
        "sweep", columns, rows, caption="A figure's tooltip gives it to the unit")))
    return page(f"chipmix sweep: {scenario}", body, subtitle=", ".join(axes))


def _sort_key(v: Any) -> tuple[int, Any]:
    return (0, v) if isinstance(v, (int, float)) else (1, str(v))


def _short(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:g}"
    text = "" if v is None else str(v)
    return text if len(text) <= 24 else text[:21] + "..."


def frontier_report(result, *, currency: Currency = USD) -> str:
    """The report of a frontier: minimum cost and shortfall against required domestic share."""
    cur = currency
    rows = _frame_rows(result.curve)
    labels = [percent(r["required_share"], 1) for r in rows]
    divisor, label = money_scale([r.get("objective") for r in rows], cur)
    series = [svg.Series("minimum cost", [None if r.get("objective") is None
                                          else r["objective"] / divisor for r in rows],
                         "#c7000b", kind="line")]
    if any((r.get("shortfall") or 0) > 0 for r in rows):
        series.insert(0, svg.Series("shortfall rent (nominal)", [
            (r.get("shortfall") or 0) / divisor or None for r in rows], svg.SHORT, hatch=True))
    chart = svg.chart("chart-frontier", labels, series,
                      title="The price of self-reliance", y_label=f"{label} (discounted)",
                      x_label=f"required domestic share from {result.start} "
                              f"({result.share_basis} basis)")
    lead = _frontier_lead(result, cur)
    for r in rows:
        r["mark"] = " = ".join(m for m, key in (("max without shortfall", "is_max_met"),
                                                ("max", "is_max")) if r.get(key))
    money_col = money_columns([v for r in rows for k in ("objective", "premium", "shortfall")
                               if (v := r.get(k)) is not None], cur)
    columns = [Col("required_share", "required share (%)", lambda v: percent(v, 1), num=True),
               Col("mark", "highest"),
               Col("status", "status"),
               money_col("objective", "cost", "discounted"),
               money_col("premium", "premium")]
    if any("shortfall" in r for r in rows):
        columns.append(dataclasses.replace(
            money_col("shortfall", "shortfall rent", "nominal"),
            cls=lambda r: "short" if (r.get("shortfall") or 0) > 0 else ""))
    columns.append(Col("top_skus", "top SKUs (units)"))
    body = [section("headline", "Headline", para(lead + ".", "lead")),
            section("curve", "Cost against required domestic share", figure(chart),
                    table("frontier", columns, rows,
                          caption="A figure's tooltip gives it to the unit"))]
    return page(f"chipmix frontier: {result.scenario}", body)


def _frontier_lead(result, cur: Currency) -> str:
    """The highest share met without shortfall first; the highest feasible one after it."""
    top = result.max_share
    if top is None:
        return "No plan even without a domestic-share requirement"
    met = getattr(result, "max_share_met", top)
    where = f" ({result.share_basis} basis, from {result.start})"
    if met is None:
        lead = "No required share is met without shortfall (even share 0 rents shortfall)"
    else:
        lead = f"Highest domestic share met without shortfall: {percent(met, 1)}{where}"
        premium = getattr(result, "premium_met", None)
        if premium is not None:
            lead += f", {money(premium, cur)} (discounted) more than share 0"
    if met is None or top > met + 1e-12:
        rent = getattr(result, "shortfall_at_max", None)
        lead += (f". With rented shortfall a plan exists up to {percent(top, 1)}"
                 + (f", renting {money(rent, cur)} (nominal) of shortfall there" if rent
                    else ""))
    return lead



def hedge_report(hedge: Any, *, currency: Currency = USD) -> str:
    """The report of a hedge (:class:`chipmix.hedging.Hedge` or its JSON as a dict).

    What to buy now, what each scenario buys later and costs, against hindsight and the
    base plan.
    """
    d = dict(hedge) if isinstance(hedge, Mapping) else hedge.to_dict()
    cur = currency
    name = str(d.get("scenario", "hedge"))
    status = str(d.get("status", "?"))
    scenarios = list(d.get("scenarios") or [])
    now = list(d.get("here_and_now") or [])
    reveals = d.get("reveals") or {}
    first = min(reveals.values()) if reveals else None
    risk = d.get("risk") or {}
    body = [f'<p class="lead">Status {status_badge(status)}</p>']
    if status not in ("optimal", "feasible"):
        body.append(section("diagnosis", "Why there is no hedge",
                            para(str(d.get("message") or "The solver found no hedge."),
                                 "bad")))
        return page(f"chipmix hedge: {name}", body)
    bought = ", ".join(f"{number(r['units'])} {r['sku']} ({r['period']})" for r in now) \
        or "nothing"
    lead = (f"Buy now{f', before {first} when the first outcome is known' if first else ''}: "
            f"{bought}. Expected cost {money(d.get('expected_cost'), cur)} over "
            f"{len(scenarios)} scenarios; with hindsight {money(d.get('wait_and_see'), cur)} "
            f"(a perfect forecast is worth at most {money(d.get('evpi'), cur)}).")
    base = d.get("deterministic") or {}
    if d.get("value_of_hedging") is not None:
        lead += (f" The base plan, re-planned in every scenario, costs "
                 f"{money(base.get('expected_cost'), cur)}: hedging is worth "
                 f"{money(d.get('value_of_hedging'), cur)}.")
    alpha = risk.get("alpha", 0.9)
    body.append(section("headline", "Headline", para(lead, "lead"), cards([
        ("expected", "expected cost", money(d.get("expected_cost"), cur), "discounted"),
        ("cvar", f"CVaR {percent(alpha)}", money(d.get("cvar"), cur),
         f"risk weight {number(risk.get('weight', 0.0), 2)}"),
        ("evpi", "EVPI", money(d.get("evpi"), cur), "worth of a perfect forecast"),
        ("hedging", "value of hedging", money(d.get("value_of_hedging"), cur),
         "vs the base plan re-planned"),
    ])))
    body.append(section("here-and-now", "Buy now (every scenario shares these)", table(
        "here_and_now", [Col("period", "period"), Col("sku", "SKU"),
                         Col("servers", "servers", number, num=True),
                         Col("units", "units (cards)", number, num=True)], now,
        caption="Purchases before the first outcome is known"
                + (f" ({', '.join(f'{e} from {p}' for e, p in reveals.items())})"
                   if reveals else ""))))
    body.append(_hedge_scenarios(scenarios, cur))
    body.append(_hedge_costs(scenarios, cur))
    body.append(_hedge_recourse(scenarios, now, cur))
    notes = [*(d.get("notes") or []), *((base or {}).get("notes") or [])]
    if notes:
        body.append(section("notes", "Notes", "<ul>" + "".join(
            f"<li>{escape(str(n))}</li>" for n in notes) + "</ul>"))
    return page(f"chipmix hedge: {name}", body,
                subtitle=f"{len(scenarios)} scenarios · risk weight "
                         f"{number(risk.get('weight', 0.0), 2)}, alpha {alpha:g}")


#: Scenario names longer than this are shown by their number (S1, S2, ...) in the chart and
#: the later tables; the scenarios table spells each out.
SHORT_NAMES = 14


def _scenario_ids(scenarios: list[Mapping[str, Any]]) -> dict[str, str]:
    """Each scenario's label in the chart and tables: its name, or S1, S2, ... when long."""
    names = [str(s["name"]) for s in scenarios]
    if max((len(n) for n in names), default=0) <= SHORT_NAMES:
        return {n: n for n in names}
    return {n: f"S{i + 1}" for i, n in enumerate(names)}


def _tagged(ids: Mapping[str, str]) -> Callable[[Any], str]:
    """A cell of a scenario's label with its whole name as the tooltip (markup)."""
    def cell(name: Any) -> str:
        label = ids.get(str(name), str(name))
        if label == str(name):
            return escape(label)
        return f'<span title="{escape(str(name), quote=True)}">{escape(label)}</span>'
    return cell


def _hedge_scenarios(scenarios: list[Mapping[str, Any]], cur: Currency) -> str:
    """Each scenario's cost against hindsight and the base plan: a chart and a table."""
    ids = _scenario_ids(scenarios)
    labels = [ids[str(s["name"])] for s in scenarios]
    abbreviated = any(ids[k] != k for k in ids)
    divisor, label = money_scale([s.get("cost") for s in scenarios]
                                 + [s.get("deterministic") for s in scenarios], cur)

    def scaled(key: str) -> list[float | None]:
        return [None if s.get(key) is None else s[key] / divisor for s in scenarios]

    chart = svg.chart("chart-hedge", labels, [
        svg.Series("hedge", scaled("cost"), "#4c72b0"),
        svg.Series("with hindsight", scaled("wait_and_see"), "#55a868", kind="dot"),
        svg.Series("base plan, re-planned", scaled("deterministic"), svg.SHORT, kind="dot"),
    ], title="Cost in each scenario" + (" (S1, S2, ...: the table below)" if abbreviated
                                        else ""), y_label=f"{label} (discounted)")
    rows = []
    for s in scenarios:
        row = {**s, "outcomes": [f"{k} = {v}" for k, v in (s.get("outcomes") or {}).items()]}
        if s.get("cost") is not None and s.get("wait_and_see") is not None:
            row["regret"] = s["cost"] - s["wait_and_see"]
        if s.get("cost") is not None and s.get("deterministic") is not None:
            row["vs_base"] = s["cost"] - s["deterministic"]
        rows.append(row)
    cost_col = money_columns([*(s.get("cost") for s in scenarios),
                              *(s.get("deterministic") for s in scenarios)], cur)
    columns = [Col("name", "#", _tagged(ids), html=True) if abbreviated
               else Col("name", "scenario"), Col("outcomes", "outcomes", _lines, html=True)]
    return section("scenarios", "Scenarios", figure(chart), table(
        "scenarios", [*columns,
                      Col("probability", "probability (%)", lambda v: percent(v, 1), num=True),
                      cost_col("cost", "hedge cost"),
                      cost_col("wait_and_see", "with hindsight"),
                      cost_col("regret", "regret"),
                      cost_col("deterministic", "base plan"),
                      cost_col("vs_base", "hedge − base")],
        rows, caption=f"Discounted costs in {label} (a figure's tooltip gives it to the "
                      "unit); regret = hedge − hindsight"
                      + ("; S1, S2, ... number the scenarios (each one's name is its "
                         "outcomes)" if abbreviated else "")))


def money_columns(values: Sequence[float | None], cur: Currency
                  ) -> Callable[..., Col]:
    """Columns of money in one unit fit to ``values`` (``money_scale``: M USD, ...).

    ``make(key, header, note="")`` is a column headed ``header (M USD, note)`` whose cells
    read ``35.83``: narrow, comparable down and across the columns; the exact amount is the
    cell's tooltip (and its ``data-value``, as in the JSON).
    """
    divisor, label = money_scale(values, cur)
    decimals = 2 if divisor * cur.per_usd > 1 else 0
    unit = label.replace(" ", "\u00a0")  # a header wraps before its unit, not inside it

    def make(key: str, header: str, note: str = "") -> Col:
        return Col(key, f"{header} ({unit}{', ' + note if note else ''})",
                   lambda v: money_in(v, divisor, decimals), num=True,
                   title=lambda v: money_exact(v, cur))
    return make


def _hedge_costs(scenarios: list[Mapping[str, Any]], cur: Currency) -> str:
    """Each scenario's discounted cost by category, and the vendors it ports workloads to."""
    categories = list(dict.fromkeys(k for s in scenarios for k in s.get("discounted_cost") or {}))
    if not categories:
        return ""
    tagged = _tagged(_scenario_ids(scenarios))
    rows = [{"name": s["name"], **(s.get("discounted_cost") or {}),
             "ported": [f"{p['workload']} → {p['vendor']}" for p in s.get("ported") or []]}
            for s in scenarios]
    cost_col = money_columns([r.get(c) for r in rows for c in categories], cur)
    return section("scenario-costs", "Cost by category in each scenario", table(
        "hedge-costs", [Col("name", "scenario", tagged, html=True),
                        *(cost_col(c, c) for c in categories),
                        Col("ported", "ported (workload → vendor)", _lines, html=True)],
        rows, caption="Discounted; the categories add up to the scenario's hedge cost"))


def _lines(values: Any) -> str:
    """One escaped line per item (markup): long outcome lists wrap instead of widening."""
    return "<br>".join(escape(str(v)) for v in (values or []))


def _hedge_recourse(scenarios: list[Mapping[str, Any]], now: list[Mapping[str, Any]],
                    cur: Currency) -> str:
    """What each scenario buys once its outcomes are known, and its shortfalls."""
    money_col = (lambda v: money_exact(v, cur))  # noqa: E731
    tagged = _tagged(_scenario_ids(scenarios))
    later = [{"scenario": s["name"], **p} for s in scenarios for p in s.get("purchases") or []
             if not any(p["period"] == n["period"] and p["sku"] == n["sku"] for n in now)]
    parts = [table("recourse", [Col("scenario", "scenario", tagged, html=True),
                                Col("period", "period"),
                                Col("sku", "SKU"), Col("units", "units (cards)", number,
                                                       num=True),
                                Col("spend", f"spend ({cur.code})", money_col, num=True)],
                   later, caption="What each scenario buys once its outcomes are known")
             if later else para("No scenario buys anything after the outcomes are known.")]
    short = [{"scenario": s["name"], **r} for s in scenarios for r in s.get("shortfall") or []]
    if short:
        keys = list(dict.fromkeys(k for r in short for k in r))
        parts.append(table("hedge-shortfall", [
            Col(k, k, tagged, html=True) if k == "scenario" else
            Col(k, k, (lambda v: number(v)) if isinstance(short[0].get(k), float) else str,
                num=isinstance(short[0].get(k), float)) for k in keys], short,
                           caption="Shortfalls per scenario"))
    return section("recourse", "Later purchases and shortfalls", *parts)


__all__ = ["compare_report", "frontier_report", "hedge_report", "money_columns",
           "sweep_report"]
