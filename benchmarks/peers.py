"""chipmix against other ways to build and solve the same LP, end to end, side by side.

    PYTHONPATH=src python benchmarks/peers.py --sizes 100x10x10 250x20x20 400x30x25 500x40x50 \
        --repeats 5

For each size (SKUs x workloads x periods, ``benchmarks/generate.py``, no porting, no share:
the x[s,w,t] LP of the issue's table) it writes the instance, lets chipmix write its MPS and
its model arrays (``.npz``: costs, bounds, the matrix as COO triplets), then times, each in a
fresh Python process (so imports count, as for a user):

- ``chipmix``: ``chipmix.plan(path, relax=True)`` from the scenario YAML (load, prepare,
  presolve, build, transfer, solve, extract), and ``solver.presolve=false``;
- ``numpy → highspy``: the arrays from the ``.npz`` into a ``HighsLp``, ``passModel``, ``run``;
- ``linopy``: the arrays as linopy variables and one constraint block (its native
  ``_term`` layout), solved with HiGHS (dev-only peer: ``pip install linopy``);
- ``PuLP + HiGHS`` and ``PuLP + CBC``: one ``LpAffineExpression`` per row;

and, in this process, the raw solver: ``Highs.readModel(mps)`` then ``Highs.run()``, timed
around ``run()`` only. Every peer reports its objective (checked against the raw solve) and
its wall time; the table gives min and median over ``--repeats`` runs as the ratio to the raw
``run()`` of the same repeat round, plus the load average at the start of each size.
"""

from __future__ import annotations

import argparse
import json
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

CHIPMIX = """
import sys, time, json
t0 = time.perf_counter()
import chipmix
plan = chipmix.plan(sys.argv[1], relax=True, diagnose=False, presolve=sys.argv[2] == "on",
                    time_limit=float(sys.argv[3]))
print(json.dumps({"objective": plan.objective, "seconds": time.perf_counter() - t0}))
"""

NUMPY_HIGHSPY = """
import sys, time, json
t0 = time.perf_counter()
import numpy as np, highspy
z = np.load(sys.argv[1])
n, m = int(z["n"]), int(z["m"])
order = np.lexsort((z["rows"], z["cols"]))
rows, cols, vals = z["rows"][order], z["cols"][order], z["vals"][order]
start = np.zeros(n + 1, dtype=np.int32)
np.cumsum(np.bincount(cols, minlength=n), out=start[1:])
lp = highspy.HighsLp()
lp.num_col_, lp.num_row_ = n, m
lp.col_cost_, lp.col_lower_, lp.col_upper_ = z["cost"], z["col_lower"], z["col_upper"]
lp.row_lower_, lp.row_upper_ = z["row_lower"], z["row_upper"]
lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_ = start, rows.astype(np.int32), vals
h = highspy.Highs()
h.setOptionValue("output_flag", False)
h.setOptionValue("time_limit", float(sys.argv[2]))
h.passModel(lp)
h.run()
x = np.asarray(h.getSolution().col_value)
print(json.dumps({"objective": h.getInfo().objective_function_value,
                  "seconds": time.perf_counter() - t0}))
"""

LINOPY = """
import sys, time, json
t0 = time.perf_counter()
import numpy as np, xarray as xr, linopy
z = np.load(sys.argv[1])
n, m = int(z["n"]), int(z["m"])
model = linopy.Model()
x = model.add_variables(lower=xr.DataArray(z["col_lower"], dims="i"),
                        upper=xr.DataArray(z["col_upper"], dims="i"), name="x")
rows, cols, vals = z["rows"], z["cols"], z["vals"]
order = np.argsort(rows, kind="stable")
rows, cols, vals = rows[order], cols[order], vals[order]
count = np.bincount(rows, minlength=m)
width = int(count.max()) if m else 0
slot = np.arange(len(rows)) - np.repeat(np.cumsum(count) - count, count)
coeffs = np.zeros((m, width))
labels = np.full((m, width), -1, dtype=np.int64)
coeffs[rows, slot] = vals
labels[rows, slot] = x.labels.values[cols]
lhs = linopy.LinearExpression(xr.Dataset({"coeffs": (("r", "_term"), coeffs),
                                          "vars": (("r", "_term"), labels)}), model)
lo, up = z["row_lower"], z["row_upper"]
eq = lo == up
finite_lo, finite_up = np.isfinite(lo) & ~eq, np.isfinite(up) & ~eq
for mask, sign, rhs, name in ((eq, "=", lo, "eq"), (finite_lo, ">=", lo, "ge"),
                              (finite_up, "<=", up, "le")):
    if mask.any():
        idx = np.flatnonzero(mask)
        model.add_constraints(lhs.isel(r=idx), sign, xr.DataArray(rhs[idx], dims="r",
                                                                   coords={"r": idx}), name=name)
model.add_objective((xr.DataArray(z["cost"], dims="i") * x).sum())
model.solve(solver_name="highs", time_limit=float(sys.argv[2]), output_flag=False)
print(json.dumps({"objective": float(model.objective.value),
                  "seconds": time.perf_counter() - t0}))
"""

