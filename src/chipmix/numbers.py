"""The one number policy of chipmix's outputs: every figure a file or table carries.

A solver's answer carries noise in its last bits (another thread count, another process);
written as it is, the same plan would not give the same bytes. Every number that leaves
chipmix — plan JSON (formats.md), sensitivities, diagnoses, stress and substitution JSON,
sweep and compare tables — goes through :func:`rounded`:

- kept to :data:`DIGITS` (12) significant digits: far more than any input is known to, far
  fewer than a double's 15-17, so last-bit noise never shows;
- anything smaller in magnitude than :data:`ZERO` (1e-12) is written ``0.0`` (never ``-0.0``);
- in JSON (:func:`json_number`) NaN and ±inf become ``null`` (JSON has neither); in tables
  (:func:`table_number`) NaN stays NaN (pandas' missing value).

Presentation (money and percentages a person reads) is :mod:`chipmix.present.formatting`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

#: Significant digits kept for every number an output carries.
DIGITS = 12
#: Magnitudes below this are written as zero.
ZERO = 1e-12


def rounded(value: float) -> float:
    """``value`` to :data:`DIGITS` significant digits, tiny magnitudes as ``0.0``.

    NaN and ±inf come back unchanged.
    """
    value = float(value)
    if not math.isfinite(value):
        return value
    r = float(f"{value:.{DIGITS}g}")
    return 0.0 if abs(r) < ZERO else r


def json_number(value: Any) -> Any:
    """A value ready for JSON.

    Floats :func:`rounded` (NaN, ±inf → None), numpy scalars as Python numbers; anything
    else (text, bool, None, int) unchanged.
    """
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        value = float(value)
        return rounded(value) if math.isfinite(value) else None
    return value


def json_data(value: Any) -> Any:
    """:func:`json_number` applied throughout nested dicts, lists and tuples."""
    if isinstance(value, dict):
        return {k: json_data(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_data(v) for v in value]
    return json_number(value)


def table_number(value: Any) -> Any:
    """A value for a results table: finite floats :func:`rounded`, NaN kept; others as is."""
    if isinstance(value, float | np.floating) and not isinstance(value, bool):
        return rounded(float(value))
    return value


__all__ = ["DIGITS", "ZERO", "json_data", "json_number", "rounded", "table_number"]
