"""Vendor-level volumes: sourced market data for vendor supply pools.

Reported production and shipments of accelerators are per vendor (all Ascend dies of a year),
not per SKU; ``catalogs/market/volumes.csv`` ships them with their period, what they measure,
basis, confidence and source. A scenario turns one into a per-quarter limit for one buyer —
the buyer's share of the vendor's volume — with :func:`per_quarter`, for a per-SKU ``supply``
or a vendor pool (``pools:``, formats.md).

Columns: ``vendor, from, to`` (``YYYY-MM``), ``units``, ``measure`` (output | plan | shipments |
cumulative | capacity), ``products``, ``basis``, ``confidence`` (high | medium | low),
``source`` (a URL), ``notes``.
"""

from __future__ import annotations

import csv
import io
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chipmix.errors import InputError, unknown_name_hint
from chipmix.inputs.yamlio import read_text
from chipmix.resources import catalogs_dir

COLUMNS = ("vendor", "from", "to", "units", "measure", "products", "basis", "confidence",
           "source", "notes")
MEASURES = ("output", "plan", "shipments", "cumulative", "capacity")
CONFIDENCE = ("high", "medium", "low")
_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


@dataclass(frozen=True)
class Volume:
    """One sourced volume figure.

    ``units`` of ``vendor``'s ``products`` over ``[start, end]`` (months, inclusive).
    """

    vendor: str
    start: str
    end: str
    units: float
    measure: str
    products: str
    basis: str
    confidence: str
    source: str
    notes: str = ""

    @property
    def months(self) -> int:
        """Months covered, both ends included."""
        y0, m0 = map(int, self.start.split("-"))
        y1, m1 = map(int, self.end.split("-"))
        return (y1 - y0) * 12 + (m1 - m0) + 1

    def per_quarter(self, share: float = 1.0) -> float:
        """``units × share`` spread evenly over the period, per quarter."""
        return self.units * share * 3.0 / self.months

    def to_dict(self) -> dict[str, Any]:
        return {"vendor": self.vendor, "from": self.start, "to": self.end, "units": self.units,
                "measure": self.measure, "products": self.products, "basis": self.basis,
                "confidence": self.confidence, "source": self.source, "notes": self.notes,
                "per_quarter": self.per_quarter()}


def bundled_volumes_path() -> Path:
    """The bundled vendor volumes (``catalogs/market/volumes.csv``)."""
    return catalogs_dir() / "market" / "volumes.csv"


def load_volumes(path: str | Path | None = None) -> list[Volume]:
    """Read and validate a volumes CSV (default.

    The bundled one); InputError names the file, row, column, value and what was expected.
    """
    path = Path(path) if path is not None else bundled_volumes_path()
    if not path.is_file():
        raise InputError("file not found", file=path, expected="a volumes CSV")
    rows = list(csv.reader(io.StringIO(read_text(path, what="CSV"), newline="")))
    if not rows:
        raise InputError("file is empty", file=path, expected=f"a header ({', '.join(COLUMNS)})")
    header = [c.strip() for c in rows[0]]
    for name in header:
        if name not in COLUMNS:
            raise InputError("unknown column", file=path, location="row 1 (header)",
                             field=f"column '{name}'", hint=unknown_name_hint(name, COLUMNS))
    missing = [c for c in COLUMNS[:9] if c not in header]
    if missing:
        raise InputError("missing column", file=path, location="row 1 (header)",
                         field=", ".join(f"'{m}'" for m in missing),
                         expected=f"columns {', '.join(COLUMNS)}")
    out = []
    for number, cells in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in cells):
            continue
        row = dict(zip(header, [c.strip() for c in cells], strict=False))

        def bad(column: str, expected: str, row: dict[str, str] = row,
                number: int = number) -> InputError:
            return InputError(file=path, location=f"row {number}", field=f"column '{column}'",
                              value=row.get(column, ""), expected=expected)

        for column in ("vendor", "products", "basis"):
            if not row.get(column):
                raise bad(column, "a text")
        for column in ("from", "to"):
            if not _MONTH.match(row.get(column, "")):
                raise bad(column, "a month YYYY-MM")
        if row["to"] < row["from"]:
            raise bad("to", f"a month on or after from {row['from']}")
        try:
            units = float(row.get("units", ""))
        except ValueError:
            raise bad("units", "a number of units > 0") from None
        if not (math.isfinite(units) and units > 0):
            raise bad("units", "a number of units > 0")
        if row.get("measure") not in MEASURES:
            raise bad("measure", " | ".join(MEASURES))
        if row.get("confidence") not in CONFIDENCE:
            raise bad("confidence", " | ".join(CONFIDENCE))
        if not re.match(r"^https?://\S+$", row.get("source", "")):
            raise bad("source", "an http(s) URL")
        out.append(Volume(row["vendor"], row["from"], row["to"], units, row["measure"],
                          row["products"], row["basis"], row["confidence"], row["source"],
                          row.get("notes", "")))
    return out
