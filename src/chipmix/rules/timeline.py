"""The export-control timeline: which status a SKU has on a day, and why.

For one SKU on one day (``rules.md``): take the rule sets in force for the buyer's market
(effective ≤ day, day < until, not replaced by a set effective on or before the day), fold each
authority's controls in effective-date order — a normal control raises the status to at least
its own, a ``relax`` control sets it (with its fee and cap) — and take the most restrictive
status over authorities. Every control that fired is kept as a :class:`Reason`.

Decisions only change on rule-set dates, so the timeline computes those dates once and caches
one decision per (SKU, interval between dates).
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal, cast

import pandas as pd

from chipmix.errors import InputError, unknown_name_hint
from chipmix.inputs.catalog import release_date
from chipmix.inputs.yamlio import MAX_NUMBER
from chipmix.rules.conditions import OneOf, Outcome
from chipmix.rules.metrics import derive_metrics
from chipmix.rules.ruleset import Control, RuleSet, Status, floor_text, load_rulesets

UnknownPolicy = Literal["strict", "lenient"]
UNKNOWN_POLICIES = ("strict", "lenient")
#: Buyer types every scenario may use; rule sets may name more (``buyers:`` / ``buyer:``).
BUYERS = ("private", "state_funded", "soe")


@dataclass(frozen=True)
class Reason:
    """One control that fired for a SKU: ``us-2023-10 / 3A090.a datacenter: tpp 4992 ≥ 4800``."""

    rule: str
    control: str
    status: Status
    detail: str

    def __str__(self) -> str:
        return f"{self.rule} / {self.control}: {self.detail}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "control": self.control,
            "status": self.status.name,
            "detail": self.detail,
        }


@dataclass(frozen=True)
class Decision:
    """What the rules in force say about one SKU on one day.

    ``status`` — the most restrictive status over authorities; ``reasons`` — every control that
    fired, in fold order; ``fee`` — the rules' own price share (0.25 = +25 %; fees of different
    authorities add); ``cap`` — units per quarter (the smallest binds; None = no cap);
    ``unknown`` — catalog columns whose absence left some control undecided (counted as fired
    under ``strict``, not under ``lenient``), listed only when filling them in could change the
    terms; ``decisive`` — the reason that set the final status
    (None when nothing restricts the SKU); ``issued`` — False when the status is ``license``
    and licences are not being issued (a rule said ``issued: false``): nothing can be bought
    whatever the scenario's licence policy.
    """

    status: Status = Status.allowed
    reasons: tuple[Reason, ...] = ()
    fee: float = 0.0
    cap: float | None = None
    unknown: tuple[str, ...] = ()
    decisive: Reason | None = None
    issued: bool = True

    @property
    def terms(self) -> tuple[Status, float, float | None, bool]:
        """(status, fee, cap, issued): decisions with equal terms are the same for the planner."""
        return (self.status, self.fee, self.cap, self.issued)

    @property
    def licensable(self) -> bool:
        """True when a licence policy of ``allow`` can buy the SKU (licences are issued)."""
        return self.status is Status.license and self.issued

    def same_terms(self, other: Decision) -> bool:
        return self.terms == other.terms

    def why(self) -> str:
        """All reasons as one line ("" when allowed for lack of any fired control)."""
        return "; ".join(str(r) for r in self.reasons)

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status.name,
            "fee": self.fee,
            "cap": self.cap,
            "issued": self.issued,
            "rule": self.decisive.rule if self.decisive else None,
            "control": self.decisive.control if self.decisive else None,
            "reasons": [r.to_dict() for r in self.reasons],
            "unknown": list(self.unknown),
        }


@dataclass(frozen=True)
class Change:
    """The decision for a SKU changes on ``day`` from ``before`` to ``after``."""

    day: dt.date
    before: Decision
    after: Decision

    @property
    def status(self) -> Status:
        return self.after.status

    def to_dict(self) -> dict[str, Any]:
        return {
            "date": self.day.isoformat(),
            "from": self.before.status.name,
            "to": self.after.status.name,
            "decision": self.after.to_dict(),
        }


@dataclass
class _Fold:
    status: Status = Status.allowed
    fee: float = 0.0
    cap: float | None = None
    decisive: Reason | None = None
    issued: bool = True


@dataclass(frozen=True)
class Floor:
    """A domestic-share floor in force for the timeline's buyer.

    ``floor`` of ``of`` (purchases | fleet | use), counted in ``basis`` (units | compute |
    spend), from rule set ``rule``.
    """

    rule: str
    id: str
    floor: float
    of: str
    basis: str

    def __str__(self) -> str:
        return f"{self.rule} / {self.id}: {floor_text(self.floor, self.of, self.basis)}"

    def to_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "id": self.id, "floor": self.floor, "of": self.of,
                "basis": self.basis}


def as_date(value: Any, what: str = "date") -> dt.date:
    """A date from a date, datetime or 'YYYY-MM-DD' text; InputError otherwise."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, pd.Timestamp):
        day: dt.date = value.date()
        return day
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise InputError(field=what, value=value, expected="a date YYYY-MM-DD")


