"""Classify every SKU of some catalogs under some rule sets on one day."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, cast

import pandas as pd

from chipmix.inputs.catalog import bundled_catalogs, load_catalogs
from chipmix.rules.metrics import METRIC_BOUNDS, fmt_number, is_unknown, numeric_metrics
from chipmix.rules.ruleset import RuleSet, load_rulesets
from chipmix.rules.timeline import Timeline, UnknownPolicy, as_date

#: Columns of :func:`classify`, in order.
COLUMNS = (
    "sku",
    "vendor",
    "origin",
    "datacenter",
    "tpp",
    "performance_density",
    "io_gbps",
    "memory_bw_gbps",
    "status",
    "rule",
    "control",
    "margin",
    "reasons",
    "fee",
    "cap",
    "issued",
    "unknown",
    "tpp_tf32_flag",
    "bounds",
    "release",
    "released",
)


def load_frame(catalogs: Any = None) -> pd.DataFrame:
    """A catalog frame from bundled names / paths (None = every bundled catalog).

    Also accepts a ``Catalog`` (its ``.frame``) or a DataFrame indexed by SKU id.
    """
    if isinstance(catalogs, pd.DataFrame):
        return catalogs
    if catalogs is not None and hasattr(catalogs, "frame"):
        return catalogs.frame

    if catalogs is None:
        sources: list[str | Path] = list(bundled_catalogs())
    elif isinstance(catalogs, (str, Path)):
        sources = [catalogs]
    else:
        sources = catalogs  # load_catalogs checks it is a list of names or paths
    return load_catalogs(sources).frame


def _rulesets(rules: Any) -> list[RuleSet]:
    if isinstance(rules, Iterable) and not isinstance(rules, (str, Path)):
        rules = list(rules)
        if rules and all(isinstance(r, RuleSet) for r in rules):
            return cast(list[RuleSet], rules)
    return load_rulesets(rules)


def margin(timeline: Timeline, sku: str, day: dt.date) -> str | None:
    """The nearest threshold to the SKU's own figures among the rules in force on ``day``.

    E.g. ``"tpp 4707.2: 1.9 % below 4800"``. Only comparisons of controls that can bind this
    SKU and buyer count (their rule set's ``items`` and the control's ``buyers`` allow it).
    """
    row = timeline._row(sku)
    numeric = numeric_metrics()
    categorical = {k: (None if k in numeric else v) for k, v in row.items()}
    best: tuple[float, str] | None = None
    for rs in timeline.in_force(day):
        params = timeline._params[rs.id]
        if rs.items is not None and rs.items.evaluate(row, params).value is False:
            continue
        for control in rs.controls:
            if control.buyers is not None and timeline.buyer.casefold() not in {
                b.casefold() for b in control.buyers
            }:
                continue
            # a control the row's own kind rules out (a datacenter-only control for a gaming
            # card) has no threshold worth showing, whatever the row's numbers
            if control.when.evaluate(categorical, params).value is False:
                continue
            for cmp in control.when.comparisons():
                value = row.get(cmp.metric)
                if is_unknown(value):
                    continue
                limit = cmp.resolve(params)
                if not limit > 0:
                    continue
                assert value is not None  # unknown figures were skipped
                rel = (float(value) - limit) / limit
                if best is not None and abs(rel) >= best[0]:
                    continue
                shown = fmt_number(value)
                if rel == 0:
                    text = f"{cmp.metric} {shown}: at {fmt_number(limit)}"
                else:
                    side = "above" if rel > 0 else "below"
                    pct = f"{abs(rel) * 100:.1f} %"
                    text = f"{cmp.metric} {shown}: {pct} {side} {fmt_number(limit)}"
                best = (abs(rel), text)
    return best[1] if best else None


def classify(
    catalogs: Any = None,
    rules: Any = None,
    at: dt.date | str | None = None,
    home: str = "CN",
    buyer: str = "private",
    params: Mapping[str, Any] | None = None,
    unknown_policy: UnknownPolicy = "strict",
) -> pd.DataFrame:
    """Export-control status of every SKU on day ``at`` (default: today) for one buyer.

    Parameters
    ----------
    catalogs
        Bundled catalog names or CSV paths (None = every bundled catalog), a ``Catalog`` or a
        catalog DataFrame indexed by id.
    rules
        Rule-set ids, file or folder paths, or :class:`RuleSet` objects (None = every bundled).
    at, home, buyer, params, unknown_policy
        As for :class:`Timeline`.

    Returns
    -------
    DataFrame, one row per SKU: ``sku, vendor, origin, datacenter, tpp, performance_density,
    io_gbps, memory_bw_gbps`` (NaN = unknown), ``status`` (allowed | notify | license |
    denied), ``rule``/``control`` (what set the status), ``margin`` (nearest threshold),
    ``reasons`` (list of {rule, control, status, detail}), ``fee``, ``cap``, ``issued`` (False:
    a licence is required and none is being issued), ``unknown`` (missing columns),
    ``tpp_tf32_flag``, ``bounds`` ({metric: "< 4800"} for figures known only as a bound),
    ``release`` (the catalog's, or None) and ``released`` (False: the status is dated before
    the part exists; None: release unknown). ``attrs`` holds the date, market, buyer,
    parameters, the rule sets in force and the domestic-share floors in force for the buyer.

    Raises
    ------
    InputError
        An unknown catalog or rule set, a bad file, an impossible date; ArgumentError (also a
        ``TypeError``) for an argument of the wrong kind.
    """
    frame = load_frame(catalogs)
    day = dt.date.today() if at is None else as_date(at, "at")
    timeline = Timeline(
        _rulesets(rules),
        frame,
        home=home,
        buyer=buyer,
        unknown_policy=unknown_policy,
        params=params,
    )
    derived = timeline.frame
    records = []
    for sku in timeline.skus:
        d = timeline.decide(sku, day)
        row = derived.loc[sku]
        bounds = row.get(METRIC_BOUNDS)
        release = row.get("release")
        records.append(
            {
                "sku": sku,
                "vendor": row.get("vendor"),
                "origin": row.get("origin"),
                "datacenter": (
                    None if is_unknown(row.get("datacenter")) else bool(row["datacenter"])
                ),
                "tpp": row["tpp"],
                "performance_density": row["performance_density"],
                "io_gbps": row["io_gbps"],
                "memory_bw_gbps": row["memory_bw_gbps"],
                "status": d.status.name,
                "rule": d.decisive.rule if d.decisive else None,
                "control": d.decisive.control if d.decisive else None,
                "margin": margin(timeline, sku, day),
                "reasons": [r.to_dict() for r in d.reasons],
                "fee": d.fee,
                "cap": d.cap,
                "issued": d.issued,
                "unknown": list(d.unknown),
                "tpp_tf32_flag": bool(row["tpp_tf32_flag"]),
                "bounds": (
                    {m: iv.text() for m, iv in bounds.items()} if isinstance(bounds, dict) else {}
                ),
                "release": None if is_unknown(release) else str(release),
                "released": timeline.released(sku, day),
            }
        )
    out = pd.DataFrame.from_records(records, columns=list(COLUMNS))
    for col in ("tpp", "performance_density", "io_gbps", "memory_bw_gbps", "fee"):
        out[col] = out[col].astype("float64")
    out.attrs.update(
        {
            "at": day.isoformat(),
            "home": timeline.home,
            "buyer": timeline.buyer,
            "unknown_policy": timeline.unknown_policy,
            "params": dict(timeline.params),
            "rules_in_force": [rs.id for rs in timeline.in_force(day)],
            "share_floors": [f.to_dict() for f in timeline.floors(day)],
        }
    )
    return out


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows of a :func:`classify` frame as JSON-ready dicts (NaN -> None)."""
    out = []
    for rec in frame.to_dict(orient="records"):
        out.append(
            {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in rec.items()}
        )
    return out
