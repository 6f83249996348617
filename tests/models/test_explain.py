"""Explanations of fitted pipelines: importance, coefficients in original units, partial dependence."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import polars as pl
import pytest
from sklearn.pipeline import Pipeline

from labsight.models._explain import (
    coefficients_figure,
    importance_figure,
    linear_coefficients,
    partial_dependence_curves,
    partial_dependence_figure,
    permutation_importance_table,
)
from labsight.models._families import FAMILIES, make_pipeline
from labsight.models._features import FeatureSet

FEATURES = FeatureSet(
    numeric=("x1 [degC]", "x2", "x3"),
    categorical=(),
    units={"x1 [degC]": "degC", "x2": None, "x3": None},
)


def _data(n: int = 300, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """y = 3·x1 − 2·x2 + noise, x3 pure noise; x1 lives in the hundreds (a large scale)."""
    rng = np.random.default_rng(seed)
    x1 = rng.normal(300.0, 3.0, n)  # hundreds, spread of a few units
    x2 = rng.normal(0.0, 1.5, n)
    x3 = rng.normal(0.0, 1.0, n)
    y = 3.0 * x1 - 2.0 * x2 + rng.normal(0.0, 1.0, n)
    return pd.DataFrame({"x1 [degC]": x1, "x2": x2, "x3": x3}), y


@pytest.fixture(scope="module")
def linear() -> tuple[Pipeline, pd.DataFrame, np.ndarray]:
    X, y = _data()
    model = make_pipeline(FAMILIES["linear"], {}, FEATURES, "regression", 0).fit(X, y)
    return model, X, y


def test_permutation_importance_ranks_the_drivers(
    linear: tuple[Pipeline, pd.DataFrame, np.ndarray],
) -> None:
    model, _, _ = linear
    X_test, y_test = _data(300, seed=1)
    table = permutation_importance_table(model, X_test, y_test, scoring="r2", n_repeats=10)
    assert table.columns == ["feature", "importance", "std", "unit"]
    assert table["feature"].to_list() == ["x1 [degC]", "x2", "x3"]
    x3 = table.row(2, named=True)
    assert abs(x3["importance"]) <= 2 * x3["std"] + 1e-9
    assert set(table["unit"].to_list()) == {"r2"}
    fig = importance_figure(table)
    assert len(fig.data) >= 1
    assert "r2" in fig.layout.xaxis.title.text
    json.loads(fig.to_json())


def test_linear_coefficients_in_original_units(
    linear: tuple[Pipeline, pd.DataFrame, np.ndarray],
) -> None:
    model, X, y = linear
    table = linear_coefficients(model, X, y, FEATURES, n_boot=200)
    assert table is not None
    assert table.columns == ["term", "coefficient", "lower", "upper", "unit"]
    rows = {r["term"]: r for r in table.iter_rows(named=True)}
    assert set(rows) == {"x1 [degC]", "x2", "x3"}
    assert rows["x1 [degC]"]["coefficient"] == pytest.approx(3.0, abs=0.1)
    assert rows["x2"]["coefficient"] == pytest.approx(-2.0, abs=0.1)
    assert rows["x1 [degC]"]["lower"] <= 3.0 <= rows["x1 [degC]"]["upper"]
    assert rows["x2"]["lower"] <= -2.0 <= rows["x2"]["upper"]
    assert rows["x3"]["lower"] <= 0.0 <= rows["x3"]["upper"]
    assert rows["x1 [degC]"]["unit"] == "per degC"
    assert rows["x2"]["unit"] == ""
    fig = coefficients_figure(table)
    assert len(fig.data) >= 1
    json.loads(fig.to_json())


def test_missing_indicator_and_categories_get_their_own_terms() -> None:
    rng = np.random.default_rng(2)
    n = 240
    X, y = _data(n, seed=2)
    X.loc[rng.choice(n, 30, replace=False), "x2"] = np.nan
    X["cat"] = rng.choice(["a", "b", "c"], n)
    y = y + X["cat"].map({"a": 0.0, "b": 5.0, "c": -5.0}).to_numpy()
    features = FeatureSet(FEATURES.numeric, ("cat",), FEATURES.units)
    model = make_pipeline(FAMILIES["ridge"], {"alpha": 0.1}, features, "regression", 0).fit(X, y)
    table = linear_coefficients(model, X, y, features, n_boot=50)
    assert table is not None
    rows = {r["term"]: r for r in table.iter_rows(named=True)}
    assert {"cat = a", "cat = b", "cat = c", "x2 missing"} <= set(rows)
    assert rows["cat = b"]["unit"] == "per level"
    assert rows["x1 [degC]"]["coefficient"] == pytest.approx(3.0, abs=0.2)
    level = {k: rows[f"cat = {k}"]["coefficient"] for k in "abc"}
    assert level["b"] - level["a"] == pytest.approx(5.0, abs=0.6)
    assert level["a"] - level["c"] == pytest.approx(5.0, abs=0.6)
    assert all(np.isfinite([r["lower"], r["upper"]]).all() for r in rows.values())


def test_non_linear_model_has_no_coefficients() -> None:
    X, y = _data(120, seed=3)
    forest = make_pipeline(
        FAMILIES["random_forest"], {"n_estimators": 20}, FEATURES, "regression", 0
    ).fit(X, y)
    assert linear_coefficients(forest, X, y, FEATURES, n_boot=5) is None


def test_partial_dependence_rises_with_x1(
    linear: tuple[Pipeline, pd.DataFrame, np.ndarray],
) -> None:
    model, X, _ = linear
    curves = partial_dependence_curves(model, X, ["x1 [degC]", "x2"], grid=15)
    xs, ys = curves["x1 [degC]"]
    assert len(xs) == len(ys) == 15
    assert np.all(np.diff(xs) > 0)
    assert np.all(np.diff(ys) > 0)
    assert np.all(np.diff(curves["x2"][1]) < 0)
    with pytest.raises(ValueError, match="numeric"):
        partial_dependence_curves(model, X.assign(s="a"), ["s"])
    fig = partial_dependence_figure(curves, FEATURES.units)
    assert len(fig.data) == 2
    assert fig.layout.xaxis.title.text == "x1 [degC]"  # the unit is already in the name
    json.loads(fig.to_json())


def test_partial_dependence_of_a_classifier_is_a_probability() -> None:
    X, y = _data(200, seed=4)
    labels = (y > np.median(y)).astype(int)
    model = make_pipeline(FAMILIES["logistic"], {}, FEATURES, "classification", 0).fit(X, labels)
    _, probability = partial_dependence_curves(model, X, ["x1 [degC]"], grid=10)["x1 [degC]"]
    assert all(0.0 <= p <= 1.0 for p in probability)
    assert probability[-1] > probability[0]
    table = linear_coefficients(model, X, labels, FEATURES, n_boot=20)
    assert table is not None
    assert table.filter(pl.col("term") == "x1 [degC]")["unit"].item() == "log-odds per degC"
