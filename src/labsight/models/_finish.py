"""The finishing work of :func:`labsight.models.train.train`, after the search has chosen.

:func:`_finish` refits the chosen candidate (:func:`build_final`) on all rows, attaches CV+
conformal intervals (or a Gaussian process's own, when its coverage is closer to nominal) or
sigmoid calibration, and explains the model on held-out rows (permutation importance, linear
coefficients, partial dependence) within what is left of the budget, reusing the fold models the
search fitted where it can (:func:`_reused_fold_models`). :func:`_finish_seconds` and
:func:`_saving_seconds` estimate, before the search, how long this work and writing the model file
will take, so the search leaves time for them.
"""

from __future__ import annotations

import math
import time
import warnings
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, clone

from labsight.data.sequences import summary_columns
from labsight.models._candidate import Candidate, Problem
from labsight.models._families import FAMILIES, FOREST_TREES, make_pipeline
from labsight.models._features import FeatureSet
from labsight.models._search import _align
from labsight.models._task import Task

if TYPE_CHECKING:
    from labsight.models._trained import TrainedModel

__all__ = ["build_final"]

_PD_FEATURES = 3
_PD_GRID = 20  # values per partial-dependence curve
_LINEAR = frozenset({"linear", "ridge", "lasso", "elastic_net", "logistic"})
_EXPLAIN_SHARE = 0.05  # of the budget, at least one second: importance, coefficients, curves
_REPEATS = (3, 10)  # permutation importance repeats: the usual fewest, and the most
_ALWAYS_MEASURED = 50  # up to this many inputs, importance covers every one, whatever time is left
_BOOTSTRAP = (30, 200)  # coefficient bootstrap draws: the usual fewest, and the most
_FEWEST_DRAWS = 10  # when even 30 do not fit in the time left


def build_final(candidate: Candidate, features: FeatureSet, task: Task, seed: int) -> BaseEstimator:
    """The estimator of a leaderboard candidate, unfitted: a pipeline, or a vote of pipelines."""
    if candidate.members:
        from labsight.models._blend import BlendClassifier, BlendRegressor

        parts = [
            (m.family, make_pipeline(FAMILIES[m.family], m.params, features, task, seed))
            for m in candidate.members
        ]
        if task == "regression":
            return BlendRegressor(parts, weights=candidate.weights)
        return BlendClassifier(parts, voting="soft", weights=candidate.weights)
    return make_pipeline(FAMILIES[candidate.family], candidate.params, features, task, seed)


def _reused_fold_models(
    candidate: Candidate, x: pd.DataFrame, y: np.ndarray, partition: list[Any]
) -> list[Any]:
    """The fold models of the first partition that the search fitted already, for a single
    model; for a blend, votes of its members' fold models (frozen, so nothing is refitted). An
    empty list when some are missing."""
    if not candidate.members:
        return list(candidate.fold_models)
    if not all(m.fold_models for m in candidate.members):
        return []
    from sklearn.frozen import FrozenEstimator

    from labsight.models._blend import BlendClassifier, BlendRegressor

    vote = BlendRegressor if candidate.oof.ndim == 2 else BlendClassifier
    models = []
    for k, (train_rows, _) in enumerate(partition):
        parts = [(m.family, FrozenEstimator(m.fold_models[k])) for m in candidate.members]
        options = {} if vote is BlendRegressor else {"voting": "soft"}
        models.append(
            vote(parts, weights=candidate.weights, **options).fit(x.iloc[train_rows], y[train_rows])
        )
    return models


def _finish_seconds(candidate: Candidate, task: Task, n_splits: int, budget: float) -> float:
    """How long :func:`_finish` will take for ``candidate``, from its measured fit time on a
    fold: one refit on all rows (``k/(k-1)`` times the rows; a family that scales worse than
    linearly pays for it); for an ensemble, also one fit per fold for the intervals and one on
    held-out rows for the importance (a single model reuses its fold models from the search);
    for a classifier, one fit per fold for the calibration; and a share of the budget for the
    explanations."""
    members = candidate.members or [candidate]
    exponent = max(FAMILIES[m.family].exponent for m in members)
    fits: float = (n_splits / max(n_splits - 1, 1)) ** exponent
    if task == "classification":
        fits += n_splits
    if not all(m.fold_models for m in members):
        fits += (n_splits + 1) if task == "regression" else 1
    explain = max(1.0, _EXPLAIN_SHARE * budget)
    if any(FAMILIES[m.family].image for m in members):
        explain += _SALIENCY_SECONDS
    return candidate.fit_seconds * fits + explain + _saving_seconds(candidate, n_splits)


_SALIENCY_SECONDS = 4.0
"""Kept for an image model's occlusion maps: 4 held-out images, 37 predictions each (a 6 × 6 grid),
at about 25 ms an image for the ImageNet features on one CPU core."""

