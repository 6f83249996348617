"""Shared statistics: pairwise correlation over pair-complete rows, in blocks of rows."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from labsight.data.stats import pairwise_correlation


@pytest.mark.parametrize("chunk_rows", [7, 64, 1_000])
def test_pairwise_correlation_matches_numpy_on_pair_complete_rows(chunk_rows: int) -> None:
    rng = np.random.default_rng(12)
    x = rng.normal(size=(200, 3))
    x[:, 2] += x[:, 0]
    with_gaps = x.copy()
    with_gaps[::7, 1] = np.nan
    frame = pl.DataFrame(with_gaps, schema=["a", "b", "c"])
    r, n = pairwise_correlation(frame, chunk_rows=chunk_rows)
    ok = ~np.isnan(with_gaps[:, 1])
    assert r[0, 1] == pytest.approx(np.corrcoef(x[ok, 0], x[ok, 1])[0, 1])
    assert r[0, 2] == pytest.approx(np.corrcoef(x[:, 0], x[:, 2])[0, 1])
    assert n[0, 1] == ok.sum()
    assert n[0, 2] == 200
    assert np.allclose(r, r.T, equal_nan=True)


def test_constant_and_empty_columns_give_nan_not_errors() -> None:
    frame = pl.DataFrame({"a": [1.0, 2.0, 3.0], "flat": [5.0, 5.0, 5.0], "gone": [None] * 3})
    r, _ = pairwise_correlation(frame)
    assert r[0, 0] == 1.0
    assert np.isnan(r[1, 1])
    assert np.isnan(r[0, 1])
    assert np.isnan(r[2, 2])
