"""Every file chipmix reads or writes goes through this module: one policy for all of them.

Reading: :func:`read_input`
    Opens the file once (never blocking: a FIFO does not hang the run), refuses anything but
    a regular file (``/dev/zero``, a FIFO, a socket, a folder), reads at most the
    ``file-bytes`` limit, checks that the file did not change while it was read, and records
    it as an input of the current run. Errors are :class:`~chipmix.errors.InputError` naming
    the file.

Writing: :func:`atomic_path` (and :func:`write_text` / :func:`write_bytes` on top)
    The one way any output is written (``-o``, ``--chart``, ``--write-lp``/``--write-mps``,
    exported tables). What it does with the target:

    - a regular file (or none yet): written to a temp file ``.cmx-XXXXXXXX.tmp`` in the
      target's folder, flushed, given the old file's permissions (new files: what the umask
      gives), then renamed over the target in one step — an error or an interrupt leaves the
      old file (or none) and no temp file. Missing folders are created, and removed again on
      failure;
    - a FIFO, a terminal, ``/dev/null`` / ``/dev/zero`` / ``/dev/full``, ``/dev/stdout`` and
      ``/dev/fd/N``: the complete output is written through (never replaced by a file);
      a FIFO without a reader is refused instead of waiting for one;
    - refused with :class:`~chipmix.errors.OutputError` (exit 2): a folder, an empty name, a
      path under a file, a block device or any other device, a socket, a symlink to nothing,
      a symlink another user planted in a shared sticky folder (``/tmp``), **any file the run
      has read** (the scenario, its ``extends`` chain, catalogs, rule sets, the plan being
      stressed — also through a symlink or a hard link), and a file the run already wrote;
    - every OS error (read-only folder, immutable file, full disk, a name too long, ``/proc``)
      becomes an ``OutputError`` naming the path and the reason.

    Symlinks are followed: the file they point to is replaced, the link stays.

The run: :func:`run_scope`
    The inputs and outputs "of this run" are recorded in a context opened by the CLI for each
    command (library callers may open one themselves); outside one, only the target itself
    is checked. :func:`check_outputs` checks targets before the work starts (the CLI calls it
    after loading the inputs, before solving).

Snapshots: :func:`using_files`
    Worker processes of a sweep read their inputs from the bytes the caller read (shipped with
    the job), so a catalog changed or deleted mid-sweep does not change or break variants.
"""

from __future__ import annotations

import contextlib
import contextvars
import errno
import json
import os
import re
import secrets
import stat
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import chipmix.limits as limits
from chipmix.errors import ArgumentError, ChipmixError, InputError, OutputError
from chipmix.processes import signals_as_exceptions, signals_held

# --------------------------------------------------------------------------------------------
# The run: inputs read, outputs written


@dataclass
class RunFiles:
    """What one run has read and written (see :func:`run_scope`)."""

    inputs: dict[tuple[int, int], str] = field(default_factory=dict)  # (dev, ino) -> as named
    input_paths: dict[str, str] = field(default_factory=dict)  # real path -> as named
    outputs: dict[str, str] = field(default_factory=dict)  # real path -> as named
    contents: dict[str, bytes] = field(default_factory=dict)  # absolute/real path -> bytes


_RUN: contextvars.ContextVar[tuple[RunFiles, ...]] = contextvars.ContextVar(
    "chipmix_run_files", default=())
_FILES: contextvars.ContextVar[Mapping[str, bytes] | None] = contextvars.ContextVar(
    "chipmix_file_snapshot", default=None)


@contextlib.contextmanager
def run_scope() -> Iterator[RunFiles]:
    """Record the files read and written inside as "this run" (nested scopes all record)."""
    files = RunFiles()
    token = _RUN.set((*_RUN.get(), files))
    try:
        yield files
    finally:
        _RUN.reset(token)


