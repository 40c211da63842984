"""Parameter sweeps: one base scenario, a grid of overrides, one result row per variant.

``--vary key.path=SPEC`` (or ``vary={"key.path": SPEC}`` in Python) gives the values of one
axis; the grid is the cartesian product of the axes, the first axis varying slowest::

    policy.domestic_share=0:1:0.1        # inclusive range a:b:step, exact decimals (11 values)
    supply.nvidia-h20=0,500,1000         # a comma list, each item a YAML value
    licenses.nvidia-h20=deny,{fee: 0.15} # commas inside [...] / {...} / quotes do not split
    policy.vendor_cap=0.7                # a single value

Values are typed by the scenario schema as with ``--set`` (:mod:`chipmix.inputs.overrides`); the
paths are checked against the base before anything runs (a bad path is an InputError), the
values per variant (a bad value makes that variant a row with status ``error``).
"""

from __future__ import annotations

import itertools
import json
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import pandas as pd

import chipmix.limits as limits
from chipmix.errors import InputError, require_texts
from chipmix.inputs.overrides import check_path, split_assignment, typed_value
from chipmix.inputs.scenario import Scenario
from chipmix.inputs.solver import Status
from chipmix.pipeline.executor import Progress
from chipmix.studies.common import dask_option, load_base, make_job
from chipmix.studies.execute import Outcome, RunInfo, run_variants
from chipmix.studies.summary import COST_KEYS, top_skus

VARY_LABEL = "--vary"

_NUMBER = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?"
_RANGE = re.compile(rf"^\s*({_NUMBER})\s*:\s*({_NUMBER})\s*:\s*({_NUMBER})\s*$", re.ASCII)
# Numbers and colons only: meant as a range (0:1, 0:1:), however incomplete.
_RANGE_LIKE = re.compile(r"^\s*[-+.0-9eE]*\s*(?::\s*[-+.0-9eE]*\s*)+$", re.ASCII)
#: Largest number of values one range may expand to (a typo like 0:1:0.00001 is refused).
MAX_RANGE = 10_000


def expand_range(spec: str, *, label: str = VARY_LABEL, location: str | None = None
                 ) -> list[int | float] | None:
    """``"a:b:step"`` → the inclusive values; None when ``spec`` is not a range.

    Computed in decimal: ``0:1:0.1`` gives 0.3, not 0.30000000000000004.
    """
    match = _RANGE.match(spec)
    if not match:
        return None
    try:
        start, stop, step = (Decimal(g) for g in match.groups())
    except InvalidOperation:  # pragma: no cover - the regex admits only numbers
        return None
    if step == 0 or (stop - start) * step < 0:
        raise InputError("empty range", file=label, location=location, value=spec,
                         expected="a range like 0:1:0.1 whose step goes from the start "
                                  "towards the end")
    count = int((stop - start) / step) + 1
    if count > MAX_RANGE:
        raise InputError(f"range of {count} values", file=label, location=location, value=spec,
                         expected=f"at most {MAX_RANGE} values per axis")
    integral = all(d == d.to_integral_value() and "." not in g and "e" not in g.lower()
                   for d, g in zip((start, stop, step), match.groups(), strict=True))
    values = [start + i * step for i in range(count)]
    return [int(v) if integral else float(v) for v in values]


def split_list(spec: str) -> list[str]:
    """Split on commas outside brackets, braces and quotes."""
    items, depth, quote, current = [], 0, "", []
    for ch in spec:
        if quote:
            current.append(ch)
            if ch == quote:
                quote = ""
            continue
        if ch in "\"'":
            quote = ch
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
        elif ch == "," and depth == 0:
            items.append("".join(current).strip())
            current = []
            continue
        current.append(ch)
    items.append("".join(current).strip())
    return items


def parse_axis(data: Mapping[str, Any], path: str, spec: Any, *, label: str = VARY_LABEL
               ) -> tuple[str, list[Any]]:
    """The checked path and its values; ``spec`` is SPEC text or a list of Python values."""
    canonical = check_path(data, path, schema=Scenario, label=label)
    if isinstance(spec, str):
        values = expand_range(spec, label=label, location=canonical)
        if values is None and _RANGE_LIKE.match(spec):
            raise InputError("not a range", file=label, location=canonical, value=spec,
                             expected="START:STOP:STEP with all three numbers, e.g. 0:1:0.1 "
                                      "(a range needs a step)")
        if values is None:
            items = split_list(spec)
            if any(item == "" for item in items):
                raise InputError("empty value in the list", file=label, location=canonical,
                                 value=spec, expected="values separated by commas (0,500,1000)")
            values = [typed_value(data, canonical, item, schema=Scenario, label=label) for item in items]
    elif isinstance(spec, Sequence) and not isinstance(spec, (bytes, bytearray)):
        values = list(spec)
    else:
        values = [spec]
    if not values:
        raise InputError("no values", file=label, location=canonical,
                         expected="at least one value")
    return canonical, values


