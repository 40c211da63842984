"""Caps on what a typo can ask for, each with a way to lift it.

A horizon ending in ``3023Q4`` instead of ``2023Q4``, two 10,000-value ``--vary`` axes, or
``frontier --steps 1000000`` would run for hours or exhaust memory before anyone noticed the
slip. chipmix refuses such requests up front with a :class:`LimitError` that names the figure,
the cap and how to lift it::

    error: s.yaml: horizon: 4,000 periods (2024Q1..3023Q4); at most 400
    (raise the limit with --limit periods=N)

=================  ==========  ==============================================================
name               default     what it caps
=================  ==========  ==============================================================
``periods``        400         periods in a horizon (100 years of quarters, 33 of months)
``variants``       10,000      variants of one ``sweep`` (the product of the ``--vary`` axes)
``steps``          200         points of a ``frontier`` curve (``--steps``)
``draws``          100,000     random draws of one ``stress`` run (``--draws``)
``workers``        64          local worker processes (``--workers``; use Dask beyond)
``set-chars``      65,536      characters of one ``--set`` / ``--vary`` value
``file-bytes``     64 MiB      size of any input file (and a workbook's unpacked size)
=================  ==========  ==============================================================

From the command line, ``--limit NAME=N`` (repeatable, before or after the sub-command)
sets a cap for that run; in Python, ``with chipmix.limits.raised(periods=2000): ...``.
Limits hold per thread/context (a ``contextvars.ContextVar``); worker processes of a sweep get
the caller's limits with the job.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chipmix.errors import ArgumentError, InputError, unknown_name_hint


@dataclass(frozen=True)
class Limit:
    """One cap: its default and what it counts (for messages)."""

    name: str
    default: int
    unit: str
    what: str


LIMITS: dict[str, Limit] = {
    limit.name: limit
    for limit in (
        Limit("periods", 400, "periods", "periods in a horizon"),
        Limit("variants", 10_000, "variants", "variants of one sweep"),
        Limit("steps", 200, "steps", "points of a frontier curve"),
        Limit("draws", 100_000, "draws", "random draws of one stress run"),
        Limit("workers", 64, "workers", "local worker processes"),
        Limit("set-chars", 65_536, "characters", "characters of one --set or --vary value"),
        Limit("file-bytes", 64 * 1024 * 1024, "bytes", "bytes of one input file"),
    )
}

_CURRENT: contextvars.ContextVar[Mapping[str, int] | None] = contextvars.ContextVar(
    "chipmix_limits", default=None)


class LimitError(InputError):
    """A request beyond a cap; the message names the cap and ``--limit NAME=N``."""

    def __init__(self, name: str, message: str, *, file: str | Path | None = None,
                 location: str | None = None, field: str | None = None) -> None:
        self.limit = name
        super().__init__(message, file=file, location=location, field=field,
                         expected=f"at most {get(name):,}",
                         hint=f"raise the limit with --limit {name}=N")


def get(name: str) -> int:
    """The cap ``name`` in effect (see the module docstring)."""
    current = _CURRENT.get()
    if current is not None and name in current:
        return current[name]
    return LIMITS[name].default


def current() -> dict[str, int]:
    """The caps that differ from their defaults (plain data, e.g. for a worker process)."""
    return dict(_CURRENT.get() or {})


def check(name: str, value: int, *, what: str | None = None, file: str | Path | None = None,
          location: str | None = None, field: str | None = None) -> None:
    """Raise :class:`LimitError` when ``value`` is above the cap ``name``.

    ``what`` describes the figure (default ``"N <unit>"``), e.g. ``"4,000 periods
    (2024Q1..3023Q4)"``.
    """
    if value > get(name):
        text = what or f"{value:,} {LIMITS[name].unit}"
        raise LimitError(name, text, file=file, location=location, field=field)


@contextlib.contextmanager
def using(values: Mapping[str, int] | None) -> Iterator[None]:
    """Caps ``{name: value}`` for the code inside (names as in :data:`LIMITS`)."""
    if not values:
        yield
        return
    merged = {**(_CURRENT.get() or {}), **_checked(values)}
    token = _CURRENT.set(merged)
    try:
        yield
    finally:
        _CURRENT.reset(token)


def raised(**values: int) -> contextlib.AbstractContextManager[None]:
    """``with raised(periods=2000, set_chars=10**6): ...`` (underscores for dashes)."""
    return using({name.replace("_", "-"): value for name, value in values.items()})


def parse_assignment(text: str) -> tuple[str, int]:
    """``"periods=2000"`` → ``("periods", 2000)``; InputError naming ``--limit`` otherwise."""
    name, sep, value = str(text).partition("=")
    name = name.strip()
    if not sep or name not in LIMITS:
        raise InputError("unknown limit" if sep else "missing '='", field="--limit",
                         value=text, expected="NAME=N with NAME one of " + ", ".join(LIMITS),
                         hint=unknown_name_hint(name, LIMITS) if sep else None)
    try:
        number = int(value.strip().replace(",", ""))
    except ValueError:
        number = -1
    if number < 1 or not value.strip().replace(",", "").isascii():
        raise InputError(field="--limit", location=name, value=value,
                         expected="a whole number >= 1")
    return name, number


def _checked(values: Mapping[str, Any]) -> dict[str, int]:
    out: dict[str, int] = {}
    for name, value in values.items():
        if name not in LIMITS:
            raise ArgumentError("chipmix.limits.using", name, value,
                                "a limit name: " + ", ".join(LIMITS))
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ArgumentError("chipmix.limits.using", name, value, "a whole number >= 1")
        out[name] = value
    return out


__all__ = ["LIMITS", "Limit", "LimitError", "check", "current", "get", "parse_assignment",
           "raised", "using"]
