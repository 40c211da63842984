"""``chipmix compare``, ``chipmix sweep`` and ``chipmix frontier``: substitution studies."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer

from chipmix.cli._common import err, out, output_path, print_json, styled, wrote

SetOption = Annotated[
    list[str] | None,
    typer.Option("--set", metavar="KEY=VALUE",
                 help="Override a scenario key, e.g. --set policy.domestic_share=0.5 "
                      "(repeatable; typed by the schema)."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print only JSON on stdout.")]
ChartOption = Annotated[Path | None, typer.Option("--chart", parser=output_path,
                                                  help="Write a chart (.png or .svg).")]
ReportOption = Annotated[
    Path | None,
    typer.Option("--report", metavar="FILE.html", parser=output_path,
                 help="Write a self-contained HTML report (inline SVG charts, no script)."),
]
OutputOption = Annotated[
    Path | None,
    typer.Option("-o", "--output", parser=output_path,
                 help="Write the table (.json, .csv, .parquet or .xlsx)."),
]
SolverOption = Annotated[str | None, typer.Option("--solver", help="highs (default) | cbc.")]
TimeLimitOption = Annotated[float | None,
                            typer.Option("--time-limit", help="Solver time limit per plan, s.")]
GapOption = Annotated[float | None, typer.Option("--gap", help="Relative MIP gap, e.g. 0.001.")]
WorkersOption = Annotated[
    int | None,
    typer.Option("--workers", "-w", help="Local worker processes (default: every core; "
                                         "1 = in this process)."),
]
DaskOption = Annotated[
    str | None,
    typer.Option("--dask", metavar="ADDRESS",
                 help="Run on a Dask cluster, e.g. tcp://host:8786 (needs the dask extra: "
                      "pip install 'chipmix\\[dask]')."),
]


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.command("compare")(compare_command)
    app.command("sweep")(sweep_command)
    app.command("frontier")(frontier_command)


def _default_base(base: Path | None) -> Path:
    if base is not None:
        return base
    from chipmix.resources import default_scenario_path

    return default_scenario_path()


# --------------------------------------------------------------------------------------------
# compare


def compare_command(
    scenarios: Annotated[list[Path], typer.Argument(help="Scenario YAML files; the first is "
                                                         "the reference for the deltas.")],
    sets: SetOption = None,
    as_json: JsonOption = False,
    csv: Annotated[Path | None, typer.Option("--csv", parser=output_path,
                                             help="Write the table as CSV.")] = None,
    output: OutputOption = None,
    chart: ChartOption = None,
    report: ReportOption = None,
    solver: SolverOption = None,
    time_limit: TimeLimitOption = None,
    gap: GapOption = None,
) -> None:
    """Plan several scenarios and compare them side by side, with deltas against the first.

    Rows: status, costs, units and spend by vendor and origin, domestic share, shortfall.
    """
    from chipmix.studies import compare
    from chipmix.studies.common import load_base
    from chipmix.studies.compare import comparison_long, with_status

    _check_outputs(chart=chart, tables=[csv, output], report=report)
    if csv is not None and csv.suffix.lower() != ".csv":
        from chipmix.errors import InputError

        raise InputError("--csv writes CSV", file=csv, expected="a file name ending in .csv")
    loaded = [load_base(path, sets or None) for path in scenarios]
    _check_outputs(chart=chart, tables=[csv, output], report=report, loaded=True)
    frame = compare(loaded, solver=solver, time_limit=time_limit, gap=gap)
    shown = with_status(frame)  # the statuses as the first row: table, JSON, CSV, XLSX
    _write_tables(shown, csv)
    if output is not None:  # parquet keeps the types: the tidy long form
        _write_tables(comparison_long(frame) if output.suffix.lower() == ".parquet"
                      else shown, output)
    if chart is not None:
        from chipmix.present.charts import compare_chart

        compare_chart(frame, chart)
        wrote(chart)
    if report is not None:
        from chipmix.cli.report_cmd import write_report
        from chipmix.present.study_report import compare_report

        write_report(report, compare_report(frame))
    if as_json:
        from chipmix.present.export import to_records

        print_json(to_records(shown))
        return
    out.print(_compare_table(shown))


def _compare_table(frame):
    from rich.table import Table

    names = [c for c in frame.columns[1:] if " vs " not in c]
    first = names[0]
    table = Table(title="Scenario comparison (totals over each horizon)",
                  caption="money in USD (k = thousand, M = million); shares in %; "
                          "units: cards bought; shortfall in demand units x periods; "
                          "Δ: difference to " + first)
    table.add_column("metric", no_wrap=True)
    for column in frame.columns[1:]:
        if " vs " in column:
            table.add_column("Δ " + column.split(" vs ")[0], justify="right", style="cyan")
        else:
            table.add_column(column, justify="right")
    for metric, row in frame.iterrows():
        unit = row["unit"]
        cells = [_fmt(v, unit, delta=" vs " in c) for c, v in row.iloc[1:].items()]
        table.add_row(str(metric), *cells)
    return table


def _fmt(value: Any, unit: str, delta: bool = False) -> str:
    """Compact figures: 273.1M, 961k, 30.0%, 17,234."""
    if isinstance(value, str):
        return value
    try:
        v = float(value)
    except (TypeError, ValueError):
        return str(value)
    if math.isnan(v):
        return "–"
    sign = "+" if delta and v > 0 else ""
    if unit.startswith("USD"):
        if abs(v) >= 1e9:
            return f"{sign}{v / 1e9:,.2f}bn"
        if abs(v) >= 1e6:
            return f"{sign}{v / 1e6:,.1f}M"
        if abs(v) >= 1e4:
            return f"{sign}{v / 1e3:,.0f}k"
        return f"{sign}{v:,.0f}"
    if unit.startswith("share"):
        return f"{sign}{v * 100:.1f}" + (" pt" if delta else "%")
    if unit == "units":
        return f"{sign}{v:,.0f}"
    return f"{sign}{v:,.3g}"


# --------------------------------------------------------------------------------------------
# sweep


def sweep_command(
    base: Annotated[Path | None, typer.Argument(help="Base scenario YAML; default: the bundled "
                                                     "rush-before-ban.")] = None,
    vary: Annotated[
        list[str] | None,
        typer.Option("--vary", metavar="KEY=SPEC",
                     help="A varied key: START:STOP:STEP (inclusive, e.g. 0:1:0.1), or a "
                          "comma list (repeatable; the grid is the cartesian product)."),
    ] = None,
    sets: SetOption = None,
    workers: WorkersOption = None,
    dask: DaskOption = None,
    output: OutputOption = None,
    chart: ChartOption = None,
    report: ReportOption = None,
    x: Annotated[str | None, typer.Option("--x", help="Varied key on the chart's x axis.")] = None,
    as_json: JsonOption = False,
    solver: SolverOption = None,
    time_limit: TimeLimitOption = None,
    gap: GapOption = None,
) -> None:
    """Plan every variant of a base scenario on a grid of overrides; one row per variant.

    Variants without a plan (infeasible, or a bad value) are rows with their status.
    """
    from chipmix.errors import InputError
    from chipmix.studies import run_sweep
    from chipmix.studies.common import load_base

    if not vary:
        raise InputError("nothing to vary", field="--vary",
                         expected="one or more --vary KEY=SPEC, e.g. "
                                  "--vary policy.domestic_share=0:1:0.1")
    _check_outputs(chart=chart, tables=[output], report=report)
    keys = [item.split("=", 1)[0].strip() for item in vary]
    if x is not None and x not in keys:
        from chipmix.errors import closest

        best = closest(x, keys)
        raise InputError("not a varied key", field="--x", value=x,
                         expected="one of " + ", ".join(keys),
                         hint=f"did you mean '{best}'?" if best else None)
    loaded = load_base(_default_base(base), sets or None)
    _check_outputs(chart=chart, tables=[output], report=report, loaded=True)
    _check_executor(workers, dask)
    with _progress("sweep") as progress:
        run = run_sweep(loaded, vary, workers=workers, dask=dask, solver=solver,
                        time_limit=time_limit, gap=gap, progress=progress)
    frame, info = run.frame, run.info
    _write_tables(frame, output)
    if chart is not None:
        from chipmix.present.charts import sweep_chart

        sweep_chart(frame, chart, x=x, varied=list(run.axes), title=f"{run.scenario} sweep")
        wrote(chart)
    if report is not None:
        from chipmix.cli.report_cmd import write_report
        from chipmix.present.study_report import sweep_report

        write_report(report, sweep_report(frame, list(run.axes), scenario=run.scenario))
    counts = frame["status"].value_counts().to_dict() if len(frame) else {}
    err.print(
        f"{info.variants} variants in {info.seconds:.1f} s on {info.executor}"
        f" ({info.workers} worker{'s' if info.workers != 1 else ''}): "
        f"{info.throughput:.2f} variants/s; "
        + ", ".join(f"{n} {status}" for status, n in counts.items()),
        highlight=False,
    )
    if as_json:
        from chipmix.present.export import to_records

        print_json(to_records(frame))
    else:
        out.print(_sweep_table(frame, list(run.axes)))
    if _report_failures(frame, list(run.axes)):
        raise typer.Exit(1)


def _report_failures(frame, axes: list[str], limit: int = 10) -> bool:
    """Name the variants without a plan and why, on stderr; True when none has a plan."""
    if not len(frame):
        return False
    failed = frame[~frame["status"].isin(["optimal", "feasible"])]
    if not len(failed):
        return False
    nothing = len(failed) == len(frame)
    head = ("no variant has a plan" if nothing else
            f"{len(failed)} variant{'s' if len(failed) != 1 else ''} failed")
    err.print(f"{head}:", style="red" if nothing else "yellow", highlight=False)
    for _, row in failed.head(limit).iterrows():
        where = ", ".join(f"{key}={_plain(row[key])}" for key in axes)
        err.print(f"  #{row['variant']} {where}: {row['status']}: {row['message']}",
                  highlight=False, soft_wrap=True)
    if len(failed) > limit:
        err.print(f"  ... and {len(failed) - limit} more (see the table)", highlight=False)
    return nothing


def _sweep_table(frame, axes: list[str], limit: int = 60):
    from rich.table import Table
    from rich.text import Text

    shares = [c for c in frame.columns if c.startswith("domestic_share.")]
    table = Table(title=f"Sweep ({len(frame)} variants)")
    table.add_column("#", justify="right", style="dim")
    for key in axes:
        table.add_column(key, justify="right", overflow="fold")
    table.add_column("status")
    table.add_column("cost USD (disc.)", justify="right")
    if shares:
        table.add_column(f"domestic {shares[-1].split('.', 1)[1]}", justify="right")
    table.add_column("top SKUs (units) / why no plan", ratio=1)
    for row in frame.head(limit).itertuples(index=False, name=None):
        values = dict(zip(frame.columns, row, strict=True))
        status = values["status"]
        style = "green" if status == "optimal" else ("yellow" if status == "feasible" else "red")
        cells: list[str | Text] = [str(values["variant"]), *[_plain(values[k]) for k in axes],
                                   Text(str(status), style=style), _fmt(values["objective"], "USD")]
        if shares:
            cells.append(_fmt(values[shares[-1]], "share"))
        note = values["top_skus"] or str(values["message"])
        note = note if len(note) <= 60 else note[:59] + "…"
        cells.append(Text(note, style="" if values["top_skus"] else "dim"))
        table.add_row(*cells)
    if len(frame) > limit:
        table.caption = f"first {limit} of {len(frame)} variants; write them all with -o"
    return table


def _plain(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


# --------------------------------------------------------------------------------------------
# frontier


def frontier_command(
    base: Annotated[Path | None, typer.Argument(help="Base scenario YAML; default: the bundled "
                                                     "rush-before-ban.")] = None,
    steps: Annotated[int, typer.Option("--steps", help="At most this many round shares on the "
                                                       "curve, from 0 to the highest feasible "
                                                       "share (plus the highest shares).")] = 11,
    start: Annotated[str | None, typer.Option("--from", metavar="PERIOD",
                                              help="First period the share applies to "
                                                   "(default: the horizon start).")] = None,
    tolerance: Annotated[float, typer.Option("--tolerance",
                                             help="Precision of the highest share.")] = 1e-3,
    sets: SetOption = None,
    workers: WorkersOption = None,
    dask: DaskOption = None,
    output: OutputOption = None,
    chart: ChartOption = None,
    report: ReportOption = None,
    as_json: JsonOption = False,
    solver: SolverOption = None,
    time_limit: TimeLimitOption = None,
    gap: GapOption = None,
) -> None:
    """The price of self-reliance: minimum cost against required domestic share.

    Finds the highest share met without shortfall and the highest share any plan can meet
    (renting shortfall), by bisection on infeasibility. Exit 1 when not even share 0 has a
    plan.
    """
    from chipmix.studies import frontier
    from chipmix.studies.common import load_base

    _check_outputs(chart=chart, tables=[output], report=report)
    _check_frontier(steps, tolerance)
    loaded = load_base(_default_base(base), sets or None)
    _check_outputs(chart=chart, tables=[output], report=report, loaded=True)
    _check_executor(workers, dask)
    with _progress("frontier curve") as progress:
        result = frontier(loaded, steps, start=start,
                          tolerance=tolerance, workers=workers, dask=dask, solver=solver,
                          time_limit=time_limit, gap=gap, progress=progress)
    if output is not None:
        from chipmix.present.export import table_format, write_table

        several = table_format(output) in ("json", "xlsx")
        write_table(result.tables() if several else result.curve, output)
        wrote(output)
    if chart is not None:
        from chipmix.present.charts import frontier_chart

        frontier_chart(result, chart)
        wrote(chart)
    if report is not None:
        from chipmix.cli.report_cmd import write_report
        from chipmix.present.study_report import frontier_report

        write_report(report, frontier_report(result))
    if as_json:
        from chipmix.present.export import to_records

        print_json({
            "scenario": result.scenario,
            "max_share": result.max_share,
            "max_share_met": result.max_share_met,
            "tolerance": result.tolerance,
            "share_basis": result.share_basis,
            "from": result.start,
            "premium": result.premium,
            "premium_met": result.premium_met,
            "shortfall_at_max": result.shortfall_at_max,
            "method": "bisection on infeasibility",
            "curve": to_records(result.curve),
            "probes": to_records(result.probes),
        })
    else:
        out.print(_frontier_table(result))
        out.print(_frontier_headline(result))
    if result.max_share is None:
        raise typer.Exit(1)


def _frontier_headline(result):
    """The highest share met without shortfall first; the highest feasible one after it."""
    if result.max_share is None:
        return styled(("no plan even without a domestic-share requirement", "red"))
    where = (f"{result.share_basis} basis, from {result.start}, "
             f"±{result.tolerance * 100:g} pt")
    met, top = result.max_share_met, result.max_share
    parts: list[str | tuple[str, str]] = []
    if met is None:
        parts += [("no required share is met without shortfall", "red"),
                  " (even share 0 rents shortfall)"]
    else:
        premium = result.premium_met
        parts += ["highest domestic share met without shortfall: ",
                  (f"{met * 100:.1f} %", "bold"), f" ({where})"]
        if premium is not None:
            parts.append(f"; it costs {_fmt(premium, 'USD', delta=True)} USD (discounted) "
                         "more than share 0")
    if met == 0 and top > 0:
        parts.append((f"\nany share from {result.start} needs shortfall: domestic cards may "
                      "not be in service that early; try --from a later period", "dim"))
    if met is None or top > met + 1e-12:
        rent = result.shortfall_at_max
        parts.append(f"\nwith rented shortfall a plan exists up to {top * 100:.1f} %"
                     + (f", renting {_fmt(rent, 'USD')} USD (nominal) of shortfall there"
                        if rent else ""))
    return styled(*parts)


def _frontier_table(result):
    from rich.table import Table
    from rich.text import Text

    table = Table(title=f"{result.scenario}: minimum cost by required domestic share",
                  caption="◀ met: highest share met without shortfall; ◀ max: highest share "
                          "with a plan (renting shortfall)")
    table.add_column("required share", justify="right")
    table.add_column("status")
    table.add_column("cost USD (disc.)", justify="right")
    table.add_column("premium USD", justify="right")
    table.add_column("shortfall rent USD", justify="right")
    table.add_column("top SKUs (units)", ratio=1)
    for _, row in result.curve.iterrows():
        marks = [m for m, key in (("met", "is_max_met"), ("max", "is_max")) if row.get(key)]
        mark = f" ◀ {'='.join(marks)}" if marks else ""
        short = row.get("shortfall")
        table.add_row(f"{row['required_share'] * 100:.1f} %{mark}", str(row["status"]),
                      _fmt(row["objective"], "USD"), _fmt(row["premium"], "USD", delta=True),
                      Text(_fmt(short, "USD"), style="red" if short and short > 0 else ""),
                      str(row.get("top_skus") or row.get("message") or ""))
    return table


# --------------------------------------------------------------------------------------------
# shared


def _check_frontier(steps: int, tolerance: float) -> None:
    """The frontier's own options, before the base is loaded."""
    import chipmix.limits as limits
    from chipmix.errors import InputError

    if steps < 2:
        raise InputError(field="--steps", value=steps, expected="a whole number, 2 or more")
    limits.check("steps", steps, what=f"{steps:,} steps", field="--steps")
    if not 0 < tolerance < 1:
        raise InputError(field="--tolerance", value=tolerance, expected="a number in (0, 1)")


