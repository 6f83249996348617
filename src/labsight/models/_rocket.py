"""MiniRocket features and a ridge model: the ``rocket`` family, for runs and spectra.

MiniRocket (Dempster, Schmidt and Webb, KDD 2021) describes a series by how often each of many fixed
convolutions exceeds a few thresholds: the 84 kernels of length 9 whose weights are −1, except three
of 2 (so each sums to zero), at dilations spread evenly in log scale up to the series' length, and
for each kernel and dilation the proportion of positive values (PPV) of the convolution minus biases
taken from quantiles of the convolution on training series. A ridge regression (or ridge
classifier) with its penalty chosen by efficient leave-one-out reads the features. It is among the
most accurate time-series classifiers known and is fast; the reference implementations (sktime,
aeon) compile with numba, whose first call costs 46 s on this machine, so the transform is written
here in numpy (the convolution of a kernel is ``3·(three shifted copies) − (all nine)``), kept small
(about 2,000 features) for lab-sized data. Multichannel runs: each kernel and dilation reads the
sum of a random subset of the channels, as the multivariate MiniRocket does.

The estimators sit at the end of the pipeline like the 1-D CNN (``positions``, ``channels``: where
the signal's points are among the imputed, unscaled inputs); other inputs are appended to the
features. Everything fitted is numpy arrays and a scikit-learn ridge, saved by skops.
"""

from __future__ import annotations

from itertools import combinations
from typing import Any, Self

import numpy as np
import numpy.typing as npt
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.linear_model import RidgeClassifierCV, RidgeCV
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_array, check_is_fitted

__all__ = ["RocketClassifier", "RocketRegressor", "minirocket_features"]

FloatArray = npt.NDArray[np.float64]
_KERNELS = np.array(list(combinations(range(9), 3)), dtype=np.int64)  # the 84 positions of the 2s
_ALPHAS = np.logspace(-3, 3, 10)
_PHI = (np.sqrt(5) - 1) / 2  # quantiles from the golden ratio's low-discrepancy sequence


