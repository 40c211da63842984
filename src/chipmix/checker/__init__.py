"""Layer 6, the independent plan checker: ``verify(plan, scenario)``.

It recomputes every constraint and the cost of a plan from the inputs (scenario, catalogs,
rules) without the model code: it imports only the base, inputs and rules layers
(``tests/test_layers.py`` enforces it).
"""

from chipmix.checker.verifier import Parameters, VerifyReport, derive_parameters, verify

__all__ = ["Parameters", "VerifyReport", "derive_parameters", "verify"]
