"""Helpers over pydantic schema types, shared by the scenario's error paths and ``--set``.

Both walk the scenario schema field by field (:func:`chipmix.inputs.scenario.as_input_error`
to name a key path, :mod:`chipmix.inputs.overrides` to type a value): one definition of how a
field's type is unwrapped.
"""

from __future__ import annotations

from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel


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
