"""Layer 8, presentation: files a person reads (charts, table exports, HTML reports).

- :mod:`.formatting` — the one money / percent / number formatter (terminal, HTML, charts);
- :mod:`.charts` — matplotlib charts (Agg, no display): plan, compare, sweep, frontier, stress;
- :mod:`.export` — tables to JSON / CSV / Parquet / XLSX by extension, atomically;
- :mod:`.svg`, :mod:`.html` — inline-SVG charts and the building blocks of the HTML reports;
- :mod:`.plan_report`, :mod:`.study_report` — the self-contained HTML reports.
"""
