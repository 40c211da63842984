"""``chipmix substitute``, ``chipmix alternatives`` and ``chipmix stress`` (planner insight)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from chipmix.cli._common import out, output_path, print_json, styled, write_stdout, wrote
from chipmix.present.formatting import money

ScenarioArg = Annotated[
    Path | None, typer.Argument(help="Scenario YAML; default: the bundled rush-before-ban.")]


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.command("substitute")(substitute_command)
    app.command("alternatives")(alternatives_command)
    app.command("stress")(stress_command)


def _scenario(path: Path | None):
    from chipmix.inputs.scenario import load_scenario
    from chipmix.resources import default_scenario_path

    return load_scenario(path if path is not None else default_scenario_path())


# -- substitute -----------------------------------------------------------------------------------


def substitute_command(
    sku: Annotated[str, typer.Argument(help="The blocked or scarce SKU to replace.")],
    scenario: ScenarioArg = None,
    workload: Annotated[
        str | None, typer.Option("--workload", help="Only this workload.")] = None,
    at: Annotated[str | None, typer.Option(
        "--at", help="Date (2024-05-01) or period (2024Q2) whose rules, prices and supply "
                     "apply; default: the first period the SKU can no longer be bought.")] = None,
    buyable: Annotated[
        bool, typer.Option("--buyable", help="Only substitutes that can be bought.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the table as JSON.")] = False,
) -> None:
    """What can replace SKU on each workload.

    Units needed, cost and power per delivered unit, and each substitute's status under the
    scenario's rules on a date.
    """
    from chipmix.insight.substitute import substitution_table

    result = substitution_table(_scenario(scenario), sku, workload=workload, at=at)
    if as_json:
        print_json(result.to_dict())
        return
    out.print(styled((f"Substitutes for {sku}", "bold"),
                     f" on {result.date} ({result.period}: {result.date_note})"))
    for w, group in result.table.groupby("workload", sort=False):
        mine = result.replaced[result.replaced["workload"] == w].iloc[0]
        from chipmix.inputs.units import METRIC_UNITS

        metric = mine["metric"]
        unit = METRIC_UNITS.get(metric, metric)
        rows = group[group["buyable"]] if buyable else group
        table = Table(
            title=f"{w}: replacing one {sku} ({money(mine['usd_per_metric_unit'])} and "
                  f"{mine['watts_per_metric_unit']:,.0f} W per {unit}; {mine['status']}, "
                  f"{'buyable' if mine['buyable'] else 'not buyable'})",
            caption=f"cards: cards needed per {sku} card; per {unit}: per unit of "
                    f"{metric} delivered; supply: cards per period",
        )
        per_unit = (f"USD per {unit}", f"W per {unit}")
        for name in ("substitute", "origin", "cards", "USD/card", *per_unit, "status",
                     "supply (cards)", "why not / cut"):
            numeric = name in ("cards", "USD/card", *per_unit, "supply (cards)")
            table.add_column(name, justify="right" if numeric else "left",
                             no_wrap=name == "substitute", overflow="fold",
                             min_width=12 if name == "why not / cut" else None)
        for r in rows.itertuples():
            supply = "unlimited" if r.supply is None or (isinstance(r.supply, float)
                                                         and math.isnan(r.supply)) \
                else f"{r.supply:,.0f}"
            style = None if r.buyable else "dim"
            table.add_row(Text(r.sku), r.origin, f"{r.units_per_unit:,.2f}", money(r.unit_price),
                          money(r.usd_per_metric_unit), f"{r.watts_per_metric_unit:,.0f}",
                          r.status, supply, Text(r.why or ""), style=style)
        out.print(table)


# -- alternatives ---------------------------------------------------------------------------------


def alternatives_command(
    scenario: ScenarioArg = None,
    slack: Annotated[
        float, typer.Option("--slack", help="Allowed cost increase (0.03 = 3 %).")] = 0.03,
    maximize: Annotated[list[str] | None, typer.Option(
        "--maximize",
        help="domestic_share | vendor_diversity | vendor:NAME | sku:ID (repeatable).")] = None,
    minimize: Annotated[list[str] | None, typer.Option(
        "--minimize", help="domestic_share | vendor:NAME | sku:ID (repeatable).")] = None,
    solver: Annotated[
        str | None, typer.Option("--solver", help="highs | cbc | highs-pulp.")] = None,
    time_limit: Annotated[
        float | None, typer.Option("--time-limit", help="Per solve, seconds.")] = None,
    gap: Annotated[float | None, typer.Option("--gap", help="Relative MIP gap.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    output: Annotated[Path | None, typer.Option(
        "-o", "--output", parser=output_path,
        help="Write the alternative plan's JSON here.")] = None,
) -> None:
    """The best plan for another objective within a cost slack of the optimum.

    Objectives are optimised in turn (--maximize ones first, in the order given), each then
    held; a last stage minimises cost with all of them held.
    """
    from chipmix.insight.alternatives import near_optimal, parse_objective
    from chipmix.io import check_outputs, write_text

    objectives = [parse_objective("max", t) for t in maximize or []]
    objectives += [parse_objective("min", t) for t in minimize or []]
    loaded = _scenario(scenario)
    check_outputs(output)
    alt = near_optimal(loaded, objectives, slack=slack, solver=solver,
                       time_limit=time_limit, gap=gap)
    plan_json = alt.plan.to_json()
    if output is not None:
        write_text(output, plan_json)
        wrote(output)
    if as_json:
        data = alt.to_dict()
        data["plan"] = json.loads(plan_json)
        print_json(data)
        return
    from chipmix.cli.report import print_plan

    print_plan(alt.plan, out)
    increase = alt.cost / alt.optimum - 1 if alt.optimum else 0.0
    out.print(f"Cost {money(alt.cost)} discounted: {increase:+.2%} over the optimum "
              f"{money(alt.optimum)} (limit {money(alt.limit)}, slack {alt.slack:.1%}).")
    table = Table(title="Secondary objectives: cost-optimal plan vs this alternative")
    for c in ("objective", "measure", "optimal plan", "alternative", "change"):
        table.add_column(c, justify="right" if c in ("optimal plan", "alternative", "change")
                         else "left", overflow="fold")
    for o in alt.objectives:
        base, new = o["optimal"], o["alternative"]
        change = f"{new / base - 1:+.1%}" if base else "—"
        table.add_row(f"{o['sense']} {o['target']}", o["measure"], f"{base:,.0f}",
                      f"{new:,.0f}", change)
    out.print(table)


# -- stress ---------------------------------------------------------------------------------------


def stress_command(
    plan_file: Annotated[
        Path, typer.Argument(help="Plan JSON from `chipmix plan --json` or -o.")],
    scenario: Annotated[
        Path, typer.Argument(help="The plan's scenario, with a risks: block.")],
    draws: Annotated[int, typer.Option("--draws", help="Number of random draws.")] = 500,
    seed: Annotated[
        int, typer.Option("--seed", help="Draw i uses numpy default_rng with the seed sequence (seed, i).")] = 0,
    workers: Annotated[int | None, typer.Option(
        "--workers", "-w", help="Local worker processes (default: every core; 1 = in this "
                                "process).")] = None,
    dask: Annotated[str | None, typer.Option(
        "--dask", help="Dask scheduler address (tcp://host:8786) or 'local'.")] = None,
    chart: Annotated[
        Path | None, typer.Option("--chart", parser=output_path,
                                  help="Write a histogram (.png or .svg).")] = None,
    time_limit: Annotated[float | None, typer.Option(
        "--time-limit", help="Per draw's re-plan, seconds.")] = None,
    gap: Annotated[
        float | None, typer.Option("--gap", help="Per draw's relative MIP gap.")] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the result (with every draw).")] = False,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", parser=output_path,
                                  help="Write the JSON here.")] = None,
) -> None:
    """Replay a fixed plan against random supply shocks from the scenario's risks: block.

    Each shock is learnt in the first period it changes supply; purchases before it keep
    their values, later ones are re-optimised, with shortfall allowed at a penalty. Reports
    the distribution of cost and shortfall (mean, P90, P99, CVaR95); see docs/insight.md.
    """
    from chipmix.cli.study_cmd import _progress
    from chipmix.inputs.scenario import load_scenario
    from chipmix.insight.stress import stress
    from chipmix.io import check_outputs, read_json, write_text
    from chipmix.present.charts import stress_chart

    loaded = load_scenario(scenario)
    plan_data = read_json(plan_file, what="plan JSON")
    if chart is not None:
        from chipmix.present.charts import chart_format

        chart_format(chart)
    check_outputs(output, chart)  # before the draws: not over the plan or the scenario
    with _progress("stress draws") as progress:
        result = stress(loaded, plan_data, draws=draws, seed=seed, workers=workers,
                        dask=dask, time_limit=time_limit, gap=gap, progress=progress)
    data = result.to_dict()
    text = json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    if output is not None:
        write_text(output, text)
        wrote(output)
    if chart is not None:
        stress_chart(result, chart)
        wrote(chart)
    if as_json:
        write_stdout(text)
        return
    out.print(styled((str(result.scenario), "bold"),
                     f": {len(result.draws)} draws (seed {result.seed}), "
                     f"{data['shocked_draws']} with a shock, {data['failed_draws']} without "
                     "a plan"))
    table = Table(title="Cost and shortfall over the draws",
                  caption="cost and penalty: discounted USD; shortfall: the workload's metric "
                          "× periods")
    for c in ("figure", "plan as is", "mean", "P90", "P99", "CVaR95", "worst"):
        table.add_column(c, justify="left" if c == "figure" else "right", no_wrap=True)
    for name, stats in result.summary.items():
        if name.startswith("shortfall:"):
            label = f"short {name.split(':', 1)[1]}"

            def fmt(v):
                return "—" if v is None or math.isnan(v) else f"{v:,.1f}"
        else:
            label = "cost" if name == "cost" else "shortfall penalty"
            fmt = money
        table.add_row(label, *[fmt(stats[k]) for k in
                               ("baseline", "mean", "p90", "p99", "cvar95", "worst")])
    out.print(table)
    out.print(f"draws costing more than the plan as is: {data['worse_probability']:.1%}; "
              f"draws with any shortfall: {data['shortfall_probability']:.1%}")
    for note in result.notes:
        out.print(Text(f"note: {note}"), style="dim")