_SAVE_PER_TREE = 0.0015
"""Seconds to write one decision tree of a forest into the model file: skops writes each tree as
an object of its own (measured: 2,400 trees of 140 rows in 3.4 s), for the final model and each
fold model behind the intervals; the other families' files are written in a fraction of that."""


def _saving_seconds(candidate: Candidate, n_splits: int) -> float:
    """How long writing ``candidate``'s model file will take (its forests' trees, each saved for
    the final model and each fold model)."""
    trees = sum(
        int(m.params.get("n_estimators", FOREST_TREES))
        for m in candidate.members or [candidate]
        if FAMILIES[m.family].forest
    )
    return _SAVE_PER_TREE * trees * (n_splits + 1)


def _finish(model: TrainedModel, best: Candidate, problem: Problem, *, deadline: float) -> None:
    """Refit on all rows, attach intervals or calibration, and explain within what is left of the
    budget: fewer importance repeats and bootstrap draws when time is short (below the usual 3
    and 30 only when even those do not fit, and then ``model.cut_short`` says so); every input of
    a table with up to :data:`_ALWAYS_MEASURED` of them, with one repeat if that is all there is
    time for; partial dependence only when there is time for it."""
    x, y, task, fs, seed = problem.x, problem.y, problem.task, problem.features, problem.seed
    final = build_final(best, fs, task, seed)
    partition = problem.folds.first_partition()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if task == "classification":
            from sklearn.calibration import CalibratedClassifierCV

            final = CalibratedClassifierCV(final, method="sigmoid", cv=partition, ensemble=False)
        final.fit(x, y)
        model.estimator = final
        if task == "regression":
            _intervals(model, best, x, y, partition)
        _explanations(model, best, problem, partition, deadline=deadline)


def _explanations(
    model: TrainedModel,
    best: Candidate,
    problem: Problem,
    partition: list[tuple[np.ndarray, np.ndarray]],
    *,
    deadline: float,
) -> None:
    """The explaining part of :func:`_finish`, once ``model.estimator`` is fitted (called with
    warnings silenced): importance on held-out rows, a linear model's coefficients and the
    partial dependence of the top numeric features, in the time left before ``deadline``."""
    from labsight.models._explain import (
        linear_coefficients,
        partial_dependence_curves,
        partial_dependence_sample,
        permutation_importance_table,
    )

    x, y, task, fs, seed = problem.x, problem.y, problem.task, problem.features, problem.seed
    final = model.estimator
    # Importance on held-out rows: a model fitted on the other folds of the first partition;
    # on pooled folds (one row held out per fold), every row by the model that never saw it.
    test_rows = partition[0][1]
    held, explained_held = _held_out(model, best, problem, partition)
    if problem.folds.pooled:
        test_rows = np.arange(len(y))
    if fs.image is not None:  # images: where the model looks, on images it did not see
        from labsight.models._saliency import held_out_maps

        rows = test_rows  # every row on pooled folds, each under the fold model that held it out
        pooled = isinstance(held, _HeldOut)

        def estimator_of(i: int) -> Any:
            return held.models[held.fold_of[rows[i]]] if pooled else held

        refs = list(x[fs.image].iloc[rows])
        model.saliency = held_out_maps(
            estimator_of, fs.image, refs, y[rows], task, deadline=deadline
        )
        planned = min(4, len(rows))
        if len(model.saliency) < planned:
            model.cut_short.append(f"occlusion maps {planned} -> {len(model.saliency)}")
        return
    tick = time.perf_counter()
    held.predict(x.iloc[test_rows])
    per_predict = max(time.perf_counter() - tick, 1e-4)
    explained = final if task == "regression" else explained_held
    # A partial-dependence curve predicts its sample once per grid value: one timed
    # prediction on that very sample prices it (a prediction on a few rows is mostly
    # overhead, so scaling the held-out rows' time by the row count overestimated small
    # tables fivefold and dropped their curves). The curves' share is set aside first, so a
    # long importance measurement cannot crowd them out.
    sample = partial_dependence_sample(x) if fs.numbers else x.iloc[:0]
    per_curve = 0.0
    if fs.numbers:
        proba = getattr(explained, "predict_proba", None)
        predict = proba if task == "classification" and proba else explained.predict
        tick = time.perf_counter()
        predict(sample)
        per_curve = max(time.perf_counter() - tick, 1e-4) * _PD_GRID
    pd_cost = per_curve * min(_PD_FEATURES, len(fs.numbers))
    left = max(deadline - time.perf_counter() - pd_cost, 0.0)
    # A spectrum is measured band by band (a channel alone says what its neighbours say), each
    # other input on its own; every band is measured, whatever time is left.
    groups = _spectral_groups(fs) if fs.spectrum else _sensor_groups(fs) if fs.sequence else None
    if fs.spectrum:
        model.spectrum_mean = [float(v) for v in x[list(fs.spectrum)].mean(axis=0, skipna=True)]
    inputs = len(groups) if groups is not None else len(fs.inputs)
    usual = int(np.clip(0.6 * left / (per_predict * inputs), *_REPEATS))
    repeats = min(usual, max(1, int(0.6 * left / (per_predict * inputs))))
    if repeats < usual:
        model.cut_short.append(f"importance repeats {usual} -> {repeats}")
    # A table of a few dozen inputs is always explained whole (the fewest repeats cost a few
    # predictions each, even when the search left no time): the strongest feature must not
    # be missing. Wide tables (spectra): measure the columns that fit in the time left, chosen
    # by a univariate screen on all rows; the summary says how many were measured.
    fits = max(1, int(0.6 * left / (per_predict * repeats)))
    wide = groups is None and inputs > _ALWAYS_MEASURED and fits < inputs
    columns = _screen(x, y, fs, task, fits) if wide else None
    model.importance = permutation_importance_table(
        held,
        x.iloc[test_rows],
        y[test_rows],
        scoring=problem.metric.sklearn_name,
        n_repeats=repeats,
        seed=seed,
        columns=columns,
        groups=groups,
    )
    if not best.members and best.family in _LINEAR and not fs.signals:
        left = deadline - time.perf_counter() - pd_cost
        affordable = int(0.7 * left / max(best.fit_seconds, 1e-3))
        draws = int(np.clip(affordable, _FEWEST_DRAWS, _BOOTSTRAP[1]))
        if draws < _BOOTSTRAP[0]:
            model.cut_short.append(f"coefficient bootstrap draws {_BOOTSTRAP[0]} -> {draws}")
        model.coefficients = linear_coefficients(explained, x, y, fs, seed=seed, n_boot=draws)
    top = [f for f in model.importance["feature"].to_list() if f in fs.numbers][:_PD_FEATURES]
    # Most important first, in the time left.
    for name in top:
        if time.perf_counter() + per_curve < deadline:
            model.partial_dependence |= partial_dependence_curves(
                explained, sample, [name], grid=_PD_GRID
            )
    if len(model.partial_dependence) < len(top):
        model.cut_short.append(
            f"partial dependence curves {len(top)} -> {len(model.partial_dependence)}"
        )


