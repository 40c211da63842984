"""Every classification of the public record (``shared/reference/export-rules.md``) through
2026, reproduced from specifications and the bundled rule sets alone.

The parts carry anonymous ids (``part-01`` …), so a control that names a SKU cannot make a case
pass: each status must follow from the thresholds, dates, buyer types and catalog facts
(datacenter or consumer, sold in the US or China-only) that the measures are written in. The
specifications are the reference table's (``shared/reference/accelerators.csv``), the bounds of
the RTX Pro 6000D those of the bundled catalog (derived from its being designed to ship without
a licence). Not reproduced because the record classifies them by name and not by a threshold:
the Aug 2022 letters (A100/H100 named before the thresholds were published). Each case cites
the reference section it comes from.
"""

from __future__ import annotations

import csv
import datetime as dt

import pytest

from chipmix.inputs.catalog import load_catalog
from chipmix.rules import Timeline, load_rulesets
from chipmix.rules.ruleset import Status

COLUMNS = ("id", "vendor", "name", "origin", "datacenter", "fp8_dense_tflops", "bf16_dense_tflops",
           "fp16_dense_tflops", "int8_dense_tops", "fp4_dense_tflops", "tpp",
           "performance_density", "die_area_mm2", "memory_gb", "memory_bw_tbps",
           "interconnect_gbps", "pcie_gbps", "us_available", "sources")

