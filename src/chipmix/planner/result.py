"""The result of planning: :class:`Plan` — purchases, fleet, allocation, costs, shares.

:func:`extract` turns a solved :class:`~chipmix.pipeline.run.Run` into a Plan. The plan's
JSON follows ``formats.md`` (stable key order, lists sorted by period then SKU) so the same
inputs give byte-identical output.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from chipmix.errors import PlanError
from chipmix.inputs.solver import Status
from chipmix.model.build import service_window
from chipmix.numbers import json_number
from chipmix.pipeline.run import Run


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


def extract(run: Run) -> Plan:
    """Turn a solved run into a Plan (reports computed from the solution vector)."""
    data, model, index, result, options = run.data, run.model, run.index, run.result, run.options
    labels = data.labels
    solver_info = {
        "name": result.solver,
        "seconds": result.seconds,
        "gap": result.gap,
        "variables": model.num_cols,
        "constraints": model.num_rows,
        "integers": 0 if options.relax else model.num_integers,
        "relaxed": options.relax,
        "message": result.message,
    }
    availability = data.availability.copy()
    availability["supply"] = availability["supply"].map(
        lambda s: None if math.isinf(s) else float(s)
    )
    availability = availability.sort_values(["period", "sku"], key=_period_key(labels)).reset_index(
        drop=True
    )
    empty = {
        "purchases": pd.DataFrame(
            columns=["period", "sku", "servers", "units", "unit_price", "spend"]
        ),
        "allocation": pd.DataFrame(columns=["period", "sku", "workload", "units"]),
        "fleet": pd.DataFrame(columns=["period", "sku", "units"]),
        "delivered": pd.DataFrame(
            columns=["period", "workload", "demand", "delivered", "shortfall"]
        ),
        "shares": pd.DataFrame(columns=["period", "domestic", "vendors"]),
        "ported": pd.DataFrame(columns=["vendor", "workload"]),
    }
    if not result.status.has_plan or result.x is None:
        return Plan(
            scenario=data.scenario.name,
            status=result.status,
            objective=None,
            cost={},
            discounted={},
            periods=labels,
            availability=availability,
            solver=solver_info,
            share_basis=data.share_basis,
            message=result.message,
            **empty,
        )
    # solver noise (|x| < 1e-9) reads as zero everywhere: purchases, use, shortfall, costs
    x = np.where(np.abs(result.x) < 1e-9, 0.0, result.x)
    pt = data.period_table
    disc = pt["discount"].to_numpy()
    skus = data.skus

    buy = index.buy.copy()
    servers = model.values(x, "buy")
    buy["servers"] = np.round(servers) if not options.relax else servers
    buy = buy[buy["servers"] > 1e-9]
    buy["units"] = buy["servers"] * buy["server"]
    buy["unit_price"] = buy["price"]
    buy["spend"] = buy["units"] * buy["price"]
    buy["period"] = [labels[t] for t in buy["t"]]
    purchases = buy[["period", "sku", "servers", "units", "unit_price", "spend", "t"]]
    purchases = purchases.sort_values(["t", "sku"]).drop(columns="t").reset_index(drop=True)
    if not options.relax:
        purchases["servers"] = purchases["servers"].astype(int)
        purchases["units"] = purchases["units"].astype(int)

    use = index.use.copy()
    use["units"] = model.values(x, "use")
    use["units"] = use["units"].where(use["units"].abs() > 1e-9, 0.0)
    used = use[use["units"] > 0]
    allocation = (
        pd.DataFrame(
            {
                "period": [labels[t] for t in used["t"]],
                "sku": used["sku"],
                "workload": used["workload"],
                "units": used["units"],
                "t": used["t"],
            }
        )
        .sort_values(["t", "sku", "workload"])
        .drop(columns="t")
        .reset_index(drop=True)
    )

    fleet = fleet_table(data, buy)
    delivered = delivered_table(data, use, index, model, x)
    shares = shares_table(data, use, buy)

    port = index.port.copy()
    z = model.values(x, "port")
    port["z"] = z if options.relax else np.round(z)  # as reported
    if len(port):
        ported = port[port["z"] > 1e-9].copy()
        ported = ported.rename(columns={"z": "fraction"})[["vendor", "workload", "fraction"]]
        if not options.relax:
            ported = ported.drop(columns="fraction")
        ported = ported.reset_index(drop=True)
    else:
        ported = empty["ported"]

    capex_t = buy.groupby("t")["spend"].sum().reindex(range(len(labels)), fill_value=0.0).to_numpy()
    energy_t = (
        (use["units"] * use["energy_per_unit"])
        .groupby(use["t"])
        .sum()
        .reindex(range(len(labels)), fill_value=0.0)
        .to_numpy()
        if len(use)
        else np.zeros(len(labels))
    )
    short = index.short.copy()
    short["value"] = model.values(x, "short")
    short["cost"] = short["value"] * short["workload"].map(data.workloads["penalty"])
    short_t = (
        short.groupby("t")["cost"].sum().reindex(range(len(labels)), fill_value=0.0).to_numpy()
        if len(short)
        else np.zeros(len(labels))
    )
    porting = float((port["port"] * port["z"]).sum()) if len(port) else 0.0
    cost = {
        "capex": float(capex_t.sum()),
        "energy": float(energy_t.sum()),
        "porting": porting,
        "shortfall": float(short_t.sum()),
    }
    cost["total"] = sum(cost.values())
    discounted = {
        "capex": float((capex_t * disc).sum()),
        "energy": float((energy_t * disc).sum()),
        "porting": porting,
        "shortfall": float((short_t * disc).sum()),
    }
    discounted["total"] = sum(discounted.values())
    cost["discounted_total"] = discounted["total"]
    del skus
    return Plan(
        scenario=data.scenario.name,
        status=result.status,
        objective=result.objective,
        cost=cost,
        discounted=discounted,
        periods=labels,
        purchases=purchases,
        allocation=allocation,
        fleet=fleet,
        delivered=delivered,
        shares=shares,
        availability=availability,
        ported=ported,
        solver=solver_info,
        share_basis=data.share_basis,
        message=result.message,
    )


def _period_key(labels):
    pos = {p: i for i, p in enumerate(labels)}

    def key(col):
        return col.map(pos) if col.name == "period" else col

    return key


def fleet_table(data, buy: pd.DataFrame) -> pd.DataFrame:
    """Units in service per SKU and period: inventory plus purchases in service."""
    T, K = len(data.periods), len(data.skus)
    skus = data.skus
    fleet = np.zeros((K, T + 1))
    if len(buy):
        first, last = service_window(data, buy)
        np.add.at(fleet, (buy["k_i"].to_numpy(), first), buy["units"].to_numpy(dtype=float))
        np.add.at(fleet, (buy["k_i"].to_numpy(), last), -buy["units"].to_numpy(dtype=float))
    fleet = np.cumsum(fleet, axis=1)[:, :T]
    alive = np.arange(T)[None, :] < skus["retire_t"].to_numpy(dtype=np.int64)[:, None]
    fleet += np.where(alive, skus["inventory"].to_numpy(dtype=float)[:, None], 0.0)
    t_i, k_i = np.nonzero(fleet.T > 1e-9)  # ordered by (t, sku position)
    units = fleet[k_i, t_i]
    frame = pd.DataFrame(
        {
            "period": np.asarray(data.labels, dtype=object)[t_i],
            "sku": skus.index.to_numpy()[k_i],
            "units": units,
        }
    )
    frame = frame.sort_values(["period", "sku"], key=_period_key(data.labels), kind="stable")
    frame = frame.reset_index(drop=True)
    rounded = np.round(frame["units"].to_numpy())
    if len(frame) and np.allclose(frame["units"].to_numpy(), rounded, rtol=0, atol=1e-6):
        frame["units"] = rounded.astype(int)
    return frame


def delivered_table(data, use, index, model, x) -> pd.DataFrame:
    """Demand, delivery and shortfall per period and workload (rows with demand or delivery)."""
    demand = data.demand.to_numpy()  # T × W
    got = np.zeros_like(demand)
    if len(use):
        np.add.at(
            got,
            (use["t"].to_numpy(), use["w_j"].to_numpy()),
            (use["units"] * use["cap"]).to_numpy(),
        )
    missing = np.zeros_like(demand)
    short = index.short
    if len(short):
        np.add.at(
            missing, (short["t"].to_numpy(), short["w_j"].to_numpy()), model.values(x, "short")
        )
    t_i, w_i = np.nonzero((demand > 0) | (got > 0))
    return pd.DataFrame(
        {
            "period": np.asarray(data.labels, dtype=object)[t_i],
            "workload": data.demand.columns.to_numpy()[w_i],
            "demand": demand[t_i, w_i],
            "delivered": got[t_i, w_i],
            "shortfall": missing[t_i, w_i],
        },
        columns=["period", "workload", "demand", "delivered", "shortfall"],
    )


def shares_table(data, use, buy) -> pd.DataFrame:
    """Domestic and per-vendor shares per period on the scenario's basis."""
    skus = data.skus
    T, K = len(data.periods), len(skus)
    amount = np.zeros((T, K))
    if data.share_basis == "spend":
        if len(buy):
            np.add.at(
                amount,
                (buy["t"].to_numpy(), buy["k_i"].to_numpy()),
                buy["spend"].to_numpy(dtype=float),
            )
    elif len(use):
        weight = (
            skus["weight"].to_numpy(dtype=float) if data.share_basis == "compute" else np.ones(K)
        )
        k_i = use["k_i"].to_numpy()
        np.add.at(amount, (use["t"].to_numpy(), k_i), use["units"].to_numpy() * weight[k_i])
    total = amount.sum(axis=1)
    domestic = amount[:, skus["domestic"].to_numpy(dtype=bool)].sum(axis=1)
    vendors = pd.DataFrame(amount.T, index=skus["vendor"].to_numpy()).groupby(level=0).sum()
    rows = []
    for t, label in enumerate(data.labels):
        if total[t] <= 1e-12:
            rows.append({"period": label, "domestic": 0.0, "vendors": {}})
            continue
        by_vendor = vendors[t]
        rows.append(
            {
                "period": label,
                "domestic": float(domestic[t] / total[t]),
                "vendors": {v: float(a / total[t]) for v, a in by_vendor.items() if a > 1e-12},
            }
        )
    return pd.DataFrame(rows, columns=["period", "domestic", "vendors"])
