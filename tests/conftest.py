"""Fixtures shared by the test modules; plain helpers are in ``helpers.py``."""

from __future__ import annotations

import pytest
from helpers import PLANNER_SOLVERS


@pytest.fixture(params=PLANNER_SOLVERS)
def planner_solver(request) -> str:
    """Each hand-solved case runs once per solver."""
    return request.param
