"""Accelerator catalogs: the schema (as data), the ``Accelerator`` record, CSV/XLSX loading.

A catalog is a table with one row per SKU (formats.md). Every cell is read as text and
parsed here, so each error names the file, the row, the column, the bad value and what was
expected::

    catalogs/mine.csv: row 4: column 'tdp_w': got 'abc'; expected a number >= 0

Rows are counted the way a spreadsheet user counts them: the header is row 1 and the first
SKU is row 2 (blank rows are skipped but still counted).

An empty numeric cell means *unknown* (``None`` in :class:`Accelerator`, NaN in
:attr:`Catalog.frame`), never 0. The frame fills the documented defaults (``server_size`` 8,
``lead_quarters`` 0, ``pcie_gbps`` 0, efficiencies 0.4 / 0.5); the records keep what the
file says.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import math
import os
import re
import threading
import zipfile
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property
from io import BytesIO
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd
import pydantic
from pydantic import BaseModel, ConfigDict, model_validator

import chipmix.limits as limits
from chipmix.errors import InputError, closest, require, require_texts, unknown_name_hint
from chipmix.inputs.yamlio import MAX_NUMBER, number_text
from chipmix.io import decode_text, input_exists, read_input
from chipmix.resources import catalogs_dir

if TYPE_CHECKING:
    import pandas as pd

Kind = Literal["str", "float", "bool"]


@dataclass(frozen=True)
class Field:
    """One catalog column.

    ``required`` means the column must be present; required text and bool cells must also
    be filled in every row, while a numeric cell may always be empty (= unknown).
    ``default`` is what :attr:`Catalog.frame` fills for an empty cell (None = stays unknown,
    NaN in the frame). ``form`` names a stricter check on top of ``kind``.
    """

    kind: Kind
    unit: str
    required: bool
    default: float | None
    description: str
    form: str | None = None  # slug | country | release | urls | fraction | count | positive-count
    #: a cell may hold a one-sided bound (``<4800``) instead of a number: the figure is known
    #: only as a bound (rule metrics decide on it; the planner treats it as unknown)
    bounds: bool = False

    def describe(self) -> str:
        """The description with the unit, for pydantic field docs and ``catalog show``."""
        return f"{self.description} [{self.unit}]" if self.unit else self.description


def _throughput(precision: str, unit: str = "TFLOPS") -> Field:
    return Field("float", unit, False, None, f"peak dense {precision} throughput (no sparsity)",
                 bounds=True)


def _spec_figure(unit: str, required: bool, default: float | None, description: str) -> Field:
    """A published specification figure: a number, or a bound when only a bound is known."""
    return Field("float", unit, required, default, description, bounds=True)


#: The catalog schema: every column of formats.md, in file order.
FIELDS: dict[str, Field] = {
    "id": Field("str", "", True, None, "unique SKU id, a slug like nvidia-h100", "slug"),
    "vendor": Field("str", "", True, None, "vendor as marketed (Nvidia, Huawei)"),
    "name": Field("str", "", True, None, "product name as marketed"),
    "origin": Field("str", "ISO 3166 alpha-2", True, None, "country of the designer", "country"),
    "datacenter": Field("bool", "", True, None, "designed or marketed for datacenters"),
    "release": Field("str", "YYYY or YYYY-MM", False, None, "first availability", "release"),
    "fp4_dense_tflops": _throughput("FP4"),
    "fp8_dense_tflops": _throughput("FP8"),
    "fp16_dense_tflops": _throughput("FP16"),
    "bf16_dense_tflops": _throughput("BF16"),
    "tf32_dense_tflops": _throughput("TF32"),
    "fp32_tflops": Field("float", "TFLOPS", False, None, "peak FP32 throughput"),
    "int8_dense_tops": _throughput("INT8", "TOPS"),
    "int4_dense_tops": _throughput("INT4", "TOPS"),
    "tpp": _spec_figure("TPP", False, None,
                        "published Total Processing Performance; computed by the rules when empty"),
    "performance_density": _spec_figure(
        "TPP/mm²", False, None,
        "published performance density (TPP per mm² of applicable die area); computed by the "
        "rules when empty"),
    "die_area_mm2": _spec_figure("mm²", False, None, "applicable die area"),
    "memory_gb": _spec_figure("GB", True, None, "on-package memory"),
    "memory_bw_tbps": _spec_figure("TB/s", True, None, "memory bandwidth"),
    "interconnect_gbps": _spec_figure("GB/s", True, None,
                                      "chip-to-chip bandwidth, bidirectional (0 = none)"),
    "pcie_gbps": _spec_figure("GB/s", False, 0.0, "host-link bandwidth, bidirectional"),
    "tdp_w": Field("float", "W", False, None, "board power; needed to plan with the SKU"),
    "price_usd": Field("float", "USD per card", False, None,
                       "typical reported price (an estimate); needed to buy the SKU"),
    "server_size": Field("float", "cards", False, 8.0,
                         "cards per server (units are bought in whole servers)", "positive-count"),
    "supply_per_quarter": Field("float", "cards per quarter", False, None,
                                "default availability to one buyer (empty = unlimited)"),
    "lead_quarters": Field("float", "periods", False, 0.0,
                           "periods between purchase and use", "count"),
    "efficiency_training": Field("float", "fraction", False, 0.4,
                                 "share of peak reached by training workloads", "fraction"),
    "efficiency_inference": Field("float", "fraction", False, 0.5,
                                  "share of peak reached by inference workloads", "fraction"),
    "us_available": Field("bool", "", False, None,
                          "commercially available in the US market (empty = unknown)"),
    "sources": Field("str", "URLs", True, None,
                     "where the figures come from, space separated", "urls"),
    "notes": Field("str", "", False, None, "caveats, estimates, derivations"),
}

#: Throughput columns (a row may leave all empty: unknown compute).
THROUGHPUT_FIELDS: tuple[str, ...] = tuple(
    name for name, f in FIELDS.items() if f.unit in ("TFLOPS", "TOPS")
)
REQUIRED_COLUMNS: tuple[str, ...] = tuple(name for name, f in FIELDS.items() if f.required)

#: Bundled catalog aliases (``domestic`` is the Chinese-designed catalog).
ALIASES: dict[str, str] = {"domestic": "china"}

_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_RELEASE = re.compile(r"^\d{4}(?:-(?:0[1-9]|1[0-2]))?$", re.ASCII)
_URL = re.compile(r"^https?://[^\s/]+\.[^\s]+$")
_TRUE = {"true", "yes", "1"}
_FALSE = {"false", "no", "0"}

_EXPECTED = {
    "slug": "a slug of lowercase letters, digits and hyphens (e.g. nvidia-h100)",
    "country": "a two-letter upper-case country code (ISO 3166 alpha-2, e.g. US, CN)",
    "release": "a year YYYY or a month YYYY-MM",
    "urls": "one or more http(s) URLs separated by spaces",
    "fraction": "a fraction in (0, 1]",
    "count": "a whole number >= 0",
    "positive-count": "a whole number >= 1",
    "float": "a number >= 0",
    "bool": "true/false, yes/no or 1/0",
    "str": "a value",
}


def expected_for(spec: Field) -> str:
    """What a cell of this column must hold, in words."""
    return _EXPECTED[spec.form or spec.kind]


# --------------------------------------------------------------------------------------------
# Figures known only as a bound

_BOUND = re.compile(r"^(<=|>=|<|>|≤|≥)\s*(\S+)$")
_BOUND_OPS = {"≤": "<=", "≥": ">="}
BOUND_EXPECTED = "a number >= 0, or a one-sided bound like <4800 or >=1600 (a figure known only as a bound)"


@dataclass(frozen=True)
class Bound:
    """A catalog figure known only as a one-sided bound: ``Bound("<", 4800)`` for ``<4800``.

    The rules decide a threshold test on it when the bound settles it (``tpp < 4800`` fails
    ``tpp >= 4800`` and passes ``tpp < 21000``) and call it unknown otherwise; the planner
    treats the figure as unknown. The row's ``notes`` must say where the bound comes from.
    """

    op: Literal["<", "<=", ">", ">="]
    value: float

    @property
    def upper(self) -> bool:
        """True for ``<`` / ``<=`` (an upper bound)."""
        return self.op in ("<", "<=")

    @property
    def strict(self) -> bool:
        return self.op in ("<", ">")

    def text(self) -> str:
        """``"< 4800"``: the bound as written, normalised."""
        from_number = f"{self.value:g}" if abs(self.value) < 1e15 else repr(self.value)
        return f"{self.op} {from_number}"

    def cell(self) -> str:
        """The bound as a catalog cell (``<4800``)."""
        return self.text().replace(" ", "")

    def admits(self, value: float) -> bool:
        """True when ``value`` satisfies the bound."""
        return {
            "<": value < self.value,
            "<=": value <= self.value,
            ">": value > self.value,
            ">=": value >= self.value,
        }[self.op]

    def __str__(self) -> str:
        return self.text()


def parse_bound(text: str) -> Bound | None:
    """A :class:`Bound` from a cell text like ``<4800`` or ``>= 1600``; None if it is not one.

    Raises ValueError (with the expectation) for a bound whose number is bad or that no
    figure >= 0 can satisfy (``<0``).
    """
    m = _BOUND.match(text.strip())
    if m is None:
        return None
    op = _BOUND_OPS.get(m.group(1), m.group(1))
    try:
        value = float(m.group(2).replace("_", ""))
    except ValueError:
        raise ValueError(BOUND_EXPECTED) from None
    if not math.isfinite(value) or value < 0 or value > MAX_NUMBER:
        raise ValueError(BOUND_EXPECTED)
    if op == "<" and value == 0:
        raise ValueError(f"{BOUND_EXPECTED} (no figure >= 0 is below 0)")
    return Bound(op, value)  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# The record


def _spec(name: str) -> Any:
    spec = FIELDS[name]
    default = ... if spec.required and spec.kind != "float" else None
    return pydantic.Field(default=default, description=spec.describe())


class Accelerator(BaseModel):
    """One SKU as its catalog row states it. None = unknown (never 0)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = _spec("id")
    vendor: str = _spec("vendor")
    name: str = _spec("name")
    origin: str = _spec("origin")
    datacenter: bool = _spec("datacenter")
    release: str | None = _spec("release")
    fp4_dense_tflops: float | None = _spec("fp4_dense_tflops")
    fp8_dense_tflops: float | None = _spec("fp8_dense_tflops")
    fp16_dense_tflops: float | None = _spec("fp16_dense_tflops")
    bf16_dense_tflops: float | None = _spec("bf16_dense_tflops")
    tf32_dense_tflops: float | None = _spec("tf32_dense_tflops")
    fp32_tflops: float | None = _spec("fp32_tflops")
    int8_dense_tops: float | None = _spec("int8_dense_tops")
    int4_dense_tops: float | None = _spec("int4_dense_tops")
    tpp: float | None = _spec("tpp")
    performance_density: float | None = _spec("performance_density")
    die_area_mm2: float | None = _spec("die_area_mm2")
    memory_gb: float | None = _spec("memory_gb")
    memory_bw_tbps: float | None = _spec("memory_bw_tbps")
    interconnect_gbps: float | None = _spec("interconnect_gbps")
    pcie_gbps: float | None = _spec("pcie_gbps")
    tdp_w: float | None = _spec("tdp_w")
    price_usd: float | None = _spec("price_usd")
    server_size: float | None = _spec("server_size")
    supply_per_quarter: float | None = _spec("supply_per_quarter")
    lead_quarters: float | None = _spec("lead_quarters")
    efficiency_training: float | None = _spec("efficiency_training")
    efficiency_inference: float | None = _spec("efficiency_inference")
    us_available: bool | None = _spec("us_available")
    sources: tuple[str, ...] = _spec("sources")
    notes: str | None = _spec("notes")
    #: figures known only as a bound, by column (such a column's value is None)
    bounds: dict[str, Bound] = pydantic.Field(
        default_factory=dict, description="figures known only as a bound, by column")

    @model_validator(mode="after")
    def _check_values(self) -> Accelerator:
        for name, spec in FIELDS.items():
            value = getattr(self, name)
            if value is None:
                continue
            problem = _value_problem(spec, value)
            if problem:
                raise ValueError(f"{name}: got {value!r}; expected {problem}")
        for name, bound in self.bounds.items():
            bound_spec = FIELDS.get(name)
            if bound_spec is None or not bound_spec.bounds:
                raise ValueError(f"bounds: column {name!r} does not take a bound")
            if not isinstance(bound, Bound):
                raise ValueError(f"bounds.{name}: got {bound!r}; expected a Bound")
            if getattr(self, name) is not None:
                raise ValueError(f"{name}: both a value and a bound")
        return self

    def bound(self, name: str) -> Bound | None:
        """The bound on column ``name``, or None when the figure is a number or unknown."""
        return self.bounds.get(name)