def _held_out(
    model: TrainedModel,
    best: Candidate,
    problem: Problem,
    partition: list[tuple[np.ndarray, np.ndarray]],
) -> tuple[Any, Any]:
    """The model that importance is measured with on held-out rows, and a plain fitted model for
    the curves of a classifier: the first fold's model; on pooled folds, a :class:`_HeldOut` over
    every fold model of the partition (fitted here if the search let them go)."""
    x, y, fs, task, seed = problem.x, problem.y, problem.features, problem.task, problem.seed
    if not problem.folds.pooled:
        train_rows, _ = partition[0]
        reused = model.fold_models or _reused_fold_models(best, x, y, partition[:1])
        if reused:
            return reused[0], reused[0]
        first = clone(build_final(best, fs, task, seed)).fit(x.iloc[train_rows], y[train_rows])
        return first, first
    models = model.fold_models or _reused_fold_models(best, x, y, partition)
    if not models:
        models = [
            clone(build_final(best, fs, task, seed)).fit(x.iloc[train], y[train])
            for train, _ in partition
        ]
    fold_of = np.empty(len(y), dtype=np.int64)
    for k, (_, test) in enumerate(partition):
        fold_of[test] = k
    if task == "classification":
        return _HeldOutClassifier(models, fold_of, problem.classes), models[0]
    return _HeldOutRegressor(models, fold_of), models[0]


class _HeldOut(BaseEstimator):  # type: ignore[misc]
    """Predicts row ``i`` of the training table (by position) with the fold model that held it
    out: permutation importance on a leave-one-out table, pooled over the folds. Only for
    tables of the training rows in their order (a permuted column keeps the positions)."""

    def __init__(self, models: list[Any], fold_of: np.ndarray) -> None:
        self.models = models
        self.fold_of = fold_of

    def _route(self, x: pd.DataFrame, method: str, width: int | None = None) -> np.ndarray:
        if len(x) != len(self.fold_of):
            raise ValueError("held-out predictions need the training rows, in their order")
        shape = (len(x),) if width is None else (len(x), width)
        out = np.empty(shape, dtype=np.float64)
        for k, fold_model in enumerate(self.models):
            rows = np.flatnonzero(self.fold_of == k)
            if rows.size:
                out[rows] = self._one(fold_model, x.iloc[rows], method)
        return out

    def _one(self, fold_model: Any, x: pd.DataFrame, method: str) -> np.ndarray:
        return np.asarray(getattr(fold_model, method)(x), dtype=np.float64)


