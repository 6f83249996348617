"""A fitted pipeline replayed on numpy arrays, for the server's hot path: the same arithmetic as
scikit-learn, without its per-call validation, pandas indexing and column bookkeeping.

A labsight pipeline is ``Pipeline([("prep", ColumnTransformer(...)), ("model", estimator)])``;
its preprocessing is a median :class:`~sklearn.impute.SimpleImputer` with missing-value indicators
(then a :class:`~sklearn.preprocessing.StandardScaler`) for numbers and a
:class:`~sklearn.preprocessing.OneHotEncoder` for categories. :func:`compile_model` replays those
steps from their fitted state and hands the matrix to the fitted estimator itself, which is not
replaced. A model whose preprocessing holds anything else (target encoding …) is not compiled.

**Exact or not at all.** A compiled model is checked once, when it is compiled, on rows made from
its own training ranges and categories (with missing values and unseen levels): its predictions,
intervals and probabilities must equal scikit-learn's bit for bit, or it is not used. Every path
then gives the same answer whether it went through the compiled replay or not.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from labsight.models._features import MISSING_LEVEL
from labsight.models._trained import TrainedModel

__all__ = ["CompiledModel", "compile_model", "compiled"]

_CHECK_ROWS = 64


@dataclass(frozen=True)
class _Numbers:
    columns: list[str]
    fill: np.ndarray
    indicated: np.ndarray | None
    mean: np.ndarray | None
    scale: np.ndarray | None

    def apply(self, values: np.ndarray) -> np.ndarray:
        missing = np.isnan(values)
        out = np.where(missing, self.fill, values)
        if self.indicated is not None:
            out = np.hstack([out, missing[:, self.indicated].astype(np.float64)])
        if self.mean is not None:
            out = out - self.mean
        if self.scale is not None:
            out = out / self.scale
        return out


@dataclass(frozen=True)
class _Categories:
    columns: list[str]
    levels: list[dict[Any, int]]
    width: int

    def apply(self, values: np.ndarray) -> np.ndarray:
        out = np.zeros((values.shape[0], self.width), dtype=np.float64)
        offset = 0
        for k, levels in enumerate(self.levels):
            for i, value in enumerate(values[:, k]):
                j = levels.get(value)
                if j is not None:  # an unseen level is all zeros (handle_unknown="ignore")
                    out[i, offset + j] = 1.0
            offset += len(levels)
        return out


_Part = _Numbers | _Categories


def _numbers(step: Any, columns: list[str]) -> _Numbers | None:
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    steps = [s for _, s in step.steps] if isinstance(step, Pipeline) else [step]
    if not steps or type(steps[0]) is not SimpleImputer or len(steps) > 2:
        return None
    imputer = steps[0]
    if imputer.strategy not in ("median", "mean") or imputer.copy is False:
        return None
    if not (isinstance(imputer.missing_values, float) and np.isnan(imputer.missing_values)):
        return None
    fill = np.asarray(imputer.statistics_, dtype=np.float64)
    if np.isnan(fill).any() or fill.shape != (len(columns),):
        return None
    indicator = getattr(imputer, "indicator_", None)
    indicated = None
    if imputer.add_indicator:
        if indicator is None or indicator.features not in ("missing-only",):
            return None
        indicated = np.asarray(indicator.features_, dtype=np.intp)
    mean = scale = None
    if len(steps) == 2:
        scaler = steps[1]
        if type(scaler) is not StandardScaler:
            return None
        mean = np.asarray(scaler.mean_, dtype=np.float64) if scaler.with_mean else None
        scale = np.asarray(scaler.scale_, dtype=np.float64) if scaler.with_std else None
    return _Numbers(columns, fill, indicated, mean, scale)


def _categories(step: Any, columns: list[str]) -> _Categories | None:
    from sklearn.preprocessing import OneHotEncoder

    if type(step) is not OneHotEncoder or step.drop is not None or step.sparse_output:
        return None
    if step.handle_unknown != "ignore" or getattr(step, "_infrequent_enabled", False):
        return None
    levels = [{value: j for j, value in enumerate(c)} for c in step.categories_]
    return _Categories(columns, levels, sum(len(c) for c in levels))


def _prep(transformer: Any) -> list[_Part] | None:
    from sklearn.compose import ColumnTransformer

    if type(transformer) is not ColumnTransformer or transformer.remainder != "drop":
        return None
    if getattr(transformer, "sparse_output_", False):
        return None
    parts: list[_Part] = []
    for name, step, columns in transformer.transformers_:
        if name == "remainder" or step == "drop":
            continue
        if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
            return None
        part = _numbers(step, columns) if name == "num" else _categories(step, columns)
        if part is None:
            return None
        parts.append(part)
    return parts


Inputs = dict[tuple[str, ...], np.ndarray]
"""A request's input columns as numpy, by the columns a part reads: taken from the frame once,
shared by the model's pipeline and its fold pipelines."""


