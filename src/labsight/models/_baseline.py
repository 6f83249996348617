"""The trivial baseline, and how a model compares with it on the same folds.

:func:`baseline` predicts each test fold by the mean of its training rows (regression), or by
their class shares, whose label is the majority class (classification), on the very folds of the
search. :func:`versus_baseline` scores both models' out-of-fold predictions whole (each repeat at
once) and takes the bootstrap standard error of their difference over the rows: a model that
beats the baseline by no more than one standard error is not clearly better than a guess, and
:class:`Baseline` says so (``better``).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from labsight.models._candidate import Candidate, Problem

__all__ = ["Baseline", "baseline", "versus_baseline"]

_BASELINE_BOOTSTRAP = 100  # resamples for the standard error of the difference to the baseline


def baseline(problem: Problem, last: np.ndarray | None = None) -> Candidate | None:
    """The trivial model on the very folds of ``problem``: each test fold predicted by the mean of
    its training rows (regression), or by their class frequencies, whose label is the majority
    class (classification); for a forecast, ``last`` — each row's latest reading (persistence:
    the signal stays where it is), the mean where that reading is missing. None when its score
    cannot be computed."""
    y, folds, classes = problem.y, problem.folds, problem.classes
    shape = (folds.repeats, len(y)) + ((len(classes),) if classes is not None else ())
    oof = np.full(shape, np.nan)
    scores: list[float] = []
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for (train, test), r in zip(folds.splits, folds.repeat, strict=True):
                if classes is None:
                    out = np.full(len(test), float(np.mean(y[train])))
                    if last is not None:
                        out = np.where(np.isfinite(last[test]), last[test], out)
                else:
                    share = np.array([np.mean(y[train] == c) for c in classes])
                    out = np.tile(share, (len(test), 1))
                oof[r, test] = out
                if not folds.pooled:
                    scores.append(problem.score(test, out))
            if folds.pooled:
                scores = problem.repeat_scores(oof)
    except ValueError:  # a metric that cannot score a constant prediction on some fold
        return None
    if not scores or not all(math.isfinite(v) for v in scores):
        return None
    spread = problem.pooled_spread(oof) if folds.pooled else None
    return Candidate("baseline", {}, scores, 0.0, -1, oof, spread=spread)


@dataclass(frozen=True)
class Baseline:
    """How a model compares with the trivial baseline on the same folds.

    ``mean`` and ``std`` are the baseline's CV score as the model's is given (per fold, or pooled
    on tiny tables). The comparison is made on the out-of-fold predictions of all rows at once
    (each repeat scored whole, then averaged over the repeats): ``score`` is the baseline's,
    ``model_score`` the model's, ``difference`` the model's minus the baseline's (oriented:
    positive is better) and ``se`` its standard error, the bootstrap spread of that difference
    over the rows of the first repeat (both resampled alike). ``better`` is True when the
    difference exceeds one standard error.
    """

    predicts: str  # what the baseline predicts, in words
    mean: float
    std: float
    score: float
    model_score: float
    difference: float
    se: float

    @property
    def better(self) -> bool:
        return self.difference > max(self.se, 0.0)

    def to_dict(self, metric: str) -> dict[str, Any]:
        return {
            "metric": metric,
            "predicts": self.predicts,
            "mean": self.mean,
            "std": self.std,
            "score": self.score,
            "model_score": self.model_score,
            "difference": self.difference,
            "se": self.se,
        }


def versus_baseline(
    problem: Problem, model: Candidate, base: Candidate, predicts: str | None = None
) -> Baseline:
    """Compare ``model`` with ``base`` (:func:`baseline`) on the same folds (see
    :class:`Baseline`).

    The out-of-fold predictions are scored whole rather than fold by fold: on a small table a
    test fold of four rows has almost no spread of its own, so a fold's R² of the training mean
    can be −20 and the fold-by-fold difference says nothing (21 fermentation spectra: the
    baseline's R² per fold was −1.9 ± 5.5, and a model at −0.33 ± 2.4 looked "better").
    """
    oriented = problem.metric.oriented
    n = len(problem.y)
    rng = np.random.default_rng(problem.seed)
    draws = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model_score = float(np.mean(problem.repeat_scores(model.oof)))
        base_score = float(np.mean(problem.repeat_scores(base.oof)))
        for _ in range(_BASELINE_BOOTSTRAP):  # a metric call costs ~1 ms: a second at most
            rows = rng.integers(0, n, size=n)
            try:
                draw = oriented(problem.score(rows, model.oof[0][rows])) - oriented(
                    problem.score(rows, base.oof[0][rows])
                )
            except ValueError:  # a resample with one class: no AUC
                continue
            if math.isfinite(draw):
                draws.append(draw)
    se = float(np.std(draws, ddof=1)) if len(draws) > 1 else 0.0
    predicts = predicts or (
        "the mean of the training rows"
        if problem.task == "regression"
        else "the class shares of the training rows (the majority class)"
    )
    difference = oriented(model_score) - oriented(base_score)
    return Baseline(predicts, base.mean, base.std, base_score, model_score, difference, se)
