"""The AutoML search: every family's defaults first, then the leading families tuned by Optuna's
TPE, inside a time budget.

Each configuration is scored by cross-validation on the given folds (preprocessing fitted inside
each fold). The search stops when the budget minus a reserve for the final refit is spent, or after
``max_trials``; a trial that would overrun is abandoned (or, when the family's fit time says so,
not started). With the same seed and the same number of trials the leaderboard is the same: each
family's TPE study is seeded, the family to tune next follows from the leaderboard, and trials run
one after another (how many trials fit in a budget depends on the machine, so ``max_trials`` is
what pins a run down).

After the defaults, a trial races the leader: when it trails it on the same splits by more than one
standard error after a repeat of the folds, it stops there (pruned; Optuna learns from its partial
score), so the budget goes to configurations that can win.

Out-of-fold predictions of each family's best configuration are kept, so an ensemble can be built
on the very same folds without refitting anything: greedy ensemble selection (Caruana et al.,
2004) over the top families gives the weights, and the blend is chosen only when it beats the best
single model by more than a quarter of that model's standard error.

On a tiny table the folds are leave-one-out (``Folds.pooled``): each repeat gets one score, the
metric of all its out-of-fold predictions together, and the spread reported with it is the
bootstrap standard deviation of that pooled score over the rows (there are no per-fold scores to
spread). A configuration that cannot be fitted on the folds (k-NN asking for more neighbours than
there are training rows) or whose score is not a finite number is not a candidate; the search
returns why, per family that never produced one (``SearchResult.skipped``).

The winner is then held against the trivial baseline on the same folds (:func:`baseline`: the
mean of the training rows, or their class shares; :func:`versus_baseline`): a model whose
out-of-fold predictions score better than the baseline's by no more than one (bootstrap) standard
error of the difference is not clearly better than a guess, and says so.
"""

from __future__ import annotations

import json
import math
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone

from labsight.exceptions import InputError, LabsightError
from labsight.models._families import Family, make_pipeline
from labsight.models._features import FeatureSet
from labsight.models._folds import Folds
from labsight.models._task import Metric, Task

__all__ = [
    "Baseline",
    "Candidate",
    "Problem",
    "SearchResult",
    "baseline",
    "evaluate",
    "search",
    "versus_baseline",
]

_COSTLY_SHARE = 0.2  # a costly family's defaults start only with this share of the budget left
_FAIR_SHARE = (
    0.5  # while other families wait untried, one trial may take this share of what is left
)
_TUNED = 3  # after the defaults, the best this many families take turns being tuned
_REPEATS_ALLOWED = 5  # proposals of settings already tried before a family leaves the rotation
_ENSEMBLE_POOL = 6  # candidates (each family's best, best first) an ensemble may draw from
_ENSEMBLE_ROUNDS = 20  # greedy selection rounds: weights in twentieths
_RESERVE_FACTOR = (
    8.0  # without an estimate from the caller: the finishing work, in fits of the best
)
# The finishing estimate is from fit times measured once, on a machine that may be busy: the
# search keeps this much more than it (a share of it, and of the budget) so the whole run ends
# inside the budget, not just near it.
_RESERVE_MARGIN = (0.25, 0.03)
_PROBE_SHARE = 2  # a costly family not yet timed is first timed on every other training row
_BOOTSTRAP = 200  # resamples of the rows for the spread of a pooled (leave-one-out) score
_BASELINE_BOOTSTRAP = 100  # resamples for the standard error of the difference to the baseline


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


@dataclass
class SearchResult:
    """The leaderboard (each family's best, best first), the chosen candidate and the effort;
    ``skipped`` says why each family that never gave a candidate could not be fitted."""

    leaderboard: list[Candidate]
    best: Candidate
    trials: int
    seconds: float
    skipped: dict[str, str] = field(default_factory=dict)
    # What the budget cut short, in words (families it left no time for, a blend it could not
    # afford to finish); TrainedModel.cut_short passes it on.
    cut_short: list[str] = field(default_factory=list)