def _check_executor(workers: int | None, dask: str | None) -> None:
    """--workers and --dask, before any work (a pool or a cluster connection)."""
    from chipmix.processes import check_workers, parse_dask_address

    if workers is not None:
        check_workers(workers)
    if dask is not None:
        parse_dask_address(dask)


def _check_outputs(*, chart: Path | None, tables: list[Path | None],
                   report: Path | None = None, loaded: bool = False) -> None:
    """Check the output targets of a study.

    Refuse bad extensions before hours of solving; once the inputs are loaded
    (``loaded``), also every target the output policy refuses (chipmix.io.check_outputs).
    """
    if loaded:
        from chipmix.io import check_outputs

        check_outputs(chart, report, *tables)
        return
    from chipmix.cli.report_cmd import check_report_path

    check_report_path(report)
    if chart is not None:
        from chipmix.present.charts import chart_format

        chart_format(chart)
    for path in tables:
        if path is not None:
            from chipmix.present.export import check_table_path

            check_table_path(path)


def _write_tables(frame, *paths: Path | None) -> None:
    from chipmix.present.export import write_table

    for path in paths:
        if path is not None:
            write_table(frame, path)
            wrote(path)


@contextlib.contextmanager
def _progress(label: str) -> Iterator[Any]:
    """A rich progress bar on stderr when it is a terminal; else no callback."""
    if not err.is_terminal:
        yield None
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn(),
                  console=err, transient=False) as bar:
        task = bar.add_task(label, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update
