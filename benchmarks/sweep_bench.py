"""Sweep throughput: 200 variants of the default scenario with 1 and 2 local workers.

    PYTHONPATH=src python benchmarks/sweep_bench.py                  # 200 variants, 1 and 2 workers
    PYTHONPATH=src python benchmarks/sweep_bench.py --workers 1 2 4 --dask
    PYTHONPATH=src python benchmarks/sweep_bench.py --variants 40 --json out.json
    PYTHONPATH=src python benchmarks/sweep_bench.py --variants 80 --repeats 3 --baseline
    PYTHONPATH=src python benchmarks/sweep_bench.py --variants 40 --workers 2 --relax  # LPs

The grid is ``policy.domestic_share`` (0 to 0.95 in steps of 0.05: 20 values) x
``supply.nvidia-h20`` (0 to 9,000 cards per quarter in steps of 1,000: 10 values) on
``examples/rush-before-ban.yaml`` — 200 variants; ``--variants N`` keeps the first N. Every
run solves the same variants with ``threads=1`` per solve; the script checks that every run
returned the same table (except timings) and prints, per executor: wall time, throughput
(variants/s), speed-up over 1 worker and parallel efficiency (speed-up / workers), plus the
machine's load average before and after and, as a yardstick for the efficiency, how many
cores' worth of CPU a pool of that size gets at all just before its run (the numbers mean
little on a busy machine).

Chunks follow the grid's lines (``chipmix sweep`` passes its fastest axis: one chunk per H20
line of 10); ``--by-count`` also runs the chunks cut by the variant count alone (before
1 Dec 2026, evening: 8 chunks of 5 for 40 variants), interleaved.

``--repeats N`` runs every configuration N times (min and median reported); ``--baseline``
also runs each one the way before issue 17 (no reuse, no carried plans: ``--no-reuse``)
interleaved with the new runs, so both see the same load; the tables of the two agree in
status and within the gap in objective (carried plans are other optima within the gap),
which the script checks. CPU seconds include the pool workers' (reaped at the end of a run).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import sys
import time
from pathlib import Path

SHARES = "0:0.95:0.05"
H20 = "0:9000:1000"


def machine() -> dict:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    from importlib.metadata import version

    import pandas

    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count()
    return {
        "date": dt.datetime.now().isoformat(timespec="seconds"),
        "platform": platform.platform(),
        "cpu": cpu,
        "cores": cores,
        "python": platform.python_version(),
        "highspy": version("highspy"),
        "pandas": pandas.__version__,
    }


def load() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:  # pragma: no cover - not on every platform
        return "n/a"


def _spin(n: int) -> float:
    started = time.perf_counter()
    total = 0
    for i in range(n):
        total += i * i
    return time.perf_counter() - started


def cpu_capacity(workers: int, n: int = 15_000_000) -> float:
    """How many cores' worth of pure-Python work ``workers`` processes get right now.

    The same loop runs in 1 process, then in ``workers`` processes at once; the ratio of
    throughputs is what the machine can give a pool of that size (other users' jobs count).
    """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=workers,
                             mp_context=multiprocessing.get_context("spawn")) as pool:
        list(pool.map(_spin, [1000] * workers))  # start the processes
        single = max(pool.map(_spin, [n]))
        together = max(pool.map(_spin, [n] * workers))
    return workers * single / together


def describe_difference(frame, reference) -> str:
    """Which columns differ, in how many rows, and by how much (objective)."""
    parts = []
    for column in reference.columns:
        a, b = frame[column], reference[column]
        differs = ~((a == b) | (a.isna() & b.isna()))
        if differs.any():
            part = f"{column}: {int(differs.sum())} rows"
            if a.dtype.kind == "f":
                part += f" (max difference {(a - b)[differs].abs().max():.3g})"
            parts.append(part)
    return "; ".join(parts) or "dtypes only"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", type=int, default=200)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--dask", action="store_true",
                        help="also run on a LocalCluster with as many workers as the largest "
                             "--workers (processes, one thread each)")
    parser.add_argument("--json", type=Path, help="write the results as JSON")
    parser.add_argument("--no-reuse", action="store_true",
                        help="solve every variant from scratch (no HiGHS model or input reuse "
                             "in the workers, no carried plans: the behaviour before issue 17)")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--baseline", action="store_true",
                        help="also run every configuration with --no-reuse, interleaved")
    parser.add_argument("--by-count", action="store_true",
                        help="also run the new way with chunks cut by the variant count alone "
                             "(as before chunks followed the grid's lines), interleaved")
    parser.add_argument("--relax", action="store_true",
                        help="the LP relaxation of every variant (chipmix sweep --relax)")
    args = parser.parse_args(argv)

    import dataclasses
    import resource

    from chipmix.pipeline.executor import Executor
    from chipmix.resources import default_scenario_path
    from chipmix.studies.common import load_base, make_job
    from chipmix.studies.execute import run_batch
    from chipmix.studies.sweep import grid, parse_vary, results_frame

    scenario = load_base(default_scenario_path())
    new_job = make_job(scenario, relax=True if args.relax else None)
    old_job = dataclasses.replace(new_job, token=None, carry=False)
    job = old_job if args.no_reuse else new_job
    modes = [("baseline", old_job), ("new", new_job)] if args.baseline else \
        [("baseline" if args.no_reuse else "new", job)]
    if args.by_count:
        modes.append(("by-count", new_job))

    def cpu() -> float:
        own = resource.getrusage(resource.RUSAGE_SELF)
        kids = resource.getrusage(resource.RUSAGE_CHILDREN)
        return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime
    axes = parse_vary(job.data, [f"policy.domestic_share={SHARES}",
                                 f"supply.nvidia-h20={H20}"])
    full = grid(axes)  # lazy: indexed by position, not sliced
    variants = [full[i] for i in range(min(args.variants, len(full)))]
    periods = [str(p) for p in scenario.periods]
    info = machine()
    print(json.dumps(info), file=sys.stderr)
    results: list[dict] = []
    reference: dict[str, object] = {}

    def record(label: str, workers: int, runner_factory, mode: str, the_job) -> None:
        capacity = round(cpu_capacity(workers), 2) if workers > 1 else 1.0
        before, cpu0 = load(), cpu()
        started = time.perf_counter()
        with runner_factory() as executor:
            line = None if mode == "by-count" else len(axes["supply.nvidia-h20"])
            outcomes, run = run_batch(executor, the_job, variants, line=line)
        wall = time.perf_counter() - started  # includes starting the pool
        frame = results_frame(outcomes, variants, axes, periods)
        reference.setdefault(mode, frame)
        same = frame.equals(reference[mode])
        if not same:
            print(f"{label}: differs from the first run: "
                  f"{describe_difference(frame, reference[mode])}", file=sys.stderr)
        statuses = frame["status"].value_counts().to_dict()
        row = {"executor": label, "mode": mode, "workers": workers, "variants": len(variants),
               "seconds": round(wall, 2), "cpu_seconds": round(cpu() - cpu0, 2),
               "throughput": round(len(variants) / wall, 3),
               "mean_solve_s": round(sum(run.per_variant) / len(variants), 3),
               "identical": bool(same), "statuses": statuses, "cpu_capacity": capacity,
               "load_before": before, "load_after": load()}
        results.append(row)
        print(json.dumps(row), file=sys.stderr)

    for _ in range(args.repeats):
        for workers in args.workers:
            for mode, the_job in modes:
                record("in-process" if workers == 1 else "process-pool", workers,
                       lambda w=workers: Executor(workers=w), mode, the_job)
        if args.dask:
            from dask.distributed import Client, LocalCluster

            n = max(args.workers)
            with LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                              dashboard_address=None) as cluster, Client(cluster) as client:
                for mode, the_job in modes:
                    record("dask-localcluster", n, lambda: Executor(dask=client), mode,
                           the_job)
    return report(results, reference, scenario, info, variants, args)


def report(results, reference, scenario, info, variants, args) -> int:
    """Print min and median per configuration; check the modes agree; write --json."""
    import statistics

    groups: dict[tuple, list[dict]] = {}
    for r in results:
        groups.setdefault((r["executor"], r["workers"], r["mode"]), []).append(r)
    base = min((g for k, g in groups.items() if k[1] == 1), default=next(iter(groups.values())),
               key=lambda g: g[0]["mode"] != "new")
    base_s = min(r["seconds"] for r in base)
    print(f"\n{len(variants)} variants of {scenario.name}{' (LP relaxation)' if args.relax else ''} "
          f"({info['date']}, {info['cpu']}, "
          f"{info['cores']} cores, Python {info['python']}, HiGHS {info['highspy']}), "
          f"{args.repeats} repeat(s)")
    print(f"{'executor':<20}{'mode':<10}{'workers':>8}{'wall min':>9}{'median':>8}{'var/s':>7}"
          f"{'CPU s min':>10}{'vs base':>8}{'cores':>7}  same table  load before -> after")
    for (label, workers, mode), group in groups.items():
        walls = [r["seconds"] for r in group]
        best = min(walls)
        print(f"{label:<20}{mode:<10}{workers:>8}{best:>9.1f}{statistics.median(walls):>8.1f}"
              f"{len(variants) / best:>7.2f}{min(r['cpu_seconds'] for r in group):>10.1f}"
              f"{base_s / best:>8.2f}{group[0]['cpu_capacity']:>7.2f}  "
              f"{'yes' if all(r['identical'] for r in group) else 'NO':<10}  "
              f"{group[0]['load_before']} -> {group[-1]['load_after']}")
    print("cores: how many cores' worth of plain-Python CPU that many processes got just "
          "before the run; vs base: speed-up over the 1-worker new run (min over repeats)")
    agree = True
    for other in ("baseline", "by-count"):
        if other in reference and "new" in reference:
            old, new = reference[other], reference["new"]
            equal = list(old["status"]) == list(new["status"])
            agree = agree and equal
            rel = ((new["objective"] - old["objective"]).abs()
                   / old["objective"].abs().clip(lower=1.0)).max()
            print(f"new vs {other}: statuses {'equal' if equal else 'DIFFER'}, largest "
                  f"relative objective difference {rel:.2e}")
    if args.json:
        args.json.write_text(json.dumps({"machine": info, "results": results}, indent=2) + "\n")
    return 0 if agree and all(r["identical"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
