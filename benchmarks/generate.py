"""Synthetic chipmix instances at chosen sizes, deterministic by seed.

    python benchmarks/generate.py --skus 250 --workloads 20 --periods 60 --seed 1 --out /tmp/inst

writes ``catalog.csv`` (a valid catalog in the format of formats.md) and ``scenario.yaml``
(a valid scenario using it and the bundled rule sets). The model has about
``skus × workloads × periods`` use variables plus ``skus × periods`` whole-server purchase
variables; ``--porting`` adds porting binaries for half the vendors (a MILP with binaries).
Horizons of more than 40 periods are monthly.

The figures are random but shaped like the real catalogs: throughput 50-2,500 TFLOPS bf16,
bandwidth 0.3-8 TB/s, power 150-1,000 W, prices 3,000-40,000 USD, supply per quarter
200-20,000 cards, half the SKUs designed in CN. Rules decide by thresholds, so some generated
SKUs are export-controlled, as in the real catalogs.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np
import yaml

COLUMNS = [
    "id",
    "vendor",
    "name",
    "origin",
    "datacenter",
    "release",
    "bf16_dense_tflops",
    "fp8_dense_tflops",
    "int8_dense_tops",
    "die_area_mm2",
    "memory_gb",
    "memory_bw_tbps",
    "interconnect_gbps",
    "pcie_gbps",
    "tdp_w",
    "price_usd",
    "server_size",
    "supply_per_quarter",
    "lead_quarters",
    "efficiency_training",
    "efficiency_inference",
    "sources",
    "notes",
]
METRICS = ["bf16_pflops", "memory_bw_tbps", "int8_pops", "memory_tb"]
SOURCE = "https://example.org/chipmix-synthetic"


def generate(
    skus: int,
    workloads: int,
    periods: int,
    seed: int,
    out: Path,
    porting: bool = True,
    share: float = 0.3,
) -> Path:
    """Write ``catalog.csv`` and ``scenario.yaml`` to ``out``; return the scenario path."""
    rng = np.random.default_rng(seed)
    out.mkdir(parents=True, exist_ok=True)
    vendors = [f"Vendor{v:02d}" for v in range(max(2, skus // 25))]
    rows = []
    for i in range(skus):
        vendor = vendors[i % len(vendors)]
        bf16 = float(np.round(rng.uniform(50, 2500), 1))
        rows.append(
            {
                "id": f"synth-{i:05d}",
                "vendor": vendor,
                "name": f"Synthetic {i}",
                "origin": "CN" if vendors.index(vendor) % 2 else "US",
                "datacenter": "true",
                "release": "2020",
                "bf16_dense_tflops": bf16,
                "fp8_dense_tflops": round(2 * bf16, 1),
                "int8_dense_tops": round(2 * bf16, 1),
                "die_area_mm2": float(np.round(rng.uniform(300, 900), 1)),
                "memory_gb": int(rng.choice([32, 48, 64, 80, 96, 128, 141])),
                "memory_bw_tbps": float(np.round(rng.uniform(0.3, 8.0), 3)),
                "interconnect_gbps": int(rng.choice([0, 200, 400, 900])),
                "pcie_gbps": 64,
                "tdp_w": int(rng.uniform(150, 1000)),
                "price_usd": int(rng.uniform(3000, 40000)),
                "server_size": 8,
                "supply_per_quarter": int(rng.uniform(200, 20000)),
                "lead_quarters": int(rng.integers(0, 2)),
                "efficiency_training": round(float(rng.uniform(0.25, 0.5)), 3),
                "efficiency_inference": round(float(rng.uniform(0.3, 0.6)), 3),
                "sources": SOURCE,
                "notes": "synthetic benchmark row; price: estimate (random)",
            }
        )
    with (out / "catalog.csv").open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)

    monthly = periods > 40
    if monthly:
        start_year, start = 2024, "2024-01"
        end_index = periods - 1
        end = f"{start_year + end_index // 12}-{end_index % 12 + 1:02d}"
        keys = [f"{start_year + t // 12}-{t % 12 + 1:02d}" for t in range(periods)]
    else:
        start, end_index = "2024Q1", periods - 1
        end = f"{2024 + end_index // 4}Q{end_index % 4 + 1}"
        keys = [f"{2024 + t // 4}Q{t % 4 + 1}" for t in range(periods)]
    scale = skus / 100.0  # demand grows with the catalog so most SKUs matter
    wl = []
    for j in range(workloads):
        metric = METRICS[j % len(METRICS)]
        base = {"bf16_pflops": 20.0, "memory_bw_tbps": 300.0, "int8_pops": 40.0, "memory_tb": 30.0}[
            metric
        ]
        steps = sorted(set(rng.integers(0, periods, size=max(1, periods // 6)).tolist()) | {0})
        level, demand = base * scale * rng.uniform(0.5, 1.5), {}
        for t in steps:
            level *= rng.uniform(1.0, 1.25)
            demand[keys[t]] = round(float(level), 3)
        wl.append(
            {
                "name": f"wl-{j:03d}",
                "kind": "training" if j % 2 == 0 else "inference",
                "metric": metric,
                "demand": demand,
                "min_memory_gb": 48 if j % 3 == 0 else 0,
                "shortfall_penalty": {
                    "bf16_pflops": 60000,
                    "memory_bw_tbps": 8000,
                    "int8_pops": 40000,
                    "memory_tb": 30000,
                }[metric],
            }
        )
    scenario = {
        "name": f"synthetic-{skus}x{workloads}x{periods}-s{seed}",
        "description": "Synthetic benchmark instance from benchmarks/generate.py (random figures).",
        "horizon": {"start": start, "end": end},
        "home": "CN",
        "buyer": "private",
        "discount_rate": 0.08,
        "catalogs": ["catalog.csv"],
        "licenses": "deny",
        "workloads": wl,
        "price_decline_per_year": 0.1,
        "policy": {"share_basis": "compute", "pue": 1.3, "energy_price": 0.08},
        "solver": {"name": "highs", "time_limit": 600, "gap": 0.001},
    }
    if share > 0:
        scenario["policy"]["domestic_share"] = {keys[0]: share}
    if porting:
        scenario["porting"] = {v: 1.0e6 for v in vendors[1::2]}
    path = out / "scenario.yaml"
    path.write_text(yaml.safe_dump(scenario, sort_keys=False), encoding="utf-8")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skus", type=int, default=100)
    parser.add_argument("--workloads", type=int, default=5)
    parser.add_argument("--periods", type=int, default=12)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-porting", action="store_true")
    parser.add_argument(
        "--share", type=float, default=0.3, help="domestic share of compute (0: none)"
    )
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    path = generate(
        args.skus,
        args.workloads,
        args.periods,
        args.seed,
        args.out,
        not args.no_porting,
        args.share,
    )
    print(path)


if __name__ == "__main__":
    main()
