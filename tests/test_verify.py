"""Tests of the independent plan checker (``chipmix.verify``).

A tiny hand-solvable scenario (two quarters of 2024, a rule that bans ``us-big`` from
1 Feb 2024 and puts ``us-lic`` under licence) and a hand-written plan that is correct;
then each test breaks one decision or one policy and asserts the specific violation.

Hand figures (2024Q1 and 2024Q2 both have 91 days = 2184 h):
- supply us-big 2024Q1 = 800 × 31/91 = 272.527…; 2024Q2 = 0 (banned)
- supply us-lic 2024Q1 = 1000 × 31/91 + min(1000, 400) × 60/91 = 604.395…; 2024Q2 = 400
- us-lic 2024Q1 is two purchase tranches: 1 Jan - 31 Jan at 10000 (1000 × 31/91 units) and
  1 Feb - 31 Mar at 10000 × 1.25 = 12500 (400 × 60/91 units); the period's price (its cheapest
  tranche) is 10000; 2024Q2 = 12500
- supply cn-new 2024Q1 = 910 × 31/91 = 310 (released 1 March 2024)
- cap us-big for training = 1000 TFLOPS / 1000 × 0.5 = 0.5 PFLOPS per card
- energy per card per quarter = 700 W × 1.2 × 2184 h × 0.1 USD/kWh / 1000 = 183.456 USD
- δ[2024Q2] = 1.08 ** -0.25
"""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path

import pytest

from chipmix.checker import VerifyReport, derive_parameters, verify
from chipmix.inputs.scenario import Scenario

CATALOG = """\
id,vendor,name,origin,datacenter,release,bf16_dense_tflops,memory_gb,memory_bw_tbps,interconnect_gbps,tdp_w,price_usd,server_size,supply_per_quarter,lead_quarters,efficiency_training,sources
us-big,Acme,Big,US,true,2020,1000,80,3.0,400,700,20000,8,800,0,0.5,https://example.com/big
us-lic,Acme,Lic,US,true,,500,80,2.0,400,500,10000,8,1000,0,0.5,https://example.com/lic
us-small,Acme,Small,US,true,,200,24,1.0,0,300,5000,8,,0,0.5,https://example.com/small
cn-mid,Dragon,Mid,CN,true,2023-06,400,64,1.6,392,400,10000,8,,1,0.25,https://example.cn/mid
cn-noprice,Dragon,NoPrice,CN,true,,300,64,1.6,392,300,,8,,0,,https://example.cn/noprice
cn-new,Dragon,New,CN,true,2024-03,400,64,1.6,392,400,12000,8,910,0,0.25,https://example.cn/new
"""

RULE = """\
id: test-ban
title: test rule - us-big denied, us-lic needs a licence from 1 Feb 2024
authority: US
effective: 2024-02-01
applies_to: [CN]
confidence: codified
sources: [https://example.com/rule]
controls:
  - id: ban big
    status: denied
    when: {sku: [us-big]}
  - id: licence lic
    status: license
    when: {sku: [us-lic]}
"""

D1 = 1.08**-0.25  # discount factor of 2024Q2
ENERGY = 183.456  # USD per us-big card in use per quarter
SUPPLY_BIG_Q1 = 800 * 31 / 91
SUPPLY_LIC_Q1 = 1000 * 31 / 91 + 400 * 60 / 91
PRICE_LIC_Q1 = 10000.0  # the cheapest of its two tranches (10000, 12500)


@pytest.fixture
def inputs(tmp_path: Path) -> Path:
    (tmp_path / "verify_catalog.csv").write_text(CATALOG)
    (tmp_path / "verify_rule.yaml").write_text(RULE)
    return tmp_path