@contextlib.contextmanager
def using_files(contents: Mapping[str, bytes] | None) -> Iterator[None]:
    """Inside, :func:`read_input` serves these paths from ``contents`` (a run's snapshot)."""
    if not contents:
        yield
        return
    token = _FILES.set(contents)
    try:
        yield
    finally:
        _FILES.reset(token)


def _record_input(path: Path, st: os.stat_result | None, data: bytes) -> None:
    scopes = _RUN.get()
    if not scopes:
        return
    absolute = os.path.abspath(path)
    real = os.path.realpath(path)
    for files in scopes:
        if st is not None:
            files.inputs.setdefault((st.st_dev, st.st_ino), str(path))
        files.input_paths.setdefault(real, str(path))
        files.contents[absolute] = data
        files.contents[real] = data


# --------------------------------------------------------------------------------------------
# Reading


def input_exists(path: str | Path) -> bool:
    """Whether an input can be read.

    Whether :func:`read_input` can find ``path``: on disk (a dangling symlink counts: the
    reader says what is wrong with it) or in the current snapshot (:func:`using_files`).
    """
    snapshot = _FILES.get()
    if snapshot and (os.path.abspath(path) in snapshot or os.path.realpath(path) in snapshot):
        return True
    return os.path.lexists(path)


_KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISSOCK, "a socket"), (stat.S_ISLNK, "a symlink"))


