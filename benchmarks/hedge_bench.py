"""Hedge benchmark: the extensive form of N sampled scenarios of the default.

Scenarios are draws from ``examples/rush-before-ban-risks.yaml`` (the default with a
``risks:`` block; ``chipmix hedge --draws N --seed 1``; identical draws merge, so the tree may
hold fewer than N scenarios). For each N the script times, in one process:

- ``prepare``: drawing, preparing and building every scenario (in this process, catalog
  and rule timeline shared, as ``chipmix hedge`` does);
- ``build``: stacking the extensive form;
- ``solve``: chipmix's solve of the extensive form (the relaxed recourse — by the L-shaped
  method for a two-stage tree — then the scenarios' recourse MIPs with the here-and-now
  decisions fixed, on ``--workers`` processes, a scenario contained in a solved sibling
  taking its plan — ``--no-share``: every one solved, ``--both``: each run both ways, side
  by side; the whole MIP from that start only for trees of at most 16 scenarios when the
  two do not close the gap) — the figure issue 17 asks about, in wall-clock and CPU seconds
  (this process's and the recourse solves', wherever they ran);
- optionally ``direct``: the whole extensive-form MIP handed to HiGHS at once (``--direct``,
  capped by ``--direct-limit`` seconds), for comparison;
- ``evaluations``: a whole ``chipmix.hedge()`` run (``hedge_total``, ``hedge_cpu``), its
  wait-and-see plans, the deterministic plan re-planned in every scenario and
  ``--test-draws`` out-of-sample draws (default 1), each family's time and MIPs solved,
  sharing as ``--no-share`` / ``--both`` say (``--workers`` processes; skipped with
  ``--no-evaluate``).

Run by hand, e.g.::

    PYTHONPATH=src python benchmarks/hedge_bench.py --sizes 8 32 128 512 --repeat 1
    PYTHONPATH=src python benchmarks/hedge_bench.py --sizes 8 32 --direct --workers 2

Prints one JSON line per run (and ``--json FILE`` writes them all) with the load average
before and after, and a ``#`` line with what benchmarks/README.md's Hedges section reports:
the machine is shared, so repeat on a quiet one and report min and median.

    PYTHONPATH=src python benchmarks/hedge_bench.py --sizes 32 128 --repeat 2 --workers 2 \
        --no-evaluate --both
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = ROOT / "examples" / "rush-before-ban-risks.yaml"


def _cpu() -> float:
    """CPU seconds of this process and of its finished children (the worker pools)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), \
        resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def one_run(n: int, seed: int, workers: int, evaluate: bool, direct: bool,
            direct_limit: float, gap: float | None, share: bool = True,
            test_draws: int = 1) -> dict:
    import chipmix
    from chipmix.hedging.evaluate import (
        EvalContext,
        make_parts,
        prepare_all,
        solve_extensive,
    )
    from chipmix.hedging.extensive import build_extensive
    from chipmix.hedging.sampled import sampled_scenarios
    from chipmix.pipeline.executor import Executor
    from chipmix.solve import solve

    row: dict = {"draws": n, "seed": seed, "workers": workers, "share": share,
                 "load_before": os.getloadavg()}
    cpu = _cpu()
    scenario = chipmix.load_scenario(SCENARIO)
    options = scenario.solver.with_overrides(name="highs", gap=gap)
    # one pool for the whole hedge, as chipmix.hedge does (it starts with the first batch)
    with Executor(workers) as ex:
        t = time.perf_counter()
        sampled = sampled_scenarios(scenario, draws=n, seed=seed)
        parts = make_parts(prepare_all(sampled.scenarios), keep_idle=True)
        row["prepare"] = time.perf_counter() - t  # every scenario prepared and built
        t = time.perf_counter()
        ext = build_extensive(parts, sampled.tree)
        ext.model.arrays()
        row["build"] = time.perf_counter() - t  # the stacked extensive form
        row.update(scenarios=len(sampled.tree), variables=ext.model.num_cols,
                   constraints=ext.model.num_rows, integers=ext.model.num_integers)
        # worker processes share the cores: one solver thread each (as chipmix.hedge does)
        task_options = options.with_overrides(threads=1) if workers > 1 else options
        ctx = EvalContext([p.data for p in parts], sampled.tree, task_options, 0.0, 0.9)
        t = time.perf_counter()
        solve_cpu = _cpu()
        result, info = solve_extensive(ext, ctx, options, executor=ex, share=share)
        row["solve"] = time.perf_counter() - t
        # this process's CPU and the recourse solves' wherever they ran
        row["solve_cpu"] = _cpu() - solve_cpu + (info.get("recourse_cpu_seconds", 0.0)
                                                 if workers > 1 else 0.0)
    row.update(status=result.status.value, objective=result.objective, gap=result.gap,
               method=info.get("method"), relaxation=info.get("relaxation", "whole MIP"),
               rounds=info.get("relaxation_rounds"), lower_bound=info.get("lower_bound"),
               upper_bound=info.get("upper_bound"),
               **{k: v for k, v in info.items() if k.endswith("_seconds")
                  or k.startswith("recourse_")})
    if direct:
        t = time.perf_counter()
        whole = solve(ext.model, options.with_overrides(time_limit=direct_limit))
        row["direct"] = time.perf_counter() - t
        row.update(direct_status=whole.status.value, direct_objective=whole.objective,
                   direct_gap=whole.gap)
    if evaluate:
        t, hedge_cpu = time.perf_counter(), _cpu()
        h = chipmix.hedge(scenario, draws=n, seed=seed, workers=workers, gap=gap,
                          test_draws=test_draws, share=share)
        row["hedge_total"] = time.perf_counter() - t
        row["hedge_cpu"] = _cpu() - hedge_cpu  # with one worker: every solve included
        row.update({f"hedge_{k}": v for k, v in h.timings.items()})
        counts = {**h.solver, **(h.sampled or {})}
        row.update({k: v for k, v in counts.items() if k.endswith(("_solved", "_carried"))
                    and not k.startswith("recourse")})
    row["cpu"] = _cpu() - cpu  # everything, the finished pool's workers included
    row["load_after"] = os.getloadavg()
    return row


