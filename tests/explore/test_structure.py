"""PCA from the all-row correlation matrix agrees with scikit-learn's PCA of standardized data."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from sklearn.decomposition import PCA

from labsight.data.table import Table
from labsight.explore._analyse import analyse
from labsight.explore._structure import principal_components


def _correlated(n: int = 400, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = rng.normal(size=(n, 2))
    mix = np.array([[1.0, 0.2, 0.0, 3.0, 0.1], [0.0, 1.0, 0.5, -1.0, 2.0]])
    return base @ mix + rng.normal(scale=0.3, size=(n, 5)) + [0, 5, -3, 100, 1]


def test_components_match_sklearn_on_standardized_data() -> None:
    x = _correlated()
    z = (x - x.mean(0)) / x.std(0, ddof=1)
    reference = PCA().fit(z)
    ratio, comp = principal_components(np.corrcoef(x, rowvar=False))
    assert ratio == pytest.approx(reference.explained_variance_ratio_, abs=1e-9)
    for mine, theirs in zip(comp, reference.components_, strict=True):
        assert abs(float(mine @ theirs)) == pytest.approx(1.0, abs=1e-6)  # same axis, any sign
        assert mine[np.argmax(np.abs(mine))] > 0  # the sign is fixed: largest loading positive


def test_missing_pairs_and_negative_eigenvalues_are_harmless() -> None:
    corr = np.array([[1.0, 0.99, np.nan], [0.99, 1.0, -0.99], [np.nan, -0.99, 1.0]])
    ratio, comp = principal_components(corr)
    assert np.all(ratio >= 0)
    assert ratio.sum() == pytest.approx(1.0)
    assert np.all(np.isfinite(comp))


def test_report_scores_follow_the_first_component_of_all_rows() -> None:
    x = _correlated(3_000, seed=1)
    x[::17, 2] = np.nan  # gaps: pairwise-complete correlations, gaps at the mean for scores
    names = ["a", "b", "c", "d", "e"]
    table = Table.from_frame(pl.DataFrame(x, schema=names))
    result = analyse(table, max_points=500, seed=3)
    variance = next(s for s in result.figures if s.name == "pca-variance")
    scores = next(s for s in result.figures if s.name == "pca-scores")
    complete = x[~np.isnan(x).any(axis=1)]
    z = (complete - complete.mean(0)) / complete.std(0, ddof=1)
    first = PCA(1).fit(z).explained_variance_ratio_[0]
    assert variance.data["explained"][0] == pytest.approx(first, abs=0.02)
    assert len(scores.data["x"]) == 500
    assert scores.note
    assert "500 of 3,000" in scores.note
    assert np.std(scores.data["x"]) > np.std(scores.data["y"])  # PC1 carries more spread