def scenario_data(folder: Path, **changes) -> dict:
    data = {
        "name": "tiny",
        "horizon": {"start": "2024Q1", "end": "2024Q2"},
        "home": "CN",
        "discount_rate": 0.08,
        "catalogs": [str(folder / "verify_catalog.csv")],
        "rules": [str(folder / "verify_rule.yaml")],
        "licenses": {"default": "deny", "us-lic": {"fee": 0.25, "cap": 400}},
        "workloads": [
            {
                "name": "train",
                "kind": "training",
                "metric": "bf16_pflops",
                "demand": {"2024Q1": 100},
                "min_memory_gb": 64,
                "shortfall_penalty": 1.0e6,
            }
        ],
        "porting": {"Dragon": 2.0e6},
        "ported": ["Acme"],
        "policy": {"pue": 1.2, "energy_price": 0.1},
    }
    data.update(changes)
    return data


def make_scenario(folder: Path, **changes) -> Scenario:
    return Scenario.from_dict(scenario_data(folder, **changes), base_dir=folder)


def policy(**changes) -> dict:
    return {"pue": 1.2, "energy_price": 0.1, **changes}


def good_plan() -> dict:
    """Buy 25 servers of us-big in 2024Q1 (before the ban), run all 200 cards both quarters."""
    energy = 200 * ENERGY
    discounted = 4_000_000 + energy + energy * D1
    return {
        "scenario": "tiny",
        "status": "optimal",
        "objective": round(discounted, 6),
        "cost": {
            "capex": 4_000_000.0,
            "energy": round(2 * energy, 6),
            "porting": 0.0,
            "shortfall": 0.0,
            "total": round(4_000_000 + 2 * energy, 6),
            "discounted_total": round(discounted, 6),
        },
        "periods": ["2024Q1", "2024Q2"],
        "purchases": [
            {"period": "2024Q1", "sku": "us-big", "servers": 25, "units": 200,
             "unit_price": 20000.0, "spend": 4_000_000.0},
        ],
        "allocation": [
            {"period": "2024Q1", "sku": "us-big", "workload": "train", "units": 200.0},
            {"period": "2024Q2", "sku": "us-big", "workload": "train", "units": 200.0},
        ],
        "fleet": [
            {"period": "2024Q1", "sku": "us-big", "units": 200},
            {"period": "2024Q2", "sku": "us-big", "units": 200},
        ],
        "delivered": [
            {"period": "2024Q1", "workload": "train", "demand": 100.0, "delivered": 100.0,
             "shortfall": 0.0},
            {"period": "2024Q2", "workload": "train", "demand": 100.0, "delivered": 100.0,
             "shortfall": 0.0},
        ],
        "shares": [
            {"period": "2024Q1", "domestic": 0.0, "vendors": {"Acme": 1.0}},
            {"period": "2024Q2", "domestic": 0.0, "vendors": {"Acme": 1.0}},
        ],
        "availability": [
            {"period": "2024Q1", "sku": "us-big", "status": "denied",
             "supply": round(SUPPLY_BIG_Q1, 6), "reason": "test-ban / ban big"},
            {"period": "2024Q2", "sku": "us-big", "status": "denied", "supply": 0.0,
             "reason": "test-ban / ban big"},
        ],
        "ported": [],
        "solver": {"name": "highs", "seconds": 0.0, "gap": 0.0, "variables": 0,
                   "constraints": 0, "integers": 0, "relaxed": False},
        "sensitivity": {},
    }


def violations_of(report: VerifyReport, prefix: str) -> list[str]:
    return [v for v in report.violations if v.startswith(prefix)]


# -- parameters ---------------------------------------------------------------------------


