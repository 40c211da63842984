"""The library API with bad arguments (issue #12): every public function raises a
``ChipmixError`` subclass — ``ArgumentError`` (also a ``TypeError``) for an argument of the
wrong kind, ``InputError`` for a bad value — and says so in its docstring. Plus the output
policy and the bounded reader used directly."""

from __future__ import annotations

import inspect
import os
from pathlib import Path

import pytest

import chipmix
from chipmix import io, limits
from chipmix.errors import ArgumentError, ChipmixError, InputError, OutputError

BASE = Path(__file__).parent / "malformed" / "support" / "base.yaml"


@pytest.fixture(scope="module")
def scenario():
    return chipmix.load_scenario(BASE)


CALLS = {
    "load_scenario(None)": lambda s: chipmix.load_scenario(None),
    "load_scenario(5)": lambda s: chipmix.load_scenario(5),
    "load_scenario('')": lambda s: chipmix.load_scenario(""),
    "load_scenario(path, sets=5)": lambda s: chipmix.load_scenario(BASE, sets=5),
    "load_scenario(path, sets='a=1')": lambda s: chipmix.load_scenario(BASE, sets="name=x"),
    "load_scenario(path, sets=[5])": lambda s: chipmix.load_scenario(BASE, sets=[5]),
    "Scenario.from_dict(None)": lambda s: chipmix.Scenario.from_dict(None),
    "Scenario.load(None)": lambda s: chipmix.Scenario.load(None),
    "plan(None)": lambda s: chipmix.plan(None),
    "plan(5)": lambda s: chipmix.plan(5),
    "plan(s, solver=5)": lambda s: chipmix.plan(s, solver=5),
    "plan(s, solver='gurobi')": lambda s: chipmix.plan(s, solver="gurobi"),
    "plan(s, time_limit='x')": lambda s: chipmix.plan(s, time_limit="x"),
    "plan(s, gap=nan)": lambda s: chipmix.plan(s, gap=float("nan")),
    "plan(s, threads='x')": lambda s: chipmix.plan(s, threads="x"),
    "plan(s, write_lp=5)": lambda s: chipmix.plan(s, write_lp=5),
    "verify(None, None)": lambda s: chipmix.verify(None, None),
    "verify(None, s)": lambda s: chipmix.verify(None, s),
    "verify({}, s)": lambda s: chipmix.verify({}, s),
    "verify(5, s)": lambda s: chipmix.verify(5, s),
    "verify(plan, s, tolerance=nan)": lambda s: chipmix.verify(chipmix.plan(s), s,
                                                               tolerance=float("nan")),
    "classify(at=object())": lambda s: chipmix.classify(at=object()),
    "classify(at=5)": lambda s: chipmix.classify(at=5),
    "classify(catalogs=5)": lambda s: chipmix.classify(catalogs=5),
    "classify(rules=5)": lambda s: chipmix.classify(rules=5),
    "compare(None)": lambda s: chipmix.compare(None),
    "compare(5)": lambda s: chipmix.compare(5),
    "compare('a.yaml')": lambda s: chipmix.compare("a.yaml"),
    "compare([None])": lambda s: chipmix.compare([None]),
    "sweep(None, None)": lambda s: chipmix.sweep(None, None),
    "sweep(s, None)": lambda s: chipmix.sweep(s, None),
    "sweep(s, 5)": lambda s: chipmix.sweep(s, 5),
    "sweep(s, [5])": lambda s: chipmix.sweep(s, [5]),
    "sweep(s, ok, workers='x')": lambda s: chipmix.sweep(
        s, {"policy.domestic_share": [0]}, workers="x"),
    "sweep(s, ok, workers=0)": lambda s: chipmix.sweep(
        s, {"policy.domestic_share": [0]}, workers=0),
    "frontier(None)": lambda s: chipmix.frontier(None),
    "frontier(s, steps=None)": lambda s: chipmix.frontier(s, steps=None),
    "frontier(s, steps=2.5)": lambda s: chipmix.frontier(s, steps=2.5),
    "frontier(s, tolerance=None)": lambda s: chipmix.frontier(s, tolerance=None),
    "hedge(None)": lambda s: chipmix.hedge(None),
    "hedge(5)": lambda s: chipmix.hedge(5),
    "hedge(s, weight='high')": lambda s: chipmix.hedge(s, weight="high"),
    "replay(None)": lambda s: chipmix.replay(None),
    "replay(s, foresight=5)": lambda s: chipmix.replay(s, foresight=5),
    "load_catalog(None)": lambda s: chipmix.load_catalog(None),
    "load_catalog(5)": lambda s: chipmix.load_catalog(5),
    "load_catalogs(5)": lambda s: chipmix.load_catalogs(5),
    "load_catalogs('nvidia')": lambda s: chipmix.load_catalogs("nvidia"),
    "load_catalogs([None])": lambda s: chipmix.load_catalogs([None]),
    "limits.using({'nope': 1})": lambda s: limits.using({"nope": 1}).__enter__(),
    "limits.using({'periods': 0})": lambda s: limits.using({"periods": 0}).__enter__(),
    "io.read_input(None)": lambda s: io.read_input(None),
    "io.write_text(None, 'x')": lambda s: io.write_text(None, "x"),
    "io.write_text(path, 5)": lambda s: io.write_text("x.json", 5),
    "io.check_outputs(5)": lambda s: io.check_outputs(5),
}


