"""Fuzzing the inputs: mutated scenarios and catalogs give a verified plan or a clean error.

Each example starts from a valid scenario — the small fixture ``tests/malformed/support``
(``base.yaml`` + ``good.csv``) or a bundled example with copies of the bundled catalogs — and
applies one to three mutations: a key dropped or misspelt, a value replaced by a wrong type or
an extreme number (0, -1, 1e308, NaN, inf, ...), a period typo (``2024Q5``), random text, a
list item duplicated; in a catalog a cell replaced, a column dropped, two column names swapped,
a row duplicated or dropped, an unknown column added. Then::

    load_scenario(...) and plan(...)

must either raise a :class:`~chipmix.errors.ChipmixError` with a one-line message, or return
a plan whose JSON is valid and which, when it has decisions, passes the independent checker
(``chipmix.verify``); a plan without decisions is never called optimal. Any other exception
type fails. Each mutated scenario gets a small solver time limit and each example a wall-clock
budget (a hang fails the test).

Budget: ``CHIPMIX_FUZZ_EXAMPLES`` examples (default 30, derandomised so CI sees the same
examples every run, well under a minute). By hand, explore further with a random seed::

    CHIPMIX_FUZZ_EXAMPLES=2000 python -m pytest tests/test_fuzz.py -q

(see docs/SECURITY.md). A failure prints the mutations; hypothesis shrinks them first.
"""

from __future__ import annotations

import copy
import csv
import datetime as dt
import json
import math
import os
import signal
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, event, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import chipmix  # noqa: E402
from chipmix.errors import ChipmixError  # noqa: E402
from chipmix.resources import catalogs_dir, examples_dir  # noqa: E402
from chipmix.solve import Status  # noqa: E402

pytestmark = pytest.mark.slow  # property tests / every example / a browser

EXAMPLES = int(os.environ.get("CHIPMIX_FUZZ_EXAMPLES", "30"))
BY_HAND = "CHIPMIX_FUZZ_EXAMPLES" in os.environ
#: Solver time limit written into every mutated scenario [s].
TIME_LIMIT = 2.0
#: Wall-clock budget of one example (load, plan with diagnosis, verify) [s].
EXAMPLE_BUDGET = 60

SUPPORT = Path(__file__).parent / "malformed" / "support"
#: Bundled examples that plan in about a second with HiGHS (rush-before-ban is the slowest).
BUNDLED = ("h20-licence-fee-2025", "state-funded-dc", "h200-duty-2026")

EXTREMES: list[Any] = [
    0, -1, 1e308, -1e308, float("nan"), float("inf"), float("-inf"), 1e15, 1e16, 1e-12, 10**30,
    "", "abc", "1e400", None, True, False, [], {}, [1, 2], {"a": 1}, "2024Q5", "2024-13", "NO",
]
CELL_EXTREMES = ["", "nan", "NaN", "inf", "-inf", "-1", "0", "1e308", "1e-300", "abc", "true",
                 "  7  ", "١٢٣", "1,5", "0x10", "1_000", "2024-13", "http://", "\u00a0"]
#: Factors for "a valid but different figure" mutations.
SCALES = [0, 0.001, 0.5, 2, 10, 1000, 1e6]
PERIOD_TYPOS = ["2024Q5", "2024Q0", "2024-13", "2024-00", "Q1 2024", "2024q1", "24Q1", "1999Q1",
                "2099Q4", "2024 Q1", "2024-1", ""]


# -- the bases -------------------------------------------------------------------------------------


def _base(name: str, folder: Path) -> tuple[dict[str, Any], dict[str, list[dict[str, str]]]]:
    """Scenario data and its catalogs (file name -> rows) copied into ``folder``."""
    if name == "fixture":
        scenario = yaml.safe_load((SUPPORT / "base.yaml").read_text(encoding="utf-8"))
        files = {"good.csv": SUPPORT / "good.csv"}
    else:
        scenario = yaml.safe_load((examples_dir() / f"{name}.yaml").read_text(encoding="utf-8"))
        names = scenario.get("catalogs") or ["nvidia", "china"]
        files = {f"{n}.csv": catalogs_dir() / f"{'china' if n == 'domestic' else n}.csv"
                 for n in names}
    scenario["catalogs"] = list(files)
    catalogs = {}
    for file, source in files.items():
        with source.open(encoding="utf-8-sig", newline="") as handle:
            catalogs[file] = list(csv.DictReader(handle))
    return scenario, catalogs