#: Attributes of :class:`Accelerator` that are not catalog columns.
RECORD_EXTRAS = ("bounds",)
assert tuple(f for f in Accelerator.model_fields if f not in RECORD_EXTRAS) == tuple(FIELDS), (
    "Accelerator and FIELDS disagree"
)


def _value_problem(spec: Field, value: Any) -> str | None:
    """None when ``value`` (already typed) is valid for ``spec``, else the expectation."""
    form = spec.form
    if spec.kind == "float":
        if math.isfinite(value) and value > MAX_NUMBER:
            return f"a number >= 0 and <= {MAX_NUMBER:g} (is a unit or a digit off?)"
        ok = math.isfinite(value) and value >= 0
        if form == "fraction":
            ok = ok and 0 < value <= 1
        elif form in ("count", "positive-count"):
            ok = ok and float(value).is_integer() and (form == "count" or value >= 1)
        return None if ok else expected_for(spec)
    if form == "urls":
        ok = bool(value) and all(_URL.match(u) and u[-1] not in ";," for u in value)
        return None if ok else expected_for(spec)
    pattern = {"slug": _SLUG, "country": _COUNTRY, "release": _RELEASE}.get(form or "")
    if pattern is not None and not pattern.match(value):
        return expected_for(spec)
    return None


def parse_cell(spec: Field, text: str) -> Any:
    """Parse one cell's text for ``spec``.

    Empty text → None; a bound (``<4800``) in a column that takes one → a :class:`Bound`.

    Raises ValueError whose message is the expectation (e.g. ``a number >= 0``).
    """
    text = text.strip()
    if not text:
        if spec.required and spec.kind != "float":
            raise ValueError(f"{expected_for(spec)} (the column is required)")
        return None
    if spec.kind == "bool":
        low = text.lower()
        if low in _TRUE or low in _FALSE:
            return low in _TRUE
        raise ValueError(expected_for(spec))
    if spec.kind == "float":
        if text[0] in "<>≤≥":
            if not spec.bounds:
                raise ValueError(f"{expected_for(spec)} (this column takes no bound: a plan "
                                 "needs the figure itself)")
            bound = parse_bound(text)
            if bound is None:
                raise ValueError(BOUND_EXPECTED)
            return bound
        value: Any = number_text(text)
        if value is None:  # ASCII digits only: no '１０００', '1_000' or 'nan'
            raise ValueError(expected_for(spec))
    elif spec.form == "urls":
        value = tuple(text.split())
    else:
        value = text
    problem = _value_problem(spec, value)
    if problem:
        raise ValueError(problem)
    return value


