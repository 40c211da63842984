"""Command-line overrides of scenario keys: ``--set key.path=value``.

An override addresses one place in the scenario data (the YAML format of formats.md, as
Python data) and replaces the value there before the scenario is validated, so a bad value is
reported by the normal loader with its key path.

Paths
-----
Segments are separated by dots; each addresses a mapping key. List items are addressed with
brackets, by position counted from 0 (``workloads[0]``, ``workloads[-1]`` for the last) or,
for lists of named items, by name (``workloads[llm-training]``)::

    policy.domestic_share=0.5
    policy.domestic_share.2025Q1=0.5            # one step of a step map
    supply.nvidia-h20={2024Q1: 0, 2025Q1: 500}
    workloads[llm-training].demand.2025Q3=400
    licenses.nvidia-h20={fee: 0.15}
    ported=[Nvidia, Huawei]
    policy.vendor_cap=null                      # null removes the key (back to the default)

Each path is checked against the scenario schema (:class:`chipmix.inputs.scenario.Scenario`,
passed in as ``schema``): an
unknown key is an :class:`~chipmix.errors.InputError` naming the path and the closest known
key. Keys of free mappings (SKU ids in ``supply``, periods in step maps) are checked by the
loader as usual.

Values
------
A value is read as one YAML scalar or flow collection (``0.5``, ``1e6``, ``[a, b]``,
``{2024Q1: 10}``), then typed by the schema: where the schema expects text (``name``,
``home``, ``buyer``, a period...) the text is taken as written, so ``home=NO`` stays the
string ``"NO"`` instead of YAML's ``false``.

Going below a scalar
--------------------
A path may go below a value written in short form: ``supply.x.2025Q1=...`` below the scalar
``supply: {x: 1200}`` turns it into the step map ``{<horizon start>: 1200, 2025Q1: ...}``;
likewise ``licenses: deny`` becomes ``{default: deny}``, a licence word becomes
``{allow: ...}`` and a scalar porting cost becomes one cost per workload.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, get_args, get_origin

from pydantic import BaseModel

import chipmix.limits as limits
from chipmix.errors import InputError, closest, require_texts, unknown_name_hint
from chipmix.inputs.schema import is_model as _is_model
from chipmix.inputs.schema import strip as _strip
from chipmix.inputs.yamlio import loads
from chipmix.periods import Period, parse_period

#: Label used in error messages for ``--set`` overrides.
SET_LABEL = "--set"

_MISSING = object()


@dataclass(frozen=True)
class Segment:
    """One step of a key path: a mapping key, a list position or a list item by name."""

    key: str | None = None  # mapping key
    index: int | None = None  # list position
    name: str | None = None  # list item by its ``name``

    def text(self) -> str:
        if self.key is not None:
            return self.key
        if self.index is not None:
            return f"[{self.index}]"
        return f"[{self.name}]"


# --------------------------------------------------------------------------------------------
# Parsing


def parse_path(path: str, *, label: str = SET_LABEL) -> list[Segment]:
    """Split ``a.b[0].c[name]`` into segments; InputError on malformed text."""
    text = path.strip()
    if not text:
        raise InputError("empty key path", file=label, expected="a key path like policy.vendor_cap")
    segments: list[Segment] = []
    i, n = 0, len(text)
    expect_key = True
    while i < n:
        ch = text[i]
        if ch == "[":
            end = text.find("]", i)
            if end < 0:
                raise InputError("unclosed '['", file=label, location=path,
                                 expected="a key path like workloads[0].demand")
            inner = text[i + 1 : end].strip()
            if not inner:
                raise InputError("empty brackets", file=label, location=path,
                                 expected="a list position ([0]) or an item name ([llm-training])")
            if not segments:
                raise InputError("a path starts with a key", file=label, location=path,
                                 expected="a key path like workloads[0].demand")
            if re.fullmatch(r"-?[0-9]+", inner):
                segments.append(Segment(index=int(inner)))
            else:
                segments.append(Segment(name=inner))
            i = end + 1
            expect_key = False
            if i < n and text[i] == ".":
                i += 1
                expect_key = True
                if i == n:
                    raise InputError("path ends with '.'", file=label, location=path)
            elif i < n and text[i] != "[":
                raise InputError(f"unexpected {text[i]!r} after ']'", file=label, location=path,
                                 expected="'.' or '[' after a list item")
            continue
        if ch == "]":
            raise InputError("unmatched ']'", file=label, location=path)
        if not expect_key:  # pragma: no cover - guarded above
            raise InputError("malformed key path", file=label, location=path)
        j = i
        while j < n and text[j] not in ".[]":
            j += 1
        key = text[i:j].strip()
        if not key:
            raise InputError("empty key in path", file=label, location=path,
                             expected="keys separated by single dots (policy.vendor_cap)")
        segments.append(Segment(key=key))
        i = j
        expect_key = False
        if i < n and text[i] == ".":
            i += 1
            expect_key = True
            if i == n:
                raise InputError("path ends with '.'", file=label, location=path)
    return segments


def path_text(segments: Sequence[Segment]) -> str:
    """The canonical text of a path (``workloads[0].demand``)."""
    out = ""
    for seg in segments:
        if seg.key is not None:
            out += f".{seg.key}" if out else seg.key
        else:
            out += seg.text()
    return out


def parse_value(text: str, *, label: str = SET_LABEL, location: str | None = None) -> Any:
    """Read one --set or --vary value.

    One YAML scalar or flow collection (``1e6`` is a number), read with every check of a
    YAML file (:func:`chipmix.inputs.yamlio.loads`: alias bombs, duplicate keys, refused tags) and
    at most the ``set-chars`` limit long.
    """
    limits.check("set-chars", len(text), what=f"value of {len(text):,} characters",
                 file=label, location=location)
    return loads(text, file=label, location=location)


def split_assignment(item: str, *, label: str = SET_LABEL) -> tuple[str, str]:
    """``"key.path=value"`` → ``("key.path", "value")``."""
    if "=" not in item:
        raise InputError("missing '='", file=label, value=item,
                         expected="key.path=value, e.g. policy.domestic_share=0.5")
    key, _, value = item.partition("=")
    if not key.strip():
        raise InputError("missing key before '='", file=label, value=item,
                         expected="key.path=value, e.g. policy.domestic_share=0.5")
    return key.strip(), value.strip()


# --------------------------------------------------------------------------------------------
# Schema types


def _is_text(tp: Any) -> bool:
    """The schema expects text here (plain str, a word out of a Literal, or a period)."""
    tp = _strip(tp)
    if tp is str or tp is Period:
        return True
    if get_origin(tp) is Literal:
        return all(isinstance(a, str) for a in get_args(tp))
    return False


def _is_step_map(tp: Any) -> bool:
    tp = _strip(tp)
    return get_origin(tp) is dict and _strip(get_args(tp)[0]) is Period


def _model_keys(tp: type[BaseModel]) -> list[str]:
    keys = [k for k in tp.model_fields if k not in getattr(tp, "_inline", ())]
    return keys


# --------------------------------------------------------------------------------------------
# Applying


def apply_sets(data: Mapping[str, Any], sets: Sequence[str], *, schema: type[BaseModel],
               label: str = SET_LABEL) -> dict[str, Any]:
    """``data`` with every ``key.path=value`` of ``sets`` applied (in order).

    ``data`` is raw scenario data (the merged YAML, before validation); it is not modified.
    ``schema`` is the model that types the values (:class:`chipmix.inputs.scenario.Scenario`).
    ``sets`` that is not a list of strings is an ArgumentError.
    """
    sets = require_texts("chipmix.load_scenario", "sets", sets,
                         "a list of 'key.path=value' strings")
    result = copy.deepcopy(dict(data))
    for item in sets:
        path, text = split_assignment(item, label=label)
        result = _apply(result, path, schema, text=text, label=label, copy_data=False)
    return result


def apply_overrides(data: Mapping[str, Any], overrides: Mapping[str, Any], *,
                    schema: type[BaseModel], label: str = SET_LABEL) -> dict[str, Any]:
    """``data`` with ``{key.path: value}`` applied; values are Python data (already parsed).

    Text values where the schema expects a number are left for the loader to judge.
    """
    result = copy.deepcopy(dict(data))
    for path, value in overrides.items():
        result = _apply(result, path, schema, value=value, label=label, copy_data=False)
    return result


def typed_value(data: Mapping[str, Any], path: str, text: str, *, schema: type[BaseModel],
                label: str = SET_LABEL) -> Any:
    """The value ``text`` would take at ``path`` (checks the path against the schema)."""
    segments = parse_path(path, label=label)
    tp = _leaf_type(data, segments, schema, label)
    return _typed(text, tp, label, path)


def check_path(data: Mapping[str, Any], path: str, *, schema: type[BaseModel],
               label: str = SET_LABEL) -> str:
    """Check ``path`` against the schema and ``data``; returns its canonical text."""
    segments = parse_path(path, label=label)
    _leaf_type(data, segments, schema, label)
    return path_text(segments)


def _typed(text: str, tp: Any, label: str, path: str) -> Any:
    value = parse_value(text, label=label, location=path)
    if value is None or isinstance(value, (list, dict)):
        return value
    if _is_text(tp):
        return text.strip()
    return value


def _apply(data: dict[str, Any], path: str, schema: type[BaseModel], *, text: str | None = None,
           value: Any = _MISSING, label: str, copy_data: bool = True) -> dict[str, Any]:
    if copy_data:
        data = copy.deepcopy(data)
    segments = parse_path(path, label=label)
    canonical = path_text(segments)
    parent, last, tp = _descend(data, segments, schema, canonical, label)
    if text is not None:
        value = _typed(text, tp, label, canonical)
    _assign(parent, last, value, canonical, label)
    return data


def _leaf_type(data: Mapping[str, Any], segments: list[Segment], schema: type[BaseModel],
               label: str) -> Any:
    scratch = copy.deepcopy(dict(data))
    _, _, tp = _descend(scratch, segments, schema, path_text(segments), label)
    return tp


def _descend(data: dict[str, Any], segments: list[Segment], schema: type[BaseModel], path: str,
             label: str) -> tuple[Any, Segment, Any]:
    """Walk to the container of the last segment, creating mappings on the way.

    Returns ``(container, last segment, schema type at the leaf)``.
    """
    tp: Any = schema
    node: Any = data
    done: list[Segment] = []
    for pos, seg in enumerate(segments):
        last = pos == len(segments) - 1
        here = path_text([*done, seg])
        tp_child = _child_type(tp, seg, node, here, label, data)
        if last:
            # normalise the container key (periods) before assignment
            return node, _resolve_key(node, seg, tp), tp_child
        child = _get_child(node, seg, tp, here, label)
        child = _expand(child, tp_child, here, path, label, data)
        _set_child(node, seg, child, tp)
        node = child
        tp = tp_child
        done.append(seg)
    raise AssertionError("unreachable")  # pragma: no cover


def _child_type(tp: Any, seg: Segment, node: Any, here: str, label: str,
                root: Mapping[str, Any]) -> Any:
    tp = _strip(tp)
    origin = get_origin(tp)
    if seg.key is not None:
        if _is_model(tp):
            if seg.key in tp.model_fields and seg.key not in getattr(tp, "_inline", ()):
                return tp.model_fields[seg.key].annotation
            inline = [k for k in getattr(tp, "_inline", ()) if k in tp.model_fields]
            if inline:  # e.g. licenses.<sku>: the mapping's own keys are SKU ids
                inner = _strip(tp.model_fields[inline[0]].annotation)
                return get_args(inner)[1] if get_origin(inner) is dict else Any
            known = _model_keys(tp)
            best = closest(seg.key, known)
            raise InputError("unknown key", file=label, location=here,
                             hint=f"did you mean '{best}'?" if best else
                             unknown_name_hint(seg.key, known))
        if origin is dict:
            return get_args(tp)[1]
        parent = here.rsplit(".", 1)[0] if "." in here else here
        if origin in (list, tuple):
            raise InputError(f"'{parent}' is a list: address its items with [position] or "
                             "[name]", file=label, location=here,
                             expected=f"{parent}[0].{seg.key}")
        if tp is Any:
            return Any
        raise InputError(f"'{parent}' holds a single value, not a mapping", file=label,
                         location=here, expected=f"a path ending at {parent}")
    if origin in (list, tuple):
        return get_args(tp)[0]
    raise InputError("not a list", file=label, location=here,
                     expected="[position] or [name] only after a list key such as workloads")


def _get_child(node: Any, seg: Segment, tp: Any, here: str, label: str) -> Any:
    if seg.key is not None:
        if not isinstance(node, dict):
            return None
        key = _resolve_key(node, seg, tp).key
        return node.get(key)
    if not isinstance(node, list):
        raise InputError("not a list", file=label, location=here, value=node,
                         expected="a list (the key holds a single value)")
    return node[_list_position(node, seg, here, label)]


def _set_child(node: Any, seg: Segment, child: Any, tp: Any) -> None:
    if seg.key is not None:
        node[_resolve_key(node, seg, tp).key] = child
    # list items are modified in place (never replaced while descending)


def _list_position(node: list[Any], seg: Segment, here: str, label: str) -> int:
    if seg.index is not None:
        n = len(node)
        if not -n <= seg.index < n:
            raise InputError("list position out of range", file=label, location=here,
                             value=seg.index,
                             expected=f"0..{n - 1}" if n else "an item (the list is empty)")
        return seg.index % n
    names = [item.get("name") for item in node if isinstance(item, dict)]
    for i, item in enumerate(node):
        if isinstance(item, dict) and item.get("name") == seg.name:
            return i
    known = [str(n) for n in names if n is not None]
    raise InputError("no list item with this name", file=label, location=here, value=seg.name,
                     expected="the name of an item" if known else "a position like [0]",
                     hint=unknown_name_hint(str(seg.name), known) if known else None)


def _resolve_key(node: Any, seg: Segment, tp: Any) -> Segment:
    """Match a period key to the spelling already in a step map (``2024q1`` → ``2024Q1``)."""
    if seg.key is None or not isinstance(node, dict) or seg.key in node:
        return seg
    if _is_step_map(tp):
        try:
            wanted = parse_period(seg.key)
        except ValueError:
            return seg
        for existing in node:
            try:
                if parse_period(existing) == wanted:
                    return Segment(key=existing)
            except ValueError:
                continue
    return seg


def _expand(child: Any, tp: Any, here: str, path: str, label: str,
            root: Mapping[str, Any]) -> Any:
    """Turn a short-form value into the mapping the path goes into (see module docstring)."""
    if child is None:
        stripped = _strip(tp)
        if get_origin(stripped) in (list, tuple):
            return []
        return {}
    if isinstance(child, (dict, list)):
        return child
    stripped = _strip(tp)
    if _is_step_map(tp):
        start = (root.get("horizon") or {}).get("start") if isinstance(root.get("horizon"),
                                                                           dict) else None
        if start is None:
            raise InputError(f"cannot expand the scalar at '{here}' without horizon.start",
                             file=label, location=path)
        return {str(start): child}
    if _is_model(stripped) and stripped.__name__ == "LicensePolicy" and isinstance(child, str):
        return {"default": child}
    if _is_model(stripped) and stripped.__name__ == "LicenseTerms" and isinstance(child, str):
        return {"allow": child == "allow"}
    if get_origin(stripped) is dict and here.startswith("porting."):
        names = [w.get("name") for w in root.get("workloads") or [] if isinstance(w, dict)]
        return {name: child for name in names if name}
    raise InputError(f"'{here}' holds a single value, not a mapping", file=label, location=path,
                     value=child, expected=f"a path ending at {here}")


def _assign(parent: Any, seg: Segment, value: Any, path: str, label: str) -> None:
    if seg.key is not None:
        if not isinstance(parent, dict):  # pragma: no cover - _expand makes mappings
            raise InputError("not a mapping", file=label, location=path)
        if value is None:
            parent.pop(seg.key, None)
        else:
            parent[seg.key] = value
        return
    pos = _list_position(parent, seg, path, label)
    if value is None:
        del parent[pos]
    else:
        parent[pos] = value
