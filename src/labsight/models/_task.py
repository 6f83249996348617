"""Tasks and metrics: what kind of problem a target makes, and how a model is scored.

Every metric is oriented so that larger is better (error metrics are negated, as scikit-learn's
``neg_*`` scorers are), so a search can always maximize.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import polars as pl
from sklearn import metrics as skm

from labsight.exceptions import InputError

__all__ = ["METRICS", "Metric", "Task", "default_metric", "infer_task", "metric_for"]

Task = Literal["regression", "classification", "segmentation"]
_MAX_CLASSES = 12  # an integer target with at most this many levels is a class label


@dataclass(frozen=True)
class Metric:
    """A score with its direction: ``sklearn_name`` is what ``cross_validate`` understands."""

    name: str
    task: Task
    sklearn_name: str
    greater_is_better: bool
    needs_proba: bool = False

    def score(
        self, y_true: np.ndarray, y_pred: np.ndarray, proba: np.ndarray | None = None
    ) -> float:
        """The metric's own value (an RMSE is positive here; ``oriented`` flips it for a search)."""
        if self.needs_proba:
            if proba is None:
                raise ValueError(f"metric {self.name} needs class probabilities")
            return float(_FUNCS[self.name](y_true, proba))
        return float(_FUNCS[self.name](y_true, y_pred))

    def oriented(self, value: float) -> float:
        """The value with larger meaning better."""
        return value if self.greater_is_better else -value


def _rmse(y: np.ndarray, p: np.ndarray) -> float:
    return float(np.sqrt(skm.mean_squared_error(y, p)))


def _auc(y: np.ndarray, proba: np.ndarray) -> float:
    if proba.ndim == 2 and proba.shape[1] == 2:
        return float(skm.roc_auc_score(y, proba[:, 1]))
    return float(skm.roc_auc_score(y, proba, multi_class="ovr"))


_FUNCS: dict[str, Callable[..., float]] = {
    "r2": skm.r2_score,
    "rmse": _rmse,
    "mae": skm.mean_absolute_error,
    "accuracy": skm.accuracy_score,
    "balanced_accuracy": skm.balanced_accuracy_score,
    "f1_macro": lambda y, p: skm.f1_score(y, p, average="macro"),
    "roc_auc": _auc,
    "log_loss": skm.log_loss,
}

METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric("r2", "regression", "r2", True),
        Metric("rmse", "regression", "neg_root_mean_squared_error", False),
        Metric("mae", "regression", "neg_mean_absolute_error", False),
        Metric("accuracy", "classification", "accuracy", True),
        Metric("balanced_accuracy", "classification", "balanced_accuracy", True),
        Metric("f1_macro", "classification", "f1_macro", True),
        Metric("roc_auc", "classification", "roc_auc_ovr", True, needs_proba=True),
        Metric("log_loss", "classification", "neg_log_loss", False, needs_proba=True),
    )
}
"""Metric name → metric, for ``--metric``."""


def infer_task(target: pl.Series) -> Task:
    """Classification for text, booleans and integers with at most 12 levels; else regression.

    Examples
    --------
    >>> infer_task(pl.Series([1.5, 2.0, 3.1])), infer_task(pl.Series(["a", "b", "a"]))
    ('regression', 'classification')
    """
    dtype = target.dtype
    if dtype == pl.Boolean or dtype in (pl.String, pl.Categorical) or isinstance(dtype, pl.Enum):
        return "classification"
    if dtype.is_integer() and target.drop_nulls().n_unique() <= _MAX_CLASSES:
        return "classification"
    if dtype.is_numeric():
        return "regression"
    raise InputError(
        f"cannot learn a target of type {dtype}",
        expected="a numeric target (regression) or a few class labels (classification)",
        got=str(dtype),
    )


def default_metric(task: Task) -> Metric:
    """R² for regression, balanced accuracy for classification (fair under class imbalance)."""
    return METRICS["r2" if task == "regression" else "balanced_accuracy"]


def metric_for(name: str | None, task: Task) -> Metric:
    """The metric called ``name`` (the task's default when None), checked against the task."""
    if name is None:
        return default_metric(task)
    metric = METRICS.get(name)
    if metric is None or metric.task != task:
        names = [m for m, v in METRICS.items() if v.task == task]
        raise InputError(
            f"metric {name!r} does not score {task}",
            expected="one of " + ", ".join(names),
            got=name,
            hint=f"Pass --metric {names[0]} (or leave it out for the default)",
        )
    return metric
