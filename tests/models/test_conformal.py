"""CV+ and Gaussian intervals: coverage on fresh rows, the CV coverage estimate, storage."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.gaussian_process import GaussianProcessRegressor
from sklearn.gaussian_process.kernels import RBF, WhiteKernel
from sklearn.linear_model import Ridge
from sklearn.model_selection import KFold

from labsight.models._conformal import (
    CVPlus,
    gaussian_interval,
    gaussian_oof_coverage,
    oof_coverage,
)

COEF = np.array([1.5, -2.0, 0.5, 0.0])


def _linear_data(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, COEF.size))
    y = x @ COEF + 3.0 + rng.normal(scale=1.0, size=n)
    return pd.DataFrame(x, columns=[f"x{i}" for i in range(COEF.size)]), y


@pytest.fixture(scope="module")
def fitted() -> tuple[CVPlus, pd.DataFrame, np.ndarray, np.ndarray]:
    X, y = _linear_data(400, seed=1)
    partition = list(KFold(5, shuffle=True, random_state=0).split(X))
    cv = CVPlus.from_folds(lambda: clone(Ridge(alpha=1.0)), X, y, partition)
    X_new, y_new = _linear_data(2_000, seed=2)
    return cv, X, X_new, y_new


def _covered(lower: np.ndarray, upper: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean((y >= lower) & (y <= upper)))


def test_cvplus_covers_fresh_rows_and_cv_estimate_agrees(
    fitted: tuple[CVPlus, pd.DataFrame, np.ndarray, np.ndarray],
) -> None:
    cv, _, X_new, y_new = fitted
    lower, upper = cv.interval(X_new, 0.9)
    assert lower.shape == upper.shape == (2_000,)
    assert np.all(lower < upper)
    test_coverage = _covered(lower, upper, y_new)
    assert 0.85 <= test_coverage <= 0.95
    estimate = cv.cv_coverage(0.9)
    assert abs(estimate - test_coverage) <= 0.05
    # The residuals are |y − oof|, so the function over (y, oof) gives the same estimate.
    y_fake = np.zeros(cv.n)
    assert oof_coverage(y_fake, cv.residuals, level=0.9) == pytest.approx(estimate)


def test_oof_coverage_from_cross_validated_predictions() -> None:
    X, y = _linear_data(400, seed=3)
    oof = np.empty_like(y)
    for train, test in KFold(5, shuffle=True, random_state=0).split(X):
        oof[test] = Ridge().fit(X.iloc[train], y[train]).predict(X.iloc[test])
    for level in (0.5, 0.8, 0.9):
        assert abs(oof_coverage(y, oof, None, level) - level) <= 0.02
    # An explicit pool aligned with the rows gives the same answer as the default.
    assert oof_coverage(y, oof, np.abs(y - oof), 0.9) == oof_coverage(y, oof, None, 0.9)
    with pytest.raises(ValueError, match="level"):
        oof_coverage(y, oof, None, 1.0)
    with pytest.raises(ValueError, match="residuals"):
        oof_coverage(y, oof, np.ones(3), 0.9)


def test_intervals_widen_with_level(
    fitted: tuple[CVPlus, pd.DataFrame, np.ndarray, np.ndarray],
) -> None:
    cv, _, X_new, _ = fitted
    widths = [float(np.mean(np.subtract(*cv.interval(X_new, lv)[::-1]))) for lv in (0.5, 0.8, 0.95)]
    assert widths[0] < widths[1] < widths[2]


def test_rank_clipping_with_few_rows() -> None:
    X, y = _linear_data(8, seed=4)
    partition = list(KFold(4).split(X))
    cv = CVPlus.from_folds(Ridge, X, y, partition)
    lower, upper = cv.interval(X.iloc[:3], 0.95)  # ⌊0.05·9⌋ = 0: clipped to the smallest value
    assert np.all(np.isfinite(lower))
    assert np.all(np.isfinite(upper))
    preds = np.vstack([m.predict(X.iloc[:3]) for m in cv.fold_models])[cv.fold_of]
    np.testing.assert_allclose(lower, (preds - cv.residuals[:, None]).min(axis=0))
    np.testing.assert_allclose(upper, (preds + cv.residuals[:, None]).max(axis=0))


def test_state_round_trip_gives_identical_intervals(
    fitted: tuple[CVPlus, pd.DataFrame, np.ndarray, np.ndarray],
) -> None:
    cv, _, X_new, _ = fitted
    state = json.loads(json.dumps(cv.to_state()))
    assert set(state) == {"fold_of", "residuals"}
    again = CVPlus.from_state(state, cv.fold_models)
    for a, b in zip(cv.interval(X_new, 0.9), again.interval(X_new, 0.9), strict=True):
        np.testing.assert_array_equal(a, b)


def test_bad_partition_is_refused() -> None:
    X, y = _linear_data(10, seed=5)
    with pytest.raises(ValueError, match="never held out"):
        CVPlus.from_folds(Ridge, X, y, [(np.arange(5, 10), np.arange(5))])
    with pytest.raises(ValueError, match="more than one fold"):
        CVPlus.from_folds(Ridge, X, y, [(np.arange(5, 10), np.arange(6))] * 2)


def test_gaussian_process_interval_covers_fresh_rows() -> None:
    rng = np.random.default_rng(6)

    def draw(n: int) -> tuple[np.ndarray, np.ndarray]:
        x = rng.uniform(-3, 3, size=(n, 1))
        return x, np.sin(x[:, 0]) * 2 + rng.normal(scale=0.3, size=n)

    x, y = draw(150)
    kernel = 1.0 * RBF(1.0) + WhiteKernel(0.1)
    gp = GaussianProcessRegressor(kernel, normalize_y=True, random_state=0).fit(x, y)
    x_new, y_new = draw(2_000)
    mean, std = gp.predict(x_new, return_std=True)
    lower, upper = gaussian_interval(mean, std, 0.9)
    assert 0.8 <= _covered(lower, upper, y_new) <= 0.97
    assert gaussian_oof_coverage(y_new, mean, std, 0.9) == _covered(lower, upper, y_new)
    wide = gaussian_interval(mean, std, 0.99)
    assert np.all(wide[1] - wide[0] > upper - lower)
