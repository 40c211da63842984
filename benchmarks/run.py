"""chipmix benchmarks, run by hand (not a test): phase timings against the raw solver.

    python benchmarks/run.py lp --sizes 100x10x24 250x20x60      # LP (--relax) ratio vs raw highspy
    python benchmarks/run.py milp --skus 100 --workloads 5 --periods 12   # national scale, CBC and HiGHS
    python benchmarks/run.py memory --skus 500 --workloads 20 --periods 100   # peak RSS at ~10^6 vars
    python benchmarks/run.py coldstart                           # chipmix plan --json vs import floor
    python benchmarks/run.py milpform --scenario S.yaml          # MILP as built vs cumulative purchases

Each prints a Markdown table; the results and the machine are recorded in benchmarks/README.md.

The LP ratio is chipmix's end-to-end ``chipmix.plan(path, relax=True)`` (load, prepare,
build, transfer, solve, extract) over raw highspy reading and solving the MPS file that chipmix
writes for the same instance, with the same options (simplex, one run each, after a warm-up).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from generate import generate  # noqa: E402


def _instance(
    k: int, w: int, t: int, seed: int, root: Path, porting: bool = True, share: float = 0.3
) -> Path:
    return generate(k, w, t, seed, root / f"i{k}x{w}x{t}s{seed}", porting=porting, share=share)


def lp(sizes: list[str], seed: int, time_limit: float) -> None:
    import highspy

    import chipmix
    from chipmix.solve import stdout_to_stderr

    print(
        "| size (SKUs×workloads×periods) | variables | constraints | nonzeros | load | prepare | build | "
        "transfer+solve | extract | chipmix total | raw highspy (read+solve) | ratio |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for size in sizes:
            k, w, t = (int(x) for x in size.split("x"))
            path = _instance(k, w, t, seed, root, porting=False, share=0.0)
            mps = path.parent / "model.mps"
            chipmix.plan(path, relax=True, time_limit=time_limit, write_mps=mps, diagnose=False)
            started = time.perf_counter()
            result = chipmix.plan(path, relax=True, time_limit=time_limit, diagnose=False)
            total = time.perf_counter() - started
            with stdout_to_stderr():
                h = highspy.Highs()
            h.setOptionValue("output_flag", False)
            h.setOptionValue("time_limit", time_limit)
            started = time.perf_counter()
            h.readModel(str(mps))
            h.run()
            raw = time.perf_counter() - started
            ph = result.timings
            s = result.solver
            raw_obj = h.getInfo().objective_function_value
            agree = abs(raw_obj - (result.objective or 0)) <= 1e-6 * max(1.0, abs(raw_obj))
            print(
                f"| {size} | {s['variables']:,} | {s['constraints']:,} | {_nnz(mps)} | {ph['load']:.2f} | "
                f"{ph['prepare']:.2f} | {ph['build']:.2f} | {ph['solve']:.2f} | {ph['extract']:.2f} | "
                f"{total:.2f} | {raw:.2f} | {total / raw:.2f}×{'' if agree else ' (objectives differ!)'} |",
                flush=True,
            )


def _nnz(mps: Path) -> str:
    import highspy

    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.readModel(str(mps))
    return f"{len(h.getLp().a_matrix_.value_):,}"


def milp(k: int, w: int, t: int, seed: int, gap: float, time_limit: float) -> None:
    import chipmix

    print(
        f"National-scale MILP: {k} SKUs × {w} workloads × {t} periods, porting binaries, gap {gap}, "
        f"time limit {time_limit:.0f} s"
    )
    print()
    print("| solver | status | objective | gap | seconds | variables | integers | constraints |")
    print("|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        path = _instance(k, w, t, seed, Path(tmp), porting=True)
        for solver in ("highs", "cbc"):
            result = chipmix.plan(
                path, solver=solver, gap=gap, time_limit=time_limit, diagnose=False
            )
            s = result.solver
            print(
                f"| {solver} | {result.status.value} | {result.objective or float('nan'):,.0f} | "
                f"{s['gap'] if s['gap'] is not None else 'n/a'} | {result.timings['solve']:.1f} | "
                f"{s['variables']:,} | {s['integers']:,} | {s['constraints']:,} |",
                flush=True,
            )


MEMORY_CHILD = """
import resource, sys, time
import chipmix
from chipmix.model.build import build
from chipmix.model.data import prepare
from chipmix.solve import SolverOptions
from chipmix.solve.highs import make_highs
t0 = time.perf_counter()
s = chipmix.load_scenario(sys.argv[1])
d = prepare(s)
m, _ = build(d)
m.arrays()
t1 = time.perf_counter()
h, _ = make_highs(m, SolverOptions(relax=True))
t2 = time.perf_counter()
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(m.num_cols, m.num_rows, m.num_nonzeros, round(t1 - t0, 2), round(t2 - t1, 2), round(rss))
"""


def memory(k: int, w: int, t: int, seed: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = _instance(k, w, t, seed, Path(tmp), porting=False)
        out = subprocess.run(
            [sys.executable, "-c", MEMORY_CHILD, str(path)],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ},
        )
        cols, rows, nnz, build_s, transfer_s, rss = out.stdout.split()
        print(
            "| size | variables | constraints | nonzeros | load+prepare+build | transfer to HiGHS | peak RSS |"
        )
        print("|---|---|---|---|---|---|---|")
        print(
            f"| {k}x{w}x{t} | {int(cols):,} | {int(rows):,} | {int(nnz):,} | {build_s} s | {transfer_s} s | "
            f"{int(rss):,} MB |"
        )


def coldstart(repeats: int) -> None:
    def timed(cmd: list[str]) -> float:
        runs = []
        for _ in range(repeats):
            started = time.perf_counter()
            subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
            runs.append(time.perf_counter() - started)
        return statistics.median(runs)

    exe = Path(sys.executable).parent
    chipmix_cmd = str(exe / "chipmix") if (exe / "chipmix").exists() else None
    base = [chipmix_cmd] if chipmix_cmd else [sys.executable, "-m", "chipmix"]
    floor = timed([sys.executable, "-c", "import pandas, highspy"])
    help_s = timed(base + ["--help"])
    classify = timed(base + ["classify", "--json"])
    plan = timed(base + ["plan", "--json"])
    print("| command | median seconds | × import floor |")
    print("|---|---|---|")
    print(f"| python -c 'import pandas, highspy' | {floor:.2f} | 1.00 |")
    for name, value in (
        ("chipmix --help", help_s),
        ("chipmix classify --json", classify),
        ("chipmix plan --json (default scenario)", plan),
    ):
        print(f"| {name} | {value:.2f} | {value / floor:.2f} |")


def milp_gaps(path: str | None, gaps: list[float], repeats: int, time_limit: float) -> None:
    """The default scenario's MILP to several gaps, HiGHS and CBC: min / median seconds of
    ``repeats`` solves (one thread), objective, proven gap, and the root gap (LP relaxation
    against the best objective found)."""
    import chipmix
    from chipmix.pipeline.run import Run
    from chipmix.resources import default_scenario_path

    path = path or str(default_scenario_path())
    lp = Run.for_scenario(path, relax=True).execute().result.objective
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"{Path(path).name}: LP relaxation {lp:,.0f}; load average {load}")
    print("| solver | gap | min s | median s | objective | proven gap | root gap |")
    print("|---|---|---|---|---|---|---|")
    for solver in ("highs", "cbc"):
        for gap in gaps:
            runs, plan = [], None
            for _ in range(repeats):
                started = time.perf_counter()
                plan = chipmix.plan(path, solver=solver, gap=gap, threads=1,
                                    time_limit=time_limit, diagnose=False)
                runs.append(time.perf_counter() - started - plan.timings.get("load", 0.0))
            root = (plan.objective - lp) / plan.objective if plan.ok else float("nan")
            proven = plan.solver.get("gap")
            print(f"| {solver} | {gap:g} | {min(runs):.2f} | {statistics.median(runs):.2f} | "
                  f"{plan.objective or float('nan'):,.0f} | "
                  f"{'n/a' if proven is None else f'{proven:.2e}'} | {root:.2%} |", flush=True)


def _cpu(solver: str) -> float:
    """CPU seconds of this process, plus its children's (CBC runs as a child process)."""
    import resource

    own = time.process_time()
    return own + (resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime if solver == "cbc"
                  else 0.0)


