"""The ``catalog`` and ``scenario`` command groups.

``chipmix catalog list|show|validate|check|volumes`` and
``chipmix scenario validate|init|schema|reference``.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from chipmix.cli._common import out, print_json

if TYPE_CHECKING:
    from rich.table import Table

    from chipmix.inputs.catalog import Catalog

catalog_app = typer.Typer(help="Browse and check accelerator catalogs.", no_args_is_help=True)
scenario_app = typer.Typer(help="Write, check and document scenario files.",
                           no_args_is_help=True)

CatalogOption = Annotated[
    list[str] | None,
    typer.Option("--catalog", "-c", metavar="NAME|PATH",
                 help="Bundled catalog name or .csv/.xlsx path (repeatable); "
                      "default: every bundled catalog."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")]


def register(app: typer.Typer) -> None:
    """Add the ``catalog`` and ``scenario`` command groups to ``app`` (once)."""
    present = {group.name for group in app.registered_groups}
    if "catalog" not in present:
        app.add_typer(catalog_app, name="catalog")
    if "scenario" not in present:
        app.add_typer(scenario_app, name="scenario")


# --------------------------------------------------------------------------------------------
# catalog


@catalog_app.command("list")
def list_command(catalog: CatalogOption = None, as_json: JsonOption = False) -> None:
    """List the SKUs of some catalogs (JSON: every field, documented defaults filled)."""
    loaded = _load(catalog)
    if as_json:
        print_json([sku_json(loaded, sku) for sku in loaded.ids])
        return
    out.print(_list_table(loaded))


@catalog_app.command("show")
def show_command(
    sku: Annotated[str, typer.Argument(help="SKU id, e.g. nvidia-h100.")],
    catalog: CatalogOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show every field of one SKU, with units."""
    loaded = _load(catalog)
    loaded.get(sku)  # InputError with a did-you-mean hint when unknown
    if as_json:
        print_json(sku_json(loaded, sku))
        return
    out.print(_show_table(loaded, sku))


@catalog_app.command("validate")
def validate_command(
    paths: Annotated[list[str], typer.Argument(help="Catalog files (.csv or .xlsx).")],
) -> None:
    """Check catalog files; the first problem exits with code 2."""
    from chipmix.inputs.catalog import load_catalog, load_catalogs
    from chipmix.rules.metrics import derive_metrics

    for path in paths:
        catalog = load_catalog(path)
        derive_metrics(catalog.frame)  # a bound the row's own figures contradict is an error
        out.print(f"ok: {path} ({len(catalog)} SKUs)", highlight=False, soft_wrap=True)
    if len(paths) > 1:
        load_catalogs(paths)  # ids must also be unique across the files


