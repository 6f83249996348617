"""The search's economies, each checked against doing the work the long way: racing stops only
configurations that trail the leader, greedy ensemble weights beat their best member on the same
folds, and CV+ from the search's own fold models equals CV+ refitted from scratch."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from labsight.models._conformal import CVPlus
from labsight.models._families import FAMILIES
from labsight.models._features import FeatureSet
from labsight.models._folds import make_folds
from labsight.models._search import Problem, _ensemble, evaluate
from labsight.models._task import metric_for
from labsight.models.train import build_final


def _problem(n: int = 150, seed: int = 0) -> Problem:
    rng = np.random.default_rng(seed)
    x = pd.DataFrame(rng.uniform(-2, 2, (n, 3)), columns=["a", "b", "c"])
    y = np.sin(2 * x["a"].to_numpy()) + x["b"].to_numpy() ** 2 + rng.normal(0, 0.1, n)
    folds = make_folds(y, classification=False, seed=seed)
    fs = FeatureSet(("a", "b", "c"), (), {"a": None, "b": None, "c": None})
    return Problem(x, y, fs, "regression", metric_for(None, "regression"), folds, seed)


@pytest.fixture(scope="module")
def problem() -> Problem:
    return _problem()


def test_a_configuration_far_behind_the_leader_stops_after_one_repeat(problem: Problem) -> None:
    leader = evaluate(problem, FAMILIES["lightgbm"], FAMILIES["lightgbm"].defaults)
    assert leader is not None
    assert problem.folds.repeats == 3
    trailing = evaluate(problem, FAMILIES["linear"], {}, rival=leader)
    assert trailing is not None
    assert trailing.pruned
    assert len(trailing.scores) == problem.folds.n_splits
    # Stopped early, but every score it has is the one the full evaluation gives.
    full = evaluate(problem, FAMILIES["linear"], {})
    assert full is not None
    assert trailing.scores == full.scores[: problem.folds.n_splits]


def test_a_configuration_as_good_as_the_leader_runs_every_fold(problem: Problem) -> None:
    leader = evaluate(problem, FAMILIES["linear"], {})
    assert leader is not None
    contender = evaluate(problem, FAMILIES["lightgbm"], FAMILIES["lightgbm"].defaults, rival=leader)
    assert contender is not None
    assert not contender.pruned
    assert len(contender.scores) == len(problem.folds.splits)


def test_greedy_ensemble_weights_sum_to_one_and_beat_their_best_member(problem: Problem) -> None:
    pool = [
        evaluate(problem, FAMILIES[f], FAMILIES[f].defaults)
        for f in ("lightgbm", "knn", "random_forest", "ridge")
    ]
    assert all(c is not None for c in pool)
    board = sorted(pool, key=lambda c: -c.mean)  # type: ignore[union-attr]
    blend = _ensemble(problem, board)  # type: ignore[arg-type]
    assert blend is not None
    assert blend.weights is not None
    assert sum(blend.weights) == pytest.approx(1.0)
    assert all(w > 0 for w in blend.weights)
    assert blend.mean >= board[0].mean  # type: ignore[union-attr]
    # Its out-of-fold predictions are the weighted mean of its members'.
    members = blend.members or []
    expected = sum(w * m.oof for w, m in zip(blend.weights, members, strict=True))
    assert np.allclose(blend.oof, expected)
    row = blend.row()  # what the leaderboard (and `model show`) print
    assert row["family"] == "ensemble(" + " + ".join(m.family for m in members) + ")"
    assert sum(row["weights"].values()) == pytest.approx(1.0)


def test_cv_plus_from_the_search_fold_models_equals_cv_plus_refitted(problem: Problem) -> None:
    family = FAMILIES["random_forest"]
    params = {"n_estimators": 30}
    candidate = evaluate(problem, family, params)
    assert candidate is not None
    assert len(candidate.fold_models) == problem.folds.n_splits
    partition = problem.folds.first_partition()
    reused = CVPlus.from_fitted(candidate.fold_models, problem.y, candidate.oof[0], partition)
    refitted = CVPlus.from_folds(
        lambda: build_final(candidate, problem.features, "regression", problem.seed),
        problem.x,
        problem.y,
        partition,
    )
    assert np.allclose(reused.residuals, refitted.residuals)
    fresh = _problem(40, seed=9).x
    for a, b in zip(reused.interval(fresh), refitted.interval(fresh), strict=True):
        assert np.allclose(a, b)


def test_after_the_defaults_the_leading_family_gets_every_other_trial(problem: Problem) -> None:
    from labsight.models._search import search

    picked: list[str] = []

    def record(candidate: object, board: list, number: int) -> None:
        picked.append(getattr(candidate, "family", "-"))

    families = [FAMILIES[f] for f in ("ridge", "knn", "decision_tree", "lightgbm")]
    result = search(problem, families, budget=120, max_trials=16, on_trial=record)
    assert result.trials == 16
    assert picked[:4] == ["ridge", "knn", "decision_tree", "lightgbm"]  # defaults, cheapest first
    leader = next(c.family for c in result.leaderboard if not c.members)
    tuned = picked[4:]
    assert tuned[::2] == [leader] * len(tuned[::2])
    assert "ridge" not in tuned  # the weakest family is not tuned


def test_a_family_with_nothing_to_tune_does_not_burn_the_budget(problem: Problem) -> None:
    from labsight.models._search import search

    start = time.perf_counter()
    result = search(problem, [FAMILIES["linear"]], budget=60)
    assert time.perf_counter() - start < 10
    assert result.trials == 1


def test_a_trial_that_cannot_finish_stops_after_its_first_fold_not_at_the_deadline(
    problem: Problem,
) -> None:
    """15 fits of a 300-tree forest at the pace of the first cannot end before the deadline: the
    trial stops after that fold, leaving the rest of the time to other families."""
    forest = FAMILIES["random_forest"]
    params = {**forest.defaults, "n_estimators": 300}
    tick = time.perf_counter()
    evaluate(problem, forest, params)  # also warms the imports
    whole = time.perf_counter() - tick
    per_fit = whole / len(problem.folds.splits)
    tick = time.perf_counter()
    out = evaluate(problem, forest, params, deadline=tick + 0.5 * whole)
    spent = time.perf_counter() - tick
    assert out is None
    assert spent < 0.25 * whole + 2 * per_fit  # a fold or so, not half of the whole


def test_a_slow_family_leaves_time_for_the_families_not_yet_tried() -> None:
    """A Gaussian process with a length scale for each of 16 inputs is slow on 400 rows; the
    search gives it no more than half of what is left while other families wait, so the cheap
    ones behind it are still tried."""
    from labsight.models._search import search

    rng = np.random.default_rng(1)
    n, width = 400, 16
    x = pd.DataFrame(rng.normal(size=(n, width)), columns=[f"c{i}" for i in range(width)])
    y = x["c0"].to_numpy() + rng.normal(0, 0.1, n)
    folds = make_folds(y, classification=False, seed=0)
    fs = FeatureSet(tuple(x.columns), (), dict.fromkeys(x.columns))
    slow = Problem(x, y, fs, "regression", metric_for(None, "regression"), folds, 0)
    # an SVM comes after the Gaussian process (cheap families first, then by cost) and takes a
    # second: it is tried however slow the process is
    families = [FAMILIES[f] for f in ("gaussian_process", "svm", "ridge")]
    result = search(slow, families, budget=12.0)
    tried = {c.family for c in result.leaderboard}
    assert {"svm", "ridge"} <= tried, result.cut_short
    assert result.seconds <= 12.0 * 1.1  # the budget, within the 10 % the search promises
