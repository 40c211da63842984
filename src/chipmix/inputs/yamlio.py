"""Safe YAML loading for scenarios and rule sets.

:func:`load_yaml` reads one YAML document with a hardened ``SafeLoader``:

- only plain data (mappings, lists, strings, numbers, booleans, dates, null); any other tag
  (``!!python/object`` and friends) is an error;
- alias expansion is capped: a document whose fully expanded tree would hold more than
  :data:`MAX_NODES` nodes, or that uses more than :data:`MAX_ALIASES` aliases, is refused
  ("billion laughs"); a recursive alias is refused too, and so is nesting deeper than
  :data:`MAX_DEPTH` levels;
- a key repeated in one mapping is an error naming the key (YAML would silently keep the
  last one, so a typo-free duplicate would override a value unnoticed);
- YAML 1.2 floats: ``2.0e6`` and ``1e6`` load as numbers (PyYAML's YAML 1.1 rules read them
  as strings);
- a file that is empty, not UTF-8, larger than :data:`MAX_FILE_BYTES`, or not valid YAML is an
  :class:`InputError` naming the file (and the line where the parser knows it); so is a date
  that does not exist (``2027-13-01``) or an integer with thousands of digits.

:data:`MAX_NUMBER` is the largest magnitude the catalog, scenario and rule-set validators accept.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from chipmix.errors import InputError

#: Largest number of nodes the expanded document may hold (aliases counted at every use).
MAX_NODES = 100_000
#: Largest number of alias uses (``*name``) in one document.
MAX_ALIASES = 1_000
#: Deepest nesting of mappings and lists (a scenario needs about 5 levels).
MAX_DEPTH = 100
#: Largest magnitude of any number in an input file (catalog cell, scenario or rule-set value).
#: A bigger figure is a typo or a unit slip, and products of two such figures would pass the
#: solvers' "infinity" (1e20 in HiGHS) and silently turn a cost or a bound into "unlimited".
MAX_NUMBER = 1e15
#: Most solver threads a scenario or ``--threads`` may ask for (HiGHS starts every one it is
#: told to: 100,000 threads hang the run).
MAX_THREADS = 256
#: Largest input file (bytes) chipmix reads; real catalogs and scenarios are a few kB.
MAX_FILE_BYTES = 64 * 1024 * 1024

_MERGE_TAG = "tag:yaml.org,2002:merge"
_FLOAT_12 = re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)[eE][-+]?[0-9]+$")


class SafeLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` with alias counting and duplicate-key detection."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.alias_uses = 0
        self.depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            self.alias_uses += 1
            if self.alias_uses > MAX_ALIASES:
                mark = self.peek_event().start_mark
                raise _LimitExceeded(f"more than {MAX_ALIASES} aliases", mark)
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:  # PyYAML composes recursively: no RecursionError
                mark = self.peek_event().start_mark
                raise _LimitExceeded(f"nested more than {MAX_DEPTH} levels deep", mark,
                                     hint="chipmix files need a few levels")
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        if isinstance(node, yaml.MappingNode):
            _check_duplicate_keys(self, node)
        return super().construct_mapping(node, deep=deep)

    def construct_yaml_timestamp(self, node: Any) -> Any:
        try:
            return super().construct_yaml_timestamp(node)
        except (ValueError, OverflowError) as exc:  # 2027-13-01, 2024-02-30
            raise _BadScalar(node, "not a real date", f"dates as YYYY-MM-DD ({exc})") from None

    def construct_yaml_int(self, node: Any) -> Any:
        try:
            return super().construct_yaml_int(node)
        except ValueError:  # more digits than Python converts (sys.get_int_max_str_digits)
            raise _BadScalar(node, "number too long", "a number of plausible size") from None


# Number forms YAML 1.2 reads as floats but PyYAML's 1.1 resolver leaves as strings.
SafeLoader.add_implicit_resolver("tag:yaml.org,2002:float", _FLOAT_12, list("-+0123456789."))
SafeLoader.add_constructor("tag:yaml.org,2002:timestamp", SafeLoader.construct_yaml_timestamp)
SafeLoader.add_constructor("tag:yaml.org,2002:int", SafeLoader.construct_yaml_int)


class _BadScalar(Exception):
    """A scalar YAML resolves to a type but whose value that type cannot hold."""

    def __init__(self, node: Any, problem: str, expected: str) -> None:
        super().__init__(problem)
        self.mark, self.problem, self.expected = node.start_mark, problem, expected
        self.value = node.value if len(node.value) <= 40 else node.value[:37] + "..."


class _LimitExceeded(Exception):
    def __init__(self, message: str, mark: Any = None,
                 hint: str = "YAML anchors/aliases expand beyond any plausible input") -> None:
        super().__init__(message)
        self.mark, self.hint = mark, hint


def _check_duplicate_keys(loader: SafeLoader, node: yaml.MappingNode) -> None:
    seen: dict[Any, Any] = {}
    for key_node, _ in node.value:
        if key_node.tag == _MERGE_TAG:
            continue  # `<<: *base` merges; explicit keys may override merged ones
        key = loader.construct_object(key_node, deep=True)
        try:
            first = seen.get(key)
        except TypeError:  # unhashable key: PyYAML reports it itself
            continue
        if first is not None:
            raise _DuplicateKey(key, key_node.start_mark, first)
        seen[key] = key_node.start_mark


class _DuplicateKey(Exception):
    def __init__(self, key: Any, mark: Any, first: Any) -> None:
        super().__init__(key)
        self.key, self.mark, self.first = key, mark, first


def _line(mark: Any) -> str | None:
    return f"line {mark.line + 1}" if mark is not None else None


def _expanded_size(root: yaml.Node) -> int:
    """Nodes in the tree with every alias expanded, stopping once past :data:`MAX_NODES`."""
    sizes: dict[int, int] = {}
    active: set[int] = set()

    def size(node: yaml.Node) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in active:
            raise _LimitExceeded("a recursive alias (a node that contains itself)", node.start_mark)
        active.add(key)
        total = 1
        if isinstance(node, yaml.SequenceNode):
            children = node.value
        elif isinstance(node, yaml.MappingNode):
            children = [child for pair in node.value for child in pair]
        else:
            children = []
        for child in children:
            total += size(child)
            if total > MAX_NODES:
                raise _LimitExceeded(f"more than {MAX_NODES} nodes once aliases are expanded")
        active.discard(key)
        sizes[key] = total
        return total

    return size(root)


def read_text(path: Path, *, what: str = "text") -> str:
    """The file's text, decoded as UTF-8 (a byte-order mark is dropped).

    Raises InputError naming the file when it is missing, unreadable or not UTF-8.
    """
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise InputError(f"file too large ({size} bytes)", file=path,
                             expected=f"a {what} file below {MAX_FILE_BYTES // 2**20} MiB")
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError("file not found", file=path) from None
    except IsADirectoryError:
        raise InputError("is a folder", file=path, expected=f"a {what} file") from None
    except OSError as exc:
        raise InputError(f"cannot read the file ({exc.strerror})", file=path) from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        bad = data[exc.start : exc.start + 1]
        raise InputError(
            f"not UTF-8: byte 0x{bad.hex()} at offset {exc.start}",
            file=path,
            expected=f"UTF-8 {what} (re-save the file with UTF-8 encoding)",
        ) from None


def load_yaml(path: str | Path) -> object:
    """Load one YAML document from ``path`` safely (see the module docstring).

    Returns the plain data (dict, list, str, int, float, bool, date, None). Raises
    InputError naming the file for every problem the user can fix.
    """
    path = Path(path)
    text = read_text(path, what="YAML")
    loader = SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise InputError("file is empty", file=path, expected="a YAML document")
        _expanded_size(node)
        return loader.construct_document(node)
    except _LimitExceeded as exc:
        raise InputError(
            f"refused: {exc}", file=path, location=_line(exc.mark),
            hint=exc.hint,
        ) from None
    except _BadScalar as exc:
        raise InputError(exc.problem, file=path, location=_line(exc.mark), value=exc.value,
                         expected=exc.expected) from None
    except _DuplicateKey as exc:
        raise InputError(
            "duplicate key", file=path, location=_line(exc.mark), value=exc.key,
            expected="each key once per mapping", hint=f"first at {_line(exc.first)}",
        ) from None
    except yaml.constructor.ConstructorError as exc:
        raise InputError(
            f"unsupported YAML tag ({_problem(exc)})", file=path,
            location=_line(exc.problem_mark), expected="plain YAML data (no ! tags)",
        ) from None
    except yaml.MarkedYAMLError as exc:
        raise InputError(
            f"not valid YAML: {_problem(exc)}", file=path, location=_line(exc.problem_mark)
        ) from None
    except yaml.YAMLError as exc:
        raise InputError(f"not valid YAML: {exc}", file=path) from None
    except (ValueError, OverflowError) as exc:  # e.g. an impossible date such as 2027-13-01
        raise InputError(f"not valid YAML: {exc}", file=path,
                         expected="valid values (dates as YYYY-MM-DD)") from None
    finally:
        loader.dispose()


def _problem(exc: yaml.MarkedYAMLError) -> str:
    text = exc.problem or str(exc)
    return " ".join(text.split())
