"""Writing result tables: JSON, CSV, Parquet or XLSX, chosen by the file extension.

:func:`write_table` takes one DataFrame or a mapping ``{name: DataFrame}`` and writes it
atomically (a temp file beside the target, renamed into place: an interrupted run leaves the
old file or none). A meaningful index (a named one, like ``compare``'s ``metric``) becomes
the first column.

=========  =====================================================================
``.json``  one table: a list of row objects; several: ``{name: [rows...]}``.
           NaN is written as ``null``; numbers keep full precision.
``.csv``   one table (UTF-8, header row, full float precision).
``.parquet`` one table (needs pyarrow: ``pip install pyarrow``). A column that mixes
           text and numbers (``compare``'s status row) is written as text.
``.xlsx``  one sheet per table, named after it (31 characters at most).
=========  =====================================================================

:func:`read_table` reads any of them back (a dict for a JSON object or a workbook with
several sheets).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from chipmix.errors import ChipmixError, InputError
from chipmix.io import atomic_path, writes_through

FORMATS = (".json", ".csv", ".parquet", ".xlsx")
#: Sheet / table name of a single frame.
DEFAULT_NAME = "table"


def table_format(path: str | Path) -> str:
    """The table format of a file name.

    ``json``, ``csv``, ``parquet`` or ``xlsx`` from the extension; InputError otherwise.
    A target written through (``/dev/stdout``, a FIFO, ``/dev/null``) without one of those
    extensions gets CSV.
    """
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS and writes_through(path):
        return "csv"
    if suffix not in FORMATS:
        raise InputError("unsupported table format", file=path, value=suffix or "(none)",
                         expected="a .json, .csv, .parquet or .xlsx file name")
    return suffix[1:]


def check_table_path(path: str | Path) -> str:
    """The format of ``path``, checked before any work: extension known, engine installed."""
    fmt = table_format(path)
    if fmt == "parquet":
        _require_pyarrow()
    return fmt


def write_table(frame_or_tables: pd.DataFrame | Mapping[str, pd.DataFrame],
                path: str | Path) -> Path:
    """Write one table or several (``{name: frame}``) to ``path``; returns the path."""
    fmt = table_format(path)
    single = isinstance(frame_or_tables, pd.DataFrame)
    if single:
        tables = {DEFAULT_NAME: frame_or_tables}
    elif isinstance(frame_or_tables, Mapping) and frame_or_tables:
        tables = dict(frame_or_tables)
    else:
        raise InputError("nothing to write", file=path,
                         expected="a DataFrame or a mapping of names to DataFrames")
    tables = {str(name): _flat(frame) for name, frame in tables.items()}
    if fmt in ("csv", "parquet") and len(tables) > 1:
        raise InputError(f"a .{fmt} file holds one table", file=path,
                         value=", ".join(tables),
                         expected="one table, or a .xlsx / .json file for several")
    if fmt == "parquet":
        _require_pyarrow()
    with atomic_path(path) as tmp:
        if fmt == "json":
            payload: Any = (_records(next(iter(tables.values()))) if single
                            else {name: _records(frame) for name, frame in tables.items()})
            tmp.write_text(json.dumps(payload, indent=2, ensure_ascii=False, allow_nan=False)
                           + "\n", encoding="utf-8")
        elif fmt == "csv":
            first: pd.DataFrame = next(iter(tables.values()))
            first.map(_cell_text_if_nested).to_csv(
                tmp, index=False, encoding="utf-8")
        elif fmt == "parquet":
            _for_parquet(next(iter(tables.values()))).to_parquet(tmp, index=False,
                                                                 engine="pyarrow")
        else:
            with pd.ExcelWriter(tmp, engine="openpyxl") as writer:
                for sheet, frame in zip(_sheet_names(tables), tables.values(), strict=True):
                    assert isinstance(frame, pd.DataFrame)
                    frame.map(_cell_text_if_nested).to_excel(writer, sheet_name=sheet,
                                                             index=False)
    return Path(path)


def read_table(path: str | Path) -> pd.DataFrame | dict[str, pd.DataFrame]:
    """Read a table written by :func:`write_table` (a dict when the file holds several)."""
    fmt = table_format(path)
    path = Path(path)
    if not path.is_file():
        raise InputError("file not found", file=path)
    if fmt == "json":
        data = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(data, Mapping):
            return {name: _from_records(rows) for name, rows in data.items()}
        return _from_records(data)
    if fmt == "csv":
        return pd.read_csv(path)
    if fmt == "parquet":
        _require_pyarrow()
        return pd.read_parquet(path, engine="pyarrow")
    sheets = pd.read_excel(path, sheet_name=None, engine="openpyxl")
    return next(iter(sheets.values())) if len(sheets) == 1 else sheets


# --------------------------------------------------------------------------------------------


def _flat(frame: pd.DataFrame) -> pd.DataFrame:
    """The index as leading column(s) unless it is the default 0..n-1 range."""
    if not isinstance(frame, pd.DataFrame):
        raise InputError("not a table", value=type(frame).__name__, expected="a DataFrame")
    index = frame.index
    plain = (isinstance(index, pd.RangeIndex) and index.name is None and index.start == 0
             and index.step == 1)
    out = frame if plain else frame.reset_index()
    out = out.copy()
    out.columns = [str(c) for c in out.columns]
    return out


def _scalar(value: Any) -> Any:
    """Plain JSON data from a cell (numpy scalars unwrapped, NaN → None)."""
    if value is None:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else value
    if isinstance(value, (pd.Timestamp,)):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _scalar(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_scalar(v) for v in value]
    if value is pd.NA or value is pd.NaT:
        return None
    return value


def to_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The table as JSON-ready rows (the index first when it means something; NaN → None)."""
    return _records(_flat(frame))


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    columns = list(frame.columns)
    return [{c: _scalar(v) for c, v in zip(columns, row, strict=True)}
            for row in frame.itertuples(index=False, name=None)]


