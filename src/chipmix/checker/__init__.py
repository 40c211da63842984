"""Layer 6, the independent plan checker: ``verify(plan, scenario)``.

It recomputes every constraint and the cost of a plan from the inputs (scenario, catalogs,
rules) without the model code: it imports only the base, inputs and rules layers
(``tests/test_layers.py`` enforces it).

- :mod:`.verifier` — ``verify()``: the checks in order, the recomputed figures;
- :mod:`.params` — every model parameter derived from the inputs;
- :mod:`.purchases`, :mod:`.fleet`, :mod:`.demand`, :mod:`.porting`, :mod:`.policies`,
  :mod:`.availability`, :mod:`.costs` — one module per table of the plan;
- :mod:`.report` — :class:`VerifyReport` and the tolerances.
"""

from chipmix.checker.params import Parameters, derive_parameters
from chipmix.checker.report import VerifyReport
from chipmix.checker.verifier import verify

__all__ = ["Parameters", "VerifyReport", "derive_parameters", "verify"]