def _predict(model: Any, x: pd.DataFrame, task: Task) -> np.ndarray:
    if task == "classification":
        return np.asarray(model.predict_proba(x), dtype=np.float64)
    return np.asarray(model.predict(x), dtype=np.float64)


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
        """Pooled folds: the metric of each repeat's out-of-fold predictions, all rows at once."""
        rows = np.arange(len(self.y))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return [self.score(rows, oof[r]) for r in range(self.folds.repeats)]

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


def _behind(problem: Problem, scores: list[float], rival: Candidate) -> bool:
    """Whether ``scores`` (the first splits) trail ``rival``'s on the very same splits by more
    than one standard error of the paired differences."""
    oriented = problem.metric.oriented
    diff = np.array([oriented(a) - oriented(b) for a, b in zip(scores, rival.scores, strict=False)])
    if diff.size < 2:
        return False
    return bool(diff.mean() + diff.std(ddof=1) / math.sqrt(diff.size) < 0.0)


def evaluate(
    problem: Problem,
    family: Family,
    params: dict[str, Any],
    *,
    deadline: float = math.inf,
    trial: int = -1,
    rival: Candidate | None = None,
    errors: dict[str, str] | None = None,
    expected: float = 0.0,
) -> Candidate | None:
    """Cross-validate one configuration; None when the deadline comes first, the fit fails or the
    score is not a finite number (then ``errors``, when given, records why under the family's
    name, unless it holds a reason already).

    With a ``rival`` (the leader), the configuration races it: after each repeat of the folds but
    the last, it stops when it is clearly behind on the same splits, and the partial candidate
    comes back marked ``pruned``.

    ``expected`` is the seconds one fold is expected to take before any has been timed (the
    family's last trial): a trial whose first fold would overrun the deadline is not started.
    """
    x, y, task, folds, classes = problem.x, problem.y, problem.task, problem.folds, problem.classes
    shape = (folds.repeats, len(y)) + ((len(classes),) if classes is not None else ())
    oof = np.full(shape, np.nan)
    scores: list[float] = []  # per split, or per repeat for pooled folds
    spent = 0.0
    fits = 0
    pipeline = make_pipeline(family, params, problem.features, task, problem.seed)
    fitted: list[Any] = []

    def fail(reason: str) -> None:
        if errors is not None:
            errors.setdefault(family.name, reason)

    for (train, test), r in zip(folds.splits, folds.repeat, strict=True):
        at_repeat = fits > 0 and fits % folds.n_splits == 0
        if rival is not None and at_repeat and _behind(problem, scores, rival):
            return Candidate(
                family.name, dict(params), scores, spent / fits, trial, oof, pruned=True
            )
        # Before the first fold, only that fold must fit (the estimate of an untimed family is
        # rough, and pessimistic on a busy machine). Once timed, the fits up to where the trial can
        # end (the repeat's last fold when it races, else the last) must fit at the pace so far:
        # a trial that cannot get there stops now, not at the deadline.
        if not fits:
            to_go = 1
        elif rival is not None:
            to_go = folds.n_splits - fits % folds.n_splits
        else:
            to_go = len(folds.splits) - fits
        if time.perf_counter() + (spent / fits if fits else expected) * to_go > deadline:
            return None
        start = time.perf_counter()
        model = clone(pipeline)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model.fit(x.iloc[train], y[train])
                out = _predict(model, x.iloc[test], task)
        except (ValueError, np.linalg.LinAlgError, RuntimeError, FloatingPointError) as exc:
            # A configuration that cannot be fitted here is not a candidate.
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            fail(f"cannot be fitted on {_rows(len(train))} ({first[:160]})")
            return None
        spent += time.perf_counter() - start
        fits += 1
        if classes is not None:
            out = _align(out, model, classes)
        if not np.all(np.isfinite(out)):
            fail(f"predicts non-finite values from {_rows(len(train))}")
            return None
        oof[r, test] = out
        if r == 0:
            fitted.append(model)
        if not folds.pooled:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                scores.append(problem.score(test, out))
        elif fits % folds.n_splits == 0:  # a repeat is complete: score it as a whole
            scores.append(problem.repeat_scores(oof[r : r + 1])[0])
    if not all(math.isfinite(v) for v in scores):
        fail(f"its cross-validated {problem.metric.name} is not a number")
        return None
    return Candidate(
        family.name,
        dict(params),
        scores,
        spent / fits,
        trial,
        oof,
        fold_models=fitted,
        spread=problem.pooled_spread(oof) if folds.pooled else None,
    )


