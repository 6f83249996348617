"""Statistics shared by the quality checks and the exploratory report."""

from __future__ import annotations

import warnings

import numpy as np
import polars as pl

__all__ = ["pairwise_correlation"]

CHUNK_ROWS = 131_072


def pairwise_correlation(
    frame: pl.DataFrame, *, chunk_rows: int = CHUNK_ROWS
) -> tuple[np.ndarray, np.ndarray]:
    """Pearson correlation of every pair of numeric columns, each pair over the rows where both are
    present, and the matrix of those row counts.

    The sums behind it add up over blocks of rows, so memory stays at a few blocks whatever the
    number of rows; columns are centred on their means first for accuracy. Nulls and NaN are
    missing. A column without spread gives NaN (also on the diagonal, which is otherwise 1).

    Examples
    --------
    >>> df = pl.DataFrame({"a": [1.0, 2.0, 3.0, 4.0], "b": [2.0, 1.0, None, 5.0]})
    >>> r, n = pairwise_correlation(df)
    >>> np.round(r, 3).tolist(), n.tolist()  # the third row counts for neither pair
    ([[1.0, 0.839], [0.839, 1.0]], [[4.0, 3.0], [3.0, 3.0]])
    """
    p = frame.width
    clean = frame.select(pl.all().cast(pl.Float64).fill_nan(None))
    means = np.array(clean.mean().row(0), dtype=np.float64) if p else np.zeros(0)
    means = np.nan_to_num(means)  # an all-missing column: any centre will do, it stays NaN
    count = np.zeros((p, p))
    sums = np.zeros((p, p))  # sums[i, j]: column i over the rows where j is present too
    squares = np.zeros((p, p))
    cross = np.zeros((p, p))
    for start in range(0, clean.height, chunk_rows):
        block = clean.slice(start, chunk_rows).to_numpy().astype(np.float64, copy=False)
        present = ~np.isnan(block)
        x = np.where(present, block - means, 0.0)
        m = present.astype(np.float64)
        count += m.T @ m
        sums += x.T @ m
        squares += (x * x).T @ m
        cross += x.T @ x
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        cov = cross - sums * sums.T / count
        var = squares - sums * sums / count
        r = np.clip(cov / np.sqrt(var * var.T), -1.0, 1.0)
    np.fill_diagonal(r, np.where(np.isnan(np.diag(r)), np.nan, 1.0))
    return r, count