def test_parameters_follow_planning_model(inputs):
    p = derive_parameters(make_scenario(inputs))
    assert p.labels == ["2024Q1", "2024Q2"]
    assert p.hours == [2184.0, 2184.0]
    assert p.discount == pytest.approx([1.0, D1])
    # supply: catalog base cut by the ban on 1 Feb (31 of 91 days purchasable)
    assert p.supply[("us-big", 0)] == pytest.approx(SUPPLY_BIG_Q1)
    assert p.supply[("us-big", 1)] == 0
    assert p.status[("us-big", 0)] == "denied"
    # licence segment: capped by the licence policy's 400, its own tranche with the fee
    assert p.supply[("us-lic", 0)] == pytest.approx(SUPPLY_LIC_Q1)
    lic = p.tranches[("us-lic", 0)]
    assert [(tr.start.isoformat(), tr.until.isoformat()) for tr in lic] == [
        ("2024-01-01", "2024-01-31"), ("2024-02-01", "2024-03-31")]
    assert [tr.price for tr in lic] == pytest.approx([10000, 12500])
    assert [tr.supply for tr in lic] == pytest.approx([1000 * 31 / 91, 400 * 60 / 91])
    assert p.supply[("us-lic", 1)] == pytest.approx(400)
    assert p.price[("us-lic", 0)] == pytest.approx(PRICE_LIC_Q1)
    assert p.price[("us-lic", 1)] == pytest.approx(12500)
    assert p.status[("us-lic", 1)] == "license"
    # unlimited catalog supply, not controlled
    assert math.isinf(p.supply[("cn-mid", 0)])
    # not buyable: no price; serves no workload (memory 24 < min 64)
    assert p.supply[("cn-noprice", 0)] == 0 and p.unbuyable[("cn-noprice", 0)] == "no price"
    assert p.supply[("us-small", 0)] == 0
    assert p.unbuyable[("us-small", 0)] == "serves no workload"
    # capability and eligibility
    assert p.cap[("us-big", "train")] == pytest.approx(0.5)
    assert p.cap[("cn-mid", "train")] == pytest.approx(0.1)
    assert ("us-small", "train") not in p.cap
    assert p.skus["cn-mid"].lead == 1 and p.skus["cn-mid"].domestic
    assert p.energy_per_unit("us-big", 0) == pytest.approx(ENERGY)
    assert p.port == {("Dragon", "train"): 2.0e6}


def test_parameters_release_date(inputs):
    p = derive_parameters(make_scenario(inputs))
    assert p.supply[("cn-new", 0)] == pytest.approx(910 * 31 / 91)  # from 1 March on
    assert p.supply[("cn-new", 1)] == pytest.approx(910)
    p = derive_parameters(make_scenario(inputs, horizon={"start": "2023Q4", "end": "2024Q1"}))
    assert p.supply[("cn-new", 0)] == 0
    assert p.unbuyable[("cn-new", 0)] == "not released until 2024-03"
    assert p.status[("cn-new", 0)] == "allowed"


def test_buying_before_release(inputs):
    plan = good_plan()
    plan["purchases"].append({"period": "2024Q1", "sku": "cn-new", "servers": 40, "units": 320,
                              "unit_price": 12000.0, "spend": 3_840_000.0})
    report = verify(plan, make_scenario(inputs))
    assert violations_of(report, "supply cn-new 2024Q1: bought 320 units > 310 purchasable")


def test_parameters_licence_denied_and_price_decline(inputs):
    scenario = make_scenario(inputs, licenses="deny", price_decline_per_year=0.1,
                             prices={"cn-mid": {"2024Q2": 9000}})
    p = derive_parameters(scenario)
    assert p.supply[("us-lic", 0)] == pytest.approx(1000 * 31 / 91)  # only before the rule
    assert p.supply[("us-lic", 1)] == 0
    assert p.price[("us-lic", 0)] == pytest.approx(10000)  # no fee outside the licence
    assert p.price[("us-big", 1)] == pytest.approx(20000 * 0.9**0.25)
    assert p.price[("cn-mid", 0)] == pytest.approx(10000)
    assert p.price[("cn-mid", 1)] == pytest.approx(9000)  # an override is not declined


