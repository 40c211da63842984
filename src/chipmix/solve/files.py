"""Model files: the model written as LP (through PuLP) or MPS (through HiGHS), atomically."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from chipmix.io import atomic_path, check_outputs
from chipmix.model.matrix import LinearModel
from chipmix.solve.highs import write_model
from chipmix.solve.pulp_adapter import write_lp


def write_model_files(model: LinearModel, lp: str | Path | None = None,
                      mps: str | Path | None = None) -> None:
    """Export the model: MPS through HiGHS (readable names), LP through PuLP.

    Each file goes by the output policy of :mod:`chipmix.io`; both targets are checked
    before either is written.
    """
    check_outputs(lp, mps)
    if mps:
        with atomic_path(mps) as tmp, _removed_on_error(tmp.with_suffix(".mps")) as real:
            write_model(model, real)
            os.replace(real, tmp)
    if lp:
        with atomic_path(lp) as tmp, _removed_on_error(tmp.with_suffix(".lp")) as real:
            write_lp(model, real)
            os.replace(real, tmp)


@contextlib.contextmanager
def _removed_on_error(path: Path) -> Iterator[Path]:
    """A second temp name (solvers pick the format by extension), removed if left behind."""
    try:
        yield path
    finally:
        if path.exists():
            path.unlink()
