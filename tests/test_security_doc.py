"""docs/SECURITY.md's output promises are tested: every row of its "what chipmix will and
will not overwrite" table names the checks that prove it — cases of the hostile corpus
(``tests/test_hostile.py``), run here again, and tests elsewhere (``file.py::test_name``),
which must exist. A promise without a check, or a check that does not exist, fails."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
import test_hostile as corpus

plan_json = corpus.plan_json  # the corpus's session fixture
CASES, ROOT = corpus.CASES, corpus.ROOT

DOC = Path(__file__).resolve().parent.parent / "docs" / "SECURITY.md"
TESTS = Path(__file__).resolve().parent
BY_ID = {case.id: case for case in CASES}


def promises() -> dict[str, list[str]]:
    """``{"W1": [check, ...]}`` from the table's rows ``| W1 | promise | checks |``."""
    rows: dict[str, list[str]] = {}
    for line in DOC.read_text(encoding="utf-8").splitlines():
        match = re.match(r"^\| (W\d+) \| (.+) \| (.+) \|$", line)
        if match:
            rows[match.group(1)] = re.findall(r"`([^`]+)`", match.group(3))
    return rows


def test_the_doc_states_the_output_promises():
    rows = promises()
    assert len(rows) >= 9, rows
    for number, checks in rows.items():
        assert checks, f"{number}: no check named"


def _functions(file: str) -> set[str]:
    tree = ast.parse((TESTS / file).read_text(encoding="utf-8"))
    return {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}


def test_every_named_check_exists():
    for number, checks in promises().items():
        for check in checks:
            if "::" in check:
                file, name = check.split("::")
                assert name in _functions(file), f"{number}: {check} does not exist"
            else:
                assert check in BY_ID, f"{number}: no corpus case {check!r}"


def _corpus_checks():
    params = []
    for number, checks in sorted(promises().items()):
        for check in checks:
            if "::" not in check and check in BY_ID:
                case = BY_ID[check]
                marks = [pytest.mark.skipif(not ROOT, reason="needs root")] if case.root else []
                params.append(pytest.param(case, id=f"{number}-{check}", marks=marks))
    return params


@pytest.mark.parametrize("case", _corpus_checks())
def test_promise(case, tmp_path, plan_json, capfd, monkeypatch):  # noqa: F811
    corpus.test_hostile(case, tmp_path, plan_json, capfd, monkeypatch)