class _HeldOutRegressor(RegressorMixin, _HeldOut):  # type: ignore[misc]
    """:class:`_HeldOut` for regressors."""

    def predict(self, x: pd.DataFrame) -> np.ndarray:
        return self._route(x, "predict")


class _HeldOutClassifier(ClassifierMixin, _HeldOut):  # type: ignore[misc]
    """:class:`_HeldOut` for classifiers: probabilities in the order of all classes (a fold may
    miss a rare class), labels from them."""

    def __init__(self, models: list[Any], fold_of: np.ndarray, classes: Any = None) -> None:
        super().__init__(models, fold_of)
        self.classes = classes

    @property
    def classes_(self) -> np.ndarray:
        return np.asarray(self.classes)

    def _one(self, fold_model: Any, x: pd.DataFrame, method: str) -> np.ndarray:
        proba = np.asarray(fold_model.predict_proba(x), dtype=np.float64)
        return _align(proba, fold_model, self.classes_)

    def predict_proba(self, x: pd.DataFrame) -> np.ndarray:
        return self._route(x, "predict_proba", len(self.classes_))

    def predict(self, x: pd.DataFrame) -> np.ndarray:
        return np.asarray(self.classes_[np.argmax(self.predict_proba(x), axis=1)])


def _spectral_groups(fs: FeatureSet) -> dict[str, list[str]]:
    """What importance measures on a table with a spectrum: its bands, then each other input."""
    from labsight.data.spectra import bands

    spectral = set(fs.spectrum)
    groups = bands(fs.spectrum)
    for name in fs.inputs:
        if name not in spectral:
            groups.setdefault(name, [name])
    return groups


def _sensor_groups(fs: FeatureSet) -> dict[str, list[str]]:
    """What importance measures in a sequence task: each sensor (its resampled values and its
    summary statistics together), then each other input (the run's duration, readings)."""
    groups: dict[str, list[str]] = {}
    known = set(fs.numbers)
    for sensor, channel in zip(fs.sequence, fs.signals, strict=True):
        stats = [n for n in summary_columns(sensor) if n in known]
        groups[sensor] = [*channel, *stats]
    taken = {n for members in groups.values() for n in members}
    for name in fs.inputs:
        if name not in taken:
            groups.setdefault(name, [name])
    return groups


def _screen(x: pd.DataFrame, y: np.ndarray, fs: FeatureSet, task: Task, k: int) -> list[str]:
    """The ``k`` columns most related to the target on their own (F statistic; categories first,
    they are few), for importance on tables too wide to measure every column."""
    from sklearn.feature_selection import f_classif, f_regression

    numeric = list(fs.numbers)
    if not numeric or k <= len(fs.categorical):
        return list(fs.categorical)[: max(k, 1)]
    values = x[numeric].to_numpy(dtype=np.float64)
    values = np.where(np.isnan(values), np.nanmedian(values, axis=0), values)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        scores = (f_regression if task == "regression" else f_classif)(values, y)[0]
    order = np.argsort(-np.nan_to_num(scores, nan=-1.0), kind="stable")
    return [*fs.categorical, *[numeric[i] for i in order[: k - len(fs.categorical)]]]


def _intervals(
    model: TrainedModel,
    best: Candidate,
    x: pd.DataFrame,
    y: np.ndarray,
    partition: list[tuple[np.ndarray, np.ndarray]],
) -> None:
    from labsight.models._conformal import CVPlus, gaussian_oof_coverage, oof_coverage

    fs, task, seed, level = model.features, model.task, model.seed, model.level
    reused = _reused_fold_models(best, x, y, partition)
    if reused:  # fitted by the search on this very partition
        oof = np.asarray(best.oof[0], dtype=np.float64)
        conformal = CVPlus.from_fitted(reused, y, oof, partition)
    else:
        conformal = CVPlus.from_folds(lambda: build_final(best, fs, task, seed), x, y, partition)
        oof = np.empty(len(y))
        for k, (_, test) in enumerate(partition):
            oof[test] = conformal.fold_models[k].predict(x.iloc[test])
    model.intervals = conformal
    model.fold_models = list(conformal.fold_models)
    model.interval_method = "cv+"
    model.coverage = oof_coverage(y, oof, None, level)
    if best.family == "gaussian_process" and not best.members:
        mean = np.empty(len(y))
        std = np.empty(len(y))
        for k, (_, test) in enumerate(partition):
            fold = conformal.fold_models[k]
            prepped = fold[:-1].transform(x.iloc[test])
            mean[test], std[test] = fold[-1].predict(prepped, return_std=True)
        gp_coverage = gaussian_oof_coverage(y, mean, std, level)
        if abs(gp_coverage - level) < abs(model.coverage - level) and math.isfinite(gp_coverage):
            model.interval_method = "gp"
            model.coverage = gp_coverage
