"""Pydantic building blocks shared by the scenario's blocks, its error paths and ``--set``.

- :class:`StrictModel` (frozen, unknown keys refused) and :class:`Problem` (a validation
  failure that keeps its parts for the InputError) — the base of every scenario block, the
  solver block (:mod:`chipmix.inputs.solver`) included;
- :func:`not_bool` — the number guard of every numeric field;
- :func:`strip` and :func:`is_model` — how a field's type is unwrapped when the schema is
  walked field by field (:func:`chipmix.inputs.scenario.as_input_error` to name a key path,
  :mod:`chipmix.inputs.overrides` to type a value).
"""

from __future__ import annotations

import math
from types import UnionType
from typing import Annotated, Any, ClassVar, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict

from chipmix.inputs.yamlio import MAX_NUMBER, number_text


def is_model(tp: Any) -> bool:
    """``tp`` is a pydantic model class."""
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def strip(tp: Any) -> Any:
    """Drop ``Annotated`` and ``| None`` around a type."""
    while True:
        origin = get_origin(tp)
        if origin is Annotated:
            tp = get_args(tp)[0]
        elif origin in (Union, UnionType):
            args = [a for a in get_args(tp) if a is not type(None)]
            tp = args[0] if len(args) == 1 else Any
        else:
            return tp


class Problem(ValueError):
    """A validation failure raised inside a pydantic validator.

    Carries the parts of an :class:`InputError` so the converter can keep them apart.
    """

    def __init__(self, expected: str | None = None, *, detail: str | None = None,
                 hint: str | None = None) -> None:
        super().__init__(detail or expected or "invalid value")
        self.expected, self.detail, self.hint = expected, detail, hint


def not_bool(value: Any) -> Any:
    """Numbers only.

    YAML's true/false, .nan and .inf are refused (pydantic would take them), and so is a
    magnitude above :data:`~chipmix.inputs.yamlio.MAX_NUMBER` (a typo or a unit slip).
    """
    if isinstance(value, bool):
        raise Problem("a number")
    if isinstance(value, float) and not math.isfinite(value):
        raise Problem("a finite number")
    number = value
    if isinstance(value, str):
        number = number_text(value)  # ASCII digits only: no '١٢٠', '１０', '1_0', 'nan'
        if number is None:
            raise Problem("a number")
    if isinstance(number, int | float) and math.isfinite(number) and abs(number) > MAX_NUMBER:
        raise Problem(f"a number of magnitude <= {MAX_NUMBER:g} (is a unit or a digit off?)")
    return value


class StrictModel(BaseModel):
    """Frozen, unknown keys refused: the base of every scenario block."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    #: Fields that hold the mapping's own keys in YAML (left out of key paths).
    _inline: ClassVar[frozenset[str]] = frozenset()