def _min_cap(a: float | None, b: float | None) -> float | None:
    if a is None:
        return b
    if b is None:
        return a
    return min(a, b)


class Timeline:
    """Export-control status of every SKU of a catalog frame over time, for one buyer.

    Parameters
    ----------
    rulesets
        Rule sets (:class:`RuleSet`), or ids / paths for :func:`load_rulesets`.
    frame
        Catalog frame indexed by SKU id (``Catalog.frame``); derived metrics are added.
    home
        The buyer's market (ISO code, e.g. ``CN``): only rule sets that apply to it bind.
    buyer
        Buyer type (``private``, ``state_funded``, ``soe`` or one a rule set names).
    unknown_policy
        ``strict``: a control whose condition is unknown (empty catalog cell) counts as fired
        when that is the more restrictive outcome; ``lenient``: when it is the less restrictive.
    params
        Overrides of rule-set parameters by name (e.g. ``h20_class_memory_bw_gbps``).
    """

    def __init__(
        self,
        rulesets: Iterable[RuleSet | str | Any],
        frame: pd.DataFrame,
        *,
        home: str,
        buyer: str,
        unknown_policy: UnknownPolicy = "strict",
        params: Mapping[str, Any] | None = None,
    ) -> None:
        items = list(rulesets)
        self.rulesets: list[RuleSet] = (
            cast(list[RuleSet], items) if all(isinstance(r, RuleSet) for r in items)
            else load_rulesets(items)
        )
        if not isinstance(home, str) or not home.strip():
            raise InputError(field="home", value=home, expected="a market code like CN")
        self.home = home.strip().upper()
        if unknown_policy not in UNKNOWN_POLICIES:
            raise InputError(
                field="unknown_policy",
                value=unknown_policy,
                expected="strict | lenient",
                hint=unknown_name_hint(str(unknown_policy), UNKNOWN_POLICIES),
            )
        self.unknown_policy: UnknownPolicy = unknown_policy
        self.buyer = self._check_buyer(buyer)
        self.params, self._params = self._resolve_params(params or {})
        self.frame = derive_metrics(frame)
        if self.frame.index.has_duplicates:
            dup = self.frame.index[self.frame.index.duplicated()][0]
            raise InputError(field="sku", value=dup, expected="unique SKU ids in the catalog frame")
        self._order = {rs.id: i for i, rs in enumerate(self.rulesets)}
        self.binding = [rs for rs in self.rulesets if rs.binds(self.home)]
        dates: set[dt.date] = set()
        for rs in self.binding:
            dates.add(rs.effective)
            if rs.until is not None:
                dates.add(rs.until)
        binding_ids = {rs.id for rs in self.binding}
        for rs in self.rulesets:
            if binding_ids.intersection(rs.replaces):
                dates.add(rs.effective)
        #: Days on which the set of rule sets in force may change, ascending.
        self.change_dates: list[dt.date] = sorted(dates)
        self._in_force = [self._compute_in_force(d) for d in self.change_dates]
        self._rows: dict[str, dict[str, Any]] = {}
        self._cache: dict[tuple[str, int], Decision] = {}

    # ------------------------------------------------------------------ setup helpers

    def _check_buyer(self, buyer: str) -> str:
        known = set(BUYERS)
        for rs in self.rulesets:
            for c in rs.controls:
                known.update(c.buyers or ())
                for node in c.when.walk():
                    if isinstance(node, OneOf) and node.metric == "buyer":
                        known.update(node.values)
        if not isinstance(buyer, str) or buyer.strip() not in known:
            raise InputError(
                field="buyer",
                value=buyer,
                expected="a buyer type: " + ", ".join(sorted(known)),
                hint=unknown_name_hint(str(buyer), known),
            )
        return buyer.strip()

    def _resolve_params(
        self, overrides: Mapping[str, Any]
    ) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
        declared: dict[str, float] = {}
        first: dict[str, RuleSet] = {}
        for rs in self.rulesets:
            for name, p in rs.params.items():
                if name in declared and declared[name] != p.default:
                    # a parameter name is one threshold: every set that declares it must agree
                    raise InputError(
                        message=f"parameter '{name}' has default {declared[name]:g} in rule set "
                        f"'{first[name].id}'",
                        file=rs.path, location=f"params.{name}.default", value=p.default,
                        expected=f"the same default ({declared[name]:g}), or another name",
                    )
                declared.setdefault(name, p.default)
                first.setdefault(name, rs)
        values: dict[str, float] = {}
        for name, raw in overrides.items():
            if name not in declared:
                raise InputError(
                    message="unknown rule parameter",
                    field="params",
                    value=name,
                    hint=unknown_name_hint(name, declared)
                    if declared
                    else "the loaded rule sets declare no parameters",
                )
            try:
                value = float(raw)
            except (TypeError, ValueError):
                raise InputError(field=f"params.{name}", value=raw, expected="a number") from None
            if value != value or isinstance(raw, bool) or abs(value) > MAX_NUMBER:  # nan, inf
                raise InputError(field=f"params.{name}", value=raw,
                                 expected=f"a finite number of magnitude <= {MAX_NUMBER:g}")
            values[name] = value
        per_set = {
            rs.id: {name: values.get(name, p.default) for name, p in rs.params.items()}
            for rs in self.rulesets
        }
        return {**declared, **values}, per_set

    def _compute_in_force(self, day: dt.date) -> list[RuleSet]:
        replaced = {rid for rs in self.rulesets if rs.effective <= day for rid in rs.replaces}
        active = [rs for rs in self.binding if rs.active_on(day) and rs.id not in replaced]
        return sorted(active, key=lambda rs: (rs.effective, self._order[rs.id]))

    def _row(self, sku: str) -> dict[str, Any]:
        row = self._rows.get(sku)
        if row is None:
            if sku not in self.frame.index:
                raise InputError(
                    message="unknown SKU",
                    field="sku",
                    value=sku,
                    hint=unknown_name_hint(str(sku), map(str, self.frame.index)),
                )
            columns = self.__dict__.get("_columns")
            if columns is None:  # every column as an array once (not one .loc per SKU)
                columns = self._columns = [(str(c), self.frame[c].to_numpy())
                                           for c in self.frame.columns]
            i = self.frame.index.get_loc(sku)
            # the same cells as ``frame.loc[sku]`` (numpy scalars, objects)
            row = {name: values[i] for name, values in columns}
            row["sku"] = sku
            row["buyer"] = self.buyer
            self._rows[sku] = row
        return row

    # ------------------------------------------------------------------ queries

    @property
    def skus(self) -> list[str]:
        return [str(s) for s in self.frame.index]

    def in_force(self, day: dt.date | str) -> list[RuleSet]:
        """Rule sets in force for the market on ``day``, in fold order."""
        idx = bisect.bisect_right(self.change_dates, as_date(day)) - 1
        return list(self._in_force[idx]) if idx >= 0 else []

    def decide(self, sku: str, day: dt.date | str) -> Decision:
        """The decision for ``sku`` on ``day``."""
        day = as_date(day)
        row = self._row(sku)
        idx = bisect.bisect_right(self.change_dates, day) - 1
        key = (sku, idx)
        decision = self._cache.get(key)
        if decision is None:
            in_force = self._in_force[idx] if idx >= 0 else []
            decision = self._fold(row, in_force, self.unknown_policy)
            if decision.unknown:
                # report missing columns only when filling them in could change the terms
                other: UnknownPolicy = "lenient" if self.unknown_policy == "strict" else "strict"
                if self._fold(row, in_force, other).terms == decision.terms:
                    decision = replace(decision, unknown=())
            self._cache[key] = decision
        return decision

    def segments(
        self,
        sku: str,
        start: dt.date | str,
        end: dt.date | str,
        *,
        by_reason: bool = False,
    ) -> list[tuple[dt.date, dt.date, Decision]]:
        """Maximal runs ``[seg_start, seg_end)`` within ``[start, end)`` of equal terms.

        Each run carries the decision on its first day. With ``by_reason`` runs also split
        where the deciding control changes (for showing why, not for planning).
        """
        start, end = as_date(start, "start"), as_date(end, "end")
        if not start < end:
            raise InputError(
                field="end",
                value=end.isoformat(),
                expected=f"a date after start {start.isoformat()}",
            )
        days = [start, *(d for d in self.change_dates if start < d < end)]
        out: list[tuple[dt.date, dt.date, Decision]] = []
        for day in days:
            decision = self.decide(sku, day)
            if out and out[-1][2].same_terms(decision):
                last = out[-1][2].decisive
                now = decision.decisive
                if not by_reason or (last and (last.rule, last.control)) == (
                    now and (now.rule, now.control)
                ):
                    continue
            if out:
                out[-1] = (out[-1][0], day, out[-1][2])
            out.append((day, end, decision))
        return out

    def changes(self, sku: str, start: dt.date | str, end: dt.date | str) -> list[Change]:
        """Dated changes of the terms (status, fee, cap) after ``start`` and before ``end``."""
        segs = self.segments(sku, start, end)
        return [
            Change(day=b[0], before=a[2], after=b[2]) for a, b in zip(segs, segs[1:], strict=False)
        ]

    def floors(self, day: dt.date | str) -> list[Floor]:
        """Domestic-share floors in force on ``day`` for the timeline's buyer, in fold order."""
        return [
            Floor(rs.id, f.id, f.floor, f.of, f.basis)
            for rs in self.in_force(day)
            for f in rs.domestic_share
            if f.binds(self.buyer)
        ]

    def floor_segments(
        self, start: dt.date | str, end: dt.date | str
    ) -> list[tuple[dt.date, dt.date, list[Floor]]]:
        """Maximal runs ``[seg_start, seg_end)`` within ``[start, end)`` of equal floors."""
        start, end = as_date(start, "start"), as_date(end, "end")
        if not start < end:
            raise InputError(field="end", value=end.isoformat(),
                             expected=f"a date after start {start.isoformat()}")
        out: list[tuple[dt.date, dt.date, list[Floor]]] = []
        for day in [start, *(d for d in self.change_dates if start < d < end)]:
            floors = self.floors(day)
            if out and out[-1][2] == floors:
                continue
            if out:
                out[-1] = (out[-1][0], day, out[-1][2])
            out.append((day, end, floors))
        return out

    def release(self, sku: str) -> dt.date | None:
        """The first day ``sku`` can be bought (its catalog ``release``), or None if unknown."""
        return release_date(self._row(sku).get("release"))

    def released(self, sku: str, day: dt.date | str) -> bool | None:
        """Whether ``sku`` is released on ``day`` (None when its release is unknown).

        Rules classify a part before it exists; a status dated before the release describes a
        part nobody can buy yet, and ``classify`` / ``timeline`` flag it.
        """
        first = self.release(sku)
        return None if first is None else as_date(day) >= first

    # ------------------------------------------------------------------ the fold

    @staticmethod
    def _fires_if_unknown(control: Control, state: _Fold, policy: UnknownPolicy) -> bool:
        # strict: count an undecided control as fired when that is at least as restrictive;
        # lenient: only when firing would loosen the terms (a relax control). A relaxation to
        # the same status that starts issuing licences loosens too.
        current = state.status
        loosens = control.mode == "relax" and (
            control.status < current
            or (control.status == current and control.issued and not state.issued)
        )
        if policy == "strict":
            return control.status >= current and not loosens
        return loosens

    def _fold(
        self, row: Mapping[str, Any], in_force: list[RuleSet], policy: UnknownPolicy
    ) -> Decision:
        folds: dict[str, _Fold] = {}
        reasons: list[Reason] = []
        unknown: list[str] = []
        buyer = self.buyer.casefold()
        for rs in in_force:
            params = self._params[rs.id]
            scope = self._outcome(row, rs, -1, params)
            if scope.value is False:
                continue
            state = folds.setdefault(rs.authority, _Fold())
            for i, control in enumerate(rs.controls):
                if control.buyers is not None and buyer not in {
                    b.casefold() for b in control.buyers
                }:
                    continue
                out = self._outcome(row, rs, i, params)
                value = out.value
                missing = out.missing
                if scope.value is None and value is not False:
                    value, missing = None, (*scope.missing, *missing)
                if value is True:
                    detail = ", ".join(out.facts)
                elif value is None:
                    unknown.extend(missing)
                    if not self._fires_if_unknown(control, state, policy):
                        continue
                    facts = ", ".join(out.facts) or ", ".join(f"{m} unknown" for m in missing)
                    detail = f"{facts} (undecided: counted as fired, unknown_policy {policy})"
                else:
                    continue
                reason = Reason(rs.id, control.id, control.status, detail)
                reasons.append(reason)
                self._apply(state, control, reason)
        final = _Fold()
        fee, cap = 0.0, None
        for state in folds.values():
            fee += state.fee
            cap = _min_cap(cap, state.cap)
            if state.status > final.status or (
                state.status == final.status and final.decisive is None
            ):
                final = state
        # licences are issued only if every authority that requires one issues it
        issued = final.status is not Status.license or all(
            s.issued for s in folds.values() if s.status is Status.license
        )
        if final.status is Status.denied:  # nothing is bought: terms are moot
            fee, cap = 0.0, None
        return Decision(
            status=final.status,
            reasons=tuple(reasons),
            fee=fee,
            cap=cap,
            unknown=tuple(dict.fromkeys(unknown)),
            decisive=final.decisive,
            issued=issued,
        )

    def _outcome(self, row: Mapping[str, Any], rs: RuleSet, i: int,
                 params: Mapping[str, Any]) -> Outcome:
        """A control's condition (``i``) or the rule set's ``items`` scope (``i = -1``) on a row.

        The outcome depends on the row, the buyer and the parameters, never on the date, so
        it is evaluated once per SKU and reused by every interval's fold.
        """
        cache = self.__dict__.setdefault("_outcomes", {})
        key = (row["sku"], rs.id, i)
        out: Outcome | None = cache.get(key)
        if out is None:
            if i < 0:
                out = rs.items.evaluate(row, params) if rs.items is not None else Outcome(True)
            else:
                out = rs.controls[i].when.evaluate(row, params)
            cache[key] = out
        return out

    @staticmethod
    def _apply(state: _Fold, control: Control, reason: Reason) -> None:
        if control.mode == "relax" or control.status > state.status:
            state.status = control.status
            state.fee = control.fee or 0.0
            state.cap = control.cap
            state.issued = control.issued
            state.decisive = reason
        elif control.status == state.status:
            # another control at the same level: the heavier terms bind
            state.fee = max(state.fee, control.fee or 0.0)
            state.cap = _min_cap(state.cap, control.cap)
            if state.issued and not control.issued:
                state.issued = False
                state.decisive = reason  # the control that stopped the licences decides
            if state.decisive is None and control.status > Status.allowed:
                state.decisive = reason
