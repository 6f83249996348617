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

from labsight.models._arrays import FeatureArrays
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


def _values(part: _Part, x: FeatureArrays) -> np.ndarray:
    if isinstance(part, _Numbers):
        return x.numbers_of(part.columns)
    return x.categories_of(part.columns)


@dataclass(frozen=True)
class _Pipeline:
    parts: list[_Part]
    final: Any
    kind: str  # "forest", "linear" or "estimator": how the final step predicts, decided once
    walk: Any = None  # a forest's _Forest

    def matrix(self, x: FeatureArrays) -> np.ndarray:
        blocks = [part.apply(_values(part, x)) for part in self.parts]
        return np.hstack(blocks) if len(blocks) > 1 else blocks[0]

    def predict(self, x: FeatureArrays) -> np.ndarray:
        z = self.matrix(x)
        if self.kind == "forest":
            walked: np.ndarray = self.walk.predict([z])[0]
            return walked
        if self.kind == "linear":  # what LinearModel._decision_function computes on an array
            return np.asarray(z @ self.final.coef_.T + self.final.intercept_)
        return np.asarray(self.final.predict(z))

    def predict_proba(self, x: FeatureArrays) -> np.ndarray:
        return np.asarray(self.final.predict_proba(self.matrix(x)))


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


@dataclass(frozen=True)
class _Forest:
    """Forests' trees in flat arrays (node ids offset per tree), walked for every tree and row at
    once: a few rows cost one pass of numpy per level of depth instead of a call per tree. The
    forests of a model and of its CV+ folds are walked together, each on its own input."""

    forests: list[Any]
    bounds: list[tuple[int, int]]  # the trees of each forest
    tree_input: np.ndarray  # which input (forest) each tree reads
    roots: np.ndarray
    children: np.ndarray  # node 2i: the left child of node i, 2i + 1 its right (a leaf: itself)
    feature: np.ndarray
    threshold: np.ndarray
    missing_left: np.ndarray
    value: np.ndarray
    depth: int

    @classmethod
    def of(cls, forests: list[Any]) -> _Forest:
        lefts: list[np.ndarray] = []
        rights: list[np.ndarray] = []
        features: list[np.ndarray] = []
        thresholds: list[np.ndarray] = []
        missing: list[np.ndarray] = []
        values: list[np.ndarray] = []
        roots: list[int] = []
        tree_input: list[int] = []
        bounds: list[tuple[int, int]] = []
        offset = 0
        for k, forest in enumerate(forests):
            bounds.append((len(roots), len(roots) + len(forest.estimators_)))
            for estimator in forest.estimators_:
                tree = estimator.tree_
                left = np.asarray(tree.children_left, dtype=np.intp)
                right = np.asarray(tree.children_right, dtype=np.intp)
                leaf = left == -1
                roots.append(offset)
                tree_input.append(k)
                here = np.arange(offset, offset + tree.node_count, dtype=np.intp)
                # a leaf leads to itself whichever way a row goes: the walk needs no mask
                lefts.append(np.where(leaf, here, left + offset))
                rights.append(np.where(leaf, here, right + offset))
                features.append(np.where(leaf, 0, tree.feature).astype(np.intp))
                thresholds.append(np.asarray(tree.threshold, dtype=np.float64))
                mgl = getattr(tree, "missing_go_to_left", None)
                missing.append(
                    np.zeros(tree.node_count, bool) if mgl is None else np.asarray(mgl, bool)
                )
                values.append(np.asarray(tree.value[:, 0, 0], dtype=np.float64))
                offset += tree.node_count
        return cls(
            forests,
            bounds,
            np.asarray(tree_input, dtype=np.intp),
            np.asarray(roots, dtype=np.intp),
            np.stack([np.concatenate(lefts), np.concatenate(rights)], axis=1).ravel(),
            np.concatenate(features),
            np.concatenate(thresholds),
            np.concatenate(missing),
            np.concatenate(values),
            max(e.tree_.max_depth for f in forests for e in f.estimators_),
        )

    def predict(self, zs: list[np.ndarray]) -> list[np.ndarray]:
        """What ``forest.predict(z)`` computes for each forest and its input: each tree sends a
        row left when its float32 value is at most the node's threshold (a missing value where
        the node sends it), the leaves' values are summed tree after tree in float64 and divided
        by the number of trees."""
        xs = [np.ascontiguousarray(z, dtype=np.float32) for z in zs]
        n = xs[0].shape[0]
        if n > _WALK_ROWS:  # many rows: each tree's own loop in C is faster
            out = []
            for forest, x in zip(self.forests, xs, strict=True):
                total = np.zeros(n, dtype=np.float64)
                for tree in forest.estimators_:
                    total += tree.tree_.predict(x)[:, 0]
                total /= len(forest.estimators_)
                out.append(total)
            return out
        width = max(x.shape[1] for x in xs)
        stacked = np.zeros((len(xs), n, width), dtype=np.float32)
        for k, x in enumerate(xs):
            stacked[k, :, : x.shape[1]] = x
        flat = stacked.ravel()
        # where each tree's row starts in ``flat``: the input the tree reads, then the row
        base = (self.tree_input[:, None] * n + np.arange(n)[None, :]) * width
        node = np.repeat(self.roots[:, None], n, axis=1)  # trees x rows
        missing = bool(np.isnan(flat).any())
        for _ in range(self.depth):  # (a leaf stays where it is)
            v = flat[base + self.feature[node]]
            go_right = v > self.threshold[node]  # NaN > t is False: fixed below
            if missing:
                go_right = np.where(np.isnan(v), ~self.missing_left[node], go_right)
            node = self.children[2 * node + go_right]
        leaves = self.value[node]
        return [np.cumsum(leaves[a:b], axis=0)[-1] / (b - a) for a, b in self.bounds]


