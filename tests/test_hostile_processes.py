"""The hostile corpus, real processes (issue #12): signals to sweeps and stress runs, a killed
main process, a read-only folder, stdout that is a pipe or gone, the global options.

Each signal test starts ``python -m chipmix`` in its own session, waits until its worker
processes run, signals the main process and checks: the documented exit code, one line on
stderr, no output file and no temp file, and no worker (nor multiprocessing's resource
tracker) left alive a few seconds later.
"""

from __future__ import annotations

import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from chipmix.cli import main

SRC = Path(__file__).resolve().parent.parent / "src"
SUPPORT = Path(__file__).parent / "malformed" / "support"
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="signals, process groups")
linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc")


def _env() -> dict[str, str]:
    path = os.pathsep.join(p for p in (str(SRC), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "PYTHONPATH": path, "COLUMNS": "200"}


def _start(args: list[str], cwd: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "chipmix", *args], cwd=cwd, env=_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def _children(pid: int) -> set[int]:
    """Every live descendant of ``pid`` (from /proc)."""
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z":
            parents.setdefault(int(fields[1]), []).append(int(entry))
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def _alive(pids: set[int]) -> set[int]:
    alive = set()
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            alive.add(pid)
    return alive


def _wait_for_workers(process: subprocess.Popen, count: int, timeout: float = 120) -> set[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        workers = _children(process.pid)
        # spawn workers plus the resource tracker
        if len(workers) >= count + 1:
            time.sleep(1.0)  # let them import chipmix and start solving
            return _children(process.pid)
        time.sleep(0.2)
    raise AssertionError("the workers never started")


def _cleanup(process: subprocess.Popen, pids: set[int]) -> None:
    for pid in _alive(pids | {process.pid}):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    try:
        process.communicate(timeout=10)
    except subprocess.TimeoutExpired:  # pragma: no cover
        pass


def _sweep_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "run"
    folder.mkdir()
    shutil.copy(EXAMPLES / "rush-before-ban.yaml", folder / "s.yaml")
    return folder


# three workers: this process and a pool of two (pipeline.executor); 601 variants, so the
# sweep is far from done when the signal comes (31 once finished first on a fast machine)
SWEEP = ["sweep", "s.yaml", "--vary", "policy.domestic_share=0:0.6:0.001", "--workers", "3",
         "-o", "out.csv"]


@posix_only
@linux_only
@pytest.mark.parametrize(("signum", "code", "word"), [(signal.SIGTERM, 143, "terminated"),
                                                       (signal.SIGINT, 130, "interrupted")])
def test_a_signalled_sweep_stops_its_workers_and_writes_nothing(tmp_path, signum, code, word):
    folder = _sweep_folder(tmp_path)
    before = sorted(p.name for p in folder.iterdir())
    process = _start(SWEEP, folder)
    workers: set[int] = set()
    try:
        workers = _wait_for_workers(process, 2)
        os.kill(process.pid, signum)
        out, err = process.communicate(timeout=60)
        assert process.returncode == code, err
        assert "Traceback" not in err, err
        assert err.strip().splitlines()[-1].startswith(word), err
        deadline = time.monotonic() + 15
        while _alive(workers) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not _alive(workers), f"left alive: {_alive(workers)}"
        assert sorted(p.name for p in folder.iterdir()) == before  # no out.csv, no temp
    finally:
        _cleanup(process, workers)


@posix_only
@pytest.mark.parametrize(("stop", "code", "word"), [("int", 130, "interrupted"),
                                                     ("term", 143, "terminated")])
def test_a_signal_after_the_output_is_written_says_so(tmp_path, monkeypatch, capfd, stop,
                                                       code, word):
    """A signal that lands once ``-o`` is in place (the run was almost done) leaves that
    output complete, and the one line names it instead of claiming nothing was written."""
    import json

    import chipmix.io
    from chipmix.processes import Terminated

    real = chipmix.io.write_text

    def then_a_signal(path, text):
        real(path, text)
        if stop == "int":
            os.kill(os.getpid(), signal.SIGINT)  # as Ctrl-C: typer turns it into a return
            time.sleep(1)
        raise Terminated()  # what SIGTERM raises inside the CLI (the default would kill pytest)

    monkeypatch.setattr(chipmix.io, "write_text", then_a_signal)
    shutil.copy(SUPPORT / "base.yaml", tmp_path / "s.yaml")
    shutil.copy(SUPPORT / "good.csv", tmp_path / "good.csv")
    monkeypatch.chdir(tmp_path)
    capfd.readouterr()
    assert main(["plan", "s.yaml", "-o", "plan.json"]) == code
    _, err = capfd.readouterr()
    assert err.strip().splitlines()[-1] == f"{word} after writing plan.json (complete); " \
                                           "nothing else written", err
    assert json.loads((tmp_path / "plan.json").read_text())["status"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["good.csv", "plan.json", "s.yaml"]


@posix_only
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_during_the_rename_waits_until_the_output_is_recorded(tmp_path, signum):
    """The rename and its record in the run are one step: a signal sent in between is
    delivered right after (so the CLI's message is true either way)."""
    from chipmix.io import run_scope, write_text
    from chipmix.processes import Terminated, signals_as_exceptions

    real_replace = os.replace
    sent: list[int] = []

    def replace_then_signal(src, dst):
        real_replace(src, dst)
        os.kill(os.getpid(), signum)  # held until the record is made
        sent.append(signum)

    with run_scope() as files, signals_as_exceptions(), pytest.MonkeyPatch.context() as mp:
        mp.setattr(os, "replace", replace_then_signal)
        with pytest.raises((KeyboardInterrupt, Terminated)):
            write_text(tmp_path / "out.txt", "done\n")
        assert sent == [signum]
        assert list(files.outputs.values()) == [str(tmp_path / "out.txt")]
    assert (tmp_path / "out.txt").read_text() == "done\n"


@posix_only
@linux_only
def test_workers_die_with_a_killed_main_process(tmp_path):
    """SIGKILL leaves no chance to clean up: the kernel kills the workers (PDEATHSIG), and
    the resource tracker follows once they are gone."""
    folder = _sweep_folder(tmp_path)
    process = _start(SWEEP, folder)
    workers: set[int] = set()
    try:
        workers = _wait_for_workers(process, 2)
        os.kill(process.pid, signal.SIGKILL)
        process.communicate(timeout=30)
        deadline = time.monotonic() + 15
        while _alive(workers) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not _alive(workers), f"left alive: {_alive(workers)}"
        assert not (folder / "out.csv").exists()
    finally:
        _cleanup(process, workers)


@posix_only
@linux_only
def test_a_terminated_stress_run_stops_its_workers(tmp_path):
    folder = tmp_path / "run"
    folder.mkdir()
    shutil.copy(EXAMPLES / "rush-before-ban-risks.yaml", folder / "s.yaml")
    for name in ("rush-before-ban.yaml",):
        shutil.copy(EXAMPLES / name, folder / name)
    made = subprocess.run([sys.executable, "-m", "chipmix", "plan", "s.yaml", "-o", "plan.json"],
                          cwd=folder, env=_env(), capture_output=True, text=True, timeout=300)
    assert made.returncode == 0, made.stderr
    before = sorted(p.name for p in folder.iterdir())
    process = _start(["stress", "plan.json", "s.yaml", "--draws", "400", "--workers", "3",
                      "-o", "stress.json"], folder)
    workers: set[int] = set()
    try:
        workers = _wait_for_workers(process, 2)
        os.kill(process.pid, signal.SIGTERM)
        out, err = process.communicate(timeout=60)
        assert process.returncode == 143, err
        assert "Traceback" not in err, err
        deadline = time.monotonic() + 15
        while _alive(workers) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not _alive(workers), f"left alive: {_alive(workers)}"
        assert sorted(p.name for p in folder.iterdir()) == before
    finally:
        _cleanup(process, workers)


# -- a read-only folder, for real -------------------------------------------------------------


def _plan_folder() -> Path:
    """A folder anyone may enter (pytest's tmp_path is owner-only), with the small scenario."""
    folder = Path(tempfile.mkdtemp(prefix="chipmix-ro-"))
    folder.chmod(0o755)
    shutil.copy(SUPPORT / "base.yaml", folder / "s.yaml")
    shutil.copy(SUPPORT / "good.csv", folder / "good.csv")
    for name in ("s.yaml", "good.csv"):
        (folder / name).chmod(0o644)
    (folder / "ro").mkdir()
    return folder


def _as_nobody() -> bool:
    """Whether this interpreter runs as an unprivileged user (root ignores permissions)."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return False
    try:
        done = subprocess.run([sys.executable, "-c", "import chipmix.cli"], env=_env(),
                              capture_output=True, timeout=60,
                              preexec_fn=lambda: (os.setgid(65534), os.setuid(65534)))
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0


def _immutable(path: Path) -> bool:
    if not shutil.which("chattr"):
        return False
    return subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode == 0


@posix_only
def test_a_read_only_folder_is_reported_before_solving(tmp_path):
    """-o into a folder nobody may write: exit 2 naming it, nothing created. Made read-only
    for real: by permissions for an unprivileged user (or the current one when not root),
    else by the immutable attribute (root honours it)."""
    folder = _plan_folder()
    ro = folder / "ro"
    undo = None
    preexec = None
    try:
        if hasattr(os, "geteuid") and os.geteuid() != 0:
            ro.chmod(0o555)
            undo = lambda: ro.chmod(0o755)  # noqa: E731
        elif _as_nobody():
            ro.chmod(0o555)
            preexec = lambda: (os.setgid(65534), os.setuid(65534))  # noqa: E731
        elif _immutable(ro):
            undo = lambda: subprocess.run(["chattr", "-i", str(ro)], check=False)  # noqa: E731
        else:
            pytest.skip("no way to make a read-only folder here (root, no chattr support, "
                        "no interpreter an unprivileged user may run)")
        done = subprocess.run([sys.executable, "-m", "chipmix", "plan", "s.yaml", "-o",
                               "ro/plan.json"], cwd=folder, env=_env(), capture_output=True,
                              text=True, timeout=300, preexec_fn=preexec)
        assert done.returncode == 2, done.stderr
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ro/plan.json"), done.stderr
        assert "Permission denied" in lines[0] or "Operation not permitted" in lines[0]
        assert done.stdout == ""
        assert list(ro.iterdir()) == []
    finally:
        if undo is not None:
            undo()
        shutil.rmtree(folder, ignore_errors=True)


# -- stdout ---------------------------------------------------------------------------------


@posix_only
def test_output_to_dev_stdout_writes_through_the_pipe(tmp_path):
    folder = _plan_folder()
    try:
        done = subprocess.run([sys.executable, "-m", "chipmix", "plan", "s.yaml", "-o",
                               "/dev/stdout", "--json"], cwd=folder, env=_env(),
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        assert done.stdout.count('"scenario": "malformed-base"') == 2  # -o and --json
        assert sorted(p.name for p in folder.iterdir()) == ["good.csv", "ro", "s.yaml"]
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@posix_only
def test_output_to_dev_null_keeps_the_device():
    done = subprocess.run([sys.executable, "-m", "chipmix", "plan",
                           str(SUPPORT / "base.yaml"), "-o", "/dev/null"], env=_env(),
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


@posix_only
def test_a_closed_stdout_ends_quietly():
    """`chipmix catalog list | head -1`: the reader leaves early; no traceback."""
    process = subprocess.Popen([sys.executable, "-m", "chipmix", "catalog", "list", "--json"],
                               env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    process.stdout.read(10)
    process.stdout.close()
    err = process.stderr.read().decode()
    process.wait(timeout=120)
    assert "Traceback" not in err and "BrokenPipe" not in err, err
    assert process.returncode in (0, 141)


# -- global options and the last line of defence (in-process) ---------------------------------


def test_debug_after_the_command_shows_the_traceback(capfd):
    capfd.readouterr()
    code = main(["scenario", "validate", "nowhere.yaml", "--debug"])
    out, err = capfd.readouterr()
    assert code == 2
    assert "Traceback" in err and err.strip().splitlines()[-1].startswith("error: ")


def test_limit_after_the_command(capfd):
    capfd.readouterr()
    code = main(["scenario", "validate", str(SUPPORT / "base.yaml"), "--limit", "periods=3"])
    out, err = capfd.readouterr()
    assert code == 2 and "at most 3" in err and "--limit periods=N" in err


def test_help_documents_the_exit_codes(capfd):
    capfd.readouterr()
    code = main(["--help"])
    out, _ = capfd.readouterr()
    assert code == 0
    text = " ".join(out.split())
    assert "3 internal error" in text and "130 interrupted" in text and "143 terminated" in text
    assert "--limit" in text and "--debug" in text


def test_an_internal_error_has_its_own_exit_code_and_one_line(capfd, monkeypatch):
    import chipmix.inputs.catalog

    def broken(*args, **kwargs):
        raise KeyError("boom")

    monkeypatch.setattr(chipmix.inputs.catalog, "load_catalog", broken)
    capfd.readouterr()
    code = main(["catalog", "validate", str(SUPPORT / "good.csv")])
    out, err = capfd.readouterr()
    assert code == 3
    assert err.splitlines() == ["internal error: KeyError: 'boom'; rerun with --debug and "
                                "report it"]
