"""From points of a space to the numbers a Gaussian process reads, and back.

Every parameter becomes one or a few columns in [0, 1]:

* a number (continuous or discrete): scaled by its bounds, on its scale (a log scale for one whose
  bounds span a decade or more: :func:`~labsight.design._space_types.inferred_scale`);
* a choice with ``onehot`` encoding: one 0/1 column per level (the default, fast, and what EDBO and
  BayBE use), or, with ``categorical_kernel=True``, its level's index in one column that BoTorch's
  mixed-variable kernel treats as unordered (``MixedSingleTaskGP``: a categorical kernel combined
  with the numbers' kernel; slower to fit, ~1.5 s at 16 results against 0.2 s);
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

    def __init__(self, space: Space, *, categorical_kernel: bool = False) -> None:
        self.space = space
        self.categorical_kernel = categorical_kernel
        blocks: list[_Block] = []
        start = 0
        for p in space.parameters:
            index = {v: i for i, v in enumerate(p.values)} if not p.numeric else None
            if p.numeric:
                blocks.append(_Block(p, start, 1))
            elif p.encoding == "descriptors":
                table = _reduce(np.array([p.descriptors[v] for v in p.values]))
                blocks.append(_Block(p, start, table.shape[1], table, index))
            elif categorical_kernel:
                blocks.append(_Block(p, start, 1, None, index))
            else:
                blocks.append(_Block(p, start, len(p.values), np.eye(len(p.values)), index))
            start += blocks[-1].width
        self.blocks = blocks
        self.width = start

    @property
    def cat_dims(self) -> list[int]:
        """Columns holding a level's index (for the categorical kernel; none with one-hot)."""
        return [b.start for b in self.blocks if b.table is None and not b.parameter.numeric]

    @property
    def continuous_columns(self) -> list[int]:
        """Columns of continuous parameters (what gradient steps on a point may move)."""
        return [b.start for b in self.blocks if b.parameter.kind == "continuous"]

    def encode(self, frame: pl.DataFrame) -> np.ndarray:
        """``frame``'s points as a float64 matrix ``[rows, width]``."""
        out = np.empty((frame.height, self.width), dtype=np.float64)
        for b in self.blocks:
            p = b.parameter
            column = frame[p.name]
            if p.numeric:
                out[:, b.start] = p.to_unit(column.cast(pl.Float64).to_numpy())
                continue
            assert b.index is not None
            codes = np.array([b.index[str(v)] for v in column.cast(pl.String).to_list()], dtype=int)
            if b.table is not None:
                out[:, b.start : b.start + b.width] = b.table[codes]
            else:
                out[:, b.start] = codes
        return out

    def decode_numbers(self, x: np.ndarray, frame: pl.DataFrame) -> pl.DataFrame:
        """``frame`` with its continuous parameters replaced by the values in ``x`` (for points
        whose continuous coordinates were moved); choices are kept as they are."""
        columns = []
        for b in self.blocks:
            p = b.parameter
            if p.kind == "continuous":
                values = p.from_unit(np.clip(x[:, b.start], 0.0, 1.0))
                columns.append(pl.Series(p.name, np.clip(values, p.low, p.high)))
        return frame.with_columns(columns) if columns else frame