def test_parameters_months(inputs):
    scenario = make_scenario(
        inputs,
        horizon={"start": "2024-01", "end": "2024-04"},
        workloads=[{"name": "train", "kind": "training", "metric": "bf16_pflops",
                    "demand": {"2024-01": 10}}],
        supply={"cn-mid": {"2024-01": 50}},
        licenses={"default": "deny", "us-lic": {"cap": 300}},
    )
    p = derive_parameters(scenario)
    assert p.years == pytest.approx([0, 1 / 12, 2 / 12, 3 / 12])
    assert p.supply[("us-big", 0)] == pytest.approx(800 / 3)  # January: before the ban
    assert p.supply[("us-big", 1)] == 0
    assert p.supply[("us-lic", 1)] == pytest.approx(100)  # licence cap 300 per quarter
    assert p.supply[("cn-mid", 2)] == pytest.approx(50)  # scenario supply: per period
    assert p.skus["cn-mid"].lead == 3  # one quarter = three months
    assert p.hours[1] == 29 * 24  # February 2024


def test_parameters_retire_and_lifetime(inputs):
    scenario = make_scenario(inputs, retire={"us-big": "2024Q2"}, lifetime={"default": 4})
    p = derive_parameters(scenario)
    assert p.skus["us-big"].retire_t == 1
    assert p.skus["cn-mid"].retire_t == 2
    assert p.skus["us-big"].life == 4
    assert p.unbuyable[("us-big", 1)].startswith("retired from 2024Q2")


# -- a correct plan passes ----------------------------------------------------------------


def test_good_plan_passes(inputs):
    report = verify(good_plan(), make_scenario(inputs))
    assert report.ok, report.violations
    assert report.checks == sum(report.recomputed["checks"].values()) > 20
    assert report.recomputed["cost"]["capex"] == pytest.approx(4_000_000)
    assert report.recomputed["cost"]["energy"] == pytest.approx(2 * 200 * ENERGY)
    assert report.recomputed["objective"] == pytest.approx(4_000_000 + 200 * ENERGY * (1 + D1))
    d = report.to_dict()
    assert d["ok"] is True and d["violations"] == []
    json.dumps(d)  # JSON-ready
    assert str(report).startswith("ok:")


def test_good_plan_as_json_text_roundtrip(inputs):
    plan = json.loads(json.dumps(good_plan()))
    assert verify(plan, make_scenario(inputs)).ok


# -- each broken decision is reported -----------------------------------------------------


def test_exceeding_supply(inputs):
    plan = good_plan()
    buy = plan["purchases"][0]
    buy.update(servers=35, units=280, spend=280 * 20000.0)
    report = verify(plan, make_scenario(inputs))
    assert not report.ok
    assert violations_of(report, "supply us-big 2024Q1: bought 280 units > 272.5274725 purchasable")


def test_buying_a_banned_sku(inputs):
    plan = good_plan()
    plan["purchases"].append({"period": "2024Q2", "sku": "us-big", "servers": 1, "units": 8,
                              "unit_price": 20000.0, "spend": 160000.0})
    report = verify(plan, make_scenario(inputs))
    found = violations_of(report, "supply us-big 2024Q2: bought 8 units > 0 purchasable")
    assert found and "denied" in found[0]


def test_buying_an_unbuyable_sku(inputs):
    plan = good_plan()
    plan["purchases"].append({"period": "2024Q1", "sku": "cn-noprice", "servers": 1, "units": 8,
                              "unit_price": 1.0, "spend": 8.0})
    report = verify(plan, make_scenario(inputs))
    assert any("no price" in v for v in violations_of(report, "supply cn-noprice 2024Q1"))
    assert violations_of(report, "price cn-noprice 2024Q1")


def test_wrong_price(inputs):
    plan = good_plan()
    plan["purchases"][0]["unit_price"] = 19000.0
    report = verify(plan, make_scenario(inputs))
    assert violations_of(report, "price us-big 2024Q1: unit_price 19000 != 20000 recomputed")


