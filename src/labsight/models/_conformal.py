"""Prediction intervals for regression models, with coverage measured rather than assumed.

Two kinds of interval live here:

* :class:`CVPlus`: the K-fold CV+ method of Barber, Candès, Ramdas and Tibshirani (2021,
  "Predictive inference with the jackknife+"). It reuses the K fold models and the out-of-fold
  residuals of cross-validation, so it needs no held-aside calibration rows (precious in a small lab
  table) and works around any model. Its guarantee is distribution-free: at level ``1 − α`` the
  coverage is at least ``1 − 2α`` in the worst case and close to ``1 − α`` in practice.
* :func:`gaussian_interval`: mean ± z·std, for models with their own predictive standard deviation
  (a Gaussian process, ``predict(X, return_std=True)``). It is only as honest as the model's noise
  estimate, which is why :func:`gaussian_oof_coverage` checks it on cross-validation.

Either way, the coverage that ``model show`` reports is an estimate from cross-validation
(:func:`oof_coverage` and :func:`gaussian_oof_coverage`), not the nominal level.

A :class:`CVPlus` is stored without pickle: :meth:`CVPlus.to_state` gives plain lists (the fold
models are stored separately by the caller) and :meth:`CVPlus.from_state` rebuilds it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "CVPlus",
    "gaussian_interval",
    "gaussian_oof_coverage",
    "oof_coverage",
]

# Bound on the size of the (new rows × training rows) matrix built at once by CVPlus.interval.
_CHUNK_CELLS = 4_000_000


def _alpha(level: float) -> float:
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must lie strictly between 0 and 1, got {level!r}")
    return 1.0 - level


def _ranks(n: int, level: float) -> tuple[int, int]:
    """The 1-based ranks (lower, upper) of the CV+ interval among ``n`` values, clipped to 1..n.

    Examples
    --------
    >>> _ranks(99, 0.9)
    (10, 90)
    >>> _ranks(5, 0.9)  # too few rows for 90%: the interval falls back to the min and max
    (1, 5)
    """
    alpha = _alpha(level)
    # A tiny tolerance keeps exact products (0.1 × 100 = 10) from being floored/ceiled off by one.
    lo = math.floor(alpha * (n + 1) + 1e-9)
    hi = math.ceil((1.0 - alpha) * (n + 1) - 1e-9)
    return min(max(lo, 1), n), min(max(hi, 1), n)


def _as_1d(values: Any, name: str) -> np.ndarray:
    out = np.asarray(values, dtype=np.float64).reshape(-1)
    if out.size == 0:
        raise ValueError(f"{name} is empty")
    return out


@dataclass
class CVPlus:
    """K-fold CV+ prediction intervals from fold models and their out-of-fold residuals.

    Parameters
    ----------
    fold_models
        Fitted estimators; ``fold_models[k]`` was trained without fold ``k``.
    fold_of
        For each training row, the index of the fold that held it out.
    residuals
        ``|y_i − μ_{−k(i)}(x_i)|`` for each training row ``i`` (its out-of-fold absolute error).
    """

    fold_models: list[Any]
    fold_of: np.ndarray
    residuals: np.ndarray

    def __post_init__(self) -> None:
        self.fold_of = np.asarray(self.fold_of, dtype=np.int64).reshape(-1)
        self.residuals = np.asarray(self.residuals, dtype=np.float64).reshape(-1)
        if self.fold_of.shape != self.residuals.shape:
            raise ValueError(
                f"fold_of has {self.fold_of.size} rows but residuals has {self.residuals.size}"
            )
        if self.residuals.size == 0:
            raise ValueError("CV+ needs at least one training row")
        if not self.fold_models:
            raise ValueError("CV+ needs at least one fold model")
        if self.fold_of.min() < 0 or self.fold_of.max() >= len(self.fold_models):
            raise ValueError(
                f"fold_of must index the {len(self.fold_models)} fold models, "
                f"got values {self.fold_of.min()}..{self.fold_of.max()}"
            )
        if not np.all(np.isfinite(self.residuals)) or np.any(self.residuals < 0):
            raise ValueError("residuals must be finite and non-negative")

    @property
    def n(self) -> int:
        """The number of training rows."""
        return int(self.residuals.size)

    @classmethod
    def from_folds(
        cls,
        make_model: Callable[[], Any],
        X: pd.DataFrame,
        y: np.ndarray,
        partition: Sequence[tuple[np.ndarray, np.ndarray]],
    ) -> CVPlus:
        """Fit one model per fold and collect the out-of-fold residuals.

        Parameters
        ----------
        make_model
            Returns a fresh, unfitted estimator (for instance ``lambda: clone(pipeline)``).
        X, y
            The training rows.
        partition
            ``(train, test)`` index pairs of one set of K folds: every row is held out exactly once
            (``Folds.first_partition()``).

        Raises
        ------
        ValueError
            When the test folds do not cover every row exactly once.
        """
        y_arr = np.asarray(y, dtype=np.float64).reshape(-1)
        n = len(X)
        if y_arr.size != n:
            raise ValueError(f"X has {n} rows but y has {y_arr.size}")
        fold_of = _fold_of(partition, n)
        models: list[Any] = []
        oof = np.empty(n, dtype=np.float64)
        for train, test in partition:
            model = make_model()
            model.fit(X.iloc[np.asarray(train)], y_arr[np.asarray(train)])
            oof[np.asarray(test)] = np.asarray(model.predict(X.iloc[np.asarray(test)])).reshape(-1)
            models.append(model)
        return cls(models, fold_of, np.abs(y_arr - oof))

    @classmethod
    def from_fitted(
        cls,
        fold_models: Sequence[Any],
        y: np.ndarray,
        oof: np.ndarray,
        partition: Sequence[tuple[np.ndarray, np.ndarray]],
    ) -> CVPlus:
        """CV+ from fold models fitted already (by cross-validation) and their out-of-fold
        predictions ``oof`` on the same ``partition``: nothing is refitted."""
        y_arr = np.asarray(y, dtype=np.float64).reshape(-1)
        pred = np.asarray(oof, dtype=np.float64).reshape(-1)
        if pred.shape != y_arr.shape:
            raise ValueError(f"y has {y_arr.size} rows but oof has {pred.size}")
        return cls(list(fold_models), _fold_of(partition, y_arr.size), np.abs(y_arr - pred))

    def interval(self, X: Any, level: float = 0.9) -> tuple[np.ndarray, np.ndarray]:
        """The CV+ interval at ``level`` for each row of ``X``.

        With ``α = 1 − level`` and ``n`` training rows, the lower end is the ``⌊α(n+1)⌋``-th
        smallest of ``μ_{−k(i)}(x) − R_i`` and the upper end the ``⌈(1−α)(n+1)⌉``-th smallest of
        ``μ_{−k(i)}(x) + R_i`` over the training rows ``i``. When ``n`` is too small for the level
        (a rank below 1 or above ``n``, where the paper's interval is infinite), the rank is clipped,
        so the interval falls back to the smallest lower / largest upper value: finite, but then
        its coverage is below the nominal level, which the CV estimate (:meth:`cv_coverage`) shows.

        Each fold model predicts ``X`` once; the ranks are taken in chunks of rows.
        """
        preds = np.vstack(
            [np.asarray(m.predict(X), dtype=np.float64).reshape(-1) for m in self.fold_models]
        )  # (K, m)
        return self.interval_of(preds, level)

    def interval_of(self, preds: np.ndarray, level: float = 0.9) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`interval` from the fold models' predictions ``preds`` (``(K, m)``, one row per
        fold model) made already."""
        lo_rank, hi_rank = _ranks(self.n, level)
        m = preds.shape[1]
        lower = np.empty(m, dtype=np.float64)
        upper = np.empty(m, dtype=np.float64)
        step = max(1, _CHUNK_CELLS // self.n)
        for start in range(0, m, step):
            block = preds[self.fold_of, start : start + step].T  # (rows, n)
            low_values = block - self.residuals
            high_values = block + self.residuals
            lower[start : start + step] = np.partition(low_values, lo_rank - 1, axis=1)[
                :, lo_rank - 1
            ]
            upper[start : start + step] = np.partition(high_values, hi_rank - 1, axis=1)[
                :, hi_rank - 1
            ]
        return lower, upper

    def cv_coverage(self, level: float = 0.9) -> float:
        """The cross-validated coverage estimate at ``level`` (see :func:`oof_coverage`)."""
        return _loo_coverage(self.residuals, self.residuals, level)

    def to_state(self) -> dict[str, list[Any]]:
        """Plain data for storage (JSON-friendly); the fold models are stored by the caller."""
        return {"fold_of": self.fold_of.tolist(), "residuals": self.residuals.tolist()}

    @classmethod
    def from_state(cls, state: dict[str, Any], fold_models: list[Any]) -> CVPlus:
        """Rebuild from :meth:`to_state` output and the stored fold models (in fold order)."""
        return cls(
            list(fold_models),
            np.asarray(state["fold_of"], dtype=np.int64),
            np.asarray(state["residuals"], dtype=np.float64),
        )


def _fold_of(partition: Sequence[tuple[np.ndarray, np.ndarray]], n: int) -> np.ndarray:
    """For each of ``n`` rows, the fold that holds it out; a partition must hold out each once."""
    fold_of = np.full(n, -1, dtype=np.int64)
    for k, (_, test) in enumerate(partition):
        test = np.asarray(test, dtype=np.int64)
        if np.any(fold_of[test] >= 0):
            raise ValueError("a row is held out by more than one fold; pass one partition")
        fold_of[test] = k
    if np.any(fold_of < 0):
        raise ValueError(
            f"{int(np.sum(fold_of < 0))} rows are never held out; pass a full partition"
        )
    return fold_of


def _loo_coverage(own: np.ndarray, pool: np.ndarray, level: float) -> float:
    """Share of rows whose ``own`` residual is at most the conformal quantile of the others'
    ``pool`` residuals (``pool`` aligned with the rows; row ``i`` is left out of its own pool)."""
    alpha = _alpha(level)
    n = pool.size
    if n < 2:
        raise ValueError("coverage needs at least two rows")
    # With the n − 1 other rows as calibration set, the split-conformal rank is ⌈(1−α)n⌉, clipped.
    k = min(max(math.ceil((1.0 - alpha) * n - 1e-9), 1), n - 1)
    order = np.argsort(pool, kind="stable")
    ranked = pool[order]
    position = np.empty(n, dtype=np.int64)
    position[order] = np.arange(n)
    # Removing row i shifts the k-th smallest up by one when row i was among the first k.
    quantile = np.where(position < k, ranked[k], ranked[k - 1])
    return float(np.mean(own <= quantile))


def oof_coverage(
    y: np.ndarray,
    oof_pred: np.ndarray,
    residuals: np.ndarray | None = None,
    level: float = 0.9,
) -> float:
    """The empirical coverage of conformal intervals on cross-validation.

    Estimated leave-one-out over the out-of-fold residuals: row ``i`` counts as covered when
    ``|y_i − oof_i|`` is at most the conformal quantile of the other rows' residuals (the
    ``⌈(1−α)n⌉``-th smallest of ``R_{−i}``, ``α = 1 − level``). This is the CV estimate of coverage
    that ``model show`` reports next to the nominal level.

    Parameters
    ----------
    y, oof_pred
        Targets and out-of-fold predictions, one per row.
    residuals
        The residual pool, aligned with the rows; ``None`` uses ``|y − oof_pred|`` (what CV+ uses).
    level
        The nominal coverage, strictly between 0 and 1.

    Examples
    --------
    >>> y = np.arange(10.0)
    >>> oof_coverage(y, y + np.arange(10.0) / 10, level=0.8)
    0.8
    """
    y_arr = _as_1d(y, "y")
    pred = _as_1d(oof_pred, "oof_pred")
    if y_arr.shape != pred.shape:
        raise ValueError(f"y has {y_arr.size} rows but oof_pred has {pred.size}")
    own = np.abs(y_arr - pred)
    pool = own if residuals is None else _as_1d(residuals, "residuals")
    if pool.shape != own.shape:
        raise ValueError(f"residuals has {pool.size} rows, expected one per row ({own.size})")
    return _loo_coverage(own, pool, level)


def _z(level: float) -> float:
    _alpha(level)
    return NormalDist().inv_cdf(0.5 + level / 2.0)


def gaussian_interval(
    mean: np.ndarray, std: np.ndarray, level: float = 0.9
) -> tuple[np.ndarray, np.ndarray]:
    """The central Gaussian interval ``mean ± z·std`` at ``level``.

    For models with their own predictive standard deviation (a Gaussian process:
    ``predict(X, return_std=True)``, whose std includes the learned noise when the kernel has a
    ``WhiteKernel``).

    Examples
    --------
    >>> lo, hi = gaussian_interval(np.array([0.0]), np.array([1.0]), 0.95)
    >>> round(float(lo[0]), 2), round(float(hi[0]), 2)
    (-1.96, 1.96)
    """
    mu = np.asarray(mean, dtype=np.float64).reshape(-1)
    sd = np.asarray(std, dtype=np.float64).reshape(-1)
    if mu.shape != sd.shape:
        raise ValueError(f"mean has {mu.size} values but std has {sd.size}")
    if np.any(sd < 0):
        raise ValueError("std must be non-negative")
    half = _z(level) * sd
    return mu - half, mu + half


def gaussian_oof_coverage(
    y: np.ndarray, oof_mean: np.ndarray, oof_std: np.ndarray, level: float = 0.9
) -> float:
    """Share of rows inside their out-of-fold Gaussian interval at ``level`` (the CV estimate of
    coverage reported for models with their own predictive std)."""
    y_arr = _as_1d(y, "y")
    lower, upper = gaussian_interval(oof_mean, oof_std, level)
    if y_arr.shape != lower.shape:
        raise ValueError(f"y has {y_arr.size} rows but oof_mean has {lower.size}")
    return float(np.mean((y_arr >= lower) & (y_arr <= upper)))
