"""Why a plan is infeasible, in a planner's words.

Two steps: a pre-solve capacity check (can the SKUs that may serve a workload deliver its
demand at all, with every unit of supply bought?), then an elastic re-solve: the same model
with a priced slack on every demand, domestic-share, vendor-cap, budget and power row,
minimising the relative violation. Every slack left positive is a shortage: which constraint,
which period, by how much, and what binds around it.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from chipmix.numbers import rounded
from chipmix.pipeline.run import Run
from chipmix.solve import SolverOptions, Status, solve

ELASTIC = {  # row family -> (sign of the slack in the row, what it means)
    "demand": (+1.0, "short"),
    "domestic_share": (+1.0, "share short"),
    "share_floor": (+1.0, "rule floor short"),
    "vendor_cap": (-1.0, "vendor cap exceeded"),
    "pools": (-1.0, "over the vendor pool"),
    "budget": (-1.0, "over budget"),
    "power": (-1.0, "over the power cap"),
}

UNITS = {
    "bf16_pflops": "PFLOPS (bf16)",
    "fp8_pflops": "PFLOPS (fp8)",
    "int8_pops": "POPS (int8)",
    "memory_bw_tbps": "TB/s",
    "memory_tb": "TB",
}


def capacity_check(data, index) -> list[dict]:
    """Demand no allowed SKU mix could meet even buying every unit of supply."""
    use = index.use
    findings: list[dict[str, Any]] = []
    if not len(data.demand.columns):
        return findings
    best = (use["ub"] * use["cap"]).groupby([use["t"], use["workload"]]).sum() if len(use) else None
    for t, label in enumerate(data.labels):
        for w in data.demand.columns:
            need = float(data.demand.at[label, w])
            if need <= 0 or not math.isnan(data.workloads.at[w, "penalty"]):
                continue
            most = float(best.get((t, w), 0.0)) if best is not None else 0.0
            if most + 1e-9 < need:
                unit = UNITS.get(data.workloads.at[w, "metric"], "")
                serving = sorted(
                    set(use.loc[(use["t"] == t) & (use["workload"] == w) & (use["ub"] > 0), "sku"])
                )
                cause = (
                    "no SKU that may serve it can be bought in time or is in inventory"
                    if not serving
                    else "even all the supply of the SKUs that may serve it falls short ("
                    + ", ".join(serving[:6])
                    + (", ..." if len(serving) > 6 else "")
                    + ")"
                )
                priced_out = _budget_priced_out(data, w, t)
                if priced_out:
                    cause = priced_out + "; " + cause
                findings.append(
                    {
                        "constraint": "demand",
                        "workload": w,
                        "period": label,
                        "short": rounded(need - most),
                        "unit": unit,
                        "binding": cause,
                        "text": f"{w} {label}: at least {need - most:.4g} {unit} short; {cause}",
                    }
                )
    return findings


def _budget_priced_out(data, workload: str, t: int) -> str:
    """Name the budget when it is below one server of a SKU that could otherwise serve.

    The model caps purchases at ``floor(budget / server price)``, so a budget smaller than
    one server removes the purchase outright; say so rather than blame supply.
    """
    budget = data.period_table["budget"].to_numpy()
    if not len(data.cap) or not np.isfinite(budget[: t + 1]).any():
        return ""
    eligible = data.cap.xs(workload, level="workload").index
    blocked = []
    for tau in range(t + 1):
        if not np.isfinite(budget[tau]):
            continue
        for sku in eligible:
            server = data.skus.at[sku, "server"]
            supply = data.supply.iat[tau, data.supply.columns.get_loc(sku)]
            price = data.price.iat[tau, data.price.columns.get_loc(sku)]
            if supply >= server and np.isfinite(price) and price * server > budget[tau]:
                blocked.append((data.labels[tau], sku, price * server, budget[tau]))
    if not blocked:
        return ""
    period, sku, cost, limit = blocked[-1]
    return (
        f"the budget binds: {limit:,.0f} USD in {period} is less than one server of {sku} "
        f"({cost:,.0f} USD)"
    )


def diagnose(run: Run) -> dict:
    """Explain a run without a plan: a dict with ``status``, ``summary`` and ``findings``.

    The elastic re-solve works on a copy of the run's model; the run is left as it is.
    """
    data, options, result, index = run.data, run.options, run.result, run.index
    model = run.model.copy()
    if result.status == Status.UNBOUNDED:
        return {
            "status": "unbounded",
            "summary": "the model is unbounded: a cost is negative somewhere",
            "findings": [],
        }
    if result.status in (Status.NO_SOLUTION, Status.ERROR):
        return {
            "status": result.status.value,
            "summary": f"the solver stopped without a plan ({result.message}); raise --time-limit or relax the gap",
            "findings": capacity_check(data, index),
        }
    capacity = {(f["workload"], f["period"]): f for f in capacity_check(data, index)}
    findings = []
    for f in _elastic_findings(data, model, index, options):
        cap = (
            capacity.pop((f.get("workload"), f["period"]), None)
            if f["constraint"] == "demand"
            else None
        )
        if cap is not None:
            f["binding"] = cap["binding"]
            f["text"] = (
                f"{f['workload']} {f['period']}: {f['short']:.4g} {f['unit']} short; {cap['binding']}"
            )
        findings.append(f)
    findings += list(capacity.values())
    findings.sort(
        key=lambda f: (data.labels.index(f["period"]), f["constraint"], str(f.get("workload", "")))
    )
    if findings:
        kinds = sorted({f["constraint"] for f in findings})
        summary = f"{len(findings)} requirement(s) cannot be met ({', '.join(kinds)}); first: {findings[0]['text']}"
    else:
        summary = "infeasible, but no single demand, share, budget or power row explains it"
    return {"status": "infeasible", "summary": summary, "findings": findings}


def _elastic_findings(data, model, index, options: SolverOptions) -> list[dict]:
    a = model.arrays()
    slack_rows, slack_signs, slack_keys, weights = [], [], [], []
    for family, (sign, _) in ELASTIC.items():
        block = model.row_blocks.get(family)
        if block is None:
            continue
        for i, key in enumerate(block.keys):
            row = block.start + i
            rhs = a["row_lower"][row] if sign > 0 else a["row_upper"][row]
            scale = abs(rhs) if np.isfinite(rhs) and abs(rhs) > 1e-9 else _row_scale(a, row)
            slack_rows.append(row)
            slack_signs.append(sign)
            slack_keys.append((family, key))
            weights.append(1.0 / scale)
    if not slack_rows:
        return []
    n0 = model.num_cols
    model.add_columns("slack", [(f, *k) for f, k in slack_keys], cost=0.0)
    model.add_coefficients(slack_rows, np.arange(n0, n0 + len(slack_rows)), slack_signs)
    cost = np.zeros(model.num_cols)
    cost[n0:] = weights
    model.set_cost(cost)
    res = solve(model, options)
    if not res.status.has_plan or res.x is None:
        return []
    slack = res.x[n0:]
    binding = _binding_context(data, model, index, res.x)
    findings = []
    for (family, key), value in zip(slack_keys, slack, strict=True):
        if value <= 1e-6:
            continue
        findings.append(_describe(data, family, key, float(value), binding))
    return findings


def _row_scale(a, row) -> float:
    s, e = a["csr_start"][row], a["csr_start"][row + 1]
    vals = np.abs(a["csr_value"][s:e])
    return float(vals.max()) if len(vals) else 1.0


def _binding_context(data, model, index, x) -> dict:
    """Which supply caps, budgets and power caps are tight in the elastic solution."""
    buy = index.buy.copy()
    buy["servers"] = model.values(x, "buy")
    at_cap = buy[np.isfinite(buy["ub"]) & (buy["servers"] >= buy["ub"] - 1e-6)]
    a = model.arrays()
    activity = model.activity(x)
    # whole servers: a budget is binding when what is left cannot buy one more server
    server_cost = (buy["price"] * buy["server"]).groupby(buy["t"]).min()
    tight: dict[str, set[str]] = {}
    for family in ("budget", "power"):
        block = model.row_blocks.get(family)
        if block is None:
            continue
        for i, key in enumerate(block.keys):
            row = block.start + i
            upper = a["row_upper"][row]
            slack = 1e-6 * max(1.0, abs(upper))
            if family == "budget":
                slack = max(slack, float(server_cost.get(data.labels.index(key[-1]), 0.0)))
            if activity[row] >= upper - slack:
                tight.setdefault(family, set()).add(key[-1])
    return {"supply_at_cap": set(zip(at_cap["sku"], at_cap["t"], strict=True)), "tight": tight}


def _floor_finding(data, key: tuple, value: float) -> dict[str, Any]:
    """A rule floor's shortfall: ``key = (period, of, basis)`` of a ``share_floor`` row."""
    period, of, basis = key
    floors = data.floors
    rules = floors[(floors["period"] == period) & (floors["of"] == of)
                   & (floors["basis"] == basis)]["rules"]
    text = (f"domestic-share floor {period}: {value:.4g} short on the {basis} basis of the "
            f"{of} (weighted units), set by {', '.join(rules) or 'a rule set'}; not enough "
            "domestic supply can " + ("serve the demand" if of == "use" else "be bought"))
    return {"constraint": "share_floor", "period": period, "short": rounded(value),
            "unit": basis, "binding": "domestic supply", "text": text}


