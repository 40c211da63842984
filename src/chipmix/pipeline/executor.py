"""The one parallel map of chipmix: sweeps, frontiers and stress draws all run on it.

``Executor(workers, dask).map(fn, context, items)`` returns ``[fn(context, item) for item in
items]``, in the order of ``items`` whichever executor ran them, computed

- in this process (``workers=1`` and no Dask),
- on ``workers`` processes (default: every core this process may use): this process and a
  ``concurrent.futures.ProcessPoolExecutor`` of ``workers − 1`` more, started with the
  ``spawn`` method — HiGHS keeps a thread pool that a forked child must not inherit.
  Whoever is free takes the next chunk of items (this process starts at once, while the
  pool's processes are still importing); ``context`` travels once per chunk, or
- on Dask, with one set of options: ``dask`` is a scheduler address such as
  ``tcp://10.0.0.5:8786``, ``"local"`` for a local cluster of ``workers`` processes, or a
  ``dask.distributed.Client`` (the caller's: left open); ``context`` is scattered to every
  worker once per batch. Dask is imported only here, only when asked.

An executor is kept alive between batches (a pool starts once, a cluster connects once): use
it as a context manager. Its processes come from :mod:`chipmix.processes`: they die with the
caller (even a SIGKILLed one), ignore Ctrl-C, and are terminated at once when an error,
Ctrl-C or SIGTERM (raised as ``chipmix.processes.Terminated`` while a batch runs) leaves the
executor — no partial result, no worker left. ``workers`` is capped by the ``workers`` limit
and a ``dask`` address is checked before Dask is imported (``chipmix.processes``). ``fn`` must be a module-level function (it is pickled by
reference), so anything that depends only on ``(context, item)`` — e.g. a draw seeded with
``np.random.default_rng([seed, item])`` — is identical across executors.
"""

from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any

from chipmix.errors import ChipmixError
from chipmix.processes import (
    check_workers,
    new_pool,
    parse_dask_address,
    signals_as_exceptions,
    spawning,
    stop_pool,
)

#: ``progress(done, total)``: called in the caller's thread as items finish.
Progress = Callable[[int, int], None]
#: ``on_error(item, exception)``: the result of an item whose worker failed (died, killed,
#: out of memory); without it the exception propagates.
OnError = Callable[[Any, BaseException], Any]

EXECUTORS = ("in-process", "process-pool", "dask")


