"""Keeping stdout clean: solver libraries that print to file descriptor 1 are redirected.

``--json`` output must be the only thing on stdout; HiGHS and CBC print banners and logs from
C code, which Python's ``sys.stdout`` cannot catch, so the file descriptors are redirected.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Iterator
from typing import Any

_REDIRECT_LOCK = threading.Lock()
_redirect_state: dict[str, Any] = {"depth": 0, "saved": []}


def _stdout_fds() -> list[int]:
    """File descriptors a C library's "stdout" may reach.

    Fd 1, and sys.stdout's own fd when it differs (e.g. a test harness that captures into a
    file).
    """
    fds = [1]
    try:
        fd = sys.stdout.fileno()
        if fd not in fds:
            fds.append(fd)
    except (AttributeError, ValueError, OSError):
        pass
    return fds


@contextlib.contextmanager
def _redirect_stdout_fds(to_stderr: bool) -> Iterator[None]:
    """Point the stdout file descriptors at stderr (or /dev/null) for the block.

    Reference-counted under a lock: threads that solve at once share one redirection, and
    the last one out restores stdout, so stdout is never left pointing elsewhere.
    """
    with _REDIRECT_LOCK:
        if _redirect_state["depth"] == 0:
            try:
                sys.stdout.flush()
            except (AttributeError, ValueError, OSError):
                pass
            saved = []
            for fd in _stdout_fds():
                try:
                    saved.append((fd, os.dup(fd)))
                except OSError:
                    continue
                if to_stderr and _has_fileno(sys.stderr):
                    sys.stderr.flush()
                    os.dup2(sys.stderr.fileno(), fd)
                else:
                    _dup_devnull(fd)
            _redirect_state["saved"] = saved
        _redirect_state["depth"] += 1
    try:
        yield
    finally:
        with _REDIRECT_LOCK:
            _redirect_state["depth"] -= 1
            if _redirect_state["depth"] == 0:
                try:
                    sys.stdout.flush()
                except (AttributeError, ValueError, OSError):
                    pass
                for fd, copy in _redirect_state["saved"]:
                    os.dup2(copy, fd)
                    os.close(copy)
                _redirect_state["saved"] = []


def stdout_to_stderr() -> contextlib.AbstractContextManager[None]:
    """Send everything written to stdout's file descriptors to stderr (solver chatter).

    Keeps stdout clean for ``--json`` even when a C library prints directly to fd 1.
    """
    return _redirect_stdout_fds(to_stderr=True)


def quiet_stdout() -> contextlib.AbstractContextManager[None]:
    """Discard everything written to stdout's file descriptors (a C library's banner)."""
    return _redirect_stdout_fds(to_stderr=False)


def _dup_devnull(fd: int) -> None:
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, fd)
    finally:
        os.close(null)


def _has_fileno(stream: Any) -> bool:
    try:
        stream.fileno()
        return True
    except (AttributeError, ValueError, OSError):
        return False
