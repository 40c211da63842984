"""Outputs: every file is written to a temp file beside it and renamed into place, so an
interrupted run leaves the old file (or none), never half a file; parallel runs in one folder
do not collide.

The kill tests start real ``python -m chipmix plan ... -o out.json`` processes over an existing
``out.json`` and SIGKILL them (with their solver children) at several moments, including in
the middle of writing (a writer slowed down on purpose).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from chipmix.errors import OutputError
from chipmix.io import atomic_path, write_text
from chipmix.solve.files import write_model_files

SRC = Path(__file__).resolve().parent.parent / "src"
CORPUS_SUPPORT = Path(__file__).parent / "malformed" / "support"
OLD = '{"old": "a plan from last week, still needed"}\n'

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL and process groups")


def _env(**extra: str) -> dict[str, str]:
    path = os.pathsep.join(p for p in (str(SRC), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "PYTHONPATH": path, **extra}


def _leftovers(folder: Path, keep: set[str]) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name not in keep)


# -- atomic_path ---------------------------------------------------------------------------------


def test_success_replaces_the_file(tmp_path):
    target = tmp_path / "plan.json"
    target.write_text(OLD)
    write_text(target, "new\n")
    assert target.read_text() == "new\n"
    assert _leftovers(tmp_path, {"plan.json"}) == []


def test_an_error_keeps_the_old_file_and_no_temp(tmp_path):
    target = tmp_path / "plan.json"
    target.write_text(OLD)
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        assert tmp.parent == target.parent  # same folder: the rename is atomic
        tmp.write_text("half a pl")
        raise RuntimeError("interrupted")
    assert target.read_text() == OLD
    assert _leftovers(tmp_path, {"plan.json"}) == []


def test_an_error_leaves_no_file_when_there_was_none(tmp_path):
    target = tmp_path / "sub" / "plan.json"
    with pytest.raises(KeyboardInterrupt), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []  # nor the folder made for it


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")
def test_new_files_get_the_usual_permissions(tmp_path):
    """mkstemp makes owner-only files; the output gets what a plainly created file gets."""
    mask = os.umask(0o022)
    try:
        write_text(tmp_path / "plan.json", "{}\n")
    finally:
        os.umask(mask)
    assert (tmp_path / "plan.json").stat().st_mode & 0o777 == 0o644


def _tiny_model():
    import numpy as np

    from chipmix.model.matrix import LinearModel

    model = LinearModel()
    model.add_columns("buy", [("acme-a", "2024Q1")], cost=2.0, integer=True)
    model.add_rows("demand", [("train", "2024Q1")], np.array([0]), np.array([0]),
                   np.array([1.0]), lower=3.0)
    return model


def test_model_files_are_written_atomically(tmp_path):
    model = _tiny_model()
    write_model_files(model, lp=tmp_path / "m.lp", mps=tmp_path / "m.mps")
    assert "buy" in (tmp_path / "m.lp").read_text() and "ROWS" in (tmp_path / "m.mps").read_text()
    assert _leftovers(tmp_path, {"m.lp", "m.mps"}) == []


def test_a_failing_model_export_keeps_the_old_file(tmp_path, monkeypatch):
    from chipmix.solve import files

    def broken(model, path, options=None):
        Path(path).write_text("ROWS\n half")
        raise OSError("disk full")

    monkeypatch.setattr(files, "write_model", broken)
    (tmp_path / "m.mps").write_text(OLD)
    with pytest.raises(OutputError, match="m.mps: cannot write the file"):
        write_model_files(_tiny_model(), mps=tmp_path / "m.mps")
    assert (tmp_path / "m.mps").read_text() == OLD
    assert _leftovers(tmp_path, {"m.mps"}) == []


# -- killed runs ---------------------------------------------------------------------------------

SLOW_WRITER = """
import pathlib, sys, time
real = pathlib.Path.write_text
def slow(self, text, *args, **kwargs):
    with open(self, "w", encoding="utf-8") as handle:
        handle.write(text[: len(text) // 2])
        handle.flush()
        sys.stderr.write("HALF WRITTEN\\n")
        sys.stderr.flush()
        time.sleep(60)
        handle.write(text[len(text) // 2:])
pathlib.Path.write_text = slow
from chipmix.cli import main
sys.exit(main(sys.argv[1:]))
"""


def _start(args: list[str], cwd: Path, **env: str) -> subprocess.Popen:
    return subprocess.Popen(args, cwd=cwd, env=_env(**env), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)


def _kill(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)  # the run and its solver children
    except ProcessLookupError:
        pass
    process.communicate(timeout=30)


def _scenario(folder: Path) -> Path:
    (folder / "good.csv").write_bytes((CORPUS_SUPPORT / "good.csv").read_bytes())
    path = folder / "s.yaml"
    path.write_bytes((CORPUS_SUPPORT / "base.yaml").read_bytes())
    return path


@posix_only
def test_killed_in_the_middle_of_writing_leaves_the_old_file(tmp_path):
    scenario = _scenario(tmp_path)
    out = tmp_path / "out.json"
    out.write_text(OLD)
    process = _start([sys.executable, "-c", SLOW_WRITER, "plan", str(scenario), "-o", str(out)],
                     tmp_path)
    deadline = time.monotonic() + 120
    line = ""
    while "HALF WRITTEN" not in line and time.monotonic() < deadline:
        line = process.stderr.readline()
        assert line or process.poll() is None, "the run ended before writing"
    assert "HALF WRITTEN" in line
    temps = [p for p in tmp_path.iterdir() if p.name.startswith(".cmx-")]
    assert len(temps) == 1 and 0 < temps[0].stat().st_size  # half a plan, in the temp file
    _kill(process)
    assert out.read_text() == OLD  # the kill hit mid-write; the old plan is intact


@pytest.mark.slow
@posix_only
def test_killed_at_various_points_leaves_the_old_or_the_complete_new_file(tmp_path):
    """SIGKILL at several moments of a real run (start-up, loading, solving, writing, after):
    ``out.json`` is always the old file or the complete new one. Killed runs may leave a
    hidden ``.out.json.*.tmp`` (SIGKILL allows no clean-up); never a half ``out.json``."""
    scenario = chipmix_example("rush-before-ban")
    reference = tmp_path / "reference.json"
    done = subprocess.run([sys.executable, "-m", "chipmix", "plan", str(scenario), "-o",
                           str(reference)], cwd=tmp_path, env=_env(), capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    new = reference.read_text()
    seen = set()
    for delay in (0.05, 0.4, 0.9, 1.4, 2.0, 3.0):
        out = tmp_path / "out.json"
        out.write_text(OLD)
        process = _start([sys.executable, "-m", "chipmix", "plan", str(scenario), "-o",
                          str(out)], tmp_path)
        time.sleep(delay)
        _kill(process)
        text = out.read_text()
        assert text in (OLD, new), f"half a file after a kill at {delay} s: {text[:200]!r}"
        json.loads(text)
        seen.add("old" if text == OLD else "new")
    assert "old" in seen, seen  # at least one kill landed before the rename


# -- parallel runs -------------------------------------------------------------------------------


def chipmix_example(name: str) -> Path:
    from chipmix.resources import examples_dir

    return examples_dir() / f"{name}.yaml"


def test_parallel_cbc_runs_in_one_folder_do_not_collide(tmp_path):
    """Three CBC runs at once in one working folder, each to its own file (and LP/MPS
    exports): identical plans, no stray files in the folder, and nothing left in the temp
    folder (CBC's files live in a per-run temp dir)."""
    scenario = chipmix_example("state-funded-dc")
    work = tmp_path / "work"
    temp = tmp_path / "tmp"
    work.mkdir()
    temp.mkdir()
    names = ["a", "b", "c"]
    processes = [
        subprocess.Popen([sys.executable, "-m", "chipmix", "plan", str(scenario), "--solver",
                          "cbc", "-o", f"{n}.json", "--write-lp", f"{n}.lp", "--write-mps",
                          f"{n}.mps"], cwd=work, env=_env(TMPDIR=str(temp)),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for n in names
    ]
    for process in processes:
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0, err
        assert "Traceback" not in err
    plans = {(work / f"{n}.json").read_text() for n in names}
    assert len(plans) == 1 and json.loads(plans.pop())["status"] == "optimal"
    expected = {f"{n}.{ext}" for n in names for ext in ("json", "lp", "mps")}
    assert sorted(p.name for p in work.iterdir()) == sorted(expected)
    assert list(temp.iterdir()) == []


def test_parallel_runs_writing_one_file_leave_one_complete_plan(tmp_path):
    """Two runs racing for one output file: the last rename wins, and the file is whole."""
    scenario = _scenario(tmp_path)
    processes = [
        subprocess.Popen([sys.executable, "-m", "chipmix", "plan", str(scenario), "--solver",
                          solver, "-o", "same.json"], cwd=tmp_path, env=_env(),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for solver in ("highs", "cbc")
    ]
    for process in processes:
        _, err = process.communicate(timeout=300)
        assert process.returncode == 0, err
    data = json.loads((tmp_path / "same.json").read_text())
    assert data["status"] == "optimal"
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