def default_workers() -> int:
    """Cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - macOS, Windows
        return max(1, os.cpu_count() or 1)


def import_distributed() -> Any:
    """``dask.distributed``, or a ChipmixError saying how to install it."""
    try:
        import dask.distributed as distributed  # lazy: Dask is an optional extra
    except ImportError:
        raise ChipmixError(
            "the Dask executor needs dask[distributed]: pip install 'chipmix[dask]'"
        ) from None
    return distributed


def connect(address: str, *, timeout: str = "20s") -> Any:
    """Connect to a Dask scheduler.

    A ``dask.distributed.Client`` connected to the scheduler at ``address`` (checked
    first: a malformed address is an InputError naming ``--dask``).
    """
    address = parse_dask_address(address)
    distributed = import_distributed()
    try:
        return distributed.Client(address, timeout=timeout)
    except (OSError, TimeoutError) as exc:
        raise ChipmixError(f"cannot reach the Dask scheduler at {address}: {exc}") from None


class Executor:
    """Runs ``fn(context, item)`` over many items on one executor (module docstring).

    ``workers`` — local processes (None: every core; 1: this process), or the size of a
    ``dask="local"`` cluster; ``dask`` wins over ``workers``. ``max_tasks`` caps the pool at
    the number of tasks there will be.

    Attributes
    ----------
    kind : ``in-process``, ``process-pool`` or ``dask``.
    workers : processes (or Dask worker threads) the items are spread over.
    """

    def __init__(self, workers: int | None = None, dask: Any = None, *,
                 max_tasks: int | None = None) -> None:
        self._pool: ProcessPoolExecutor | None = None
        self._client: Any = None
        self._own_client = False
        if isinstance(dask, str):
            parse_dask_address(dask, local=True)  # before Dask is imported
        if dask is not None and dask is not False:
            self.kind = "dask"
            self._client, self._own_client = _dask_client(dask, workers)
            self.workers = _dask_workers(self._client)
            return
        wanted = default_workers() if workers is None else check_workers(workers)
        if max_tasks is not None:
            wanted = min(wanted, max(1, max_tasks))
        self.kind = "in-process" if wanted == 1 else "process-pool"
        self.workers = wanted

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, kind: object, *exc: object) -> None:
        self.close(kill=kind is not None)

    def close(self, *, kill: bool = False) -> None:
        """Stop the pool and close a Dask client this executor opened.

        Stop the pool (after its tasks, or at once with ``kill``: the run failed, was
        interrupted or terminated) and close a Dask client this executor opened.
        """
        if self._pool is not None:
            pool, self._pool = self._pool, None
            stop_pool(pool, kill=kill)
        if self._client is not None and self._own_client:
            self._client.close()
        self._client = None

    def map(self, fn: Callable[[Any, Any], Any], context: Any, items: Iterable[Any], *,
            progress: Progress | None = None, chunksize: int | None = None,
            on_error: OnError | None = None) -> list[Any]:
        """``[fn(context, item) for item in items]`` on this executor, in item order.

        ``chunksize`` — items per pool task (default: about four tasks per worker; 1 for
        long, uneven tasks such as whole plans).
        """
        items = list(items)
        _tick(progress, 0, len(items))
        with signals_as_exceptions():  # SIGTERM: Terminated, and the workers stop (close)
            if self.kind == "dask":
                return self._map_dask(fn, context, items, progress, on_error)
            if self.kind == "in-process" or len(items) <= 1:
                out = []
                for item in items:
                    out.append(fn(context, item))
                    _tick(progress, len(out), len(items))
                return out
            try:
                return self._map_pool(fn, context, items, progress, chunksize, on_error)
            except BaseException:
                self.close(kill=True)  # also when the executor is not used as a context
                raise

    def _map_pool(self, fn: Callable[[Any, Any], Any], context: Any, items: Sequence[Any],
                  progress: Progress | None, chunksize: int | None,
                  on_error: OnError | None) -> list[Any]:
        """The pool's ``workers − 1`` processes and this one take the chunks as they free up.

        This process is the last worker: it starts on a chunk while the pool's processes are
        still starting (a spawned worker imports chipmix first, about a second). A pool
        process gets its next chunk the moment it returns one (a done callback submits it),
        so chunks of uneven cost balance as on a pool of ``workers`` processes.
        """
        if self._pool is None:
            # spawn, not fork: a forked child inherits HiGHS's thread pool without its threads
            self._pool = new_pool(self.workers - 1)
        size = chunksize or max(1, len(items) // (self.workers * 4))
        feed = _Feed(self._pool, fn, context, items, size)
        with spawning():  # these submits start the pool's processes, from this thread
            for _ in range(self.workers - 1):
                feed.submit()
        results: list[Any] = [None] * len(items)
        done = 0
        while done < len(items):
            chunk = feed.take()
            if chunk is not None:
                finished = [(chunk, _own_chunk(fn, context, chunk, items, on_error))]
            else:
                finished = feed.returned(on_error, block=True)
            finished += feed.returned(on_error, block=False)
            for chunk, values in finished:
                for i, value in zip(chunk, values, strict=True):
                    results[i] = value
                done += len(chunk)
                _tick(progress, done, len(items))
        return results

    def _map_dask(self, fn: Callable[[Any, Any], Any], context: Any, items: Sequence[Any],
                  progress: Progress | None, on_error: OnError | None) -> list[Any]:
        distributed = import_distributed()
        client = self._client
        shared = client.scatter(context, broadcast=True, hash=False)
        futures = client.map(_call, items, fn=fn, context=shared, pure=False)
        try:
            for done, _ in enumerate(distributed.as_completed(futures), start=1):
                _tick(progress, done, len(items))
            results = []
            for item, future in zip(items, futures, strict=True):
                try:
                    results.append(future.result())
                except Exception as exc:
                    if on_error is None:
                        raise
                    results.append(on_error(item, exc))
            return results
        finally:
            for future in futures:
                future.release()
            shared.release()


def run_map(fn: Callable[[Any, Any], Any], context: Any, items: Iterable[Any], *,
            workers: int | None = 1, dask: Any = None, progress: Progress | None = None
            ) -> list[Any]:
    """One batch on a fresh :class:`Executor` (closed afterwards)."""
    items = list(items)
    with Executor(workers, dask, max_tasks=len(items)) as executor:
        return executor.map(fn, context, items, progress=progress)


class _Feed:
    """The chunks of one pool batch: taken by this process, or submitted to the pool.

    The pool holds one chunk per process; when one comes back, its done callback (in the
    pool's manager thread) submits the next. ``take`` and the callback share the queue
    under a lock; a submit that fails (the pool broke or was shut down) puts its chunk back
    for this process. Submits never hold the lock (the pool takes locks of its own).
    """

    def __init__(self, pool: ProcessPoolExecutor, fn: Callable[[Any, Any], Any],
                 context: Any, items: Sequence[Any], size: int) -> None:
        self.pool, self.fn, self.context, self.items = pool, fn, context, items
        self.pending = deque(list(range(i, min(i + size, len(items))))
                             for i in range(0, len(items), size))
        self.futures: dict[Future[list[Any]], list[int]] = {}
        self.lock = threading.Lock()
        self.moving = 0  # chunks taken for the pool and not yet submitted or put back
        self.changed = threading.Event()

    def take(self) -> list[int] | None:
        """The next chunk for this process (None: none left to take)."""
        with self.lock:
            return self.pending.popleft() if self.pending else None

    def submit(self, _done: object = None) -> None:
        """Submit the next chunk to the pool (a done callback, or the first fill)."""
        with self.lock:
            if not self.pending:
                self.changed.set()
                return
            chunk = self.pending.popleft()
            self.moving += 1
        try:
            future = self.pool.submit(_call_chunk, self.fn, self.context,
                                      [self.items[i] for i in chunk])
        except Exception:  # broken or shut down: this process runs the chunk
            with self.lock:
                self.pending.appendleft(chunk)
                self.moving -= 1
            self.changed.set()
            return
        with self.lock:
            self.futures[future] = chunk
            self.moving -= 1
        self.changed.set()
        future.add_done_callback(self.submit)

    def returned(self, on_error: OnError | None, *, block: bool
                 ) -> list[tuple[list[int], list[Any]]]:
        """The pool's finished chunks with their values (``block``: wait for one)."""
        while True:
            with self.lock:
                current = list(self.futures)
                moving = self.moving
            if not block or any(f.done() for f in current):
                break
            if current:
                wait(current, timeout=0.5, return_when=FIRST_COMPLETED)
            elif moving:
                self.changed.wait(0.01)
                self.changed.clear()
            else:
                return []  # nothing in the pool: the chunks left are this process's
        out = []
        for future in current:
            if future.done():
                with self.lock:
                    chunk = self.futures.pop(future)
                out.append((chunk, _chunk_values(future, chunk, self.items, on_error)))
        return out


def _call(item: Any, fn: Callable[[Any, Any], Any], context: Any) -> Any:
    return fn(context, item)


def _call_chunk(fn: Callable[[Any, Any], Any], context: Any, chunk: list[Any]) -> list[Any]:
    return [fn(context, item) for item in chunk]


def _chunk_values(future: Future[list[Any]], chunk: list[int], items: Sequence[Any],
                  on_error: OnError | None) -> list[Any]:
    """A pool chunk's results; ``on_error``'s for each item when its worker failed."""
    try:
        return future.result()
    except Exception as exc:  # the worker died: killed, out of memory, solver crash
        return _failed(chunk, items, exc, on_error)


def _own_chunk(fn: Callable[[Any, Any], Any], context: Any, chunk: list[int],
               items: Sequence[Any], on_error: OnError | None) -> list[Any]:
    """A chunk run in this process, failing as a pool chunk does (``on_error`` per item)."""
    try:
        return _call_chunk(fn, context, [items[i] for i in chunk])
    except Exception as exc:
        return _failed(chunk, items, exc, on_error)


def _failed(chunk: list[int], items: Sequence[Any], exc: Exception,
            on_error: OnError | None) -> list[Any]:
    """``on_error``'s result for each item of a failed chunk; without it, ``exc`` again."""
    if on_error is None:
        raise exc
    return [on_error(items[i], exc) for i in chunk]


def _tick(progress: Progress | None, done: int, total: int) -> None:
    if progress is not None:
        progress(done, total)


def _dask_client(dask: Any, workers: int | None) -> tuple[Any, bool]:
    """``(client, opened here)`` for the ``dask`` option."""
    distributed = import_distributed()
    if isinstance(dask, distributed.Client):
        return dask, False
    if dask == "local":
        return distributed.Client(n_workers=max(1, workers or 1), threads_per_worker=1,
                                  processes=True, dashboard_address=":0"), True
    return connect(str(dask)), True


def _dask_workers(client: Any) -> int:
    try:
        info = client.scheduler_info()
        return sum(int(w.get("nthreads", 1)) for w in info.get("workers", {}).values()) or 1
    except Exception:  # pragma: no cover - informational only
        return 1


__all__ = ["EXECUTORS", "Executor", "Progress", "connect", "default_workers",
           "import_distributed", "run_map"]