def _from_records(rows: Any) -> pd.DataFrame:
    if not isinstance(rows, list):
        raise InputError("not a table", value=type(rows).__name__, expected="a list of rows")
    return pd.DataFrame.from_records(rows) if rows else pd.DataFrame()


def _cell_text_if_nested(value: Any) -> Any:
    if isinstance(value, (Mapping, list, tuple)):
        return json.dumps(_scalar(value), ensure_ascii=False)
    return value


def _for_parquet(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.map(_cell_text_if_nested) if len(frame.columns) else frame
    for column in out.columns:
        if out[column].dtype != object:
            continue
        values = [v for v in out[column] if v is not None and not _is_nan(v)]
        kinds = {_kind(v) for v in values}
        if kinds <= {"number"} and values:
            out[column] = pd.to_numeric(out[column], errors="coerce").astype("float64")
        elif kinds <= {"bool"} and values:
            out[column] = out[column].astype("boolean")
        elif kinds - {"text"}:
            out[column] = [None if v is None or _is_nan(v) else str(v) for v in out[column]]
    return out


def _kind(value: Any) -> str:
    if isinstance(value, (bool, np.bool_)):
        return "bool"
    if isinstance(value, (int, float, np.integer, np.floating)):
        return "number"
    if isinstance(value, str):
        return "text"
    return "other"


def _is_nan(value: Any) -> bool:
    return isinstance(value, (float, np.floating)) and math.isnan(value)


def _sheet_names(tables: Mapping[str, pd.DataFrame]) -> list[str]:
    names: list[str] = []
    for name in tables:
        clean = re.sub(r"[\[\]:*?/\\]", "_", name).strip("'") or "sheet"
        clean = clean[:31]
        candidate, n = clean, 2
        while candidate.lower() in (x.lower() for x in names):
            suffix = f" ({n})"
            candidate = clean[: 31 - len(suffix)] + suffix
            n += 1
        names.append(candidate)
    return names


def _require_pyarrow() -> None:
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        raise ChipmixError("Parquet files need pyarrow: pip install pyarrow") from None