def test_licence_fee_in_price(inputs):
    """A purchase in the licensed tranche (from 1 Feb) pays the fee: 12500, not 10000."""
    plan = good_plan()
    plan["purchases"][0].update(sku="us-lic", unit_price=10000.0, spend=2_000_000.0,
                                **{"from": "2024-02-01", "until": "2024-03-31"})
    report = verify(plan, make_scenario(inputs))
    found = violations_of(report, "price us-lic 2024Q1: unit_price 10000 != 12500 recomputed "
                                  "in the tranche 2024-02-01..2024-03-31")
    assert found and "fee" in found[0]


def test_a_row_must_name_its_tranche(inputs):
    """us-lic's 2024Q1 has two tranches: a row without dates, or with dates that are not a
    tranche's, is a violation."""
    plan = good_plan()
    plan["purchases"][0].update(sku="us-lic", unit_price=10000.0, spend=2_000_000.0)
    report = verify(plan, make_scenario(inputs))
    assert violations_of(report, "tranche us-lic 2024Q1: the period has 2 tranches")
    plan["purchases"][0].update(**{"from": "2024-01-15", "until": "2024-01-31"})
    report = verify(plan, make_scenario(inputs))
    assert violations_of(report, "tranche us-lic 2024Q1: no purchase tranche starts on 2024-01-15")
    plan["purchases"][0].update(**{"from": "2024-01-01", "until": "2024-03-31"})
    report = verify(plan, make_scenario(inputs))
    assert violations_of(report, "tranche us-lic 2024Q1: the tranche from 2024-01-01 ends on "
                                 "2024-01-31")


def test_wrong_spend(inputs):
    plan = good_plan()
    plan["purchases"][0]["spend"] = 3_000_000.0
    report = verify(plan, make_scenario(inputs))
    assert violations_of(report, "spend us-big 2024Q1: spend 3000000 != 200 units")


def test_fractional_servers(inputs):
    plan = good_plan()
    plan["purchases"][0].update(servers=25.5, units=204, spend=204 * 20000.0)
    report = verify(plan, make_scenario(inputs))
    assert violations_of(report, "servers us-big 2024Q1: 25.5 servers is not a whole number")


def test_fractional_servers_allowed_when_relaxed(inputs):
    plan = good_plan()
    plan["solver"]["relaxed"] = True
    plan["purchases"][0].update(servers=25.5, units=204.0, spend=204 * 20000.0)
    report = verify(plan, make_scenario(inputs))
    assert not violations_of(report, "servers")
    assert "relaxed plan: fractional servers allowed" in report.notes


def test_units_not_whole_servers(inputs):
    plan = good_plan()
    plan["purchases"][0].update(units=199)
    report = verify(plan, make_scenario(inputs))
    assert violations_of(report, "servers us-big 2024Q1: units 199 != 25 servers × 8 cards")


def test_unmet_demand(inputs):
    plan = good_plan()
    plan["allocation"][1]["units"] = 150.0
    report = verify(plan, make_scenario(inputs))
    assert violations_of(report, "demand train 2024Q2: delivered 75 + shortfall 0 < demand 100")
    assert violations_of(report, "delivered train 2024Q2: plan reports delivered 100, "
                                 "recomputed 75")


def test_shortfall_covers_demand_and_is_charged(inputs):
    plan = good_plan()
    plan["allocation"][1]["units"] = 150.0
    plan["delivered"][1].update(delivered=75.0, shortfall=25.0)
    report = verify(plan, make_scenario(inputs))
    assert not violations_of(report, "demand")
    # the shortfall penalty (25 × 1e6, discounted) is now missing from the plan's costs
    assert violations_of(report, "cost shortfall: plan reports 0 USD, recomputed 25000000 USD")
    assert violations_of(report, "objective")


def test_shortfall_without_penalty(inputs):
    workloads = scenario_data(inputs)["workloads"]
    del workloads[0]["shortfall_penalty"]
    plan = good_plan()
    plan["delivered"][0]["shortfall"] = 5.0
    report = verify(plan, make_scenario(inputs, workloads=workloads))
    assert violations_of(report, "shortfall train 2024Q1: shortfall 5 but demand is hard")


