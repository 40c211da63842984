"""The result of planning: :class:`Plan` — purchases, fleet, allocation, costs, shares.

:func:`chipmix.planner.extract.extract` makes one from a solved run. The plan's JSON follows
``formats.md`` (stable key order, lists sorted by period then SKU) so the same inputs give
byte-identical output (numbers: :mod:`chipmix.numbers`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from chipmix.errors import PlanError
from chipmix.inputs.solver import Status
from chipmix.numbers import json_number


@dataclass
class Plan:
    """The result of one planning run.

    DataFrames are empty (with their columns) when the run found no plan; ``diagnosis``
    then says why.
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
                self.purchases, ["period", "sku", "servers", "units", "unit_price", "spend"]
            ),
            "allocation": _records(self.allocation, ["period", "sku", "workload", "units"]),
            "fleet": _records(self.fleet, ["period", "sku", "units"]),
            "delivered": _records(
                self.delivered, ["period", "workload", "demand", "delivered", "shortfall"]
            ),
            "shares": [
                {
                    "period": r["period"],
                    "domestic": json_number(r["domestic"]),
                    "vendors": {k: json_number(v) for k, v in sorted(r["vendors"].items())},
                }
                for r in self.shares.to_dict("records")
            ],
            "availability": _records(
                self.availability, ["period", "sku", "status", "supply", "reason"]
            ),
            "ported": _records(self.ported, ["vendor", "workload", "fraction"]),
            "solver": {k: json_number(v) if isinstance(v, float) else v for k, v in self.solver.items()},
            "sensitivity": self.sensitivity,
            # extensions (formats.md: extend, never break)
            "discounted_cost": {k: json_number(self.discounted.get(k, 0.0)) for k in COST_KEYS[:-1]},
            "share_basis": self.share_basis,
            "timings": {k: json_number(v) for k, v in self.timings.items()},
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


def _records(frame: pd.DataFrame, columns: list[str]) -> list[dict[str, Any]]:
    out = []
    cols = [c for c in columns if c in frame.columns]
    for row in frame[cols].itertuples(index=False, name=None):
        out.append({c: json_number(v) for c, v in zip(cols, row, strict=True)})
    return out
