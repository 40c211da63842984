"""Safe YAML loading for scenarios and rule sets.

:func:`load_yaml` reads one YAML document with a hardened ``SafeLoader``:

- only plain data (mappings, lists, strings, numbers, booleans, dates, null); any other tag
  (``!!python/object`` and friends) is an error;
- alias expansion is capped: a document whose fully expanded tree would hold more than
  :data:`MAX_NODES` nodes, or that uses more than :data:`MAX_ALIASES` aliases, is refused
  ("billion laughs"); a recursive alias is refused too, and so is nesting deeper than
  :data:`MAX_DEPTH` levels;
- a key repeated in one mapping is an error naming the key and its path (YAML would silently
  keep the last one, so a duplicate would override a value unnoticed); so are two keys that
  are one period spelt two ways (``2024Q1`` and ``2024q1``);
- ``!!binary``, ``!!set``, ``!!omap`` and ``!!pairs`` are refused (no chipmix value has those
  types), and so is any character YAML does not allow (NUL and other control characters),
  with the line and column;
- YAML 1.2 floats: ``2.0e6`` and ``1e6`` load as numbers (PyYAML's YAML 1.1 rules read them
  as strings);
- a file that is empty, not UTF-8 (UTF-16/32 are named as such), larger than the
  ``file-bytes`` limit, not a regular file, or not valid YAML is an :class:`InputError`
  naming the file (and the line where the parser knows it); so is a date that does not exist
  (``2027-13-01``) or an integer with thousands of digits.

:func:`loads` applies the same checks to text (``--set`` values).

:data:`MAX_NUMBER` is the largest magnitude the catalog, scenario and rule-set validators accept.
"""

from __future__ import annotations

import contextlib
import re
from pathlib import Path
from typing import Any

import yaml

from chipmix.errors import ArgumentError, InputError
from chipmix.io import decode_text, line_column, read_input
from chipmix.periods import period_key

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
#: Default cap on the size of an input file (bytes; the ``file-bytes`` limit of
#: :mod:`chipmix.limits`); real catalogs and scenarios are a few kB.
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


    def construct_refused(self, node: Any) -> Any:
        raise _BadTag(node)


class _BadTag(Exception):
    """A standard YAML tag chipmix refuses.

    A standard tag chipmix refuses: ``!!binary`` (bytes), ``!!set``, ``!!omap``,
    ``!!pairs`` (no scenario or rule value has those types).
    """

    def __init__(self, node: Any) -> None:
        super().__init__(node.tag)
        self.mark = node.start_mark
        self.tag = "!!" + node.tag.rsplit(":", 1)[-1]


for _tag in ("binary", "set", "omap", "pairs"):
    SafeLoader.add_constructor(f"tag:yaml.org,2002:{_tag}", SafeLoader.construct_refused)

# Number forms YAML 1.2 reads as floats but PyYAML's 1.1 resolver leaves as strings.
SafeLoader.add_implicit_resolver("tag:yaml.org,2002:float", _FLOAT_12, list("-+0123456789."))
SafeLoader.add_constructor("tag:yaml.org,2002:timestamp", SafeLoader.construct_yaml_timestamp)
SafeLoader.add_constructor("tag:yaml.org,2002:int", SafeLoader.construct_yaml_int)

#: libyaml's C scanner and parser, when PyYAML was built with it (None otherwise).
_CParser: Any = None
with contextlib.suppress(ImportError):  # a PyYAML built without libyaml
    import yaml.cyaml

    _CParser = yaml.cyaml.CParser
#: :class:`SafeLoader` on libyaml's events (None without libyaml).
_LibyamlLoader: Any = None

if _CParser is not None:
    class _Libyaml(_CParser, SafeLoader):
        """:class:`SafeLoader` on libyaml's events: the same composer, checks, constructors.

        Only libyaml's scanner and parser replace PyYAML's (several times faster); composing
        (alias and depth caps), key checks, resolving and constructing stay the Python code
        of :class:`SafeLoader`. Used for the bundled rule sets only, whose data
        tests/test_yamlio.py proves equal to the pure-Python loader's; an error falls back to
        that loader, which reports it with its own marks.
        """

        # libyaml composes in C too: take the (checking) Python composer instead
        get_single_node = yaml.composer.Composer.get_single_node
        compose_document = yaml.composer.Composer.compose_document
        check_node = yaml.composer.Composer.check_node
        get_node = yaml.composer.Composer.get_node

        def __init__(self, stream: str) -> None:
            _CParser.__init__(self, stream)
            yaml.composer.Composer.__init__(self)
            yaml.constructor.SafeConstructor.__init__(self)
            yaml.resolver.Resolver.__init__(self)
            self.alias_uses = 0
            self.depth = 0

    _LibyamlLoader = _Libyaml


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


