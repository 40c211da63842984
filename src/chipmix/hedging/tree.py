"""The scenario tree of a hedge: scenarios, their probabilities, and who can tell them apart.

A hedge's scenarios are every combination of its events' outcomes (``uncertainty:``), or
sampled draws that all reveal themselves in one period (``--draws``). What the stochastic
program needs from the tree is, per period ``t``, which scenarios are still
*indistinguishable*: they agree on the outcome of every event known by ``t``
(``known_from ≤ t``), so their decisions in ``t`` must be equal (non-anticipativity).
That is :meth:`ScenarioTree.groups`.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class TreeScenario:
    """One scenario: its name (``event=outcome,...``), outcomes and probability."""

    name: str
    outcomes: dict[str, str]
    probability: float


@dataclass
class ScenarioTree:
    """Scenarios and, per period, what has been revealed in each.

    ``signatures[s][t]`` is what scenario ``s`` has revealed by period ``t`` (hashable);
    scenarios with equal signatures at ``t`` share their decisions at ``t``. Signatures only
    refine over time (two scenarios told apart at ``t`` stay apart later).
    """

    scenarios: list[TreeScenario]
    periods: list[str]
    signatures: Sequence[Sequence[Hashable]]
    reveals: dict[str, str] = field(default_factory=dict)  # event -> period it is known from

    def __post_init__(self) -> None:
        if len(self.signatures) != len(self.scenarios):
            raise ValueError("one signature row per scenario")

    def __len__(self) -> int:
        return len(self.scenarios)

    @property
    def probabilities(self) -> list[float]:
        return [s.probability for s in self.scenarios]

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.scenarios]

    def groups(self, t: int) -> list[list[int]]:
        """Scenarios indistinguishable at period ``t`` (each group in scenario order)."""
        out: dict[Hashable, list[int]] = {}
        for s, row in enumerate(self.signatures):
            out.setdefault(row[t], []).append(s)
        return list(out.values())

    @property
    def first_reveal(self) -> int:
        """First period in which some scenarios can be told apart (``T``: never)."""
        for t in range(len(self.periods)):
            if len(self.groups(t)) > 1:
                return t
        return len(self.periods)

    @property
    def here_and_now_periods(self) -> list[int]:
        """Periods whose decisions every scenario shares (before the first reveal)."""
        return list(range(self.first_reveal)) if len(self) > 1 else list(range(len(self.periods)))

    def components(self, start: int) -> list[list[int]]:
        """Scenarios still linked by non-anticipativity from period ``start`` on.

        With every decision before ``start`` fixed, each component is an independent
        problem.
        """
        parent = list(range(len(self)))

        def find(i: int) -> int:
            while parent[i] != i:
                parent[i] = parent[parent[i]]
                i = parent[i]
            return i

        for t in range(start, len(self.periods)):
            for group in self.groups(t):
                for other in group[1:]:
                    a, b = find(group[0]), find(other)
                    if a != b:
                        parent[max(a, b)] = min(a, b)
        out: dict[int, list[int]] = {}
        for s in range(len(self)):
            out.setdefault(find(s), []).append(s)
        return list(out.values())

    def subtree(self, members: Sequence[int]) -> ScenarioTree:
        """The tree of ``members`` only (probabilities kept, not renormalised)."""
        return ScenarioTree([self.scenarios[s] for s in members], list(self.periods),
                            [self.signatures[s] for s in members], dict(self.reveals))

    # -- construction -----------------------------------------------------------------------

    @classmethod
    def from_events(cls, events, periods: Sequence[str]) -> ScenarioTree:
        """Every combination of the events' outcomes (events in order, outcomes in order).

        ``events`` are :class:`chipmix.inputs.uncertainty.Event`; an event is known in period ``t``
        when ``known_from ≤ t``.
        """
        labels = [str(p) for p in periods]
        known_at = [labels.index(str(e.known_from)) for e in events]
        scenarios, signatures = [], []
        for combo in itertools.product(*(e.outcomes for e in events)):
            outcomes = {e.name: o.name for e, o in zip(events, combo, strict=True)}
            name = ",".join(f"{e}={o}" for e, o in outcomes.items())
            probability = math.prod(o.probability for o in combo)
            scenarios.append(TreeScenario(name, outcomes, probability))
            signatures.append([
                tuple(o.name if known_at[i] <= t else None for i, o in enumerate(combo))
                for t in range(len(labels))
            ])
        return cls(scenarios, labels, signatures,
                   {e.name: str(e.known_from) for e in events})

    @classmethod
    def two_stage(cls, names: Sequence[str], probabilities: Sequence[float],
                  periods: Sequence[str], reveal: int,
                  outcomes: Sequence[dict[str, str]] | None = None) -> ScenarioTree:
        """Scenarios that look alike before period ``reveal`` and are all known from it on."""
        labels = [str(p) for p in periods]
        outcomes = outcomes if outcomes is not None else [{"draw": n} for n in names]
        scenarios = [TreeScenario(n, dict(o), float(p))
                     for n, p, o in zip(names, probabilities, outcomes, strict=True)]
        signatures = [[None if t < reveal else s for t in range(len(labels))]
                      for s in range(len(scenarios))]
        reveals = {"draws": labels[reveal]} if reveal < len(labels) else {}
        return cls(scenarios, labels, signatures, reveals)


__all__ = ["ScenarioTree", "TreeScenario"]