def parse_vary(data: Mapping[str, Any], vary: Sequence[str] | Mapping[str, Any], *,
               label: str = VARY_LABEL) -> dict[str, list[Any]]:
    """Axes from ``["key=SPEC", ...]`` or ``{key: SPEC | [values]}``, checked against ``data``."""
    if isinstance(vary, Mapping):
        pairs = list(vary.items())
    else:
        items = require_texts("chipmix.sweep", "vary", vary,
                              "['key.path=SPEC', ...] or {'key.path': SPEC or [values]}")
        pairs = [split_assignment(item, label=label) for item in items]
    axes: dict[str, list[Any]] = {}
    for path, spec in pairs:
        canonical, values = parse_axis(data, path, spec, label=label)
        if canonical in axes:
            raise InputError("varied twice", file=label, location=canonical,
                             expected="each key once (list all its values in one --vary)")
        axes[canonical] = values
    return axes


class Grid(Sequence[dict[str, Any]]):
    """The cartesian product of the axes, computed lazily.

    The cartesian product of the axes as override dicts (first axis slowest), computed
    lazily: its length is the product of the axis lengths, an item is built when asked for —
    two 10,000-value axes cost two lists, not 10⁸ dicts.
    """

    def __init__(self, axes: Mapping[str, Sequence[Any]]) -> None:
        self.keys = list(axes)
        self.values = [list(values) for values in axes.values()]

    def __len__(self) -> int:
        return math.prod(len(values) for values in self.values)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for combo in itertools.product(*self.values):
            yield dict(zip(self.keys, combo, strict=True))

    def __getitem__(self, index: int) -> dict[str, Any]:  # type: ignore[override]
        if isinstance(index, slice):
            raise TypeError("a Grid is indexed by position, not sliced")
        size = len(self)
        if index < 0:
            index += size
        if not 0 <= index < size:
            raise IndexError(index)
        combo = []
        for values in reversed(self.values):
            index, position = divmod(index, len(values))
            combo.append(values[position])
        return dict(zip(self.keys, reversed(combo), strict=True))


def grid(axes: Mapping[str, Sequence[Any]]) -> Grid:
    """The cartesian product of the axes as override dicts (first axis slowest), lazily."""
    return Grid(axes)


def check_grid(variants: Grid) -> None:
    """The grid holds at most the ``variants`` limit (LimitError naming the axis sizes)."""
    count = len(variants)
    sizes = " × ".join(f"{len(v):,}" for v in variants.values)
    limits.check("variants", count, what=f"{count:,} variants ({sizes} values)",
                 field=VARY_LABEL)


@dataclass
class SweepRun:
    """A finished sweep: the table and how it ran."""

    frame: pd.DataFrame
    axes: dict[str, list[Any]]
    info: RunInfo
    scenario: str


def run_sweep(
    base: Any,
    vary: Sequence[str] | Mapping[str, Any],
    *,
    sets: Sequence[str] | None = None,
    workers: int | None = None,
    dask: Any = None,
    client: Any = None,
    solver: str | None = None,
    time_limit: float | None = None,
    gap: float | None = None,
    relax: bool | None = None,
    diagnose: bool = True,
    progress: Progress | None = None,
) -> SweepRun:
    """Like :func:`sweep`, also returning the executor, workers and timings."""
    scenario = load_base(base, sets)
    job = make_job(scenario, solver=solver, time_limit=time_limit, gap=gap, relax=relax,
                   diagnose=diagnose)
    axes = parse_vary(job.data, vary)
    variants = grid(axes)
    check_grid(variants)
    outcomes, info = run_variants(job, variants, workers=workers, dask=dask_option(dask, client),
                                  progress=progress, line=len(variants.values[-1]))
    frame = results_frame(outcomes, variants, axes, [str(p) for p in scenario.periods])
    return SweepRun(frame=frame, axes=axes, info=info, scenario=scenario.name)


