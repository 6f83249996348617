"""Cross-validation folds for small lab tables: repeated, stratified, and group-aware.

Replicates of one condition must never sit on both sides of a fold, or the score measures how well a
model remembers a condition rather than how well it predicts a new one. Groups come from the table's
``group`` column when it has one (replicate, batch, plate), else from rows whose features are all
equal (repeated runs of one condition). Tables are cross-validated several times with different
shuffles (3 repeats up to 200 rows, 2 up to 500, then 1), which steadies the estimate.

Tiny tables (a factorial design of 4 to 15 runs) are cross-validated leave-one-out instead, leaving
out one row, or one group of replicates, at a time, which trains each fold model on every other
row. A one-row test fold has no R² (nor balanced accuracy worth the name), so such folds are
*pooled*: the metric is computed once over all out-of-fold predictions together (``Folds.pooled``).
Larger tables are pooled too whenever a test fold holds fewer than :data:`POOL_BELOW` rows (tables
up to about 50 rows in 5 folds, or a lone small group): an R² of four held-out rows swings by more
than the differences between models (on 21 spectra, per-fold R² ranked a decision tree above PLS
whose pooled out-of-fold R² was far higher), so each repeat is scored whole.
Below :data:`MIN_ROWS` rows, or with a class of a single row, nothing can be validated and
:func:`make_folds` refuses in one line.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.model_selection import (
    GroupKFold,
    KFold,
    StratifiedGroupKFold,
    StratifiedKFold,
)

from labsight.exceptions import InputError

__all__ = [
    "MIN_ROWS",
    "POOLED_MAX_ROWS",
    "POOL_BELOW",
    "Folds",
    "make_folds",
    "replicate_groups",
]

_MAX_SPLITS = 5
MIN_ROWS = 3
"""Fewest rows with a target value that can be trained on and validated (two train, one tests)."""
POOL_BELOW = 10
"""A repeat whose smallest test fold holds fewer rows than this is scored whole (pooled)."""
POOLED_MAX_ROWS = 15
"""Up to this many rows, cross-validation is leave-one-out with pooled scoring: 5-fold would hold
out one to three rows per fold (no R², and a fifth of a tiny table never trained on)."""


@dataclass(frozen=True)
class Folds:
    """Train/test index pairs, with the repeat each belongs to and how groups were found."""

    splits: list[tuple[np.ndarray, np.ndarray]]
    repeat: list[int]
    n_splits: int
    repeats: int
    grouped_by: str | None  # "column NAME", "replicates" or None
    stratified: bool
    pooled: bool = False  # score all out-of-fold predictions of a repeat at once
    leave_one_out: bool = False  # one row (or one group) held out per fold

    def first_partition(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """The folds of the first repeat: every row is held out exactly once (for CV+)."""
        return [s for s, r in zip(self.splits, self.repeat, strict=True) if r == 0]

    def describe(self) -> str:
        """``5-fold × 3 repeats, stratified, grouped by replicates``, or for a tiny table
        ``leave-one-out (8 folds), pooled``."""
        if self.leave_one_out:
            how = "leave-one-group-out" if self.grouped_by else "leave-one-out"
            text = f"{how} ({self.n_splits} folds)"
        else:
            text = f"{self.n_splits}-fold × {self.repeats} repeat{'s' if self.repeats > 1 else ''}"
        if self.pooled:
            text += ", pooled"
        if self.stratified:
            text += ", stratified"
        if self.grouped_by:
            text += f", grouped by {self.grouped_by}"
        return text

    @property
    def grouping(self) -> str:
        """Which rows the folds keep together, and why, in words: ``grouped by column 'batch'
        (its role is group)``, ``grouped by replicates (...)`` or ``not grouped (...)``.

        Examples
        --------
        >>> make_folds(np.arange(20.0), classification=False).grouping
        'not grouped (no column has the role group, and no two rows have the same features)'
        """
        if self.grouped_by is None:
            return (
                "not grouped (no column has the role group, and no two rows have the same features)"
            )
        if self.grouped_by.startswith("replicates"):
            why = self.grouped_by.partition("; ")[2] or "no column has the role group"
            return f"grouped by replicates (rows with the same features stay together; {why})"
        return f"grouped by {self.grouped_by} (its role is group)"


def replicate_groups(x: pd.DataFrame) -> np.ndarray | None:
    """A group id per row when some rows repeat the same features (replicates), else None.

    Examples
    --------
    >>> replicate_groups(pd.DataFrame({"T": [20, 20, 30, 40], "cat": ["a", "a", "a", "b"]})).tolist()
    [0, 0, 1, 2]
    """
    if x.shape[1] == 0:
        return None
    codes = x.astype(str).agg("\x1f".join, axis=1) if x.shape[1] > 1 else x.iloc[:, 0].astype(str)
    _, first, groups = np.unique(codes.to_numpy(), return_index=True, return_inverse=True)
    if first.size == len(x):
        return None
    # Number groups in order of first appearance, so ids read naturally.
    rank = np.argsort(np.argsort(first))
    return np.asarray(rank[groups], dtype=np.int64)


def _repeats(n: int) -> int:
    return 3 if n <= 200 else 2 if n <= 500 else 1


def make_folds(
    y: np.ndarray,
    *,
    classification: bool,
    groups: np.ndarray | None = None,
    grouped_by: str | None = None,
    seed: int = 0,
    repeats: int | None = None,
) -> Folds:
    """Folds for ``y``: stratified for classes, group-aware when ``groups`` is given.

    Raises
    ------
    InputError
        When there are too few rows, groups or members of a class to cross-validate.
    """
    n = len(y)
    if n < MIN_ROWS:
        raise InputError(
            f"{n} row{'s are' if n != 1 else ' is'} too few to train and validate a model",
            expected=f"at least {MIN_ROWS} rows with a target value",
            hint="Collect more runs, or fill in the target where it is missing",
        )
    units = n if groups is None else int(np.unique(groups).size)
    if classification:
        labels, counts = np.unique(y, return_counts=True)
        if counts.min() < 2:
            rare = labels[int(np.argmin(counts))]
            raise InputError(
                f"class {str(rare)!r} has only one row: it cannot be both trained on and tested",
                expected="at least 2 rows of every class",
                got=", ".join(f"{c} × {str(v)!r}" for v, c in zip(labels, counts, strict=True)),
                hint="Merge or drop the rare class, or collect more runs of it; if the target is a "
                "measured number, pass --task regression",
            )
    if units < 2:
        raise InputError(
            f"only {units} distinct group(s): folds need at least 2",
            hint="Check the group column; replicates of one condition count as one group",
        )
    if n <= POOLED_MAX_ROWS:
        return _leave_one_out(n, groups, grouped_by)
    n_splits = min(_MAX_SPLITS, units)
    if classification:
        n_splits = min(n_splits, int(counts.min()))
    r = repeats if repeats is not None else _repeats(n)
    splits: list[tuple[np.ndarray, np.ndarray]] = []
    repeat: list[int] = []
    x_dummy = np.zeros((n, 1))
    for k in range(r):
        state = seed + k
        if groups is not None and classification:
            cv = StratifiedGroupKFold(n_splits, shuffle=True, random_state=state)
            parts = cv.split(x_dummy, y, groups)
        elif groups is not None:
            parts = GroupKFold(n_splits, shuffle=True, random_state=state).split(x_dummy, y, groups)
        elif classification:
            parts = StratifiedKFold(n_splits, shuffle=True, random_state=state).split(x_dummy, y)
        else:
            parts = KFold(n_splits, shuffle=True, random_state=state).split(x_dummy)
        for train, test in parts:
            splits.append((train, test))
            repeat.append(k)
    return Folds(
        splits,
        repeat,
        n_splits,
        r,
        grouped_by if groups is not None else None,
        classification,
        # A test fold of a few rows (a small table, a lone group among large ones) gives a score
        # that is mostly noise, a one-row fold none at all: score each repeat whole.
        pooled=any(len(test) < POOL_BELOW for _, test in splits),
    )


def _leave_one_out(n: int, groups: np.ndarray | None, grouped_by: str | None) -> Folds:
    """One row (or one group) out at a time, in row order: deterministic, so one repeat."""
    ids = np.arange(n) if groups is None else np.unique(groups, return_inverse=True)[1]
    rows = np.arange(n)
    splits = [(rows[ids != k], rows[ids == k]) for k in range(int(ids.max()) + 1)]
    return Folds(
        splits,
        [0] * len(splits),
        len(splits),
        1,
        grouped_by if groups is not None else None,
        False,  # one row or group out: nothing to stratify
        pooled=True,
        leave_one_out=True,
    )
