"""docs/architecture.md names every module of ``src/chipmix`` (the tree stays the map)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src" / "chipmix"
DOC = ROOT / "docs" / "architecture.md"


def test_every_module_is_in_the_architecture_tree():
    text = DOC.read_text(encoding="utf-8")
    tree = text.split("```\nsrc/chipmix/\n", 1)[1].split("```", 1)[0]
    listed = set(re.findall(r"^\s+([a-z_]+/)?([a-z_]+\.py)\b", tree, flags=re.M))
    listed = {f"{pkg or ''}{name}" for pkg, name in listed}
    modules = {str(p.relative_to(SRC)) for p in SRC.rglob("*.py")}
    packages = {m for m in modules if m.endswith("/__init__.py")}
    missing = sorted(modules - listed - packages)
    assert not missing, f"add these modules to docs/architecture.md's tree: {missing}"
    stale = sorted(listed - modules)
    assert not stale, f"docs/architecture.md lists modules that do not exist: {stale}"


def test_every_package_is_named():
    text = DOC.read_text(encoding="utf-8")
    for package in sorted(p.parent.name for p in SRC.rglob("__init__.py") if p.parent != SRC):
        assert f"`{package}/`" in text, f"docs/architecture.md does not name {package}/"