def sweep(
    base: Any,
    vary: Sequence[str] | Mapping[str, Any],
    *,
    sets: Sequence[str] | None = None,
    workers: int | None = None,
    dask: Any = None,
    client: Any = None,
    solver: str | None = None,
    time_limit: float | None = None,
    gap: float | None = None,
    relax: bool | None = None,
    diagnose: bool = True,
    progress: Progress | None = None,
) -> pd.DataFrame:
    """Plan every variant of ``base`` on the grid ``vary``; one row per variant, in grid order.

    Parameters
    ----------
    base
        A scenario YAML path, a :class:`~chipmix.inputs.scenario.Scenario`, or scenario data.
    vary
        ``["key.path=SPEC", ...]`` or ``{"key.path": SPEC or [values]}`` (module docstring).
    sets
        ``key.path=value`` overrides applied to the base first.
    workers
        Processes of the local pool (default: every core; 1 = in this process).
    dask
        Run the variants on Dask instead: a scheduler address (``tcp://host:8786``),
        ``"local"`` (a local cluster of ``workers`` processes) or a
        ``dask.distributed.Client`` (see :mod:`chipmix.pipeline.executor`).
    client
        Deprecated name of ``dask`` (a Client).
    solver, time_limit, gap, relax
        As for :func:`chipmix.plan`; every variant solves with ``threads=1``.
    diagnose
        Explain infeasible variants (an elastic re-solve each) in the ``message`` column.
    progress
        ``progress(done, total)`` called as variants finish.

    Raises
    ------
    InputError
        A bad base scenario, a bad ``--vary`` path or spec, more variants than the
        ``variants`` limit (:mod:`chipmix.limits`), bad executor options; ArgumentError when
        ``vary`` is neither a list of texts nor a mapping. A bad *value* makes its variant a
        row with status ``error`` instead.

    Returns
    -------
    DataFrame
        ``variant``, one column per varied key, ``status``, ``objective`` [USD, discounted],
        ``cost.<total|discounted_total|capex|energy|porting|shortfall>`` [USD],
        ``domestic_share.<period>`` [0-1], ``units.total`` and ``units.vendor.<vendor>``
        [units bought over the horizon], ``top_skus`` (the three SKUs bought most), ``gap``,
        ``message`` (why a variant has no plan). Figures a variant lacks are NaN. The same
        inputs give the same frame whichever executor ran it.
    """
    return run_sweep(base, vary, sets=sets, workers=workers, dask=dask, client=client, solver=solver,
                     time_limit=time_limit, gap=gap, relax=relax, diagnose=diagnose,
                     progress=progress).frame


def cell(value: Any) -> Any:
    """A varied value as a table cell: scalars as they are, collections as JSON text."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)


def results_frame(outcomes: Sequence[Outcome], variants: Sequence[Mapping[str, Any]],
                  axes: Mapping[str, Any], periods: Sequence[str]) -> pd.DataFrame:
    """The sweep table (see :func:`sweep`) from the outcomes in variant order."""
    vendors = sorted({key.split(".", 2)[2] for o in outcomes for key in o.row
                      if key.startswith("units.vendor.")})
    rows = []
    for outcome, variant in zip(outcomes, variants, strict=True):
        r = outcome.row
        has_plan = r.get("status") in Status.with_plan()
        row: dict[str, Any] = {"variant": outcome.index}
        for key in axes:
            row[key] = cell(variant[key])
        row["status"] = r.get("status", "error")
        row["objective"] = r.get("objective", math.nan)
        for key in COST_KEYS:
            row[f"cost.{key}"] = r.get(f"cost.{key}", math.nan)
        for period in periods:
            row[f"domestic_share.{period}"] = r.get(f"domestic_share.{period}", math.nan)
        row["units.total"] = r.get("units.total", math.nan)
        for vendor in vendors:
            row[f"units.vendor.{vendor}"] = r.get(f"units.vendor.{vendor}",
                                                  0.0 if has_plan else math.nan)
        row["top_skus"] = top_skus(r.get("units.sku") or {})
        row["gap"] = r.get("gap", math.nan)
        row["message"] = r.get("message", "")
        rows.append(row)
    frame = pd.DataFrame(rows)
    if not rows:
        return frame
    for column in frame.columns:
        if column.startswith(("cost.", "domestic_share.", "units.")) or column in ("objective",
                                                                                  "gap"):
            frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")
    frame["variant"] = frame["variant"].astype("int64")
    return frame