def _check_keys(loader: SafeLoader, root: yaml.Node) -> None:
    """Refuse duplicate keys, also one period spelt twice.

    Every mapping of the composed tree holds each key once: also no two keys that are one
    period spelt two ways (``2024Q1`` and ``2024q1``). Walked before anything is constructed,
    with the key path for the message; shared (aliased) nodes are walked once.
    """
    seen_nodes: set[int] = set()
    stack: list[tuple[yaml.Node, str]] = [(root, "")]
    while stack:
        node, path = stack.pop()
        if id(node) in seen_nodes:
            continue
        seen_nodes.add(id(node))
        if isinstance(node, yaml.SequenceNode):
            stack.extend((child, f"{path}[{i}]") for i, child in enumerate(node.value))
            continue
        if not isinstance(node, yaml.MappingNode):
            continue
        seen: dict[Any, tuple[Any, Any]] = {}
        periods: dict[str, tuple[Any, Any]] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                stack.append((value_node, path))
                continue  # `<<: *base` merges; explicit keys may override merged ones
            key = loader.construct_object(key_node, deep=True)
            try:
                first = seen.get(key)
            except TypeError:  # unhashable key: PyYAML reports it itself
                continue
            if first is not None:
                raise _DuplicateKey(key, key_node.start_mark, first[1], path)
            seen[key] = (key, key_node.start_mark)
            canonical = period_key(key)
            if canonical is not None:
                other = periods.get(canonical)
                if other is not None:
                    raise _DuplicateKey(key, key_node.start_mark, other[1], path,
                                        same_period=other[0])
                periods[canonical] = (key, key_node.start_mark)
            child = f"{path}.{key}" if path else str(key)
            stack.append((value_node, child))


class _DuplicateKey(Exception):
    def __init__(self, key: Any, mark: Any, first: Any, path: str,
                 same_period: Any = None) -> None:
        super().__init__(key)
        self.key, self.mark, self.first, self.path = key, mark, first, path
        self.same_period = same_period


def _line(mark: Any) -> str | None:
    return f"line {mark.line + 1}" if mark is not None else None


def _line_column(mark: Any) -> str | None:
    return f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else None


_NUMBER_TEXT = re.compile(r"^[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?$",
                          re.ASCII)


def number_text(text: str) -> float | None:
    """Read a number written with ASCII digits.

    ``text`` as a number when it is written with ASCII digits (``12``, ``-1.5``,
    ``2e6``; spaces around allowed), else None: no full-width or Arabic-Indic digits, no
    ``1_000``, ``nan`` or ``inf`` (Python's ``float`` takes all of those).
    """
    text = text.strip()
    if not _NUMBER_TEXT.match(text):
        return None
    return float(text)


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


def read_text(path: str | Path, *, what: str = "text") -> str:
    """The file's text, decoded as UTF-8 (a byte-order mark is dropped).

    Read through :func:`chipmix.io.read_input` (a regular file, bounded, recorded as an input
    of the run). Raises InputError naming the file when it is missing, unreadable, not a
    regular file, too large or not UTF-8 (with the line and column of the first bad byte).
    """
    return decode_text(read_input(path, what=what), path, what=what)


def load_yaml(path: str | Path, *, libyaml: bool = False) -> object:
    """Load one YAML document from ``path`` safely (see the module docstring).

    Returns the plain data (dict, list, str, int, float, bool, date, None). Raises
    InputError naming the file for every problem the user can fix. ``libyaml``: as
    :func:`loads`.
    """
    if not isinstance(path, (str, Path)):
        raise ArgumentError("chipmix.inputs.yamlio.load_yaml", "path", path, "a file path")
    path = Path(path)
    text = read_text(path, what="YAML")
    return loads(text, file=path, empty="file is empty", libyaml=libyaml)


_FAILED = object()


