"""Solvers that time out, fail, crash or are missing: each outcome gets its own truthful
status and message, and a plan is never called optimal when it is not.

Small :class:`~chipmix.model.matrix.LinearModel` instances are built directly (a market-split
problem no solver finishes in 0.05 s and whose feasible points are hard to find; a
multi-dimensional knapsack where heuristics find a point at once but optimality takes long;
an infeasible and an unbounded model); a large synthetic scenario runs the whole planner at a
tiny time limit. Missing and crashing solvers are simulated with ``monkeypatch`` (highspy
import failure, CBC ``available()`` False, a CBC binary killed by a signal, PuLP raising
``PulpSolverError``, ``Highs.run`` raising).
"""

from __future__ import annotations

import csv
import json
import random
import sys
from pathlib import Path

import numpy as np
import pytest

import chipmix
from chipmix.cli import main
from chipmix.errors import InputError, SolverError
from chipmix.model.matrix import LinearModel
from chipmix.solve import SolverOptions, Status, check_numbers, solve

SOLVERS = ("highs", "cbc", "highs-pulp")
SUPPORT = Path(__file__).parent / "malformed" / "support"


# -- models ---------------------------------------------------------------------------------------


def market_split(rows: int = 4, cols: int = 30, seed: int = 1) -> LinearModel:
    """Cornuéjols–Dawande market split: ``A x = b`` with binary x, b half of each row sum.

    Branch and bound needs ~2^cols nodes to find a point or prove there is none.
    """
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 100, size=(rows, cols))
    b = (a.sum(axis=1) // 2).astype(float)
    model = LinearModel()
    model.add_columns("x", [(j,) for j in range(cols)], lower=0, upper=1, integer=True)
    r, c = np.nonzero(a >= 0)
    model.add_rows("split", [(i,) for i in range(rows)], r, c, a[r, c].astype(float),
                   lower=b, upper=b)
    return model


def knapsack(rows: int = 20, cols: int = 500, seed: int = 3) -> LinearModel:
    """Multi-dimensional 0/1 knapsack (min -value): x = 0 is feasible, optimality is hard."""
    rng = np.random.default_rng(seed)
    weight = rng.integers(10, 100, size=(rows, cols)).astype(float)
    value = rng.integers(10, 100, size=cols).astype(float)
    model = LinearModel()
    model.add_columns("x", [(j,) for j in range(cols)], lower=0, upper=1, cost=-value,
                      integer=True)
    r, c = np.nonzero(weight > 0)
    model.add_rows("capacity", [(i,) for i in range(rows)], r, c, weight[r, c],
                   upper=weight.sum(axis=1) / 3)
    return model


def unbounded(integer: bool) -> LinearModel:
    """``min -x0  s.t.  x0 - x1 <= 5``, x >= 0: x0 = 5 + x1 grows without bound."""
    model = LinearModel()
    model.add_columns("x", [(0,), (1,)], lower=0, cost=[-1.0, 0.0], integer=integer)
    model.add_rows("r", [(0,)], [0, 0], [0, 1], [1.0, -1.0], upper=5.0)
    return model


def infeasible(integer: bool) -> LinearModel:
    """``x >= 20`` with ``x <= 10``."""
    model = LinearModel()
    model.add_columns("x", [(0,)], lower=0, upper=10, cost=1.0, integer=integer)
    model.add_rows("r", [(0,)], [0], [0], [1.0], lower=20.0)
    return model


def options(solver: str, time_limit: float = 10.0, **kw) -> SolverOptions:
    return SolverOptions(name=solver, time_limit=time_limit, gap=1e-4, **kw)


# -- time limits ----------------------------------------------------------------------------------


@pytest.mark.parametrize("solver", SOLVERS)
def test_time_limit_without_a_point_is_no_solution(solver):
    result = solve(market_split(), options(solver, time_limit=0.05))
    assert result.status in (Status.NO_SOLUTION, Status.FEASIBLE), result
    assert result.status != Status.OPTIMAL
    if result.status == Status.NO_SOLUTION:
        assert result.x is None and result.objective is None
        assert "no feasible plan" in result.message and "ptimal" not in result.message


@pytest.mark.parametrize("solver", SOLVERS)
def test_time_limit_with_a_point_is_feasible_with_its_gap(solver):
    """A time limit reached with an integer point is FEASIBLE with its gap, never OPTIMAL.

    The knapsack is far from proven in seconds, but on a loaded machine the solver may not
    even reach its first point within a short limit (NO_SOLUTION, tested above): the limit
    doubles until the run stops with a point, so the test asserts what a stop *with a point*
    reports, whatever the machine's load.
    """
    model = knapsack()
    for limit in (0.5, 1.0, 2.0, 4.0, 8.0):
        result = solve(model, options(solver, time_limit=limit))
        assert result.status != Status.OPTIMAL, result.message
        if result.status != Status.NO_SOLUTION:
            break
    assert result.status == Status.FEASIBLE, result.message
    assert "not proven optimal" in result.message
    assert result.gap is not None and result.gap > 1e-4  # worse than asked for: not optimal
    assert result.bound is not None and result.bound <= result.objective + 1e-6
    x = result.x
    a = model.arrays()
    assert np.allclose(x, np.round(x), atol=1e-6)  # an integer point
    assert result.objective == pytest.approx(float(a["cost"] @ x))


def test_pulp_calls_a_cbc_time_limit_point_optimal_but_sol_status_does_not():
    """The PuLP trap the adapter avoids: ``LpStatus`` says "Optimal" for a point found at a
    time limit; ``sol_status`` says integer feasible."""
    import pulp

    from chipmix.solve.pulp_adapter import _cbc, to_pulp

    prob, _, _ = to_pulp(knapsack())
    prob.solve(_cbc(pulp, {"msg": False, "timeLimit": 0.5, "gapRel": 1e-4}))
    assert pulp.LpStatus[prob.status] == "Optimal"
    assert prob.sol_status == pulp.LpSolutionIntegerFeasible


# -- infeasible, unbounded, empty -----------------------------------------------------------------


@pytest.mark.parametrize("integer", [False, True], ids=["lp", "mip"])
@pytest.mark.parametrize("solver", SOLVERS)
def test_infeasible(solver, integer):
    result = solve(infeasible(integer), options(solver))
    assert result.status == Status.INFEASIBLE and result.x is None, result.message


@pytest.mark.parametrize("integer", [False, True], ids=["lp", "mip"])
@pytest.mark.parametrize("solver", SOLVERS)
def test_unbounded(solver, integer):
    """HiGHS's presolve answers "infeasible or unbounded" for the MIP; the adapter finds out
    which (PuLP alone reports it as infeasible)."""
    result = solve(unbounded(integer), options(solver))
    assert result.status == Status.UNBOUNDED and result.x is None, result.message


@pytest.mark.parametrize("solver", SOLVERS)
def test_a_model_without_variables_is_optimal_at_zero(solver):
    result = solve(LinearModel(), options(solver))
    assert result.status == Status.OPTIMAL and result.objective == 0.0


@pytest.mark.parametrize("solver", ["highs", "highs-pulp"])
def test_thread_counts_may_change_within_one_process(solver):
    """HiGHS keeps one scheduler per process, started with the first run's thread count; a
    later run with another count used to fail with "HiGHS failed: Not Set"."""
    for threads in (None, 1, 2, None, 1, 2):
        result = solve(knapsack(2, 30), options(solver, threads=threads))
        assert result.status == Status.OPTIMAL, (threads, result.message)


# -- missing and crashing solvers -----------------------------------------------------------------


def test_highspy_missing(monkeypatch):
    monkeypatch.setitem(sys.modules, "highspy", None)  # import highspy -> ImportError
    with pytest.raises(SolverError, match="HiGHS is not installed"):
        solve(knapsack(2, 5), options("highs"))


@pytest.mark.parametrize(("solver", "module", "message"), [
    ("highs", "highspy", "HiGHS is not installed"),
    ("cbc", "pulp", "PuLP is not installed"),
])
def test_cli_with_a_missing_solver_prints_one_line(monkeypatch, capfd, solver, module, message):
    monkeypatch.setitem(sys.modules, module, None)
    capfd.readouterr()
    code = main(["plan", str(SUPPORT / "base.yaml"), "--json", "--solver", solver])
    out, err = capfd.readouterr()
    assert code == 2 and out == "" and len(err.splitlines()) == 1 and message in err, err


def test_cbc_missing(monkeypatch):
    import pulp

    monkeypatch.setattr(pulp.PULP_CBC_CMD, "available", lambda self: False)
    monkeypatch.setattr(pulp.COIN_CMD, "available", lambda self: False)
    with pytest.raises(SolverError, match="CBC is not available"):
        solve(knapsack(2, 5), options("cbc"))


def test_pulp_solver_error_is_status_error(monkeypatch):
    import pulp

    def fail(self, solver=None, **kwargs):
        raise pulp.PulpSolverError("Pulp: Error while executing cbc")

    monkeypatch.setattr(pulp.LpProblem, "solve", fail)
    result = solve(knapsack(2, 5), options("cbc"))
    assert result.status == Status.ERROR and result.x is None
    assert "cbc failed: PulpSolverError: Pulp: Error while executing cbc" in result.message


@pytest.mark.skipif(sys.platform == "win32", reason="a POSIX shell script stands in for CBC")
def test_cbc_binary_killed_by_a_signal(monkeypatch, tmp_path):
    """A CBC that dies mid-run (here: kills itself with SIGKILL) is an error, not a plan."""
    import pulp

    from chipmix.solve import pulp_adapter

    fake = tmp_path / "cbc"
    fake.write_text("#!/bin/sh\nkill -9 $$\n")
    fake.chmod(0o755)
    monkeypatch.setattr(pulp_adapter, "_cbc",
                        lambda pulp_module, kwargs: pulp.COIN_CMD(path=str(fake), **kwargs))
    result = solve(knapsack(2, 5), options("cbc"))
    assert result.status == Status.ERROR and result.x is None
    assert "cbc failed" in result.message


def test_highs_crash_is_status_error(monkeypatch):
    import highspy

    def crash(self):
        raise RuntimeError("simulated crash")

    monkeypatch.setattr(highspy.Highs, "run", crash)
    result = solve(knapsack(2, 5), options("highs"))
    assert result.status == Status.ERROR
    assert result.message == "HiGHS crashed: RuntimeError: simulated crash"


def test_highs_refused_option_is_an_error(monkeypatch):
    """HiGHS ignores an option value it refuses; the adapter does not."""
    with pytest.raises(InputError, match="threads"):
        solve(knapsack(2, 5), options("highs", threads=0))
    import highspy

    real = highspy.Highs.setOptionValue

    def refuse(self, name, value):
        return highspy.HighsStatus.kError if name == "mip_rel_gap" else real(self, name, value)

    monkeypatch.setattr(highspy.Highs, "setOptionValue", refuse)
    with pytest.raises(SolverError, match="HiGHS refused the option mip_rel_gap"):
        solve(knapsack(2, 5), options("highs"))


# -- numbers ---------------------------------------------------------------------------------


def test_numbers_beyond_solver_infinity_are_refused_by_name():
    model = LinearModel()
    model.add_columns("buy", [("acme-a", "2024Q1"), ("acme-b", "2024Q1")], cost=[1.0, 3e20],
                      integer=True)
    with pytest.raises(SolverError, match=r"the cost of buy\[acme-b,2024Q1\] is 3e\+20"):
        check_numbers(model)
    model = LinearModel()
    model.add_columns("x", [(0,)], cost=1.0)
    model.add_rows("demand", [("train", "2024Q1")], [0], [0], [np.nan], lower=1.0)
    with pytest.raises(SolverError, match=r"coefficient of x\[0\] in demand\[train,2024Q1\]"):
        check_numbers(model)


def test_badly_scaled_model_warns():
    model = LinearModel()
    model.add_columns("x", [(0,), (1,)], cost=[1e-6, 1e9], upper=1.0)
    warnings = check_numbers(model)
    assert warnings and "badly scaled costs" in warnings[0]
    result = solve(model, options("highs"))
    assert "badly scaled" in result.message


# -- the whole planner -----------------------------------------------------------------------

CATALOG_COLUMNS = ["id", "vendor", "name", "origin", "datacenter", "bf16_dense_tflops",
                   "memory_gb", "memory_bw_tbps", "interconnect_gbps", "tdp_w", "price_usd",
                   "server_size", "supply_per_quarter", "lead_quarters", "efficiency_training",
                   "efficiency_inference", "sources"]


def big_scenario(folder: Path, skus: int = 40, time_limit: float = 0.05) -> Path:
    """A synthetic scenario HiGHS needs ~30 s to prove optimal: 40 SKUs of 4 vendors, 16
    quarters, 6 workloads, domestic share, vendor cap, budget, porting."""
    rnd = random.Random(7)
    with (folder / "big.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(CATALOG_COLUMNS)
        for i in range(skus):
            vendor = ["Acme", "Dragon", "Phoenix", "Tiger"][i % 4]
            writer.writerow([
                f"{vendor.lower()}-m{i:02d}", vendor, f"M{i}", "US" if vendor == "Acme" else "CN",
                "true", rnd.randint(100, 2000), rnd.choice([32, 48, 64, 80, 96, 141]),
                round(rnd.uniform(0.8, 5), 2), rnd.choice([0, 200, 400, 900]),
                rnd.randint(200, 1000), rnd.randint(3000, 40000), rnd.choice([4, 8, 16]),
                rnd.choice([200, 500, 1000, 3000]), rnd.choice([0, 1]),
                round(rnd.uniform(0.3, 0.6), 2), round(rnd.uniform(0.3, 0.7), 2),
                f"https://example.com/m{i}",
            ])
    workloads = []
    for k in range(6):
        kind, metric = ("training", "bf16_pflops") if k % 2 == 0 else ("inference",
                                                                        "memory_bw_tbps")
        demand = (f"{{2024Q2: {rnd.randint(200, 900)}, 2025Q1: {rnd.randint(900, 3000)}, "
                  f"2026Q1: {rnd.randint(2000, 6000)}}}")
        workloads.append(f"  - {{name: w{k}, kind: {kind}, metric: {metric}, demand: {demand}, "
                         f"min_memory_gb: {rnd.choice([0, 48, 64])}}}")
    nl = "\n"
    path = folder / "big.yaml"
    path.write_text(f"""\
name: big-synthetic
horizon: {{start: 2024Q1, end: 2027Q4}}
catalogs: [big.csv]
rules: []
discount_rate: 0.07
workloads:
{nl.join(workloads)}
policy:
  domestic_share: {{2025Q1: 0.3, 2026Q1: 0.5}}
  vendor_cap: 0.45
  budget: 4.0e8
  energy_price: 0.1
porting: {{Dragon: 2.0e6, Phoenix: 3.0e6, Tiger: 1.0e6}}
ported: [Acme]
solver: {{time_limit: {time_limit}}}
""", encoding="utf-8")
    return path


@pytest.mark.parametrize("solver", ["highs", "cbc"])
@pytest.mark.parametrize("time_limit", [0.05, 1.0])
def test_planner_at_a_time_limit_is_never_optimal(tmp_path, solver, time_limit):
    scenario = chipmix.load_scenario(big_scenario(tmp_path))
    plan = chipmix.plan(scenario, solver=solver, time_limit=time_limit)
    assert plan.status in (Status.FEASIBLE, Status.NO_SOLUTION), plan.message
    data = json.loads(plan.to_json())
    assert data["status"] == plan.status.value
    if plan.status == Status.FEASIBLE:  # the plan carries its gap and satisfies every rule
        assert data["solver"]["gap"] is not None and data["solver"]["gap"] > 1e-4
        assert "not proven optimal" in data["message"]
        assert chipmix.verify(plan, scenario).ok
    else:
        assert data["purchases"] == [] and data["objective"] is None
        assert data["diagnosis"]["status"] == "no_solution"


def test_cli_time_limit_exit_codes(tmp_path, capfd):
    """No plan in time: exit 1, the JSON on stdout says no_solution; a plan with a gap:
    exit 0 and says feasible."""
    path = big_scenario(tmp_path)
    capfd.readouterr()
    code = main(["plan", str(path), "--json", "--time-limit", "0.05"])
    out, err = capfd.readouterr()
    status = json.loads(out)["status"]
    assert status in ("no_solution", "feasible")
    assert code == (1 if status == "no_solution" else 0)
    assert "Traceback" not in err


def test_infeasible_plan_is_diagnosed_with_exit_1(tmp_path, capfd):
    path = big_scenario(tmp_path)
    text = path.read_text(encoding="utf-8").replace("budget: 4.0e8", "budget: 1000")
    path.write_text(text, encoding="utf-8")  # hard demand (no shortfall_penalty), no money
    capfd.readouterr()
    code = main(["plan", str(path), "--json", "--time-limit", "10"])
    out, err = capfd.readouterr()
    data = json.loads(out)
    assert code == 1 and data["status"] == "infeasible", err
    assert data["purchases"] == [] and data["diagnosis"]["findings"]


def test_budget_below_one_server_is_diagnosed_as_the_budget(tmp_path, capfd):
    """The builder caps buy[k,t] at floor(budget / server price) = 0; the diagnosis used to
    blame supply ("no SKU ... can be bought in time") instead of naming the budget."""
    (tmp_path / "good.csv").write_bytes((SUPPORT / "good.csv").read_bytes())
    path = tmp_path / "tight.yaml"
    path.write_text(
        "name: tight-budget\nhorizon: {start: 2024Q1, end: 2024Q4}\ncatalogs: [good.csv]\n"
        "rules: []\nworkloads:\n  - {name: train, kind: training, metric: bf16_pflops, "
        "demand: 10}\npolicy: {budget: 100000, energy_price: 0.1}\n", encoding="utf-8")
    capfd.readouterr()
    assert main(["plan", str(path), "--json"]) == 1
    data = json.loads(capfd.readouterr()[0])
    assert data["status"] == "infeasible"
    assert "budget" in data["diagnosis"]["summary"], data["diagnosis"]["summary"]


@pytest.mark.parametrize("solver", ["highs", "cbc"])
def test_prices_a_trillion_apart(tmp_path, solver):
    """Prices of 1e-3 and 1e9 USD in one model: the plan is verified, or the solver's message
    warns about scaling."""
    (tmp_path / "c.csv").write_text(
        "id,vendor,name,origin,datacenter,bf16_dense_tflops,memory_gb,memory_bw_tbps,"
        "interconnect_gbps,tdp_w,price_usd,server_size,supply_per_quarter,efficiency_training,"
        "sources\n"
        "acme-cheap,Acme,Cheap,US,true,1000,80,1,0,100,0.001,1,5,1,https://example.com/a\n"
        "acme-dear,Acme,Dear,US,true,1000,80,1,0,100,1000000000,1,,1,https://example.com/b\n",
        encoding="utf-8")
    (tmp_path / "s.yaml").write_text(
        "name: awkward\nhorizon: {start: 2024Q1, end: 2024Q2}\ncatalogs: [c.csv]\nrules: []\n"
        "workloads:\n  - {name: train, kind: training, metric: bf16_pflops, demand: 10.5}\n"
        "policy: {energy_price: 0.1}\n", encoding="utf-8")
    scenario = chipmix.load_scenario(tmp_path / "s.yaml")
    plan = chipmix.plan(scenario, solver=solver)
    assert plan.status == Status.OPTIMAL
    assert chipmix.verify(plan, scenario).ok or "badly scaled" in plan.message
    bought = {r.sku: r.units for r in plan.purchases.itertuples()}
    assert bought == {"acme-cheap": 5, "acme-dear": 6}  # the cheap supply first, then 6 dear
