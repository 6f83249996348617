"""Training: from a table and a target to a fitted model with its score, uncertainty and reasons.

:func:`train` picks the task and metric, builds group-aware folds, runs the search within the
budget, refits the winner on all rows, attaches prediction intervals (regression: CV+ conformal, or
a Gaussian process's own posterior when its cross-validated coverage is closer to nominal) or
calibrated probabilities (classification: sigmoid calibration on the same folds), and explains the
model (permutation importance on held-out folds, coefficients with confidence intervals for linear
models, partial dependence of the top features). That finishing work, and the estimate of its
time that the search leaves room for, is :mod:`labsight.models._finish`.

Tiny tables (a factorial design of 3 to 15 runs) are cross-validated leave-one-out and scored on
the pooled out-of-fold predictions (see :mod:`labsight.models._folds`): the CV score is the R²
(or the metric asked for) of every row predicted by a model that never saw it, its ± the bootstrap
spread of that score, and the held-out importance is measured the same way, over all folds.
Families that cannot be fitted on so few rows are left out and listed, with the reason, under
``skipped``; below 3 rows, or with a class of one row, training is refused in one line. A score
that is not a finite number never leaves this module.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import polars as pl

from labsight.data.sequences import runs_table, sequence_cells, sequence_spec, unfold_cells
from labsight.data.stats import numeric_values
from labsight.data.table import Table
from labsight.exceptions import InputError, LabsightError
from labsight.models._baseline import baseline, versus_baseline
from labsight.models._candidate import Candidate, Problem
from labsight.models._domain import training_domain
from labsight.models._families import FAMILIES, families_for
from labsight.models._features import (
    FeatureSet,
    model_frame,
    select_features,
    sibling_targets,
    with_images,
)
from labsight.models._finish import _finish, _finish_seconds, _saving_seconds, build_final
from labsight.models._finish import _reused_fold_models as _reused_fold_models  # tests use it
from labsight.models._finish import _screen as _screen  # tests use it
from labsight.models._folds import make_folds, replicate_groups
from labsight.models._progress import EpochCallback, reporting
from labsight.models._search import search
from labsight.models._task import Task, infer_task, metric_for
from labsight.models._trained import TrainedModel

if TYPE_CHECKING:
    pass

__all__ = ["TrainedModel", "build_final", "train"]


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


def _domain_features(fs: FeatureSet) -> tuple[str, ...]:
    """The inputs whose training domain new rows are checked against: all numbers, except the
    points of a run's resampled sensors (each of hundreds of points leaves its training range by
    chance; the sensors' summaries — min, max, mean … — carry the range)."""
    points = {name for channel in fs.signals for name in channel} if fs.sequence else set()
    return tuple(n for n in fs.numeric if n not in points)


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
    on_epoch: EpochCallback | None = None,
    forecast: int | None = None,
) -> TrainedModel:
    """Train the best model for ``target`` within ``budget`` seconds.

    ``features`` names the input columns (default: every column with role feature or condition,
    and SMILES columns as their descriptors); ``exclude`` leaves columns out of them. The model
    records the columns left out and why, the inputs that look like other outcomes
    (``siblings``), which rows its folds keep together (``cv["grouping"]``), and how it compares
    with the trivial baseline on the same folds (``baseline``, ``better_than_baseline``).

    ``forecast`` (a long table of runs): learn the target's next ``forecast`` readings from each
    run's latest ones instead (:mod:`labsight.data.forecast`).

    ``on_epoch`` hears every network's epochs as they end (name, epoch, most epochs, training
    loss, best held-out loss): the live display of ``labsight train``.

    Raises
    ------
    InputError
        For an unknown target, task, metric, family or column, an excluded target, too few rows,
        or a bad interval level.
    """
    with reporting(on_epoch):
        return _train(
            table,
            target,
            task=task,
            metric=metric,
            budget=budget,
            seed=seed,
            level=level,
            families=families,
            features=features,
            exclude=exclude,
            max_trials=max_trials,
            on_trial=on_trial,
            forecast=forecast,
        )


