"""docs/insight.md's worked example quotes only figures the code makes.

Its blocks between ``<!-- figures:NAME -->`` markers are rendered by docs/insight_figures.py
from fresh runs on the bundled default; when catalogs, rules or the model move a figure,
rewrite them deliberately with ``python docs/insight_figures.py --write`` (and re-read the
sentences around them).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NAMES = ["plan", "explain", "substitute", "alternatives", "stress"]


def figures_module():
    spec = importlib.util.spec_from_file_location("insight_figures",
                                                  ROOT / "docs" / "insight_figures.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_figure_block_is_on_the_page_and_filled():
    blocks = figures_module().blocks((ROOT / "docs" / "insight.md").read_text(encoding="utf-8"))
    assert sorted(blocks) == sorted(NAMES)
    for name, body in blocks.items():
        assert body.strip(), f"block {name} is empty: run python docs/insight_figures.py --write"


def test_replace_rewrites_only_the_named_blocks():
    f = figures_module()
    text = "a\n<!-- figures:plan -->\nold\n<!-- /figures:plan -->\nb\n" \
           "<!-- figures:stress -->\nkeep\n<!-- /figures:stress -->\n"
    out = f.replace(text, {"plan": "new\n"})
    assert f.blocks(out) == {"plan": "new\n", "stress": "keep\n"}
    assert out.startswith("a\n") and "\nb\n" in out


@pytest.mark.slow
def test_the_worked_example_figures_are_current():
    f = figures_module()
    names = ["plan", "explain", "substitute", "alternatives"]
    fresh = f.compute(names, workers=2)
    page = f.blocks((ROOT / "docs" / "insight.md").read_text(encoding="utf-8"))
    stale = [n for n in names if page[n] != fresh[n]]
    assert not stale, (f"docs/insight.md blocks {stale} are out of date: run "
                       "python docs/insight_figures.py --write, then re-read the text around them")
