"""Cross-validation folds for small lab tables: repeated, stratified, and group-aware.

Replicates of one condition must never sit on both sides of a fold, or the score measures how well a
model remembers a condition rather than how well it predicts a new one. Groups come from the table's
``group`` column when it has one (replicate, batch, plate), else from rows whose features are all
equal (repeated runs of one condition). Small tables are cross-validated several times with
different shuffles (3 repeats up to 200 rows, 2 up to 500, then 1), which steadies the estimate.
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

__all__ = ["Folds", "make_folds", "replicate_groups"]

_MAX_SPLITS = 5
_MIN_ROWS = 6


@dataclass(frozen=True)
class Folds:
    """Train/test index pairs, with the repeat each belongs to and how groups were found."""

    splits: list[tuple[np.ndarray, np.ndarray]]
    repeat: list[int]
    n_splits: int
    repeats: int
    grouped_by: str | None  # "column NAME", "replicates" or None
    stratified: bool

    def first_partition(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """The folds of the first repeat: every row is held out exactly once (for CV+)."""
        return [s for s, r in zip(self.splits, self.repeat, strict=True) if r == 0]

    def describe(self) -> str:
        """``5-fold × 3 repeats, stratified, grouped by replicates``."""
        text = f"{self.n_splits}-fold × {self.repeats} repeat{'s' if self.repeats > 1 else ''}"
        if self.stratified:
            text += ", stratified"
        if self.grouped_by:
            text += f", grouped by {self.grouped_by}"
        return text


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
    if n < _MIN_ROWS:
        raise InputError(
            f"{n} rows are too few to train and validate a model",
            expected=f"at least {_MIN_ROWS} rows with a target value",
        )
    units = n if groups is None else int(np.unique(groups).size)
    n_splits = min(_MAX_SPLITS, units)
    if classification:
        _, counts = np.unique(y, return_counts=True)
        n_splits = min(n_splits, int(counts.min()))
        if n_splits < 2:
            raise InputError(
                "a class has only one row: it cannot be both trained on and tested",
                expected="at least 2 rows of every class",
                hint="Merge or drop the rare class, or collect more runs of it",
            )
    if n_splits < 2:
        raise InputError(
            f"only {units} distinct group(s): folds need at least 2",
            hint="Check the group column; replicates of one condition count as one group",
        )
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
        splits, repeat, n_splits, r, grouped_by if groups is not None else None, classification
    )
