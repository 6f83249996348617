"""Shared statistics: pairwise correlation over pair-complete rows, in blocks of rows."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from labsight.data.stats import average_ranks, numeric_summary, pairwise_correlation


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


@pytest.mark.parametrize("missing_share", [0.0, 0.1])
def test_numeric_summary_matches_polars_on_present_values(missing_share: float) -> None:
    rng = np.random.default_rng(3)
    x = rng.gamma(2.0, size=5_001).round(1)  # ties
    x[rng.random(x.size) < missing_share] = np.nan
    summary = numeric_summary(x)
    s = pl.Series(x).fill_nan(None)
    assert summary.count == s.count()
    assert summary.missing == s.null_count()
    assert summary.distinct == s.drop_nulls().n_unique()
    assert summary.mean == pytest.approx(s.mean())
    assert summary.sd == pytest.approx(s.std())
    for name, q in (("q1", 0.25), ("median", 0.5), ("q3", 0.75)):
        assert getattr(summary, name) == pytest.approx(s.quantile(q, "linear"))
    assert (summary.min, summary.max) == (s.min(), s.max())


def test_average_ranks_match_polars_with_ties_and_gaps() -> None:
    rng = np.random.default_rng(4)
    x = rng.integers(0, 50, 2_000).astype(np.float64)
    x[::13] = np.nan
    expected = pl.Series(x).fill_nan(None).rank("average").to_numpy()
    assert np.allclose(average_ranks(x), expected, equal_nan=True)
    assert np.allclose(average_ranks(x, np.float32), expected, equal_nan=True)


def test_ranks_without_ties_are_positions() -> None:
    x = np.random.default_rng(5).normal(size=1_000)
    x[7] = np.nan
    expected = pl.Series(x).fill_nan(None).rank("average").to_numpy()
    assert np.array_equal(average_ranks(x), expected, equal_nan=True)


def test_an_empty_column_has_a_summary_of_nothing() -> None:
    summary = numeric_summary(np.full(4, np.nan))
    assert (summary.count, summary.missing, summary.median, summary.distinct) == (0, 4, None, 0)
