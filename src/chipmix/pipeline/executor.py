"""A small, order-preserving parallel map for independent tasks (stress draws).

``run_map(fn, context, items)`` returns ``[fn(context, item) for item in items]``, computed

- in this process (``workers=1``, no Dask),
- on a ``concurrent.futures.ProcessPoolExecutor`` of ``workers`` processes (``spawn`` start
  method: HiGHS keeps a thread pool that a forked child must not inherit; ``context`` is sent
  once per worker through the pool's initializer), or
- on Dask (``dask``: a scheduler address such as ``tcp://10.0.0.5:8786``, ``"local"`` for a
  local cluster of ``workers`` processes, or a ``dask.distributed.Client``); ``context`` is
  scattered to every worker once. Dask is imported only here, only when asked.

``fn`` must be a module-level function (it is pickled by reference). Results come back in the
order of ``items`` whichever executor ran them, so anything that depends only on
``(context, item)`` — e.g. a draw seeded with ``np.random.default_rng([seed, item])`` — is
identical across executors.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from chipmix.errors import ChipmixError

_WORKER: dict[str, Any] = {}


def _init_worker(fn: Callable, context: Any) -> None:
    _WORKER["fn"] = fn
    _WORKER["context"] = context


def _call_in_worker(item: Any) -> Any:
    return _WORKER["fn"](_WORKER["context"], item)


def _dask_call(item: Any, fn: Callable, context: Any) -> Any:
    return fn(context, item)


def run_map(fn: Callable[[Any, Any], Any], context: Any, items: Iterable[Any], *,
            workers: int = 1, dask: Any = None) -> list[Any]:
    """``[fn(context, item) for item in items]`` on the chosen executor (module docstring)."""
    items = list(items)
    if dask is not None and dask is not False:
        return _dask_map(fn, context, items, dask, workers)
    if workers is None or workers <= 1 or len(items) <= 1:
        return [fn(context, item) for item in items]
    chunk = max(1, len(items) // (workers * 4))
    with ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_init_worker,
        initargs=(fn, context),
    ) as pool:
        return list(pool.map(_call_in_worker, items, chunksize=chunk))


def _dask_map(fn, context, items, dask, workers) -> list[Any]:
    try:
        from dask.distributed import Client
    except ImportError as exc:
        raise ChipmixError(
            "Dask is not installed: pip install 'chipmix[dask]' (or drop --dask)") from exc
    own = False
    if isinstance(dask, Client):
        client = dask
    elif dask == "local":
        client = Client(n_workers=max(1, workers or 1), threads_per_worker=1, processes=True,
                        dashboard_address=":0")
        own = True
    else:
        try:
            client = Client(str(dask), timeout="20s")
        except OSError as exc:
            raise ChipmixError(f"cannot reach the Dask scheduler at {dask}: {exc}") from exc
        own = True
    try:
        shared = client.scatter(context, broadcast=True)
        futures = client.map(_dask_call, items, fn=fn, context=shared, pure=False)
        return client.gather(futures)
    finally:
        if own:
            client.close()


__all__ = ["run_map"]
