"""The hostile corpus (issue #12): inputs and output targets a hostile or careless user gives.

Every case runs ``chipmix ARGS`` in this process (``chipmix.cli.main``, fd-level capture) in
a fresh sandbox folder holding a small valid scenario (``s.yaml``), the scenario that extends
it (``child.yaml``), its catalog (``cat.csv``), its rule set (``rules.yaml``), a plan made from
it (``plan.json``), an empty folder (``dir``), a plain file (``file.txt``) and an old output
(``old.json``). Each case states:

- the exit code and the substrings of the one stderr line (exit 2: ``error: ...``; exit 3:
  ``internal error: ...``);
- which sandbox entries the run may create or change (``writes``); every other entry must be
  byte-for-byte, inode and type the same afterwards, and nothing else may appear (no temp
  file, no folder) — "nothing written or clobbered";
- an optional ``check`` for what lies outside the sandbox (a device node, a FIFO's reader).

Kinds: ``output`` (dangerous or broken output targets), ``decode`` (bytes YAML/JSON cannot
hold), ``ambiguous`` (one value spelt two ways, tags, non-ASCII digits), ``escape`` (markup and
terminal control sequences from inputs), ``cap`` (work and memory a typo can ask for),
``option`` (bad option values), ``verify`` (plans that do not fit), ``internal`` (the last line
of defence), ``race`` (inputs that change or vanish). Real-process cases (signals, a
read-only folder as an unprivileged user, stdout tricks) are in ``test_hostile_processes.py``;
the library API in ``test_hostile_api.py``.
"""

from __future__ import annotations

import codecs
import errno
import hashlib
import json
import os
import shutil
import socket
import stat
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from chipmix.cli import main

SUPPORT = Path(__file__).parent / "malformed" / "support"
ROOT = os.geteuid() == 0 if hasattr(os, "geteuid") else False

SCENARIO = """\
name: hostile-base
horizon: {start: 2024Q1, end: 2024Q4}
catalogs: [cat.csv]
rules: [rules.yaml]
licenses: deny
workloads:
  - name: train
    kind: training
    metric: bf16_pflops
    demand: {2024Q1: 10, 2024Q3: 20}
    shortfall_penalty: 1.0e6
policy: {energy_price: 0.1}
solver: {time_limit: 5}
risks:
  supply:
    dragon-b: {dist: uniform, low: 0.5, high: 1.0}
"""
CHILD = """\
extends: s.yaml
name: hostile-child
"""
RULES = (SUPPORT / "rule_ok.yaml").read_text(encoding="utf-8").replace('">= 4800"', '">= 10000"')
OLD = '{"old": "last week\'s plan, still needed"}\n'


# --------------------------------------------------------------------------------------------
# The sandbox


@dataclass
class Result:
    code: int
    out: str
    err: str


@dataclass
class Case:
    id: str
    kind: str
    args: list[str]
    code: int
    expect: tuple[str, ...] = ()
    writes: tuple[str, ...] = ()
    setup: Callable[[Path], None] | None = None
    check: Callable[[Path, Result], None] | None = None
    stdout: bool = True  # exit 0/1: stdout may carry output (tables, JSON)
    root: bool = False  # needs root (mknod, lchown)
    patch: Callable[[pytest.MonkeyPatch], None] | None = None
    marks: tuple = ()


@pytest.fixture(scope="session")
def plan_json(tmp_path_factory) -> str:
    """The plan of the sandbox scenario (made once per session)."""
    folder = tmp_path_factory.mktemp("hostile-plan")
    _populate(folder, with_plan=False)
    import chipmix

    return chipmix.plan(chipmix.load_scenario(folder / "s.yaml")).to_json()


def _populate(folder: Path, *, with_plan: bool = True, plan: str = "") -> None:
    (folder / "s.yaml").write_text(SCENARIO, encoding="utf-8")
    (folder / "child.yaml").write_text(CHILD, encoding="utf-8")
    shutil.copy(SUPPORT / "good.csv", folder / "cat.csv")
    (folder / "rules.yaml").write_text(RULES, encoding="utf-8")  # denies acme-a only
    (folder / "dir").mkdir()
    (folder / "file.txt").write_text("a plain file\n", encoding="utf-8")
    (folder / "old.json").write_text(OLD, encoding="utf-8")
    if with_plan:
        (folder / "plan.json").write_text(plan, encoding="utf-8")


def snapshot(root: Path) -> dict[str, tuple]:
    """Every entry below ``root``: type, permission bits, inode, and content or link target."""
    entries: dict[str, tuple] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath, name)
            st = os.lstat(path)
            kind = stat.S_IFMT(st.st_mode)
            entry: tuple = (kind, stat.S_IMODE(st.st_mode), st.st_ino)
            if stat.S_ISREG(st.st_mode):
                entry += (hashlib.sha256(path.read_bytes()).hexdigest(),)
            elif stat.S_ISLNK(st.st_mode):
                entry += (os.readlink(path),)
            entries[str(path.relative_to(root))] = entry
    return entries


def changes(before: dict[str, tuple], after: dict[str, tuple]) -> set[str]:
    names = set(before) | set(after)
    return {n for n in names if before.get(n) != after.get(n)}


def run(args: list[str], capfd) -> Result:
    capfd.readouterr()
    code = main(args)
    out, err = capfd.readouterr()
    return Result(code, out, err)


def assert_outcome(case: Case, result: Result) -> None:
    err = result.err
    assert "Traceback" not in err, err
    assert result.code == case.code, f"exit {result.code}, expected {case.code}; stderr: {err}"
    if case.code in (2, 3):
        lines = err.splitlines()
        assert len(lines) == 1, f"stderr is not one line: {err!r}"
        prefix = "error: " if case.code == 2 else "internal error: "
        assert lines[0].startswith(prefix), lines[0]
        assert result.out == "", f"stdout not empty: {result.out[:300]!r}"
    elif not case.stdout:
        assert result.out == "", f"stdout not empty: {result.out[:300]!r}"
    missing = [text for text in case.expect if text not in err]
    assert not missing, f"{missing} not in stderr: {err!r}"
    for stream in (result.out, result.err):  # no raw terminal control from any input
        assert "\x1b" not in stream and "\x07" not in stream and "\x9b" not in stream, stream


