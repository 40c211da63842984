"""The package's layers stay one-way (docs/architecture.md).

Every import in ``src/chipmix`` is read with :mod:`ast` — including imports inside functions
and under ``TYPE_CHECKING`` — and checked against the layer map below: a module imports only
its own layer or lower ones, no two modules import each other (directly or round a cycle),
the independent checker imports nothing of the model, solvers, pipeline or planner, and no
module imports the ``chipmix`` facade.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src" / "chipmix"

#: layer number -> module prefixes (lowest first); docs/architecture.md explains each.
LAYERS: dict[int, tuple[str, ...]] = {
    0: ("chipmix.errors", "chipmix.periods", "chipmix.resources", "chipmix.io",
        "chipmix.numbers", "chipmix.limits", "chipmix.processes"),
    1: ("chipmix.inputs",),
    2: ("chipmix.rules",),
    3: ("chipmix.model",),
    4: ("chipmix.solve",),
    5: ("chipmix.pipeline",),
    6: ("chipmix.planner", "chipmix.checker"),
    7: ("chipmix.insight", "chipmix.studies", "chipmix.hedging"),
    8: ("chipmix.present",),
    9: ("chipmix.cli",),
}
#: outside the layers: the lazy facade and ``python -m chipmix``
OUTSIDE = ("chipmix", "chipmix.__main__")
#: what the independent checker may import (base, inputs, rules)
CHECKER_MAY_IMPORT = (0, 1, 2)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


MODULES = {_module_name(p): p for p in sorted(SRC.rglob("*.py"))}


def layer_of(module: str) -> int | None:
    """The layer of a module name (None: outside the layers)."""
    for number, prefixes in LAYERS.items():
        if any(module == p or module.startswith(p + ".") for p in prefixes):
            return number
    return None


def _resolve(name: str) -> str | None:
    """``name`` when it is a module of ``src/chipmix`` (an imported function or class is not:
    its module is imported too and counted)."""
    return name if name in MODULES else None


def imports_of(module: str) -> list[tuple[str, int]]:
    """(imported chipmix module, line) for every import statement of ``module``."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(parent + ([node.module] if node.module else []))
            names = [f"{base}.{alias.name}" for alias in node.names] + [base]
        else:
            continue
        for name in names:
            if name == "chipmix" or name.startswith("chipmix."):
                target = _resolve(name)
                if target is not None and target != module:
                    out.append((target, node.lineno))
    return sorted(set(out))


GRAPH = {m: imports_of(m) for m in MODULES}


def test_every_module_has_a_layer():
    unplaced = [m for m in MODULES if m not in OUTSIDE and layer_of(m) is None]
    assert not unplaced, f"modules outside the layer map (add them to LAYERS): {unplaced}"


def test_no_module_imports_a_higher_layer():
    upward = [
        f"{m}:{line} imports {target} (layer {layer_of(target)} > {layer_of(m)})"
        for m, edges in GRAPH.items() if m not in OUTSIDE
        for target, line in edges
        if layer_of(target) is not None and layer_of(target) > layer_of(m)
    ]
    assert not upward, "\n".join(upward)


def test_no_module_imports_the_facade():
    users = [f"{m}:{line}" for m, edges in GRAPH.items() if m not in OUTSIDE
             for target, line in edges if target == "chipmix"]
    assert not users, f"import chipmix.<layer>.<module> instead of the facade: {users}"


def test_the_checker_imports_neither_model_nor_planner():
    wrong = [
        f"{m}:{line} imports {target}"
        for m, edges in GRAPH.items() if m.startswith("chipmix.checker")
        for target, line in edges
        if not target.startswith("chipmix.checker") and layer_of(target) not in CHECKER_MAY_IMPORT
    ]
    assert not wrong, "\n".join(wrong)


def strongly_connected(graph: dict[str, list[tuple[str, int]]]) -> list[list[str]]:
    """Tarjan's components of more than one module (import cycles)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w, _ in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    return found


def test_no_import_cycle():
    cycles = strongly_connected(GRAPH)
    assert not cycles, f"import cycles: {cycles}"


def test_the_cycle_finder_finds_cycles():
    graph = {"a": [("b", 1)], "b": [("c", 1)], "c": [("a", 1)], "d": [("a", 1)]}
    assert strongly_connected(graph) == [["a", "b", "c"]]


@pytest.mark.parametrize("module", ["chipmix.errors", "chipmix.inputs.scenario",
                                    "chipmix.checker.verifier", "chipmix.cli"])
def test_the_map_knows_the_core_modules(module):
    assert module in MODULES and (module in OUTSIDE or layer_of(module) is not None)


#: third-party modules imported inside functions on purpose (start-up time, optional extras)
LAZY_LIBRARIES = ("dask", "matplotlib", "openpyxl", "pulp", "highspy", "pyarrow")


def _function_imports(module: str) -> list[tuple[str, int, str]]:
    """(imported module, line, line text) of every import inside a function of ``module``."""
    path = MODULES[module]
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    found = []
    for func in ast.walk(ast.parse(text)):
        if not isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for node in ast.walk(func):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level:
                names = [node.module or ""]
            else:
                continue
            found.extend((name, node.lineno, lines[node.lineno - 1]) for name in names)
    return sorted(set(found))


def test_imports_inside_functions_are_deliberately_lazy():
    """An import inside a function hides the graph; it is kept only where laziness is the point:
    the CLI (``chipmix --help`` must not load pandas or a solver), the facade, the optional or
    heavy libraries above, and lines saying why (``# lazy: ...``)."""
    hidden = [
        f"{m}:{line} {name}"
        for m in MODULES if m not in OUTSIDE and not m.startswith("chipmix.cli")
        for name, line, text in _function_imports(m)
        if name.split(".")[0] not in LAZY_LIBRARIES and "# lazy" not in text
    ]
    assert not hidden, "move these imports to the top of the module:\n" + "\n".join(hidden)