def _describe(data, family, key, value, binding) -> dict:
    if family == "demand":
        w, period = key
        unit = UNITS.get(data.workloads.at[w, "metric"], "")
        t = data.labels.index(period)
        use = data.cap.xs(w, level="workload").index if len(data.cap) else []
        capped = sorted(
            {k for k in use if any((k, tau) in binding["supply_at_cap"] for tau in range(t + 1))}
        )
        causes = []
        budget = sorted(p for p in binding["tight"].get("budget", ()) if data.labels.index(p) <= t)
        if budget:
            causes.append("the budget binds (" + ", ".join(budget[-3:]) + ")")
        if period in binding["tight"].get("power", ()):
            causes.append("the power cap binds")
        if capped:
            causes.append("the allowed SKUs' supply caps bind (" + ", ".join(capped[:6]) + ")")
        if not causes:
            causes.append(
                "no allowed SKU can serve it in time (blocked, not buyable, or lead time)"
            )
        cause = "; ".join(causes)
        text = f"{w} {period}: {value:.4g} {unit} short; {cause}"
        return {
            "constraint": "demand",
            "workload": w,
            "period": period,
            "short": rounded(value),
            "unit": unit,
            "binding": cause,
            "text": text,
        }
    period = key[-1]
    if family == "domestic_share":
        basis = data.share_basis
        text = (f"domestic share {period}: {value:.4g} short on the {basis} basis of "
                f"{data.share_measure} (weighted units); not enough domestic supply can "
                + ("serve the demand" if data.share_measure == "use" else "be bought"))
        return {
            "constraint": family,
            "period": period,
            "short": rounded(value),
            "unit": basis,
            "binding": "domestic supply",
            "text": text,
        }
    if family == "share_floor":
        return _floor_finding(data, key, value)
    if family == "vendor_cap":
        text = f"vendor cap {key[0]} {period}: exceeded by {value:.4g} ({data.share_basis} basis); other vendors cannot take over enough"
        return {
            "constraint": family,
            "vendor": key[0],
            "period": period,
            "short": rounded(value),
            "unit": data.share_basis,
            "binding": "other vendors' supply",
            "text": text,
        }
    if family == "pools":
        text = (f"pool {key[0]} {period}: {value:.4g} units over the vendor's pool; its SKUs "
                "are needed beyond the volume it can sell this buyer")
        return {
            "constraint": family,
            "vendor": key[0],
            "period": period,
            "short": round(value, 6),
            "unit": "units",
            "binding": "vendor pool",
            "text": text,
        }
    if family == "budget":
        text = (
            f"budget {period}: {value:,.0f} USD over; the purchases needed to meet demand cost more"
        )
        return {
            "constraint": family,
            "period": period,
            "short": rounded(value),
            "unit": "USD",
            "binding": "budget",
            "text": text,
        }
    text = f"power {period}: {value / 1e6:.4g} MW over the cap"
    return {
        "constraint": family,
        "period": period,
        "short": rounded(value / 1e6),
        "unit": "MW",
        "binding": "power cap",
        "text": text,
    }
