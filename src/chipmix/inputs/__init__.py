"""Layer 1, inputs: the user's files read and validated into pydantic records.

- :mod:`.yamlio` — the safe, bounded YAML reader every input file goes through;
- :mod:`.catalog` — accelerator catalogs (CSV / XLSX) → :class:`~.catalog.Catalog`;
- :mod:`.scenario` — the scenario YAML → :class:`~.scenario.Scenario`;
- :mod:`.overrides` — ``--set key.path=value`` on raw scenario data, typed by the schema;
- :mod:`.risks` — the scenario's ``risks:`` block (for ``chipmix stress``);
- :mod:`.schema` — pydantic type helpers shared by the scenario's error paths and overrides.

Nothing here imports a solver, the model or anything downstream.
"""
