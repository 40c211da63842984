"""The base scenario of a study: loaded and validated once, then shipped as plain data."""

from __future__ import annotations

import uuid
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import chipmix.limits as limits
from chipmix.errors import InputError
from chipmix.inputs.overrides import apply_sets
from chipmix.inputs.scenario import Scenario, load_scenario
from chipmix.io import run_scope
from chipmix.rules import load_rulesets
from chipmix.studies.execute import Job


def load_base(base: Any, sets: Sequence[str] | None = None, *, base_dir: str | Path | None = None):
    """A validated :class:`~chipmix.inputs.scenario.Scenario` from a path, a Scenario or scenario data.

    ``sets`` (``key.path=value`` texts) apply before validation; errors are InputErrors.
    """
    if isinstance(base, Scenario):
        if not sets:
            return base
        return Scenario.from_dict(apply_sets(base.to_dict(), sets, schema=Scenario), base_dir=base.base_dir,
                                  source_name=str(base.source or base.name))
    if isinstance(base, Mapping):
        data = apply_sets(base, sets, schema=Scenario) if sets else dict(base)
        return Scenario.from_dict(data, base_dir=base_dir)
    if isinstance(base, (str, Path)):
        return load_scenario(base, sets=list(sets) if sets else None)

    raise InputError("not a scenario", value=base,
                     expected="a scenario YAML path, a chipmix.Scenario or scenario data")


def make_job(scenario, *, solver: str | None = None, time_limit: float | None = None,
             gap: float | None = None, relax: bool | None = None, diagnose: bool = True,
             label: str = "variant") -> Job:
    """A Job for the variants of a scenario.

    A :class:`Job` for variants of ``scenario`` (its data as ``Scenario.to_dict()``, the
    bytes of its files and rule sets, the caller's limits).
    """
    with run_scope() as rules:
        load_rulesets(scenario.rules, base_dir=scenario.base_dir)
    return Job(
        data=scenario.to_dict(),
        base_dir=str(scenario.base_dir),
        name=scenario.name,
        solver=solver,
        time_limit=time_limit,
        gap=gap,
        relax=relax,
        diagnose=diagnose,
        workloads=tuple(scenario.workload_names),
        label=label,
        token=uuid.uuid4().hex,
        files={**scenario.input_files, **rules.contents},
        limits=limits.current(),
    )


def dask_option(dask: Any, client: Any) -> Any:
    """The ``dask`` option, taking the deprecated ``client=`` keyword of sweep and frontier."""
    if client is None:
        return dask
    warnings.warn("client= is deprecated: pass the Dask client (or an address, or 'local') "
                  "as dask=", DeprecationWarning, stacklevel=3)
    if dask is not None:
        raise InputError("both dask= and client= given", expected="dask= only")
    return client