def coerce_value(spec: Field, value: Any) -> Any:
    """Check a value given in a scenario (YAML scalar or list) for ``spec``.

    Numbers may be given as numbers or text, booleans as bools or text, ``sources`` as a
    list or a space-separated string; None means unknown. Raises ValueError with the
    expectation.
    """
    if value is None or isinstance(value, str):
        return parse_cell(spec, value or "")
    if spec.kind == "bool":
        if isinstance(value, bool):
            return value
        raise ValueError(expected_for(spec))
    if spec.kind == "float":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(expected_for(spec))
        return parse_cell(spec, repr(float(value)))
    if spec.form == "urls" and isinstance(value, list | tuple):
        if not all(isinstance(v, str) for v in value):
            raise ValueError(expected_for(spec))
        return parse_cell(spec, " ".join(value))
    raise ValueError(expected_for(spec))


def release_date(value: Any) -> dt.date | None:
    """First day a SKU can be bought: its ``release`` (``YYYY`` → 1 Jan, ``YYYY-MM`` → the 1st).

    None for an empty or unreadable value (the release is then unknown).
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    text = str(value).strip()
    if not text:
        return None
    try:
        if len(text) == 4:
            return dt.date(int(text), 1, 1)
        year, month = text.split("-")[:2]
        return dt.date(int(year), int(month), 1)
    except ValueError:
        return None


# --------------------------------------------------------------------------------------------
# The catalog


@dataclass(frozen=True)
class Catalog:
    """Accelerator records from one or more catalog files.

    Attributes
    ----------
    records
        One :class:`Accelerator` per SKU, in file order.
    labels
        SKU id → the catalog it came from (bundled name or file path): the frame's
        ``catalog`` column.
    locations
        SKU id → ``(file, row number)`` of its row, for error messages.
    """

    records: tuple[Accelerator, ...]
    labels: Mapping[str, str]
    locations: Mapping[str, tuple[str, int]]

    def where(self, sku: str) -> str:
        """``"<file> row N"``: where ``sku``'s row is."""
        return _where(*self.locations[sku])

    @property
    def ids(self) -> list[str]:
        """SKU ids in catalog order."""
        return [r.id for r in self.records]

    @property
    def vendors(self) -> list[str]:
        """Distinct vendors in catalog order."""
        return list(dict.fromkeys(r.vendor for r in self.records))

    def __len__(self) -> int:
        return len(self.records)

    def __iter__(self) -> Iterator[Accelerator]:
        return iter(self.records)

    def __contains__(self, sku: object) -> bool:
        return sku in self._by_id

    @cached_property
    def _by_id(self) -> dict[str, Accelerator]:
        return {r.id: r for r in self.records}

    def get(self, sku: str) -> Accelerator:
        """The record of ``sku``; InputError with a did-you-mean hint when unknown."""
        try:
            return self._by_id[sku]
        except KeyError:
            raise InputError(
                "unknown SKU", value=sku, hint=unknown_name_hint(sku, self._by_id)
            ) from None

    @cached_property
    def frame(self) -> pd.DataFrame:
        """One row per SKU indexed by ``id``: every FIELDS column plus ``catalog`` and ``bounds``.

        Numeric columns are float64 with NaN for unknown and the documented defaults filled
        (``supply_per_quarter`` NaN = unlimited); ``datacenter`` is bool, ``us_available``
        True / False / None (unknown); ``sources`` is the space-separated text; ``bounds``
        holds, per row, ``{column: Bound}`` for figures known only as a bound (their column
        is NaN) or None. Treat it as read-only (it is cached).
        """
        rows = [_frame_row(r) for r in self.records]
        columns = [name for name in FIELDS if name != "id"]
        frame = pd.DataFrame(rows, columns=["id", *columns], dtype=object)
        frame = frame.set_index("id")
        for name in columns:
            spec = FIELDS[name]
            if spec.kind == "float":
                frame[name] = pd.to_numeric(frame[name]).astype("float64")
                if spec.default is not None:
                    # a bound is not a missing figure: keep the column unknown (NaN) there
                    bounded = frame.index.isin([r.id for r in self.records if name in r.bounds])
                    frame[name] = frame[name].where(bounded, frame[name].fillna(spec.default))
            elif spec.kind == "bool":
                if spec.required:
                    frame[name] = frame[name].astype(bool)
                else:  # True / False / None (unknown)
                    frame[name] = frame[name].astype(object).where(frame[name].notna(), None)
        frame["catalog"] = [self.labels[r.id] for r in self.records]
        frame["bounds"] = pd.Series(
            [dict(r.bounds) if r.bounds else None for r in self.records],
            index=frame.index, dtype=object,
        )
        return frame

    def with_overrides(
        self,
        overrides: Mapping[str, Mapping[str, Any]],
        *,
        file: str | Path | None = None,
        location_prefix: str = "overrides",
    ) -> Catalog:
        """A new catalog with scenario ``overrides`` (``{sku: {field: value}}``) applied.

        Errors name ``file`` and the key path ``<location_prefix>.<sku>.<field>``.
        """
        if not overrides:
            return self
        updated = dict(self._by_id)
        for sku, fields in overrides.items():
            where = f"{location_prefix}.{sku}"
            if sku not in updated:
                raise InputError(
                    "unknown SKU", file=file, location=where, value=sku,
                    expected="a SKU of the scenario's catalogs",
                    hint=unknown_name_hint(sku, updated),
                )
            changes = {
                name: override_value(name, value, file=file, where=f"{where}.{name}")
                for name, value in fields.items()
            }
            record = updated[sku]
            current: dict[str, Any] = {name: getattr(record, name) for name in FIELDS}
            current.update(record.bounds)  # a bound stands where its column's value would
            current.update(changes)  # an override replaces the value or the bound
            updated[sku] = Accelerator.model_validate(_record_data(current))
        records = tuple(updated[r.id] for r in self.records)
        return Catalog(records, self.labels, self.locations)


