"""Training: from a table and a target to a fitted model with its score, uncertainty and reasons.

:func:`train` picks the task and metric, builds group-aware folds, runs the search within the
budget, refits the winner on all rows, attaches prediction intervals (regression: CV+ conformal, or
a Gaussian process's own posterior when its cross-validated coverage is closer to nominal) or
calibrated probabilities (classification: sigmoid calibration on the same folds), and explains the
model (permutation importance on held-out folds, coefficients with confidence intervals for linear
models, partial dependence of the top features).

Tiny tables (a factorial design of 3 to 15 runs) are cross-validated leave-one-out and scored on
the pooled out-of-fold predictions (see :mod:`labsight.models._folds`): the CV score is the R²
(or the metric asked for) of every row predicted by a model that never saw it, its ± the bootstrap
spread of that score, and the held-out importance is measured the same way, over all folds.
Families that cannot be fitted on so few rows are left out and listed, with the reason, under
``skipped``; below 3 rows, or with a class of one row, training is refused in one line. A score
that is not a finite number never leaves this module.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import polars as pl
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, clone

from labsight.data.stats import numeric_values
from labsight.data.table import Table
from labsight.exceptions import InputError, LabsightError
from labsight.models._domain import training_domain
from labsight.models._families import FAMILIES, FOREST_TREES, families_for, make_pipeline
from labsight.models._features import FeatureSet, model_frame, select_features, sibling_targets
from labsight.models._folds import make_folds, replicate_groups
from labsight.models._search import (
    Candidate,
    Problem,
    _align,
    baseline,
    search,
    versus_baseline,
)
from labsight.models._task import Task, infer_task, metric_for

if TYPE_CHECKING:
    import plotly.graph_objects as go

__all__ = ["TrainedModel", "build_final", "train"]

_PD_FEATURES = 3
_PD_GRID = 20  # values per partial-dependence curve


@dataclass
class TrainedModel:
    """A fitted model and everything known about it (what ``model show`` prints).

    ``estimator`` predicts from :func:`~labsight.models._features.model_frame` of the features;
    ``intervals`` (regression) holds the conformal state; ``coverage`` is the cross-validated
    coverage of the intervals at ``level``.
    """

    estimator: Any
    task: Task
    metric: str
    target: str
    target_unit: str | None
    features: FeatureSet
    classes: list[Any] | None
    cv: dict[str, Any]
    leaderboard: list[dict[str, Any]]
    best: str
    params: dict[str, Any]
    seed: int
    budget: float
    trials: int
    seconds: float
    level: float
    interval_method: str | None = None
    coverage: float | None = None
    intervals: Any = None  # CVPlus, for regression with conformal intervals
    fold_models: list[Any] = field(default_factory=list, repr=False)
    importance: pl.DataFrame | None = None
    coefficients: pl.DataFrame | None = None
    partial_dependence: dict[str, tuple[list[float], list[float]]] = field(default_factory=dict)
    rows: int = 0
    skipped: dict[str, str] = field(default_factory=dict)  # family -> why it could not be fitted
    domain: dict[str, Any] | None = None  # training ranges, for extrapolation (models._domain)
    # The trivial baseline on the same folds (models._search.Baseline.to_dict), and whether the
    # model beats it by more than one standard error; None when it cannot be scored.
    baseline: dict[str, Any] | None = None
    better_than_baseline: bool | None = None
    left_out: dict[str, str] = field(default_factory=dict)  # column -> why it is not an input
    siblings: list[str] = field(default_factory=list)  # inputs that look like other outcomes
    # What the budget cut short, in words ("importance repeats 3 -> 1"); empty when nothing was.
    cut_short: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """The JSON view of the model (without the fitted objects)."""
        return {
            "task": self.task,
            "metric": self.metric,
            "target": self.target,
            "target_unit": self.target_unit,
            "features": list(self.features.columns),
            "numeric": list(self.features.numeric),
            "categorical": list(self.features.categorical),
            "encoded": list(self.features.encoded),
            "molecules": list(self.features.molecules),
            "left_out": [{"column": c, "reason": why} for c, why in self.left_out.items()],
            "siblings": list(self.siblings),
            "units": self.features.units,
            "classes": self.classes,
            "cv": self.cv,
            "baseline": self.baseline,
            "better_than_baseline": self.better_than_baseline,
            "leaderboard": self.leaderboard,
            "best": self.best,
            "params": self.params,
            "seed": self.seed,
            "budget": self.budget,
            "trials": self.trials,
            "seconds": self.seconds,
            "cut_short": list(self.cut_short),
            "interval": {
                "level": self.level,
                "method": self.interval_method,
                "coverage": self.coverage,
            }
            if self.task == "regression"
            else None,
            "importance": self.importance.to_dicts() if self.importance is not None else [],
            "importance_measured": (
                f"{self.importance.height} of {len(self.features.inputs)} features"
                if self.importance is not None
                else None
            ),
            "coefficients": self.coefficients.to_dicts() if self.coefficients is not None else None,
            "partial_dependence": {
                name: {"grid": grid, "average": average}
                for name, (grid, average) in self.partial_dependence.items()
            },
            "rows": self.rows,
            "skipped": [{"family": f, "reason": why} for f, why in self.skipped.items()],
            "domain": self.domain,
        }

    def figures(self) -> dict[str, go.Figure]:
        """The explanations as Plotly figures (they render inline in Jupyter): ``importance``,
        ``partial_dependence`` (the top numeric features) and, for linear models,
        ``coefficients`` with their bootstrap intervals in the features' units."""
        from labsight.models._explain import (
            coefficients_figure,
            importance_figure,
            partial_dependence_figure,
        )

        out: dict[str, go.Figure] = {}
        if self.importance is not None and self.importance.height:
            out["importance"] = importance_figure(self.importance)
        if self.partial_dependence:
            out["partial_dependence"] = partial_dependence_figure(
                self.partial_dependence, self.features.units
            )
        if self.coefficients is not None and self.coefficients.height:
            out["coefficients"] = coefficients_figure(self.coefficients)
        return out


