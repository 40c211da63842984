"""What ``chipmix plan`` costs besides the solve: a base revision against this tree, side by side.

    PYTHONPATH=src python benchmarks/overhead.py --base main --repeats 5

For each case — the bundled default (a MILP) and a generated ~10⁴-variable instance
(``benchmarks/generate.py`` 100x10x10, no porting, no share: the peers' LP; as the LP
relaxation and as the whole-server MILP) — it runs ``python -m chipmix plan CASE --json
--timings`` in a fresh process, alternately from the base revision's source (``git archive``
into a temporary folder) and from this tree's ``src``, ``--repeats`` times each, and
reports per tree: wall and CPU seconds of the process (min and median; CPU is user + system
of the child), the phases of ``Plan.timings`` (load, prepare, build, solve, extract: medians)
and the solver's own seconds. It also times ``python -c "import chipmix.planner"`` the same
way. The two trees' plan JSON must be equal once the timing fields are removed (checked
every run). ``--prepare-sizes 400x30x25 500x40x50`` also times ``prepare()`` alone (wall and
CPU inside a fresh process, after loading the scenario) on those generated sizes, whose
solves take minutes. Load averages at the start and end of each case are printed with the table.

Python source is compiled to bytecode once per tree before timing (a cache folder per tree,
as an installed package has ``.pyc`` files); ``--no-bytecode`` times with no cache (every
import compiles, as with ``PYTHONDONTWRITEBYTECODE`` set and no ``.pyc`` on disk).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from generate import generate  # noqa: E402

PHASES = ("load", "prepare", "build", "solve", "extract")


def load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def base_tree(rev: str, folder: Path) -> Path:
    """The source of revision ``rev`` (``git archive``) unpacked into ``folder``."""
    data = subprocess.run(["git", "archive", rev], cwd=ROOT, check=True,
                          capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        tar.extractall(folder, filter="data")
    return folder / "src"


def env_for(src: Path, cache: Path | None) -> dict[str, str]:
    env = dict(os.environ, PYTHONPATH=str(src))
    if cache is None:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        env.pop("PYTHONPYCACHEPREFIX", None)
    else:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(cache)
    return env


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(args: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float, str]:
    """Wall seconds, CPU seconds (user + system) and stdout of one child process."""
    cpu = _children_cpu()
    started = time.perf_counter()
    proc = subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed: {proc.stderr[-2000:]}")
    return wall, _children_cpu() - cpu, proc.stdout


PREPARE = """
import json, sys, time
import chipmix
from chipmix.model.data import prepare
scenario = chipmix.load_scenario(sys.argv[1])
wall, cpu = time.perf_counter(), time.process_time()
data = prepare(scenario)
print(json.dumps({"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu,
                  "skus": len(data.skus), "cap": len(data.cap)}))