def test_use_beyond_fleet(inputs):
    plan = good_plan()
    plan["allocation"][0]["units"] = 210.0
    report = verify(plan, make_scenario(inputs))
    assert violations_of(report, "allocation us-big 2024Q1: 210 units in use > fleet 200")


def test_fleet_table_mismatch(inputs):
    plan = good_plan()
    plan["fleet"][1]["units"] = 190
    report = verify(plan, make_scenario(inputs))
    assert violations_of(report, "fleet us-big 2024Q2: plan reports 190 units, recomputed 200")


def test_lead_time_delays_fleet(inputs):
    """cn-mid has a lead of one quarter: bought in 2024Q1 it serves from 2024Q2."""
    plan = good_plan()
    plan["purchases"].append({"period": "2024Q1", "sku": "cn-mid", "servers": 1, "units": 8,
                              "unit_price": 10000.0, "spend": 80000.0})
    plan["allocation"].insert(0, {"period": "2024Q1", "sku": "cn-mid", "workload": "train",
                                  "units": 8.0})
    report = verify(plan, make_scenario(inputs))
    assert violations_of(report, "allocation cn-mid 2024Q1: 8 units in use > fleet 0")
    assert violations_of(report, "fleet cn-mid 2024Q2: plan reports 0 units, recomputed 8")


def test_ineligible_use(inputs):
    plan = good_plan()
    plan["allocation"].append({"period": "2024Q1", "sku": "us-small", "workload": "train",
                               "units": 1.0})
    report = verify(plan, make_scenario(inputs, inventory={"us-small": 10}))
    assert violations_of(report, "eligibility us-small train 2024Q1: 1 units in use but "
                                 "us-small cannot serve train")


def test_use_after_retirement(inputs):
    report = verify(good_plan(), make_scenario(inputs, retire={"us-big": "2024Q2"}))
    assert violations_of(report, "eligibility us-big train 2024Q2: 200 units in use after "
                                 "retirement")
    assert violations_of(report, "allocation us-big 2024Q2: 200 units in use > fleet 0")


def test_lifetime_ends_service(inputs):
    report = verify(good_plan(), make_scenario(inputs, lifetime={"us-big": 1}))
    assert violations_of(report, "allocation us-big 2024Q2: 200 units in use > fleet 0")


def test_missing_port(inputs):
    scenario = make_scenario(inputs, porting={"Acme": {"train": 5.0e5}}, ported=[])
    report = verify(good_plan(), scenario)
    assert violations_of(report, "porting Acme train: 200 units of us-big serve train in 2024Q1 "
                                 "but the workload is not ported to Acme")


def test_port_listed_and_charged(inputs):
    scenario = make_scenario(inputs, porting={"Acme": {"train": 5.0e5}}, ported=[])
    plan = good_plan()
    plan["ported"] = [{"vendor": "Acme", "workload": "train"}]
    for key in ("porting", "total", "discounted_total"):
        plan["cost"][key] += 5.0e5
    plan["objective"] += 5.0e5  # porting is not discounted
    report = verify(plan, scenario)
    assert report.ok, report.violations


def test_relaxed_plan_fractional_porting(inputs):
    """A relaxed plan's porting decision may be fractional: ``ported`` carries the fraction and
    the porting cost is that fraction of the cost."""
    scenario = make_scenario(inputs, porting={"Acme": {"train": 5.0e5}}, ported=[])
    plan = good_plan()
    plan["solver"]["relaxed"] = True
    plan["ported"] = [{"vendor": "Acme", "workload": "train", "fraction": 0.3}]
    for table in [plan["cost"]] + ([plan["discounted_cost"]] if "discounted_cost" in plan else []):
        table["porting"] += 0.3 * 5.0e5
        table["total"] += 0.3 * 5.0e5
    plan["cost"]["discounted_total"] += 0.3 * 5.0e5
    plan["objective"] += 0.3 * 5.0e5
    report = verify(plan, scenario)
    assert report.ok, report.violations
    plan["ported"] = []  # served but not ported at all
    report = verify(plan, scenario)
    assert violations_of(report, "porting Acme train")


