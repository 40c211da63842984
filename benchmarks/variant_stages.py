"""Where a sweep variant's time goes: CPU milliseconds per stage, in one process.

    PYTHONPATH=src python benchmarks/variant_stages.py             # 40 LP variants of the default
    PYTHONPATH=src python benchmarks/variant_stages.py --milp      # the same as MILPs
    PYTHONPATH=src python benchmarks/variant_stages.py --repeats 5 --json out.json

The variants are the first 40 of ``sweep_bench.py``'s grid (``policy.domestic_share`` x
``supply.nvidia-h20`` on the default), planned one by one the way a sweep worker plans them
(``chipmix.studies.execute``: the worker's reuse of loaded inputs on, every variant solved —
no plans carried along a line, so the stages are comparable between variants). Stages: the
variant's scenario (overrides applied and validated), prepare, build, solve (with the domain
presolve), extract (the summary tables a row reads) and the row itself. Per stage the mean
over the variants, min and median over the repeats.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections import defaultdict

from chipmix.pipeline.reuse import worker_reuse
from chipmix.pipeline.run import Run
from chipmix.planner.extract import extract
from chipmix.resources import default_scenario_path
from chipmix.studies import execute
from chipmix.studies.common import load_base, make_job
from chipmix.studies.summary import plan_summary, sku_table
from chipmix.studies.sweep import grid, parse_vary

STAGES = ("scenario", "prepare", "build", "solve", "extract", "row")


def one_pass(job, variants) -> dict[str, float]:
    """CPU milliseconds per stage, the mean over ``variants``."""
    spent: dict[str, float] = defaultdict(float)
    cpu = time.process_time
    for i, overrides in enumerate(variants):
        c = cpu()
        scenario = execute._variant_scenario(job, f"variant {i}", overrides)
        spent["scenario"] += cpu() - c
        c = cpu()
        run = Run.for_scenario(scenario, solver=job.solver, time_limit=job.time_limit,
                               gap=job.gap, threads=1, relax=job.relax).prepare()
        spent["prepare"] += cpu() - c
        c = cpu()
        run.build()
        spent["build"] += cpu() - c
        c = cpu()
        run.solve()
        spent["solve"] += cpu() - c
        c = cpu()
        plan = extract(run, summary=True)
        spent["extract"] += cpu() - c
        c = cpu()
        plan_summary(plan, sku_table(run.scenario), list(job.workloads))
        spent["row"] += cpu() - c
    return {k: spent[k] / len(variants) * 1000 for k in STAGES}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--milp", action="store_true", help="whole servers (default: LP)")
    parser.add_argument("--variants", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", help="write the figures here")
    args = parser.parse_args()
    job = make_job(load_base(default_scenario_path()), relax=None if args.milp else True)
    axes = parse_vary(job.data, ["policy.domestic_share=0:0.95:0.05",
                                 "supply.nvidia-h20=0:9000:1000"])
    full = grid(axes)
    variants = [full[i] for i in range(min(args.variants, len(full)))]
    passes = []
    with worker_reuse(job.token):
        one_pass(job, variants[:3])  # warm: imports, the loaded inputs
        for _ in range(args.repeats):
            passes.append(one_pass(job, variants))
    rows = {k: {"min": min(p[k] for p in passes),
                "median": statistics.median(p[k] for p in passes)} for k in STAGES}
    total = [sum(p.values()) for p in passes]
    rows["total"] = {"min": min(total), "median": statistics.median(total)}
    kind = "MILP" if args.milp else "LP"
    print(f"{len(variants)} {kind} variants of the default, CPU ms per variant "
          f"(min / median of {args.repeats})")
    for k, v in rows.items():
        print(f"  {k:9s} {v['min']:8.1f} {v['median']:8.1f}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"kind": kind, "variants": len(variants), "ms": rows}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
