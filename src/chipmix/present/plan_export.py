"""A plan's tables as files, by extension (``chipmix plan -o FILE``).

=============  ==================================================================================
``.json``      the plan JSON of formats.md (``Plan.to_json()``), unchanged
``.xlsx``      one workbook, a named sheet per table: ``summary``, ``cost``, ``purchases``,
               ``fleet``, ``allocation``, ``delivered``, ``shares``, ``availability``,
               ``ported``, and ``sens <name>`` per sensitivity table when the plan has them;
               the header row is frozen and carries the unit (``spend (USD)``), and every
               number column has a number format (money ``#,##0``, shares ``0.0%``)
``.csv``       the tidy long form (:func:`tidy`): one row per figure — ``table``, ``period``,
``.parquet``   ``sku``, ``vendor``, ``origin``, ``workload``, ``quantity``, ``value``, ``unit``;
               one file that ``pandas.read_csv`` / ``read_parquet`` turns back into a frame to
               filter and pivot (Parquet keeps the types: ``period`` an ordered category,
               ``value`` float64)
=============  ==================================================================================

Anything else is an input error (exit 2) before the plan is solved. Money is USD, as in the
plan JSON (a scenario's display currency changes the reports, never the data files).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from chipmix.errors import InputError
from chipmix.inputs.catalog import bundled_names, load_catalogs
from chipmix.inputs.units import METRIC_UNITS
from chipmix.io import atomic_path, write_text, writes_through
from chipmix.present.export import check_table_path

PLAN_FORMATS = (".json", ".xlsx", ".csv", ".parquet")

#: Unit of each quantity of the tidy form and of each number column of the workbook.
UNITS = {
    "servers": "servers",
    "units": "cards",
    "in_use": "cards",
    "idle": "cards",
    "supply": "cards per period",
    "unit_price": "USD/card",
    "spend": "USD",
    "nominal": "USD",
    "discounted": "USD",
    "domestic": "fraction",
    "share": "fraction",
    "fraction": "fraction",
    "power_mw": "MW",
    "power_cap_mw": "MW",
    "capex": "USD",
    "budget": "USD",
}


def plan_format(path: str | Path) -> str:
    """The plan file format of a file name.

    ``json``, ``xlsx``, ``csv`` or ``parquet`` from ``path``; InputError otherwise. A
    target written through (``/dev/stdout``, a FIFO, ``/dev/null``) without one of those
    extensions gets the plan JSON.
    """
    suffix = Path(path).suffix.lower()
    if suffix not in PLAN_FORMATS and writes_through(path):
        return "json"
    if suffix not in PLAN_FORMATS:
        raise InputError("unsupported plan file format", file=path, value=suffix or "(none)",
                         expected="a .json (plan JSON), .xlsx (a sheet per table), .csv or "
                                  ".parquet (tidy long form) file name")
    if suffix == ".parquet":

        check_table_path(path)  # pyarrow installed
    return suffix[1:]


def sku_info(plan: Any, scenario: Any = None) -> pd.DataFrame:
    """``vendor`` and ``origin`` per SKU id.

    The plan's own columns, the scenario's catalogs, else the bundled catalogs (the id's
    first word as a last resort).
    """
    skus = sorted({*plan.purchases.get("sku", []), *plan.fleet.get("sku", []),
                   *plan.availability.get("sku", [])})
    frame = None
    try:
        if scenario is not None:
            frame = scenario.load_catalog().frame
        else:

            frame = load_catalogs(bundled_names()).frame
    except Exception:  # labels are not worth failing an export for
        frame = None
    rows = []
    for sku in skus:
        if frame is not None and sku in frame.index:
            rows.append((sku, frame.at[sku, "vendor"], frame.at[sku, "origin"]))
        else:
            rows.append((sku, sku.split("-")[0].capitalize(), None))
    return pd.DataFrame(rows, columns=["sku", "vendor", "origin"]).set_index("sku")


def workload_units(plan: Any, scenario: Any = None) -> dict[str, str]:
    """The unit of each workload's demand (``PFLOPS bf16``...)."""
    if scenario is None:
        return {}
    return {w.name: METRIC_UNITS.get(w.metric, "metric units") for w in scenario.workloads}