def test_port_listed_without_cost(inputs):
    plan = good_plan()
    plan["ported"] = [{"vendor": "Acme", "workload": "train"}]
    report = verify(plan, make_scenario(inputs))
    assert violations_of(report, "porting Acme train: listed as ported but there is no porting")


def test_domestic_share_violated(inputs):
    scenario = make_scenario(inputs, policy=policy(domestic_share={"2024Q2": 0.5}))
    report = verify(good_plan(), scenario)
    assert violations_of(report, "domestic_share 2024Q2: domestic 0 of 200000 (compute basis) "
                                 "= 0 < share 0.5")
    assert not violations_of(report, "domestic_share 2024Q1")  # 0 before the first key


def test_domestic_share_spend_basis(inputs):
    scenario = make_scenario(inputs, policy=policy(domestic_share=0.1, share_basis="spend"))
    plan = good_plan()
    plan["shares"] = [{"period": "2024Q1", "domestic": 0.0, "vendors": {"Acme": 1.0}},
                      {"period": "2024Q2", "domestic": 0.0, "vendors": {}}]
    report = verify(plan, scenario)
    assert violations_of(report, "domestic_share 2024Q1: domestic 0 of 4000000 (spend basis)")
    assert not violations_of(report, "domestic_share 2024Q2")  # nothing bought: 0 ≥ 0
    assert not violations_of(report, "shares")


def test_shares_table_mismatch(inputs):
    plan = good_plan()
    plan["shares"][0]["domestic"] = 0.3
    report = verify(plan, make_scenario(inputs))
    assert violations_of(report, "shares 2024Q1: plan reports domestic 0.3, recomputed 0")


def test_vendor_cap_violated(inputs):
    report = verify(good_plan(), make_scenario(inputs, policy=policy(vendor_cap=0.7)))
    assert violations_of(report, "vendor_cap Acme 2024Q1: 200000 of 200000 (compute basis) = 1 "
                                 "> cap 0.7")


def test_budget_exceeded(inputs):
    report = verify(good_plan(), make_scenario(inputs, policy=policy(budget=3.0e6)))
    assert violations_of(report, "budget 2024Q1: capex 4000000 USD > budget 3000000 USD")
    assert not violations_of(report, "budget 2024Q2")


def test_power_exceeded(inputs):
    # 200 cards × 700 W × pue 1.2 = 0.168 MW
    report = verify(good_plan(), make_scenario(inputs, policy=policy(power_mw={"2024Q2": 0.1})))
    assert violations_of(report, "power 2024Q2: 0.168 MW in use (pue 1.2) > cap 0.1 MW")
    assert not violations_of(report, "power 2024Q1")


def test_wrong_objective(inputs):
    plan = good_plan()
    plan["objective"] *= 1.01
    report = verify(plan, make_scenario(inputs))
    assert violations_of(report, "objective: plan reports")
    assert not violations_of(report, "cost")


def test_wrong_cost_breakdown(inputs):
    plan = good_plan()
    plan["cost"]["energy"] = 0.0
    report = verify(plan, make_scenario(inputs))
    assert violations_of(report, "cost energy: plan reports 0 USD, recomputed 73382.4 USD")


def test_tolerance_is_relative(inputs):
    plan = good_plan()
    plan["objective"] *= 1 + 1e-5
    assert not verify(plan, make_scenario(inputs)).ok
    assert verify(plan, make_scenario(inputs), tolerance=1e-4).ok


def test_availability_mismatch(inputs):
    plan = good_plan()
    plan["availability"][0].update(status="allowed", supply=800.0)
    report = verify(plan, make_scenario(inputs))
    assert violations_of(report, "availability us-big 2024Q1: plan reports status allowed, "
                                 "recomputed denied")
    assert violations_of(report, "availability us-big 2024Q1: plan reports supply 800, "
                                 "recomputed 272.5274725")


