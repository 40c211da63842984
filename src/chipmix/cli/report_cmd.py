"""``chipmix report``: a self-contained HTML report of a plan (from its JSON or its scenario).

The ``--report FILE`` options of ``plan``, ``compare``, ``sweep`` and ``frontier`` use the
helpers here as well.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from chipmix.cli._common import output_path, read_json_file, wrote
from chipmix.errors import InputError

REPORT_SUFFIXES = (".html", ".htm")


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.command("report")(report_command)


def check_report_path(path: Path | None) -> None:
    """Refuse a report file name that is not ``.html`` before any work."""
    if path is not None and path.suffix.lower() not in REPORT_SUFFIXES:
        raise InputError("unsupported report format", file=path, value=path.suffix or "(none)",
                         expected="a .html file name")


def write_report(path: Path, html: str) -> None:
    """Write the HTML report atomically and say so on stderr."""
    from chipmix.io import write_text

    write_text(path, html)
    wrote(path)


def read_plan_json(path: Path) -> dict[str, Any]:
    """A plan JSON file (``chipmix plan --json`` / ``-o plan.json``) as a dict."""
    data = read_json_file(path)
    if not isinstance(data, dict) or not {"status", "periods", "purchases"} <= set(data):
        raise InputError("not a plan", file=path,
                         expected="the JSON of `chipmix plan --json` (keys status, periods, "
                                  "purchases, ...)")
    return data


def report_command(
    source: Annotated[Path | None, typer.Argument(
        metavar="PLAN.json|SCENARIO.yaml",
        help="A plan JSON (chipmix plan -o plan.json) or a scenario YAML to plan; default: "
             "the bundled rush-before-ban.")] = None,
    output: Annotated[Path | None, typer.Option(
        "-o", "--output", metavar="FILE.html", parser=output_path,
        help="The report file (default: the input's name with .html, in this folder).")] = None,
    scenario: Annotated[Path | None, typer.Option(
        "--scenario", metavar="SCENARIO.yaml",
        help="With a plan JSON: its scenario, for the assumptions, sources, caps and power "
             "figures.")] = None,
    sets: Annotated[list[str] | None, typer.Option(
        "--set", metavar="KEY=VALUE",
        help="Override a scenario key (repeatable), as for chipmix plan.")] = None,
    solver: Annotated[str | None, typer.Option("--solver", metavar="NAME",
                                               help="highs (default) | cbc | highs-pulp.")] = None,
    time_limit: Annotated[float | None, typer.Option("--time-limit", metavar="SECONDS",
                                                     help="Solver time limit.")] = None,
    gap: Annotated[float | None, typer.Option("--gap", metavar="FRACTION",
                                              help="Relative MIP gap, e.g. 0.001.")] = None,
    explain: Annotated[bool, typer.Option(
        "--explain", help="With a scenario: add the sensitivity tables (shadow prices, "
                          "break-even prices).")] = False,
) -> None:
    """Write one self-contained HTML file (inline SVG charts, no network, no JavaScript).

    Headline, purchases, fleet by vendor (in use vs idle), demand vs delivered with the
    shortfalls, shares against the policy, power and budget against their caps, why each SKU
    was or was not bought, the sensitivity tables, and the scenario's assumptions and sources.
    Exit 1 when the scenario has no plan (the report then carries the diagnosis).
    """
    from chipmix.io import check_outputs
    from chipmix.present.plan_report import plan_report, scenario_context

    if source is None:
        from chipmix.resources import default_scenario_path

        source = default_scenario_path()
    out_path = output if output is not None else Path(source.stem + ".html")
    check_report_path(out_path)
    is_plan = source.suffix.lower() == ".json"
    if is_plan:
        if sets:
            raise InputError("--set changes a scenario, not a finished plan", field="--set",
                             expected="a scenario YAML as the input, or no --set")
        plan_data = read_plan_json(source)
        context = None
        if scenario is not None:
            from chipmix.inputs.scenario import load_scenario

            context = scenario_context(load_scenario(scenario))
        check_outputs(out_path)  # not over the plan or the scenario it just read
        html = plan_report(plan_data, context)
        ok = plan_data.get("status") in ("optimal", "feasible")
    else:
        if scenario is not None:
            raise InputError("--scenario goes with a plan JSON", field="--scenario",
                             expected="a plan JSON as the input (a scenario is planned)")
        from chipmix.inputs.scenario import load_scenario
        from chipmix.planner import plan

        loaded = load_scenario(source, sets=sets or None)
        check_outputs(out_path)  # before solving
        result = plan(loaded, solver=solver, time_limit=time_limit, gap=gap,
                              sensitivity=explain)
        html = plan_report(result, scenario_context(loaded))
        ok = result.ok
    write_report(out_path, html)
    if not ok:
        raise typer.Exit(1)