def _check_level(level: float) -> None:
    if not 0.5 <= level < 1.0:
        raise InputError(
            f"interval level {level} is out of range",
            expected="a coverage between 0.5 and 0.99, e.g. 0.9",
            got=str(level),
        )


def _target_values(table: Table, target: str, task: Task) -> tuple[np.ndarray, np.ndarray]:
    """The target as numpy, and the mask of rows that have one."""
    series = table.frame[target]
    if task == "regression":
        values = numeric_values(series)
        keep = ~np.isnan(values)
        return values[keep], keep
    keep = series.is_not_null().to_numpy()
    return np.asarray(series.cast(pl.String).to_numpy()[keep], dtype=object), keep


def _groups(
    table: Table, x: pd.DataFrame, keep: np.ndarray
) -> tuple[np.ndarray | None, str | None]:
    from labsight.data.quality._replicates import replicate_index_columns

    # A column that numbers the replicates of each setting (replicate 1, 2, 3) is guessed as a
    # group by its name, but grouping folds by it puts replicate k of every setting in one fold and
    # its twins in the others: the leak grouping is meant to stop. The replicates are kept together
    # by their settings instead.
    numbering = [c for c in table.by_role("group") if c in replicate_index_columns(table)]
    group_cols = [c for c in table.by_role("group") if c not in numbering]
    if group_cols:
        name = group_cols[0]
        values = table.frame[name].cast(pl.String).fill_null("(missing)").to_numpy()[keep]
        _, ids = np.unique(values, return_inverse=True)
        return ids, f"column {name!r}"
    replicates = replicate_groups(x)
    if replicates is None:
        return None, None
    if numbering:
        return replicates, (
            f"replicates; column {numbering[0]!r} numbers the replicates of each setting, "
            "so it is not a group"
        )
    return replicates, "replicates"


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