#: The reference table's figures (accelerators.csv), one anonymous id per part.
PARTS = {
    # A100 SXM4 80GB: TPP 4992 (INT8 624 x 8), PD 6.04, NVLink 600 + PCIe 64
    "part-01": dict(origin="US", datacenter="true", bf16_dense_tflops=312, int8_dense_tops=624,
                    die_area_mm2=826, memory_gb=80, memory_bw_tbps=2.039, interconnect_gbps=600,
                    pcie_gbps=64, us_available="true"),
    # A800: the A100 with NVLink cut to 400 (I/O 464 < 600), China-only
    "part-02": dict(origin="US", datacenter="true", bf16_dense_tflops=312, int8_dense_tops=624,
                    die_area_mm2=826, memory_gb=80, memory_bw_tbps=2.039, interconnect_gbps=400,
                    pcie_gbps=64, us_available="false"),
    # H100 SXM5: TPP 15832, NVLink 900 + PCIe 128, 3.35 TB/s
    "part-03": dict(origin="US", datacenter="true", fp8_dense_tflops=1979, bf16_dense_tflops=989.4,
                    int8_dense_tops=1979, die_area_mm2=814, memory_gb=80, memory_bw_tbps=3.35,
                    interconnect_gbps=900, pcie_gbps=128, us_available="true"),
    # H800: the H100 with NVLink 400 (I/O 528 < 600), China-only
    "part-04": dict(origin="US", datacenter="true", fp8_dense_tflops=1979, bf16_dense_tflops=989.4,
                    int8_dense_tops=1979, die_area_mm2=814, memory_gb=80, memory_bw_tbps=3.35,
                    interconnect_gbps=400, pcie_gbps=128, us_available="false"),
    # H20: TPP 2368, PD 2.91, 4.0 TB/s, NVLink 900, China-specific
    "part-05": dict(origin="US", datacenter="true", fp8_dense_tflops=296, bf16_dense_tflops=148,
                    int8_dense_tops=296, die_area_mm2=814, memory_gb=96, memory_bw_tbps=4.0,
                    interconnect_gbps=900, pcie_gbps=128, us_available="false"),
    # L20: TPP 1912, PD 3.14 (just under 3.2), China-specific
    "part-06": dict(origin="US", datacenter="true", fp8_dense_tflops=239, bf16_dense_tflops=119.5,
                    int8_dense_tops=239, die_area_mm2=609, memory_gb=48, memory_bw_tbps=0.864,
                    interconnect_gbps=0, pcie_gbps=64, us_available="false"),
    # L2: TPP 1544 < 1600, die unknown
    "part-07": dict(origin="US", datacenter="true", fp8_dense_tflops=193, bf16_dense_tflops=96.5,
                    int8_dense_tops=193, memory_gb=24, memory_bw_tbps=0.3, interconnect_gbps=0,
                    pcie_gbps=64, us_available="false"),
    # L40S: TPP 5864, PD 9.63, no NVLink (I/O 64)
    "part-08": dict(origin="US", datacenter="true", fp8_dense_tflops=733, bf16_dense_tflops=362,
                    int8_dense_tops=733, die_area_mm2=609, memory_gb=48, memory_bw_tbps=0.864,
                    interconnect_gbps=0, pcie_gbps=64, us_available="true"),
    # L40: TPP 2896, PD 4.76 -> 3A090.b.1
    "part-09": dict(origin="US", datacenter="true", fp8_dense_tflops=362, bf16_dense_tflops=181,
                    int8_dense_tops=362, die_area_mm2=609, memory_gb=48, memory_bw_tbps=0.864,
                    interconnect_gbps=0, pcie_gbps=64, us_available="true"),
    # L4: TPP 1936, PD 6.59 -> 3A090.a.2
    "part-10": dict(origin="US", datacenter="true", fp8_dense_tflops=242, bf16_dense_tflops=121,
                    int8_dense_tops=242, die_area_mm2=294, memory_gb=24, memory_bw_tbps=0.3,
                    interconnect_gbps=0, pcie_gbps=64, us_available="true"),
    # RTX 4090 (consumer): TPP 5284.8
    "part-11": dict(origin="US", datacenter="false", fp8_dense_tflops=660.6,
                    bf16_dense_tflops=165.2, fp16_dense_tflops=330.3, int8_dense_tops=660.6,
                    die_area_mm2=609, memory_gb=24, memory_bw_tbps=1.008, interconnect_gbps=0,
                    pcie_gbps=64, us_available="true"),
    # RTX 4090 D (consumer): TPP 4707.2 < 4800, China edition
    "part-12": dict(origin="US", datacenter="false", fp8_dense_tflops=588.4,
                    bf16_dense_tflops=147.1, fp16_dense_tflops=294.2, int8_dense_tops=588.4,
                    die_area_mm2=609, memory_gb=24, memory_bw_tbps=1.008, interconnect_gbps=0,
                    pcie_gbps=64, us_available="false"),
    # RTX 4080 (consumer): TPP 3120, PD 8.23 - Note 2 exempts it
    "part-13": dict(origin="US", datacenter="false", fp8_dense_tflops=390, int8_dense_tops=390,
                    die_area_mm2=379, memory_gb=16, memory_bw_tbps=0.717, interconnect_gbps=0,
                    pcie_gbps=64, us_available="true"),
    # H200: TPP 15832 < 21000, 4.8 TB/s < 6.5 TB/s, sold in the US
    "part-14": dict(origin="US", datacenter="true", fp8_dense_tflops=1979, bf16_dense_tflops=989.4,
                    int8_dense_tops=1979, die_area_mm2=814, memory_gb=141, memory_bw_tbps=4.8,
                    interconnect_gbps=900, pcie_gbps=128, us_available="true"),
    # B200: TPP 36000 > 21000
    "part-15": dict(origin="US", datacenter="true", fp8_dense_tflops=4500, bf16_dense_tflops=2250,
                    int8_dense_tops=4500, fp4_dense_tflops=9000, memory_gb=180,
                    memory_bw_tbps=7.7, interconnect_gbps=1800, pcie_gbps=128, us_available="true"),
    # RTX Pro 6000D: designed to need no licence (TPP/PD bounds), 1,398 GB/s, China-only
    "part-16": dict(origin="US", datacenter="true", tpp="<4800", performance_density="<5.92",
                    die_area_mm2=750, memory_gb=84, memory_bw_tbps=1.398, interconnect_gbps=0,
                    pcie_gbps=128, us_available="false"),
    # MI325X: TPP 20919 (FP8 2614.9 x 8) < 21000, 6 TB/s, sold in the US
    "part-17": dict(origin="US", datacenter="true", fp8_dense_tflops=2614.9,
                    bf16_dense_tflops=1307.4, int8_dense_tops=2614.9, memory_gb=256,
                    memory_bw_tbps=6, interconnect_gbps=896, pcie_gbps=128, us_available="true"),
    # Ascend 910B (designed in China): TPP 6016 - a "PRC 3A090 IC", not a US export
    "part-18": dict(origin="CN", datacenter="true", fp16_dense_tflops=376, die_area_mm2=665.61,
                    memory_gb=64, memory_bw_tbps=1.6, interconnect_gbps=392, pcie_gbps=64),
}


