"""The result of planning: :class:`Plan` — purchases, fleet, allocation, costs, shares.

:func:`chipmix.planner.extract.extract` makes one from a solved run. The plan's JSON follows
``formats.md`` (stable key order, lists sorted by period then SKU) so the same inputs give
byte-identical output (numbers: :mod:`chipmix.numbers`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from html import escape
from typing import Any

import pandas as pd

from chipmix.errors import PlanError
from chipmix.inputs.solver import Status
from chipmix.numbers import json_number

#: Columns of :attr:`Plan.usage` (power and budget per period against the caps).
USAGE_COLUMNS = ["period", "power_mw", "power_cap_mw", "capex", "budget", "binding"]


@dataclass
class Plan:
    """The result of one planning run.

    Tables (pandas; ``period`` is an ordered category of the horizon's periods, so tables
    sort and slice in time order):

    - ``purchases`` — period, sku, vendor, origin, servers, units (cards), unit_price
      (USD/card), spend (USD);
    - ``allocation`` — period, sku, workload, units (cards serving it);
    - ``fleet`` — period, sku, vendor, origin, units (cards in service), in_use, idle;
    - ``delivered`` — period, workload, unit (of the workload's metric), demand, delivered,
      shortfall (per period), binding (what stopped the plan from delivering more, ``; ``
      separated, '' without shortfall);
    - ``shares`` — period, domestic, vendors (``{vendor: share}``; tidy: :attr:`vendor_shares`);
    - ``usage`` — period, power_mw (cards in use, incl. PUE), power_cap_mw, capex (USD),
      budget (USD; NaN = no cap), binding (the caps that bind, ``; `` separated);
    - ``availability`` — period, sku, status, supply, fee, reason, cause;
    - ``ported`` — vendor, workload.

    Money is USD; ``currency`` is the scenario's display currency. DataFrames are empty (with
    their columns) when the run found no plan; ``diagnosis`` then says why.
    """

    scenario: str
    status: Status
    objective: float | None
    cost: dict[str, float]
    discounted: dict[str, float]
    periods: list[str]
    purchases: pd.DataFrame
    allocation: pd.DataFrame
    fleet: pd.DataFrame
    delivered: pd.DataFrame
    shares: pd.DataFrame
    availability: pd.DataFrame
    ported: pd.DataFrame
    solver: dict[str, Any]
    timings: dict[str, float] = field(default_factory=dict)
    diagnosis: dict[str, Any] | None = None
    sensitivity: dict[str, Any] = field(default_factory=dict)
    share_basis: str = "compute"
    message: str = ""
    usage: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=USAGE_COLUMNS))
    currency: dict[str, Any] = field(default_factory=lambda: {"code": "USD", "per_usd": 1.0})
    share_of: str = "use"

    @property
    def vendor_shares(self) -> pd.DataFrame:
        """The shares in long form: period, vendor, share (one row per vendor in service)."""
        rows = [(r["period"], v, float(x)) for r in self.shares.to_dict("records")
                for v, x in sorted(r["vendors"].items())]
        frame = pd.DataFrame(rows, columns=["period", "vendor", "share"])
        frame["period"] = frame["period"].astype(str).astype(
            pd.CategoricalDtype(list(self.periods), ordered=True))
        frame["vendor"] = frame["vendor"].astype("string")
        return frame

    def _repr_html_(self) -> str:
        """A notebook's view: status, cost, purchases and shortfalls (pandas' own tables)."""
        head = (f"<p><b>{escape(self.scenario)}</b>: {escape(self.status.value)}"
                + (f", objective {self.objective:,.0f} USD (discounted)"
                   if self.objective is not None else "") + "</p>")
        if not self.ok:
            why = (self.diagnosis or {}).get("summary") or self.message
            return head + f"<p>{escape(str(why))}</p>"
        cost = pd.DataFrame({"nominal (USD)": {k: self.cost.get(k) for k in COST_KEYS[:5]},
                             "discounted (USD)": {k: self.discounted.get(k)
                                                  for k in COST_KEYS[:5]}})
        parts = [head, "<p>Cost</p>", cost.to_html(float_format=lambda v: f"{v:,.0f}"),
                 f"<p>Purchases ({len(self.purchases)} lines)</p>",
                 self.purchases.to_html(index=False, max_rows=20,
                                        float_format=lambda v: f"{v:,.2f}")]
        short = self.delivered[self.delivered["shortfall"] > 1e-9]
        if len(short):
            parts += ["<p>Shortfalls</p>", short.to_html(index=False, max_rows=20,
                                                          float_format=lambda v: f"{v:,.2f}")]
        return "".join(parts)

    @property
    def ok(self) -> bool:
        """True when the plan holds decisions (optimal, or feasible within a gap)."""
        return self.status.has_plan

    def require_ok(self) -> None:
        if not self.ok:
            raise PlanError(
                f"plan for '{self.scenario}' has no decisions: status {self.status.value}"
            )

    # -- JSON -----------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The plan as plain data in the shape of formats.md."""
        d: dict[str, Any] = {
            "scenario": self.scenario,
            "status": self.status.value,
            "objective": json_number(self.objective),
            "cost": {k: json_number(self.cost.get(k, 0.0)) for k in COST_KEYS},
            "periods": list(self.periods),
            "purchases": _records(
                self.purchases,
                ["period", "sku", "servers", "units", "unit_price", "spend", "vendor", "origin",
                 "from", "until"],
            ),
            "allocation": _records(self.allocation, ["period", "sku", "workload", "units"]),
            "fleet": _records(self.fleet, ["period", "sku", "units", "in_use", "idle"]),
            "delivered": [
                {**r, "binding": _causes(b)} if b is not None else r
                for r, b in zip(
                    _records(self.delivered,
                             ["period", "workload", "demand", "delivered", "shortfall"]),
                    self.delivered["binding"] if "binding" in self.delivered
                    else [None] * len(self.delivered), strict=True)
            ],
            "shares": [_share_record(r) for r in self.shares.to_dict("records")],
            "availability": _records(
                self.availability, ["period", "sku", "status", "supply", "reason"]
            ),
            "ported": _records(self.ported, ["vendor", "workload", "fraction"]),
            "solver": {k: json_number(v) if isinstance(v, float) else v for k, v in self.solver.items()},
            "sensitivity": self.sensitivity,
            # extensions (formats.md: extend, never break)
            "discounted_cost": {k: json_number(self.discounted.get(k, 0.0)) for k in COST_KEYS[:-1]},
            "share_basis": self.share_basis,
            "share_of": self.share_of,
            "timings": {k: json_number(v) for k, v in self.timings.items()},
            "usage": [
                {**r, "binding": _causes(b)} for r, b in zip(
                    _records(self.usage, USAGE_COLUMNS[:-1]), self.usage["binding"],
                    strict=True)
            ] if len(self.usage) else [],
            "skus": _sku_records(self),
            "currency": dict(self.currency),
        }
        if self.diagnosis is not None:
            d["diagnosis"] = self.diagnosis
        if self.message:
            d["message"] = self.message
        return d

    def to_json(self, timings: bool = False) -> str:
        """JSON text of :meth:`to_dict`.

        Without ``timings`` the wall-clock figures (``solver.seconds`` and the per-phase
        ``timings``) are left out, so the same inputs give byte-identical JSON; with it they
        are included (``chipmix plan --timings``).
        """
        d = self.to_dict()
        if not timings:
            d.pop("timings", None)
            d["solver"] = {k: v for k, v in d["solver"].items() if k != "seconds"}
        return json.dumps(d, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


COST_KEYS = ["capex", "energy", "porting", "shortfall", "total", "discounted_total"]


def _causes(text: str) -> list[str]:
    return [c for c in str(text).split("; ") if c]


def _sku_records(plan: Plan) -> list[dict[str, Any]]:
    """Vendor and origin of every SKU the plan buys or has in service."""
    rows: dict[str, dict[str, Any]] = {}
    for frame in (plan.purchases, plan.fleet):
        if not {"vendor", "origin"} <= set(frame.columns):
            continue
        for r in frame[["sku", "vendor", "origin"]].itertuples(index=False):
            rows.setdefault(str(r.sku), {"sku": str(r.sku), "vendor": _text(r.vendor),
                                         "origin": _text(r.origin)})
    return [rows[k] for k in sorted(rows)]


def _text(value: Any) -> str | None:
    return None if value is None or (isinstance(value, float) and value != value) \
        or value is pd.NA else str(value)


def _records(frame: pd.DataFrame, columns: list[str]) -> list[dict[str, Any]]:
    out = []
    cols = [c for c in columns if c in frame.columns]
    for row in frame[cols].itertuples(index=False, name=None):
        out.append({c: None if v is pd.NA else json_number(v)
                    for c, v in zip(cols, row, strict=True)})
    return out


def _share_record(r: dict[str, Any]) -> dict[str, Any]:
    """One row of ``shares``; ``floors`` (rule floors in force) only where there are some."""
    out: dict[str, Any] = {
        "period": r["period"],
        "domestic": json_number(r["domestic"]),
        "vendors": {k: json_number(v) for k, v in sorted(r["vendors"].items())},
    }
    floors = r.get("floors")
    if isinstance(floors, list) and floors:
        out["floors"] = [
            {"of": f["of"], "basis": f["basis"], "floor": json_number(f["floor"]),
             "rules": f["rules"], "domestic": json_number(f["domestic"])}
            for f in floors
        ]
    return out