def _values(part: _Part, x: pd.DataFrame, inputs: Inputs) -> np.ndarray:
    key = tuple(part.columns)
    if key not in inputs:
        dtype = np.float64 if isinstance(part, _Numbers) else object
        inputs[key] = x[part.columns].to_numpy(dtype=dtype)
    return inputs[key]


@dataclass(frozen=True)
class _Pipeline:
    parts: list[_Part]
    final: Any
    kind: str  # "forest", "linear" or "estimator": how the final step predicts, decided once

    def matrix(self, x: pd.DataFrame, inputs: Inputs) -> np.ndarray:
        blocks = [part.apply(_values(part, x, inputs)) for part in self.parts]
        return np.hstack(blocks) if len(blocks) > 1 else blocks[0]

    def predict(self, x: pd.DataFrame, inputs: Inputs) -> np.ndarray:
        z = self.matrix(x, inputs)
        if self.kind == "forest":
            return _forest_predict(self.final, z)
        if self.kind == "linear":  # what LinearModel._decision_function computes on an array
            return np.asarray(z @ self.final.coef_.T + self.final.intercept_)
        return np.asarray(self.final.predict(z))

    def predict_proba(self, x: pd.DataFrame, inputs: Inputs) -> np.ndarray:
        return np.asarray(self.final.predict_proba(self.matrix(x, inputs)))


def _is_forest(final: Any) -> bool:
    """A random or extra-trees forest of one output whose trees predict one after the other."""
    from sklearn.ensemble import ExtraTreesRegressor, RandomForestRegressor

    return (
        type(final) in (RandomForestRegressor, ExtraTreesRegressor)
        and final.n_outputs_ == 1
        and final.n_jobs in (None, 1)
    )


def _is_linear(final: Any) -> bool:
    """A fitted linear regression of one output (ridge, lasso, elastic net, least squares)."""
    from sklearn.linear_model import ElasticNet, Lasso, LinearRegression, Ridge

    coef = getattr(final, "coef_", None)
    return type(final) in (Ridge, Lasso, ElasticNet, LinearRegression) and (
        isinstance(coef, np.ndarray) and coef.ndim == 1
    )


def _forest_predict(forest: Any, z: np.ndarray) -> np.ndarray:
    """What ``forest.predict`` computes, tree after tree in the same order (float32 inputs, a
    float64 sum, divided by the number of trees), without its per-tree calls through joblib."""
    x = np.ascontiguousarray(z, dtype=np.float32)
    total = np.zeros(x.shape[0], dtype=np.float64)
    for tree in forest.estimators_:
        total += tree.tree_.predict(x)[:, 0]
    total /= len(forest.estimators_)
    return total


def _pipeline(estimator: Any) -> _Pipeline | None:
    from sklearn.pipeline import Pipeline

    if type(estimator) is not Pipeline or len(estimator.steps) != 2:
        return None
    parts = _prep(estimator.steps[0][1])
    if not parts:
        return None
    final = estimator.steps[1][1]
    kind = "forest" if _is_forest(final) else "linear" if _is_linear(final) else "estimator"
    return _Pipeline(parts, final, kind)