@pytest.fixture(scope="module")
def record(tmp_path_factory):
    path = tmp_path_factory.mktemp("record") / "anonymous.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        for sku, spec in PARTS.items():
            writer.writerow({"id": sku, "vendor": "Anon", "name": sku,
                             "sources": "https://example.com/reference", **spec})
    frame = load_catalog(path).frame
    rules = load_rulesets()  # every bundled rule set
    return {buyer: Timeline(rules, frame, home="CN", buyer=buyer)
            for buyer in ("private", "state_funded", "soe")}


L, N, A, X = Status.license, Status.notify, Status.allowed, Status.denied

#: (reference section, what it says, part, day, buyer, status[, issued, fee])
CASES = [
    # 2.2 Oct 2022: TPP >= 4800 AND I/O >= 600 GB/s
    ("2.2", "A100 controlled from 7 Oct 2022", "part-01", "2022-10-07", "private", X),
    ("2.2", "A800 legal: I/O 464 < 600", "part-02", "2023-06-01", "private", A),
    ("2.2", "H800 legal: I/O 528 < 600", "part-04", "2023-06-01", "private", A),
    ("2.2", "H100 controlled", "part-03", "2023-06-01", "private", X),
    ("2.2", "L40S not controlled in 2022 (no NVLink)", "part-08", "2023-10-22", "private", A),
    # 2.3 acceleration of 23 Oct 2023: datacenter and TPP >= 4800, at once
    ("2.3", "A800 hit by the 23 Oct 2023 notice", "part-02", "2023-10-23", "private", X),
    ("2.3", "H800 hit by the 23 Oct 2023 notice", "part-04", "2023-10-23", "private", X),
    ("2.3", "L40S hit by the 23 Oct 2023 notice", "part-08", "2023-10-23", "private", X),
    ("2.3", "A800 still legal the day before", "part-02", "2023-10-22", "private", A),
    # 2.3 Oct 2023 rule from 17 Nov 2023
    ("2.3", "RTX 4090 controlled (consumer, TPP >= 4800: NAC licence)", "part-11", "2024-01-01",
     "private", L),
    ("2.3", "RTX 4090 D under Note 2 (TPP 4707 < 4800)", "part-12", "2024-01-01", "private", A),
    ("2.3", "RTX 4080 under Note 2 despite PD 8.2", "part-13", "2024-01-01", "private", A),
    ("2.3", "L40 is 3A090.b (NAC, notify)", "part-09", "2024-01-01", "private", N),
    ("2.3", "L4 is 3A090.a.2 (PD 6.59)", "part-10", "2024-01-01", "private", X),
    ("2.3", "H20 outside 3A090 (TPP 2368, PD 2.91)", "part-05", "2024-06-01", "private", A),
    ("2.3", "L20 outside 3A090 (PD 3.14 < 3.2)", "part-06", "2024-06-01", "private", A),
    ("2.3", "L2 outside 3A090 (TPP 1544 < 1600)", "part-07", "2024-06-01", "private", A),
    ("2.3", "B200 3A090.a", "part-15", "2025-01-01", "private", X),
    ("4", "Chinese-designed parts are not US exports", "part-18", "2025-06-01", "private", A),
    # 2.8 Apr 2025: H20-class licence, none issued until Aug 2025
    ("2.8", "H20 needs a licence from 9 Apr 2025; none issued", "part-05", "2025-04-10",
     "private", L, False, 0.0),
    ("2.8", "H20 legal the day before", "part-05", "2025-04-08", "private", A),
    ("2.8", "RTX Pro 6000D just below the 1.4 TB/s line", "part-16", "2025-08-01", "private", N),
    ("2.8", "L20 below the bandwidth line", "part-06", "2025-05-01", "private", A),
    # 2.10 Aug 2025: licences issued against 15 % of revenue
    ("2.10", "H20 licensed with a 15 % share", "part-05", "2025-08-20", "private", L, True, 0.15),
    # 3 (CN) 17 Sep 2025: CAC cancels orders of Nvidia's China-tailored chips
    ("3", "RTX Pro 6000D orders cancelled", "part-16", "2025-09-17", "private", X),
    ("3", "H20 after the CAC order (orders cancelled, '100 % out of China')", "part-05",
     "2025-10-01", "private", X),
    ("3", "consumer China editions stayed on sale", "part-12", "2025-10-01", "private", A),
    # 3 (CN) 5 Nov 2025: state-funded data centres domestic chips only
    ("3", "state-funded DC: foreign chips out", "part-12", "2025-12-01", "state_funded", X),
    ("3", "state-funded DC: foreign chips still allowed on 4 Nov", "part-12", "2025-11-04",
     "state_funded", A),
    ("3", "state-funded DC: domestic chips in", "part-18", "2025-12-01", "state_funded", A),
    # 3 (CN) 10 Dec 2025: Xinchuang list for agencies and SOEs
    ("3", "SOE needs an exception for a foreign datacenter chip", "part-09", "2025-12-15", "soe",
     L),
    # 2.12 Jan 2026 (US) and 3 (CN, 13 and 28 Jan 2026)
    ("2.12", "H200 blocked at Chinese customs on 20 Jan", "part-14", "2026-01-20", "private", X),
    ("2.12", "H100 treated like the H200 on 20 Jan", "part-03", "2026-01-20", "private", X),
    ("2.12", "H200 case by case with the 25 % duty", "part-14", "2026-02-15", "private", L, True,
     0.25),
    ("2.12", "H100 is in the same class", "part-03", "2026-02-15", "private", L, True, 0.25),
    ("2.12", "MI325X named by 91 FR 1684", "part-17", "2026-02-15", "private", L, True, 0.25),
    ("2.12", "B200 does not qualify (TPP 36000)", "part-15", "2026-02-15", "private", X),
    ("2.12", "A800 is China-only: not covered, stays denied", "part-02", "2026-02-15", "private",
     X),
    ("2.12", "H800 is China-only: not covered, stays denied", "part-04", "2026-02-15", "private",
     X),
    ("3", "SOEs stay barred from the H200", "part-14", "2026-03-01", "soe", X),
    ("3", "SOEs stay barred from the H100 alike", "part-03", "2026-03-01", "soe", X),
    ("2.13", "no further threshold change to Sep 2026", "part-14", "2026-09-01", "private", L,
     True, 0.25),
]


