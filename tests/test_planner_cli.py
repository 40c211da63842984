"""``chipmix plan`` and ``chipmix verify`` through ``chipmix.cli.main``.

Fixtures: ``tests/data/planner_small.yaml`` (optimum 10600 USD, LP relaxation 10000 USD, see its
description) and ``tests/data/planner_infeasible.yaml`` (6 PFLOPS short in 2024Q1). The bundled
examples are planned once each (module cache of their JSON) to keep the file fast.

Output is captured with ``capsys``; one test also runs ``python -m chipmix`` in a subprocess,
where a solver banner written by C code straight to file descriptor 1 would show.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from chipmix.cli import main
from chipmix.resources import default_scenario_path, examples_dir

DATA = Path(__file__).parent / "data"
SMALL = DATA / "planner_small.yaml"
INFEASIBLE = DATA / "planner_infeasible.yaml"
EXAMPLES = sorted(examples_dir().glob("*.yaml"))

#: formats.md: the plan JSON's keys, in this order (extensions may follow).
PLAN_KEYS = ["scenario", "status", "objective", "cost", "periods", "purchases", "allocation",
             "fleet", "delivered", "shares", "availability", "ported", "solver", "sensitivity"]
COST_KEYS = ["capex", "energy", "porting", "shortfall", "total", "discounted_total"]


def run(capsys, *args: str) -> tuple[int, str, str]:
    """Run the CLI; returns (exit code, stdout, stderr)."""
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_plan_json(text: str) -> dict:
    """stdout is one JSON document in the formats.md shape; returns it.

    Lists are sorted by period, then SKU (formats.md); per-workload lists without a SKU
    (delivered) only by period.
    """
    data = json.loads(text)  # fails on anything besides the JSON (banners, tables, logs)
    assert list(data)[: len(PLAN_KEYS)] == PLAN_KEYS
    assert list(data["cost"]) == COST_KEYS
    order = {p: i for i, p in enumerate(data["periods"])}
    for key, fields in (("purchases", ("sku",)), ("allocation", ("sku", "workload")),
                        ("fleet", ("sku",)), ("delivered", ()), ("shares", ()),
                        ("availability", ("sku",))):
        rows = data[key]
        keys = [(order[r["period"]], *(r[f] for f in fields)) for r in rows]
        assert keys == sorted(keys), f"{key} not sorted by period then {fields}"
    relaxed = data["solver"].get("relaxed", False)
    for row in data["purchases"]:
        assert list(row)[:6] == ["period", "sku", "servers", "units", "unit_price", "spend"]
        if not relaxed:  # whole servers
            assert isinstance(row["servers"], int) and isinstance(row["units"], int)
    return data


# -- the bundled examples -------------------------------------------------------------------------


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_plan_json_of_each_example_verifies(example, tmp_path, capsys):
    """plan --json -o: exit 0, only the JSON on stdout, the same JSON in the file, and
    `chipmix verify` accepts the file (exit 0)."""
    out = tmp_path / "out.json"
    code, stdout, _ = run(capsys, "plan", example, "--json", "-o", out)
    assert code == 0
    data = assert_plan_json(stdout)
    assert data["scenario"] == example.stem
    assert data["status"] in ("optimal", "feasible")
    assert out.read_text(encoding="utf-8") == stdout
    code, stdout, stderr = run(capsys, "verify", out, example)
    assert code == 0, stdout + stderr
    assert stdout.startswith("ok")


def test_plan_without_arguments_plans_the_bundled_default(capsys):
    code, stdout, _ = run(capsys, "plan")
    assert code == 0
    assert default_scenario_path().stem == "rush-before-ban"
    assert "rush-before-ban" in stdout
    assert "optimal" in stdout or "feasible" in stdout
    assert "Purchases" in stdout


# -- a small hand-solved scenario -----------------------------------------------------------------


def test_plan_json_of_a_small_scenario(capsys):
    code, stdout, _ = run(capsys, "plan", SMALL, "--json")
    assert code == 0
    data = assert_plan_json(stdout)
    assert data["status"] == "optimal"
    assert data["objective"] == pytest.approx(10600)
    assert data["periods"] == ["2024Q1", "2024Q2"]
    assert [(r["period"], r["sku"], r["servers"], r["units"]) for r in data["purchases"]] == [
        ("2024Q1", "acme-a", 1, 8), ("2024Q1", "bolt-b", 2, 2)]
    assert data["solver"]["name"] == "highs"


def test_plan_json_stdout_of_a_process_is_only_json():
    """The real process: stdout (file descriptor 1) holds the JSON and nothing else, even the
    first time HiGHS is loaded (its banner goes to stderr)."""
    src = Path(__file__).resolve().parents[1] / "src"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(src), *filter(None, [os.environ.get("PYTHONPATH")])])}
    done = subprocess.run([sys.executable, "-m", "chipmix", "plan", str(SMALL), "--json"],
                          capture_output=True, text=True, env=env, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert assert_plan_json(done.stdout)["objective"] == pytest.approx(10600)


def test_plan_with_nothing_to_decide_exits_0(capsys, tmp_path):
    """Zero demand: an optimal empty plan (exit 0), not 'no solution' (exit 1)."""
    text = SMALL.read_text(encoding="utf-8").replace("demand: 10", "demand: 0")
    catalog = (DATA / "planner_catalog.csv").read_text(encoding="utf-8")
    (tmp_path / "planner_catalog.csv").write_text(catalog, encoding="utf-8")
    scenario = tmp_path / "planner_idle.yaml"
    scenario.write_text(text, encoding="utf-8")
    code, stdout, _ = run(capsys, "plan", scenario, "--json")
    data = json.loads(stdout)
    assert (code, data["status"], data["objective"]) == (0, "optimal", 0.0)
    assert data["purchases"] == []


def test_plan_table_output(capsys):
    code, stdout, _ = run(capsys, "plan", SMALL)
    assert code == 0
    assert "planner-small" in stdout and "optimal" in stdout
    assert "acme-a" in stdout and "bolt-b" in stdout


def test_solver_cbc(capsys):
    code, stdout, _ = run(capsys, "plan", SMALL, "--json", "--solver", "cbc")
    assert code == 0
    data = assert_plan_json(stdout)
    assert data["solver"]["name"] == "cbc"
    assert data["objective"] == pytest.approx(10600)


def test_relax(capsys, tmp_path):
    """--relax: the LP relaxation (1.25 acme-a servers, 10000 USD) and the checker accepts it."""
    out = tmp_path / "relaxed.json"
    code, stdout, _ = run(capsys, "plan", SMALL, "--json", "--relax", "-o", out)
    assert code == 0
    data = assert_plan_json(stdout)
    assert data["objective"] == pytest.approx(10000)
    assert data["solver"]["integers"] == 0
    assert data["solver"].get("relaxed") is True
    code, stdout, stderr = run(capsys, "verify", out, SMALL)
    assert code == 0, stdout + stderr


def test_write_mps_and_lp(capsys, tmp_path):
    mps, lp = tmp_path / "model.mps", tmp_path / "model.lp"
    code, stdout, _ = run(capsys, "plan", SMALL, "--json", "--write-mps", mps, "--write-lp", lp)
    assert code == 0
    assert_plan_json(stdout)
    mps_text = mps.read_text()
    assert "ROWS" in mps_text and "COLUMNS" in mps_text
    assert re.search(r"buy\[acme-a,2024Q1\]", mps_text)
    assert re.search(r"demand\[train,2024Q1\]", mps_text)
    lp_text = lp.read_text()
    assert re.search(r"minimi[sz]e", lp_text, re.IGNORECASE)
    assert re.search(r"subject to", lp_text, re.IGNORECASE)
    assert not list(tmp_path.glob(".*.tmp")), "temporary files left behind"


def test_verify_rejects_a_tampered_plan(capsys, tmp_path):
    out = tmp_path / "out.json"
    assert run(capsys, "plan", SMALL, "-o", out)[0] == 0
    data = json.loads(out.read_text())
    data["purchases"] = [r for r in data["purchases"] if r["sku"] != "bolt-b"]
    out.write_text(json.dumps(data))
    code, stdout, _ = run(capsys, "verify", out, SMALL)
    assert code == 1
    assert "violation" in stdout
    assert "bolt-b 2024Q1" in stdout  # its allocation has no fleet behind it


# -- no plan, bad input ---------------------------------------------------------------------------


def test_infeasible_scenario_exits_1_with_the_diagnosis(capsys):
    code, stdout, _ = run(capsys, "plan", INFEASIBLE)
    assert code == 1
    assert "infeasible" in stdout
    assert "train" in stdout and "2024Q1" in stdout and "6" in stdout
    assert "short" in stdout


def test_infeasible_scenario_json_carries_the_diagnosis(capsys):
    code, stdout, _ = run(capsys, "plan", INFEASIBLE, "--json")
    assert code == 1
    data = assert_plan_json(stdout)
    assert data["status"] == "infeasible"
    assert data["purchases"] == [] and data["objective"] is None
    findings = data["diagnosis"]["findings"]
    demand = [f for f in findings if f["constraint"] == "demand"]
    assert [(f["workload"], f["period"]) for f in demand] == [("train", "2024Q1")]
    assert demand[0]["short"] == pytest.approx(6)


@pytest.mark.parametrize("command", [["plan"], ["plan", "--json"], ["verify", SMALL]])
def test_missing_file_exits_2_with_one_line(capsys, tmp_path, command):
    missing = tmp_path / "nope.yaml"
    args = [*command[:1], missing, *command[1:]] if command[0] == "plan" else [
        "verify", missing, SMALL]
    code, stdout, stderr = run(capsys, *args)
    assert code == 2
    assert stdout == ""
    assert "Traceback" not in stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert "nope.yaml" in lines[0]


def test_unknown_solver_exits_2(capsys):
    code, stdout, stderr = run(capsys, "plan", SMALL, "--solver", "gurobi")
    assert code == 2
    assert "Traceback" not in stderr
    assert "highs" in stderr  # names what was expected
