"""From points of a space to the numbers a Gaussian process reads, and back.

Every parameter becomes one or a few columns in [0, 1]:

* a number (continuous or discrete): scaled by its bounds;
* a choice with ``onehot`` encoding: its level's index, one column that the surrogate's categorical
  kernel treats as unordered (BoTorch's mixed-variable kernel);
* a choice with ``descriptors``: its level's descriptors, standardized and, when there are more than
  :data:`MAX_COMPONENTS`, reduced to the principal components that hold 95 % of their variance
  (at most :data:`MAX_COMPONENTS`), then scaled to [0, 1].
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from labsight.design.space import Parameter, Space

__all__ = ["MAX_COMPONENTS", "Encoder"]

MAX_COMPONENTS = 4
_VARIANCE = 0.95


@dataclass(frozen=True)
class _Block:
    parameter: Parameter
    start: int
    width: int
    table: np.ndarray | None = None  # levels × width, for descriptor encodings
    index: dict[str, int] | None = None  # level → row of ``table`` (or code)


def _reduce(matrix: np.ndarray) -> np.ndarray:
    """Descriptors of the levels → at most MAX_COMPONENTS columns in [0, 1]."""
    x = np.asarray(matrix, dtype=np.float64)
    sd = x.std(axis=0)
    x = (x - x.mean(axis=0)) / np.where(sd > 0, sd, 1.0)
    x = x[:, sd > 0] if np.any(sd > 0) else np.zeros((x.shape[0], 1))
    if x.shape[1] > MAX_COMPONENTS:
        u, s, _ = np.linalg.svd(x, full_matrices=False)
        share = np.cumsum(s**2) / max(float(np.sum(s**2)), 1e-12)
        k = min(MAX_COMPONENTS, int(np.searchsorted(share, _VARIANCE)) + 1)
        x = u[:, :k] * s[:k]
    lo, hi = x.min(axis=0), x.max(axis=0)
    return np.asarray((x - lo) / np.where(hi > lo, hi - lo, 1.0))


class Encoder:
    """The encoding of one space; :meth:`encode` works on any table with its parameter columns."""

    def __init__(self, space: Space) -> None:
        self.space = space
        blocks: list[_Block] = []
        start = 0
        for p in space.parameters:
            if p.numeric:
                blocks.append(_Block(p, start, 1))
                start += 1
            elif p.encoding == "descriptors":
                table = _reduce(np.array([p.descriptors[v] for v in p.values]))
                index = {v: i for i, v in enumerate(p.values)}
                blocks.append(_Block(p, start, table.shape[1], table, index))
                start += table.shape[1]
            else:
                blocks.append(_Block(p, start, 1, None, {v: i for i, v in enumerate(p.values)}))
                start += 1
        self.blocks = blocks
        self.width = start

    @property
    def cat_dims(self) -> list[int]:
        """Columns holding a level's index (for the categorical kernel)."""
        return [
            b.start
            for b in self.blocks
            if not b.parameter.numeric and b.parameter.encoding == "onehot"
        ]

    def cardinalities(self) -> dict[int, int]:
        """Number of levels of each categorical column."""
        return {
            b.start: len(b.parameter.values)
            for b in self.blocks
            if not b.parameter.numeric and b.parameter.encoding == "onehot"
        }

    def encode(self, frame: pl.DataFrame) -> np.ndarray:
        """``frame``'s points as a float64 matrix ``[rows, width]``."""
        out = np.empty((frame.height, self.width), dtype=np.float64)
        for b in self.blocks:
            p = b.parameter
            column = frame[p.name]
            if p.numeric:
                values = column.cast(pl.Float64).to_numpy()
                out[:, b.start] = (values - p.low) / (p.high - p.low)
                continue
            assert b.index is not None
            codes = np.array([b.index[str(v)] for v in column.cast(pl.String).to_list()])
            if b.table is not None:
                out[:, b.start : b.start + b.width] = b.table[codes]
            else:
                out[:, b.start] = codes
        return out

    def decode_numbers(self, x: np.ndarray, frame: pl.DataFrame) -> pl.DataFrame:
        """``frame`` with its numeric parameters replaced by the values in ``x`` (for points whose
        continuous coordinates were refined); choices are kept as they are."""
        columns = []
        for b in self.blocks:
            p = b.parameter
            if p.kind == "continuous":
                values = np.clip(x[:, b.start], 0.0, 1.0) * (p.high - p.low) + p.low
                columns.append(pl.Series(p.name, values))
        return frame.with_columns(columns) if columns else frame