def _dilations(length: int, per_kernel: int) -> npt.NDArray[np.int64]:
    most = max(1, (length - 1) // 8)
    count = max(1, min(per_kernel, int(np.log2(most)) + 1))
    return np.unique(np.floor(np.logspace(0, np.log2(most), count, base=2)).astype(np.int64))


def _shifted(x: FloatArray, dilation: int) -> FloatArray:
    """The nine copies of ``x`` (runs × points) shifted by ``(j − 4)·dilation``, zero-padded."""
    n, length = x.shape
    pad = 4 * dilation
    padded = np.zeros((n, length + 2 * pad))
    padded[:, pad : pad + length] = x
    return np.stack([padded[:, j * dilation : j * dilation + length] for j in range(9)])


def _convolutions(
    signal: FloatArray, dilation: int, subsets: list[npt.NDArray[np.int64]]
) -> FloatArray:
    """(84, runs, points): every kernel at ``dilation``, kernel k over the sum of channels
    ``subsets[k]`` of ``signal`` (runs × channels × points)."""
    out = np.empty((len(_KERNELS), signal.shape[0], signal.shape[2]))
    cache: dict[tuple[int, ...], tuple[FloatArray, FloatArray]] = {}
    for k, (a, b, c) in enumerate(_KERNELS):
        key = tuple(int(i) for i in subsets[k])
        if key not in cache:
            copies = _shifted(signal[:, list(key), :].sum(axis=1), dilation)
            cache[key] = (copies, copies.sum(axis=0))
        copies, total = cache[key]
        out[k] = 3.0 * (copies[a] + copies[b] + copies[c]) - total
    return out


def minirocket_features(
    signal: FloatArray,
    dilations: npt.NDArray[np.int64],
    subsets: list[list[npt.NDArray[np.int64]]],
    biases: FloatArray,
) -> FloatArray:
    """The PPV features of ``signal`` (runs × channels × points): for each dilation, kernel and
    bias, the share of points where the convolution exceeds the bias."""
    columns = []
    for i, dilation in enumerate(dilations):
        conv = _convolutions(signal, int(dilation), subsets[i])  # 84 × runs × points
        for k in range(len(_KERNELS)):
            columns.append((conv[k][:, :, None] > biases[i, k][None, None, :]).mean(axis=1))
    return np.concatenate(columns, axis=1)


class _Rocket(BaseEstimator):  # type: ignore[misc]
    """MiniRocket features of the signal (and the other inputs), then a ridge model.

    Parameters
    ----------
    positions, channels
        Where the signal's points are among the input columns, channel after channel, and how
        many channels they make (set by the pipeline).
    features : int
        About how many MiniRocket features to make (a multiple of 84 kernels × dilations).
    seed : int
        Seed of the channel subsets and of the series the biases are drawn from.
    """

    def __init__(
        self,
        positions: tuple[int, ...] | list[int] = (),
        channels: int = 1,
        features: int = 2016,
        seed: int = 0,
    ) -> None:
        self.positions = positions
        self.channels = channels
        self.features = features
        self.seed = seed

    def _split(self, X: Any) -> tuple[FloatArray, FloatArray]:
        x = check_array(X, dtype=np.float64, estimator=self)
        at = np.asarray(self.positions, dtype=np.int64)
        if not len(at) or len(at) % int(self.channels) or at.max() >= x.shape[1]:
            raise ValueError(f"positions must index the {x.shape[1]} inputs in whole channels")
        signal = x[:, at].reshape(x.shape[0], int(self.channels), -1)
        others = np.delete(x, at, axis=1)
        return signal, others

    def _fit_features(self, X: Any) -> FloatArray:
        signal, others = self._split(X)
        rng = np.random.default_rng(int(self.seed))
        n, channels, length = signal.shape
        per = max(1, int(self.features) // len(_KERNELS))
        self.dilations_ = _dilations(length, per)
        biases_per = max(1, per // len(self.dilations_))
        self.subsets_ = [
            [
                np.sort(
                    rng.choice(
                        channels, size=int(rng.integers(1, min(channels, 3) + 1)), replace=False
                    )
                )
                for _ in _KERNELS
            ]
            for _ in self.dilations_
        ]
        self.biases_ = np.empty((len(self.dilations_), len(_KERNELS), biases_per))
        quantiles = (np.arange(1, biases_per + 1) * _PHI) % 1
        for i, dilation in enumerate(self.dilations_):
            conv = _convolutions(signal, int(dilation), self.subsets_[i])
            for k in range(len(_KERNELS)):
                example = conv[k][int(rng.integers(n))]
                self.biases_[i, k] = np.quantile(example, quantiles)
        return self._features(signal, others)

    def _features(self, signal: FloatArray, others: FloatArray) -> FloatArray:
        ppv = minirocket_features(signal, self.dilations_, self.subsets_, self.biases_)
        return np.concatenate([ppv, others], axis=1)

    def _transform(self, X: Any) -> FloatArray:
        check_is_fitted(self, "biases_")
        signal, others = self._split(X)
        if signal.shape[2] != self.length_:
            raise ValueError(f"the signal has {signal.shape[2]} points, the model {self.length_}")
        return np.asarray(self.scaler_.transform(self._features(signal, others)), dtype=np.float64)

    def _prepare(self, X: Any) -> FloatArray:
        features = self._fit_features(X)
        self.length_ = int(self._split(X)[0].shape[2])
        self.scaler_ = StandardScaler().fit(features)
        self.n_features_in_ = check_array(X, dtype=np.float64).shape[1]
        return np.asarray(self.scaler_.transform(features), dtype=np.float64)


class RocketRegressor(RegressorMixin, _Rocket):  # type: ignore[misc]
    """MiniRocket features, then ridge regression with its penalty by leave-one-out."""

    def fit(self, X: Any, y: Any) -> Self:
        self.ridge_ = RidgeCV(alphas=_ALPHAS).fit(self._prepare(X), np.asarray(y, dtype=np.float64))
        return self

    def predict(self, X: Any) -> FloatArray:
        return np.asarray(self.ridge_.predict(self._transform(X)), dtype=np.float64)


class RocketClassifier(ClassifierMixin, _Rocket):  # type: ignore[misc]
    """MiniRocket features, then a ridge classifier with its penalty by leave-one-out (its
    decision function is what the pipeline's calibration turns into probabilities)."""

    def fit(self, X: Any, y: Any) -> Self:
        self.ridge_ = RidgeClassifierCV(alphas=_ALPHAS).fit(self._prepare(X), np.asarray(y))
        self.classes_ = self.ridge_.classes_
        return self

    def decision_function(self, X: Any) -> FloatArray:
        return np.asarray(self.ridge_.decision_function(self._transform(X)), dtype=np.float64)

    def predict_proba(self, X: Any) -> FloatArray:
        """Scores turned into shares (a logistic of the margin; a softmax of several): for
        ranking in the search; the final model's probabilities are calibrated on the folds."""
        d = self.decision_function(X)
        if d.ndim == 1:
            p1 = 1.0 / (1.0 + np.exp(-d))
            return np.column_stack([1.0 - p1, p1])
        e = np.exp(d - d.max(axis=1, keepdims=True))
        return np.asarray(e / e.sum(axis=1, keepdims=True), dtype=np.float64)

    def predict(self, X: Any) -> npt.NDArray[Any]:
        return np.asarray(self.ridge_.predict(self._transform(X)))
