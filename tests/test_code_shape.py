"""Shape limits of the source that ruff does not check: no function over 100 lines.

(Complexity, branches, statements, arguments and returns are ruff's, in pyproject.toml.)
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src" / "chipmix"
MAX_LINES = 100


def function_lengths() -> list[tuple[int, str]]:
    """(lines, ``path:line name``) of every function and method in ``src/chipmix``."""
    found = []
    for path in sorted(SRC.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
                where = f"{path.relative_to(SRC.parent)}:{node.lineno} {node.name}"
                found.append((node.end_lineno - first + 1, where))
    return found


def test_no_function_over_100_lines():
    long = sorted(((n, w) for n, w in function_lengths() if n > MAX_LINES), reverse=True)
    assert not long, "split these functions:\n" + "\n".join(f"{n} lines: {w}" for n, w in long)


def test_the_measure_counts_decorators_and_body():
    assert max(n for n, _ in function_lengths()) > 10