def _frame_row(record: Accelerator) -> list[Any]:
    row: list[Any] = [record.id]
    for name in list(FIELDS)[1:]:
        value = getattr(record, name)
        if name == "sources":
            value = " ".join(value)
        elif name == "notes":
            value = value or ""
        row.append(value)
    return row


def override_value(name: str, value: Any, *, file: str | Path | None, where: str) -> Any:
    """Check one scenario override of catalog field ``name``; returns the typed value.

    Raises InputError naming ``file`` and the key path ``where`` for an unknown field (with
    a did-you-mean hint), for ``id``, or for a value the field does not accept.
    """
    spec = FIELDS.get(name)
    if name == "id":
        raise InputError("the id cannot be overridden", file=file, location=where)
    if spec is None:
        known = [n for n in FIELDS if n != "id"]
        raise InputError("unknown catalog field", file=file, location=where, value=name,
                         hint=unknown_name_hint(name, known))
    try:
        return coerce_value(spec, value)
    except ValueError as exc:
        raise InputError(file=file, location=where, value=value, expected=str(exc)) from None


# --------------------------------------------------------------------------------------------
# Finding catalogs


def bundled_catalogs() -> dict[str, Path]:
    """Bundled catalog name → CSV path (``catalogs/<name>.csv``), sorted by name."""
    try:
        folder = catalogs_dir()
    except FileNotFoundError:
        return {}
    return {p.stem: p for p in sorted(folder.glob("*.csv"))}


