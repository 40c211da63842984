"""Hedges and foresight replays in a planner's words.

The terminal view of ``chipmix hedge`` and ``chipmix replay`` (money through
:mod:`chipmix.present.formatting`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from chipmix.present.formatting import money


def _buys(frame, labels: Sequence[str]) -> str:
    """``420 nvidia-h20 (2024Q2-2024Q3), 80 huawei-ascend-910b (from 2025Q2)``."""
    if not len(frame):
        return ""
    order = {p: i for i, p in enumerate(labels)}
    parts = []
    for sku, rows in frame.groupby("sku", sort=False):
        periods = sorted(set(rows["period"]), key=lambda p: order[p])
        when = periods[0] if len(periods) == 1 else f"{periods[0]}-{periods[-1]}"
        parts.append((order[periods[0]], sku, f"{int(rows['units'].sum()):,} {sku} ({when})"))
    return ", ".join(text for _, _, text in sorted(parts))


def _recourse(frame, before: set[str], labels: Sequence[str]) -> str:
    """Word a scenario's recourse purchases; SKUs not bought before are a switch.

    ``switch to huawei-ascend-910c from 2025Q2 (1,000 units), buy 800 more nvidia-h20
    (2024Q3-2025Q1)``.
    """
    order = {p: i for i, p in enumerate(labels)}
    parts = []
    for sku, rows in frame.groupby("sku", sort=False):
        periods = sorted(set(rows["period"]), key=lambda p: order[p])
        n = int(rows["units"].sum())
        if sku in before:
            when = periods[0] if len(periods) == 1 else f"{periods[0]}-{periods[-1]}"
            parts.append((order[periods[0]], f"buy {n:,} more {sku} ({when})"))
        else:
            parts.append((order[periods[0]], f"switch to {sku} from {periods[0]} ({n:,} units)"))
    return ", ".join(text for _, text in sorted(parts))


def hedge_words(h) -> list[str]:
    """The hedge's advice, one sentence a line."""
    if not h.ok:
        return [f"No plan holds in every scenario ({h.status.value})."] + list(h.notes)
    labels = h.periods
    lines = []
    head = h.here_and_now_periods
    reveal = labels[head[-1] + 1] if head and head[-1] + 1 < len(labels) else None
    now = _buys(h.here_and_now, labels)
    when = f"before {reveal}, when the first outcome is known" if reveal else \
        "(nothing is revealed within the horizon)"
    lines.append(f"Buy now, {when}: {now}." if now else f"Buy nothing {when}.")
    if reveal is not None:
        lines.extend(_recourse_lines(h, labels, [labels[t] for t in head]))
    det = h.deterministic or {}
    if not math.isnan(det.get("expected_cost", math.nan)):
        diff = [(r.cost - r.deterministic, r) for r in h.results]
        more = [(d, r) for d, r in diff if d > 0.5]
        less = [(-d, r) for d, r in diff if d < -0.5]
        bits = []
        if more:
            bits.append(f"costs {_side(more)} more than the base plan where its bet holds "
                        f"({_where(more)})")
        if less:
            bits.append(f"saves {_side(less)} where it does not ({_where(less)})")
        if bits:
            lines.append("Hedging " + " and ".join(bits) + ".")
        else:
            lines.append("The base scenario's own plan does as well in every scenario: "
                         "nothing to hedge.")
    lines.append(
        f"Expected cost {money(h.expected_cost)}, CVaR{round(h.alpha * 100):d} "
        f"{money(h.cvar)}; with hindsight {money(h.wait_and_see)} (EVPI {money(h.evpi)}: "
        f"the most a perfect forecast is worth); the base plan, re-planned in every scenario, "
        f"{money(det.get('expected_cost'))} (value of hedging {money(h.value_of_hedging)}).")
    return lines


def _recourse_lines(h, labels: Sequence[str], head: Sequence[str]) -> list[str]:
    """One line per distinct recourse: scenarios that buy the same afterwards share a line."""
    groups: dict[str, list] = {}
    for r in h.results:
        p = r.plan.purchases
        what = _recourse(p[~p["period"].isin(head)], set(h.here_and_now["sku"]), labels)
        groups.setdefault(what or "buy nothing more", []).append(r)
    lines = []
    for what, members in groups.items():
        p = sum(r.probability for r in members)
        costs = [r.cost for r in members]
        cost = money(costs[0]) if max(costs) - min(costs) < 0.5 else \
            f"{money(min(costs))} to {money(max(costs))}"
        lines.append(f"{_when(members, h.results)} (p = {p:.3g}): {what}; cost {cost}.")
    return lines


def _when(members, results) -> str:
    """``If ban = yes``, ``Whatever happens`` or the scenarios one by one (``; or``)."""
    first = members[0].outcomes
    common = {e: o for e, o in first.items() if all(r.outcomes[e] == o for r in members)}
    matching = [r for r in results if all(r.outcomes[e] == o for e, o in common.items())]
    if len(matching) == len(members):
        if not common:
            return "Whatever happens"
        return "If " + ", ".join(f"{e} = {o}" for e, o in common.items())
    return "If " + "; or ".join(_outcomes(r) for r in members)


def _side(items) -> str:
    """The probability-weighted mean difference of ``items`` ((difference, result) pairs)."""
    p = sum(r.probability for _, r in items)
    mean = sum(d * r.probability for d, r in items) / p if p > 0 else \
        sum(d for d, _ in items) / len(items)
    return money(mean) + (" on average" if len(items) > 1 else "")


def _where(items) -> str:
    p = sum(r.probability for _, r in items)
    if len(items) == 1:
        return f"p = {p:.3g}: {_outcomes(items[0][1])}"
    d, r = max(items, key=lambda x: x[0])
    return f"p = {p:.3g}; at most {money(d)}, if {_outcomes(r)}"


def _outcomes(r) -> str:
    return ", ".join(f"{e} = {o}" for e, o in r.outcomes.items())


def replay_words(r) -> list[str]:
    """A foresight replay (:class:`chipmix.hedging.Replay`) in a planner's words."""
    if not r.ok:
        return [f"The {r.foresight} replay found no plan ({r.status})."]
    lines = [f"Planning {r.foresight}ally costs {money(r.objective)} against "
             f"{money(r.perfect_foresight)} with perfect foresight: regret "
             f"{money(r.regret)}."]
    for w in r.windows:
        if w.get("value") is None:
            continue
        head = (f"{w['rule']} was announced {w['announced']}, effective {w['effective']}: "
                f"knowing it {w['warning_days']} days early was worth ")
        if w["within_gap"]:
            lines.append(head + f"nothing measurable ({money(w['value'])}, within the "
                         f"solver's gap of ±{money(w['tolerance'])}).")
        else:
            lines.append(head + f"{money(w['value'])}.")
    return lines


__all__ = ["hedge_words", "replay_words"]
