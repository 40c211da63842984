"""docs/tutorial.md is literate: its Python blocks run, in order, in one namespace, from the
repository's root (as the text says)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_tutorial_blocks_run_in_order(monkeypatch, capsys):
    text = (ROOT / "docs" / "tutorial.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert len(blocks) >= 10
    monkeypatch.chdir(ROOT)
    namespace: dict = {"__name__": "tutorial"}
    for i, code in enumerate(blocks):
        try:
            exec(compile(code, f"docs/tutorial.md block {i + 1}", "exec"), namespace)
        except Exception as exc:  # name the block that broke
            raise AssertionError(f"tutorial block {i + 1} failed: {exc!r}\n{code}") from exc
    out = capsys.readouterr().out
    assert "refused:" in out and "policy.domestic_shar" in out
    assert "optimal" in out
    assert namespace["report"].ok
    assert "<script" not in namespace["html"]
