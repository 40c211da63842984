"""The README's library snippet: guarded as a script must be, and it runs (once).

Under ``spawn`` every worker process re-imports the main module, so any statement outside
``if __name__ == "__main__":`` runs again in each worker: the snippet may only import and
define at the top level.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def python_blocks(text: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


def test_library_snippet_guards_its_whole_body():
    blocks = python_blocks((ROOT / "README.md").read_text(encoding="utf-8"))
    assert blocks
    for code in blocks:
        for node in ast.parse(code).body:
            ok = isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef)) or (
                isinstance(node, ast.If) and "__name__" in ast.unparse(node.test))
            assert ok, f"README snippet runs at import time: {ast.unparse(node)[:80]}"


def test_library_snippet_runs_once(tmp_path):
    code = python_blocks((ROOT / "README.md").read_text(encoding="utf-8"))[0]
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    script = tmp_path / "snippet.py"
    # a marker at import time: the main process prints it once, and so would every worker
    # that re-ran the module body (spawn imports the script as __mp_main__)
    script.write_text("import sys\nprint('IMPORTED', __name__, file=sys.stderr)\n" + code,
                      encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    run = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True,
                         text=True, timeout=600, env=env, check=False)
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stderr.count("IMPORTED __main__") == 1
    # workers import it as __mp_main__ (that is what the guard is for): nothing else ran there
    assert run.stdout.count("policy.domestic_share") == 1
    assert (tmp_path / "report.html").is_file()
