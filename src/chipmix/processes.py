"""Worker processes that never outlive their run, and SIGTERM handled like Ctrl-C.

Every executor that starts processes (sweeps, frontiers, stress draws) does it through
:func:`new_pool` / :func:`stop_pool` (or :func:`process_pool`), so that:

- workers are *spawned* (not forked: a forked child inherits HiGHS's thread pool without its
  threads);
- a worker dies with its parent: on Linux the kernel kills it when the process that started
  it exits (``PR_SET_PDEATHSIG``; started from another thread, a watcher thread checks the
  parent instead), so even a SIGKILLed run leaves no worker and no ``resource_tracker``
  behind;
- workers ignore SIGINT (Ctrl-C in a terminal reaches the whole process group): the parent
  decides, and stops them;
- while a pool runs, SIGTERM raises :class:`Terminated` in the main thread (as SIGINT raises
  ``KeyboardInterrupt``); leaving the pool by any exception terminates the workers at once
  (no waiting for running solves) — then the exception unwinds the caller, so no output file
  is written (outputs are written after the run, through ``chipmix.io.atomic_path``, which
  removes its temp file on the way out).

The CLI turns ``Terminated`` into exit code 143 (128 + SIGTERM) and ``KeyboardInterrupt``
into 130.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import chipmix.limits as limits
from chipmix.errors import InputError


class Terminated(BaseException):
    """SIGTERM arrived (raised in the main thread inside :func:`signals_as_exceptions`)."""

    def __init__(self, signum: int = signal.SIGTERM) -> None:
        super().__init__(f"terminated by signal {signum}")
        self.signum = signum

    @property
    def exit_code(self) -> int:
        """128 + the signal number (143 for SIGTERM), as a shell reports it."""
        return 128 + int(self.signum)


_DEFER: dict[str, Any] = {"depth": 0, "pending": None}


def _raise_terminated(signum: int, frame: Any) -> None:
    if _DEFER["depth"]:
        _DEFER["pending"] = signum  # raised when the process launch is complete
        return
    raise Terminated(signum)


@contextlib.contextmanager
def spawning() -> Iterator[None]:
    """Start worker processes without a signal cutting the launch short.

    Around code that starts worker processes (a pool's ``submit``/``map``): a signal must
    not cut the launch short (a child reading half its start-up data prints a traceback).
    Inside, SIGTERM is deferred to the end, and SIGINT is ignored — which the children
    inherit, so a Ctrl-C in the terminal never reaches a starting worker either.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old_int = signal.getsignal(signal.SIGINT)
    term_ours = signal.getsignal(signal.SIGTERM) is _raise_terminated
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _DEFER["depth"] += 1
    try:
        yield
    finally:
        _DEFER["depth"] -= 1
        signal.signal(signal.SIGINT, old_int)
        pending, _DEFER["pending"] = _DEFER["pending"], None
        if pending is not None and term_ours and not _DEFER["depth"]:
            raise Terminated(pending)


@contextlib.contextmanager
def signals_as_exceptions() -> Iterator[None]:
    """Inside (main thread only), SIGTERM raises :class:`Terminated`.

    Installed only over the default disposition: a handler the application set is kept.
    Nested uses are fine; the old disposition comes back on exit.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    try:
        previous = signal.getsignal(signal.SIGTERM)
    except (ValueError, AttributeError):  # pragma: no cover - no SIGTERM here
        yield
        return
    if previous is not signal.SIG_DFL:
        yield
        return
    signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


# --------------------------------------------------------------------------------------------
# The worker side


@contextlib.contextmanager
def signals_held() -> Iterator[None]:
    """SIGINT and SIGTERM that arrive inside are noted and raised again right after.

    Around a step a signal must not split (``chipmix.io``: a rename and its record in the
    run, so the CLI's "nothing written" or "after writing X" is true). Python runs signal
    handlers in the main thread only, so handlers swapped there hold them for the whole
    process (a thread's signal mask would not: the kernel hands a process signal to any
    other thread).
    """
    old = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    if threading.current_thread() is not threading.main_thread() or None in old.values():
        yield  # handlers not set from Python cannot be swapped back
        return
    pending: list[int] = []
    for signum in old:
        signal.signal(signum, lambda number, frame: pending.append(number))
    try:
        yield
    finally:
        for signum, handler in old.items():
            signal.signal(signum, handler)
        for number in pending:
            signal.raise_signal(number)  # to the handler restored above


def _die_with_parent(parent: int, kernel: bool) -> None:
    if kernel and sys.platform.startswith("linux"):
        try:
            import ctypes  # lazy: ctypes only in a starting worker, on Linux

            libc = ctypes.CDLL(None, use_errno=True)
            pr_set_pdeathsig = 1
            if libc.prctl(pr_set_pdeathsig, int(signal.SIGKILL), 0, 0, 0) == 0:
                if os.getppid() != parent:  # the parent died before the call
                    os._exit(1)
                return
        except (OSError, AttributeError):  # pragma: no cover - no prctl: watch instead
            pass

    def watch() -> None:
        while True:
            if os.getppid() != parent:
                os._exit(1)
            time.sleep(0.5)

    threading.Thread(target=watch, name="chipmix-parent-watch", daemon=True).start()


def _worker_init(parent: int, kernel: bool, initializer: Callable[..., Any] | None,
                 initargs: tuple[Any, ...]) -> None:
    _die_with_parent(parent, kernel)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if initializer is not None:
        initializer(*initargs)


# --------------------------------------------------------------------------------------------
# The caller side


def new_pool(workers: int, *, initializer: Callable[..., Any] | None = None,
             initargs: tuple[Any, ...] = ()) -> Any:
    """A spawn ``ProcessPoolExecutor`` of ``workers`` processes that die with this process.

    The pool's workers are started by the thread that first submits to it (Python's
    ``concurrent.futures``); from the main thread the kernel ties them to this process.
    """
    import multiprocessing  # lazy: multiprocessing only when a pool starts (start-up time)
    from concurrent.futures import ProcessPoolExecutor  # lazy: as multiprocessing

    kernel = threading.current_thread() is threading.main_thread()
    with spawning():  # the resource tracker starts here
        return ProcessPoolExecutor(max_workers=workers,
                                   mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_worker_init,
                                   initargs=(os.getpid(), kernel, initializer, tuple(initargs)))


def stop_pool(pool: Any, *, kill: bool) -> None:
    """Shut a pool down.

    Shut ``pool`` down: after its tasks (``kill=False``) or at once, terminating every
    worker (``kill=True``: an error, Ctrl-C or SIGTERM left the run).
    """
    if not kill:
        pool.shutdown(wait=True, cancel_futures=True)
        return
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        with contextlib.suppress(Exception):
            process.terminate()
    for process in processes:
        with contextlib.suppress(Exception):
            process.join(timeout=3)
            if process.is_alive():
                process.kill()
                process.join(timeout=3)
    # the pool's manager thread sees its workers gone and ends; joined here, it cannot race
    # the interpreter's exit (concurrent.futures' atexit hook writing to a closed wake-up pipe
    # prints 'Exception ignored in threading shutdown' after a SIGTERM)
    manager = getattr(pool, "_executor_manager_thread", None)
    if manager is not None:
        with contextlib.suppress(Exception):
            manager.join(timeout=10)


@contextlib.contextmanager
def process_pool(workers: int, *, initializer: Callable[..., Any] | None = None,
                 initargs: tuple[Any, ...] = ()) -> Iterator[Any]:
    """A process pool for the code inside.

    :func:`new_pool` for the code inside; SIGTERM raises :class:`Terminated` there, and
    any exception out of it stops the workers at once (:func:`stop_pool`).
    """
    pool = new_pool(workers, initializer=initializer, initargs=initargs)
    finished = False
    try:
        with signals_as_exceptions():
            yield pool
        finished = True
    finally:
        stop_pool(pool, kill=not finished)




def check_workers(workers: Any, *, label: str = "--workers") -> int:
    """``workers`` as a whole number from 1 to the ``workers`` limit; InputError otherwise."""
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise InputError(field=label, value=workers, expected="a whole number of processes >= 1")
    limits.check("workers", workers, what=f"{workers:,} worker processes", field=label)
    return workers


# --------------------------------------------------------------------------------------------
# Dask scheduler addresses

_SCHEMES = ("tcp", "tls", "ucx", "inproc", "ws", "wss")
_HOST = r"(?:[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])"


def parse_dask_address(address: object, *, local: bool = False) -> str:
    """Check a Dask scheduler address.

    ``address`` checked as a Dask scheduler address (``tcp://10.0.0.5:8786``,
    ``host:8786``, ``tls://...``; ``"local"`` too when ``local``); InputError naming
    ``--dask`` otherwise. Checked before Dask is imported or any work starts.
    """
    expected = ("a scheduler address like tcp://host:8786" + (" or 'local'" if local else ""))
    text = address.strip() if isinstance(address, str) else ""
    if local and text == "local":
        return text
    scheme, sep, rest = text.partition("://")
    if not sep:
        scheme, rest = "tcp", text
    if scheme not in _SCHEMES:
        raise InputError("unknown address scheme", field="--dask", value=address,
                         expected=expected + f" (schemes: {', '.join(_SCHEMES)})")
    if scheme == "inproc":
        return text
    match = re.fullmatch(rf"({_HOST})(?::([0-9]+))?/?", rest, flags=re.ASCII)
    if not match:
        raise InputError("malformed address", field="--dask", value=address, expected=expected)
    if match.group(2) is not None and not 1 <= int(match.group(2)) <= 65535:
        raise InputError("port out of range", field="--dask", value=address,
                         expected=expected + " (a port from 1 to 65535)")
    return text


__all__ = ["Terminated", "check_workers", "new_pool", "parse_dask_address", "process_pool",
           "signals_as_exceptions", "signals_held", "spawning", "stop_pool"]