def _libyaml_load(text: str) -> object:
    """``text``'s data through :data:`_LibyamlLoader`, or ``_FAILED`` on any problem."""
    loader = _LibyamlLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return _FAILED
        _expanded_size(node)
        _check_keys(loader, node)
        return loader.construct_document(node)
    except Exception:  # noqa: BLE001 - the pure-Python loader reports it, with its own marks
        return _FAILED
    finally:
        loader.dispose()


def loads(text: str, *, file: str | Path | None = None, location: str | None = None,
          empty: str | None = None, libyaml: bool = False) -> object:
    """Load one YAML document from text.

    One YAML document from ``text`` with every check of :func:`load_yaml` (alias and size
    caps, duplicate keys, refused tags and characters). ``file`` and ``location`` label the
    messages (``--set`` values pass ``file="--set"`` and the key path); ``empty``: the message
    for an empty document (None: an empty document is ``None``). ``libyaml``: scan and parse
    with libyaml when PyYAML has it (the bundled rule sets, whose data tests prove equal;
    every problem is still reported by the pure-Python loader).
    """
    if libyaml and _LibyamlLoader is not None:
        data = _libyaml_load(text)
        if data is not _FAILED:
            return data

    def where(mark: Any, columns: bool = False) -> str | None:
        spot = _line_column(mark) if columns else _line(mark)
        return ", ".join(p for p in (location, spot) if p) or None

    loader = None
    try:
        loader = SafeLoader(text)
        node = loader.get_single_node()
        if node is None:
            if empty is None:
                return None
            raise InputError(empty, file=file, location=location, expected="a YAML document")
        _expanded_size(node)
        _check_keys(loader, node)
        return loader.construct_document(node)
    except yaml.reader.ReaderError as exc:
        line, column = line_column(text, exc.position)
        code = exc.character if isinstance(exc.character, int) else ord(str(exc.character)[:1])
        name = " (NUL)" if code == 0 else ""
        spot = ", ".join(p for p in (location, f"line {line}, column {column}") if p)
        raise InputError(f"character U+{code:04X}{name} is not allowed in YAML", file=file,
                         location=spot, expected="printable text (remove control characters; "
                                                 "is the file UTF-8 text?)") from None
    except _LimitExceeded as exc:
        raise InputError(f"refused: {exc}", file=file, location=where(exc.mark),
                         hint=exc.hint) from None
    except _BadScalar as exc:
        raise InputError(exc.problem, file=file, location=where(exc.mark), value=exc.value,
                         expected=exc.expected) from None
    except _BadTag as exc:
        raise InputError(f"unsupported YAML tag {exc.tag}", file=file,
                         location=where(exc.mark), expected="plain YAML data (no ! tags)"
                         ) from None
    except _DuplicateKey as exc:
        if exc.same_period is not None:
            raise InputError(
                f"{exc.key!r} is the same period as {exc.same_period!r} ({_line(exc.first)})",
                file=file, location=where(exc.mark), field=exc.path or None,
                expected="each period once per mapping") from None
        raise InputError(
            "duplicate key", file=file, location=where(exc.mark), field=exc.path or None,
            value=exc.key, expected="each key once per mapping",
            hint=f"first at {_line(exc.first)}",
        ) from None
    except yaml.constructor.ConstructorError as exc:
        raise InputError(
            f"unsupported YAML tag ({_problem(exc)})", file=file,
            location=where(exc.problem_mark), expected="plain YAML data (no ! tags)",
        ) from None
    except yaml.MarkedYAMLError as exc:
        raise InputError(
            f"not valid YAML: {_problem(exc)}", file=file, location=where(exc.problem_mark)
        ) from None
    except yaml.YAMLError as exc:
        raise InputError(f"not valid YAML: {exc}", file=file, location=location) from None
    except (ValueError, OverflowError) as exc:  # e.g. an impossible date such as 2027-13-01
        raise InputError(f"not valid YAML: {exc}", file=file, location=location,
                         expected="valid values (dates as YYYY-MM-DD)") from None
    except RecursionError:
        raise InputError("nested too deeply", file=file, location=location,
                         expected=f"at most {MAX_DEPTH} levels") from None
    finally:
        if loader is not None:
            loader.dispose()


def _problem(exc: yaml.MarkedYAMLError) -> str:
    text = exc.problem or str(exc)
    return " ".join(text.split())
