"""``chipmix hedge`` (plans that hold up under uncertainty) and ``chipmix replay``."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated

import typer

from chipmix.cli._common import err, out, styled

SolverOption = Annotated[str | None, typer.Option(
    "--solver", help="highs (direct, default) | cbc | highs-pulp.")]
TimeLimitOption = Annotated[float | None, typer.Option(
    "--time-limit", help="Solver time limit per solve, seconds.")]
GapOption = Annotated[float | None, typer.Option("--gap", help="Relative MIP gap, e.g. 0.001.")]
DaskOption = Annotated[str | None, typer.Option(
    "--dask", help="Dask scheduler address (tcp://host:8786) or 'local'.")]


def register(app: typer.Typer) -> None:
    """Add ``hedge`` and ``replay`` to the app."""
    app.command("hedge")(hedge_command)
    app.command("replay")(replay_command)


def hedge_command(
    scenario: Annotated[Path, typer.Argument(
        help="Scenario YAML with an uncertainty: block (or a risks: block and --draws).")],
    weight: Annotated[float | None, typer.Option(
        "--weight", help="Weight of CVaR in the objective, 0..1 (default: uncertainty.risk; "
                         "0 = risk-neutral).")] = None,
    alpha: Annotated[float | None, typer.Option(
        "--alpha", help="CVaR level, e.g. 0.9: the mean of the worst 10 % of cost.")] = None,
    solver: SolverOption = None,
    time_limit: TimeLimitOption = None,
    gap: GapOption = None,
    sets: Annotated[list[str] | None, typer.Option(
        "--set", help="Override a scenario key (repeatable), e.g. "
                      "--set uncertainty.events[h20].known_from=2025Q1.")] = None,
    draws: Annotated[str | None, typer.Option(
        "--draws", metavar="N[:M]",
        help="Sample N scenarios from the risks: block instead of the uncertainty: block "
             "(two-stage), and evaluate the hedge on M fresh draws out of sample (default "
             "4 x N, at least 100), e.g. --draws 32:200.")] = None,
    seed: Annotated[int, typer.Option(
        "--seed", help="Draw i uses numpy default_rng with the seed sequence (seed, i).")] = 0,
    reveal: Annotated[str | None, typer.Option(
        "--reveal", help="With --draws: the period from which the draws are known "
                         "(default: the first period a risk can strike).")] = None,
    workers: Annotated[int, typer.Option(
        "--workers", help="Worker processes for the independent evaluations.")] = 1,
    dask: DaskOption = None,
    verify: Annotated[bool, typer.Option(
        "--verify", help="Re-check every scenario's plan with the independent checker "
                         "(exit 1 on a violation).")] = False,
    as_json: Annotated[bool, typer.Option(
        "--json", help="Print the hedge JSON (formats.md) on stdout.")] = False,
    outputs: Annotated[list[Path] | None, typer.Option(
        "-o", "--output", "--report", metavar="FILE.json|FILE.html",
        help="Write the hedge JSON (.json) or a self-contained HTML report (.html: what to "
             "buy now, each scenario against hindsight and the base plan); repeatable.")] = None,
) -> None:
    """Choose purchases that hold up when the rules are not known yet.

    Every scenario of the uncertainty: block (every combination of its events' outcomes) is
    planned at once; purchases are equal across scenarios that cannot be told apart yet.
    Reports what to buy now, each scenario's plan, expected cost, CVaR, the value of perfect
    information (EVPI) and of hedging against the base plan (docs/hedging.md).
    With --draws N the fresh draws of the out-of-sample evaluation number 4 x N (at least
    100), or M with --draws N:M. Exit 0 with a plan, 1 without (or a --verify violation), 2
    for bad input.
    """
    from chipmix.cli.report_cmd import write_report
    from chipmix.errors import InputError
    from chipmix.hedging import hedge
    from chipmix.inputs.scenario import load_scenario
    from chipmix.present.formatting import currency_of
    from chipmix.present.study_report import hedge_report

    for path in outputs or []:  # a bad name fails before minutes of solving
        if path.suffix.lower() not in (".json", ".html", ".htm"):
            raise InputError("unsupported output format", file=path,
                             value=path.suffix or "(none)",
                             expected="a .json (hedge JSON) or .html (report) file name")
    n_draws, test_draws = parse_draws(draws)
    loaded = load_scenario(scenario, sets=sets or None)
    result = hedge(loaded, solver=solver, weight=weight, alpha=alpha, time_limit=time_limit,
                   gap=gap, workers=workers, dask=dask, draws=n_draws, seed=seed,
                   reveal=reveal, test_draws=test_draws)
    bad = _verify(result) if verify and result.ok else []
    files = outputs or []
    _emit(result.to_json(), [p for p in files if p.suffix.lower() == ".json"], as_json,
          lambda: print_hedge(result))
    for path in [p for p in files if p.suffix.lower() != ".json"]:
        write_report(path, hedge_report(result, currency=currency_of(loaded)))
    for line in bad:
        err.print(styled(("verify:", "red"), f" {line}"), highlight=False)
    if verify and result.ok and not bad:
        err.print(f"verify: every scenario's plan passes ({len(result.results)} checked)")
    if not result.ok or bad:
        raise typer.Exit(1)


def parse_draws(text: str | None) -> tuple[int | None, int | None]:
    """``--draws N[:M]`` as (N, M); M None: the default out-of-sample size.

    (One option for both: ``hedge_command`` is at ruff's argument limit.)
    """
    from chipmix.errors import InputError

    if text is None:
        return None, None
    head, sep, tail = str(text).strip().partition(":")
    try:
        n = int(head)
        m = int(tail) if sep else None
    except ValueError:
        n = m = -1
    if n < 1 or (m is not None and m < 1):
        raise InputError(field="--draws", value=text,
                         expected="N or N:M, whole numbers >= 1 (N draws in the hedge, M "
                                  "fresh draws out of sample), e.g. 32 or 32:200")
    return n, m


def _emit(text: str, paths: Sequence[Path], as_json: bool, show: Callable[[], None]) -> None:
    """Write the JSON ``text`` to ``paths``, then print it (``--json``) or ``show()`` it."""
    from chipmix.io import write_text

    for path in paths:
        write_text(path, text)
        err.print(f"wrote {path}")
    if as_json:
        sys.stdout.write(text)
    else:
        show()


def _verify(result) -> list[str]:
    from chipmix.checker import verify

    bad: list[str] = []
    for r in result.results:
        report = verify(r.plan, r.scenario)
        bad.extend(f"{r.name}: {v}" for v in report.violations)
    return bad


def print_hedge(result) -> None:
    """The hedge in a planner's words, then its tables."""
    from rich.table import Table

    from chipmix.present.formatting import money
    from chipmix.present.hedge_text import hedge_words

    style = "green" if result.status.value == "optimal" else ("yellow" if result.ok else "red")
    out.print(styled((str(result.scenario), "bold"),
                     f": hedge over {len(result.tree)} scenarios, ",
                     (result.status.value, style),
                     f" (risk weight {result.weight:g}, CVaR level {result.alpha:g})"
                     if result.weight > 0 else " (risk-neutral)"))
    for line in hedge_words(result):
        out.print(f"  {line}", highlight=False)
    if not result.ok:
        return
    table = Table(title="Scenarios (discounted USD)")
    for c in ("scenario", "p", "hedge", "with hindsight", "base plan", "shortfall"):
        table.add_column(c, justify="left" if c == "scenario" else "right",
                         overflow="fold", no_wrap=c != "scenario")
    for row in result.costs.itertuples(index=False):
        table.add_row(row.scenario, f"{row.probability:.3g}", money(row.cost),
                      money(row.wait_and_see), money(row.deterministic),
                      f"{row.shortfall:,.1f}" if row.shortfall > 1e-9 else "—")
    out.print(table)
    now = result.here_and_now
    if len(now):
        t = Table(title="Buy now (every scenario)")
        for c in ("period", "sku", "servers", "units"):
            t.add_column(c, justify="left" if c in ("period", "sku") else "right")
        for r in now.itertuples(index=False):
            t.add_row(r.period, r.sku, f"{int(r.servers):,}", f"{int(r.units):,}")
        out.print(t)
    for note in result.notes + list(result.deterministic.get("notes", [])):
        err.print(f"note: {note}", highlight=False)


def replay_command(
    scenario: Annotated[Path | None, typer.Argument(
        help="Scenario YAML; default: the bundled rush-before-ban.")] = None,
    foresight: Annotated[str, typer.Option(
        "--foresight", help="myopic (re-plan knowing only the rules announced so far) or "
                            "perfect (chipmix plan).")] = "myopic",
    announced: Annotated[list[str] | None, typer.Option(
        "--announced", help="Override when a rule set became public: RULE=YYYY-MM-DD "
                            "(repeatable).")] = None,
    no_windows: Annotated[bool, typer.Option(
        "--no-windows", help="Skip valuing each announcement's warning window.")] = False,
    solver: SolverOption = None,
    time_limit: TimeLimitOption = None,
    gap: GapOption = None,
    sets: Annotated[list[str] | None, typer.Option(
        "--set", help="Override a scenario key (repeatable).")] = None,
    workers: Annotated[int, typer.Option(
        "--workers", help="Worker processes for the window replays.")] = 1,
    dask: DaskOption = None,
    as_json: Annotated[bool, typer.Option(
        "--json", help="Print the replay JSON (formats.md) on stdout.")] = False,
    output: Annotated[Path | None, typer.Option(
        "-o", "--output", help="Write the replay JSON to this file.")] = None,
    timings: Annotated[bool, typer.Option(
        "--timings", help="Include wall-clock figures in the JSON.")] = False,
) -> None:
    """Replay the horizon period by period knowing only the rules announced by then.

    At each period start and each announcement the scenario is re-planned with the known
    rules; the purchases are committed as far as the true rules deliver them. Reports the
    committed purchases, their cost, the regret against perfect foresight, and what each
    announcement's warning was worth (docs/hedging.md). Exit 1 without a plan, 2 for bad input.
    """
    from chipmix.hedging.replay import replay
    from chipmix.inputs.scenario import load_scenario
    from chipmix.resources import default_scenario_path

    overrides = {}
    for item in announced or []:
        rule, sep, day = item.partition("=")
        if not sep or not rule.strip() or not day.strip():
            from chipmix.errors import InputError

            raise InputError(field="--announced", value=item, expected="RULE=YYYY-MM-DD")
        overrides[rule.strip()] = day.strip()
    loaded = load_scenario(scenario or default_scenario_path(), sets=sets or None)
    result = replay(loaded, foresight, solver=solver, time_limit=time_limit, gap=gap,
                    windows=not no_windows, workers=workers, dask=dask,
                    announced=overrides or None)
    _emit(result.to_json(timings=timings), [output] if output is not None else [], as_json,
          lambda: print_replay(result))
    if not result.ok:
        raise typer.Exit(1)


def print_replay(result) -> None:
    """The replay in a planner's words, then its steps."""
    from rich.table import Table

    from chipmix.present.formatting import money
    from chipmix.present.hedge_text import replay_words

    out.print(styled((str(result.scenario), "bold"), f": {result.foresight} replay, "
                     f"{result.status}"))
    for line in replay_words(result):
        out.print(f"  {line}", highlight=False)
    table = Table(title="Steps (planned cost: discounted USD, as seen then)")
    for c in ("period", "date", "rules known", "planned cost"):
        table.add_column(c, justify="right" if c == "planned cost" else "left")
    previous: set[str] = set()
    for s in result.steps:
        known = set(s["rules_known"])
        new = sorted(known - previous)
        previous = known
        table.add_row(s["period"], s["date"], ("+ " + ", ".join(new)) if new else "",
                      money(s["planned_cost"]))
    out.print(table)
    for note in result.notes:
        err.print(f"note: {note}", highlight=False)