def train(
    table: Table,
    target: str,
    *,
    task: str = "auto",
    metric: str | None = None,
    budget: float = 60.0,
    seed: int = 0,
    level: float = 0.9,
    families: list[str] | None = None,
    features: list[str] | None = None,
    exclude: list[str] | None = None,
    max_trials: int | None = None,
    on_trial: Callable[[Candidate | None, list[Candidate], int], None] | None = None,
) -> TrainedModel:
    """Train the best model for ``target`` within ``budget`` seconds.

    ``features`` names the input columns (default: every column with role feature or condition,
    and SMILES columns as their descriptors); ``exclude`` leaves columns out of them. The model
    records the columns left out and why, the inputs that look like other outcomes
    (``siblings``), which rows its folds keep together (``cv["grouping"]``), and how it compares
    with the trivial baseline on the same folds (``baseline``, ``better_than_baseline``).

    Raises
    ------
    InputError
        For an unknown target, task, metric, family or column, an excluded target, too few rows,
        or a bad interval level.
    """
    start = time.perf_counter()
    if target not in table.frame.columns:
        raise InputError(
            f"unknown target column {target!r}",
            expected="one of " + ", ".join(repr(c) for c in table.frame.columns),
            got=repr(target),
        )
    if task not in ("auto", "regression", "classification"):
        raise InputError(
            f"unknown task {task!r}", expected="auto, regression or classification", got=task
        )
    unknown = [f for f in families or [] if f not in FAMILIES]
    if unknown:
        raise InputError(
            f"unknown model family {unknown[0]!r}",
            expected="one of " + ", ".join(FAMILIES),
            got=unknown[0],
        )
    if budget <= 0:
        raise InputError("the budget must be positive", expected="seconds > 0", got=str(budget))
    _check_level(level)
    kind: Task = infer_task(table.frame[target]) if task == "auto" else task  # type: ignore[assignment]
    score = metric_for(metric, kind)
    fs, left_out = select_features(table, target, features, exclude)
    y, keep = _target_values(table, target, kind)
    x_all = model_frame(table, fs)
    x = x_all[keep].reset_index(drop=True)
    groups, grouped_by = _groups(table, x, keep)
    folds = make_folds(
        y, classification=kind == "classification", groups=groups, grouped_by=grouped_by, seed=seed
    )
    candidates = families_for(kind, len(y), families)
    if not candidates:  # every family asked for is for the other task, or too slow at this size
        why = "; ".join(
            f"{n} is for {' and '.join(sorted(FAMILIES[n].tasks))}"
            if kind not in FAMILIES[n].tasks
            else f"{n} takes at most {FAMILIES[n].max_rows} rows"
            for n in (families or [])
        )
        raise InputError(
            f"none of the families asked for can train a {kind} model on {len(y)} rows: {why}",
            hint="Name other --families, or pass --task if the target was read as the wrong kind",
        )
    remaining = budget - (time.perf_counter() - start)
    problem = Problem(x, y, fs, kind, score, folds, seed)
    result = search(
        problem,
        candidates,
        budget=remaining,
        max_trials=max_trials,
        on_trial=on_trial,
        finish=lambda c: _finish_seconds(c, kind, folds.n_splits, budget),
    )
    best = result.best
    if not (math.isfinite(best.mean) and math.isfinite(best.std)):  # the search rules it out
        raise LabsightError(
            f"the cross-validated {score.name} of {best.name} is not a number "
            f"({best.mean} ± {best.std}); nothing was stored",
            hint="Please report this with the table",
        )
    model = TrainedModel(
        estimator=None,
        task=kind,
        metric=score.name,
        target=target,
        target_unit=table.column(target).unit,
        features=fs,
        classes=sorted(np.unique(y).tolist()) if kind == "classification" else None,
        cv={
            "mean": best.mean,
            "std": best.std,
            "folds": len(folds.splits) if folds.pooled else len(best.scores),
            "scheme": folds.describe(),
            "grouping": folds.grouping,
        },
        leaderboard=[c.row() for c in result.leaderboard],
        best=best.name,
        params=best.row()["params"],
        seed=seed,
        budget=budget,
        trials=result.trials,
        seconds=0.0,
        level=level,
        rows=len(y),
        skipped=dict(result.skipped),
        cut_short=list(result.cut_short),
        domain=training_domain(x, fs.numeric, seed),
        left_out=left_out,
        siblings=sibling_targets(table, target, fs, classes=kind == "classification"),
    )
    base = baseline(problem)
    if base is not None:
        compared = versus_baseline(problem, best, base)
        model.baseline = compared.to_dict(score.name)
        model.better_than_baseline = compared.better
    # the model file is written after train returns (the registry's save): its time is kept too
    _finish(model, best, problem, deadline=start + budget - _saving_seconds(best, folds.n_splits))
    model.seconds = time.perf_counter() - start
    return model


