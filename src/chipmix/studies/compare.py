"""Side-by-side comparison of scenarios: one column per scenario, deltas against the first."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import pandas as pd

from chipmix.errors import ArgumentError, InputError
from chipmix.inputs.solver import Status
from chipmix.periods import parse_period
from chipmix.planner import plan as make_plan
from chipmix.studies.common import load_base
from chipmix.studies.summary import COST_KEYS, plan_summary, sku_table, unit_of

#: Row order of the comparison (sections; the per-name rows follow in sorted order).
_SECTIONS = ("status", "cost.", "units.total", "units.vendor.", "units.origin.",
             "spend.vendor.", "spend.origin.", "domestic_share.", "shortfall.")


def compare(
    scenarios: Sequence[Any],
    *,
    sets: Sequence[str] | None = None,
    labels: Sequence[str] | None = None,
    solver: str | None = None,
    time_limit: float | None = None,
    gap: float | None = None,
    threads: int | None = None,
    relax: bool | None = None,
) -> pd.DataFrame:
    """Plan each scenario and tabulate the results side by side.

    Parameters
    ----------
    scenarios
        Scenario YAML paths, :class:`~chipmix.inputs.scenario.Scenario` objects or scenario data.
    sets
        ``key.path=value`` overrides applied to every scenario (see :mod:`chipmix.inputs.overrides`).
    labels
        Column names (default: the scenario names, made unique with `` (2)``, `` (3)``...).
    solver, time_limit, gap, threads, relax
        As for :func:`chipmix.plan`.

    Returns
    -------
    DataFrame
        Index ``metric`` (``cost.<key>``, ``units.total``, ``units.vendor.<vendor>``,
        ``units.origin.<country>``, ``spend.vendor.<vendor>``, ``spend.origin.<country>``,
        ``domestic_share.<period>``, ``shortfall.<workload>``); columns ``unit`` (string),
        one per scenario, then ``<name> vs <first>`` (the difference) for every scenario
        after the first — all float64. Units and spend are totals over the horizon; a
        scenario without a plan has NaN figures. Each column's status (``optimal``,
        ``infeasible``...; ``optimal -> infeasible`` for a difference) is in
        ``frame.attrs["status"]``; :func:`with_status` puts it back as a first row (the
        CLI's table, JSON and CSV), :func:`comparison_long` gives the tidy long form.

    Raises
    ------
    InputError
        No scenarios, a bad scenario, labels that do not match; ArgumentError when
        ``scenarios`` is not a list.
    """
    if isinstance(scenarios, (str, bytes)) or not isinstance(scenarios, Sequence):
        raise ArgumentError("chipmix.compare", "scenarios", scenarios,
                            "a list of scenario paths, Scenarios or scenario data")
    if not scenarios:
        raise InputError("nothing to compare", expected="one or more scenarios")
    loaded = [load_base(s, sets) for s in scenarios]
    names = list(labels) if labels is not None else _unique([s.name for s in loaded])
    if len(names) != len(loaded):
        raise InputError("labels and scenarios differ in number", value=len(names),
                         expected=f"{len(loaded)} labels")
    summaries = []
    metrics: dict[str, str] = {}
    for scenario in loaded:
        plan = make_plan(scenario, solver=solver, time_limit=time_limit, gap=gap,
                            threads=threads, relax=relax)
        summary = plan_summary(plan, sku_table(scenario), scenario.workload_names)
        summary.pop("units.sku", None)
        summary.pop("objective", None)  # the same figure as cost.discounted_total
        summaries.append(summary)
        for w in scenario.workloads:
            metrics.setdefault(w.name, w.metric)
    return comparison_frame(summaries, names, metrics)


def comparison_frame(summaries: Sequence[dict[str, Any]], names: Sequence[str],
                     workload_metrics: dict[str, str] | None = None) -> pd.DataFrame:
    """The comparison table from plan summaries (``summary.plan_summary``)."""
    keys: list[str] = []
    for summary in summaries:
        keys.extend(k for k in summary if k not in keys)
    keys = sorted(keys, key=_order_key(keys))
    data: dict[str, list[Any]] = {"unit": [unit_of(k, workload_metrics) for k in keys]}
    for name, summary in zip(names, summaries, strict=True):
        has_plan = summary.get("status") in Status.with_plan()
        data[name] = [summary.get(k, _missing(k, has_plan)) for k in keys]
    first = names[0]
    for name in names[1:]:
        data[f"{name} vs {first}"] = [
            _delta(a, b) for a, b in zip(data[name], data[first], strict=True)
        ]
    frame = pd.DataFrame(data, index=pd.Index(keys, name="metric"))
    return _typed(frame)


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    """Numbers as float64, the statuses in ``attrs`` (a column of numbers holds no text)."""
    status = ({str(c): str(frame.at["status", c]) for c in frame.columns if c != "unit"}
              if "status" in frame.index else {})
    typed = frame.drop(index="status", errors="ignore")
    out = pd.DataFrame({c: (typed[c].astype("string") if c == "unit"
                            else pd.to_numeric(typed[c], errors="coerce").astype("float64"))
                        for c in typed.columns}, index=typed.index)
    out.attrs["status"] = status
    return out


def with_status(frame: pd.DataFrame) -> pd.DataFrame:
    """The comparison with the statuses as its first row (``metric`` = ``status``).

    For people and for the CLI's JSON and CSV (their layout since the first release);
    the columns are then objects.
    """
    status = frame.attrs.get("status") or {}
    if not status or "status" in frame.index:
        return frame
    row = pd.DataFrame([{"unit": "", **{c: status.get(str(c), "") for c in frame.columns
                                          if c != "unit"}}],
                       index=pd.Index(["status"], name=frame.index.name))
    return pd.concat([row, frame.astype(object)])


def comparison_long(frame: pd.DataFrame) -> pd.DataFrame:
    """The comparison in tidy long form: ``metric``, ``unit``, ``scenario``, ``status``, ``value``.

    One row per metric and column (differences included, as ``<name> vs <first>``);
    ``value`` is float64, the rest strings. ``.pivot(index="metric", columns="scenario",
    values="value")`` gives the wide table back.
    """
    status = frame.attrs.get("status") or {}
    long = frame.reset_index().melt(id_vars=["metric", "unit"], var_name="scenario",
                                    value_name="value")
    long["status"] = long["scenario"].map(lambda c: status.get(str(c), ""))
    long = long[["metric", "unit", "scenario", "status", "value"]]
    for column in ("metric", "unit", "scenario", "status"):
        long[column] = long[column].astype("string")
    long["value"] = long["value"].astype("float64")
    return long


def _missing(key: str, has_plan: bool) -> float:
    # a vendor a plan did not buy from: 0 units; a plan without decisions: unknown
    if has_plan and key.startswith(("units.", "spend.", "shortfall.")):
        return 0.0
    return math.nan


def _delta(value: Any, reference: Any) -> Any:
    if isinstance(value, str) or isinstance(reference, str):
        return "" if value == reference else f"{reference} -> {value}"
    try:
        return float(value) - float(reference)
    except (TypeError, ValueError):
        return math.nan


def _order_key(keys: list[str]):
    cost_order = {f"cost.{k}": i for i, k in enumerate(COST_KEYS)}
    first_seen = {k: i for i, k in enumerate(keys)}

    def key(name: str) -> tuple[int, int, str]:
        for i, prefix in enumerate(_SECTIONS):
            if name == prefix or (prefix.endswith(".") and name.startswith(prefix)):
                if prefix == "cost.":
                    return (i, cost_order.get(name, 99), name)
                if prefix == "domestic_share.":
                    return (i, _period_ordinal(name.split(".", 1)[1]), name)
                if prefix == "shortfall.":
                    return (i, first_seen[name], "")  # workloads in scenario order
                return (i, 0, name)
        return (len(_SECTIONS), first_seen[name], name)

    return key


def _period_ordinal(text: str) -> int:
    try:
        period = parse_period(text)
    except ValueError:
        return 0
    # months and quarters on one scale (a month's ordinal counts months)
    return period.ordinal * (3 if period.kind == "Q" else 1)


def _unique(names: Sequence[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    return out
