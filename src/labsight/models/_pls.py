"""Partial least squares, the chemometric baseline: the ``pls`` family of the AutoML.

PLS projects many collinear inputs (a spectrum's channels, a process's sensors) onto the few
directions that covary most with the target, and regresses on those. :class:`PLSRegressor` is
scikit-learn's :class:`~sklearn.cross_decomposition.PLSRegression` on inputs that the pipeline has
already imputed and autoscaled (centred, unit variance: the usual chemometric choice), with its
number of components held to what the training rows can support (at most one fewer than the rows,
and no more than the inputs' rank), so a search over 1 … 30 components never fails on a small fold.

:class:`PLSDAClassifier` is PLS discriminant analysis: PLS fitted to the one-hot classes, then a
multinomial logistic regression on the standardized PLS scores, which turns the scores into
probabilities (the classic "argmax of the predicted one-hot" has none). Both persist through skops
as the plain scikit-learn parts they hold.
"""

from __future__ import annotations

from typing import Any, Self

import numpy as np
import numpy.typing as npt
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.cross_decomposition import PLSRegression
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import LabelBinarizer, StandardScaler
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_array, check_is_fitted

__all__ = ["PLSDAClassifier", "PLSRegressor", "components_for"]

FloatArray = npt.NDArray[np.float64]


def components_for(asked: int, rows: int, inputs: int) -> int:
    """The components a PLS can fit: ``asked``, at most ``rows - 1`` and ``inputs``, at least 1.

    >>> components_for(10, rows=8, inputs=1000), components_for(10, rows=100, inputs=4)
    (7, 4)
    """
    return max(1, min(int(asked), rows - 1, inputs))


def _fit_pls(X: FloatArray, Y: FloatArray, asked: int) -> PLSRegression:
    # No more components than the centred inputs have independent directions: one more (the
    # levels of a one-hot category sum to one) fits noise along a null direction, with
    # coefficients of 1e15 whose predictions hang on the inputs' last bits.
    rank = int(np.linalg.matrix_rank(X - X.mean(axis=0)))
    k = components_for(asked, X.shape[0], max(rank, 1))
    # scale=False: the pipeline has already standardized every input (autoscaling)
    return PLSRegression(n_components=k, scale=False, max_iter=1_000).fit(X, Y)


class PLSRegressor(RegressorMixin, BaseEstimator):  # type: ignore[misc]
    """PLS regression with ``n_components`` latent variables (fewer on a small fold)."""

    def __init__(self, n_components: int = 8) -> None:
        self.n_components = n_components

    def fit(self, X: Any, y: Any) -> Self:
        x = check_array(X, dtype=np.float64, estimator=self)
        target = np.asarray(y, dtype=np.float64).ravel()
        self.pls_ = _fit_pls(x, target, self.n_components)
        self.n_components_ = int(self.pls_.n_components)
        self.n_features_in_ = x.shape[1]
        return self

    def predict(self, X: Any) -> FloatArray:
        check_is_fitted(self, "pls_")
        x = check_array(X, dtype=np.float64, estimator=self)
        return np.asarray(self.pls_.predict(x), dtype=np.float64).ravel()


class PLSDAClassifier(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """PLS discriminant analysis: PLS on the one-hot classes, logistic regression on its scores."""

    def __init__(self, n_components: int = 8, C: float = 1.0) -> None:
        self.n_components = n_components
        self.C = C

    def fit(self, X: Any, y: Any) -> Self:
        x = check_array(X, dtype=np.float64, estimator=self)
        labels = np.asarray(y).ravel()
        check_classification_targets(labels)
        self.binarizer_ = LabelBinarizer().fit(labels)
        self.classes_ = self.binarizer_.classes_
        if len(self.classes_) < 2:
            raise ValueError("PLS-DA needs at least two classes in y")
        onehot = self.binarizer_.transform(labels).astype(np.float64)
        self.pls_ = _fit_pls(x, onehot, self.n_components)
        self.n_components_ = int(self.pls_.n_components)
        scores = self.pls_.transform(x)
        self.scaler_ = StandardScaler().fit(scores)
        self.logistic_ = LogisticRegression(C=self.C, max_iter=5_000).fit(
            self.scaler_.transform(scores), labels
        )
        self.n_features_in_ = x.shape[1]
        return self

    def _scores(self, X: Any) -> FloatArray:
        check_is_fitted(self, "pls_")
        x = check_array(X, dtype=np.float64, estimator=self)
        return np.asarray(self.scaler_.transform(self.pls_.transform(x)), dtype=np.float64)

    def predict_proba(self, X: Any) -> FloatArray:
        return np.asarray(self.logistic_.predict_proba(self._scores(X)), dtype=np.float64)

    def predict(self, X: Any) -> npt.NDArray[Any]:
        return np.asarray(self.logistic_.predict(self._scores(X)))