def bundled_names() -> list[str]:
    """Names a scenario may use for bundled catalogs, aliases included."""
    return sorted({*bundled_catalogs(), *ALIASES})


def looks_like_path(source: str | Path) -> bool:
    """True when ``source`` names a file rather than a bundled catalog."""
    if isinstance(source, Path):
        return True
    return "/" in source or "\\" in source or Path(source).suffix.lower() in (".csv", ".xlsx")


def resolve_source(source: str | Path, base_dir: str | Path | None = None) -> tuple[str, Path]:
    """``(label, path)`` of a catalog source: a bundled name or a file path.

    A bundled name keeps its name as label (an alias maps to its catalog's name); a path is
    resolved against ``base_dir`` (default: the current folder) and labelled by its absolute
    path. Raises InputError for an unknown name or a missing file.
    """
    if not looks_like_path(source):
        name = ALIASES.get(str(source), str(source))
        bundled = bundled_catalogs()
        if name in bundled:
            return name, bundled[name]
        existing = Path(base_dir or ".") / str(source)
        if existing.is_file():  # e.g. "mine.txt": a file, but not a catalog type
            raise InputError("unsupported file type", file=existing.resolve(),
                             value=existing.suffix, expected="a .csv or .xlsx file")
        raise InputError(
            "unknown catalog", value=str(source),
            expected="a bundled catalog name or a path to a .csv/.xlsx file",
            hint=_bundled_hint(str(source)),
        )
    path = Path(source).expanduser()
    if not path.is_absolute() and base_dir is not None:
        path = Path(base_dir) / path
    path = Path(os.path.abspath(path))  # the name given (a symlink is read, not renamed)
    if not input_exists(path):
        raise InputError("catalog file not found", file=path)
    return str(path), path