def milp_form(paths: list[str], gaps: list[float], repeats: int, time_limit: float,
              solvers: list[str]) -> None:
    """The MILP as built (the model ``--write-mps`` writes: what the raw solver gets) against
    the same model over cumulative purchases (chipmix.model.cumulative), side by side in one
    run: for each repeat both forms are solved back to back (one thread), so both see the
    same load. CPU seconds (HiGHS in-process; CBC's child process) and wall seconds, min and
    median; nodes for HiGHS; the objective and the proven gap."""
    from chipmix.inputs.scenario import load_scenario
    from chipmix.model.build import build
    from chipmix.model.data import prepare
    from chipmix.solve import SolverOptions, solve

    for path in paths:
        model, _ = build(prepare(load_scenario(path)))
        lp = solve(model, SolverOptions(relax=True, threads=1)).objective
        load = " ".join(f"{x:.1f}" for x in os.getloadavg())
        print(f"\n{Path(path).name}: {model.num_cols} columns ({model.num_integers} integer), "
              f"{model.num_rows} rows; LP relaxation {lp:,.0f}; load average {load}")
        print("| solver | gap | form | CPU min | CPU median | wall min | wall median | "
              "objective | proven gap | above the LP |")
        print("|---|---|---|---|---|---|---|---|---|---|")
        for solver in solvers:
            for gap in gaps:
                runs: dict[bool, list[tuple[float, float]]] = {False: [], True: []}
                last = {}
                for _ in range(repeats):
                    for form in (False, True):
                        options = SolverOptions(name=solver, gap=gap, threads=1,
                                                time_limit=time_limit)
                        c0, w0 = _cpu(solver), time.perf_counter()
                        result = solve(model, options, reformulate=form)
                        runs[form].append((_cpu(solver) - c0, time.perf_counter() - w0))
                        last[form] = result
                for form in (False, True):
                    cpu = [c for c, _ in runs[form]]
                    wall = [w for _, w in runs[form]]
                    r = last[form]
                    obj = r.objective if r.objective is not None else float("nan")
                    proven = "n/a" if r.gap is None else f"{r.gap:.2e}"
                    print(f"| {solver} | {gap:g} | {'cumulative' if form else 'as built'} | "
                          f"{min(cpu):.2f} | {statistics.median(cpu):.2f} | {min(wall):.2f} | "
                          f"{statistics.median(wall):.2f} | {obj:,.0f} | {proven} | "
                          f"{(obj - lp) / obj:.2%} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description="chipmix benchmarks (run by hand)")
    sub = parser.add_subparsers(dest="what", required=True)
    p = sub.add_parser("lp")
    p.add_argument("--sizes", nargs="+", default=["100x10x24", "250x20x60"])
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--time-limit", type=float, default=1800)
    p = sub.add_parser("milp")
    p.add_argument("--skus", type=int, default=100)
    p.add_argument("--workloads", type=int, default=5)
    p.add_argument("--periods", type=int, default=12)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--gap", type=float, default=0.01)
    p.add_argument("--time-limit", type=float, default=300)
    p = sub.add_parser("memory")
    p.add_argument("--skus", type=int, default=500)
    p.add_argument("--workloads", type=int, default=20)
    p.add_argument("--periods", type=int, default=100)
    p.add_argument("--seed", type=int, default=1)
    p = sub.add_parser("milpgaps")
    p.add_argument("--scenario")
    p.add_argument("--gaps", type=float, nargs="+", default=[1e-2, 1e-3, 1e-4])
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--time-limit", type=float, default=300)
    p = sub.add_parser("milpform")
    p.add_argument("--scenario", nargs="+", required=True)
    p.add_argument("--gaps", type=float, nargs="+", default=[1e-2, 1e-3, 5e-4, 1e-4])
    p.add_argument("--solvers", nargs="+", default=["highs", "cbc"])
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--time-limit", type=float, default=300)
    p = sub.add_parser("coldstart")
    p.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    if args.what == "lp":
        lp(args.sizes, args.seed, args.time_limit)
    elif args.what == "milp":
        milp(args.skus, args.workloads, args.periods, args.seed, args.gap, args.time_limit)
    elif args.what == "milpgaps":
        milp_gaps(args.scenario, args.gaps, args.repeats, args.time_limit)
    elif args.what == "milpform":
        milp_form(args.scenario, args.gaps, args.repeats, args.time_limit, args.solvers)
    elif args.what == "memory":
        memory(args.skus, args.workloads, args.periods, args.seed)
    else:
        coldstart(args.repeats)


if __name__ == "__main__":
    main()
