"""Cross-check the catalogs against Epoch AI's public "Machine Learning Hardware" dataset.

Epoch AI publishes one CSV row per accelerator (``Hardware name``, ``Manufacturer``,
``Release date``, ``Release price (USD)``, ``Tensor-FP16/BF16 performance (FLOP/s)``, ...;
https://epoch.ai/data/machine-learning-hardware). :func:`crosscheck` matches its rows to the
catalog's by name and compares every figure both sides have, converted to the catalog's units,
within a relative tolerance. It reports each figure that differs, each catalog SKU the file
does not have, and each row of the file, from a manufacturer the catalogs carry, that no
catalog SKU matches. Rows of other manufacturers (TPUs, Trainium, ...) are counted, not listed.

Matching: a catalog SKU's *model tokens* are the tokens with a digit in its id after the vendor
slug (``nvidia-rtx-4090d`` → ``4090d``); a file row is a candidate when its manufacturer names
the SKU's vendor and its name has every model token as a whole token (a one-letter token
after a number joins it: ``RTX 4090 D`` → ``4090d``). Several candidates: the name most like the
SKU's name wins; only when no name has the tokens exactly, a token with a short letter prefix
counts (``MXC500`` for ``c500``). The tokens are a heuristic; ``aliases``
(``{sku: "Hardware name"}``) pins a match by hand.
"""

from __future__ import annotations

import csv
import datetime as dt
import difflib
import io
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chipmix.errors import InputError
from chipmix.inputs.catalog import Bound, Catalog, release_date
from chipmix.inputs.yamlio import read_text

NAME, MAKER, RELEASE = "Hardware name", "Manufacturer", "Release date"

#: Epoch column -> (catalog metric, divisor to the catalog's unit, what it is).
FIGURES: dict[str, tuple[str, float, str]] = {
    "Release price (USD)": ("price_usd", 1.0, "price, USD"),
    "Tensor-FP16/BF16 performance (FLOP/s)": ("fp16_bf16", 1e12, "dense FP16/BF16 TFLOPS"),
    "FP8 performance (FLOP/s)": ("fp8_dense_tflops", 1e12, "dense FP8 TFLOPS"),
    "FP4 performance (FLOP/s)": ("fp4_dense_tflops", 1e12, "dense FP4 TFLOPS"),
    "INT8 performance (OP/s)": ("int8_dense_tops", 1e12, "dense INT8 TOPS"),
    "Memory (bytes)": ("memory_gb", 1e9, "memory, GB"),
    "Memory bandwidth (byte/s)": ("memory_bw_tbps", 1e12, "memory bandwidth, TB/s"),
    "TDP (W)": ("tdp_w", 1.0, "TDP, W"),
    "Die Size (mm^2)": ("die_area_mm2", 1.0, "die area, mm²"),
    "Total processing performance (bit-OP/s)": ("tpp", 1e12, "TPP"),
}
REQUIRED = (NAME, MAKER)

#: Default relative tolerance: 5 % (figures are rounded differently on the two sides).
TOLERANCE = 0.05


@dataclass(frozen=True)
class Difference:
    """One finding: a figure that differs, or a SKU only one side has."""

    kind: str  # "figure" | "missing_in_file" | "missing_in_catalog" | "release"
    sku: str | None
    hardware: str | None
    field: str | None = None
    catalog: Any = None
    file: Any = None
    detail: str = ""

    def __str__(self) -> str:
        if self.kind == "missing_in_file":
            return f"{self.sku}: not in the file"
        if self.kind == "missing_in_catalog":
            return f"'{self.hardware}': not in the catalogs"
        return f"{self.sku} ~ '{self.hardware}': {self.field}: {self.detail}"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "sku": self.sku, "hardware": self.hardware,
                "field": self.field, "catalog": self.catalog, "file": self.file,
                "detail": self.detail}


@dataclass
class CrossCheck:
    """The result: matches (sku -> hardware name), differences, and what was only noted."""

    file: str
    tolerance: float
    matches: dict[str, str] = field(default_factory=dict)
    differences: list[Difference] = field(default_factory=list)
    only_in_file: list[str] = field(default_factory=list)  # figures the catalog leaves empty
    ignored_rows: int = 0  # rows of manufacturers the catalogs do not carry

    @property
    def ok(self) -> bool:
        return not self.differences

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "tolerance": self.tolerance, "ok": self.ok,
                "matches": dict(self.matches),
                "differences": [d.to_dict() for d in self.differences],
                "only_in_file": list(self.only_in_file), "ignored_rows": self.ignored_rows}