def _bundled_hint(name: str) -> str:
    names = bundled_names()
    best = closest(name, names)
    listing = "bundled: " + (", ".join(names) or "none")
    return f"did you mean '{best}'? {listing}" if best else listing


# --------------------------------------------------------------------------------------------
# Reading files


def load_catalog(source: str | Path, *, base_dir: str | Path | None = None) -> Catalog:
    """Load one catalog.

    A bundled name (``nvidia``, ``china``, alias ``domestic``) or a ``.csv`` / ``.xlsx``
    path (relative paths resolve against ``base_dir``).

    Raises
    ------
    InputError
        An unknown name, a missing or unreadable file, every bad cell (file, row, column,
        value, expectation).
    ArgumentError
        ``source`` is not a name or a path (also a ``TypeError``).
    """
    require("chipmix.load_catalog", "source", source, (str, Path),
            "a bundled catalog name or a .csv/.xlsx path")
    return _load_file(*resolve_source(source, base_dir))


def load_catalogs(
    sources: Iterable[str | Path], *, base_dir: str | Path | None = None
) -> Catalog:
    """Load several catalogs into one.

    An id present in two of them is an InputError naming both files. A catalog named twice
    (e.g. ``china`` and ``domestic``) is loaded once.

    Raises
    ------
    InputError
        As :func:`load_catalog`.
    ArgumentError
        ``sources`` is not a list of names or paths (also a ``TypeError``).
    """
    sources = require_texts("chipmix.load_catalogs", "sources", sources,
                            "a list of bundled catalog names or .csv/.xlsx paths", paths=True)
    files: dict[Path, str] = {}
    for source in sources:
        label, path = resolve_source(source, base_dir)
        files.setdefault(path, label)
    records: list[Accelerator] = []
    labels: dict[str, str] = {}
    locations: dict[str, tuple[str, int]] = {}
    for path, label in files.items():
        catalog = _load_file(label, path)
        for record in catalog.records:
            if record.id in locations:
                raise InputError(
                    f"duplicate id: also in {_where(*locations[record.id])}",
                    file=path, location=f"row {catalog.locations[record.id][1]}",
                    field="column 'id'", value=record.id,
                    expected="ids unique across a scenario's catalogs",
                )
            locations[record.id] = catalog.locations[record.id]
            labels[record.id] = label
            records.append(record)
    return Catalog(tuple(records), labels, locations)


def _where(file: str, row: int) -> str:
    return f"{file} row {row}"


#: parsed catalog files (least recently used dropped first), see :func:`_load_file`
PARSED_FILES = 16
_PARSED: OrderedDict[tuple[str, str, int, str], Catalog] = OrderedDict()
_PARSED_LOCK = threading.Lock()


