"""Stress throughput: draws per second of ``chipmix stress`` with 1 and 2 local workers.

    PYTHONPATH=src python benchmarks/stress_bench.py                      # 100 draws, 1 and 2 workers
    PYTHONPATH=src python benchmarks/stress_bench.py --draws 500 --workers 2 --repeats 3
    PYTHONPATH=src python benchmarks/stress_bench.py --baseline --json out.json

Plans ``examples/rush-before-ban-risks.yaml`` (or ``--scenario``) once, then runs the draws
of ``chipmix stress`` (``prepare_stress`` + the executor, as ``stress()`` does) ``--repeats``
times per worker count and prints wall seconds (min and median), draws/s, the CPU seconds
of this process and its finished workers, how each re-plan was made (solved, carried from
the previous re-plan, memo) and the load average before and after. ``--baseline`` also runs
every configuration with the shortcuts off (``StressSetup.shortcuts = False``: every re-plan
built and solved, as before), interleaved with the new runs so both see the same load, and
reports the largest cost difference per draw between the two (re-plans agree within the
solver gap; a later stage can then start from another plan within the gap).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import time
from pathlib import Path

import numpy as np


def load() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:  # pragma: no cover - not on every platform
        return "n/a"


def cpu_seconds() -> float:
    """CPU of this process and of its reaped children (pool workers once the pool closed)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", type=Path,
                        default=Path(__file__).resolve().parents[1] / "examples"
                        / "rush-before-ban-risks.yaml")
    parser.add_argument("--draws", type=int, default=100)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--baseline", action="store_true",
                        help="also run with the shortcuts off (every re-plan solved)")
    parser.add_argument("--json", type=Path, help="write the results as JSON")
    args = parser.parse_args(argv)

    import dataclasses
    import uuid

    import pandas as pd

    import chipmix
    import chipmix.insight.stress as stress
    from chipmix.inputs.scenario import load_scenario
    from chipmix.pipeline.executor import run_map

    scenario = load_scenario(args.scenario)
    plan = chipmix.plan(scenario)
    options = scenario.solver.with_overrides(name="highs")
    setup = stress.prepare_stress(scenario, plan, seed=args.seed, solver_options=options)
    modes = ["baseline", "new"] if args.baseline else ["new"]
    runs: dict[tuple[str, int], list[dict]] = {}
    costs: dict[str, np.ndarray] = {}
    for repeat in range(args.repeats):
        for workers in args.workers:
            for mode in modes:
                # a new token per run: no memo or HiGHS model carries over between runs
                run_setup = dataclasses.replace(setup, token=uuid.uuid4().hex,
                                                shortcuts=mode == "new")
                stress.REPLAN_COUNTS.clear()
                before, cpu0 = load(), cpu_seconds()
                started = time.perf_counter()
                rows = run_map(stress.run_draw, run_setup, range(args.draws), workers=workers)
                wall = time.perf_counter() - started
                frame = pd.DataFrame(rows)
                costs.setdefault(mode, frame["cost"].to_numpy(dtype=float))
                record = {"mode": mode, "workers": workers, "repeat": repeat,
                          "seconds": round(wall, 2), "cpu_seconds": round(cpu_seconds() - cpu0, 2),
                          "replans": int(frame["replans"].sum()),
                          "counts": dict(stress.REPLAN_COUNTS) if workers == 1 else None,
                          "load_before": before, "load_after": load()}
                runs.setdefault((mode, workers), []).append(record)
                print(json.dumps(record), file=sys.stderr, flush=True)

    print(f"\n{args.draws} draws of {scenario.name}, {args.repeats} repeats "
          f"({time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} cores)")
    print(f"{'mode':<10}{'workers':>8}{'wall min':>10}{'median':>9}{'draws/s':>9}"
          f"{'CPU s min':>11}  re-plans (1 worker: solved/carried/memo)  load before -> after")
    summary = []
    for (mode, workers), records in runs.items():
        walls = [r["seconds"] for r in records]
        best = min(walls)
        counts = records[0]["counts"]
        text = ("/".join(str(counts.get(k, 0)) for k in ("solved", "carried", "memo"))
                if counts else "-")
        summary.append({"mode": mode, "workers": workers, "wall_min": best,
                        "wall_median": statistics.median(walls),
                        "draws_per_s": round(args.draws / best, 2),
                        "cpu_min": min(r["cpu_seconds"] for r in records), "counts": counts})
        print(f"{mode:<10}{workers:>8}{best:>10.1f}{statistics.median(walls):>9.1f}"
              f"{args.draws / best:>9.2f}{summary[-1]['cpu_min']:>11.1f}  {text:<41}"
              f"{records[0]['load_before']} -> {records[-1]['load_after']}")
    if "baseline" in costs:
        a, b = costs["baseline"], costs["new"]
        rel = np.abs(a - b) / np.maximum(np.abs(a), 1.0)
        print(f"cost per draw, new vs baseline: {int((a == b).sum())} of {len(a)} identical, "
              f"largest relative difference {np.nanmax(rel):.2e} (gap {options.gap})")
    if args.json:
        args.json.write_text(json.dumps({"summary": summary, "runs": list(runs.values())},
                                        indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
