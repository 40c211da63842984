"""``chipmix plan`` and ``chipmix verify``."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import typer

from chipmix.cli._common import (
    out,
    output_path,
    print_json,
    read_json_file,
    styled,
    wrote,
)
from chipmix.errors import InputError


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.command("plan")(plan_command)
    app.command("verify")(verify_command)


def _scenario_path(scenario: Path | None) -> Path:
    if scenario is not None:
        return scenario
    from chipmix.resources import default_scenario_path

    return default_scenario_path()


_EXPLAIN_HELP = ("Also print shadow prices with their ranges, whole-step costs (re-planned) "
                 "and break-even prices.")
_STEPS_HELP = "With --explain: re-plan a whole step of every input (the slow part)."
_WORKERS_HELP = "Processes for the --explain step re-solves (default: up to 4, one per CPU)."


def plan_command(  # noqa: PLR0913 -- a typer command takes its options as parameters
    scenario: Path | None = typer.Argument(
        None, help="Scenario YAML; default: the bundled rush-before-ban."
    ),
    solver: str | None = typer.Option(
        None, "--solver", help="highs (direct, default) | cbc | highs-pulp."
    ),
    time_limit: float | None = typer.Option(
        None, "--time-limit", help="Solver time limit, seconds."
    ),
    gap: float | None = typer.Option(None, "--gap", help="Relative MIP gap, e.g. 0.001."),
    threads: int | None = typer.Option(None, "--threads", help="Solver threads."),
    relax: bool = typer.Option(
        False, "--relax", help="Solve the LP relaxation (fractional servers)."
    ),
    as_json: bool = typer.Option(
        False, "--json", help="Print the plan JSON (formats.md) on stdout."
    ),
    output: Path | None = typer.Option(
        None, "-o", "--output", metavar="FILE", parser=output_path,
        help="Write the plan, by extension: .json (the plan JSON), .xlsx (a sheet per table), "
             ".csv or .parquet (tidy long form: one row per figure)."
    ),
    write_lp: Path | None = typer.Option(
        None, "--write-lp", parser=output_path, help="Export the model in LP format."
    ),
    write_mps: Path | None = typer.Option(
        None, "--write-mps", parser=output_path, help="Export the model in MPS format."
    ),
    sets: list[str] | None = typer.Option(
        None, "--set", help="Override a scenario key: --set policy.domestic_share=0.5 (repeatable)."
    ),
    chart: Path | None = typer.Option(
        None, "--chart", parser=output_path, help="Write a chart of the plan (.png or .svg)."
    ),
    report: Path | None = typer.Option(
        None, "--report", metavar="FILE.html", parser=output_path,
        help="Write a self-contained HTML report of the plan (see chipmix report).",
    ),
    timings: bool = typer.Option(
        False, "--timings", help="Include wall-clock figures (solver.seconds, per-phase timings) in the JSON."
    ),
    explain: bool = typer.Option(False, "--explain", help=_EXPLAIN_HELP),
    steps: bool = typer.Option(True, "--steps/--no-steps", help=_STEPS_HELP),
    workers: int | None = typer.Option(None, "--workers", min=1, help=_WORKERS_HELP),
) -> None:
    """Plan the cost-minimal purchase mix for a scenario.

    Exit 0 when a plan is found (optimal or within the gap), 1 when none (infeasible, or no
    solution in time: the diagnosis is printed), 2 for bad input.
    """
    from chipmix.cli.report_cmd import check_report_path
    from chipmix.inputs.scenario import load_scenario
    from chipmix.io import check_outputs
    from chipmix.planner import plan

    path = _scenario_path(scenario)
    check_report_path(report)
    check_outputs(output, chart, report, write_lp, write_mps)  # folders, devices, twice...
    if output is not None:
        from chipmix.present.plan_export import plan_format

        plan_format(output)
    started = time.perf_counter()
    loaded = load_scenario(path, sets=sets or None)
    load_seconds = time.perf_counter() - started
    if chart is not None:
        from chipmix.present.charts import chart_format

        chart_format(chart)
    check_outputs(output, chart, report, write_lp, write_mps)  # now also: not over an input
    result = plan(
        loaded,
        solver=solver,
        relax=relax or None,  # without --relax: the scenario's solver.relax
        time_limit=time_limit,
        gap=gap,
        threads=threads,
        write_lp=write_lp,
        write_mps=write_mps,
        sensitivity=explain,
        steps=steps,
        workers=workers if workers is not None else min(4, os.cpu_count() or 1),
    )
    result.timings["load"] = load_seconds  # the scenario was loaded here, not in plan()
    text = result.to_json(timings=timings)
    _write_files(result, loaded, text, chart=chart, report=report, output=output)
    if as_json:
        sys.stdout.write(text)
    else:
        from chipmix.cli.report import print_plan

        print_plan(result, out, scenario=loaded)
        if explain and result.ok:
            from chipmix.cli.explain import print_explain

            print_explain(result, out)
    if not result.ok:
        raise typer.Exit(1)


def _write_files(result, loaded, text: str, *, chart: Path | None, report: Path | None,
                 output: Path | None) -> None:
    """The chart, HTML report and -o file of ``chipmix plan`` (each only when asked)."""
    if chart is not None and result.ok:
        from chipmix.present.charts import plan_chart

        plan_chart(result, chart, scenario=loaded)
        wrote(chart)
    if report is not None:
        from chipmix.cli.report_cmd import write_report
        from chipmix.present.plan_report import plan_report, scenario_context

        write_report(report, plan_report(result, scenario_context(loaded)))
    if output is not None:
        from chipmix.io import write_text
        from chipmix.present.plan_export import plan_format

        if plan_format(output) == "json":  # also a stream target without an extension
            write_text(output, text)  # the same text as --json (with --timings' figures)
        else:
            from chipmix.present.plan_export import write_plan

            write_plan(result, output, scenario=loaded)
        wrote(output)


def verify_command(
    plan_file: Path = typer.Argument(..., help="Plan JSON written by `chipmix plan --json` or -o."),
    scenario: Path = typer.Argument(..., help="The scenario YAML the plan was made for."),
    as_json: bool = typer.Option(False, "--json", help="Print the violations as JSON."),
    tolerance: float = typer.Option(1e-6, "--tolerance", help="Relative tolerance of each check."),
) -> None:
    """Re-check a plan against its scenario without the model code; exit 1 on any violation."""
    from chipmix.checker import verify
    from chipmix.inputs.scenario import load_scenario

    plan_data = read_json_file(plan_file, "plan file not found")  # bounded: no /dev/zero, FIFO
    loaded = load_scenario(scenario)
    try:
        report = verify(plan_data, loaded, tolerance=tolerance)
    except InputError as exc:
        if exc.file is None:  # a problem with the plan itself: say which file
            raise InputError(exc.detail, file=plan_file, location=exc.location,
                             field=exc.field, expected=exc.expected, value=exc.value,
                             hint=exc.hint) from None
        raise
    if as_json:
        print_json(report.to_dict())
    else:
        if report.ok:
            out.print(styled(("ok", "green"), f": {plan_file} passes {report.checks} checks"))
        else:
            out.print(styled((f"{len(report.violations)} violation(s)", "red"),
                             f" in {plan_file}:"))
            for v in report.violations:
                out.print(f"  - {v}")
    if not report.ok:
        raise typer.Exit(1)
