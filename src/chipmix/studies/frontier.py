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
   ``hi - lo <= tolerance`` (default 0.001, a tenth of a percentage point); then the one
   share on the tolerance grid inside the bracket is probed too, so an exact answer such as
   60 % is reported as 60.0 %, not 59.9 %.

Probes only ask *is there any plan*: they solve the full MILP with a relative gap of 1 (the
solver stops at its first integer-feasible point, or proves there is none) and without the
infeasibility diagnosis. A probe that ends without an answer (time limit) counts as
infeasible, so the reported share is always one where a plan was found.

Maximising the share directly is not one MILP: the share constraint ``domestic >= s * total``
is bilinear in ``s`` and the fleet; bisection re-uses the planner unchanged and costs about
``log2(1/tolerance)`` ≈ 10 feasibility probes.

A plan that rents shortfall is a plan, so with penalised (soft) demand the highest feasible
share can be one where the fleet no longer meets demand. A second bisection therefore finds
the **highest share met without shortfall**: the same probes with every workload's demand
hard (``shortfall_penalty`` removed), between 0 and the highest feasible share. With hard
demand everywhere the two are the same share and the second bisection is skipped.

Then the curve: the shares on a round step from 0 (1, 2, 2.5 or 5 times a power of ten, the
smallest giving at most ``steps`` points: 0, 10, 20 ... % for ``steps=11``) plus the two
highest shares, each planned to optimality (within the usual gap) in parallel. ``premium``
is each point's objective minus the objective at share 0 (USD, discounted); ``shortfall``
the shortfall rent it pays (USD, nominal).
"""

from __future__ import annotations

import functools
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
        plus ``premium`` [USD, discounted, against share 0], ``shortfall`` [USD, nominal:
        the shortfall rent], ``is_max`` (the row of the highest feasible share) and
        ``is_max_met`` (the row of the highest share met without shortfall).
    probes
        The feasibility probes of the bisections: ``round``, ``required_share``, ``status``,
        ``feasible``, ``hard_demand`` (True: the probe of the no-shortfall bisection).
    max_share
        Highest required share with a plan (within ``tolerance``); None when even 0 has none.
        The plan may rent shortfall there.
    max_share_met
        Highest required share a plan meets without any shortfall (within ``tolerance``);
        None when even share 0 needs shortfall (or has no plan).
    """

    scenario: str
    curve: pd.DataFrame
    probes: pd.DataFrame
    max_share: float | None
    tolerance: float
    share_basis: str
    start: str
    info: list[RunInfo] = field(default_factory=list)
    max_share_met: float | None = None

    @property
    def premium(self) -> float | None:
        """Extra discounted cost of the highest feasible share over share 0 [USD]."""
        return self._at("is_max", "premium")

    @property
    def premium_met(self) -> float | None:
        """Extra discounted cost of the highest share met without shortfall [USD]."""
        return self._at("is_max_met", "premium")

    @property
    def shortfall_at_max(self) -> float | None:
        """Shortfall rent of the plan at the highest feasible share [USD, nominal]."""
        return self._at("is_max", "shortfall")

    def _at(self, mark: str, column: str) -> float | None:
        if not len(self.curve) or mark not in self.curve or column not in self.curve:
            return None
        value = self.curve.loc[self.curve[mark], column]
        return float(value.iloc[0]) if len(value) and not math.isnan(value.iloc[0]) else None

    def tables(self) -> dict[str, pd.DataFrame]:
        """``{"frontier": curve, "probes": probes, "summary": one row}`` for exports."""
        return {"frontier": self.curve, "probes": self.probes, "summary": self.summary_frame()}

    def summary_frame(self) -> pd.DataFrame:
        return pd.DataFrame([{
            "scenario": self.scenario,
            "max_share": self.max_share if self.max_share is not None else math.nan,
            "max_share_met": (self.max_share_met if self.max_share_met is not None
                              else math.nan),
            "tolerance": self.tolerance,
            "share_basis": self.share_basis,
            "from_period": self.start,
            "premium": self.premium if self.premium is not None else math.nan,
            "premium_met": self.premium_met if self.premium_met is not None else math.nan,
            "shortfall_at_max": (self.shortfall_at_max if self.shortfall_at_max is not None
                                 else math.nan),
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
        At most this many round shares from 0 to the highest feasible share (at least 2),
        plus the highest share met without shortfall and the highest feasible share.
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
    hard = _hard_demand(scenario)
    study = _Study(scenario, begin, probe_job=make_job(scenario, gap=PROBE_GAP, diagnose=False,
                                                       label="probe", **options),
                   curve_job=make_job(scenario, gap=gap, label="share", **options),
                   hard_job=None if hard is None else make_job(
                       hard, gap=PROBE_GAP, diagnose=False, label="probe", **options))
    decimals = _decimals(tolerance)
    with Executor(workers, dask_option(dask, client)) as executor:
        study.executor = executor
        parallel = max(1, executor.workers)
        max_share = _on_grid(_highest_feasible(study.probe, parallel, tolerance), decimals)
        max_met = max_share
        if hard is not None and max_share is not None:
            max_met = _on_grid(_highest_feasible(functools.partial(study.probe, hard=True),
                                                 parallel, tolerance, top=max_share),
                               decimals)
        curve = study.curve(max_share, max_met, steps, decimals, progress)
    probes = pd.DataFrame(study.probe_rows, columns=["round", "required_share", "status",
                                                     "feasible", "hard_demand"])
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
        max_share_met=max_met,
    )


def _hard_demand(scenario: Any) -> Any:
    """The scenario with every workload's demand hard; None when it already is."""
    if all(w.shortfall_penalty is None for w in scenario.workloads):
        return None
    return scenario.model_copy(update={"workloads": [
        w.model_copy(update={"shortfall_penalty": None}) for w in scenario.workloads]})


def _on_grid(share: float | None, decimals: int) -> float | None:
    """A share on the tolerance grid, rounding down: still a share with a plan."""
    if share is None or share >= 1.0:
        return share
    return math.floor(share * 10**decimals + 1e-9) / 10**decimals


def round_shares(top: float, steps: int) -> list[float]:
    """Shares on a round step from 0 to ``top``: at most ``steps`` of them.

    The step is 1, 2, 2.5 or 5 times a power of ten, the smallest with at most ``steps``
    points (0, 0.1, ..., 1 for ``top=1, steps=11``; 0, 0.2, 0.4 for ``top=0.55, steps=4``).
    """
    if top <= 0:
        return [0.0]
    raw = top / (steps - 1)
    power = 10.0 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw * (1 - 1e-9))
    count = math.floor(top / step + 1e-9)
    return [_round(i * step) for i in range(count + 1)]


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

    def __init__(self, scenario: Any, begin: Any, probe_job: Any, curve_job: Any,
                 hard_job: Any = None) -> None:
        self.first, self.begin = scenario.horizon.start, begin
        self.probe_job, self.curve_job, self.hard_job = probe_job, curve_job, hard_job
        self.periods = [str(p) for p in scenario.periods]
        self.executor: Executor | None = None
        self.infos: list[RunInfo] = []
        self.probe_rows: list[dict[str, Any]] = []

    def share_value(self, s: float) -> Any:
        """``policy.domestic_share`` requiring ``s`` from the first period of the study."""
        return s if self.begin == self.first else {str(self.first): 0.0, str(self.begin): s}

    def probe(self, shares: list[float], round_no: int, *, hard: bool = False) -> list[bool]:
        """Is there any plan at each share? (a status ``error`` is a failure, not a no).

        ``hard``: with every workload's demand hard (no shortfall allowed).
        """
        variants = [{SHARE_KEY: self.share_value(s)} for s in shares]
        assert self.executor is not None
        job = self.hard_job if hard else self.probe_job
        outcomes, info = run_batch(self.executor, job, variants)
        self.infos.append(info)
        verdicts = []
        for s, outcome in zip(shares, outcomes, strict=True):
            status = outcome.row.get("status", "error")
            if status == "error":  # a bad setting or a dead worker, not infeasibility
                raise ChipmixError(f"frontier probe at share {s:g} failed: "
                                   f"{outcome.row.get('message', '')}")
            ok = status in Status.with_plan()
            self.probe_rows.append({"round": round_no, "required_share": s, "status": status,
                                    "feasible": ok, "hard_demand": hard})
            verdicts.append(ok)
        return verdicts

    def curve(self, max_share: float | None, max_met: float | None, steps: int,
              decimals: int, progress: Progress | None) -> pd.DataFrame:
        """Round shares up to ``max_share`` and the two maxima, planned to optimality."""
        if max_share is None:
            return pd.DataFrame(columns=["required_share", "status", "objective", "premium",
                                         "shortfall", "is_max", "is_max_met"])
        marks = [s for s in (max_met, max_share) if s is not None]
        shares = sorted({round(s, decimals + 1) for s in
                         [*round_shares(max_share, steps), *marks]})
        variants = [{SHARE_KEY: self.share_value(s)} for s in shares]
        assert self.executor is not None
        outcomes, info = run_batch(self.executor, self.curve_job, variants, progress)
        self.infos.append(info)
        curve = results_frame(outcomes, variants, {}, self.periods)
        curve.insert(1, "required_share", shares)
        base_cost = curve["objective"].iloc[0]
        curve.insert(curve.columns.get_loc("objective") + 1, "premium",
                     curve["objective"] - base_cost)
        curve.insert(curve.columns.get_loc("premium") + 1, "shortfall",
                     curve["cost.shortfall"])
        curve["is_max"] = [s == max_share for s in shares]
        curve["is_max_met"] = [s == max_met for s in shares]
        return curve.drop(columns=["variant"])


def _highest_feasible(probe, parallel: int, tolerance: float, top: float = 1.0
                      ) -> float | None:
    """Bisection (``parallel``-section) on infeasibility; ``probe(shares, round)`` → verdicts.

    ``top``: the highest share to try (a known upper bound).
    """
    at_zero, at_top = probe([0.0, top], 0) if top > 0 else (*probe([0.0], 0), True)
    if not at_zero:
        return None
    if at_top:
        return top
    lo, hi, round_no = 0.0, top, 0
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
    # the round share the bracket holds (0.6 in [0.5996, 0.6005]): probe it, so an exact
    # answer is reported exactly rather than a tolerance below it
    decimals = _decimals(tolerance)
    grid = math.floor(hi * 10**decimals - 1e-9) / 10**decimals
    if lo < grid < hi and probe([grid], round_no + 1)[0]:
        lo = grid
    return lo


def _decimals(tolerance: float) -> int:
    """Decimals that resolve ``tolerance`` (0.001 → 3)."""
    return max(0, math.ceil(-math.log10(tolerance) - 1e-9))


def _round(share: float) -> float:
    return round(share, 9)