PULP = """
import sys, time, json
t0 = time.perf_counter()
import numpy as np, pulp
z = np.load(sys.argv[1])
n, m = int(z["n"]), int(z["m"])
lo, up, cost = z["col_lower"], z["col_upper"], z["cost"]
x = [pulp.LpVariable(f"x{j}", lowBound=float(lo[j]),
                     upBound=None if np.isinf(up[j]) else float(up[j])) for j in range(n)]
prob = pulp.LpProblem("peer", pulp.LpMinimize)
prob += pulp.LpAffineExpression([(x[j], float(c)) for j, c in enumerate(cost) if c != 0])
order = np.argsort(z["rows"], kind="stable")
rows, cols, vals = z["rows"][order], z["cols"][order], z["vals"][order]
bounds = np.searchsorted(rows, np.arange(m + 1))
for i in range(m):
    a, b = bounds[i], bounds[i + 1]
    expr = pulp.LpAffineExpression([(x[j], float(v)) for j, v in zip(cols[a:b], vals[a:b])])
    rl, ru = z["row_lower"][i], z["row_upper"][i]
    if rl == ru:
        prob += expr == float(rl)
    else:
        if np.isfinite(rl):
            prob += expr >= float(rl)
        if np.isfinite(ru):
            prob += expr <= float(ru)
limit = float(sys.argv[2])
solver = (pulp.HiGHS(msg=False, timeLimit=limit) if sys.argv[3] == "highs"
          else pulp.PULP_CBC_CMD(msg=False, timeLimit=limit))
prob.solve(solver)
print(json.dumps({"objective": pulp.value(prob.objective), "seconds": time.perf_counter() - t0}))
"""

PEERS = {
    "chipmix": (CHIPMIX, "yaml", ["on"]),
    "chipmix presolve off": (CHIPMIX, "yaml", ["off"]),
    "numpy → highspy": (NUMPY_HIGHSPY, "npz", []),
    "linopy": (LINOPY, "npz", []),
    "PuLP + HiGHS": (PULP, "npz", ["highs"]),
    "PuLP + CBC": (PULP, "npz", ["cbc"]),
}


def load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def write_inputs(size: str, seed: int, root: Path) -> tuple[Path, Path, Path, int]:
    import numpy as np

    import chipmix
    from chipmix.model.build import build
    from chipmix.model.data import prepare

    k, w, t = (int(x) for x in size.split("x"))
    path = generate(k, w, t, seed, root / size, porting=False, share=0.0)
    mps = path.parent / "model.mps"
    chipmix.plan(path, relax=True, write_mps=mps, diagnose=False)
    model = build(prepare(chipmix.load_scenario(path)))[0].relaxed()
    a = model.arrays()
    col_of = np.repeat(np.arange(model.num_cols), np.diff(a["csc_start"]))
    npz = path.parent / "model.npz"
    np.savez(npz, n=model.num_cols, m=model.num_rows, cost=a["cost"],
             col_lower=a["col_lower"], col_upper=a["col_upper"], row_lower=a["row_lower"],
             row_upper=a["row_upper"], rows=a["csc_index"], cols=col_of, vals=a["csc_value"])
    return path, mps, npz, model.num_cols


def raw_run(mps: Path, time_limit: float) -> tuple[float, float]:
    import highspy

    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("time_limit", time_limit)
    h.readModel(str(mps))
    started = time.perf_counter()
    h.run()
    return time.perf_counter() - started, h.getInfo().objective_function_value


def peer_run(name: str, yaml_path: Path, npz: Path, time_limit: float) -> tuple[float, float]:
    code, source, extra = PEERS[name]
    arg = str(yaml_path) if source == "yaml" else str(npz)
    args = [arg, *extra, str(time_limit)] if source == "yaml" else [arg, str(time_limit), *extra]
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                         check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    return result["seconds"], result["objective"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=["100x10x10", "250x20x20"])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--peers", nargs="+", default=list(PEERS))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--time-limit", type=float, default=3600)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            yaml_path, mps, npz, cols = write_inputs(size, args.seed, Path(tmp))
            ratios: dict[str, list[float]] = {p: [] for p in args.peers}
            raws, bad = [], set()
            start_load = load()
            for _ in range(args.repeats):
                raw, objective = raw_run(mps, args.time_limit)
                raws.append(raw)
                for peer in args.peers:
                    seconds, value = peer_run(peer, yaml_path, npz, args.time_limit)
                    if abs(value - objective) > 1e-6 * max(1.0, abs(objective)):
                        bad.add(peer)
                    ratios[peer].append(seconds / raw)
            row = {"size": size, "variables": cols, "raw_run_min": min(raws),
                   "raw_run_median": statistics.median(raws), "load_start": start_load,
                   "load_end": load(), "objective_differs": sorted(bad),
                   **{p: {"min": min(v), "median": statistics.median(v)}
                      for p, v in ratios.items()}}
            results.append(row)
            print(json.dumps(row), file=sys.stderr, flush=True)
    print("| variables | raw run() s (min / median) | "
          + " | ".join(args.peers) + " | load (start → end) |")
    print("|---" * (len(args.peers) + 3) + "|")
    for r in results:
        cells = [f"{r[p]['min']:.2f}× / {r[p]['median']:.2f}×"
                 + (" (objective differs!)" if p in r["objective_differs"] else "")
                 for p in args.peers]
        print(f"| {r['variables']:,} ({r['size']}) | {r['raw_run_min']:.2f} / "
              f"{r['raw_run_median']:.2f} | " + " | ".join(cells)
              + f" | {r['load_start']} → {r['load_end']} |")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