def test_unknown_names_and_periods(inputs):
    plan = good_plan()
    plan["allocation"].append({"period": "2030Q1", "sku": "nope", "workload": "train",
                               "units": 1.0})
    report = verify(plan, make_scenario(inputs))
    assert violations_of(report, "allocation nope train 2030Q1: unknown SKU")
    assert violations_of(report, "allocation nope train 2030Q1: period outside the horizon")


# -- status ---------------------------------------------------------------------------------


def test_infeasible_plan_without_decisions(inputs):
    plan = {"scenario": "tiny", "status": "infeasible", "objective": None, "periods": ["2024Q1"],
            "purchases": [], "allocation": []}
    report = verify(plan, make_scenario(inputs))
    assert report.ok and report.checks == 0
    assert report.notes == ["no decisions to check: status infeasible"]


def test_infeasible_plan_with_purchases(inputs):
    plan = good_plan()
    plan["status"] = "infeasible"
    report = verify(plan, make_scenario(inputs))
    assert not report.ok
    assert violations_of(report, "status infeasible: the plan has no decisions but lists "
                                 "1 purchases")


def test_input_plan_not_modified(inputs):
    plan = good_plan()
    before = copy.deepcopy(plan)
    verify(plan, make_scenario(inputs))
    assert plan == before


def test_verify_never_imports_the_model(inputs):
    """The checker is a second implementation: it must not lean on the model code."""
    import subprocess
    import sys

    code = f"""
import json, sys
sys.path.insert(0, {str(Path(__file__).parent)!r})
import test_verify as t
from pathlib import Path
from chipmix.checker import verify
report = verify(t.good_plan(), t.make_scenario(Path({str(inputs)!r})))
assert report.ok, report.violations
bad = [m for m in sys.modules if m.startswith(("chipmix.model", "chipmix.solve", "chipmix.planner"))]
print(json.dumps(bad))
"""
    import os

    import chipmix

    src = str(Path(chipmix.__file__).resolve().parent.parent)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env=env)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


# -- real plans -------------------------------------------------------------------------------


def _solve(scenario, **options):
    import chipmix

    return chipmix.plan(scenario, diagnose=False, **options)


@pytest.mark.parametrize("options", [{}, {"solver": "cbc"}, {"relax": True}],
                         ids=["highs", "cbc", "relaxed"])
@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"policy": policy(domestic_share=0.3, vendor_cap=0.8)},
        {"policy": policy(domestic_share=0.2, share_basis="spend", budget=5.0e6),
         "porting": {"Dragon": 1.0e5}},
        {"policy": policy(power_mw=0.15), "inventory": {"cn-mid": 40}},
    ],
    ids=["plain", "share-cap", "spend-budget", "power"],
)
def test_real_plan_passes(inputs, changes, options):
    scenario = make_scenario(inputs, **changes)
    plan = _solve(scenario, **options)
    assert plan.ok
    report = verify(plan, scenario)
    assert report.ok, report.violations
    assert plan.to_dict()["purchases"], "the tiny scenario should buy something"
    # the same plan as JSON text passes too
    assert verify(json.loads(plan.to_json()), scenario).ok


def _bundled_examples() -> list[Path]:
    try:
        from chipmix.resources import examples_dir

        return sorted(examples_dir().glob("*.yaml"))
    except (ImportError, FileNotFoundError):
        return []


@pytest.mark.parametrize("path", _bundled_examples(), ids=lambda p: p.stem)
def test_bundled_example_passes(path):
    from chipmix.inputs.scenario import load_scenario

    scenario = load_scenario(path)
    plan = _solve(scenario)
    report = verify(plan, scenario)
    assert report.ok, report.violations[:20]
    if plan.ok:
        assert report.checks > 100
