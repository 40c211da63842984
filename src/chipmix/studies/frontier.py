"""The price of self-reliance: minimum cost against a required domestic share.

Method
------
The required share ``s`` replaces ``policy.domestic_share`` of the base scenario (one value
for every period from the horizon start, or from ``start``; 0 before it), on the scenario's
own ``share_basis``. Feasibility is monotone in ``s``: a plan that meets a share meets every
lower one. So the highest feasible share is found by **bisection on infeasibility**:

1. probe ``s = 0`` and ``s = 1``; if 1 is feasible the answer is 1, if 0 is not there is
   none;
2. otherwise keep ``lo`` (feasible) and ``hi`` (infeasible) and probe ``k`` evenly spaced
   shares strictly between them per round, ``k`` = the number of workers (plain bisection
   with one worker, a ``k+1``-section on a pool or a Dask cluster), until
   ``hi - lo <= tolerance`` (default 0.001, a tenth of a percentage point).

Probes only ask *is there any plan*: they solve the full MILP with a relative gap of 1 (the
solver stops at its first integer-feasible point, or proves there is none) and without the
infeasibility diagnosis. A probe that ends without an answer (time limit) counts as
infeasible, so the reported share is always one where a plan was found.

Maximising the share directly is not one MILP: the share constraint ``domestic >= s * total``
is bilinear in ``s`` and the fleet; bisection re-uses the planner unchanged and costs about
``log2(1/tolerance)`` ≈ 10 feasibility probes.

Then the curve: ``steps`` shares evenly spaced from 0 to the highest feasible share, each
planned to optimality (within the usual gap) in parallel. ``premium`` is each point's
objective minus the objective at share 0 (USD, discounted).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

import chipmix.limits as limits
from chipmix.errors import ChipmixError, InputError
from chipmix.inputs.solver import Status
from chipmix.periods import parse_period
from chipmix.pipeline.executor import Executor, Progress
from chipmix.studies.common import dask_option, load_base, make_job
from chipmix.studies.execute import RunInfo, run_batch
from chipmix.studies.sweep import results_frame

SHARE_KEY = "policy.domestic_share"
#: Probe gap: any integer-feasible plan answers "feasible".
PROBE_GAP = 1.0


@dataclass
class Frontier:
    """Minimum cost against required domestic share.

    Attributes
    ----------
    curve
        One row per required share (``required_share``, 0-1) with the sweep columns
        (status, objective, costs, achieved ``domestic_share.<period>``, units by vendor)
        plus ``premium`` [USD, discounted, against share 0] and ``is_max`` (the row of the
        highest feasible share).
    probes
        The feasibility probes of the bisection: ``round``, ``required_share``, ``status``,
        ``feasible``.
    max_share
        Highest required share with a plan (within ``tolerance``); None when even 0 has none.
    """

    scenario: str
    curve: pd.DataFrame
    probes: pd.DataFrame
    max_share: float | None
    tolerance: float
    share_basis: str
    start: str
    info: list[RunInfo] = field(default_factory=list)

    @property
    def premium(self) -> float | None:
        """Extra discounted cost of the highest feasible share over share 0 [USD]."""
        if self.max_share is None or not len(self.curve):
            return None
        value = self.curve.loc[self.curve["is_max"], "premium"]
        return float(value.iloc[0]) if len(value) and not math.isnan(value.iloc[0]) else None

    def tables(self) -> dict[str, pd.DataFrame]:
        """``{"frontier": curve, "probes": probes, "summary": one row}`` for exports."""
        return {"frontier": self.curve, "probes": self.probes, "summary": self.summary_frame()}

    def summary_frame(self) -> pd.DataFrame:
        return pd.DataFrame([{
            "scenario": self.scenario,
            "max_share": self.max_share if self.max_share is not None else math.nan,
            "tolerance": self.tolerance,
            "share_basis": self.share_basis,
            "from_period": self.start,
            "premium": self.premium if self.premium is not None else math.nan,
            "method": "bisection on infeasibility",
        }])


def frontier(
    base: Any,
    steps: int = 11,
    *,
    sets: Sequence[str] | None = None,
    start: str | None = None,
    tolerance: float = 1e-3,
    workers: int | None = None,
    dask: Any = None,
    client: Any = None,
    solver: str | None = None,
    time_limit: float | None = None,
    gap: float | None = None,
    progress: Progress | None = None,
) -> Frontier:
    """Trace minimum cost against required domestic share (see the module docstring).

    Parameters
    ----------
    base
        A scenario YAML path, a Scenario, or scenario data.
    steps
        Points on the curve from share 0 to the highest feasible share (at least 2).
    start
        First period the required share applies to (default: the horizon start).
    tolerance
        Precision of the highest feasible share (0-1 scale).
    workers, dask, solver, time_limit, gap, progress
        As for :func:`chipmix.sweep` (``client``: the former name of ``dask``, deprecated).

    Raises
    ------
    InputError
        ``steps`` not a whole number from 2 to the ``steps`` limit, ``tolerance`` outside
        (0, 1), a bad base scenario or ``start`` period, bad executor options.
    """
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 2:
        raise InputError(field="--steps", value=steps, expected="a whole number, 2 or more")
    limits.check("steps", steps, what=f"{steps:,} steps", field="--steps")
    if isinstance(tolerance, bool) or not isinstance(tolerance, (int, float)) \
            or not 0 < tolerance < 1:
        raise InputError(field="tolerance (--tolerance)", value=tolerance,
                         expected="a number in (0, 1)")
    scenario = load_base(base, sets)
    begin = _first_period(scenario, start)
    options: dict[str, Any] = dict(solver=solver, time_limit=time_limit)
    study = _Study(scenario, begin, probe_job=make_job(scenario, gap=PROBE_GAP, diagnose=False,
                                                       label="probe", **options),
                   curve_job=make_job(scenario, gap=gap, label="share", **options))
    with Executor(workers, dask_option(dask, client)) as executor:
        study.executor = executor
        max_share = _highest_feasible(study.probe, max(1, executor.workers), tolerance)
        decimals = _decimals(tolerance)
        if max_share is not None and max_share < 1.0:
            # report on the tolerance grid, rounding down: still a share with a plan
            max_share = math.floor(max_share * 10**decimals + 1e-9) / 10**decimals
        curve = study.curve(max_share, steps, decimals, progress)
    probes = pd.DataFrame(study.probe_rows,
                          columns=["round", "required_share", "status", "feasible"])
    probes = probes.sort_values(["required_share", "round"], kind="stable").reset_index(drop=True)
    return Frontier(
        scenario=scenario.name,
        curve=curve.reset_index(drop=True),
        probes=probes,
        max_share=max_share,
        tolerance=tolerance,
        share_basis=scenario.policy.share_basis,
        start=str(begin),
        info=study.infos,
    )


def _first_period(scenario: Any, start: str | None) -> Any:
    """The first period the required share applies to (``--from``), checked."""
    first = scenario.horizon.start
    if start is None:
        return first
    try:
        begin = parse_period(start, first.kind)
    except ValueError as exc:
        raise InputError(field="--from", value=start, expected=str(exc)) from None
    if not first <= begin <= scenario.horizon.end:
        raise InputError(field="--from", value=start,
                         expected=f"a period in {first}..{scenario.horizon.end}")
    return begin


class _Study:
    """The probes and the curve of one frontier, on one executor."""

    def __init__(self, scenario: Any, begin: Any, probe_job: Any, curve_job: Any) -> None:
        self.first, self.begin = scenario.horizon.start, begin
        self.probe_job, self.curve_job = probe_job, curve_job
        self.periods = [str(p) for p in scenario.periods]
        self.executor: Executor | None = None
        self.infos: list[RunInfo] = []
        self.probe_rows: list[dict[str, Any]] = []

    def share_value(self, s: float) -> Any:
        """``policy.domestic_share`` requiring ``s`` from the first period of the study."""
        return s if self.begin == self.first else {str(self.first): 0.0, str(self.begin): s}

    def probe(self, shares: list[float], round_no: int) -> list[bool]:
        """Is there any plan at each share? (a status ``error`` is a failure, not a no)."""
        variants = [{SHARE_KEY: self.share_value(s)} for s in shares]
        assert self.executor is not None
        outcomes, info = run_batch(self.executor, self.probe_job, variants)
        self.infos.append(info)
        verdicts = []
        for s, outcome in zip(shares, outcomes, strict=True):
            status = outcome.row.get("status", "error")
            if status == "error":  # a bad setting or a dead worker, not infeasibility
                raise ChipmixError(f"frontier probe at share {s:g} failed: "
                                   f"{outcome.row.get('message', '')}")
            ok = status in Status.with_plan()
            self.probe_rows.append({"round": round_no, "required_share": s, "status": status,
                                    "feasible": ok})
            verdicts.append(ok)
        return verdicts

    def curve(self, max_share: float | None, steps: int, decimals: int,
              progress: Progress | None) -> pd.DataFrame:
        """``steps`` shares from 0 to ``max_share`` planned to optimality, with premiums."""
        if max_share is None:
            return pd.DataFrame(columns=["required_share", "status", "objective", "premium",
                                         "is_max"])
        shares = list(dict.fromkeys(round(max_share * i / (steps - 1), decimals)
                                    for i in range(steps)))
        variants = [{SHARE_KEY: self.share_value(s)} for s in shares]
        assert self.executor is not None
        outcomes, info = run_batch(self.executor, self.curve_job, variants, progress)
        self.infos.append(info)
        curve = results_frame(outcomes, variants, {}, self.periods)
        curve.insert(1, "required_share", shares)
        base_cost = curve["objective"].iloc[0]
        curve.insert(curve.columns.get_loc("objective") + 1, "premium",
                     curve["objective"] - base_cost)
        curve["is_max"] = [s == max_share for s in shares]
        return curve.drop(columns=["variant"])


def _highest_feasible(probe, parallel: int, tolerance: float) -> float | None:
    """Bisection (``parallel``-section) on infeasibility; ``probe(shares, round)`` → verdicts."""
    at_zero, at_one = probe([0.0, 1.0], 0)
    if not at_zero:
        return None
    if at_one:
        return 1.0
    lo, hi, round_no = 0.0, 1.0, 0
    while hi - lo > tolerance:
        round_no += 1
        shares = [_round(lo + (hi - lo) * j / (parallel + 1)) for j in range(1, parallel + 1)]
        shares = sorted({s for s in shares if lo < s < hi})
        if not shares:  # pragma: no cover - the interval is below rounding
            break
        verdicts = probe(shares, round_no)
        feasible = [s for s, ok in zip(shares, verdicts, strict=True) if ok]
        if feasible:
            lo = max(feasible)
        hi = min([hi, *(s for s, ok in zip(shares, verdicts, strict=True) if not ok and s > lo)])
    return lo


def _decimals(tolerance: float) -> int:
    """Decimals that resolve ``tolerance`` (0.001 → 3)."""
    return max(0, math.ceil(-math.log10(tolerance) - 1e-9))


def _round(share: float) -> float:
    return round(share, 9)
