"""HiGHS MIP options side by side on the MILPs chipmix builds (the solver alone, interleaved).

    PYTHONPATH=src python benchmarks/milp_options.py                     # every bundled example
    PYTHONPATH=src python benchmarks/milp_options.py --generated        # + 3 generated MILPs
    PYTHONPATH=src python benchmarks/milp_options.py --floor examples/rush-before-ban.yaml

Each scenario is prepared and built once and reformulated over cumulative purchases, exactly as
``chipmix.solve.solve`` hands it to HiGHS (one thread, the scenario's gap, chipmix's own
settings from ``chipmix.solve.highs.settings_for``). Then, for each repeat, every option set is
solved back to back on a fresh ``Highs`` (so all see the same load): CPU seconds
(``time.process_time``) min / median, nodes, objective. Option sets are relative to chipmix's
settings: ``chipmix`` as shipped; ``rins+rens on`` restores HiGHS's defaults for the two sub-MIP
heuristics chipmix turns off.

``--floor``: the same MILP started from its own optimum (``setSolution``): what the solve
costs when the plan is already known — the proof of the bound alone.
"""

from __future__ import annotations

import argparse
import glob
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

OPTION_SETS: dict[str, dict[str, object]] = {
    "chipmix": {},
    "rins+rens on": {"mip_heuristic_run_rins": True, "mip_heuristic_run_rens": True},
}
GENERATED = [(100, 5, 12, 0), (60, 5, 12, 1), (30, 4, 8, 2)]


def _model(path: str):
    from chipmix.inputs.scenario import load_scenario
    from chipmix.model.build import build
    from chipmix.model.cumulative import cumulative
    from chipmix.model.data import prepare

    scenario = load_scenario(path)
    model, _ = build(prepare(scenario))
    change = cumulative(model) if model.num_integers else None
    gap = scenario.solver.gap if scenario.solver.gap is not None else 1e-4
    return model, change, gap


def _run(model, change, gap: float, extra: dict[str, object], start=None,
         time_limit: float = 300.0):
    from chipmix.solve import SolverOptions
    from chipmix.solve.highs import make_highs, run_highs

    options = SolverOptions(gap=gap, threads=1, time_limit=time_limit)
    target = change.model if change is not None else model
    h, highspy = make_highs(target, options)
    for key, value in extra.items():
        if h.setOptionValue(key, value) == highspy.HighsStatus.kError:
            raise SystemExit(f"HiGHS refused {key}={value!r}")
    if start is not None:
        solution = highspy.HighsSolution()
        solution.col_value = change.forward(start).tolist()
        solution.value_valid = True
        h.setSolution(solution)
    cpu = time.process_time()
    result = run_highs(h, highspy, target, options)
    seconds = time.process_time() - cpu
    x = change.back(result.x) if result.x is not None else None
    return seconds, h.getInfo().mip_node_count, result, x


def compare(paths: list[str], repeats: int) -> None:
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"load average {load}")
    names = list(OPTION_SETS)
    print("| scenario | columns / integers | gap | " +
          " | ".join(f"{n} CPU min / median | nodes | objective" for n in names) + " |")
    print("|---|---|---|" + "---|---|---|" * len(names))
    for path in paths:
        model, change, gap = _model(path)
        if not model.num_integers:
            continue
        runs: dict[str, list] = {n: [] for n in names}
        for _ in range(repeats):
            for name in names:
                runs[name].append(_run(model, change, gap, OPTION_SETS[name]))
        cells = []
        for name in names:
            cpu = [r[0] for r in runs[name]]
            _, nodes, result, _ = runs[name][-1]
            objective = f"{result.objective:,.0f} {result.status.value}" \
                if result.objective is not None else result.status.value
            cells.append(f"{min(cpu):.2f} / {statistics.median(cpu):.2f} | {nodes} | {objective}")
        label = Path(path).stem if Path(path).stem != "scenario" else Path(path).parent.name
        print(f"| {label} | {model.num_cols:,} / {model.num_integers:,} | {gap:g} | " +
              " | ".join(cells) + " |", flush=True)
    print(f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


def floor(path: str, repeats: int) -> None:
    model, change, gap = _model(path)
    print(f"{path}: cold against started from its own optimum, gap {gap:g}")
    print("| options | cold CPU min / median | nodes | started CPU min / median | nodes |")
    print("|---|---|---|---|---|")
    for name, extra in OPTION_SETS.items():
        cold, warm = [], []
        for _ in range(repeats):
            seconds, nodes_cold, _, x = _run(model, change, gap, extra)
            cold.append(seconds)
            seconds, nodes_warm, _, _ = _run(model, change, gap, extra, start=x)
            warm.append(seconds)
        print(f"| {name} | {min(cold):.2f} / {statistics.median(cold):.2f} | {nodes_cold} | "
              f"{min(warm):.2f} / {statistics.median(warm):.2f} | {nodes_warm} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*")
    parser.add_argument("--generated", action="store_true",
                        help="also three generated MILPs with porting (benchmarks/generate.py)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--floor", metavar="SCENARIO",
                        help="cold against started from the optimum, on SCENARIO")
    args = parser.parse_args()
    if args.floor:
        floor(args.floor, args.repeats)
        return
    paths = args.paths or sorted(glob.glob(str(HERE.parent / "examples" / "*.yaml")))
    with tempfile.TemporaryDirectory() as tmp:
        if args.generated:
            from generate import generate

            paths = paths + [str(generate(k, w, t, seed, Path(tmp) / f"g{k}x{w}x{t}s{seed}",
                                          porting=True, share=0.3))
                             for k, w, t, seed in GENERATED]
        compare(paths, args.repeats)


if __name__ == "__main__":
    main()
