"""Reuse across the many solves of one study (a sweep's variants, a stress run's draws).

Within :func:`reusing`, in this thread,

- :func:`chipmix.model.data.prepare` reuses the loaded catalogs and the rule timeline (with
  the per-SKU decisions it has evaluated) of an earlier variant with the same catalogs,
  overrides, rule sets, home, buyer, unknown policy and rule parameters
  (:func:`chipmix.model.data.reusing_inputs`);
- every HiGHS solve goes through one :class:`~chipmix.solve.session.HighsSession`: a model
  of a shape solved before is changed in place instead of being passed to HiGHS again.

Both are exact: the same inputs give the same data, and a reused HiGHS model gives a MILP
the very result a fresh solve gives and an LP the same optimum (``tests/test_reuse.py``).
:func:`worker_reuse` keeps them for the life of a worker process, one study at a time: a
task of another study (another ``token``) starts afresh, so nothing of an earlier study — a
catalog file edited since — carries over.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from chipmix.model.data import reusing_inputs
from chipmix.solve.session import HighsSession
from chipmix.solve.session import reusing as reusing_highs

_WORKER: dict[str, Any] = {"token": None, "session": None, "cache": None}


@contextlib.contextmanager
def reusing(session: HighsSession | None = None, cache: dict[str, Any] | None = None
            ) -> Iterator[HighsSession]:
    """Reuse inputs and HiGHS models within this block (module docstring)."""
    with reusing_inputs(cache), reusing_highs(session) as active:
        yield active


def worker_reuse(token: str | None) -> contextlib.AbstractContextManager[HighsSession]:
    """:func:`reusing` with this process's session and cache for study ``token``.

    A new token (another study) clears them; None: nothing kept beyond the block.
    """
    if token is None:
        return reusing()
    if _WORKER["token"] != token:
        _WORKER.update(token=token, session=HighsSession(), cache={})
    return reusing(_WORKER["session"], _WORKER["cache"])


__all__ = ["reusing", "worker_reuse"]
