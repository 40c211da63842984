"""libyaml's scanner and parser under chipmix's safe loader (``loads(..., libyaml=True)``).

The bundled rule sets are read with libyaml (several times faster than PyYAML's pure-Python
scanner); the data must be exactly what the pure-Python loader gives — same values and same
types (``True`` is not ``1``, a date is not a string) — and every problem must still be
reported by the pure-Python loader, word for word.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from chipmix.errors import InputError
from chipmix.inputs import yamlio
from chipmix.inputs.yamlio import loads
from chipmix.resources import examples_dir
from chipmix.rules.ruleset import bundled_rulesets, load_ruleset

pytestmark = pytest.mark.skipif(yamlio._LibyamlLoader is None, reason="PyYAML without libyaml")

ROOT = Path(__file__).parent
BUNDLED = sorted(bundled_rulesets().values())
OTHER = sorted([*examples_dir().rglob("*.yaml"), *(ROOT / "data").glob("*.yaml")])


def typed(value):
    """``value`` with the type of every node spelt out (so 1 != True != 1.0)."""
    if isinstance(value, dict):
        return ("dict", [(typed(k), typed(v)) for k, v in value.items()])
    if isinstance(value, list):
        return ("list", [typed(v) for v in value])
    return (type(value).__name__, repr(value))


def test_there_are_bundled_rule_sets():
    assert len(BUNDLED) >= 10


@pytest.mark.parametrize("path", BUNDLED + OTHER, ids=lambda p: p.name)
def test_libyaml_reads_the_same_data(path):
    text = path.read_text(encoding="utf-8")
    assert typed(loads(text, libyaml=True)) == typed(loads(text))


def test_libyaml_keeps_chipmix_s_resolvers_and_order():
    text = "b: 2.0e6\na: 1e6\nc: 2024-01-01\nd: [yes, 0x10, ~, '1']\n"
    data = loads(text, libyaml=True)
    assert list(data) == ["b", "a", "c", "d"]
    assert typed(data) == typed({"b": 2.0e6, "a": 1e6, "c": dt.date(2024, 1, 1),
                                 "d": [True, 16, None, "1"]})


@pytest.mark.parametrize("text", [
    "a: 1\na: 2\n",                                   # duplicate key
    "p:\n  2024Q1: 1\n  2024q1: 2\n",                 # one period spelt twice
    "a: !!python/object:os.system x\n",               # refused tag
    "a: !!binary aGVsbG8=\n",                         # refused standard tag
    "a: 2027-13-01\n",                                # not a real date
    "a: [1, 2\n",                                     # not valid YAML
    "a: \x00\n",                                      # a control character
    "a: &x [*x]\n",                                   # a recursive alias
    "a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\n"
    + "".join(f"{c}: &{c} [{', '.join([f'*{p}'] * 10)}]\n"
              for p, c in zip("abcdef", "bcdefg", strict=True)),  # a billion laughs
    "",                                               # empty
])
def test_problems_are_reported_by_the_python_loader(text):
    try:
        expected = loads(text, file="x.yaml", empty="file is empty")
    except InputError as exc:
        with pytest.raises(InputError) as got:
            loads(text, file="x.yaml", empty="file is empty", libyaml=True)
        assert str(got.value) == str(exc)
    else:
        assert typed(loads(text, file="x.yaml", empty="file is empty", libyaml=True)) == \
            typed(expected)


def test_libyaml_is_for_the_bundled_files_only(tmp_path):
    """libyaml accepts a tab PyYAML refuses: user files keep the pure-Python loader."""
    assert loads("a:\t1\n", libyaml=True) == {"a": 1}
    with pytest.raises(InputError):
        loads("a:\t1\n")
    rules = tmp_path / "mine.yaml"
    rules.write_text(BUNDLED[0].read_text(encoding="utf-8").replace("id: ", "id:\t", 1),
                     encoding="utf-8")
    with pytest.raises(InputError):
        load_ruleset(rules)


def test_bundled_rule_sets_are_read_with_libyaml(monkeypatch):
    from chipmix.rules import ruleset

    seen = []
    real = ruleset.load_yaml
    monkeypatch.setattr(ruleset, "load_yaml",
                        lambda path, **kw: seen.append(kw.get("libyaml")) or real(path, **kw))
    ruleset._load_cached.cache_clear()
    try:
        ruleset.load_rulesets(None)
    finally:
        ruleset._load_cached.cache_clear()
    assert seen and all(seen)
