"""The condition language of rule sets: parse once into a small tree, evaluate in three values.

Grammar (a YAML value)::

    condition := {all: [condition, ...]} | {any: [condition, ...]} | {not: condition}
               | {METRIC: TEST}                 (a mapping with several keys = all of them)
    TEST      := "OP NUMBER" | "OP ${param}"    numeric metric; OP in >= > <= < == != (≥ ≤ ≠ too)
               | NUMBER                         numeric metric equals NUMBER
               | true | false                   bool metric (datacenter, us_available)
               | TEXT | "!= TEXT" | "== TEXT"   text metric (sku, vendor, origin, buyer), no case
               | [TEXT, ...]                    text metric is one of the list

Evaluation is Kleene three-valued: a test on an unknown value (an empty catalog cell) is
*unknown* (``None``), not false — unless the figure is known as a bound (a catalog cell like
``<4800``) that settles the test: ``tpp < 4800`` makes ``tpp >= 4800`` false and
``tpp < 21000`` true, and leaves ``tpp >= 1600`` unknown; ``all``/``any``/``not`` propagate it (``all`` with one false
part is false, ``any`` with one true part is true). Every outcome carries the facts that decided
it ("tpp 4992 ≥ 4800", "die_area_mm2 unknown") so a decision can say why. Nothing is ``eval``-ed.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chipmix.errors import InputError, unknown_name_hint
from chipmix.inputs.yamlio import MAX_NUMBER
from chipmix.rules.metrics import (
    BOOL_METRICS,
    METRIC_BOUNDS,
    TEXT_METRICS,
    fmt_number,
    is_unknown,
    known_metrics,
    missing_inputs,
    numeric_metrics,
)

#: Operators of a comparison, their symbols and their negations (for "why" texts).
OPS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    ">": operator.gt,
    "<=": operator.le,
    "<": operator.lt,
    "==": operator.eq,
    "!=": operator.ne,
}
SYMBOLS = {">=": "≥", ">": ">", "<=": "≤", "<": "<", "==": "=", "!=": "≠"}
NEGATION = {">=": "<", ">": "<=", "<=": ">", "<": ">=", "==": "!=", "!=": "=="}
_UNICODE_OPS = {"≥": ">=", "≤": "<=", "≠": "!="}
_COMPARISON = re.compile(r"^\s*(>=|<=|==|!=|>|<|≥|≤|≠)\s*(.*?)\s*$")
_PARAM = re.compile(r"^\$\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}$")
_KEYWORDS = ("all", "any", "not")

COMPARISON_EXPECTED = (
    'a comparison like ">= 4800" (OP one of >= > <= < == !=) or ">= ${param_name}"'
)


@dataclass(frozen=True)
class Outcome:
    """Result of evaluating a condition on one row.

    ``value`` is True, False or None (unknown); ``facts`` the observations that decided it;
    ``missing`` the catalog columns whose absence made it unknown (empty unless unknown).
    """

    value: bool | None
    facts: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()


def _dedupe(items: Sequence[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


class Condition:
    """A node of a parsed condition."""

    def evaluate(self, row: Mapping[str, Any], params: Mapping[str, float]) -> Outcome:
        raise NotImplementedError

    def text(self) -> str:
        """The condition as readable text ("datacenter and tpp ≥ 4800")."""
        raise NotImplementedError

    def children(self) -> tuple[Condition, ...]:
        return ()

    def walk(self) -> Iterator[Condition]:
        """Every node from this one down (this node first)."""
        yield self
        for child in self.children():
            yield from child.walk()

    def comparisons(self) -> Iterator[Compare]:
        """Every numeric comparison in the tree (for margins to thresholds)."""
        return (node for node in self.walk() if isinstance(node, Compare))

    def metrics(self) -> set[str]:
        return {node.metric for node in self.walk() if isinstance(node, _Leaf)}

    def __str__(self) -> str:
        return self.text()


@dataclass(frozen=True, eq=False)
class All(Condition):
    """True when every part is (``all: [...]``)."""

    parts: tuple[Condition, ...]

    def children(self) -> tuple[Condition, ...]:
        return self.parts

    def evaluate(self, row: Mapping[str, Any], params: Mapping[str, float]) -> Outcome:
        outs = [p.evaluate(row, params) for p in self.parts]
        false = [o for o in outs if o.value is False]
        if false:
            return Outcome(False, _dedupe([f for o in false for f in o.facts]))
        if all(o.value for o in outs):
            return Outcome(True, _dedupe([f for o in outs for f in o.facts]))
        unknown = [o for o in outs if o.value is None]
        return Outcome(
            None,
            _dedupe([f for o in outs for f in o.facts]),
            _dedupe([m for o in unknown for m in o.missing]),
        )

    def text(self) -> str:
        return " and ".join(_wrap(p, Any_) for p in self.parts)


@dataclass(frozen=True, eq=False)
class Any_(Condition):  # ``Any`` is taken by typing
    """True when some part is (``any: [...]``)."""

    parts: tuple[Condition, ...]

    def children(self) -> tuple[Condition, ...]:
        return self.parts

    def evaluate(self, row: Mapping[str, Any], params: Mapping[str, float]) -> Outcome:
        outs = [p.evaluate(row, params) for p in self.parts]
        true = [o for o in outs if o.value is True]
        if true:  # one true part is reason enough: show the first
            return Outcome(True, true[0].facts)
        if all(o.value is False for o in outs):
            return Outcome(False, _dedupe([f for o in outs for f in o.facts]))
        unknown = [o for o in outs if o.value is None]
        return Outcome(
            None,
            _dedupe([f for o in unknown for f in o.facts]),
            _dedupe([m for o in unknown for m in o.missing]),
        )

    def text(self) -> str:
        return " or ".join(_wrap(p, All) for p in self.parts)


@dataclass(frozen=True, eq=False)
class Not(Condition):
    """The negation of its part (``not: ...``)."""

    part: Condition

    def children(self) -> tuple[Condition, ...]:
        return (self.part,)

    def evaluate(self, row: Mapping[str, Any], params: Mapping[str, float]) -> Outcome:
        out = self.part.evaluate(row, params)
        value = None if out.value is None else not out.value
        return Outcome(value, out.facts, out.missing)

    def text(self) -> str:
        part = self.part
        if isinstance(part, OneOf):
            return OneOf(part.metric, part.values, not part.negate).text()
        if isinstance(part, IsTrue):
            return IsTrue(part.metric, not part.expected).text()
        inner = part.text()
        return f"not {inner}" if isinstance(part, _Leaf) else f"not ({inner})"


def _wrap(node: Condition, wrap_type: type) -> str:
    text = node.text()
    return f"({text})" if isinstance(node, wrap_type) else text


@dataclass(frozen=True, eq=False)
class _Leaf(Condition):
    metric: str

    def _unknown(self, row: Mapping[str, Any]) -> Outcome:
        missing = tuple(missing_inputs(self.metric, row))
        return Outcome(None, tuple(f"{m} unknown" for m in missing), missing)


@dataclass(frozen=True, eq=False)
class Compare(_Leaf):
    """``metric OP threshold``; the threshold is a number or a rule-set parameter."""

    op: str
    threshold: float | None = None
    param: str | None = None

    def resolve(self, params: Mapping[str, float]) -> float:
        if self.param is None:
            assert self.threshold is not None
            return self.threshold
        return float(params[self.param])

    def evaluate(self, row: Mapping[str, Any], params: Mapping[str, float]) -> Outcome:
        value = row.get(self.metric)
        limit = self.resolve(params)
        suffix = f" ({self.param})" if self.param is not None else ""
        if is_unknown(value):
            bounds = row.get(METRIC_BOUNDS)
            interval = bounds.get(self.metric) if isinstance(bounds, Mapping) else None
            if interval is None:
                return self._unknown(row)
            # a figure known only as a bound: decided when the whole interval agrees
            decided = interval.decide(self.op, limit)
            known = f"{self.metric} {interval.text()} (bound)"
            if decided is None:
                missing = tuple(missing_inputs(self.metric, row))
                fact = f"{known} undecided against {SYMBOLS[self.op]} {fmt_number(limit)}"
                return Outcome(None, (fact + suffix,), missing)
            symbol = SYMBOLS[self.op if decided else NEGATION[self.op]]
            return Outcome(decided, (f"{known} ⇒ {symbol} {fmt_number(limit)}{suffix}",))
        assert value is not None  # an unknown value returned above
        ok = OPS[self.op](float(value), limit)
        symbol = SYMBOLS[self.op if ok else NEGATION[self.op]]
        fact = f"{self.metric} {fmt_number(value)} {symbol} {fmt_number(limit)}"
        return Outcome(ok, (fact + suffix,))

    def text(self) -> str:
        rhs = f"${{{self.param}}}" if self.param else fmt_number(self.threshold)
        return f"{self.metric} {SYMBOLS[self.op]} {rhs}"


def _as_bool(value: Any) -> bool | None:
    """A cell as a bool: True/False, 1/0, or the texts true/false, yes/no; else None."""
    if is_unknown(value):
        return None
    if isinstance(value, str):
        text = value.strip().lower()
        if text in ("true", "yes", "1"):
            return True
        if text in ("false", "no", "0"):
            return False
        return None
    return bool(value)


@dataclass(frozen=True, eq=False)
class IsTrue(_Leaf):
    """A bool metric equals ``expected`` (``datacenter: true``)."""

    expected: bool = True

    def evaluate(self, row: Mapping[str, Any], params: Mapping[str, float]) -> Outcome:
        actual = _as_bool(row.get(self.metric))
        if actual is None:
            return self._unknown(row)
        return Outcome(actual == self.expected, (self.metric if actual else f"not {self.metric}",))

    def text(self) -> str:
        return self.metric if self.expected else f"not {self.metric}"


@dataclass(frozen=True, eq=False)
class OneOf(_Leaf):
    """A text metric is (``negate``: is not) one of ``values`` (compared without case)."""

    values: tuple[str, ...] = ()
    negate: bool = False

    def evaluate(self, row: Mapping[str, Any], params: Mapping[str, float]) -> Outcome:
        value = row.get(self.metric)
        if is_unknown(value):
            return self._unknown(row)
        actual = str(value)
        inside = actual.casefold() in {v.casefold() for v in self.values}
        if inside:
            fact = f"{self.metric} {actual}"
        elif len(self.values) == 1:
            fact = f"{self.metric} {actual} ≠ {self.values[0]}"
        else:
            fact = f"{self.metric} {actual} not in [{', '.join(self.values)}]"
        return Outcome(inside != self.negate, (fact,))

    def text(self) -> str:
        if len(self.values) == 1:
            return f"{self.metric} {'≠' if self.negate else '='} {self.values[0]}"
        return f"{self.metric} {'not in' if self.negate else 'in'} [{', '.join(self.values)}]"


# ----------------------------------------------------------------------------- parsing


def parse_condition(
    data: Any,
    *,
    path: str,
    file: str | Path | None = None,
    params: Mapping[str, Any] | None = None,
) -> Condition:
    """Parse a YAML condition into a tree; raise InputError naming ``file`` and the key path.

    ``params`` are the parameter names the rule set declares; a ``${name}`` threshold must
    name one of them.
    """
    return _Parser(file, params or {}, known_metrics(), numeric_metrics()).parse(data, path)


class _Parser:
    def __init__(
        self,
        file: str | Path | None,
        params: Mapping[str, Any],
        known: frozenset[str],
        numeric: frozenset[str],
    ) -> None:
        self.file = file
        self.params = params
        self.known = known
        self.numeric = numeric

    def error(self, path: str, **kwargs: Any) -> InputError:
        return InputError(file=self.file, location=path, **kwargs)

    def parse(self, data: Any, path: str) -> Condition:
        if not isinstance(data, Mapping) or not data:
            raise self.error(
                path,
                value=data,
                expected='a condition: a mapping like {tpp: ">= 4800"}, {all: [...]}, '
                "{any: [...]} or {not: ...}",
            )
        parts = [self.parse_key(str(key), value, path) for key, value in data.items()]
        return parts[0] if len(parts) == 1 else All(tuple(parts))

    def parse_key(self, key: str, value: Any, path: str) -> Condition:
        here = f"{path}.{key}"
        if key in ("all", "any"):
            if not isinstance(value, list) or not value:
                raise self.error(here, value=value, expected="a non-empty list of conditions")
            parts = tuple(self.parse(item, f"{here}[{i}]") for i, item in enumerate(value))
            return All(parts) if key == "all" else Any_(parts)
        if key == "not":
            if isinstance(value, list):  # not: [a, b] = not (a and b)
                if not value:
                    raise self.error(here, value=value, expected="a condition")
                parts = tuple(self.parse(item, f"{here}[{i}]") for i, item in enumerate(value))
                return Not(parts[0] if len(parts) == 1 else All(parts))
            return Not(self.parse(value, here))
        if key not in self.known:
            raise self.error(
                here,
                message="unknown metric",
                expected="all, any, not or a metric (a numeric catalog column, tpp, "
                "performance_density, io_gbps, memory_bw_gbps, datacenter, us_available, "
                "origin, vendor, sku, buyer)",
                hint=unknown_name_hint(key, [*self.known, *_KEYWORDS]),
            )
        if key in BOOL_METRICS:
            if not isinstance(value, bool):
                raise self.error(here, value=value, expected="true or false")
            return IsTrue(key, value)
        if key in TEXT_METRICS:
            return self.parse_text(key, value, here)
        return self.parse_numeric(key, value, here)

    def parse_text(self, key: str, value: Any, here: str) -> Condition:
        expected = f'a {key} text, a list of them (is one of), or "!= TEXT"'
        if isinstance(value, list):
            if not value or not all(isinstance(v, str) and v.strip() for v in value):
                raise self.error(here, value=value, expected=expected, hint=_bool_hint(value))
            return OneOf(key, tuple(v.strip() for v in value))
        if not isinstance(value, str) or not value.strip():
            raise self.error(here, value=value, expected=expected, hint=_bool_hint(value))
        text = value.strip()
        negate = False
        m = _COMPARISON.match(text)
        if m:
            op = _UNICODE_OPS.get(m.group(1), m.group(1))
            if op not in ("==", "!=") or not m.group(2):
                raise self.error(here, value=value, expected=expected)
            negate, text = op == "!=", m.group(2)
        return OneOf(key, (text,), negate)

    def parse_numeric(self, key: str, value: Any, here: str) -> Condition:
        if isinstance(value, bool):
            raise self.error(here, value=value, expected=COMPARISON_EXPECTED)
        if isinstance(value, (int, float)):
            if not math.isfinite(value) or abs(value) > MAX_NUMBER:
                raise self.error(here, value=value, expected=COMPARISON_EXPECTED)
            return Compare(key, "==", float(value))
        m = _COMPARISON.match(value) if isinstance(value, str) else None
        if not m or not m.group(2):
            raise self.error(here, value=value, expected=COMPARISON_EXPECTED)
        op = _UNICODE_OPS.get(m.group(1), m.group(1))
        rhs = m.group(2)
        pm = _PARAM.match(rhs)
        if pm:
            name = pm.group(1)
            if name not in self.params:
                raise self.error(
                    here,
                    message=f"unknown parameter '{name}'",
                    expected="a parameter declared under the rule set's params:",
                    hint=(
                        unknown_name_hint(name, self.params)
                        if self.params
                        else "the rule set declares no params:"
                    ),
                )
            return Compare(key, op, None, name)
        try:
            threshold = float(rhs.replace("_", ""))
        except ValueError:
            raise self.error(here, value=value, expected=COMPARISON_EXPECTED) from None
        if not math.isfinite(threshold) or abs(threshold) > MAX_NUMBER:  # nan, inf, 1e400
            raise self.error(here, value=value, expected=f"{COMPARISON_EXPECTED}, with a finite "
                             f"number of magnitude <= {MAX_NUMBER:g}")
        return Compare(key, op, threshold)


def _bool_hint(value: Any) -> str | None:
    values = value if isinstance(value, list) else [value]
    if any(isinstance(v, bool) for v in values):
        return "YAML reads NO/YES/ON/OFF as booleans: quote country codes like 'NO'"
    return None
