"""Helpers shared by the rules tests (no tests here): tiny catalog frames built by hand."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

DATA = Path(__file__).parent / "data"
FIXTURE_CATALOG = DATA / "rules_catalog.csv"

BASE = {
    "vendor": "Test",
    "name": "test part",
    "origin": "US",
    "datacenter": True,
    "memory_gb": 80.0,
    "memory_bw_tbps": 1.0,
    "interconnect_gbps": 0.0,
    "pcie_gbps": 0.0,
}


def frame(*rows: dict) -> pd.DataFrame:
    """A catalog frame indexed by id from partial rows (BASE fills the rest)."""
    records = [{**BASE, **row} for row in rows]
    return pd.DataFrame.from_records(records).set_index("id")


def chip(sku: str, tpp: float, pd_: float | None = None, **kw) -> dict:
    """A row with a given TPP and performance density (die area chosen to give it exactly)."""
    row = {"id": sku, "tpp": tpp, **kw}
    if pd_ is not None:
        area = tpp / pd_
        # nudge the area by an ulp or two so that tpp / area gives exactly pd_ (edges matter)
        for candidate in (area, *(math.nextafter(area, d) for d in (math.inf, -math.inf))):
            if tpp / candidate == pd_:
                area = candidate
                break
        assert math.isclose(tpp / area, pd_, rel_tol=1e-12)
        row["die_area_mm2"] = area
    else:
        row.setdefault("die_area_mm2", math.nan)
    return row


def fixture_frame() -> pd.DataFrame:
    """The reference accelerators as a catalog frame (tests/data/rules_catalog.csv)."""
    return pd.read_csv(FIXTURE_CATALOG).set_index("id")