def _load_file(label: str, path: Path) -> Catalog:
    """One catalog file, read (and recorded as an input) every time, parsed once per content.

    A sweep's or stress run's variants each check their references against the same files:
    the parse of the same bytes under the same label, path and ``file-bytes`` limit is kept.
    """
    data = _read_bytes(path)
    key = (label, str(path), limits.get("file-bytes"),
           hashlib.blake2b(data, digest_size=16).hexdigest())
    with _PARSED_LOCK:
        hit = _PARSED.get(key)
        if hit is not None:
            _PARSED.move_to_end(key)
    if hit is not None:
        return Catalog(hit.records, dict(hit.labels), dict(hit.locations))
    catalog = _parse_file(label, path, data)
    with _PARSED_LOCK:
        _PARSED[key] = catalog
        while len(_PARSED) > PARSED_FILES:
            _PARSED.popitem(last=False)
    return Catalog(catalog.records, dict(catalog.labels), dict(catalog.locations))


def _read_bytes(path: Path) -> bytes:
    suffix = path.suffix.lower()
    if suffix not in (".xlsx", ".csv"):
        raise InputError("unsupported file type", file=path, value=path.suffix,
                         expected="a .csv or .xlsx file")
    return read_input(path, what="workbook" if suffix == ".xlsx" else "CSV")


def _parse_file(label: str, path: Path, data: bytes) -> Catalog:
    table = _read_table(path, data)
    records: list[Accelerator] = []
    rows: dict[str, int] = {}
    for row_number, cells in _data_rows(path, table):
        record = _parse_row(path, row_number, cells)
        if record.id in rows:
            raise InputError(
                "duplicate id", file=path, location=f"row {row_number}", field="column 'id'",
                value=record.id, expected=f"ids unique in a file (first in row {rows[record.id]})",
            )
        rows[record.id] = row_number
        records.append(record)
    return Catalog(
        tuple(records),
        {r.id: label for r in records},
        {sku: (str(path), row) for sku, row in rows.items()},
    )


def _read_table(path: Path, data: bytes) -> list[list[str]]:
    """Every row of the file (header first, its bytes ``data``) as lists of cell texts."""
    suffix = path.suffix.lower()  # .xlsx or .csv: _read_bytes refused the others
    rows = _read_xlsx(path, data) if suffix == ".xlsx" else _read_csv(path, data)
    if not rows or not any(cell.strip() for row in rows for cell in row):
        what = "the first sheet is empty" if suffix == ".xlsx" else "file is empty"
        raise InputError(what, file=path,
                         expected=f"a header row ({', '.join(REQUIRED_COLUMNS)}, ...) and SKU rows")
    return rows


def _read_csv(path: Path, data: bytes) -> list[list[str]]:
    """Every record of the CSV as text cells.

    The csv module rather than pandas: pandas' parser stops at a row with too many cells
    and reports a *line* number, while errors here name spreadsheet rows (a quoted cell may
    span lines).
    """
    text = decode_text(data, path, what="CSV")
    if "\x00" in text:  # a binary file (a workbook saved as .csv?) or UTF-16 text
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise InputError("contains NUL bytes", file=path, location=f"line {line}",
                         expected="a UTF-8 CSV text file (not a workbook or UTF-16 text)")
    # strict: a stray quote is an error, not a silently merged cell or a swallowed file tail
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows: list[list[str]] = []
    try:
        for row in reader:
            rows.append(row)
    except csv.Error as exc:
        where = f"row {len(rows) + 1}"
        if "unexpected end of data" in str(exc):
            raise InputError("a quoted cell is never closed", file=path, location=where,
                             expected='a closing " for each opening " (write "" for a quote '
                                      "inside a quoted cell)") from None
        raise InputError(f"cannot parse as CSV ({exc})", file=path, location=where,
                         expected='cells separated by commas; a quoted cell "..." ends at a comma '
                                  "or the end of the line") from None
    return rows