# --------------------------------------------------------------------------------------------
# Helpers for setups and checks


def write(name: str, data: str | bytes) -> Callable[[Path], None]:
    def setup(root: Path) -> None:
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, bytes):
            target.write_bytes(data)
        else:
            target.write_text(data, encoding="utf-8")

    return setup


def scenario_with(name: str, old: str, new: str | bytes) -> Callable[[Path], None]:
    """A copy of ``s.yaml`` with ``old`` replaced (``new`` as bytes: spliced in raw)."""
    if isinstance(new, bytes):
        data = SCENARIO.encode("utf-8").replace(old.encode("utf-8"), new)
        assert data != SCENARIO.encode("utf-8"), old
        return write(name, data)
    assert old in SCENARIO, old
    return write(name, SCENARIO.replace(old, new))


def catalog_with(name: str, old: str, new: str) -> Callable[[Path], None]:
    text = (SUPPORT / "good.csv").read_text(encoding="utf-8")
    assert old in text, old
    return write(name, text.replace(old, new, 1))


def plan_with(name: str, edit: Callable[[dict], None]) -> Callable[[Path], None]:
    def setup(root: Path) -> None:
        data = json.loads((root / "plan.json").read_text(encoding="utf-8"))
        edit(data)
        (root / name).write_text(json.dumps(data), encoding="utf-8")

    return setup


def steps(*setups: Callable[[Path], None]) -> Callable[[Path], None]:
    def setup(root: Path) -> None:
        for one in setups:
            one(root)

    return setup


def symlink(name: str, target: str) -> Callable[[Path], None]:
    return lambda root: os.symlink(target, root / name)


def hardlink(name: str, target: str) -> Callable[[Path], None]:
    return lambda root: os.link(root / target, root / name)


def mkfifo(name: str) -> Callable[[Path], None]:
    return lambda root: os.mkfifo(root / name)


def mknod(name: str, kind: int, major: int, minor: int) -> Callable[[Path], None]:
    def setup(root: Path) -> None:
        try:
            os.mknod(root / name, kind | 0o666, os.makedev(major, minor))
        except PermissionError:
            pytest.skip("cannot make device nodes here")

    return setup


def unix_socket(name: str) -> Callable[[Path], None]:
    def setup(root: Path) -> None:
        sock = socket.socket(socket.AF_UNIX)
        sock.bind(str(root / name))
        sock.close()

    return setup


def is_kind(name: str, test: Callable[[int], bool]) -> Callable[[Path, Result], None]:
    def check(root: Path, result: Result) -> None:
        assert test(os.lstat(root / name).st_mode), f"{name} changed type"

    return check


def plan_in(name: str) -> Callable[[Path, Result], None]:
    def check(root: Path, result: Result) -> None:
        data = json.loads((root / name).read_text(encoding="utf-8"))
        assert data["scenario"] == "hostile-base" and data["status"] == "optimal"

    return check


def fifo_reader(name: str) -> Callable[[Path], None]:
    """Open the FIFO for reading in a thread (as `cat fifo > got.txt` would)."""

    def setup(root: Path) -> None:
        os.mkfifo(root / name)

        def read() -> None:
            with open(root / name, "rb") as fifo:
                data = fifo.read()
            (root / "got.txt").write_bytes(data)

        thread = threading.Thread(target=read, daemon=True)
        thread.start()
        root.joinpath(".reader").write_text("")  # marks the sandbox; removed in the check
        _READERS[str(root)] = thread

    return setup


_READERS: dict[str, threading.Thread] = {}


def fifo_got_plan(root: Path, result: Result) -> None:
    thread = _READERS.pop(str(root))
    thread.join(timeout=10)
    assert not thread.is_alive(), "the FIFO reader never got an end of file"
    data = json.loads((root / "got.txt").read_text(encoding="utf-8"))
    assert data["scenario"] == "hostile-base"
    assert stat.S_ISFIFO(os.lstat(root / "fifo").st_mode)


def chattr_immutable(name: str) -> Callable[[Path], None]:
    def setup(root: Path) -> None:
        if not shutil.which("chattr"):
            pytest.skip("chattr is not installed")
        done = subprocess.run(["chattr", "+i", str(root / name)], capture_output=True)
        if done.returncode != 0:
            pytest.skip(f"no immutable attribute here: {done.stderr.decode().strip()}")
        _IMMUTABLE.append(root / name)

    return setup


_IMMUTABLE: list[Path] = []


def sticky_foreign_symlink(root: Path) -> None:
    """A world-writable sticky folder (like /tmp) holding a symlink another user planted."""
    sticky = root / "sticky"
    sticky.mkdir()
    sticky.chmod(0o1777)
    (root / "victim.json").write_text(OLD, encoding="utf-8")
    os.symlink(root / "victim.json", sticky / "plan.json")
    os.lchown(sticky / "plan.json", 65534, 65534)


def enospc_on_fsync(monkeypatch: pytest.MonkeyPatch) -> None:
    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)


def internal_bug(monkeypatch: pytest.MonkeyPatch) -> None:
    import chipmix.planner

    def broken(*args, **kwargs):
        return 1 / 0

    monkeypatch.setattr(chipmix.planner, "plan", broken)
    import chipmix as facade

    monkeypatch.setattr(facade, "plan", broken, raising=False)