_WALK_ROWS = 64


def _pipeline(estimator: Any) -> _Pipeline | None:
    from sklearn.pipeline import Pipeline

    if type(estimator) is not Pipeline or len(estimator.steps) != 2:
        return None
    parts = _prep(estimator.steps[0][1])
    if not parts:
        return None
    final = estimator.steps[1][1]
    if _is_forest(final):
        return _Pipeline(parts, final, "forest", _Forest.of([final]))
    return _Pipeline(parts, final, "linear" if _is_linear(final) else "estimator")


@dataclass(frozen=True)
class CompiledModel:
    """A model's pipeline and its CV+ fold pipelines, replayed on numpy (see the module)."""

    main: _Pipeline
    folds: list[_Pipeline]
    walk: _Forest | None = None  # every forest of main and folds, walked at once

    def predict(self, x: FeatureArrays) -> np.ndarray:
        return self.main.predict(x)

    def regress(self, x: FeatureArrays) -> tuple[np.ndarray, list[np.ndarray]]:
        """The prediction and the fold pipelines' predictions (for the CV+ interval)."""
        if self.walk is not None:
            out = self.walk.predict([p.matrix(x) for p in (self.main, *self.folds)])
            return out[0], out[1:]
        return self.main.predict(x), self.fold_predictions(x)

    def predict_proba(self, x: FeatureArrays) -> np.ndarray:
        return self.main.predict_proba(x)

    def fold_predictions(self, x: FeatureArrays) -> list[np.ndarray]:
        return [fold.predict(x) for fold in self.folds]


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


def _replays(
    compiled: CompiledModel,
    model: TrainedModel,
    x: pd.DataFrame,
    arrays: FeatureArrays,
    fold_models: list[Any],
) -> bool:
    """Whether the replay answers as scikit-learn does on ``x``, bit for bit."""
    if model.task != "regression":
        return _same(compiled.predict_proba(arrays), model.estimator.predict_proba(x)) and all(
            _same(fast, slow.predict(x))
            for fast, slow in zip(compiled.fold_predictions(arrays), fold_models, strict=True)
        )
    expected = model.estimator.predict(x)
    folds_expected = [m.predict(x) for m in fold_models]
    main, folds = compiled.regress(arrays)
    return (
        _same(compiled.predict(arrays), expected)
        and _same(main, expected)
        and len(folds) == len(folds_expected)
        and all(_same(a, b) for a, b in zip(folds, folds_expected, strict=True))
        and all(
            _same(a, b)
            for a, b in zip(compiled.fold_predictions(arrays), folds_expected, strict=True)
        )
    )


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
    kept = [f for f in folds if f is not None]
    walk = None
    if main.kind == "forest" and all(f.kind == "forest" for f in kept):
        walk = _Forest.of([p.final for p in (main, *kept)])
    compiled = CompiledModel(main, kept, walk)
    x = _check_rows(model, main)
    frames = [x] if walk is None else [x, pd.concat([x, x], ignore_index=True)]  # both walks
    numbers = [c for p in main.parts if isinstance(p, _Numbers) for c in p.columns]
    try:
        for frame in frames:
            arrays = FeatureArrays.from_pandas(
                frame, numbers, [c for c in frame.columns if c not in numbers]
            )
            if not _replays(compiled, model, frame, arrays, fold_models):
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