def _read_xlsx(path: Path, data: bytes) -> list[list[str]]:
    """The first sheet's cells as text (numbers as written, booleans as true/false).

    openpyxl directly rather than pandas: pandas turns an error cell (``#DIV/0!``) and a
    formula without a saved value into an empty cell, i.e. *unknown*, without a word.
    """
    expected = "an .xlsx workbook (the first sheet is read)"
    try:
        with zipfile.ZipFile(BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError) as exc:
        raise InputError(f"cannot read as an Excel workbook ({type(exc).__name__}: {exc})",
                         file=path, expected=expected) from None
    limits.check("file-bytes", unpacked, what=f"workbook of {unpacked:,} bytes unpacked",
                 file=path)
    import openpyxl  # lazy: openpyxl only for .xlsx catalogs

    try:
        values_book = openpyxl.load_workbook(BytesIO(data), read_only=True, data_only=True)
        formula_book = openpyxl.load_workbook(BytesIO(data), read_only=True, data_only=False)
        try:
            values = [list(r) for r in values_book.worksheets[0].iter_rows()]
            formulas = [list(r) for r in formula_book.worksheets[0].iter_rows()]
        finally:
            values_book.close()
            formula_book.close()
    except Exception as exc:  # openpyxl raises many types for a bad workbook
        raise InputError(f"cannot read as an Excel workbook ({type(exc).__name__}: {exc})",
                         file=path, expected=expected) from None
    rows: list[list[str]] = []
    for number, (row, formula_row) in enumerate(zip(values, formulas, strict=False), start=1):
        texts = []
        for position, cell in enumerate(row):
            value = getattr(cell, "value", None)
            where = f"row {number}"
            field = f"cell {_column_letter(position)}{number}"
            if getattr(cell, "data_type", None) == "e":
                raise InputError("spreadsheet error in a cell", file=path, location=where,
                                 field=field, value=value, expected="a value (fix the formula)")
            formula = formula_row[position] if position < len(formula_row) else None
            if value is None and getattr(formula, "data_type", None) == "f":
                raise InputError(
                    "formula without a saved value", file=path, location=where, field=field,
                    value=getattr(formula, "value", None), expected="a value",
                    hint="open and save the workbook in a spreadsheet program, or paste values",
                )
            texts.append(_xlsx_text(value))
        rows.append(texts)
    return rows


def _xlsx_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    return str(value)


def _column_letter(position: int) -> str:
    letters = ""
    position += 1
    while position:
        position, rest = divmod(position - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def _data_rows(path: Path, table: list[list[str]]) -> Iterator[tuple[int, dict[str, str]]]:
    """``(row number, {column: text})`` per non-blank data row; the header is row 1."""
    header = _check_header(path, table[0])
    if not any(any(c.strip() for c in row) for row in table[1:]):
        raise InputError("no SKU rows below the header", file=path,
                         expected="at least one data row")
    for index, row in enumerate(table[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        extra = [c for c in row[len(header):] if c.strip()]
        if extra:
            raise InputError("more cells than header columns", file=path, location=f"row {index}",
                             value=extra[0], expected=f"at most {len(header)} cells")
        padded = list(row) + [""] * (len(header) - len(row))
        yield index, dict(zip(header, padded, strict=False))


def _check_header(path: Path, raw: list[str]) -> list[str]:
    header = [c.strip() for c in raw]
    while header and not header[-1]:
        header.pop()  # trailing empty cells of a spreadsheet export
    where = "row 1 (header)"
    if not header:
        raise InputError("row 1 is empty", file=path, location=where,
                         expected=f"the header row ({', '.join(REQUIRED_COLUMNS)}, ...)")
    if len(header) == 1 and any(sep in header[0] for sep in ";\t"):
        sep = "';'" if ";" in header[0] else "tab"
        raise InputError(f"the file looks {sep}-separated", file=path, location=where,
                         value=header[0][:60], expected="comma-separated values",
                         hint="export as CSV with ',' as the delimiter")
    seen: set[str] = set()
    for position, name in enumerate(header, start=1):
        if not name:
            raise InputError("empty column name", file=path, location=where,
                             field=f"column {position}", expected="a column name")
        if name in seen:
            raise InputError("duplicate column", file=path, location=where,
                             field=f"column '{name}'", expected="each column once")
        seen.add(name)
        if name not in FIELDS:
            best = closest(name.lower(), FIELDS)
            raise InputError("unknown column", file=path, location=where, field=f"column '{name}'",
                             expected="a catalog column (see formats.md)",
                             hint=f"did you mean '{best}'?" if best else None)
    missing = [name for name in REQUIRED_COLUMNS if name not in seen]
    if missing:
        raise InputError("missing required column" + ("s" if len(missing) > 1 else ""),
                         file=path, location=where, field=", ".join(f"'{m}'" for m in missing),
                         expected=f"columns {', '.join(REQUIRED_COLUMNS)}")
    return header


def _parse_row(path: Path, row_number: int, cells: Mapping[str, str]) -> Accelerator:
    values: dict[str, Any] = {}
    for name, text in cells.items():
        try:
            values[name] = parse_cell(FIELDS[name], text)
        except ValueError as exc:
            raise InputError(file=path, location=f"row {row_number}", field=f"column '{name}'",
                             value=text.strip(), expected=str(exc)) from None
    return Accelerator.model_validate(_record_data(values))


def _record_data(values: Mapping[str, Any]) -> dict[str, Any]:
    """Cell values (numbers, texts, :class:`Bound` objects, None) as Accelerator data."""
    data: dict[str, Any] = {}
    bounds: dict[str, Bound] = {}
    for name, value in values.items():
        if isinstance(value, Bound):
            bounds[name] = value
        elif value is not None:
            data[name] = value
    if bounds:
        data["bounds"] = bounds
    return data