@catalog_app.command("check")
def check_command(
    against: Annotated[Path, typer.Option(
        "--against", metavar="FILE",
        help="A CSV in the layout of Epoch AI's ML hardware dataset "
             "(epoch.ai/data/machine-learning-hardware).")],
    catalog: CatalogOption = None,
    tolerance: Annotated[float, typer.Option(
        "--tolerance", help="Relative difference tolerated per figure (0.05 = 5 %).")] = 0.05,
    alias: Annotated[list[str] | None, typer.Option(
        "--alias", metavar="SKU=NAME",
        help="Pin a match: catalog SKU = the file's 'Hardware name' (repeatable).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Compare the catalogs with Epoch AI's ML hardware CSV.

    Every figure both have that differs beyond the tolerance, and every SKU missing on
    either side. Exit 1 when any is found.
    """
    from chipmix.errors import InputError
    from chipmix.inputs.crosscheck import crosscheck
    from chipmix.rules.metrics import derive_metrics

    loaded = _load(catalog)
    aliases: dict[str, str] = {}
    for item in alias or []:
        sku, sep, name = item.partition("=")
        if not sep or not sku.strip() or not name.strip():
            raise InputError(field="--alias", value=item, expected="SKU=Hardware name")
        loaded.get(sku.strip())
        aliases[sku.strip()] = name.strip()
    derived = derive_metrics(loaded.frame)
    metrics = {sku: {"tpp": derived.at[sku, "tpp"]} for sku in loaded.ids}
    result = crosscheck(loaded, against, metrics=metrics, tolerance=tolerance, aliases=aliases)
    if as_json:
        print_json(result.to_dict())
    else:
        figures = [d for d in result.differences if d.kind in ("figure", "release")]
        missing = [d for d in result.differences if d.kind.startswith("missing")]
        out.print(f"{len(result.matches)} SKUs matched in {against} (tolerance "
                  f"{result.tolerance:.0%}); {len(figures)} figures differ, {len(missing)} SKUs "
                  f"missing on one side; {result.ignored_rows} rows of other manufacturers "
                  "ignored", highlight=False)
        for d in [*figures, *missing]:
            out.print(f"  {d}", highlight=False, markup=False, soft_wrap=True)
        if result.only_in_file:
            out.print(f"{len(result.only_in_file)} figures the file has and the catalogs leave "
                      "empty (not differences):", highlight=False)
            for line in result.only_in_file:
                out.print(f"  {line}", highlight=False, markup=False, soft_wrap=True)
    if not result.ok:
        raise typer.Exit(1)


@catalog_app.command("volumes")
def volumes_command(
    vendor: Annotated[str | None, typer.Option("--vendor", help="Only this vendor.")] = None,
    path: Annotated[Path | None, typer.Option(
        "--file", help="A volumes CSV (default: the bundled catalogs/market/volumes.csv).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Vendor-level volumes (output, plans, shipments) with their sources.

    The market data a scenario turns into supply or vendor pools (units x its share /
    quarters).
    """
    from rich.table import Table

    from chipmix.errors import InputError, unknown_name_hint
    from chipmix.inputs.volumes import load_volumes

    rows = load_volumes(path)
    if vendor is not None:
        known = sorted({v.vendor for v in rows})
        if vendor.casefold() not in {k.casefold() for k in known}:
            raise InputError(field="--vendor", value=vendor, expected="a vendor of the file",
                             hint=unknown_name_hint(vendor, known))
        rows = [v for v in rows if v.vendor.casefold() == vendor.casefold()]
    if as_json:
        print_json([v.to_dict() for v in rows])
        return
    table = Table(title="Vendor volumes (units)", title_justify="left")
    for name in ("vendor", "period", "units", "per quarter", "measure", "products"):
        table.add_column(name, justify="right" if name in ("units", "per quarter") else "left")
    table.add_column("basis (confidence)", ratio=1, overflow="fold")
    for v in rows:
        table.add_row(v.vendor, f"{v.start}..{v.end}", f"{v.units:,.0f}",
                      f"{v.per_quarter():,.0f}", v.measure, v.products,
                      f"{v.basis} ({v.confidence})")
    out.print(table)


# --------------------------------------------------------------------------------------------
# scenario


@scenario_app.command("validate")
def validate_scenario_command(
    path: Annotated[Path, typer.Argument(help="Scenario YAML file.")],
) -> None:
    """Check a scenario without solving it and print a summary.

    Loads it, its catalogs and rule sets, checks every reference and derives every planning
    parameter, as `chipmix plan` would.
    """
    from chipmix.inputs.scenario import load_scenario
    from chipmix.model.data import prepare

    scenario = load_scenario(path)
    data = prepare(scenario)
    periods = scenario.periods
    unit = "quarters" if periods[0].kind == "Q" else "months"
    names = ", ".join(scenario.workload_names)
    out.print(
        f"ok: {path}: '{scenario.name}', horizon {periods[0]}..{periods[-1]} "
        f"({len(periods)} {unit}), {len(scenario.workloads)} workloads ({names}), "
        f"{len(scenario.load_catalog())} SKUs, {data.rule_count} rule sets",
        highlight=False, soft_wrap=True,
    )


def _write_or_print(text: str, output: Path | None, *, force: bool = True) -> None:
    import sys

    if output is None or str(output) == "-":
        sys.stdout.write(text)
        return
    if output.exists() and not force:
        from chipmix.errors import InputError

        raise InputError("file exists", file=output, expected="a new file name, or --force")
    from chipmix.cli._common import err
    from chipmix.io import write_text

    write_text(output, text)
    err.print(f"wrote {output}")


@scenario_app.command("init")
def init_scenario_command(
    output: Annotated[Path, typer.Argument(metavar="FILE.yaml",
                                           help="Where to write the template ('-': stdout).")]
    = Path("scenario.yaml"),
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Write a commented scenario template that validates and plans as it is."""
    from chipmix.present.reference import template

    _write_or_print(template(), output, force=force)


@scenario_app.command("schema")
def schema_command(
    output: Annotated[Path | None, typer.Option("-o", "--output", metavar="FILE.json",
                                                help="Write to a file instead of stdout.")]
    = None,
) -> None:
    """The JSON Schema of a scenario file (for editors: yaml-language-server and the like)."""
    from chipmix.present.reference import json_schema_text

    _write_or_print(json_schema_text(), output)


@scenario_app.command("reference")
def reference_command(
    output: Annotated[Path | None, typer.Option("-o", "--output", metavar="FILE.md",
                                                help="Write to a file instead of stdout.")]
    = None,
) -> None:
    """Every scenario key with its type, unit, default and an example (Markdown).

    The same text as docs/scenario-reference.md.
    """
    from chipmix.present.reference import markdown

    _write_or_print(markdown(), output)


# --------------------------------------------------------------------------------------------
# helpers


def _load(sources: list[str] | None) -> Catalog:
    from chipmix.inputs.catalog import bundled_catalogs, load_catalogs

    return load_catalogs(sources or list(bundled_catalogs()))


def sku_json(catalog: Catalog, sku: str) -> dict[str, Any]:
    """One SKU as plain data.

    Every FIELDS column (defaults filled, unknown = None), ``sources`` as a list, the
    ``catalog`` it came from and ``bounds`` ({column: "<4800"} for figures known only as a
    bound; their column is None).
    """
    from chipmix.inputs.catalog import FIELDS

    row = catalog.frame.loc[sku]
    data: dict[str, Any] = {"id": sku}
    for name, spec in list(FIELDS.items())[1:]:
        value = row[name]
        if name == "sources":
            value = value.split()
        elif spec.kind == "float":
            value = None if math.isnan(value) else float(value)
        elif spec.kind == "bool":
            value = None if value is None else bool(value)  # us_available may be unknown
        elif value is not None and not isinstance(value, str):
            value = None  # pandas' missing marker in a text column
        data[name] = value
    data["catalog"] = row["catalog"]
    record = catalog.get(sku)
    data["bounds"] = {name: bound.cell() for name, bound in record.bounds.items()}
    return data


def _number(value: float | None, digits: int = 0) -> str:
    if value is None or math.isnan(value):
        return "—"
    return f"{value:,.{digits}f}"


def _list_table(catalog: Catalog) -> Table:
    from rich.table import Table

    table = Table(title=f"{len(catalog)} SKUs")
    table.add_column("id", overflow="fold")
    for header in ("vendor", "origin", "DC"):
        table.add_column(header)
    for header in ("BF16 TFLOPS", "memory GB", "bandwidth TB/s", "TDP W", "price USD"):
        table.add_column(header, justify="right")
    frame = catalog.frame
    for sku, row in frame.iterrows():
        bf16 = row["bf16_dense_tflops"]
        compute = _number(bf16) if not math.isnan(bf16) else _fp16(row["fp16_dense_tflops"])
        table.add_row(
            str(sku), row["vendor"], row["origin"], "yes" if row["datacenter"] else "no",
            compute, _number(row["memory_gb"]), _number(row["memory_bw_tbps"], 2),
            _number(row["tdp_w"]), _number(row["price_usd"]),
        )
    table.caption = "BF16 dense throughput; '*' = FP16 where BF16 is not published; — = unknown"
    return table


def _fp16(value: float) -> str:
    return "—" if math.isnan(value) else f"{_number(value)}*"


def _show_table(catalog: Catalog, sku: str) -> Table:
    from rich.table import Table

    from chipmix.inputs.catalog import FIELDS

    record = catalog.get(sku)
    row = catalog.frame.loc[sku]
    table = Table(title=f"{sku} ({catalog.where(sku)})", show_header=True)
    table.add_column("field")
    table.add_column("value", overflow="fold")
    table.add_column("unit")
    for name, spec in FIELDS.items():
        given = getattr(record, name)
        value = " ".join(given) if name == "sources" else given
        if name in record.bounds:
            value = f"{record.bounds[name].text()} (known only as a bound)"
        elif given is None:
            filled = row[name] if name in row.index else None
            value = f"{filled:g} (default)" if isinstance(filled, float) and not math.isnan(
                filled) else "unknown"
        elif isinstance(given, float):
            value = f"{given:g}"
        table.add_row(name, str(value), spec.unit)
    table.add_row("catalog", str(row["catalog"]), "")
    return table
