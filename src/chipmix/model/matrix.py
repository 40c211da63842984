"""One sparse linear model, built from arrays: the single source of truth for every solver.

Columns (variables) and rows (constraints) are added in named blocks — ``buy[sku,period]``,
``demand[workload,period]`` — with numpy arrays for bounds, costs and coefficients; no Python
object per coefficient. Solver adapters (``chipmix.solve``) read the finished arrays.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

INF = float("inf")

#: Vector arrays of :meth:`LinearModel.arrays` -> the attribute holding their parts.
_VECTORS = {"col_lower": "_col_lower", "col_upper": "_col_upper", "cost": "_cost",
            "integer": "_integer", "row_lower": "_row_lower", "row_upper": "_row_upper"}


class Block:
    """A named block of columns or rows: ``name[key1,key2]`` for each key.

    Keys are given as a list of tuples or, on the fast path, as a tuple of equal-length
    arrays (one per key part); the tuples are only made when someone asks for them.
    """

    def __init__(self, name: str, start: int, keys: Any) -> None:
        self.name = name
        self.start = start
        self._columns: tuple[np.ndarray, ...] | None
        self._keys: list[tuple[Any, ...]] | None
        if isinstance(keys, tuple) and (not keys or isinstance(keys[0], np.ndarray)):
            self._columns = keys
            self._keys = None
            self.size = len(keys[0]) if keys else 0
        else:
            self._columns = None
            self._keys = [k if isinstance(k, tuple) else (k,) for k in keys]
            self.size = len(self._keys)

    @property
    def keys(self) -> list[tuple[Any, ...]]:
        """The keys as tuples, one per column or row (made on first use)."""
        if self._keys is None:
            assert self._columns is not None
            self._keys = list(zip(*(c.tolist() for c in self._columns), strict=True))
        return self._keys

    @property
    def stop(self) -> int:
        return self.start + self.size

    def __len__(self) -> int:
        return self.size

    def labels(self) -> list[str]:
        return [f"{self.name}[{','.join(str(k) for k in key)}]" for key in self.keys]

    def moved(self, name: str, start: int) -> Block:
        """The same keys under another name, from another first index (for stacking)."""
        return Block(name, start, self._columns if self._keys is None else self._keys)


@dataclass
class LinearModel:
    """``min c·x + c0  s.t.  row_lower ≤ A x ≤ row_upper,  col_lower ≤ x ≤ col_upper``."""

    col_blocks: dict[str, Block] = field(default_factory=dict)
    row_blocks: dict[str, Block] = field(default_factory=dict)
    _col_lower: list[np.ndarray] = field(default_factory=list)
    _col_upper: list[np.ndarray] = field(default_factory=list)
    _cost: list[np.ndarray] = field(default_factory=list)
    _integer: list[np.ndarray] = field(default_factory=list)
    _row_lower: list[np.ndarray] = field(default_factory=list)
    _row_upper: list[np.ndarray] = field(default_factory=list)
    _a_row: list[np.ndarray] = field(default_factory=list)
    _a_col: list[np.ndarray] = field(default_factory=list)
    _a_val: list[np.ndarray] = field(default_factory=list)
    num_cols: int = 0
    num_rows: int = 0
    objective_offset: float = 0.0
    _frozen: dict[str, np.ndarray] | None = None

    # -- building ---------------------------------------------------------------------------
    def add_columns(self, name: str, keys: Any, *, lower: ArrayLike = 0.0, upper: ArrayLike = INF,
                    cost: ArrayLike = 0.0, integer: bool = False) -> Block:
        """Add one block of variables; returns it (``block.start + i`` is key ``i``'s column)."""
        block = Block(name, self.num_cols, keys)
        n = block.size
        self.col_blocks[name] = block
        self._col_lower.append(np.broadcast_to(np.asarray(lower, dtype=float), (n,)).copy())
        self._col_upper.append(np.broadcast_to(np.asarray(upper, dtype=float), (n,)).copy())
        self._cost.append(np.broadcast_to(np.asarray(cost, dtype=float), (n,)).copy())
        self._integer.append(np.full(n, bool(integer)))
        self.num_cols += n
        self._frozen = None
        return block

    def add_rows(self, name: str, keys: Any, rows: ArrayLike, cols: ArrayLike, vals: ArrayLike, *,
                 lower: ArrayLike = -INF, upper: ArrayLike = INF) -> Block:
        """Add one block of constraints from COO triplets.

        ``rows`` index into ``keys`` (0-based within the block), ``cols`` are global column
        indices. Duplicate (row, col) entries are summed.
        """
        block = Block(name, self.num_rows, keys)
        n = block.size
        self.row_blocks[name] = block
        self._row_lower.append(np.broadcast_to(np.asarray(lower, dtype=float), (n,)).copy())
        self._row_upper.append(np.broadcast_to(np.asarray(upper, dtype=float), (n,)).copy())
        self._a_row.append(np.asarray(rows, dtype=np.int64) + self.num_rows)
        self._a_col.append(np.asarray(cols, dtype=np.int64))
        self._a_val.append(np.asarray(vals, dtype=float))
        self.num_rows += n
        self._frozen = None
        return block

    def add_coefficients(self, rows: ArrayLike, cols: ArrayLike, vals: ArrayLike) -> None:
        """Add entries to existing rows (global row and column indices), e.g. elastic slacks."""
        self._a_row.append(np.asarray(rows, dtype=np.int64))
        self._a_col.append(np.asarray(cols, dtype=np.int64))
        self._a_val.append(np.asarray(vals, dtype=float))
        self._frozen = None

    def set_cost(self, cost: np.ndarray) -> None:
        """Replace the objective coefficients of every column."""
        cost = np.asarray(cost, dtype=float)
        sizes = [len(c) for c in self._cost]
        self._cost = list(np.split(cost, np.cumsum(sizes)[:-1])) if sizes else []
        self._frozen = None

    def set_column_bounds(self, name: str, *, lower: Any = None, upper: Any = None) -> None:
        """Replace the lower and/or upper bounds of column block ``name``.

        Each is a value or one value per column of the block.
        """
        block = self.col_blocks[name]
        for attr, value in (("_col_lower", lower), ("_col_upper", upper)):
            if value is None:
                continue
            parts = getattr(self, attr)
            full = np.concatenate(parts) if parts else np.zeros(0)
            full[block.start : block.stop] = np.broadcast_to(
                np.asarray(value, dtype=float), (block.size,))
            sizes = [len(part) for part in parts]
            setattr(self, attr, list(np.split(full, np.cumsum(sizes)[:-1])) if sizes else [])
        self._frozen = None

    @classmethod
    def stack(cls, parts: Sequence[tuple[str, LinearModel]],
              cost_weights: Sequence[float] | np.ndarray | None = None) -> LinearModel:
        """Models side by side, block-diagonally.

        ``min Σ_i w_i·c_i·x_i`` subject to each model's own rows on its own columns.

        ``parts`` are ``(prefix, model)``; model ``i``'s blocks are renamed ``prefix + name``
        and its columns and rows follow those of model ``i − 1``
        (``stacked.col_blocks[prefix + "buy"].start``). ``cost_weights`` scale each model's
        costs and objective offset (e.g. scenario probabilities); default 1. Rows that link
        the parts (non-anticipativity, risk measures) are added afterwards with
        :meth:`add_rows`.
        """
        weights = [1.0] * len(parts) if cost_weights is None else [float(w) for w in cost_weights]
        if len(weights) != len(parts):
            raise ValueError("one cost weight per part")
        out = cls()
        lower, upper, cost, integer, row_lower, row_upper = [], [], [], [], [], []
        a_row, a_col, a_val = [], [], []
        for (prefix, model), weight in zip(parts, weights, strict=True):
            a = model.arrays()
            for name, block in model.col_blocks.items():
                key = prefix + name
                if key in out.col_blocks:
                    raise ValueError(f"column block {key!r} twice: give each part its own prefix")
                out.col_blocks[key] = block.moved(key, block.start + out.num_cols)
            for name, block in model.row_blocks.items():
                key = prefix + name
                if key in out.row_blocks:
                    raise ValueError(f"row block {key!r} twice: give each part its own prefix")
                out.row_blocks[key] = block.moved(key, block.start + out.num_rows)
            lower.append(a["col_lower"])
            upper.append(a["col_upper"])
            cost.append(a["cost"] * weight)
            integer.append(a["integer"])
            row_lower.append(a["row_lower"])
            row_upper.append(a["row_upper"])
            a_col.append(np.repeat(np.arange(model.num_cols), np.diff(a["csc_start"]))
                         + out.num_cols)
            a_row.append(a["csc_index"] + out.num_rows)
            a_val.append(a["csc_value"])
            out.num_cols += model.num_cols
            out.num_rows += model.num_rows
            out.objective_offset += weight * model.objective_offset
        for attr, pieces in (("_col_lower", lower), ("_col_upper", upper), ("_cost", cost),
                             ("_integer", integer), ("_row_lower", row_lower),
                             ("_row_upper", row_upper), ("_a_row", a_row), ("_a_col", a_col),
                             ("_a_val", a_val)):
            setattr(out, attr, [np.concatenate(pieces)] if pieces else [])
        return out

    # -- reading ----------------------------------------------------------------------------
    def arrays(self) -> dict[str, np.ndarray]:
        """Finished arrays: bounds, cost, integrality and the matrix in CSC and CSR form."""
        if self._frozen is not None:
            return self._frozen

        def cat(parts: list[np.ndarray], dtype: Any) -> np.ndarray:
            return np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype=dtype)

        rows = cat(self._a_row, np.int64)
        cols = cat(self._a_col, np.int64)
        vals = cat(self._a_val, float)
        keep = vals != 0.0
        rows, cols, vals = rows[keep], cols[keep], vals[keep]
        # sum duplicates, then sort column-major
        key = cols * max(self.num_rows, 1) + rows
        order = np.argsort(key, kind="stable")
        key, rows, cols, vals = key[order], rows[order], cols[order], vals[order]
        if len(key):
            first = np.concatenate(([True], key[1:] != key[:-1]))
            group = np.cumsum(first) - 1
            vals = np.bincount(group, weights=vals)
            rows, cols = rows[first], cols[first]
            nz = vals != 0.0
            rows, cols, vals = rows[nz], cols[nz], vals[nz]
        col_start = np.zeros(self.num_cols + 1, dtype=np.int64)
        np.cumsum(np.bincount(cols, minlength=self.num_cols), out=col_start[1:])
        r_order = np.lexsort((cols, rows))
        row_start = np.zeros(self.num_rows + 1, dtype=np.int64)
        np.cumsum(np.bincount(rows, minlength=self.num_rows), out=row_start[1:])
        self._frozen = {
            "col_lower": cat(self._col_lower, float),
            "col_upper": cat(self._col_upper, float),
            "cost": cat(self._cost, float),
            "integer": cat(self._integer, bool),
            "row_lower": cat(self._row_lower, float),
            "row_upper": cat(self._row_upper, float),
            "csc_start": col_start,
            "csc_index": rows,
            "csc_value": vals,
            "csr_start": row_start,
            "csr_index": cols[r_order],
            "csr_value": vals[r_order],
        }
        return self._frozen

    def col_names(self) -> list[str]:
        return [label for b in self.col_blocks.values() for label in b.labels()]

    def row_names(self) -> list[str]:
        return [label for b in self.row_blocks.values() for label in b.labels()]

    @property
    def num_integers(self) -> int:
        return int(self.arrays()["integer"].sum())

    @property
    def num_nonzeros(self) -> int:
        return int(len(self.arrays()["csc_value"]))

    def copy(self) -> LinearModel:
        """An independent copy that can be extended or changed without touching this model.

        Blocks, bounds, costs and coefficients are carried over; the arrays themselves are
        shared, which is safe because every change (:meth:`add_columns`, :meth:`set_cost`,
        :meth:`with_arrays` …) replaces arrays and never writes into them.
        """
        return LinearModel(
            col_blocks=dict(self.col_blocks),
            row_blocks=dict(self.row_blocks),
            _col_lower=list(self._col_lower),
            _col_upper=list(self._col_upper),
            _cost=list(self._cost),
            _integer=list(self._integer),
            _row_lower=list(self._row_lower),
            _row_upper=list(self._row_upper),
            _a_row=list(self._a_row),
            _a_col=list(self._a_col),
            _a_val=list(self._a_val),
            num_cols=self.num_cols,
            num_rows=self.num_rows,
            objective_offset=self.objective_offset,
            _frozen=self._frozen,
        )

    def with_arrays(self, **changes: np.ndarray) -> LinearModel:
        """A copy (:meth:`copy`) whose bounds, costs or integrality are replaced by ``changes``.

        Keys are the names of :meth:`arrays` for vectors: ``col_lower``, ``col_upper``,
        ``cost``, ``integer``, ``row_lower``, ``row_upper`` (the full vector each); blocks and
        names stay the same, and the copy can still be extended.
        """
        copy = self.copy()
        arrays = dict(self.arrays())
        for name, value in changes.items():
            if name not in _VECTORS:
                raise KeyError(name)
            vector = np.asarray(value, dtype=arrays[name].dtype)
            arrays[name] = vector
            setattr(copy, _VECTORS[name], [vector])
        copy._frozen = arrays
        return copy

    def relaxed(self) -> LinearModel:
        """The same model with every integrality dropped (the LP relaxation)."""
        return self.with_arrays(integer=np.zeros(self.num_cols, dtype=bool))

    def with_fixed_integers(self, x: np.ndarray) -> LinearModel:
        """The LP with every integer column fixed at ``round(x)`` (for duals of a MILP plan)."""
        a = self.arrays()
        integer = a["integer"]
        lower, upper = a["col_lower"].copy(), a["col_upper"].copy()
        lower[integer] = upper[integer] = np.round(x[integer])
        return self.with_arrays(
            col_lower=lower, col_upper=upper, integer=np.zeros(self.num_cols, dtype=bool)
        )

    def values(self, x: np.ndarray, name: str) -> np.ndarray:
        """The slice of a solution vector that belongs to column block ``name``."""
        block = self.col_blocks.get(name)
        if block is None:
            return np.zeros(0)
        return x[block.start : block.stop]

    def activity(self, x: np.ndarray) -> np.ndarray:
        """Row activities ``A x``."""
        a = self.arrays()
        out = np.zeros(self.num_rows)
        if len(a["csc_value"]):
            col_of = np.repeat(np.arange(self.num_cols), np.diff(a["csc_start"]))
            np.add.at(out, a["csc_index"], a["csc_value"] * x[col_of])
        return out