"""


def prepare_rows(sizes: list[str], trees: dict[str, Path], caches: dict[str, Path | None],
                 repeats: int, tmp: Path) -> None:
    """``prepare()`` alone on generated instances, both trees alternately (printed)."""
    print("| size | tree | prepare wall s (min / median) | prepare CPU s (min / median) | "
          "load (start → end) |")
    print("|---|---|---|---|---|")
    for size in sizes:
        k, w, t = (int(x) for x in size.split("x"))
        path = generate(k, w, t, 1, tmp / size, porting=False, share=0.0)
        start = load()
        got: dict[str, dict[str, list[float]]] = {n: {"wall": [], "cpu": []} for n in trees}
        for _ in range(repeats):
            for name, src in trees.items():
                _, _, out = timed([sys.executable, "-c", PREPARE, str(path)],
                                  env_for(src, caches[name]), tmp)
                data = json.loads(out)
                got[name]["wall"].append(data["wall"])
                got[name]["cpu"].append(data["cpu"])
        end = load()
        for name, g in got.items():
            print(f"| {size} | {name} | {stats(g['wall'])} | {stats(g['cpu'])} | "
                  f"{start} → {end} |", flush=True)


def comparable(text: str) -> dict:
    """The plan JSON without the figures that are timings."""
    data = json.loads(text)
    data.pop("timings", None)
    data.get("solver", {}).pop("seconds", None)
    return data


def stats(values: list[float]) -> str:
    return f"{min(values):.2f} / {statistics.median(values):.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="main", help="git revision to compare against")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--no-bytecode", action="store_true")
    parser.add_argument("--cases", nargs="+", default=["default", "10k-lp", "10k-milp"])
    parser.add_argument("--prepare-sizes", nargs="*", default=[])
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        trees = {"base": base_tree(args.base, tmp / "base"), "this": ROOT / "src"}
        caches = {name: None if args.no_bytecode else tmp / f"pyc-{name}" for name in trees}
        instance = generate(100, 10, 10, 1, tmp / "10k", porting=False, share=0.0)
        default = ROOT / "examples" / "rush-before-ban.yaml"
        cases = {"default": [str(default)], "10k-lp": [str(instance), "--relax"],
                 "10k-milp": [str(instance)]}
        python = sys.executable
        for name, src in trees.items():  # compile once, untimed
            subprocess.run([python, "-c", "import chipmix.planner, chipmix.cli"],
                           env=env_for(src, caches[name]), cwd=tmp, check=True)
        if args.prepare_sizes:
            prepare_rows(args.prepare_sizes, trees, caches, args.repeats, tmp)
        rows = []
        imports: dict[str, dict[str, list[float]]] = {n: {"wall": [], "cpu": []} for n in trees}
        for _ in range(args.repeats):
            for name, src in trees.items():
                wall, cpu, _ = timed([python, "-c", "import chipmix.planner"],
                                     env_for(src, caches[name]), tmp)
                imports[name]["wall"].append(wall)
                imports[name]["cpu"].append(cpu)
        print("import chipmix.planner (s, min / median): "
              + "; ".join(f"{n}: wall {stats(v['wall'])}, CPU {stats(v['cpu'])}"
                          for n, v in imports.items()), flush=True)
        for case in args.cases:
            start = load()
            got: dict[str, dict[str, list[float]]] = {
                n: {k: [] for k in ("wall", "cpu", "highs", *PHASES)} for n in trees}
            plans: dict[str, dict] = {}
            for _ in range(args.repeats):
                for name, src in trees.items():
                    wall, cpu, out = timed(
                        [python, "-m", "chipmix", "plan", *cases[case], "--json", "--timings"],
                        env_for(src, caches[name]), tmp)
                    data = json.loads(out)
                    got[name]["wall"].append(wall)
                    got[name]["cpu"].append(cpu)
                    got[name]["highs"].append(float(data["solver"]["seconds"]))
                    for phase in PHASES:
                        got[name][phase].append(float(data["timings"].get(phase, 0.0)))
                    plans[name] = comparable(out)
            same = plans["base"] == plans["this"]
            row = {"case": case, "load_start": start, "load_end": load(), "same_plan": same,
                   **{n: {k: {"min": min(v), "median": statistics.median(v)}
                          for k, v in g.items()} for n, g in got.items()}}
            rows.append(row)
            print(json.dumps(row), file=sys.stderr, flush=True)
        print("| case | tree | wall s (min / median) | CPU s (min / median) | "
              + " | ".join(PHASES) + " | HiGHS | load (start → end) | same plan |")
        print("|---" * (len(PHASES) + 7) + "|")
        for r in rows:
            for name in trees:
                g = r[name]
                print(f"| {r['case']} | {name} | {g['wall']['min']:.2f} / "
                      f"{g['wall']['median']:.2f} | {g['cpu']['min']:.2f} / "
                      f"{g['cpu']['median']:.2f} | "
                      + " | ".join(f"{g[p]['median']:.3f}" for p in PHASES)
                      + f" | {g['highs']['median']:.3f} | {r['load_start']} → {r['load_end']}"
                      f" | {'yes' if r['same_plan'] else 'NO'} |")
        if args.json:
            args.json.write_text(json.dumps({"imports": imports, "cases": rows}, indent=2) + "\n")
        if not all(r["same_plan"] for r in rows):
            sys.exit("the two trees' plans differ")


if __name__ == "__main__":
    main()