@pytest.mark.parametrize(
    "case", CASES, ids=[f"{c[0]}-{c[2]}-{c[3]}-{c[4]}" for c in CASES]
)
def test_classification_from_specs_and_rules(record, case):
    section, says, sku, day, buyer, status, *terms = case
    decision = record[buyer].decide(sku, dt.date.fromisoformat(day))
    assert decision.status is status, f"§{section} {says}: {decision.why()}"
    if terms:
        issued, fee = terms
        assert decision.issued is issued, f"§{section} {says}: {decision.why()}"
        assert decision.fee == pytest.approx(fee), f"§{section} {says}: {decision.why()}"


def test_the_hub_floor_binds_publicly_owned_buyers_from_aug_2025(record):
    """§ (CN, Aug 2025, press): publicly owned computing hubs > 50 % domestic chips."""
    (floor,) = record["state_funded"].floors(dt.date(2025, 9, 1))
    assert (floor.floor, floor.of, floor.basis) == (0.5, "fleet", "units")
    assert record["soe"].floors(dt.date(2025, 9, 1)) == [floor]
    assert record["private"].floors(dt.date(2025, 9, 1)) == []
    assert record["state_funded"].floors(dt.date(2025, 8, 1)) == []


def test_no_chinese_measure_names_a_sku():
    """Chinese measures are keyed on classes of parts, never on a SKU name."""
    from chipmix.rules.conditions import OneOf

    for rs in load_rulesets():
        if rs.authority != "CN":
            continue
        nodes = [*(rs.items.walk() if rs.items else ()), *(n for c in rs.controls
                                                           for n in c.when.walk())]
        assert not any(isinstance(n, OneOf) and n.metric == "sku" for n in nodes), rs.id


def test_every_bundled_rule_set_says_when_it_was_announced():
    for rs in load_rulesets():
        assert rs.announced is not None and rs.announced <= rs.effective, rs.id
    by_id = {rs.id: rs for rs in load_rulesets()}
    assert by_id["us-2023-10"].announced == dt.date(2023, 10, 17)
    assert by_id["us-2023-10-accel"].announced == by_id["us-2023-10-accel"].effective
    assert by_id["us-2025-04-h20"].announced == dt.date(2025, 4, 9)
