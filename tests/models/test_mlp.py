"""Tests for the PyTorch MLP estimators in :mod:`labsight.models._mlp`.

Datasets and epoch budgets are small so the file runs in a few seconds on two CPU cores. Scores are
always measured on rows the model never saw.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from labsight.models._mlp import MLPClassifier, MLPRegressor


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread() -> Iterator[None]:
    # Tiny networks gain nothing from intra-op threads, and on a busy 2-core machine the thread
    # pool's synchronization makes training many times slower. Restored afterwards.
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _smooth(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.uniform(-2, 2, size=(n, 2))
    y = np.sin(X[:, 0]) + X[:, 1] ** 2 + rng.normal(0, 0.1, size=n)
    return X, y


def _blobs(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    half = n // 2
    X = np.vstack([rng.normal(-1.5, 1.0, (half, 3)), rng.normal(1.5, 1.0, (n - half, 3))])
    y = np.array(["low"] * half + ["high"] * (n - half))
    perm = rng.permutation(n)
    return X[perm], y[perm]


FAST = {"hidden": 32, "lr": 1e-2, "max_epochs": 200, "device": "cpu"}


@pytest.fixture(scope="module")
def regression() -> tuple[MLPRegressor, np.ndarray, np.ndarray]:
    X, y = _smooth(300)
    model = MLPRegressor(**FAST).fit(X[:200], y[:200])
    return model, X[200:], y[200:]


@pytest.fixture(scope="module")
def classification() -> tuple[MLPClassifier, np.ndarray, np.ndarray]:
    X, y = _blobs(300)
    model = MLPClassifier(**FAST).fit(X[:200], y[:200])
    return model, X[200:], y[200:]


def test_regression_generalizes(regression: tuple[MLPRegressor, np.ndarray, np.ndarray]) -> None:
    model, X_test, y_test = regression
    pred = model.predict(X_test)
    assert pred.dtype == np.float64
    assert pred.shape == (100,)
    assert r2_score(y_test, pred) > 0.8
    assert model.n_features_in_ == 2
    assert 1 <= model.n_epochs_ <= 200
    assert model.best_val_loss_ is not None


def test_classification_generalizes(
    classification: tuple[MLPClassifier, np.ndarray, np.ndarray],
) -> None:
    model, X_test, y_test = classification
    assert model.classes_.tolist() == ["high", "low"]
    assert accuracy_score(y_test, model.predict(X_test)) > 0.9
    proba = model.predict_proba(X_test)
    assert proba.dtype == np.float64
    assert proba.shape == (100, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-12)
    assert set(model.predict(X_test)) <= {"high", "low"}
    np.testing.assert_array_equal(model.predict(X_test), model.classes_[proba.argmax(axis=1)])


def test_float32_input_gives_float64_output(
    regression: tuple[MLPRegressor, np.ndarray, np.ndarray],
) -> None:
    model, X_test, _ = regression
    pred32 = model.predict(X_test.astype(np.float32))
    assert pred32.dtype == np.float64
    np.testing.assert_array_equal(pred32, model.predict(X_test))


def test_seed_determinism() -> None:
    X, y = _smooth(120, seed=1)
    params = {**FAST, "max_epochs": 30}
    a = MLPRegressor(**params, seed=3).fit(X, y).predict(X)
    b = MLPRegressor(**params, seed=3).fit(X, y).predict(X)
    c = MLPRegressor(**params, seed=4).fit(X, y).predict(X)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_fit_leaves_global_torch_rng_alone() -> None:
    X, y = _smooth(40)
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    MLPRegressor(**{**FAST, "max_epochs": 5}).fit(X, y)
    assert torch.equal(torch.rand(3), expected)


def test_clone_and_params() -> None:
    model = MLPRegressor(hidden=16, layers=3, dropout=0.2, lr=3e-3, weight_decay=0.0, seed=7)
    params = model.get_params()
    assert params["hidden"] == 16
    assert params["device"] == "auto"
    twin = clone(model)
    assert twin is not model
    assert twin.get_params() == params
    assert clone(MLPClassifier(patience=5)).get_params()["patience"] == 5


def test_predict_before_fit_raises() -> None:
    with pytest.raises(NotFittedError):
        MLPRegressor().predict(np.zeros((2, 2)))
    with pytest.raises(NotFittedError):
        MLPClassifier().to_state()


def test_wrong_feature_count_raises(
    regression: tuple[MLPRegressor, np.ndarray, np.ndarray],
) -> None:
    model, X_test, _ = regression
    with pytest.raises(ValueError, match="features"):
        model.predict(X_test[:, :1])


def test_state_round_trip_regressor(
    regression: tuple[MLPRegressor, np.ndarray, np.ndarray],
) -> None:
    model, X_test, _ = regression
    state = model.to_state()
    assert isinstance(state["weights"], bytes)
    config = json.loads(json.dumps(state["config"]))
    assert config["hidden"] == 32
    assert config["n_features_in_"] == 2
    restored = MLPRegressor.from_state({"config": config, "weights": state["weights"]})
    assert restored.get_params() == model.get_params()
    np.testing.assert_array_equal(restored.predict(X_test), model.predict(X_test))


def test_state_round_trip_classifier(
    classification: tuple[MLPClassifier, np.ndarray, np.ndarray],
) -> None:
    model, X_test, _ = classification
    state = model.to_state()
    config = json.loads(json.dumps(state["config"]))
    restored = MLPClassifier.from_state({"config": config, "weights": state["weights"]})
    np.testing.assert_array_equal(restored.classes_, model.classes_)
    np.testing.assert_array_equal(restored.predict(X_test), model.predict(X_test))
    np.testing.assert_array_equal(restored.predict_proba(X_test), model.predict_proba(X_test))
    with pytest.raises(ValueError, match="classifier"):
        MLPRegressor.from_state(state)


def test_integer_labels_round_trip_keep_dtype() -> None:
    X, y = _blobs(40)
    labels = np.where(y == "low", 3, 7)
    model = MLPClassifier(**{**FAST, "max_epochs": 10}).fit(X, labels)
    restored = MLPClassifier.from_state(model.to_state())
    assert restored.classes_.dtype == model.classes_.dtype
    np.testing.assert_array_equal(restored.predict(X), model.predict(X))


def test_tiny_dataset_fits_without_validation() -> None:
    X, y = _smooth(8)
    model = MLPRegressor(**{**FAST, "max_epochs": 50}).fit(X, y)
    assert model.n_epochs_ == 10  # max_epochs // 5, no early stopping
    assert model.best_val_loss_ is None
    pred = model.predict(X)
    assert pred.shape == (8,)
    assert np.all(np.isfinite(pred))
    Xc, yc = _blobs(8)
    assert MLPClassifier(**FAST).fit(Xc, yc).predict_proba(Xc).shape == (8, 2)


def test_constant_target() -> None:
    X, _ = _smooth(30)
    pred = MLPRegressor(**{**FAST, "max_epochs": 5}).fit(X, np.full(30, 2.5)).predict(X)
    np.testing.assert_allclose(pred, 2.5, atol=1.0)


def test_inside_pipeline_cross_validation() -> None:
    X, y = _smooth(150, seed=2)
    pipe = make_pipeline(StandardScaler(), MLPRegressor(**{**FAST, "max_epochs": 100}))
    scores = cross_val_score(pipe, X, y, cv=3)
    assert scores.shape == (3,)
    assert np.all(np.isfinite(scores))
    assert scores.mean() > 0.6