_LINEAR = frozenset({"linear", "ridge", "lasso", "elastic_net", "logistic"})
_EXPLAIN_SHARE = 0.05  # of the budget, at least one second: importance, coefficients, curves
_REPEATS = (3, 10)  # permutation importance repeats: the usual fewest, and the most
_ALWAYS_MEASURED = 50  # up to this many inputs, importance covers every one, whatever time is left
_BOOTSTRAP = (30, 200)  # coefficient bootstrap draws: the usual fewest, and the most
_FEWEST_DRAWS = 10  # when even 30 do not fit in the time left


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
    return candidate.fit_seconds * fits + explain + _saving_seconds(candidate, n_splits)


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
        if m.family in ("random_forest", "extra_trees")
    )
    return _SAVE_PER_TREE * trees * (n_splits + 1)


def _finish(model: TrainedModel, best: Candidate, problem: Problem, *, deadline: float) -> None:
    """Refit on all rows, attach intervals or calibration, and explain within what is left of the
    budget: fewer importance repeats and bootstrap draws when time is short (below the usual 3
    and 30 only when even those do not fit, and then ``model.cut_short`` says so); every input of
    a table with up to :data:`_ALWAYS_MEASURED` of them, with one repeat if that is all there is
    time for; partial dependence only when there is time for it."""
    from labsight.models._explain import (
        linear_coefficients,
        partial_dependence_curves,
        partial_dependence_sample,
        permutation_importance_table,
    )

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
        # Importance on held-out rows: a model fitted on the other folds of the first partition;
        # on pooled folds (one row held out per fold), every row by the model that never saw it.
        test_rows = partition[0][1]
        held, explained_held = _held_out(model, best, problem, partition)
        if problem.folds.pooled:
            test_rows = np.arange(len(y))
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
        inputs = len(fs.inputs)
        usual = int(np.clip(0.6 * left / (per_predict * inputs), *_REPEATS))
        repeats = min(usual, max(1, int(0.6 * left / (per_predict * inputs))))
        if repeats < usual:
            model.cut_short.append(f"importance repeats {usual} -> {repeats}")
        # A table of a few dozen inputs is always explained whole (the fewest repeats cost a few
        # predictions each, even when the search left no time): the strongest feature must not
        # be missing. Wide tables (spectra): measure the columns that fit in the time left, chosen
        # by a univariate screen on all rows; the summary says how many were measured.
        fits = max(1, int(0.6 * left / (per_predict * repeats)))
        wide = inputs > _ALWAYS_MEASURED and fits < inputs
        columns = _screen(x, y, fs, task, fits) if wide else None
        model.importance = permutation_importance_table(
            held,
            x.iloc[test_rows],
            y[test_rows],
            scoring=problem.metric.sklearn_name,
            n_repeats=repeats,
            seed=seed,
            columns=columns,
        )
        if not best.members and best.family in _LINEAR:
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
