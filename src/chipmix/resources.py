"""Where the bundled catalogs, rule sets and example scenarios live.

In an installed wheel they sit inside the package (``chipmix/_bundled/``, see
``pyproject.toml``); in a source checkout they are the repository's top-level ``catalogs/``
and ``examples/`` folders. Nothing depends on the current directory.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

_PKG = Path(__file__).resolve().parent


@cache
def _root(name: str) -> Path:
    installed = _PKG / "_bundled" / name
    if installed.is_dir():
        return installed
    checkout = _PKG.parent.parent / name  # src/chipmix -> repo root
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError(
        f"bundled folder '{name}' not found (looked in {installed} and {checkout})"
    )


def catalogs_dir() -> Path:
    """Folder of the bundled catalog CSVs."""
    return _root("catalogs")


def rules_dir() -> Path:
    """Folder of the bundled rule-set YAML files."""
    return _root("catalogs") / "rules"


def examples_dir() -> Path:
    """Folder of the bundled example scenarios."""
    return _root("examples")


DEFAULT_SCENARIO = "rush-before-ban"


def default_scenario_path() -> Path:
    """The bundled default scenario (``examples/rush-before-ban.yaml``)."""
    return examples_dir() / f"{DEFAULT_SCENARIO}.yaml"