def summary(row: dict) -> str:
    """One line of what benchmarks/README.md's Hedges table needs."""
    rec = (f"recourse {row.get('recourse_seconds', 0):.1f} s "
           f"({row.get('recourse_solved', row['scenarios'])} MIPs solved, "
           f"{row.get('recourse_carried', 0)} carried, {row.get('recourse_waves', 1)} waves, "
           f"checks {row.get('recourse_checks_seconds', 0):.1f} s; "
           f"{row.get('recourse_cpu_seconds', 0):.1f} CPU s in the MIPs)")
    gap = row["gap"] * 100 if row.get("gap") is not None else float("nan")
    if "hedge_total" in row:
        rec += (f"; chipmix.hedge {row['hedge_total']:.1f} s / {row['hedge_cpu']:.1f} CPU s: "
                f"wait-and-see {row.get('hedge_wait_and_see', 0):.1f} s "
                f"({row.get('wait_and_see_solved', '-')} solved), deterministic "
                f"{row.get('hedge_deterministic', 0):.1f} s "
                f"({row.get('deterministic_solved', '-')} solved), out of sample "
                f"{row.get('hedge_out_of_sample', 0):.1f} s "
                f"({row.get('out_of_sample_solved', '-')} solved)")
    return (f"# {row['draws']} draws, share={'on' if row['share'] else 'off'}: "
            f"{row['scenarios']} scenarios; prepare+build {row['prepare']:.1f} s, extensive form "
            f"{row['build']:.1f} s, solve {row['solve']:.1f} s wall / {row['solve_cpu']:.1f} "
            f"CPU s (L-shaped {row.get('relaxation_seconds', 0):.1f} s, {row['rounds']} "
            f"rounds; {rec}); total CPU {row['cpu']:.1f} s; {row['status']}, "
            f"{gap:.3f} % certified, objective {row['objective']:,.0f}; load "
            f"{row['load_before'][0]:.1f} -> {row['load_after'][0]:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[8, 32, 128, 512])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--gap", type=float, default=None,
                        help="relative MIP gap (default: the scenario's, 0.0005)")
    parser.add_argument("--direct", action="store_true",
                        help="also hand the whole extensive form to HiGHS")
    parser.add_argument("--direct-limit", type=float, default=300.0)
    parser.add_argument("--no-evaluate", action="store_true",
                        help="skip the whole chipmix.hedge() run (evaluations included)")
    parser.add_argument("--no-share", action="store_true",
                        help="solve every recourse MIP (no plan carried between contained "
                             "scenarios)")
    parser.add_argument("--both", action="store_true",
                        help="each repeat with sharing on and off, side by side")
    parser.add_argument("--test-draws", type=int, default=1,
                        help="out-of-sample draws of the whole chipmix.hedge() run")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    rows = []
    shares = [True, False] if args.both else [not args.no_share]
    for n in args.sizes:
        runs: dict[bool, list[dict]] = {share: [] for share in shares}
        for _ in range(args.repeat):
            for share in shares:
                row = one_run(n, args.seed, args.workers, not args.no_evaluate, args.direct,
                              args.direct_limit, args.gap, share, args.test_draws)
                print(json.dumps(row, default=str), flush=True)
                print(summary(row), flush=True)
                runs[share].append(row)
                rows.append(row)
        for share, done in runs.items():
            solves, cpus = [r["solve"] for r in done], [r["solve_cpu"] for r in done]
            print(f"# {n} draws, share={'on' if share else 'off'}: solve min "
                  f"{min(solves):.1f} s, median {statistics.median(solves):.1f} s wall; CPU "
                  f"min {min(cpus):.1f} s, median {statistics.median(cpus):.1f} s", flush=True)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2, default=str), encoding="utf-8")


if __name__ == "__main__":
    main()
