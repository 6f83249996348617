"""Greedy ensemble selection (Caruana et al., 2004) over the leading candidates of a search.

The search keeps the out-of-fold predictions of each family's best configuration, so a blend is
scored on the very same folds without refitting anything: :func:`greedy_ensemble` adds, with
replacement, the candidate that most improves the CV score of the running average, for
:data:`_ENSEMBLE_ROUNDS` rounds, keeps the best prefix, and weighs each member by how often it
was picked. Whether the blend beats the best single model by enough to be chosen, and whether
there is time to finish it, is the search's call (:mod:`labsight.models._search`).
"""

from __future__ import annotations

import math

import numpy as np

from labsight.models._candidate import Candidate, Problem

__all__ = ["greedy_ensemble"]

_ENSEMBLE_ROUNDS = 20  # greedy selection rounds: weights in twentieths


def _split_scores(problem: Problem, oof: np.ndarray) -> list[float]:
    """The score of each split of ``oof`` (each repeat's, pooled, on a tiny table)."""
    folds = problem.folds
    if folds.pooled:
        return problem.repeat_scores(oof)
    return [
        problem.score(test, oof[r, test])
        for (_, test), r in zip(folds.splits, folds.repeat, strict=True)
    ]


def greedy_ensemble(problem: Problem, pool: list[Candidate]) -> Candidate | None:
    """Greedy ensemble selection (Caruana et al., 2004) on the out-of-fold predictions: add, with
    replacement, the candidate that most improves the mean CV score of the running average, for
    :data:`_ENSEMBLE_ROUNDS` rounds, and keep the best prefix. The weights are how often each was
    picked; None when the best blend is a single model."""
    oriented = problem.metric.oriented
    counts = np.zeros(len(pool))
    total = np.zeros_like(pool[0].oof)
    best_value, best_counts = -math.inf, counts
    for step in range(1, _ENSEMBLE_ROUNDS + 1):
        values = [
            oriented(float(np.mean(_split_scores(problem, (total + c.oof) / step)))) for c in pool
        ]
        pick = int(np.argmax(values))  # the first of equals: the better-ranked candidate
        counts = counts.copy()
        counts[pick] += 1
        total = total + pool[pick].oof
        if values[pick] > best_value:
            best_value, best_counts = values[pick], counts
    chosen = [j for j in range(len(pool)) if best_counts[j] > 0]
    if len(chosen) < 2:
        return None
    members = [pool[j] for j in chosen]
    weights = [float(best_counts[j] / best_counts.sum()) for j in chosen]
    oof = np.asarray(sum(w * m.oof for w, m in zip(weights, members, strict=True)))
    return Candidate(
        "ensemble",
        {},
        _split_scores(problem, oof),
        sum(m.fit_seconds for m in members),
        -1,
        oof,
        members=members,
        weights=weights,
        spread=problem.pooled_spread(oof) if problem.folds.pooled else None,
    )