@dataclass(frozen=True)
class CompiledModel:
    """A model's pipeline and its CV+ fold pipelines, replayed on numpy (see the module). Pass the
    same ``inputs`` dict to the calls on one frame: its columns are taken from it once."""

    main: _Pipeline
    folds: list[_Pipeline]

    def predict(self, x: pd.DataFrame, inputs: Inputs | None = None) -> np.ndarray:
        return self.main.predict(x, {} if inputs is None else inputs)

    def predict_proba(self, x: pd.DataFrame, inputs: Inputs | None = None) -> np.ndarray:
        return self.main.predict_proba(x, {} if inputs is None else inputs)

    def fold_predictions(self, x: pd.DataFrame, inputs: Inputs | None = None) -> list[np.ndarray]:
        shared: Inputs = {} if inputs is None else inputs
        return [fold.predict(x, shared) for fold in self.folds]


def _check_rows(model: TrainedModel, main: _Pipeline) -> pd.DataFrame:
    """Rows across the model's training ranges and categories, with missing values and a level it
    never saw."""
    rng = np.random.default_rng(0)
    data: dict[str, Any] = {}
    for part in main.parts:
        if isinstance(part, _Numbers):
            for j, column in enumerate(part.columns):
                centre = float(part.fill[j])
                spread = abs(centre) + 1.0
                values = rng.uniform(centre - 2 * spread, centre + 2 * spread, _CHECK_ROWS)
                values[rng.random(_CHECK_ROWS) < 0.15] = np.nan
                data[column] = values
        else:
            for column, levels in zip(part.columns, part.levels, strict=True):
                choices = [*levels, MISSING_LEVEL, "\x00unseen level"]
                data[column] = pd.Series(
                    [choices[k] for k in rng.integers(0, len(choices), _CHECK_ROWS)], dtype=object
                )
    return pd.DataFrame(data)


def _same(a: Any, b: Any) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        return False
    if a.dtype.kind == "f" and b.dtype.kind == "f":
        return bool(np.array_equal(a, b, equal_nan=True))
    return bool(np.array_equal(a, b))


def compile_model(model: TrainedModel) -> CompiledModel | None:
    """The compiled replay of ``model`` (None when its pipelines hold a step not replayed, or the
    replay does not give scikit-learn's answers exactly on the check rows)."""
    main = _pipeline(model.estimator)
    if main is None:
        return None
    fold_models = list(getattr(model.intervals, "fold_models", None) or [])
    folds = [_pipeline(m) for m in fold_models]
    if any(f is None for f in folds):
        return None
    compiled = CompiledModel(main, [f for f in folds if f is not None])
    x = _check_rows(model, main)
    try:
        if model.task == "regression":
            if not _same(compiled.predict(x), model.estimator.predict(x)):
                return None
        elif not _same(compiled.predict_proba(x), model.estimator.predict_proba(x)):
            return None
        for fast, slow in zip(compiled.fold_predictions(x), fold_models, strict=True):
            if not _same(fast, slow.predict(x)):
                return None
    except (ValueError, TypeError, KeyError, AttributeError):
        return None
    return compiled


_SEEN: set[int] = set()
_COMPILED: dict[int, CompiledModel | None] = {}


def compiled(model: TrainedModel) -> CompiledModel | None:
    """The compiled replay of ``model`` (None: use scikit-learn), made once per model object from
    its second prediction on: a model that predicts once (a command line) never pays for the
    compilation and its check."""
    key = id(model)
    if key in _COMPILED:
        return _COMPILED[key]
    if key not in _SEEN:
        _SEEN.add(key)
        forget: Callable[..., Any] = _SEEN.discard
        weakref.finalize(model, forget, key)
        return None
    _COMPILED[key] = compile_model(model)
    drop: Callable[..., Any] = _COMPILED.pop
    weakref.finalize(model, drop, key, None)
    return _COMPILED[key]
