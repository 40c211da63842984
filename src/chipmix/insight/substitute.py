"""Substitution table: what can replace a blocked or scarce SKU, workload by workload.

Built from the same figures the planner uses (:func:`chipmix.model.data.prepare`):
capability ``cap[k,w]`` (eligibility filters included), prices ``price[k,t]`` (fees
included), supply ``supply[k,t]`` after the rule cut, and the rule timeline's decision on
the day asked.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import pandas as pd

from chipmix.errors import InputError, unknown_name_hint
from chipmix.numbers import json_number
from chipmix.periods import parse_period
from chipmix.pipeline.run import Run
from chipmix.rules import Timeline, load_rulesets

COLUMNS = [
    "workload", "metric", "sku", "vendor", "origin", "units_per_unit", "unit_price",
    "usd_per_metric_unit", "watts_per_metric_unit", "status", "buyable", "supply", "why",
]


@dataclass
class Substitution:
    """The substitutes of ``sku`` on ``date``.

    Attributes
    ----------
    sku : the SKU replaced.
    date : the day whose rules decide ``status`` (and whose period gives prices and supply).
    period : the horizon period containing ``date`` (clipped to the horizon).
    date_note : why this date (asked, the day the SKU stops being buyable, or the horizon start).
    replaced : the SKU's own row per workload (``units_per_unit`` = 1).
    table : one row per (workload, substitute); columns :data:`COLUMNS`:
        ``units_per_unit`` units of the substitute per unit replaced (``cap[sku,w]/cap[k,w]``),
        ``unit_price`` USD per card in ``period`` (fees included; NaN = no price),
        ``usd_per_metric_unit`` = unit_price / cap (USD per PFLOPS, TB/s, …),
        ``watts_per_metric_unit`` = tdp × PUE / cap, ``status`` the rules' status on ``date``,
        ``buyable`` whether at least one server can be bought in ``period``, ``supply`` the
        units purchasable in ``period`` (None = unlimited), ``why`` the deciding cause when
        not buyable (or cut).
    """

    sku: str
    date: dt.date
    period: str
    date_note: str
    replaced: pd.DataFrame
    table: pd.DataFrame

    def to_dict(self) -> dict:
        def records(frame):
            out = []
            for row in frame[COLUMNS].to_dict("records"):
                out.append({k: _plain(v) for k, v in row.items()})
            return out

        return {
            "sku": self.sku,
            "date": self.date.isoformat(),
            "period": self.period,
            "date_note": self.date_note,
            "replaced": records(self.replaced),
            "substitutes": records(self.table),
        }


def _plain(v):
    return json_number(v.item() if hasattr(v, "item") else v)


def parse_day(text: str | dt.date) -> dt.date:
    """A day from ``2024-05-01``, or the first day of a period (``2024Q2``, ``2024-05``)."""
    if isinstance(text, dt.date):
        return text

    try:
        return parse_period(text).start
    except ValueError:
        pass
    try:
        return dt.date.fromisoformat(str(text))
    except ValueError:
        raise InputError(field="--at", value=text,
                         expected="a date (2024-05-01) or a period (2024Q2, 2024-05)") from None


def substitution_table(scenario, sku: str, workload: str | None = None,
                       at: str | dt.date | None = None) -> Substitution:
    """Substitutes of ``sku`` per workload under ``scenario`` on day ``at``.

    ``at`` defaults to the first day of the first period in which ``sku`` can no longer be
    bought after having been buyable (the day the window closes), else the horizon start.

    Raises
    ------
    InputError
        A bad scenario or ``at`` date, an unknown SKU or workload, or a SKU that serves
        none of the scenario's workloads (or not the one asked for).
    """
    catalog = scenario.load_catalog()
    frame = catalog.frame
    if sku not in frame.index:
        raise InputError("unknown SKU", field="SKU", value=sku,
                         expected="a SKU of the scenario's catalogs",
                         hint=unknown_name_hint(sku, list(frame.index)))
    timeline = Timeline(
        load_rulesets(scenario.rules, base_dir=scenario.base_dir), frame,
        home=scenario.home, buyer=scenario.buyer, unknown_policy=scenario.unknown_policy,
        params=dict(scenario.rule_params or {}),
    )
    data = Run.for_scenario(scenario).prepare(catalog=catalog, timeline=timeline).data
    served = [w for (k, w) in data.cap.index if k == sku]
    if not served:
        raise InputError(f"{sku} serves none of the scenario's workloads "
                         "(no figure for their metric, or filtered out by their requirements)",
                         field="SKU", value=sku)
    if workload is not None:
        if workload not in data.workloads.index:
            raise InputError("unknown workload", field="--workload", value=workload,
                             expected="a workload of the scenario",
                             hint=unknown_name_hint(workload, list(data.workloads.index)))
        if workload not in served:
            raise InputError(f"{sku} cannot serve {workload}", field="--workload",
                             value=workload, expected="one of " + ", ".join(served))
        served = [workload]

    day, note = _pick_day(data, sku, at)
    labels = data.labels
    t = _period_index(data, day)
    period = labels[t]
    pue = float(data.period_table["pue"].iloc[t])
    avail = data.availability[data.availability["period"] == period].set_index("sku")

    rows = []
    for w in served:
        need = float(data.cap[(sku, w)])
        metric = data.workloads.at[w, "metric"]
        for k in data.cap.xs(w, level="workload").index:
            cap = float(data.cap[(k, w)])
            price = _price_on(data, k, t, day)
            watts = float(data.skus.at[k, "watts"])
            supply = float(data.supply.at[period, k])
            server = int(data.skus.at[k, "server"])
            decision = timeline.decide(k, day)
            cause = str(avail.at[k, "cause"]) if k in avail.index else ""
            buyable = supply >= server
            rows.append({
                "workload": w,
                "metric": metric,
                "sku": k,
                "vendor": data.skus.at[k, "vendor"],
                "origin": data.skus.at[k, "origin"],
                "units_per_unit": need / cap,
                "unit_price": price,
                "usd_per_metric_unit": price / cap,
                "watts_per_metric_unit": watts * pue / cap,
                "status": str(decision.status),
                "buyable": bool(buyable),
                "supply": None if math.isinf(supply) else supply,
                "why": cause if (cause or not buyable) else "",
            })
    table = pd.DataFrame(rows, columns=COLUMNS)
    order = {w: i for i, w in enumerate(data.workloads.index)}
    table["_w"] = table["workload"].map(order)
    table["_cost"] = table["usd_per_metric_unit"].fillna(math.inf)
    table = table.sort_values(["_w", "buyable", "_cost", "sku"],
                              ascending=[True, False, True, True])
    table = table.drop(columns=["_w", "_cost"]).reset_index(drop=True)
    mine = table["sku"] == sku
    return Substitution(sku=sku, date=day, period=period, date_note=note,
                        replaced=table[mine].reset_index(drop=True),
                        table=table[~mine].reset_index(drop=True))


def _period_index(data, day: dt.date) -> int:
    periods = data.periods
    if day < periods[0].start:
        return 0
    for i, p in enumerate(periods):
        if p.start <= day < p.end:
            return i
    return len(periods) - 1


def _price_on(data, sku: str, t: int, day) -> float:
    """The SKU's unit price on ``day``.

    The SKU's unit price on ``day``: that of the purchase tranche containing it (terms can change
    inside a period), else the period's price.
    """
    tranches = getattr(data, "tranches", None)
    if tranches is not None and len(tranches):
        mine = tranches[(tranches["sku"] == sku) & (tranches["t"] == t)]
        for start, end, price in zip(mine["start"], mine["end"], mine["price"], strict=True):
            if start <= day < end:
                return float(price)
    return float(data.price.at[data.labels[t], sku])


def _pick_day(data, sku: str, at) -> tuple[dt.date, str]:
    periods = data.periods
    if at is not None:
        day = parse_day(at)
        note = "as asked"
        if day < periods[0].start or day >= periods[-1].end:
            note += " (outside the horizon: prices and supply of the nearest period)"
        return day, note
    server = int(data.skus.at[sku, "server"])
    supply = data.supply[sku].to_numpy()
    seen = False
    for i, value in enumerate(supply):
        if value >= server:
            seen = True
        elif seen:
            return periods[i].start, f"the first period {sku} can no longer be bought"
    if not seen:
        return periods[0].start, f"the horizon start ({sku} cannot be bought in the horizon)"
    return periods[0].start, "the horizon start"


__all__ = ["COLUMNS", "Substitution", "parse_day", "substitution_table"]
