"""Layer 5, pipeline: prepare → build → solve, and the one parallel map used by studies.

- :mod:`.executor` — ``run_map``: in-process, a spawned process pool, or Dask.
"""