# ---------------------------------------------------------------------------------- reading


def read_epoch_csv(path: str | Path) -> list[dict[str, str]]:
    """The rows of an Epoch-layout CSV as dicts of cell texts; InputError for a bad file."""
    path = Path(path)
    if not path.is_file():
        raise InputError("file not found", file=path, expected="an Epoch AI ML hardware CSV")
    text = read_text(path, what="CSV")
    try:
        rows = list(csv.DictReader(io.StringIO(text, newline=""), strict=True))
    except csv.Error as exc:
        raise InputError(f"cannot parse as CSV ({exc})", file=path,
                         expected="comma-separated values") from None
    header = rows[0].keys() if rows else next(csv.reader(io.StringIO(text)), [])
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise InputError("missing column" + ("s" if len(missing) > 1 else ""), file=path,
                         location="row 1 (header)", field=", ".join(f"'{c}'" for c in missing),
                         expected="Epoch AI's ML hardware layout ('Hardware name', "
                         "'Manufacturer', 'Release date', ... figures in FLOP/s, bytes, W)")
    for number, row in enumerate(rows, start=2):
        for column, (_, _, what) in FIGURES.items():
            cell = (row.get(column) or "").strip()
            if cell and _number(cell) is None:
                raise InputError(file=path, location=f"row {number}", field=f"column '{column}'",
                                 value=cell, expected=f"a number ({what} before conversion)")
        date = (row.get(RELEASE) or "").strip()
        if date and _date(date) is None:
            raise InputError(file=path, location=f"row {number}", field=f"column '{RELEASE}'",
                             value=date, expected="a date YYYY-MM-DD (or YYYY-MM, YYYY)")
    return rows


def _number(text: str) -> float | None:
    try:
        value = float(text.replace(",", ""))
    except ValueError:
        return None
    return value if math.isfinite(value) and value >= 0 else None


def _date(text: str) -> dt.date | None:
    return release_date(text[:7]) if re.match(r"^\d{4}(-\d{2}(-\d{2})?)?$", text) else None


# ---------------------------------------------------------------------------------- matching


def _tokens(text: str) -> list[str]:
    raw = re.findall(r"[a-z0-9]+", text.casefold())
    out: list[str] = []
    for token in raw:
        if len(token) == 1 and token.isalpha() and out and any(c.isdigit() for c in out[-1]):
            out[-1] += token  # "4090 d" -> "4090d"
        else:
            out.append(token)
    return out


def model_tokens(sku: str) -> set[str]:
    """The digit-bearing tokens of a SKU id after its vendor slug (``nvidia-h200`` → h200)."""
    parts = sku.split("-")[1:] or sku.split("-")
    return {t for t in _tokens(" ".join(parts)) if any(c.isdigit() for c in t)}


def _vendor_matches(vendor: str, maker: str, name: str) -> bool:
    v = "".join(_tokens(vendor))
    return bool(v) and (v in "".join(_tokens(maker)) or v in "".join(_tokens(name)))


# ---------------------------------------------------------------------------------- comparing


def crosscheck(
    catalog: Catalog,
    path: str | Path,
    *,
    metrics: Mapping[str, Mapping[str, Any]] | None = None,
    tolerance: float = TOLERANCE,
    aliases: Mapping[str, str] | None = None,
) -> CrossCheck:
    """Compare ``catalog`` with the Epoch-layout CSV at ``path``.

    ``metrics`` may give derived figures per SKU (``{"tpp": ...}``, e.g. from the rules'
    ``derive_metrics``) to compare with the file's TPP; without it the catalog's own ``tpp``
    column is used. ``tolerance`` is relative (0.05 = 5 %) and applies to every figure;
    release dates compare by year.
    """
    if not (isinstance(tolerance, (int, float)) and 0 <= tolerance < 1):
        raise InputError(field="--tolerance", value=tolerance, expected="a share in [0, 1)")
    rows = read_epoch_csv(path)
    result = CrossCheck(file=str(path), tolerance=float(tolerance))
    by_name = {(r.get(NAME) or "").strip(): r for r in rows}
    vendors = catalog.vendors
    relevant = [r for r in rows
                if any(_vendor_matches(v, r.get(MAKER) or "", r.get(NAME) or "") for v in vendors)]
    result.ignored_rows = len(rows) - len(relevant)
    taken: set[str] = set()
    aliases = dict(aliases or {})
    for sku in catalog.ids:
        record = catalog.get(sku)
        hardware = aliases.get(sku)
        if hardware is not None and hardware not in by_name:
            raise InputError(message="no such hardware name in the file", field="--alias",
                             value=f"{sku}={hardware}", hint=f"file {path}")
        if hardware is None:
            hardware = _best_match(record.id, record.vendor, record.name, relevant, taken)
        if hardware is None:
            result.differences.append(Difference("missing_in_file", sku, None))
            continue
        taken.add(hardware)
        result.matches[sku] = hardware
        _compare(result, catalog, sku, by_name[hardware], hardware,
                 (metrics or {}).get(sku, {}), tolerance)
    for row in relevant:
        name = (row.get(NAME) or "").strip()
        if name not in taken:
            result.differences.append(Difference("missing_in_catalog", None, name))
    return result