def _kind(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def read_input(path: str | Path, *, what: str = "input") -> bytes:
    """The bytes of the input file ``path`` (see the module docstring).

    Raises InputError naming the file when it is missing, a folder, not a regular file,
    unreadable, larger than the ``file-bytes`` limit, or changed while it was read.
    """
    if not isinstance(path, (str, os.PathLike)) or str(path) == "":
        raise ArgumentError("chipmix.io.read_input", "path", path, "a file path")
    path = Path(path)
    snapshot = _FILES.get()
    if snapshot:
        for key in (os.path.abspath(path), os.path.realpath(path)):
            if key in snapshot:
                data = snapshot[key]
                _record_input(path, None, data)
                return data
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(path, flags | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise InputError("file not found", file=path) from None
    except IsADirectoryError:
        raise InputError("is a folder", file=path, expected=f"a {what} file") from None
    except OSError as exc:
        raise InputError(f"cannot read the file ({exc.strerror or exc})", file=path) from None
    try:
        before = os.fstat(fd)
        if stat.S_ISDIR(before.st_mode):
            raise InputError("is a folder", file=path, expected=f"a {what} file")
        if not stat.S_ISREG(before.st_mode):
            raise InputError(f"not a regular file ({_kind(before.st_mode)})", file=path,
                             expected=f"a {what} file (chipmix reads no devices, FIFOs or "
                                      "sockets)")
        cap = limits.get("file-bytes")
        if before.st_size > cap:
            raise limits.LimitError("file-bytes", f"file of {before.st_size:,} bytes",
                                    file=path)
        os.set_blocking(fd, True)
        chunks: list[bytes] = []
        total = 0
        while True:
            chunk = os.read(fd, min(1 << 20, cap + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > cap:
                raise limits.LimitError("file-bytes", f"file of more than {cap:,} bytes",
                                        file=path)
        after = os.fstat(fd)
    except OSError as exc:
        raise InputError(f"cannot read the file ({exc.strerror or exc})", file=path) from None
    finally:
        os.close(fd)
    changed = ((after.st_size, after.st_mtime_ns) != (before.st_size, before.st_mtime_ns)
               or (before.st_size > 0 and total != before.st_size))
    if changed:
        raise InputError("the file changed while chipmix read it", file=path,
                         hint="run again once whatever writes it has finished")
    data = b"".join(chunks)
    _record_input(path, before, data)
    return data


def decode_text(data: bytes, path: str | Path, *, what: str = "text") -> str:
    """Decode an input file's bytes as UTF-8.

    ``data`` decoded as UTF-8 (a byte-order mark dropped); InputError naming the file,
    line and column of the first bad byte, with a hint for UTF-16/32 files.
    """
    encoding = _utf16_or_32(data)
    if encoding:
        raise InputError(f"{encoding} text", file=path,
                         expected=f"UTF-8 {what} (re-save the file as UTF-8)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line, column = line_column(data, exc.start)
        bad = data[exc.start : exc.start + 1]
        raise InputError(
            f"not UTF-8: byte 0x{bad.hex()}", file=path, location=f"line {line}, column {column}",
            expected=f"UTF-8 {what} (re-save the file with UTF-8 encoding)",
        ) from None


def _utf16_or_32(data: bytes) -> str | None:
    """Recognise UTF-16 or UTF-32 text.

    ``"UTF-16"`` / ``"UTF-32"`` when the bytes look like it (a BOM, or NUL bytes in the
    pattern ASCII text makes in those encodings).
    """
    if data[:4] in (b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff"):
        return "UTF-32"
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return "UTF-16"
    head = data[:400]
    if len(head) >= 8 and head.count(0) * 2 >= len(head):
        if head.count(b"\x00\x00\x00") * 4 >= len(head) - 8:
            return "UTF-32"
        return "UTF-16"
    return None


def line_column(data: bytes | str, offset: int) -> tuple[int, int]:
    """1-based line and column of ``offset`` in ``data`` (columns count characters)."""
    before = data[:offset]
    if isinstance(before, bytes):
        before = before.decode("utf-8", errors="replace")
    line = before.count("\n") + 1
    return line, len(before) - (before.rfind("\n") + 1) + 1


def read_json(path: str | Path, *, what: str = "JSON") -> Any:
    """Read a JSON input file strictly.

    The JSON document in ``path``, read by :func:`read_input` and parsed strictly: a key
    twice in one object, ``NaN``/``Infinity`` (not JSON) or nesting too deep is an InputError
    naming the file (and the line and column where the parser stopped).
    """
    text = decode_text(read_input(path, what=what), path, what=what)

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in items:
            if key in out:
                raise InputError("duplicate key", file=path, value=key,
                                 expected="each key once per object")
            out[key] = value
        return out

    def constant(name: str) -> Any:
        raise InputError(f"{name} is not JSON", file=path,
                         expected="numbers, or null for a missing figure")

    try:
        return json.loads(text, object_pairs_hook=pairs, parse_constant=constant)
    except json.JSONDecodeError as exc:
        raise InputError(f"not valid JSON ({exc.msg})", file=path,
                         location=f"line {exc.lineno}, column {exc.colno}",
                         expected=f"a {what} file") from None
    except RecursionError:
        raise InputError("JSON nested too deeply", file=path, expected=f"a {what} file") from None


# --------------------------------------------------------------------------------------------
# Writing: the output-target policy

#: Paths that name one of this process's file descriptors: written through that descriptor.
_FD_PATH = re.compile(r"^/(?:dev/(?:stdout|stderr|fd/(\d+))|proc/self/fd/(\d+))$", re.ASCII)
_STD = {"/dev/stdout": 1, "/dev/stderr": 2}


@dataclass(frozen=True)
class _Target:
    named: str  # the path as the user gave it
    kind: str  # "file" (atomic replace), "stream" (write through), "fd"
    real: str  # the path written (symlinks resolved) or the fd number for "fd"
    mode: int | None = None  # the old file's permission bits
    owner: tuple[int, int] | None = None


def _device_ok(st: os.stat_result, named: str) -> bool:
    """Character devices chipmix writes through: null/zero/full, terminals."""
    for name in ("/dev/null", "/dev/zero", "/dev/full"):
        with contextlib.suppress(OSError):
            if os.stat(name).st_rdev == st.st_rdev:
                return True
    real = os.path.realpath(named)
    if real.startswith(("/dev/pts/", "/dev/tty")) or real == "/dev/console":
        return True
    for fd in (0, 1, 2):
        with contextlib.suppress(OSError):
            if os.isatty(fd) and os.fstat(fd).st_rdev == st.st_rdev:
                return True
    return False


def _planted_symlink(path: Path, link: os.stat_result) -> bool:
    """Whether a symlink was planted by another user in a shared folder.

    A symlink in a world-writable sticky folder owned neither by us nor by the folder's
    owner (what Linux's fs.protected_symlinks guards against).
    """
    if not hasattr(os, "geteuid"):
        return False
    try:
        folder = os.stat(path.parent if str(path.parent) else ".")
    except OSError:
        return False
    shared = folder.st_mode & stat.S_ISVTX and folder.st_mode & stat.S_IWOTH
    return bool(shared) and link.st_uid not in (os.geteuid(), folder.st_uid)


def _target(path: str | Path) -> _Target:
    """Classify the output target ``path`` or raise OutputError (module docstring)."""
    if not isinstance(path, (str, os.PathLike)):
        raise ArgumentError("chipmix.io.atomic_path", "path", path, "a file path")
    named = os.fspath(path)
    if isinstance(named, bytes):
        named = os.fsdecode(named)
    if named == "":
        raise OutputError(named, "empty file name", hint="name the file to write")
    fd_match = _FD_PATH.match(named)
    if fd_match:
        number = _STD.get(named, None)
        if number is None:
            number = int(fd_match.group(1) or fd_match.group(2))
        return _Target(named, "fd", str(number))
    if named.endswith(("/", os.sep)):
        raise OutputError(named, "names a folder (it ends with /)", hint="give a file name")
    target = Path(named)
    try:
        link = os.lstat(target)
    except FileNotFoundError:
        return _absent(named, target)
    except NotADirectoryError:
        raise OutputError(named, f"{_file_in_path(target)} is not a folder") from None
    except OSError as exc:
        raise OutputError(named, _reason(exc)) from None
    st = _followed(named, target, link) if stat.S_ISLNK(link.st_mode) else link
    real = os.path.realpath(target)
    if stat.S_ISDIR(st.st_mode):
        raise OutputError(named, "is a folder", hint="give a file name inside it")
    if stat.S_ISREG(st.st_mode):
        _not_an_input(named, real, st)
        return _Target(named, "file", real, stat.S_IMODE(st.st_mode), (st.st_uid, st.st_gid))
    if stat.S_ISFIFO(st.st_mode):
        return _Target(named, "stream", real)
    if stat.S_ISCHR(st.st_mode) and _device_ok(st, named):
        return _Target(named, "stream", real)
    if stat.S_ISCHR(st.st_mode):
        raise OutputError(named, "a character device; chipmix writes through only to "
                                 "/dev/null, a terminal or a pipe")
    raise OutputError(named, f"{_kind(st.st_mode)}; chipmix writes only regular files, "
                             "FIFOs and terminals")


def _followed(named: str, target: Path, link: os.stat_result) -> os.stat_result:
    """The file a symlink target names (refused: planted in a shared folder, or dangling)."""
    if _planted_symlink(target, link):
        raise OutputError(named, "a symlink another user owns in a shared sticky folder; "
                                 "refusing to follow it", hint="remove it or write elsewhere")
    try:
        return os.stat(target)
    except FileNotFoundError:
        raise OutputError(named, f"a symlink to a missing file ({os.readlink(target)})",
                          hint="remove the link or create its target") from None
    except OSError as exc:
        raise OutputError(named, _reason(exc)) from None


def _absent(named: str, target: Path) -> _Target:
    """A target that does not exist yet: its nearest existing folder must be a folder."""
    parent = target.parent
    while True:
        try:
            st = os.stat(parent if str(parent) else ".")
        except FileNotFoundError:
            if parent == parent.parent:
                break
            parent = parent.parent
            continue
        except NotADirectoryError:
            raise OutputError(named, f"{_file_in_path(target)} is not a folder") from None
        except OSError as exc:
            raise OutputError(named, _reason(exc)) from None
        if not stat.S_ISDIR(st.st_mode):
            raise OutputError(named, f"{parent} is not a folder")
        break
    real = os.path.join(os.path.realpath(target.parent), target.name)
    _not_an_input(named, real, None)
    return _Target(named, "file", real)


def _file_in_path(target: Path) -> str:
    """The first component of ``target`` that exists and is not a folder."""
    for part in reversed(target.parents):
        if str(part) in ("", "."):
            continue
        with contextlib.suppress(OSError):
            if not stat.S_ISDIR(os.stat(part).st_mode):
                return str(part)
    return str(target.parent)


def _not_an_input(named: str, real: str, st: os.stat_result | None) -> None:
    for files in _RUN.get():
        source = files.input_paths.get(real)
        if source is None and st is not None:
            source = files.inputs.get((st.st_dev, st.st_ino))
        if source is not None:
            same = "" if os.path.abspath(source) == os.path.abspath(named) else f" ({source})"
            raise OutputError(named, f"is an input of this run{same}; chipmix never writes "
                                     "over a file it reads", hint="write to another file")
        if real in files.outputs:
            raise OutputError(named, "named twice as an output of this run",
                              hint="give each output its own file")


def _reason(exc: OSError) -> str:
    if exc.errno is not None and exc.strerror:
        return exc.strerror
    return str(exc)


def writes_through(path: str | Path) -> bool:
    """Whether an output target is written through rather than replaced.

    Whether ``path`` is a target written through rather than replaced (a FIFO, a
    terminal, ``/dev/null``, ``/dev/stdout``...): writers without an extension to go by then
    use their main text format. False for anything else, a refused target included.
    """
    try:
        return _target(path).kind in ("stream", "fd")
    except ChipmixError:
        return False


def check_outputs(*paths: str | Path | None) -> None:
    """Check output targets before the work starts.

    Check output targets before the work starts: each must be writable by the policy
    (module docstring) and none named twice. Raises OutputError; writes nothing.
    """
    seen: dict[str, str] = {}
    for path in paths:
        if path is None:
            continue
        target = _target(path)
        key = target.real if target.kind != "fd" else f"fd:{target.real}"
        if key in seen and target.kind != "stream":
            raise OutputError(target.named, f"named twice as an output (also as {seen[key]})",
                              hint="give each output its own file")
        seen[key] = target.named
        if target.kind == "file":
            _probe(target)


def _probe(target: _Target) -> None:
    """Try creating a file where the output will go.

    Create and remove a temp file where the output will go: a read-only or missing-
    permission folder is reported before hours of solving. Creates no folder.
    """
    folder = Path(target.real).parent
    if not folder.is_dir():
        return  # created at write time
    try:
        fd, tmp = _temp_in(folder)
    except OSError as exc:
        raise OutputError(target.named, f"cannot create a file in {folder} ({_reason(exc)})"
                          ) from None
    os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(tmp)


def _temp_in(folder: Path) -> tuple[int, str]:
    """A new temp file with a short name (a 250-character target still works)."""
    flags = os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    for _ in range(100):
        name = os.path.join(folder, f".cmx-{secrets.token_hex(4)}.tmp")
        try:
            return os.open(name, flags | getattr(os, "O_CLOEXEC", 0), 0o600), name
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temp name in {folder}")  # pragma: no cover


def _make_folders(folder: Path) -> list[Path]:
    """Create the missing folders up to ``folder``; returns those created (to undo)."""
    missing: list[Path] = []
    current = folder
    while not current.exists():
        missing.append(current)
        if current == current.parent:
            break
        current = current.parent
    created: list[Path] = []
    try:
        for path in reversed(missing):
            os.mkdir(path)
            created.append(path)
    except BaseException:
        _remove_folders(created)
        raise
    return created


def _remove_folders(created: list[Path]) -> None:
    for path in reversed(created):
        with contextlib.suppress(OSError):
            os.rmdir(path)


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temp path to write the whole output to; on success publish it at ``path``.

    The one way chipmix writes a file (module docstring): a regular target is replaced in one
    rename, a FIFO or terminal gets the bytes written through, anything else is refused. On
    any error or interrupt nothing is left behind and the old file is untouched. OS errors
    (from the policy or from the writer inside the ``with``) become OutputError naming
    ``path``.
    """
    target = _target(path)
    with signals_as_exceptions():
        if target.kind == "file":
            with _replace(target) as tmp:
                yield tmp
        else:
            with _through(target) as tmp:
                yield tmp


@contextlib.contextmanager
def _replace(target: _Target) -> Iterator[Path]:
    real = Path(target.real)
    created: list[Path] = []
    tmp: str | None = None
    done = False
    try:
        created = _make_folders(real.parent)
        try:
            fd, tmp = _temp_in(real.parent)
        except OSError as exc:
            raise OutputError(target.named,
                              f"cannot create a file in {real.parent} ({_reason(exc)})") from None
        os.close(fd)
        yield Path(tmp)
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.chmod(tmp, target.mode if target.mode is not None else _default_mode())
        if target.owner is not None and hasattr(os, "geteuid") and os.geteuid() == 0:
            with contextlib.suppress(OSError):
                os.chown(tmp, *target.owner)
        _unchanged(target)
        with signals_held():  # the rename and its record are one step for a late signal
            os.replace(tmp, real)
            done = True
            for files in _RUN.get():
                files.outputs[target.real] = target.named
    except OSError as exc:
        raise OutputError(target.named, f"cannot write the file ({_reason(exc)})") from None
    finally:
        if tmp is not None and not done:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        if not done:
            _remove_folders(created)


def _unchanged(target: _Target) -> None:
    """Check the target right before the rename.

    Right before the rename: the target is still what it was when checked (a regular file
    or nothing), not a symlink or folder put there meanwhile.
    """
    try:
        st = os.lstat(target.real)
    except FileNotFoundError:
        return
    if not stat.S_ISREG(st.st_mode):
        raise OutputError(target.named, f"became {_kind(st.st_mode)} while chipmix wrote it; "
                                        "not replaced")


@contextlib.contextmanager
def _through(target: _Target) -> Iterator[Path]:
    """Write to a private temp folder, then copy the complete bytes to the stream."""
    try:
        staging = tempfile.TemporaryDirectory(prefix="chipmix-out-")
    except OSError as exc:
        raise OutputError(target.named, f"no temp folder to stage the output ({_reason(exc)})"
                          ) from None
    with staging as folder:
        tmp = Path(folder) / "out.tmp"
        try:
            yield tmp
            data = tmp.read_bytes()
            if target.kind == "fd":
                _write_all(int(target.real), data)
            else:
                _write_stream(target, data)
        except OSError as exc:
            raise OutputError(target.named, f"cannot write ({_reason(exc)})") from None


def _write_stream(target: _Target, data: bytes) -> None:
    flags = os.O_WRONLY | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(target.real, flags | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        if exc.errno == errno.ENXIO:
            raise OutputError(target.named, "a FIFO with no reader",
                              hint="start the reader first, or write to a file") from None
        raise
    try:
        os.set_blocking(fd, True)
        _write_all(fd, data)
    finally:
        os.close(fd)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _default_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def write_text(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` (UTF-8) by the output policy (:func:`atomic_path`)."""
    if not isinstance(text, str):
        raise ArgumentError("chipmix.io.write_text", "text", text, "a str")
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` by the output policy (:func:`atomic_path`)."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


__all__ = ["RunFiles", "atomic_path", "check_outputs", "decode_text", "input_exists",
           "line_column", "read_input", "read_json", "run_scope", "using_files", "write_bytes",
           "write_text", "writes_through"]
