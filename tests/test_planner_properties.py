"""Metamorphic properties of the planner on random small scenarios (hypothesis).

model.md: every plan passes the independent check; tightening never helps (removing a SKU,
lowering supply, raising the domestic share, adding a denying rule); the same inputs give the
same plan byte for byte. style.md adds: scaling every price by k scales the objective by k;
CBC and HiGHS agree; the LP relaxation is a lower bound.

Every workload has a shortfall penalty, so every random scenario is feasible (buying nothing
and paying the penalty satisfies every constraint). Solves use a relative gap of 1e-9, so two
optima compare within 1e-6 relative.
"""

from __future__ import annotations

import copy
import os
import tempfile
from pathlib import Path
from typing import Any

import pytest
from helpers import (
    assert_verified,
    planner_rule,
    planner_scenario_dict,
    planner_sku,
    write_planner_catalog,
    write_planner_rules,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import chipmix
from chipmix.inputs.scenario import Scenario

pytestmark = pytest.mark.slow  # property tests / every example / a browser

#: 25 examples per property keep the file near 30 s; set CHIPMIX_PROPERTY_EXAMPLES for a
#: deeper search (e.g. 500 before a release).
SETTINGS = settings(max_examples=int(os.environ.get("CHIPMIX_PROPERTY_EXAMPLES", "25")),
                    deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
GAP = 1e-9
REL = 1e-6
VENDORS = {"Acme": "US", "Bolt": "US", "Dragon": "CN"}


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-6 + REL * max(abs(a), abs(b))


def _le(a: float, b: float) -> bool:
    """a ≤ b within the solver tolerance."""
    return a <= b + 1e-6 + REL * max(abs(a), abs(b))


# -- random scenarios ---------------------------------------------------------------------------


@st.composite
def specs(draw) -> dict[str, Any]:
    """A small random scenario as plain data: ``{"skus": [rows], "scenario": {keys}}``."""
    months = draw(st.booleans()) and draw(st.booleans())  # mostly quarters
    n_periods = draw(st.integers(2, 4))
    labels = ([f"2024-{m:02d}" for m in range(1, n_periods + 1)] if months
              else [f"2024Q{q}" for q in range(1, n_periods + 1)])
    skus = []
    for i in range(draw(st.integers(2, 4))):
        vendor = draw(st.sampled_from(sorted(VENDORS)))
        skus.append(planner_sku(
            f"{vendor.lower()}-k{i}", vendor=vendor, origin=VENDORS[vendor],
            bf16_dense_tflops=draw(st.sampled_from([250, 500, 1000, 2000])),
            memory_bw_tbps=draw(st.sampled_from([0.5, 1.0, 2.0, 4.0])),
            memory_gb=draw(st.sampled_from([24, 48, 80, 141])),
            price_usd=draw(st.integers(5, 60)) * 100,
            tdp_w=draw(st.sampled_from([100, 300, 700])),
            server_size=draw(st.sampled_from([1, 1, 2, 4])),
            supply_per_quarter=draw(st.one_of(st.none(), st.integers(0, 40))),
            lead_quarters=draw(st.sampled_from([0, 0, 0, 1])) if not months else 0,
            efficiency_training=draw(st.sampled_from([0.25, 0.5, 1.0])),
            efficiency_inference=draw(st.sampled_from([0.25, 0.5, 1.0])),
        ))
    workloads = []
    for j in range(draw(st.integers(1, 2))):
        metric = draw(st.sampled_from(["bf16_pflops", "memory_bw_tbps"]))
        demand = {p: draw(st.integers(0, 20)) for p in labels}
        # some demand, so the model is never empty (an empty model is a case of its own:
        # test_planner_families.py::test_no_demand_is_an_empty_optimal_plan)
        demand[labels[-1]] = max(demand[labels[-1]], 1)
        workload = {
            "name": f"w{j}",
            "kind": "training" if metric == "bf16_pflops" else "inference",
            "metric": metric,
            "demand": demand,
            "shortfall_penalty": draw(st.integers(5, 200)) * 100,
        }
        if draw(st.booleans()) and draw(st.booleans()):
            workload["min_memory_gb"] = 40
        workloads.append(workload)
    policy: dict[str, Any] = {"energy_price": draw(st.sampled_from([0.0, 0.05, 0.2]))}
    if draw(st.booleans()):
        policy["domestic_share"] = {labels[draw(st.integers(0, n_periods - 1))]:
                                    draw(st.sampled_from([0.1, 0.3, 0.5]))}
        policy["share_basis"] = draw(st.sampled_from(["compute", "units", "spend"]))
        if draw(st.booleans()):
            # what the share measures: the spend basis measures purchases only
            choices = (["use", "purchases"] if policy["share_basis"] == "spend"
                       else ["use", "fleet", "purchases"])
            policy["share_of"] = draw(st.sampled_from(choices))
    if draw(st.booleans()) and draw(st.booleans()):
        policy["vendor_cap"] = draw(st.sampled_from([0.5, 0.7, 0.9]))
    scenario: dict[str, Any] = {
        "horizon": {"start": labels[0], "end": labels[-1]},
        "discount_rate": draw(st.sampled_from([0.0, 0.08])),
        "policy": policy,
        "workloads": workloads,
    }
    vendors = {row["vendor"] for row in skus}
    if "Dragon" in vendors and draw(st.booleans()):
        scenario["porting"] = {"Dragon": draw(st.integers(0, 50)) * 1000}
    if draw(st.booleans()) and policy.get("share_of") != "fleet":
        # (owned units count in a fleet share: with them a share or vendor cap on the fleet
        # can be infeasible, which the properties below do not expect)
        owned = draw(st.sampled_from(skus))["id"]
        scenario["inventory"] = {owned: draw(st.integers(1, 10))}
    # optional features, each in about one scenario of four
    ids = [row["id"] for row in skus]

    def sometimes() -> bool:
        return draw(st.booleans()) and draw(st.booleans())

    if sometimes():
        scenario["price_decline_per_year"] = draw(st.sampled_from([0.1, 0.3]))
    if sometimes():
        scenario["prices"] = {draw(st.sampled_from(ids)): {
            labels[draw(st.integers(0, n_periods - 1))]: draw(st.integers(5, 60)) * 100}}
    if sometimes():
        scenario["lifetime"] = {draw(st.sampled_from(ids)): draw(st.integers(1, 2))}
    if sometimes():
        scenario["retire"] = {draw(st.sampled_from(ids)): labels[draw(st.integers(1,
                                                                                  n_periods - 1))]}
    if sometimes():
        policy["budget"] = draw(st.integers(1, 40)) * 1000
    if sometimes():
        policy["power_mw"] = draw(st.sampled_from([0.001, 0.005]))
        policy["pue"] = draw(st.sampled_from([1.0, 1.3]))
    if sometimes():
        # a vendor pool: units of all its SKUs per period, maybe stepping down later
        vendor = draw(st.sampled_from(sorted({row["vendor"] for row in skus})))
        pool = {labels[0]: draw(st.integers(0, 30))}
        if draw(st.booleans()):
            pool[labels[-1]] = draw(st.integers(0, 30))
        scenario["pools"] = {vendor: pool}
    rules = []
    if sometimes():
        # a licence requirement from a date, maybe relaxed later with a fee and a cap
        sku = draw(st.sampled_from(ids))
        effective = draw(st.sampled_from(["2023-06-01", "2024-02-15", "2024-03-10"]))
        rules.append(planner_rule("prop-licence", effective,
                                  f"  - id: licence\n    status: license\n"
                                  f"    when: {{sku: [{sku}]}}\n"))
        scenario["licenses"] = draw(st.sampled_from([
            "deny", "allow", {sku: {"fee": 0.25}}, {sku: {"cap": 10, "fee": 0.1}}]))
    return {"skus": skus, "scenario": scenario, "rules": rules}


def materialise(spec: dict[str, Any], folder: Path) -> Scenario:
    """Write the spec's catalog (and rule sets) to ``folder`` and validate the scenario."""
    catalog = write_planner_catalog(folder, spec["skus"])
    rules = [str(write_planner_rules(folder, text, name=f"planner_rule_{i}.yaml"))
             for i, text in enumerate(spec["rules"])]
    data = planner_scenario_dict(catalog, copy.deepcopy(spec["scenario"]["workloads"]),
                                 rules=rules,
                                 **{k: copy.deepcopy(v) for k, v in spec["scenario"].items()
                                    if k != "workloads"})
    return Scenario.from_dict(data, base_dir=folder)


def plan_of(spec: dict[str, Any], solver: str = "highs", relax: bool = False):
    """Plan the spec in a fresh folder; assert a plan exists and the checker accepts it."""
    with tempfile.TemporaryDirectory(prefix="chipmix-prop-") as folder:
        scenario = materialise(spec, Path(folder))
        plan = chipmix.plan(scenario, solver=solver, relax=relax, gap=GAP)
        assert plan.ok, f"{plan.status.value}: {plan.message} {plan.diagnosis}"
        assert_verified(plan, scenario)
        return plan


# -- tightening -----------------------------------------------------------------------------


def without_sku(spec: dict[str, Any], sku: str) -> dict[str, Any]:
    out = copy.deepcopy(spec)
    out["skus"] = [row for row in out["skus"] if row["id"] != sku]
    s = out["scenario"]
    for key in ("inventory", "supply", "prices", "lifetime", "retire"):
        if sku in s.get(key, {}):
            del s[key][sku]
    if isinstance(s.get("licenses"), dict):
        s["licenses"] = {k: v for k, v in s["licenses"].items() if k != sku} or "deny"
    vendors = {row["vendor"] for row in out["skus"]}
    if "porting" in s:
        s["porting"] = {v: c for v, c in s["porting"].items() if v in vendors}
    if "pools" in s:
        s["pools"] = {v: p for v, p in s["pools"].items() if v in vendors}
    return out


def with_lower_supply(spec: dict[str, Any], sku: str, fraction: float) -> dict[str, Any]:
    out = copy.deepcopy(spec)
    row = next(r for r in out["skus"] if r["id"] == sku)
    current = row.get("supply_per_quarter")
    row["supply_per_quarter"] = int((40 if current is None else current) * fraction)
    return out


def with_higher_share(spec: dict[str, Any], share: float, basis: str) -> dict[str, Any]:
    out = copy.deepcopy(spec)
    policy = out["scenario"]["policy"]
    start = out["scenario"]["horizon"]["start"]
    old = policy.get("domestic_share", {})
    # raise every step (and start one at the horizon start where there was none)
    raised = {start: max(share, 0.0)}
    for period, value in old.items():
        raised[period] = max(value, share)
    policy["domestic_share"] = raised
    if "share_basis" not in policy and "vendor_cap" not in policy:
        # a new basis only where none is in force yet (the vendor cap uses the basis too)
        policy["share_basis"] = basis
        if basis == "spend" and policy.get("share_of") == "fleet":
            policy["share_of"] = "purchases"
    return out


def with_denying_rule(spec: dict[str, Any], sku: str, effective: str, status: str):
    out = copy.deepcopy(spec)
    controls = f"  - id: deny {sku}\n    status: {status}\n    when: {{sku: [{sku}]}}\n"
    out["rules"].append(planner_rule(f"prop-{len(out['rules'])}", effective, controls))
    return out


@SETTINGS
@given(spec=specs(), data=st.data())
def test_tightening_never_helps(spec, data):
    """Removing a SKU, lowering its supply, raising the share, adding a rule: cost ≥ base."""
    base = plan_of(spec).objective
    sku = data.draw(st.sampled_from([row["id"] for row in spec["skus"]]), label="sku")
    variants = {
        "remove": without_sku(spec, sku),
        "supply": with_lower_supply(spec, sku, data.draw(st.sampled_from([0.0, 0.3, 0.7]),
                                                         label="fraction")),
        "share": with_higher_share(spec, data.draw(st.sampled_from([0.2, 0.6, 1.0]),
                                                   label="share"),
                                   data.draw(st.sampled_from(["compute", "units", "spend"]),
                                             label="basis")),
        "rule": with_denying_rule(spec, sku,
                                  data.draw(st.sampled_from(["2023-01-01", "2024-02-15",
                                                             "2024-05-01"]), label="effective"),
                                  data.draw(st.sampled_from(["denied", "license"]),
                                            label="status")),
    }
    for name, variant in variants.items():
        tight = plan_of(variant).objective
        assert _le(base, tight), f"{name}: tighter scenario is cheaper: {tight} < {base}"


# -- loosening -------------------------------------------------------------------------------


def loosened(spec: dict[str, Any], how: str, data) -> dict[str, Any] | None:
    """The spec with one policy loosened (``None`` when the spec has nothing to loosen)."""
    out = copy.deepcopy(spec)
    s = out["scenario"]
    policy = s["policy"]
    if how == "licence":
        # allow a licence (a denied one, or lift a fee or cap the policy attaches to it)
        if not out["rules"]:
            return None
        licences = s.get("licenses", "deny")
        if licences == "deny":
            s["licenses"] = data.draw(st.sampled_from(
                ["allow", {"default": "allow"}, *[{row["id"]: {"fee": 0.3}}
                                                   for row in out["skus"]]]), label="allow")
        elif isinstance(licences, dict):
            # a lower fee is a lower price: under a spend-based share a cheaper domestic SKU
            # makes the share dearer to meet (the domestic spend falls), so only foreign
            # SKUs' fees are lowered there — a fee cut is no policy loosening for the share
            domestic = {row["id"] for row in out["skus"]
                        if row["origin"] == s.get("home", "CN")}
            spend = policy.get("share_basis") == "spend" and "domestic_share" in policy
            s["licenses"] = {sku: {"fee": terms.get("fee", 0.0) / (
                                1 if spend and sku in domestic else 2)}
                             for sku, terms in licences.items()}
        else:
            return None
    elif how == "cap":
        # lift a cap: budget, power or vendor cap
        caps = [key for key in ("budget", "power_mw", "vendor_cap") if key in policy]
        if not caps:
            return None
        key = data.draw(st.sampled_from(caps), label="cap")
        if data.draw(st.booleans(), label="remove"):
            del policy[key]
        elif key == "vendor_cap":
            policy[key] = min(1.0, policy[key] + 0.2)
        else:
            policy[key] = policy[key] * 2
    elif how == "pool":
        if "pools" not in s:
            return None
        for vendor, steps in s["pools"].items():
            s["pools"][vendor] = {p: v + data.draw(st.integers(1, 20), label="more")
                                  for p, v in steps.items()}
    elif how == "share":
        if "domestic_share" not in policy:
            return None
        policy["domestic_share"] = {p: v / 2 for p, v in policy["domestic_share"].items()}
    else:
        raise AssertionError(how)
    return out


@SETTINGS
@given(spec=specs(), data=st.data())
def test_loosening_never_hurts(spec, data):
    """Allowing a licence, lifting a cap, raising a pool, lowering a share: cost ≤ base
    (model.md: loosening a policy must never cost more)."""
    base = plan_of(spec).objective
    for how in ("licence", "cap", "pool", "share"):
        variant = loosened(spec, how, data)
        if variant is None:
            continue
        loose = plan_of(variant).objective
        assert _le(loose, base), f"{how}: looser scenario costs more: {loose} > {base}"


# -- scaling, solvers, relaxation, determinism --------------------------------------------------


def scaled(spec: dict[str, Any], k: float) -> dict[str, Any]:
    """Every money figure × k: prices, penalties, porting, energy price."""
    out = copy.deepcopy(spec)
    for row in out["skus"]:
        row["price_usd"] = row["price_usd"] * k
    s = out["scenario"]
    for w in s["workloads"]:
        w["shortfall_penalty"] = w["shortfall_penalty"] * k
    if "porting" in s:
        s["porting"] = {v: c * k for v, c in s["porting"].items()}
    s["policy"]["energy_price"] = s["policy"]["energy_price"] * k
    if "budget" in s["policy"]:
        s["policy"]["budget"] = s["policy"]["budget"] * k
    for sku, steps in s.get("prices", {}).items():
        s["prices"][sku] = {p: v * k for p, v in steps.items()}
    return out


@SETTINGS
@given(spec=specs(), k=st.sampled_from([0.5, 3.0, 10.0]))
def test_scaling_every_price_scales_the_objective(spec, k):
    base = plan_of(spec).objective
    other = plan_of(scaled(spec, k)).objective
    assert _close(other, k * base), f"objective {other} != {k} × {base}"


@SETTINGS
@given(spec=specs())
def test_cbc_and_highs_agree(spec):
    highs = plan_of(spec, "highs")
    cbc = plan_of(spec, "cbc")
    assert _close(highs.objective, cbc.objective), (highs.objective, cbc.objective)


@SETTINGS
@given(spec=specs())
def test_lp_relaxation_is_a_lower_bound(spec):
    milp = plan_of(spec)
    lp = plan_of(spec, relax=True)
    assert _le(lp.objective, milp.objective), (lp.objective, milp.objective)


@SETTINGS
@given(spec=specs(), solver=st.sampled_from(["highs", "cbc"]))
def test_same_inputs_same_json(spec, solver):
    """Two runs from freshly built inputs: byte-identical JSON (without timings)."""
    first = plan_of(spec, solver).to_json()
    second = plan_of(spec, solver).to_json()
    assert first == second


def test_same_inputs_same_json_on_the_default_example():
    """The bundled default twice (HiGHS, its own gap): byte-identical JSON."""
    from chipmix.resources import default_scenario_path

    path = default_scenario_path()
    first = chipmix.plan(chipmix.load_scenario(path)).to_json()
    second = chipmix.plan(chipmix.load_scenario(path)).to_json()
    assert first == second