@pytest.mark.parametrize("name", list(CALLS))
def test_bad_arguments_raise_a_chipmix_error(name, scenario, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ChipmixError) as caught:
        CALLS[name](scenario)
    message = str(caught.value)
    assert message and "\n" not in message
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_argument_errors_are_also_type_errors():
    with pytest.raises(TypeError):
        chipmix.load_scenario(None)
    assert issubclass(ArgumentError, ChipmixError) and issubclass(ArgumentError, TypeError)
    assert ArgumentError.exit_code == 2 and OutputError.exit_code == 2


@pytest.mark.parametrize("name", sorted(set(chipmix.__all__) - {"__version__"}))
def test_every_public_function_documents_what_it_raises(name):
    value = getattr(chipmix, name)
    if inspect.isclass(value):
        return  # classes: their constructors are the loaders, documented there
    doc = inspect.getdoc(value) or ""
    assert "Raises" in doc or "raises" in doc.lower(), f"chipmix.{name}: no Raises section"
    assert "Error" in doc, f"chipmix.{name}: the docstring names no error class"


# -- the output policy, called directly ---------------------------------------------------------


def test_a_symlink_swapped_in_while_writing_is_not_followed(tmp_path):
    """The target becomes a symlink to a victim between the check and the rename (a
    symlink race): the victim is never written, the link is not replaced either."""
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    target = tmp_path / "plan.json"
    with pytest.raises(OutputError, match="became a symlink"), io.atomic_path(target) as tmp:
        tmp.write_text("{}\n")
        os.symlink(victim, target)
    assert victim.read_text() == "precious\n"
    assert os.path.islink(target)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plan.json", "victim.txt"]


def test_inputs_of_a_run_are_never_outputs(tmp_path):
    source = tmp_path / "in.yaml"
    source.write_text("a: 1\n")
    with io.run_scope():
        io.read_input(source)
        with pytest.raises(OutputError, match="input of this run"):
            io.write_text(source, "clobbered")
        with pytest.raises(OutputError, match="input of this run"):
            io.check_outputs(tmp_path / "." / "in.yaml")
    assert source.read_text() == "a: 1\n"
    io.write_text(source, "b: 2\n")  # outside a run: the caller's business
    assert source.read_text() == "b: 2\n"


def test_a_catalog_deleted_mid_sweep_changes_no_variant(tmp_path):
    """Workers read the bytes the caller validated (the job's snapshot), not the disk."""
    import shutil

    from chipmix.studies import run_sweep

    folder = tmp_path / "s"
    folder.mkdir()
    shutil.copy(BASE, folder / "base.yaml")
    shutil.copy(BASE.parent / "good.csv", folder / "good.csv")
    base = chipmix.load_scenario(folder / "base.yaml")
    seen: list[int] = []

    def progress(done: int, total: int) -> None:
        seen.append(done)
        if done == 1:
            (folder / "good.csv").unlink()  # gone after the first variant

    run = run_sweep(base, {"policy.domestic_share": [0, 0, 0]}, workers=1, progress=progress)
    assert list(run.frame["status"]) == ["optimal"] * 3, list(run.frame["message"])
    assert run.frame["objective"].nunique() == 1


def test_the_grid_is_lazy():
    from chipmix.studies.sweep import grid

    huge = grid({"a": list(range(10_000)), "b": list(range(10_000)), "c": [0, 1]})
    assert len(huge) == 200_000_000
    assert huge[0] == {"a": 0, "b": 0, "c": 0}
    assert huge[-1] == {"a": 9_999, "b": 9_999, "c": 1}
    assert huge[3] == {"a": 0, "b": 1, "c": 1}
    small = grid({"a": [1, 2], "b": ["x", "y", "z"]})
    assert list(small) == [small[i] for i in range(len(small))]


def test_limits_name_the_cap_and_the_flag():
    with limits.raised(periods=3), pytest.raises(InputError) as caught:
        limits.check("periods", 4, what="4 periods")
    assert "at most 3" in str(caught.value) and "--limit periods=N" in str(caught.value)
    assert limits.get("periods") == limits.LIMITS["periods"].default