def _best_match(sku: str, vendor: str, name: str, rows: list[dict[str, str]],
                taken: set[str]) -> str | None:
    wanted = model_tokens(sku)
    if not wanted:
        return None
    exact, prefixed = [], []
    for row in rows:
        hardware = (row.get(NAME) or "").strip()
        if hardware in taken or not _vendor_matches(vendor, row.get(MAKER) or "", hardware):
            continue
        tokens = set(_tokens(hardware))
        score = difflib.SequenceMatcher(
            None, " ".join(_tokens(name)), " ".join(_tokens(hardware))).ratio()
        extra = len({t for t in tokens if any(c.isdigit() for c in t)} - wanted)
        if wanted <= tokens:
            exact.append((extra, -score, hardware))
        elif all(any(t.endswith(w) and t[: -len(w)].isalpha() and len(t) - len(w) <= 2
                     for t in tokens) for w in wanted):
            prefixed.append((extra, -score, hardware))  # "MXC500" for c500: a vendor prefix
    candidates = exact or prefixed
    return min(candidates)[2] if candidates else None


def _ours(catalog: Catalog, sku: str, metric: str, metrics: Mapping[str, Any]
          ) -> float | Bound | None:
    """The catalog's figure for ``metric``: a number, a Bound, or None."""
    record = catalog.get(sku)
    if metric == "fp16_bf16":
        values = [v for v in (record.bf16_dense_tflops, record.fp16_dense_tflops) if v is not None]
        return max(values) if values else None
    if metric == "tpp" and metrics.get("tpp") is not None:
        value = metrics["tpp"]
        if not (isinstance(value, float) and math.isnan(value)):
            return float(value)
    bound = record.bound(metric)
    figure: float | None = getattr(record, metric)
    return bound if bound is not None else figure


def _compare(result: CrossCheck, catalog: Catalog, sku: str, row: Mapping[str, str],
             hardware: str, metrics: Mapping[str, Any], tolerance: float) -> None:
    for column, (metric, divisor, what) in FIGURES.items():
        cell = (row.get(column) or "").strip()
        if not cell:
            continue
        theirs = float(cell.replace(",", "")) / divisor
        ours = _ours(catalog, sku, metric, metrics)
        label = "fp16/bf16" if metric == "fp16_bf16" else metric
        if ours is None:
            result.only_in_file.append(f"{sku}: {label} {theirs:g} in the file, empty here")
            continue
        if isinstance(ours, Bound):  # a bound: the file's number must satisfy it
            if not ours.admits(theirs):
                result.differences.append(Difference(
                    "figure", sku, hardware, label, ours.cell(), theirs,
                    f"catalog bound {ours.cell()} excludes the file's {theirs:g} ({what})"))
            continue
        scale = max(abs(float(ours)), abs(theirs))
        if scale and abs(float(ours) - theirs) > tolerance * scale:
            share = abs(float(ours) - theirs) / scale
            result.differences.append(Difference(
                "figure", sku, hardware, label, float(ours), theirs,
                f"catalog {float(ours):g}, file {theirs:g} ({what}; {share:.1%} apart)"))
    date = (row.get(RELEASE) or "").strip()
    record = catalog.get(sku)
    ours_date, theirs_date = release_date(record.release), _date(date) if date else None
    if ours_date and theirs_date and ours_date.year != theirs_date.year:
        result.differences.append(Difference(
            "release", sku, hardware, "release", record.release, date,
            f"catalog {record.release}, file {date} (years differ)"))