# -- mutations -----------------------------------------------------------------------------------


def _paths(data: Any, prefix: tuple = ()) -> list[tuple]:
    """Every key path into nested dicts and lists (``solver`` excluded: the fuzz sets it)."""
    found = []
    if isinstance(data, dict):
        for key, value in data.items():
            if prefix == () and key == "solver":
                continue
            found.append((*prefix, key))
            found.extend(_paths(value, (*prefix, key)))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            found.append((*prefix, i))
            found.extend(_paths(value, (*prefix, i)))
    return found


def _parent(data: Any, path: tuple) -> Any:
    for part in path[:-1]:
        data = data[part]
    return data


def _mutate_scenario(draw, scenario: dict[str, Any], log: list[str]) -> None:
    paths = _paths(scenario)
    path = draw(st.sampled_from(paths))
    parent, key = _parent(scenario, path), path[-1]
    kind = draw(st.sampled_from(["drop", "value", "value", "text", "typo_key", "period",
                                 "duplicate", "unknown_key", "scale", "scale"]))
    numbers = [p for p in paths if _is_number(_parent(scenario, p)[p[-1]])]
    if kind == "scale" and numbers:  # a valid but different figure: the planner must cope
        path = draw(st.sampled_from(numbers))
        parent, key = _parent(scenario, path), path[-1]
        parent[key] = parent[key] * draw(st.sampled_from(SCALES))
    elif kind == "drop":
        del parent[key]
    elif kind == "value":
        parent[key] = copy.deepcopy(draw(st.sampled_from(EXTREMES)))
    elif kind == "text":
        parent[key] = draw(st.text(max_size=12))
    elif kind == "typo_key" and isinstance(parent, dict):
        name = str(key)
        cut = draw(st.integers(0, max(len(name) - 1, 0)))
        parent[name[:cut] + name[cut + 1:] or "x"] = parent.pop(key)
    elif kind == "period":
        maps = [p for p in paths if isinstance(_parent(scenario, p), dict)
                and _looks_like_period(p[-1])]
        if maps:
            path = draw(st.sampled_from(maps))
            parent = _parent(scenario, path)
            parent[draw(st.sampled_from(PERIOD_TYPOS))] = parent.pop(path[-1])
    elif kind == "duplicate":
        lists = [p for p in paths if isinstance(_parent(scenario, p), list)]
        if lists:
            path = draw(st.sampled_from(lists))
            parent = _parent(scenario, path)
            parent.append(copy.deepcopy(parent[path[-1]]))
    elif kind == "unknown_key" and isinstance(parent, dict):
        parent[f"{key}_extra"] = 1
    log.append(f"scenario {kind} at {'.'.join(map(str, path))}")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _looks_like_period(key: Any) -> bool:
    return isinstance(key, str) and len(key) in (6, 7) and key[:4].isdigit()


def _mutate_catalog(draw, catalogs: dict[str, list[dict[str, str]]], log: list[str]) -> None:
    file = draw(st.sampled_from(sorted(catalogs)))
    rows = catalogs[file]
    columns = list(rows[0])
    kind = draw(st.sampled_from(["cell", "cell", "text", "drop_column", "swap_columns",
                                 "duplicate_row", "drop_row", "unknown_column", "scale", "scale"]))
    row = draw(st.integers(0, len(rows) - 1))
    column = draw(st.sampled_from(columns))
    if kind == "scale":  # a valid but different figure
        try:
            rows[row][column] = repr(float(rows[row][column]) * draw(st.sampled_from(SCALES)))
        except ValueError:
            pass
    elif kind == "cell":
        rows[row][column] = draw(st.sampled_from(CELL_EXTREMES))
    elif kind == "text":
        rows[row][column] = draw(st.text(max_size=12))
    elif kind == "drop_column":
        for r in rows:
            del r[column]
    elif kind == "swap_columns":
        other = draw(st.sampled_from(columns))
        catalogs[file] = [{(other if k == column else column if k == other else k): v
                           for k, v in r.items()} for r in rows]
    elif kind == "duplicate_row":
        rows.insert(row, dict(rows[row]))
    elif kind == "drop_row" and len(rows) > 1:
        del rows[row]
    elif kind == "unknown_column":
        for r in rows:
            r[f"{column}_x"] = "1"
    log.append(f"catalog {file} {kind} row {row + 2} column {column}")