def _train(
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
    forecast: int | None = None,
) -> TrainedModel:
    start = time.perf_counter()
    if isinstance(families, str):  # "cnn2d" or "ridge,lasso", as the command line takes them
        families = [f.strip() for f in families.split(",") if f.strip()]
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
    if table.column(target).dtype == "image":  # a mask per image: segmentation
        from labsight.models.segment import train_segmenter

        return train_segmenter(table, target, budget=budget, seed=seed, exclude=exclude)
    horizon = None
    if forecast is not None:  # the next readings of a signal: one row per window and step
        from labsight.data.forecast import forecast_spec, forecast_windows

        horizon = forecast_spec(table, target, forecast, exclude)
        table = forecast_windows(table, horizon)
    # Runs stored one per row, each sensor's readings a list in a cell: unfolded to the long table
    cells = sequence_cells(table, [target, *(exclude or [])]) if features is None else []
    if cells and not horizon:
        ids = [c for c in table.by_role("id") if c not in cells]
        group = ids[0] if len(ids) == 1 else "run" if "run" not in table.frame.columns else "run#"
        table = unfold_cells(table, cells, group)
    # Runs in a long table (a group and a time column, one label per run): one row per run.
    spec = sequence_spec(table, target, exclude) if features is None and not horizon else None
    if spec is not None and cells:
        spec = dataclasses.replace(spec, cells=tuple(cells))
    if spec is not None:
        table = runs_table(table, spec, target)
    kind: Task = infer_task(table.frame[target]) if task == "auto" else task  # type: ignore[assignment]
    score = metric_for(metric, kind)
    fs, left_out = select_features(table, target, features, exclude)
    if spec is not None:
        fs = dataclasses.replace(fs, sequence=spec.sensors, sequence_length=spec.length)
    if fs.image is not None:  # rows without an image (an empty path cell) cannot be read
        table = with_images(table, fs.image)
    y, keep = _target_values(table, target, kind)
    x_all = model_frame(table, fs)
    x = x_all[keep].reset_index(drop=True)
    groups, grouped_by = _groups(table, x, keep)
    folds = make_folds(
        y, classification=kind == "classification", groups=groups, grouped_by=grouped_by, seed=seed
    )
    candidates = families_for(kind, len(y), families, fs)
    if not candidates:  # every family asked for is for the other task, or too slow at this size
        why = "; ".join(
            f"{n} is for {' and '.join(sorted(FAMILIES[n].tasks))}"
            if kind not in FAMILIES[n].tasks
            else f"{n} reads runs of readings, and the table has none (a group and a time column)"
            if FAMILIES[n].runs_only and not fs.sequence
            else f"{n} reads a spectrum, and the table has none"
            if FAMILIES[n].spectral and not fs.signals
            else f"{n} reads images, and the table has none"
            if FAMILIES[n].image and not fs.image
            else f"{n} does not read images"
            if fs.image and not FAMILIES[n].image
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
        # images: no range to check new ones against (an image's distance to the training
        # images is not measured yet, so nothing is claimed)
        domain=None if fs.image else training_domain(x, _domain_features(fs), seed),
        left_out=left_out,
        siblings=sibling_targets(table, target, fs, classes=kind == "classification"),
        sequence=spec,
        forecast=horizon,
    )
    # A forecast is judged against persistence (its latest reading), which a mean cannot match.
    last = x[horizon.lags()[0]].to_numpy(dtype=float) if horizon is not None else None
    base = baseline(problem, last=last)
    if base is not None:
        said = "the latest reading (persistence)" if horizon is not None else None
        compared = versus_baseline(problem, best, base, predicts=said)
        model.baseline = compared.to_dict(score.name)
        model.better_than_baseline = compared.better
    # the model file is written after train returns (the registry's save): its time is kept too
    _finish(model, best, problem, deadline=start + budget - _saving_seconds(best, folds.n_splits))
    model.seconds = time.perf_counter() - start
    return model
