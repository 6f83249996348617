"""What a search judges and what it produces: the :class:`Problem` (rows, target, folds, metric
and seed, with the scoring of out-of-fold predictions that every candidate is held to) and the
:class:`Candidate` (one evaluated configuration, a blend of them, or the trivial baseline: its
cross-validated scores, out-of-fold predictions and the fold models the finishing work reuses).
The search (:mod:`labsight.models._search`), the ensemble selection
(:mod:`labsight.models._ensemble`) and the baseline (:mod:`labsight.models._baseline`) all
build on these two; they import nothing of those modules.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from labsight.models._features import FeatureSet
from labsight.models._folds import Folds
from labsight.models._task import Metric, Task

__all__ = ["Candidate", "Problem"]

_BOOTSTRAP = 200  # resamples of the rows for the spread of a pooled (leave-one-out) score


@dataclass
class Candidate:
    """One evaluated configuration: its family, parameters and cross-validated score."""

    family: str
    params: dict[str, Any]
    scores: list[float]  # per split, the metric's own values (an RMSE is positive)
    fit_seconds: float  # mean time of one fit
    trial: int
    oof: np.ndarray = field(
        repr=False
    )  # (repeats, n) predictions or (repeats, n, classes) probabilities
    members: list[Candidate] | None = None  # for an ensemble
    weights: list[float] | None = None  # of the members, summing to one
    pruned: bool = False  # stopped after a repeat: clearly behind the leader on the same folds
    # The models fitted on the folds of the first repeat, in fold order: CV+ intervals and the
    # held-out importance reuse them instead of fitting them again.
    fold_models: list[Any] = field(default_factory=list, repr=False)
    spread: float | None = None  # pooled folds: the bootstrap std of the pooled score

    @property
    def mean(self) -> float:
        return float(np.mean(self.scores))

    @property
    def std(self) -> float:
        if self.spread is not None:
            return self.spread
        return float(np.std(self.scores, ddof=1)) if len(self.scores) > 1 else 0.0

    @property
    def name(self) -> str:
        if self.members:
            return "ensemble(" + " + ".join(m.family for m in self.members) + ")"
        return self.family

    def row(self) -> dict[str, Any]:
        """The leaderboard row: ``family, mean, std, folds, fit_seconds, trial, params``."""
        return {
            "family": self.name,
            "mean": self.mean,
            "std": self.std,
            "folds": len(self.scores),
            "fit_seconds": self.fit_seconds,
            "trial": self.trial,
            "params": self.params
            if not self.members
            else {m.family: m.params for m in self.members},
            **(
                {"weights": {m.family: w for m, w in zip(self.members, self.weights, strict=True)}}
                if self.members and self.weights
                else {}
            ),
        }


@dataclass(frozen=True)
class Problem:
    """What every candidate is judged on: the rows, the target, the folds and the metric."""

    x: pd.DataFrame
    y: np.ndarray
    features: FeatureSet
    task: Task
    metric: Metric
    folds: Folds
    seed: int = 0

    @cached_property
    def classes(self) -> np.ndarray | None:
        """The sorted class labels, for classification."""
        return np.unique(self.y) if self.task == "classification" else None

    def score(self, test: np.ndarray, out: np.ndarray) -> float:
        """The metric on held-out rows ``test`` from predictions (or probabilities) ``out``."""
        if self.classes is None:
            return self.metric.score(self.y[test], out)
        labels = self.classes[np.argmax(out, axis=1)]
        return self.metric.score(self.y[test], labels, out)

    def repeat_scores(self, oof: np.ndarray) -> list[float]:
        """Pooled folds: the metric of each repeat's out-of-fold predictions (``oof[r]``), all
        rows at once."""
        rows = np.arange(len(self.y))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return [self.score(rows, out) for out in oof]

    def pooled_spread(self, oof: np.ndarray) -> float:
        """The bootstrap standard deviation of the pooled score of ``oof[0]`` over the rows (seeded,
        so candidates are compared on the same resamples)."""
        rng = np.random.default_rng(self.seed)
        n = len(self.y)
        values = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for _ in range(_BOOTSTRAP):
                rows = rng.integers(0, n, size=n)
                try:
                    value = self.score(rows, oof[0][rows])
                except ValueError:  # a resample with one class: no AUC
                    continue
                if math.isfinite(value):
                    values.append(value)
        return float(np.std(values, ddof=1)) if len(values) > 1 else 0.0
