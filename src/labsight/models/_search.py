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
2004; :mod:`labsight.models._ensemble`) over the top families gives the weights, and the blend is
chosen only when it beats the best single model by more than a quarter of that model's standard
error.

On a tiny table the folds are leave-one-out (``Folds.pooled``): each repeat gets one score, the
metric of all its out-of-fold predictions together, and the spread reported with it is the
bootstrap standard deviation of that pooled score over the rows (there are no per-fold scores to
spread). A configuration that cannot be fitted on the folds (k-NN asking for more neighbours than
there are training rows) or whose score is not a finite number is not a candidate; the search
returns why, per family that never produced one (``SearchResult.skipped``).

The winner is then held against the trivial baseline on the same folds
(:mod:`labsight.models._baseline`: :func:`baseline`, the mean of the training rows or their class
shares; :func:`versus_baseline`): a model whose out-of-fold predictions score better than the
baseline's by no more than one (bootstrap) standard error of the difference is not clearly better
than a guess, and says so.

What every candidate is judged on and what it keeps (:class:`Problem`, :class:`Candidate`) are
defined in :mod:`labsight.models._candidate`; this module re-exports them, and the baseline's names.
"""

from __future__ import annotations

import json
import math
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone

from labsight.exceptions import InputError, LabsightError
from labsight.models._baseline import Baseline, baseline, versus_baseline
from labsight.models._candidate import Candidate, Problem
from labsight.models._ensemble import greedy_ensemble as _ensemble
from labsight.models._families import Family, make_pipeline
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
# While other families wait untried, one trial may take this share of what is left.
_FAIR_SHARE = 0.5
_TUNED = 3  # after the defaults, the best this many families take turns being tuned
_REPEATS_ALLOWED = 5  # proposals of settings already tried before a family leaves the rotation
_ENSEMBLE_POOL = 6  # candidates (each family's best, best first) an ensemble may draw from
# Without an estimate from the caller: the finishing work, in fits of the best.
_RESERVE_FACTOR = 8.0
# The finishing estimate is from fit times measured once, on a machine that may be busy: the
# search keeps this much more than it (a share of it, and of the budget) so the whole run ends
# inside the budget, not just near it.
_RESERVE_MARGIN = (0.25, 0.03)
_PROBE_SHARE = 2  # a costly family not yet timed is first timed on every other training row


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
    state = _Search(problem, families, budget, max_trials, on_trial, finish)
    state.try_defaults()
    state.tune()
    return state.result()


class _Search:
    """The state one :func:`search` shares between its steps: each family's best candidate, its
    seeded TPE study and the settings it has tried, why a family could not be fitted or had a
    trial stopped, and the trials run so far. The steps are the methods: :meth:`try_defaults`,
    :meth:`tune`, then :meth:`result`; :meth:`run` is one trial."""

    def __init__(
        self,
        problem: Problem,
        families: list[Family],
        budget: float,
        max_trials: int | None,
        on_trial: Callable[[Candidate | None, list[Candidate], int], None] | None,
        finish: Callable[[Candidate], float] | None,
    ) -> None:
        import optuna  # a search's alone: loading a model to predict does not need it

        self.problem = problem
        self.families = families
        self.budget = budget
        self.max_trials = max_trials
        self.on_trial = on_trial
        self.finish = finish
        self.metric = problem.metric
        self.start = time.perf_counter()
        self.end = self.start + budget
        self.by_family: dict[str, Candidate] = {}
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self.studies = {
            f.name: optuna.create_study(
                direction="maximize",
                sampler=optuna.samplers.TPESampler(seed=problem.seed + i, n_startup_trials=5),
            )
            for i, f in enumerate(families)
        }
        self.tried: dict[str, dict[str, float]] = {f.name: {} for f in families}
        self.repeats: dict[str, int] = {f.name: 0 for f in families}
        self.errors: dict[str, str] = {}  # family -> why a configuration of it could not be fitted
        self.stopped: set[str] = set()  # families with a trial stopped because it would overrun
        self.trials = 0
        self.rows = len(problem.y)
        self.warmed: set[str] = set()

    def finishing(self, candidate: Candidate) -> float:
        if self.finish is not None:
            return self.finish(candidate)
        return _RESERVE_FACTOR * candidate.fit_seconds

    def reserve(self) -> float:
        """Time to keep for finishing the leader, or a blend of the top three, with a margin."""
        board = _board(self.by_family, self.metric)
        share, floor = _RESERVE_MARGIN
        if not board:
            return (0.05 + floor) * self.budget
        top = board[:3]
        likely = Candidate(
            "ensemble", {}, [], sum(c.fit_seconds for c in top), -1, top[0].oof, members=top
        )
        estimate = max(self.finishing(board[0]), self.finishing(likely) if len(top) > 1 else 0.0)
        return (1.0 + share) * estimate + floor * self.budget

    def done(self) -> bool:
        out_of_time = time.perf_counter() >= self.end - self.reserve()
        return out_of_time or (self.max_trials is not None and self.trials >= self.max_trials)

    def run(self, family: Family, params: dict[str, Any], race: bool) -> Candidate | None:
        """One trial: cross-validate, keep the family's best, report it."""
        problem, metric, by_family = self.problem, self.metric, self.by_family
        board = _board(by_family, metric)
        deadline = self.end - self.reserve()
        known = by_family.get(family.name)
        left = deadline - time.perf_counter()
        settled = set(by_family) | set(self.errors) | self.stopped
        waiting = [f for f in self.families if f is not family and f.name not in settled]
        if waiting:  # one family's slow trial must not leave the others untried
            deadline -= (1.0 - _FAIR_SHARE) * max(left, 0.0)
            left = deadline - time.perf_counter()
        if known is not None and known.fit_seconds * len(problem.folds.splits) > left:
            return None  # its trials take longer than what is left: not started, not counted
        if known is None and self.cost(family)[0] >= 3 and left < _COSTLY_SHARE * self.budget:
            return None  # a costly family's first fold alone could overrun: not started
        if family.warm_up is not None and family.name not in self.warmed:
            self.warmed.add(family.name)
            family.warm_up(problem.x, params)
            left = deadline - time.perf_counter()
        expected = known.fit_seconds if known is not None else _probe(problem, family, params)
        if expected * problem.folds.n_splits > left:
            return None  # a repeat of its folds would not fit in what is left: not started
        self.trials += 1
        candidate = evaluate(
            problem,
            family,
            params,
            deadline=deadline,
            trial=self.trials - 1,
            rival=board[0] if race and board and problem.folds.repeats > 1 else None,
            errors=self.errors,
            expected=expected,
        )
        if candidate is None and family.name not in self.errors:
            self.stopped.add(family.name)  # it would not have finished in time
        better = known is None or (
            candidate is not None and metric.oriented(candidate.mean) > metric.oriented(known.mean)
        )
        if candidate is not None and not candidate.pruned and better:
            by_family[family.name] = candidate
            # Only an ensemble's possible members need their fold models; a family's rank only
            # falls until it improves (with new fold models), so the others can let theirs go.
            for fallen in _board(by_family, metric)[_ENSEMBLE_POOL:]:
                fallen.fold_models = []
        if self.on_trial is not None:
            self.on_trial(candidate, _board(by_family, metric), self.trials - 1)
        return candidate

    def cost(self, family: Family) -> tuple[int, int]:  # cheap at this size first, then by nature
        return (1 if self.rows <= family.cheap_rows else family.cost, family.cost)

    def try_defaults(self) -> None:
        """Defaults first, cheapest first: often good on small data, and a fair baseline. Then the
        well-chosen settings of the families that are cheap at this size (a Gaussian process on a
        small table), before the leaders are tuned: they need not wait to lead to be tried."""
        families = self.families
        small = [(f, p) for f in families if self.rows <= f.cheap_rows for p in f.starts]
        for family, params in [
            *((f, f.defaults) for f in sorted(families, key=self.cost)),
            *small,
        ]:
            if self.done():
                break
            candidate = self.run(family, dict(params), race=params is not family.defaults)
            if candidate is not None:
                self.tried[family.name][_key(params)] = self.metric.oriented(candidate.mean)

    def tune(self) -> None:
        """Tune the leaders in turns until the budget or ``max_trials`` is spent, or no family is
        left in the rotation."""
        import optuna

        metric, tried, repeats = self.metric, self.tried, self.repeats
        turn = 0
        while not self.done():
            board = [
                c for c in _board(self.by_family, metric) if repeats[c.family] < _REPEATS_ALLOWED
            ]
            if not board:
                break
            # The leader takes every other turn; the runners-up share the rest.
            runners = board[1:_TUNED]
            pick = board[0] if turn % 2 == 0 or not runners else runners[(turn // 2) % len(runners)]
            family = next(f for f in self.families if f.name == pick.family)
            turn += 1
            study = self.studies[family.name]
            trial = study.ask()
            params = family.suggest(trial)
            key = _key(params)
            if key in tried[family.name]:  # settings tried already: tell the study, try again
                study.tell(trial, tried[family.name][key])
                repeats[family.name] += 1
                continue
            repeats[family.name] = 0
            candidate = self.run(family, params, race=True)
            if candidate is None:  # no time left for this family's trials
                study.tell(trial, state=optuna.trial.TrialState.FAIL)
                repeats[family.name] = _REPEATS_ALLOWED
                continue
            value = metric.oriented(candidate.mean)
            tried[family.name][key] = value
            # A pruned trial's partial score is its value too: TPE learns where not to look.
            study.tell(trial, value)

    def result(self) -> SearchResult:
        """The leaderboard and the best candidate (a blend of the leaders when it clearly beats
        the best single model and there is time to finish it), with what was skipped or cut
        short; raises when no family gave a candidate."""
        metric, by_family, families = self.metric, self.by_family, self.families
        board = _board(by_family, metric)
        skipped = {name: why for name, why in self.errors.items() if name not in by_family}
        untried = [f.name for f in families if f.name not in by_family and f.name not in skipped]
        slow = [name for name in untried if name in self.stopped]
        never = [name for name in untried if name not in self.stopped]
        cut_short = [f"search: no time to try {', '.join(never)}"] if never else []
        if slow:
            cut_short.append(
                f"search: stopped a trial of {', '.join(slow)} that would not have finished in time"
            )
        if not board:
            rows = len(self.problem.y)
            if skipped:  # the data cannot carry any of the families asked for
                raise InputError(
                    f"no model family can be fitted on these {rows} rows: "
                    + "; ".join(f"{name} {why}" for name, why in skipped.items()),
                    hint="Collect more runs, or name other families with --families",
                )
            raise LabsightError(
                f"no candidate model could be fitted within the budget of {self.budget:g} s",
                hint="Give a larger --budget",
            )
        best = board[0]
        blend = _ensemble(self.problem, board[:_ENSEMBLE_POOL]) if len(board) >= 2 else None
        if blend is not None:
            margin = 0.25 * best.std / math.sqrt(len(best.scores))
            # The search left time to finish the likely blend; this one may cost more.
            affordable = time.perf_counter() + self.finishing(blend) <= self.end
            if metric.oriented(blend.mean) > metric.oriented(best.mean) + margin:
                if affordable:
                    best = blend
                    board = [blend, *board]
                else:
                    cut_short.append(
                        f"ensemble: no time to finish {blend.name}, the best single model"
                    )
        seconds = time.perf_counter() - self.start
        return SearchResult(board, best, self.trials, seconds, skipped, cut_short)


_WARMED: set[str] = set()  # network families whose first fit in this process has been made


def _probe(problem: Problem, family: Family, params: dict[str, Any]) -> float:
    """The expected seconds of one fold's fit of a family not yet timed: for one that is not
    cheap (forests, SVMs, Gaussian processes, networks), a fit on half of the first fold's
    training rows, scaled up by its exponent (a first fold of seconds cannot be stopped once
    begun)."""
    if family.cost < 2:
        return 0.0
    train_rows = problem.folds.splits[0][0]
    part = train_rows[::_PROBE_SHARE]
    try:
        # Built before the clock starts: building a network family imports torch (seconds, once),
        # which is no part of a fit and made the 1-D CNN look too slow to ever try.
        pipeline = clone(
            make_pipeline(family, params, problem.features, problem.task, problem.seed)
        )
        # A network's first fit in a process also pays torch's first-use set-up (2 s against
        # 0.4 for the fit itself on 17 spectra): the first probe of each network family in a
        # process is timed on its second fit (later ones need no warming up, and a probe's time
        # comes out of the budget).
        warm = not family.network or family.name in _WARMED
        _WARMED.add(family.name)
        for _ in range(1 if warm else 2):
            tick = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                clone(pipeline).fit(problem.x.iloc[part], problem.y[part])
            seconds = time.perf_counter() - tick
    except (ValueError, np.linalg.LinAlgError, RuntimeError, FloatingPointError):
        return 0.0  # the trial itself will say why
    scale = float(len(train_rows) / max(len(part), 1)) ** family.exponent
    return float(seconds * scale)


def _key(params: dict[str, Any]) -> str:
    return json.dumps(params, sort_keys=True, default=str)


def _board(by_family: dict[str, Candidate], metric: Metric) -> list[Candidate]:
    return sorted(by_family.values(), key=lambda c: -metric.oriented(c.mean))