def period_type(periods: list[str]) -> pd.CategoricalDtype:
    """An ordered categorical of the plan's periods (sorts and compares in time order)."""
    return pd.CategoricalDtype(list(periods), ordered=True)


def plan_tables(plan: Any, scenario: Any = None) -> dict[str, pd.DataFrame]:
    """Every table of the plan as typed frames (no units in the names; see :data:`UNITS`).

    ``purchases`` and ``fleet`` gain ``vendor`` and ``origin``; ``fleet`` gains ``in_use`` and
    ``idle``; ``delivered`` gains ``unit``; ``shares`` is wide (one fraction column per
    vendor, NaN where nothing is in service); ``period`` is an ordered category everywhere.
    """
    info = sku_info(plan, scenario)
    periods = pd.CategoricalDtype(list(plan.periods), ordered=True)

    def typed(frame: pd.DataFrame) -> pd.DataFrame:
        frame = frame.copy()
        if "period" in frame.columns:
            frame["period"] = frame["period"].astype(str).astype(periods)
        return frame.reset_index(drop=True)

    def with_sku(frame: pd.DataFrame) -> pd.DataFrame:
        frame = frame.copy()
        if {"vendor", "origin"} <= set(frame.columns):  # the plan carries them
            return frame
        at = frame.columns.get_loc("sku") + 1 if "sku" in frame.columns else 0
        for i, column in enumerate(("vendor", "origin")):
            values = frame["sku"].map(info[column]) if len(frame) else pd.Series(dtype=object)
            frame.insert(at + i, column, values.astype("string"))
        return frame

    purchases = with_sku(plan.purchases)
    fleet = with_sku(plan.fleet)
    allocation = plan.allocation
    used = (allocation.groupby(["period", "sku"], observed=True)["units"].sum()
            if len(allocation) else pd.Series(dtype=float))
    if {"in_use", "idle"} <= set(fleet.columns):
        pass  # the plan carries them
    elif len(fleet):
        keys = list(zip(fleet["period"], fleet["sku"], strict=True))
        in_use = [min(float(u), float(used.get(k, 0.0))) for k, u in
                  zip(keys, fleet["units"], strict=True)]
        fleet["in_use"] = pd.Series(in_use, dtype="float64").round(6)
        fleet["idle"] = (fleet["units"].astype("float64") - fleet["in_use"]).round(6)
    else:
        fleet["in_use"] = pd.Series(dtype="float64")
        fleet["idle"] = pd.Series(dtype="float64")
    units = workload_units(plan, scenario)
    delivered = plan.delivered.copy()
    if "unit" not in delivered.columns:
        delivered.insert(2, "unit", delivered["workload"].map(units).fillna("metric units")
                         .astype("string") if len(delivered) else pd.Series(dtype="string"))
    vendors = sorted({v for d in plan.shares.get("vendors", []) for v in d})
    share_rows = []
    for r in plan.shares.to_dict("records"):
        empty = not r["vendors"]
        row = {"period": r["period"], "domestic": None if empty else r["domestic"]}
        row.update({v: None if empty else r["vendors"].get(v, 0.0) for v in vendors})
        share_rows.append(row)
    shares = pd.DataFrame(share_rows, columns=["period", "domestic", *vendors])
    for column in ["domestic", *vendors]:
        shares[column] = shares[column].astype("float64")
    cost = pd.DataFrame({
        "item": ["capex", "energy", "porting", "shortfall", "total"],
        "nominal": [plan.cost.get(k) for k in ("capex", "energy", "porting", "shortfall",
                                                "total")],
        "discounted": [plan.discounted.get(k) for k in ("capex", "energy", "porting",
                                                         "shortfall", "total")],
    })
    for column in ("nominal", "discounted"):
        cost[column] = cost[column].astype("float64")
    availability = plan.availability[["period", "sku", "status", "supply", "reason"]].copy()
    availability["supply"] = availability["supply"].astype("float64")
    out = {
        "cost": cost,
        "usage": typed(plan.usage) if len(getattr(plan, "usage", [])) else None,
        "purchases": typed(purchases),
        "fleet": typed(fleet),
        "allocation": typed(allocation),
        "delivered": typed(delivered),
        "shares": typed(shares),
        "availability": typed(availability),
        "ported": plan.ported.reset_index(drop=True),
    }
    out = {k: v for k, v in out.items() if v is not None}
    for name, rows in (plan.sensitivity or {}).items():
        if isinstance(rows, list) and rows and isinstance(rows[0], Mapping):
            out[f"sens {name}"] = typed(pd.DataFrame(rows))
    return out


