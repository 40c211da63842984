"""Porting: a workload served by a vendor with a porting cost is ported to it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from chipmix.checker.params import Parameters
from chipmix.checker.report import ABS_TOL, Checker, fmt, num


def check_porting(
    chk: Checker,
    params: Parameters,
    use: Mapping[tuple[str, str, int], float],
    plan_ported: Iterable[Mapping[str, Any]],
    relaxed: bool,
) -> dict[tuple[str, str], float]:
    """A workload served by vendor v with port[v,w] > 0 needs (v, w) in ``ported``.

    In a relaxed plan the porting decision z[v,w] is continuous: its ``ported`` rows carry
    ``fraction`` (the LP's z), and a served pair needs a positive fraction. Returns the ported
    pairs with their fractions (1 for a whole decision).
    """
    ported: dict[tuple[str, str], float] = {}
    for row in plan_ported:
        v, w = str(row.get("vendor")), str(row.get("workload"))
        chk.check("porting", (v, w) in params.port,
                  f"{v} {w}: listed as ported but there is no porting cost for it "
                  "(vendor already ported or not named in porting)")
        fraction = num(row.get("fraction")) if relaxed and "fraction" in row else 1.0
        fraction = 1.0 if fraction is None else fraction
        chk.check("porting", -ABS_TOL <= fraction <= 1.0 + ABS_TOL,
                  f"{v} {w}: porting fraction {fmt(fraction)} outside [0, 1]")
        ported[(v, w)] = fraction
    served: dict[tuple[str, str], tuple[str, str, float]] = {}
    for (sku, w, t), units in sorted(use.items(), key=lambda kv: (kv[0][2], kv[0][0], kv[0][1])):
        if units > ABS_TOL and sku in params.skus:
            key = (params.skus[sku].vendor, w)
            served.setdefault(key, (sku, params.labels[t], units))
    for (v, w), cost in sorted(params.port.items()):
        if (v, w) in served:
            sku, label, units = served[(v, w)]
            message = (f"{v} {w}: {fmt(units)} units of {sku} serve {w} in {label} but the "
                       f"workload is not ported to {v} (porting cost {fmt(cost)})")
            chk.check("porting", ported.get((v, w), 0.0) > 0.0, message)
    return ported


__all__ = ["check_porting"]
