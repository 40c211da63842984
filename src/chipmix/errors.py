"""Error types of chipmix.

Every problem a user can fix (a bad catalog cell, a typo in a scenario key, an unknown SKU)
is raised as a :class:`ChipmixError` subclass; the CLI prints its one-line message and exits 2.
Anything else is a bug and shows a traceback.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from pathlib import Path
from typing import Any


class ChipmixError(Exception):
    """Base class of every user-facing error (CLI exit code 2)."""

    exit_code = 2


class InputError(ChipmixError):
    """A bad input file, row, key or value.

    The message names the file, the location (row number or key path), the field, the bad
    value and what was expected, e.g.::

        catalogs/mine.csv: row 4: column 'tdp_w': got 'abc'; expected a number >= 0
        scenario.yaml: workloads[1].demand.2024Q5: got '2024Q5'; expected a period like 2024Q1 or 2024-01
    """

    def __init__(
        self,
        message: str | None = None,
        *,
        file: str | Path | None = None,
        location: str | None = None,
        field: str | None = None,
        value: Any = ...,
        expected: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.file = str(file) if file is not None else None
        self.location = location
        self.field = field
        self.value = value
        self.expected = expected
        self.hint = hint
        self.detail = message
        super().__init__(self._format())

    def _format(self) -> str:
        parts: list[str] = []
        if self.file:
            parts.append(self.file)
        if self.location:
            parts.append(self.location)
        if self.field:
            parts.append(self.field)
        head = ": ".join(parts)
        body: list[str] = []
        if self.detail:
            body.append(self.detail)
        if self.value is not ...:
            body.append(f"got {_show(self.value)}")
        if self.expected:
            body.append(f"expected {self.expected}")
        text = "; ".join(body)
        if self.hint:
            text = f"{text} ({self.hint})" if text else self.hint
        return f"{head}: {text}" if head and text else (head or text)


class SolverError(ChipmixError):
    """The solver is missing, crashed, or returned something we cannot read."""


class PlanError(ChipmixError):
    """Misuse of the planning API (e.g. asking an infeasible plan for its purchases)."""


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def closest(name: str, known: Iterable[str]) -> str | None:
    """The known name closest to ``name`` (for 'did you mean' hints), or None."""
    matches = difflib.get_close_matches(str(name), list(known), n=1, cutoff=0.5)
    return matches[0] if matches else None


def unknown_name_hint(name: str, known: Iterable[str]) -> str:
    """A hint naming the closest known name, or listing the known ones when few."""
    known = sorted(known)
    best = closest(name, known)
    if best:
        return f"did you mean '{best}'?"
    if len(known) <= 12:
        return "known: " + ", ".join(known)
    return f"{len(known)} known names"
