"""Layer 8, presentation: files a person reads (charts, table exports).

- :mod:`.charts` — matplotlib charts (Agg, no display): plan, compare, sweep, frontier, stress;
- :mod:`.export` — tables to JSON / CSV / Parquet / XLSX by extension, atomically.
"""