def out_of_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    import chipmix.inputs.scenario

    def broken(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr(chipmix.inputs.scenario, "load_scenario", broken)


def grow_while_read(monkeypatch: pytest.MonkeyPatch) -> None:
    """The file gets longer between chipmix's look at it and the end of its read."""
    real = os.fstat
    calls: dict[int, int] = {}

    def fstat(fd: int):
        st = real(fd)
        if stat.S_ISREG(st.st_mode) and os.readlink(f"/proc/self/fd/{fd}").endswith("cat.csv"):
            calls[fd] = calls.get(fd, 0) + 1
            if calls[fd] > 1:
                return os.stat_result((st.st_mode, st.st_ino, st.st_dev, st.st_nlink,
                                       st.st_uid, st.st_gid, st.st_size + 10, st.st_atime,
                                       st.st_mtime + 1, st.st_ctime + 1))
        return st

    monkeypatch.setattr(os, "fstat", fstat)


LONG = "p" * 245 + ".json"  # 250 characters: a temp name built from it would pass NAME_MAX
TOO_LONG = "p" * 300 + ".json"
LAUGHS = ("[" + ", ".join(f"&a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" if i else
                          "&a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"
                          for i in range(9)) + "]")
ESC_TITLE = "\x1b]0;pwned\x07"
CLEAR = "\x1b[2J\x1b[H"


def no_file(name: str) -> Callable[[Path, Result], None]:
    def check(root: Path, result: Result) -> None:
        assert not os.path.lexists(root / name), f"{name} was created"

    return check


# --------------------------------------------------------------------------------------------
# The cases

PLAN = ["plan", "s.yaml"]
SWEEP = ["sweep", "s.yaml", "--workers", "1"]
REG = stat.S_ISREG
CHR = stat.S_ISCHR

CASES: list[Case] = [
    # -- output: targets that are not regular files -------------------------------------------
    Case("out-null-device-node", "output", [*PLAN, "-o", "null"], 0, root=True,
         setup=mknod("null", stat.S_IFCHR, 1, 3), check=is_kind("null", CHR)),
    Case("out-null-device-lp", "output", [*PLAN, "--write-lp", "null"], 0, root=True,
         setup=mknod("null", stat.S_IFCHR, 1, 3), check=is_kind("null", CHR)),
    Case("out-null-device-chart", "output", [*PLAN, "--chart", "null.png"], 0, root=True,
         setup=mknod("null.png", stat.S_IFCHR, 1, 3), check=is_kind("null.png", CHR)),
    Case("out-full-device", "output", [*PLAN, "-o", "full"], 2, ("full", "No space left"),
         root=True, setup=mknod("full", stat.S_IFCHR, 1, 7), check=is_kind("full", CHR)),
    Case("out-memory-device", "output", [*PLAN, "-o", "mem"], 2, ("mem", "device"),
         root=True, setup=mknod("mem", stat.S_IFCHR, 1, 1), check=is_kind("mem", CHR)),
    Case("out-block-device", "output", [*PLAN, "-o", "disk"], 2, ("disk", "block device"),
         root=True, setup=mknod("disk", stat.S_IFBLK, 7, 200),
         check=is_kind("disk", stat.S_ISBLK)),
    Case("out-fifo-with-reader", "output", [*PLAN, "-o", "fifo"], 0, writes=("got.txt",),
         setup=fifo_reader("fifo"), check=fifo_got_plan),
    Case("out-fifo-no-reader", "output", [*PLAN, "-o", "fifo"], 2, ("fifo", "no reader"),
         setup=mkfifo("fifo"), check=is_kind("fifo", stat.S_ISFIFO)),
    Case("out-socket", "output", [*PLAN, "-o", "sock"], 2, ("sock", "socket"),
         setup=unix_socket("sock"), check=is_kind("sock", stat.S_ISSOCK)),
    Case("out-folder", "output", [*PLAN, "-o", "dir"], 2, ("dir", "is a folder")),
    Case("out-dot", "output", [*PLAN, "-o", "."], 2, ("is a folder",)),
    Case("out-trailing-slash", "output", [*PLAN, "-o", "new.json/"], 2,
         ("new.json/", "folder"), check=no_file("new.json")),
    Case("out-empty-name", "output", [*PLAN, "-o", ""], 2, ("empty",)),
    Case("out-under-a-file", "output", [*PLAN, "-o", "file.txt/plan.json"], 2,
         ("file.txt/plan.json", "not a folder")),
    Case("out-new-folder", "output", [*PLAN, "-o", "runs/q1/plan.json"], 0,
         writes=("runs", "runs/q1", "runs/q1/plan.json"), check=plan_in("runs/q1/plan.json")),
    Case("out-proc-file", "output", [*PLAN, "-o", "/proc/version"], 2, ("/proc/version",)),
    Case("out-proc-new-file", "output", [*PLAN, "-o", "/proc/chipmix.json"], 2,
         ("/proc/chipmix.json",)),
    Case("out-name-250-chars", "output", [*PLAN, "-o", LONG], 0, writes=(LONG,),
         check=plan_in(LONG)),
    Case("out-name-too-long", "output", [*PLAN, "-o", TOO_LONG], 2, ("name too long",)),
    Case("out-lp-folder", "output", [*PLAN, "--write-lp", "dir"], 2, ("dir", "is a folder")),
    Case("out-mps-under-file", "output", [*PLAN, "--write-mps", "file.txt/m.mps"], 2,
         ("file.txt/m.mps", "not a folder")),
    Case("out-chart-folder", "output", [*PLAN, "--chart", "pics.png"], 2,
         ("pics.png", "is a folder"), setup=lambda r: (r / "pics.png").mkdir()),
    Case("out-sweep-table-folder", "output",
         [*SWEEP, "--vary", "policy.domestic_share=0,0.1", "-o", "t.csv"], 2,
         ("t.csv", "is a folder"), setup=lambda r: (r / "t.csv").mkdir()),
    Case("out-frontier-under-file", "output",
         ["frontier", "s.yaml", "--workers", "1", "--steps", "2", "-o", "file.txt/f.csv"], 2,
         ("file.txt/f.csv", "not a folder")),
    Case("out-immutable-file", "output", [*PLAN, "-o", "old.json"], 2,
         ("old.json", "Operation not permitted"), setup=chattr_immutable("old.json")),
    Case("out-disk-full", "output", [*PLAN, "-o", "old.json"], 2,
         ("old.json", "No space left"), patch=enospc_on_fsync),
    Case("out-disk-full-new", "output", [*PLAN, "-o", "new.json"], 2,
         ("new.json", "No space left"), patch=enospc_on_fsync),
    Case("out-keeps-permissions", "output", [*PLAN, "-o", "old.json"], 0, writes=("old.json",),
         setup=lambda r: (r / "old.json").chmod(0o600),
         check=lambda r, _: stat.S_IMODE(os.stat(r / "old.json").st_mode) == 0o600
         or pytest.fail("the mode of old.json changed")),
    Case("out-control-chars-in-name", "output", [*PLAN, "-o", "a\x1b]0;t\x07.json"], 0,
         ("wrote", "\\x1b"), writes=("a\x1b]0;t\x07.json",)),
    Case("out-markup-in-name", "output", [*PLAN, "-o", "[red]x[bold].json"], 0,
         ("wrote [red]x[bold].json",), writes=("[red]x[bold].json",)),
    # -- output: symlinks and links -----------------------------------------------------------
    Case("out-dangling-symlink", "output", [*PLAN, "-o", "d.json"], 2,
         ("d.json", "missing"), setup=symlink("d.json", "nowhere/else.json"),
         check=no_file("nowhere")),
    Case("out-symlink-to-plain-file", "output", [*PLAN, "-o", "l.json"], 0,
         writes=("old.json",), setup=symlink("l.json", "old.json"),
         check=lambda r, _: (os.path.islink(r / "l.json") or pytest.fail("link replaced"))
         and plan_in("old.json")(r, _)),
    Case("out-symlink-to-folder", "output", [*PLAN, "-o", "ld"], 2, ("is a folder",),
         setup=symlink("ld", "dir")),
    Case("out-foreign-symlink-in-sticky-folder", "output", [*PLAN, "-o", "sticky/plan.json"],
         2, ("sticky/plan.json", "symlink"), root=True, setup=sticky_foreign_symlink),
    # -- output: files the run reads ----------------------------------------------------------
    Case("out-over-scenario", "output", [*PLAN, "--write-mps", "s.yaml"], 2,
         ("s.yaml", "input of this run")),
    Case("out-over-json-scenario", "output", ["plan", "s.json", "-o", "s.json"], 2,
         ("s.json", "input of this run"),
         setup=lambda r: (r / "s.json").write_text(json.dumps(__import__("yaml").safe_load(
             SCENARIO), default=str))),
    Case("out-over-extended-scenario", "output", ["plan", "child.yaml", "--write-lp", "s.yaml"],
         2, ("s.yaml", "input of this run")),
    Case("out-over-catalog", "output", [*PLAN, "--chart", "c.svg", "--write-lp", "cat.csv"], 2,
         ("cat.csv", "input of this run")),
    Case("out-plan-extension-checked", "output", [*PLAN, "-o", "plan.yaml"], 2,
         ("plan.yaml", "unsupported plan file format")),
    Case("out-over-rules", "output", [*PLAN, "--write-lp", "rules.yaml"], 2,
         ("rules.yaml", "input of this run")),
    Case("out-sweep-over-catalog", "output",
         [*SWEEP, "--vary", "policy.domestic_share=0,0.1", "-o", "cat.csv"], 2,
         ("cat.csv", "input of this run")),
    Case("out-compare-over-scenario", "output", ["compare", "s.yaml", "child.yaml", "--csv",
                                                  "cat.csv"], 2, ("cat.csv", "input")),
    Case("out-symlink-to-scenario", "output", [*PLAN, "-o", "link.json"], 2,
         ("link.json", "input of this run"), setup=symlink("link.json", "s.yaml")),
    Case("out-hardlink-to-scenario", "output", [*PLAN, "-o", "hard.json"], 2,
         ("hard.json", "input of this run"), setup=hardlink("hard.json", "s.yaml")),
    Case("out-chart-symlink-to-catalog", "output", [*PLAN, "--chart", "c.png"], 2,
         ("c.png", "input of this run"), setup=symlink("c.png", "cat.csv")),
    Case("out-stress-over-plan", "output",
         ["stress", "plan.json", "s.yaml", "--draws", "2", "-o", "plan.json"], 2,
         ("plan.json", "input of this run")),
    Case("out-alternatives-over-scenario", "output", ["alternatives", "s.yaml", "--maximize",
                                                       "domestic_share", "-o", "s.yaml"], 2,
         ("s.yaml", "input of this run")),
    Case("out-named-twice", "output", ["compare", "s.yaml", "child.yaml", "--csv", "t.csv",
                                       "-o", "t.csv"], 2, ("t.csv", "twice")),
    Case("out-lp-and-plan-same-file", "output", [*PLAN, "-o", "m.lp", "--write-lp", "m.lp"], 2,
         ("m.lp", "twice")),
    # -- decode: bytes a YAML or JSON file cannot hold ---------------------------------------
    Case("yaml-nul", "decode", ["scenario", "validate", "x.yaml"], 2,
         ("x.yaml", "line 1", "column 15", "NUL"), setup=scenario_with(
             "x.yaml", "hostile-base", b"hostile-\x00base")),
    Case("yaml-bell", "decode", ["scenario", "validate", "x.yaml"], 2,
         ("x.yaml", "line 1", "column 19", "U+0007"),
         setup=scenario_with("x.yaml", "hostile-base", "hostile-base\x07")),
    Case("yaml-c1-csi", "decode", ["scenario", "validate", "x.yaml"], 2,
         ("x.yaml", "line 9", "column 17", "U+009B"),
         setup=scenario_with("x.yaml", "metric: bf16_pflops", "metric: bf16\x9b_pflops")),
    Case("yaml-escape-in-rules", "decode", ["rules", "show", "r.yaml"], 2,
         ("r.yaml", "line 2", "U+001B"),
         setup=write("r.yaml", (SUPPORT / "rule_ok.yaml").read_text().replace(
             "title: a test rule", f"title: a test rule{ESC_TITLE}"))),
    Case("yaml-invalid-utf8", "decode", ["scenario", "validate", "x.yaml"], 2,
         ("x.yaml", "not UTF-8", "line 7", "column 13"),
         setup=scenario_with("x.yaml", "name: train", b"name: tr\xffain")),
    Case("yaml-surrogate-utf8", "decode", ["scenario", "validate", "x.yaml"], 2,
         ("x.yaml", "not UTF-8", "line 1"),
         setup=scenario_with("x.yaml", "hostile-base", b"hostile\xed\xa0\x80base")),
    Case("yaml-utf16-no-bom", "decode", ["scenario", "validate", "x.yaml"], 2,
         ("x.yaml", "UTF-16"), setup=write("x.yaml", SCENARIO.encode("utf-16-le"))),
    Case("yaml-utf16-be-no-bom", "decode", ["scenario", "validate", "x.yaml"], 2,
         ("x.yaml", "UTF-16"), setup=write("x.yaml", SCENARIO.encode("utf-16-be"))),
    Case("yaml-utf16-bom", "decode", ["scenario", "validate", "x.yaml"], 2,
         ("x.yaml", "UTF-16"), setup=write("x.yaml", codecs.BOM_UTF16_LE
                                           + SCENARIO.encode("utf-16-le"))),
    Case("yaml-utf32", "decode", ["scenario", "validate", "x.yaml"], 2,
         ("x.yaml", "UTF-32"), setup=write("x.yaml", SCENARIO.encode("utf-32"))),
    Case("yaml-noncharacter", "decode", ["scenario", "validate", "x.yaml"], 2,
         ("x.yaml", "line 1", "U+FFFE"),
         setup=scenario_with("x.yaml", "hostile-base", "hostile-base\ufffe")),
    Case("yaml-rules-nul", "decode", ["plan", "x.yaml"], 2, ("r.yaml", "line 1", "NUL"),
         setup=steps(write("r.yaml", b"id: te\x00st\n"),
                     scenario_with("x.yaml", "rules: [rules.yaml]", "rules: [r.yaml]"))),
    Case("yaml-extends-invalid-utf8", "decode", ["plan", "child.yaml"], 2,
         ("s.yaml", "not UTF-8", "line 1"),
         setup=scenario_with("s.yaml", "hostile-base", b"hostile\xc3base")),
    Case("csv-nul", "decode", ["catalog", "validate", "c.csv"], 2, ("c.csv", "NUL"),
         setup=catalog_with("c.csv", "acme-a,Acme", "acme-a,Ac\x00me")),
    Case("json-plan-utf16", "decode", ["verify", "p.json", "s.yaml"], 2, ("p.json", "UTF-16"),
         setup=lambda r: (r / "p.json").write_bytes(
             (r / "plan.json").read_text().encode("utf-16-le"))),
    Case("json-plan-invalid-utf8", "decode", ["verify", "p.json", "s.yaml"], 2,
         ("p.json", "not UTF-8", "line 1"), setup=write("p.json", b'{"scenario": "\xff"}')),
    # -- ambiguous: one value spelt two ways, tags, non-ASCII digits ---------------------------
    Case("dup-period-case", "ambiguous", ["scenario", "validate", "x.yaml"], 2,
         ("x.yaml", "line 10", "2024q1", "the same period as '2024Q1'"),
         setup=scenario_with("x.yaml", "{2024Q1: 10, 2024Q3: 20}",
                             "{2024Q1: 120, 2024q1: 999999}")),
    Case("dup-period-space", "ambiguous", ["scenario", "validate", "x.yaml"], 2,
         ("x.yaml", "2024 Q3", "the same period as '2024Q3'"),
         setup=scenario_with("x.yaml", "{2024Q1: 10, 2024Q3: 20}",
                             "{2024Q1: 10, 2024Q3: 20, '2024 Q3': 30}")),
    Case("dup-period-budget", "ambiguous", ["scenario", "validate", "x.yaml"], 2,
         ("x.yaml", "policy.budget", "the same period"),
         setup=scenario_with("x.yaml", "policy: {energy_price: 0.1}",
                             "policy: {energy_price: 0.1, budget: {2024Q2: 1e6, 2024q2: 1e9}}")),
    Case("dup-period-supply", "ambiguous", ["scenario", "validate", "x.yaml"], 2,
         ("x.yaml", "supply.dragon-b", "the same period"),
         setup=scenario_with("x.yaml", "licenses: deny",
                             "licenses: deny\nsupply: {dragon-b: {2024Q1: 5, 2024q1: 500}}")),
    Case("dup-key-yaml", "ambiguous", ["scenario", "validate", "x.yaml"], 2,
         ("x.yaml", "duplicate key", "line 14"),
         setup=scenario_with("x.yaml", "solver: {time_limit: 5}",
                             "solver: {time_limit: 5}\nlicenses: allow")),
    Case("dup-key-plan-json", "ambiguous", ["verify", "p.json", "s.yaml"], 2,
         ("p.json", "duplicate key", "'status'"),
         setup=lambda r: (r / "p.json").write_text(
             (r / "plan.json").read_text().replace('"status": "optimal"',
                                                   '"status": "optimal", "status": "x"', 1))),
    Case("nan-literal-plan-json", "ambiguous", ["verify", "p.json", "s.yaml"], 2,
         ("p.json", "NaN"),
         setup=lambda r: (r / "p.json").write_text(
             (r / "plan.json").read_text().replace('"objective": ', '"objective": NaN, "x": ',
                                                   1))),
    Case("tag-binary", "ambiguous", ["scenario", "validate", "x.yaml"], 2,
         ("x.yaml", "line 1", "!!binary"),
         setup=scenario_with("x.yaml", "name: hostile-base", "name: !!binary aG9zdGlsZQ==")),
    Case("tag-set", "ambiguous", ["scenario", "validate", "x.yaml"], 2,
         ("x.yaml", "!!set"),
         setup=scenario_with("x.yaml", "licenses: deny", "licenses: deny\nported: !!set {Acme}")),
    Case("tag-omap", "ambiguous", ["scenario", "validate", "x.yaml"], 2, ("x.yaml", "!!omap"),
         setup=scenario_with("x.yaml", "policy: {energy_price: 0.1}",
                             "policy: !!omap [energy_price: 0.1]")),
    Case("tag-set-in-rules", "ambiguous", ["rules", "show", "r.yaml"], 2, ("r.yaml", "!!set"),
         setup=write("r.yaml", (SUPPORT / "rule_ok.yaml").read_text().replace(
             "applies_to: [CN]", "applies_to: !!set {CN}"))),
    Case("arabic-digits-demand", "ambiguous", ["scenario", "validate", "x.yaml"], 2,
         ("x.yaml", "demand.2024Q1", "١٢٠"),
         setup=scenario_with("x.yaml", "{2024Q1: 10, 2024Q3: 20}", "{2024Q1: '١٢٠'}")),
    Case("fullwidth-digits-horizon", "ambiguous", ["scenario", "validate", "x.yaml"], 2,
         ("x.yaml", "horizon.end", "２０２４Q4"),
         setup=scenario_with("x.yaml", "end: 2024Q4", "end: ２０２４Q4")),
    Case("fullwidth-digits-period-key", "ambiguous", ["scenario", "validate", "x.yaml"], 2,
         ("x.yaml", "demand", "２０２４Q3"),
         setup=scenario_with("x.yaml", "2024Q3: 20", "２０２４Q3: 20")),
    Case("fullwidth-digits-catalog", "ambiguous", ["catalog", "validate", "c.csv"], 2,
         ("c.csv", "row 2", "bf16_dense_tflops", "１０００"),
         setup=catalog_with("c.csv", ",1000,80,", ",１０００,80,")),
    Case("underscore-digits-catalog", "ambiguous", ["catalog", "validate", "c.csv"], 2,
         ("c.csv", "row 2", "1_000"), setup=catalog_with("c.csv", ",1000,80,", ",1_000,80,")),
    Case("devanagari-digits-set", "ambiguous", [*PLAN, "--set", "policy.energy_price=०.१"], 2,
         ("policy.energy_price", "०.१", "a number")),
    Case("underscore-digits-text-scenario", "ambiguous", ["scenario", "validate", "x.yaml"], 2,
         ("x.yaml", "demand.2024Q1", "1_0"),
         setup=scenario_with("x.yaml", "{2024Q1: 10, 2024Q3: 20}", "{2024Q1: '1_0'}")),
    # -- escape: text from inputs reaches the terminal ---------------------------------------
    Case("markup-scenario-name", "escape", ["plan", "x.yaml"], 0, stdout=True,
         setup=scenario_with("x.yaml", "name: hostile-base", 'name: "x[/x]y"'),
         check=lambda r, res: "x[/x]y" in res.out or pytest.fail(res.out)),
    Case("markup-workload-name", "escape", ["plan", "x.yaml", "--set",
                                            "workloads[0].shortfall_penalty=0.001"], 0,
         stdout=True,
         setup=scenario_with("x.yaml", "name: train", 'name: "[bold red]w[/]"'),
         # the shortfall table may wrap the name after '[bold': both halves printed raw
         check=lambda r, res: ("[bold red]w[/]" in res.out
                               or "[bold" in res.out and "red]w[/]" in res.out)
         or pytest.fail(res.out)),
    Case("markup-vendor-catalog", "escape", ["catalog", "list", "-c", "c.csv"], 0, stdout=True,
         setup=catalog_with("c.csv", "acme-a,Acme,A", "acme-a,[/Acme],A[link=x]"),
         check=lambda r, res: "[/Acm" in res.out or pytest.fail(res.out)),
    Case("markup-rule-title", "escape", ["rules", "show", "r.yaml"], 0, stdout=True,
         setup=write("r.yaml", (SUPPORT / "rule_ok.yaml").read_text().replace(
             "title: a test rule", "title: '[/] closing [bold]'")),
         check=lambda r, res: "[/] closing [bold]" in res.out or pytest.fail(res.out)),
    Case("escape-title-scenario-name", "escape", ["plan", "x.yaml"], 0, stdout=True,
         setup=scenario_with("x.yaml", "name: hostile-base", 'name: "x\\e]0;pwned\\ay"'),
         check=lambda r, res: "\\x1b]0;pwned" in res.out or pytest.fail(res.out)),
    Case("escape-clear-in-key", "escape", ["scenario", "validate", "x.yaml"], 2,
         ("x.yaml", "unknown key", "\\x1b[2J"),
         setup=scenario_with("x.yaml", "licenses: deny", 'licenses: deny\n"pol\\e[2J\\e[H": 1')),
    Case("escape-bidi-workload", "escape", ["scenario", "validate", "x.yaml"], 0, stdout=True,
         setup=scenario_with("x.yaml", "name: train", 'name: "tr\\u202eain"'),
         check=lambda r, res: ("\\u202e" in res.out and "\u202e" not in res.out)
         or pytest.fail(res.out)),
    Case("escape-newline-in-key", "escape", ["scenario", "validate", "x.yaml"], 2,
         ("x.yaml", "unknown key", "\\n"),
         setup=scenario_with("x.yaml", "licenses: deny",
                             'licenses: deny\n"x\\nerror: everything is fine": 1')),
    Case("escape-in-option-value", "escape", ["stress", "plan.json", "s.yaml", "--seed", CLEAR],
         2, ("--seed", "integer", "chipmix stress --help")),
    Case("escape-in-set-value", "escape", [*PLAN, "--set", f"name=n{ESC_TITLE}"], 2,
         ("--set", "name", "U+001B")),
    Case("escape-in-vary-value", "escape",
         [*SWEEP, "--vary", f"policy.domestic_share=0,'{CLEAR}'"], 2, ("--vary", "U+001B")),
    Case("escape-in-sweep-message", "escape",
         [*SWEEP, "--vary", "policy.domestic_share=0,'[/bold]x'"], 0,
         ("1 variant failed", "#1", "[/bold]x")),
    Case("escape-in-set-name-markup", "escape", [*PLAN, "--set", "name='[/] [bold]n'"], 0,
         check=lambda r, res: "[/] [bold]n" in res.out or pytest.fail(res.out)),
    Case("escape-catalog-path", "escape", ["catalog", "validate", f"c{ESC_TITLE}.csv"], 2,
         ("file not found", "\\x1b]0;pwned\\x07")),
    Case("escape-markup-in-error", "escape", ["scenario", "validate", "x.yaml"], 2,
         ("x.yaml", "[/bold]"),
         setup=scenario_with("x.yaml", "licenses: deny", 'licenses: deny\n"[/bold]": 1')),
    # -- cap: work and memory a typo asks for -------------------------------------------------
    Case("cap-sweep-grid-1e8", "cap",
         [*SWEEP, "--vary", "policy.domestic_share=0:0.9999:0.0001",
          "--vary", "supply.dragon-b=0:9999:1"], 2,
         ("100,000,000 variants", "--limit variants=")),
    Case("cap-sweep-grid-small-limit", "cap",
         [*SWEEP, "--limit", "variants=1", "--vary", "policy.domestic_share=0,0.1"], 2,
         ("2 variants", "at most 1", "--limit variants=")),
    Case("cap-sweep-limit-lifted", "cap",
         [*SWEEP, "--limit", "variants=2", "--vary", "policy.domestic_share=0,0.1", "--json"],
         0, stdout=True),
    Case("cap-sweep-range-without-step", "option",
         [*SWEEP, "--vary", "policy.domestic_share=0:1"], 2, ("0:1", "step")),
    Case("cap-frontier-steps", "cap", ["frontier", "s.yaml", "--steps", "1000000"], 2,
         ("1,000,000 steps", "--limit steps=")),
    Case("cap-horizon-typo", "cap", ["scenario", "validate", "x.yaml"], 2,
         ("x.yaml", "horizon", "4,000 periods", "--limit periods="),
         setup=scenario_with("x.yaml", "end: 2024Q4", "end: 3023Q4")),
    Case("cap-horizon-monthly-typo", "cap", ["scenario", "validate", "x.yaml"], 2,
         ("x.yaml", "horizon", "periods", "--limit periods="),
         setup=scenario_with("x.yaml", "{start: 2024Q1, end: 2024Q4}",
                             "{start: 2024-01, end: 2924-12}")),
    Case("cap-horizon-lifted-by-flag", "cap",
         ["--limit", "periods=3", "scenario", "validate", "s.yaml"], 2,
         ("4 periods", "at most 3", "--limit periods=")),
    Case("cap-set-billion-laughs", "cap", [*PLAN, "--set", f"name={LAUGHS}"], 2,
         ("--set", "name", "refused")),
    Case("cap-set-huge-value", "cap", [*PLAN, "--set", "name=" + "x" * 2_000_000], 2,
         ("--set", "characters", "--limit set-chars=")),
    Case("cap-verify-dev-zero", "cap", ["verify", "z.json", "s.yaml"], 2,
         ("z.json", "not a regular file"), setup=symlink("z.json", "/dev/zero")),
    Case("cap-verify-fifo", "cap", ["verify", "f.json", "s.yaml"], 2,
         ("f.json", "not a regular file", "FIFO"), setup=mkfifo("f.json")),
    Case("cap-scenario-fifo", "cap", ["plan", "f.yaml"], 2, ("f.yaml", "FIFO"),
         setup=mkfifo("f.yaml")),
    Case("cap-catalog-dev-zero", "cap", ["plan", "x.yaml"], 2,
         ("zero.csv", "not a regular file"),
         setup=steps(symlink("zero.csv", "/dev/zero"),
                     scenario_with("x.yaml", "catalogs: [cat.csv]", "catalogs: [zero.csv]"))),
    Case("cap-verify-big-file", "cap", ["--limit", "file-bytes=100", "verify", "plan.json",
                                        "s.yaml"], 2,
         ("plan.json", "bytes", "--limit file-bytes=")),
    Case("cap-stress-draws", "cap", ["stress", "plan.json", "s.yaml", "--draws", "1000000000"],
         2, ("--draws", "--limit draws=")),
    Case("cap-workers", "cap", [*SWEEP[:2], "--workers", "100000", "--vary",
                                "policy.domestic_share=0,0.1"], 2,
         ("--workers", "--limit workers=")),
    Case("cap-unknown-limit", "cap", ["--limit", "nonsense=5", "plan", "s.yaml"], 2,
         ("--limit", "nonsense")),
    Case("cap-bad-limit-value", "cap", ["--limit", "periods=-1", "plan", "s.yaml"], 2,
         ("--limit", "periods")),
    # -- option: bad option values ------------------------------------------------------------
    Case("opt-stress-negative-seed", "option", ["stress", "plan.json", "s.yaml", "--seed", "-5"],
         2, ("--seed", "-5")),
    Case("opt-stress-zero-draws", "option", ["stress", "plan.json", "s.yaml", "--draws", "0"], 2,
         ("--draws",)),
    Case("opt-stress-zero-workers", "option",
         ["stress", "plan.json", "s.yaml", "--workers", "0"], 2, ("--workers",)),
    Case("opt-sweep-dask-garbage", "option",
         [*SWEEP[:2], "--dask", "not an address", "--vary", "policy.domestic_share=0,0.1"], 2,
         ("--dask", "not an address", "tcp://host:8786")),
    Case("opt-sweep-dask-bad-port", "option",
         [*SWEEP[:2], "--dask", "tcp://localhost:99999", "--vary", "policy.domestic_share=0"],
         2, ("--dask", "port")),
    Case("opt-stress-dask-scheme", "option",
         ["stress", "plan.json", "s.yaml", "--dask", "http//x:1"], 2, ("--dask",)),
    Case("opt-sweep-all-fail", "option",
         [*SWEEP, "--vary", "policy.domestic_share=2,3"], 1,
         ("no variant has a plan", "#0", "policy.domestic_share=2", "#1"), stdout=True),
    Case("opt-sweep-some-fail", "option",
         [*SWEEP, "--vary", "policy.domestic_share=0,2"], 0,
         ("1 variant failed", "#1", "policy.domestic_share=2"), stdout=True),
    Case("opt-sweep-range-empty-step", "option",
         [*SWEEP, "--vary", "policy.domestic_share=0:1:"], 2, ("0:1:",)),
    Case("opt-verify-negative-tolerance", "option",
         ["verify", "plan.json", "s.yaml", "--tolerance", "-1"], 2, ("--tolerance",)),
    Case("opt-verify-nan-tolerance", "option",
         ["verify", "plan.json", "s.yaml", "--tolerance", "nan"], 2, ("--tolerance",)),
    Case("opt-alternatives-nan-slack", "option", ["alternatives", "s.yaml", "--slack", "nan"], 2,
         ("--slack",)),
    Case("opt-frontier-zero-tolerance", "option",
         ["frontier", "s.yaml", "--tolerance", "0"], 2, ("--tolerance",)),
    Case("opt-frontier-from-outside", "option", ["frontier", "s.yaml", "--from", "2099Q1"], 2,
         ("--from", "2099Q1")),
    Case("opt-plan-nan-gap", "option", [*PLAN, "--gap", "nan"], 2, ("gap",)),
    Case("opt-plan-inf-time-limit", "option", [*PLAN, "--time-limit", "inf"], 2,
         ("time limit",)),
    Case("opt-classify-impossible-date", "option", ["classify", "--at", "2024-02-30"], 2,
         ("--at", "2024-02-30")),
    Case("opt-unknown-option", "option", [*PLAN, "--frobnicate"], 2, ("--frobnicate",)),
    Case("opt-not-an-int", "option", ["frontier", "s.yaml", "--steps", "many"], 2,
         ("--steps", "integer")),
    # -- verify: plans that do not fit ---------------------------------------------------------
    Case("verify-purchases-not-a-list", "verify", ["verify", "p.json", "s.yaml"], 2,
         ("p.json", "purchases", "a list"),
         setup=plan_with("p.json", lambda d: d.update(purchases="x"))),
    Case("verify-servers-text", "verify", ["verify", "p.json", "s.yaml"], 2,
         ("p.json", "purchases[0].servers", "'abc'"),
         setup=plan_with("p.json", lambda d: d["purchases"][0].update(servers="abc"))),
    Case("verify-periods-number", "verify", ["verify", "p.json", "s.yaml"], 2,
         ("p.json", "periods"), setup=plan_with("p.json", lambda d: d.update(periods=5))),
    Case("verify-cost-list", "verify", ["verify", "p.json", "s.yaml"], 2,
         ("p.json", "cost"), setup=plan_with("p.json", lambda d: d.update(cost=[]))),
    Case("verify-status-number", "verify", ["verify", "p.json", "s.yaml"], 2,
         ("p.json", "status"), setup=plan_with("p.json", lambda d: d.update(status=7))),
    Case("verify-purchase-item-list", "verify", ["verify", "p.json", "s.yaml"], 2,
         ("p.json", "purchases[0]"),
         setup=plan_with("p.json", lambda d: d.update(purchases=[[1, 2]]))),
    Case("verify-units-bool", "verify", ["verify", "p.json", "s.yaml"], 2,
         ("p.json", "purchases[0].units"),
         setup=plan_with("p.json", lambda d: d["purchases"][0].update(units=True))),
    Case("verify-plan-is-folder", "verify", ["verify", "dir", "s.yaml"], 2,
         ("dir", "is a folder")),
    Case("verify-scenario-is-folder", "verify", ["verify", "plan.json", "dir"], 2,
         ("dir", "is a folder")),
    Case("verify-plan-is-yaml", "verify", ["verify", "s.yaml", "s.yaml"], 2,
         ("s.yaml", "not valid JSON")),
    Case("verify-other-scenario", "verify", ["verify", "plan.json", "child.yaml"], 2,
         ("plan.json", "'hostile-base'", "'hostile-child'")),
    Case("verify-other-periods", "verify", ["verify", "plan.json", "x.yaml"], 2,
         ("plan.json", "2024Q1..2024Q4", "2024Q1..2025Q4"),
         setup=scenario_with("x.yaml", "end: 2024Q4", "end: 2025Q4")),
    # -- internal: the last line of defence ---------------------------------------------------
    Case("internal-bug", "internal", PLAN, 3,
         ("internal error: ZeroDivisionError", "rerun with --debug and report it"),
         patch=internal_bug),
    Case("internal-out-of-memory", "internal", PLAN, 3, ("out of memory",), patch=out_of_memory),
    # -- race: inputs that change or vanish ---------------------------------------------------
    Case("race-catalog-grows-while-read", "race", ["catalog", "validate", "cat.csv"], 2,
         ("cat.csv", "changed while"), patch=grow_while_read),
    Case("race-catalog-folder-vanished", "race", ["plan", "x.yaml"], 2,
         ("gone/cat.csv", "not found"),
         setup=scenario_with("x.yaml", "catalogs: [cat.csv]", "catalogs: [gone/cat.csv]")),
    Case("race-scenario-symlink-loop", "race", ["plan", "loop.yaml"], 2, ("loop.yaml",),
         setup=steps(symlink("loop.yaml", "loop2.yaml"), symlink("loop2.yaml", "loop.yaml"))),
]


def _params() -> list:
    params, seen = [], set()
    for case in CASES:
        assert case.id not in seen, case.id
        seen.add(case.id)
        marks = list(case.marks)
        if case.root:
            marks.append(pytest.mark.skipif(not ROOT, reason="needs root (device nodes, "
                                                             "another user's symlink)"))
        params.append(pytest.param(case, id=case.id, marks=marks))
    return params


@pytest.mark.parametrize("case", _params())
def test_hostile(case: Case, tmp_path: Path, plan_json: str, capfd, monkeypatch):
    root = tmp_path / "sandbox"
    root.mkdir()
    _populate(root, plan=plan_json)
    if case.setup is not None:
        case.setup(root)
    monkeypatch.chdir(root)
    before = snapshot(root)
    if case.patch is not None:
        case.patch(monkeypatch)
    try:
        result = run(case.args, capfd)
    finally:
        monkeypatch.undo()
        while _IMMUTABLE:
            subprocess.run(["chattr", "-i", str(_IMMUTABLE.pop())], check=False)
    after = snapshot(root)
    (root / ".reader").unlink(missing_ok=True)
    after.pop(".reader", None)
    before.pop(".reader", None)
    changed = changes(before, after)
    allowed = set(case.writes)
    assert changed <= allowed, f"changed or left behind: {sorted(changed - allowed)}"
    assert_outcome(case, result)
    if case.check is not None:
        case.check(root, result)


def test_corpus_covers_every_kind():
    kinds = {case.kind for case in CASES}
    assert kinds == {"output", "decode", "ambiguous", "escape", "cap", "option", "verify",
                     "internal", "race"}
    assert len(CASES) >= 140