def _rows(n: int) -> str:
    return f"{n} training row{'s' if n != 1 else ''}"


def _align(proba: np.ndarray, model: Any, classes: np.ndarray) -> np.ndarray:
    """Probabilities in the order of all ``classes`` (a fold may miss a rare class)."""
    seen = np.asarray(model.classes_)
    if seen.shape == classes.shape and np.all(seen == classes):
        return proba
    full = np.zeros((proba.shape[0], classes.size))
    for j, c in enumerate(seen):
        full[:, int(np.searchsorted(classes, c))] = proba[:, j]
    return full


def _split_scores(problem: Problem, oof: np.ndarray) -> list[float]:
    folds = problem.folds
    if folds.pooled:
        return problem.repeat_scores(oof)
    return [
        problem.score(test, oof[r, test])
        for (_, test), r in zip(folds.splits, folds.repeat, strict=True)
    ]


def _ensemble(problem: Problem, pool: list[Candidate]) -> Candidate | None:
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


def search(
    problem: Problem,
    families: list[Family],
    *,
    budget: float,
    max_trials: int | None = None,
    on_trial: Callable[[Candidate | None, list[Candidate], int], None] | None = None,
    finish: Callable[[Candidate], float] | None = None,
) -> SearchResult:
    """Search families and their parameters for the best cross-validated metric of ``problem``.

    Every family's defaults run first, cheapest first. Then the budget goes to tuning the
    families that lead: the best family takes every other trial and the next :data:`_TUNED` − 1
    share the rest (the leaderboard decides, trial by trial); each asks its own seeded TPE study
    for settings, and a family whose study keeps proposing settings already tried (a small space)
    or whose trials no longer fit in the time left leaves the rotation.

    Parameters
    ----------
    budget
        Seconds for the search and the final refit together; the search stops early enough to
        leave room for the refit (estimated from the best model's fit time).
    max_trials
        Stop after this many trials even with budget left.
    finish
        Seconds the caller will need after the search for a candidate (refits, intervals,
        explanations); the search leaves that much of the budget.
    on_trial
        Called after each trial with the candidate (None when abandoned), the leaderboard so far
        and the trial number, for a live view.
    """
    import optuna  # a search's alone: loading a model to predict does not need it

    metric = problem.metric
    start = time.perf_counter()
    end = start + budget
    by_family: dict[str, Candidate] = {}
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    studies = {
        f.name: optuna.create_study(
            direction="maximize",
            sampler=optuna.samplers.TPESampler(seed=problem.seed + i, n_startup_trials=5),
        )
        for i, f in enumerate(families)
    }
    tried: dict[str, dict[str, float]] = {f.name: {} for f in families}
    repeats: dict[str, int] = {f.name: 0 for f in families}
    errors: dict[str, str] = {}  # family -> why a configuration of it could not be fitted
    stopped: set[str] = set()  # families with a trial stopped because it would overrun
    trials = 0

    def finishing(candidate: Candidate) -> float:
        return finish(candidate) if finish is not None else _RESERVE_FACTOR * candidate.fit_seconds

    def reserve() -> float:
        """Time to keep for finishing the leader, or a blend of the top three, with a margin."""
        board = _board(by_family, metric)
        share, floor = _RESERVE_MARGIN
        if not board:
            return (0.05 + floor) * budget
        top = board[:3]
        likely = Candidate(
            "ensemble", {}, [], sum(c.fit_seconds for c in top), -1, top[0].oof, members=top
        )
        estimate = max(finishing(board[0]), finishing(likely) if len(top) > 1 else 0.0)
        return (1.0 + share) * estimate + floor * budget

    def done() -> bool:
        out_of_time = time.perf_counter() >= end - reserve()
        return out_of_time or (max_trials is not None and trials >= max_trials)

    def run(family: Family, params: dict[str, Any], race: bool) -> Candidate | None:
        """One trial: cross-validate, keep the family's best, report it."""
        nonlocal trials
        board = _board(by_family, metric)
        deadline = end - reserve()
        known = by_family.get(family.name)
        left = deadline - time.perf_counter()
        settled = set(by_family) | set(errors) | stopped
        waiting = [f for f in families if f is not family and f.name not in settled]
        if waiting:  # one family's slow trial must not leave the others untried
            deadline -= (1.0 - _FAIR_SHARE) * max(left, 0.0)
            left = deadline - time.perf_counter()
        if known is not None and known.fit_seconds * len(problem.folds.splits) > left:
            return None  # its trials take longer than what is left: not started, not counted
        if known is None and cost(family)[0] >= 3 and left < _COSTLY_SHARE * budget:
            return None  # a costly family's first fold alone could overrun: not started
        expected = known.fit_seconds if known is not None else probe(family, params)
        if expected * problem.folds.n_splits > left:
            return None  # a repeat of its folds would not fit in what is left: not started
        trials += 1
        candidate = evaluate(
            problem,
            family,
            params,
            deadline=deadline,
            trial=trials - 1,
            rival=board[0] if race and board and problem.folds.repeats > 1 else None,
            errors=errors,
            expected=expected,
        )
        if candidate is None and family.name not in errors:
            stopped.add(family.name)  # it would not have finished in time
        better = known is None or (
            candidate is not None and metric.oriented(candidate.mean) > metric.oriented(known.mean)
        )
        if candidate is not None and not candidate.pruned and better:
            by_family[family.name] = candidate
            # Only an ensemble's possible members need their fold models; a family's rank only
            # falls until it improves (with new fold models), so the others can let theirs go.
            for fallen in _board(by_family, metric)[_ENSEMBLE_POOL:]:
                fallen.fold_models = []
        if on_trial is not None:
            on_trial(candidate, _board(by_family, metric), trials - 1)
        return candidate

    rows = len(problem.y)

    def probe(family: Family, params: dict[str, Any]) -> float:
        """The expected seconds of one fold's fit of a family not yet timed: for one that is not
        cheap (forests, SVMs, Gaussian processes, networks), a fit on half of the first
        fold's training rows, scaled up by its exponent (a first fold of seconds cannot be
        stopped once begun)."""
        if family.cost < 2:
            return 0.0
        train_rows = problem.folds.splits[0][0]
        part = train_rows[::_PROBE_SHARE]
        tick = time.perf_counter()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                clone(
                    make_pipeline(family, params, problem.features, problem.task, problem.seed)
                ).fit(problem.x.iloc[part], problem.y[part])
        except (ValueError, np.linalg.LinAlgError, RuntimeError, FloatingPointError):
            return 0.0  # the trial itself will say why
        scale = float(len(train_rows) / max(len(part), 1)) ** family.exponent
        return float((time.perf_counter() - tick) * scale)

    def cost(family: Family) -> tuple[int, int]:  # cheap at this size first, then by nature
        return (1 if rows <= family.cheap_rows else family.cost, family.cost)

    # Defaults first, cheapest first: often good on small data, and a fair baseline. Then the
    # well-chosen settings of the families that are cheap at this size (a Gaussian process on a
    # small table), before the leaders are tuned: they need not wait to lead to be tried.
    small = [(f, p) for f in families if rows <= f.cheap_rows for p in f.starts]
    for family, params in [
        *((f, f.defaults) for f in sorted(families, key=cost)),
        *small,
    ]:
        if done():
            break
        candidate = run(family, dict(params), race=params is not family.defaults)
        if candidate is not None:
            tried[family.name][_key(params)] = metric.oriented(candidate.mean)
    turn = 0
    while not done():
        board = [c for c in _board(by_family, metric) if repeats[c.family] < _REPEATS_ALLOWED]
        if not board:
            break
        # The leader takes every other turn; the runners-up share the rest.
        runners = board[1:_TUNED]
        pick = board[0] if turn % 2 == 0 or not runners else runners[(turn // 2) % len(runners)]
        family = next(f for f in families if f.name == pick.family)
        turn += 1
        study = studies[family.name]
        trial = study.ask()
        params = family.suggest(trial)
        key = _key(params)
        if key in tried[family.name]:  # settings tried already: tell the study, try again
            study.tell(trial, tried[family.name][key])
            repeats[family.name] += 1
            continue
        repeats[family.name] = 0
        candidate = run(family, params, race=True)
        if candidate is None:  # no time left for this family's trials
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
            repeats[family.name] = _REPEATS_ALLOWED
            continue
        value = metric.oriented(candidate.mean)
        tried[family.name][key] = value
        # A pruned trial's partial score is its value too: TPE learns where not to look.
        study.tell(trial, value)
    board = _board(by_family, metric)
    skipped = {name: why for name, why in errors.items() if name not in by_family}
    untried = [f.name for f in families if f.name not in by_family and f.name not in skipped]
    slow = [name for name in untried if name in stopped]
    never = [name for name in untried if name not in stopped]
    cut_short = [f"search: no time to try {', '.join(never)}"] if never else []
    if slow:
        cut_short.append(
            f"search: stopped a trial of {', '.join(slow)} that would not have finished in time"
        )
    if not board:
        rows = len(problem.y)
        if skipped:  # the data cannot carry any of the families asked for
            raise InputError(
                f"no model family can be fitted on these {rows} rows: "
                + "; ".join(f"{name} {why}" for name, why in skipped.items()),
                hint="Collect more runs, or name other families with --families",
            )
        raise LabsightError(
            f"no candidate model could be fitted within the budget of {budget:g} s",
            hint="Give a larger --budget",
        )
    best = board[0]
    blend = _ensemble(problem, board[:_ENSEMBLE_POOL]) if len(board) >= 2 else None
    if blend is not None:
        margin = 0.25 * best.std / math.sqrt(len(best.scores))
        # The search left time to finish the likely blend; this one may cost more.
        affordable = time.perf_counter() + finishing(blend) <= end
        if metric.oriented(blend.mean) > metric.oriented(best.mean) + margin:
            if affordable:
                best = blend
                board = [blend, *board]
            else:
                cut_short.append(f"ensemble: no time to finish {blend.name}, the best single model")
    return SearchResult(board, best, trials, time.perf_counter() - start, skipped, cut_short)


def baseline(problem: Problem) -> Candidate | None:
    """The trivial model on the very folds of ``problem``: each test fold predicted by the mean of
    its training rows (regression), or by their class frequencies, whose label is the majority
    class (classification). None when its score cannot be computed."""
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


def versus_baseline(problem: Problem, model: Candidate, base: Candidate) -> Baseline:
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
    predicts = (
        "the mean of the training rows"
        if problem.task == "regression"
        else "the class shares of the training rows (the majority class)"
    )
    difference = oriented(model_score) - oriented(base_score)
    return Baseline(predicts, base.mean, base.std, base_score, model_score, difference, se)


def _key(params: dict[str, Any]) -> str:
    return json.dumps(params, sort_keys=True, default=str)


def _board(by_family: dict[str, Candidate], metric: Metric) -> list[Candidate]:
    return sorted(by_family.values(), key=lambda c: -metric.oriented(c.mean))
