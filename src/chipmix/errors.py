"""Error types of chipmix.

Every problem a user can fix (a bad catalog cell, a typo in a scenario key, an unknown SKU,
an output target chipmix will not write, a cap a typo ran into) is raised as a
:class:`ChipmixError` subclass; the CLI prints its one-line message and exits 2. Bad
arguments to a public function (``None``, a wrong type) raise :class:`ArgumentError`, which is
also a ``TypeError``. Anything else is a bug: the CLI prints one ``internal error`` line and
exits 3 (``--debug`` shows the traceback).
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


class OutputError(ChipmixError):
    """An output target chipmix will not or cannot write (see ``chipmix.io``).

    The message names the path as the user gave it and the reason::

        plan.json: cannot write the file (No space left on device)
        s.yaml: is an input of this run; write the output to another file
    """

    def __init__(self, path: str | Path, reason: str, *, hint: str | None = None) -> None:
        self.path = str(path)
        self.reason = reason
        self.hint = hint
        text = f"{self.path}: {reason}" if self.path else reason
        super().__init__(f"{text} ({hint})" if hint else text)


class ArgumentError(ChipmixError, TypeError):
    """A public function was called with an argument of the wrong kind.

    A public function was called with an argument of the wrong kind (``None``, a number
    where a path belongs, ...). Also a ``TypeError``, so ``except TypeError`` still works.
    """

    def __init__(self, function: str, name: str, value: Any, expected: str) -> None:
        self.function, self.name, self.value, self.expected = function, name, value, expected
        super().__init__(f"{function}(): argument '{name}': got {_show(value)}; "
                         f"expected {expected}")


class SolverError(ChipmixError):
    """The solver is missing, crashed, or returned something we cannot read."""


class PlanError(ChipmixError):
    """Misuse of the planning API (e.g. asking an infeasible plan for its purchases)."""


def _show(value: Any) -> str:
    """Show a value in a message, at most 80 characters.

    ``repr(value)``, at most 80 characters: a long one keeps its start and its end (the
    end of a long path names the file).
    """
    text = repr(value)
    return text if len(text) <= 80 else text[:40] + "..." + text[-37:]


def require(function: str, name: str, value: Any, types: type | tuple[type, ...],
            expected: str, *, optional: bool = False) -> Any:
    """Check the type of an argument of a public function.

    ``value`` when it is an instance of ``types`` (not a bool unless asked for; None when
    ``optional``), else :class:`ArgumentError` naming the function, argument and expectation.
    """
    if value is None and optional:
        return value
    wanted = types if isinstance(types, tuple) else (types,)
    if isinstance(value, bool) and bool not in wanted:
        raise ArgumentError(function, name, value, expected)
    if not isinstance(value, wanted):
        raise ArgumentError(function, name, value, expected)
    return value


def require_texts(function: str, name: str, values: Any, expected: str, *,
                  optional: bool = False, paths: bool = False) -> list[Any]:
    """Check that an argument is a list of strings (or paths).

    ``values`` as a list when it is a list/tuple (any iterable but a string) of strings
    (or paths, with ``paths``); else :class:`ArgumentError`.
    """
    if values is None and optional:
        return []
    item_types: tuple[type, ...] = (str, Path) if paths else (str,)
    if isinstance(values, (str, bytes, Path)) or not isinstance(values, Iterable):
        raise ArgumentError(function, name, values, expected)
    items = list(values)
    for item in items:
        if not isinstance(item, item_types):
            raise ArgumentError(function, name, item, expected)
    return items


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