def tidy(plan: Any, scenario: Any = None) -> pd.DataFrame:
    """The plan's figures in long form: one row per (table, period, sku, workload, quantity).

    Columns: ``table``, ``period`` (ordered category), ``sku``, ``vendor``, ``origin``,
    ``workload`` (strings, ``<NA>`` where they do not apply), ``quantity`` (the column it came
    from: ``units``, ``spend``, ``shortfall``, ``domestic``, ``<vendor>``...), ``value``
    (float64) and ``unit``. ``shares`` rows carry the vendor in ``vendor`` (``quantity`` is
    ``share``; ``domestic`` rows have none); ``cost`` rows carry the category in
    ``quantity`` (``capex.nominal``...). Text columns (availability reasons) are left out:
    they are in the JSON and the workbook.

    Raises
    ------
    InputError
        A plan without decisions to tabulate (no plan was found).
    """
    tables = plan_tables(plan, scenario)
    units = workload_units(plan, scenario)
    parts = []
    keys = ["period", "sku", "vendor", "origin", "workload"]
    for name in ("purchases", "fleet", "allocation", "delivered", "usage"):
        if name not in tables:
            continue
        frame = tables[name]
        if name == "allocation" and len(frame):
            info = sku_info(plan, scenario)
            frame = frame.assign(vendor=frame["sku"].map(info["vendor"]),
                                 origin=frame["sku"].map(info["origin"]))
        values = [c for c in frame.columns if c not in keys and c != "unit"
                  and pd.api.types.is_numeric_dtype(frame[c])]
        if not len(frame):
            continue
        long = frame.melt(id_vars=[k for k in keys if k in frame.columns], value_vars=values,
                          var_name="quantity", value_name="value")
        if name == "delivered":
            long["unit"] = long["workload"].map(units).fillna("metric units")
        else:
            long["unit"] = long["quantity"].map(UNITS)
        long.insert(0, "table", name)
        parts.append(long)
    shares = tables["shares"]
    if len(shares):
        long = shares.melt(id_vars=["period"], var_name="vendor", value_name="value")
        long["quantity"] = "share"
        domestic = long["vendor"] == "domestic"
        long.loc[domestic, "quantity"] = "domestic"
        long["vendor"] = long["vendor"].where(~domestic, None)
        long["unit"] = "fraction"
        long.insert(0, "table", "shares")
        parts.append(long)
    cost = tables["cost"].melt(id_vars=["item"], var_name="basis", value_name="value")
    cost = pd.DataFrame({"table": "cost", "quantity": cost["item"] + "." + cost["basis"],
                         "value": cost["value"], "unit": "USD"})
    parts.append(cost)
    frame = pd.concat(parts, ignore_index=True)
    columns = ["table", "period", "sku", "vendor", "origin", "workload", "quantity", "value",
               "unit"]
    frame = frame.reindex(columns=columns)
    for column in ("table", "sku", "vendor", "origin", "workload", "quantity", "unit"):
        frame[column] = frame[column].astype("string")
    frame["period"] = frame["period"].astype(str).where(frame["period"].notna(), None)
    frame["period"] = frame["period"].astype(period_type(list(plan.periods)))
    frame["value"] = frame["value"].astype("float64")
    return frame


