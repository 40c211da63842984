"""Planning under uncertainty: hedges (stochastic programs) and foresight replays.

- :func:`hedge` — the purchase plan that holds up across the scenarios of an
  ``uncertainty:`` block (or draws from ``risks:``): the extensive form built by the ordinary
  model builder, stacked and tied by non-anticipativity, with a CVaR risk measure
  (:mod:`chipmix.hedging.extensive`); reports here-and-now purchases, each scenario's plan,
  expected cost, CVaR, wait-and-see, EVPI and the value of hedging (:class:`Hedge`).
- :func:`replay` — myopic planning period by period with only the rules announced by then.

The package is ``hedging`` so that ``chipmix.hedge`` stays the function on the facade.
See ``docs/hedging.md``.
"""

from __future__ import annotations

from chipmix.hedging.core import Hedge, ScenarioResult, hedge
from chipmix.hedging.replay import Replay, replay
from chipmix.hedging.tree import ScenarioTree, TreeScenario

__all__ = ["Hedge", "Replay", "ScenarioResult", "ScenarioTree", "TreeScenario", "hedge",
           "replay"]