@st.composite
def mutated_inputs(draw):
    base = draw(st.sampled_from(["fixture", "fixture", *BUNDLED]))
    solver = draw(st.sampled_from(["highs", "highs", "highs", "cbc"]))
    mutations = draw(st.lists(st.sampled_from(["scenario", "catalog"]), min_size=1, max_size=3))
    return base, solver, mutations, draw(st.data())


# -- writing and running ------------------------------------------------------------------------


def _write(folder: Path, scenario: dict[str, Any],
           catalogs: dict[str, list[dict[str, str]]]) -> Path:
    for file, rows in catalogs.items():
        columns = list(dict.fromkeys(k for r in rows for k in r))
        with (folder / file).open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=columns, restval="")
            writer.writeheader()
            writer.writerows(rows)
    path = folder / "scenario.yaml"
    path.write_text(yaml.safe_dump(scenario, allow_unicode=True, sort_keys=False),
                    encoding="utf-8")
    return path


class _Hang(Exception):
    pass


def _alarm(signum, frame):
    raise _Hang(f"an example ran past {EXAMPLE_BUDGET} s")


def check_outcome(path: Path, log: list[str]) -> str:
    """Load and plan ``path``; assert the contract; return the outcome's name."""
    try:
        scenario = chipmix.load_scenario(path)
        plan = chipmix.plan(scenario)
    except ChipmixError as exc:
        message = str(exc)
        assert message.strip(), f"empty error message; {log}"
        assert "\n" not in message, f"a multi-line error message: {message!r}; {log}"
        return "error"
    data = json.loads(plan.to_json())  # valid JSON (NaN/inf would raise: allow_nan=False)
    assert data["status"] == plan.status.value
    if plan.ok:
        report = chipmix.verify(plan, scenario)
        assert report.ok, f"{log}: status {plan.status.value}, checker:\n" + "\n".join(
            report.violations)
        if plan.status == Status.FEASIBLE:
            assert plan.solver.get("gap") is None or plan.solver["gap"] >= 0
        return plan.status.value
    assert plan.status != Status.OPTIMAL
    assert plan.status in (Status.INFEASIBLE, Status.NO_SOLUTION, Status.UNBOUNDED,
                           Status.ERROR), plan.status
    assert data["purchases"] == []
    return plan.status.value


@settings(max_examples=EXAMPLES, deadline=dt.timedelta(seconds=EXAMPLE_BUDGET), database=None,
          derandomize=not BY_HAND, print_blob=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(mutated_inputs())
def test_mutated_inputs_give_a_verified_plan_or_a_clean_error(inputs):
    base, solver, mutations, data = inputs
    log: list[str] = [f"base {base}", f"solver {solver}"]
    with tempfile.TemporaryDirectory(prefix="chipmix-fuzz-") as tmp:
        folder = Path(tmp)
        scenario, catalogs = _base(base, folder)
        for target in mutations:
            if target == "scenario":
                _mutate_scenario(data.draw, scenario, log)
            else:
                _mutate_catalog(data.draw, catalogs, log)
        if isinstance(scenario, dict):
            scenario["solver"] = {"name": solver, "time_limit": TIME_LIMIT}
        path = _write(folder, scenario, catalogs)
        previous = signal.signal(signal.SIGALRM, _alarm)
        signal.alarm(EXAMPLE_BUDGET)
        started = time.perf_counter()
        try:
            event(check_outcome(path, log))  # --hypothesis-show-statistics counts outcomes
        finally:
            signal.alarm(0)
            signal.signal(signal.SIGALRM, previous)
        elapsed = time.perf_counter() - started
        assert elapsed < EXAMPLE_BUDGET, f"{elapsed:.1f} s; {log}"


# -- the unmutated bases plan (the fuzz starts from valid inputs) -------------------------------


@pytest.mark.parametrize("base", ["fixture", *BUNDLED])
def test_bases_are_valid(base, tmp_path):
    scenario, catalogs = _base(base, tmp_path)
    scenario["solver"] = {"name": "highs", "time_limit": 30}
    path = _write(tmp_path, scenario, catalogs)
    assert check_outcome(path, [base]) == "optimal"


def test_extreme_values_are_plain_yaml():
    """Every extreme survives a YAML round trip (so the fuzz tests the loader, not PyYAML)."""
    for value in EXTREMES:
        back = yaml.safe_load(yaml.safe_dump({"v": value}))["v"]
        assert back == value or (isinstance(value, float) and math.isnan(value)), value