def summary_frame(plan: Any, scenario: Any = None) -> pd.DataFrame:
    solver = plan.solver or {}
    rows = [("scenario", plan.scenario, ""), ("status", plan.status.value, ""),
            ("objective", plan.objective, "USD (discounted)"),
            ("horizon", f"{plan.periods[0]}–{plan.periods[-1]}" if plan.periods else "", ""),
            ("share basis", plan.share_basis, ""),
            ("solver", solver.get("name"), ""), ("MIP gap", solver.get("gap"), "fraction")]
    if scenario is not None and scenario.source is not None:
        rows.insert(1, ("scenario file", str(scenario.source), ""))
    rows.append(("note", "money in USD; prices are estimates (see the catalogs' sources)", ""))
    return pd.DataFrame(rows, columns=["item", "value", "unit"])


#: Excel number formats by unit.
_FORMATS = {"USD": "#,##0", "USD/card": "#,##0", "cards": "#,##0.##", "servers": "#,##0.##",
            "fraction": "0.0%", "cards per period": "#,##0", "MW": "#,##0.0###"}


def _header(column: str, table: str) -> tuple[str, str | None]:
    """Header text with its unit, and the unit."""
    if table == "shares" and column != "period":
        return f"{column} (share)", "fraction"
    if table.startswith("sens "):
        unit = ("USD" if column.startswith("usd_per") or column.endswith("price") else None)
        return column, unit
    unit = UNITS.get(column)
    if unit is None or unit == column:
        return column, unit
    return f"{column} ({unit})", unit


def write_workbook(tables: Mapping[str, pd.DataFrame], path: Path,
                   summary: pd.DataFrame) -> None:
    """The ``.xlsx`` workbook (atomically): units in headers, frozen header rows, formats."""
    from openpyxl.utils import get_column_letter  # lazy: openpyxl only for .xlsx

    sheets = {"summary": summary, **tables}
    with atomic_path(path) as tmp:
        with pd.ExcelWriter(tmp, engine="openpyxl") as writer:
            for name, frame in sheets.items():
                sheet = name[:31]
                out = frame.copy()
                for column in out.columns:
                    if isinstance(out[column].dtype, pd.CategoricalDtype):
                        out[column] = out[column].astype(str)
                headers = [_header(str(c), name) for c in out.columns]
                out.columns = [h for h, _ in headers]
                out.to_excel(writer, sheet_name=sheet, index=False)
                ws = writer.sheets[sheet]
                ws.freeze_panes = "A2"
                for j, ((head, unit), column) in enumerate(zip(headers, out.columns,
                                                               strict=True), start=1):
                    letter = get_column_letter(j)
                    values = out[column].astype(str).str.len().fillna(0)  # <NA> cells
                    width = max(len(head), int(values.max()) if len(values) else 0)
                    ws.column_dimensions[letter].width = min(60, max(8, width + 2))
                    numeric = pd.api.types.is_numeric_dtype(out[column])
                    if name == "summary" or not numeric:
                        continue
                    fmt = _FORMATS.get(unit or "", "#,##0.00##")
                    for cell in ws[letter][1:]:
                        cell.number_format = fmt


def write_plan(plan: Any, path: str | Path, scenario: Any = None) -> Path:
    """Write ``plan`` to ``path`` in the format its extension names (see the module doc).

    Raises
    ------
    InputError
        An extension other than .json, .xlsx, .csv or .parquet, or a plan without decisions
        written to a table format (the JSON carries its diagnosis).
    OutputError
        ``path`` names a target the output policy refuses (:mod:`chipmix.io`).
    """
    path = Path(path)
    fmt = plan_format(path)
    if fmt == "json":
        write_text(path, plan.to_json())
        return path
    if not plan.ok:
        raise InputError(f"plan for '{plan.scenario}' has no decisions to tabulate (status "
                         f"{plan.status.value})", file=path,
                         expected="a .json file (it carries the diagnosis)")
    if fmt == "xlsx":
        write_workbook(plan_tables(plan, scenario), path, summary_frame(plan, scenario))
        return path
    frame = tidy(plan, scenario)

    with atomic_path(path) as tmp:
        if fmt == "csv":
            frame.to_csv(tmp, index=False, encoding="utf-8")
        else:
            frame.to_parquet(tmp, index=False, engine="pyarrow")
    return path


__all__ = ["PLAN_FORMATS", "UNITS", "plan_format", "plan_tables", "sku_info", "tidy",
           "write_plan"]
