"""The feature matrix that clustering and embedding share: columns checked, imputed, standardized.

:func:`feature_matrix` picks the columns (by default the numeric ``feature`` and ``condition``
ones), imputes missing values with the column median and turns every column into z-scores;
:func:`threads` keeps BLAS/OpenMP to one thread for small matrices. Used by :mod:`labsight.models.clustering` and
:mod:`labsight.models.embedding`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from threadpoolctl import threadpool_limits

from labsight.data.stats import numeric_values
from labsight.data.table import Table
from labsight.exceptions import InputError

__all__ = ["Matrix", "feature_matrix", "threads"]

_NUMERIC_DTYPES = ("float", "int")
_DEFAULT_ROLES = ("feature", "condition")
_SINGLE_THREAD_CELLS = 1_000_000  # below this many matrix cells, threads cost more than they save


@dataclass(frozen=True)
class Matrix:
    """The feature matrix as read (NaN where missing), imputed and standardized."""

    features: list[str]
    units: list[str | None]
    raw: NDArray[np.float64]
    z: NDArray[np.float64]
    imputed_rows: int


def feature_matrix(table: Table, features: list[str] | None) -> Matrix:
    """Check the columns, then read, impute (median) and standardize them."""
    numeric = [c.name for c in table.columns if c.dtype in _NUMERIC_DTYPES]
    if features is None:
        names = [
            c.name for c in table.columns if c.dtype in _NUMERIC_DTYPES and c.role in _DEFAULT_ROLES
        ]
        if not names:
            raise InputError(
                "the table has no numeric feature or condition columns",
                expected="at least one numeric column with role feature or condition",
                got="none",
                hint="name the columns to use, or set their roles",
            )
    else:
        names = list(dict.fromkeys(features))
        if not names:
            raise InputError("no features given", expected="at least one column name", got="none")
        for name in names:
            if name not in table.frame.columns:
                raise InputError(
                    f"unknown column {name!r}",
                    column=name,
                    expected="one of " + (", ".join(numeric) or "(no numeric columns)"),
                    got=repr(name),
                )
            if table.column(name).dtype not in _NUMERIC_DTYPES:
                raise InputError(
                    f"column {name!r} is not numeric",
                    column=name,
                    expected="a numeric column: " + (", ".join(numeric) or "(none)"),
                    got=table.column(name).dtype,
                )
    raw = np.column_stack([numeric_values(table.frame.get_column(name)) for name in names]).astype(
        np.float64
    )
    missing: NDArray[np.bool_] = np.isnan(raw)
    empty = [name for j, name in enumerate(names) if bool(missing[:, j].all())]
    if empty and raw.shape[0] > 0:
        raise InputError(
            f"column {empty[0]!r} has no values",
            column=empty[0],
            expected="a column with at least one number",
            got="only missing values",
        )
    filled = raw.copy()
    if raw.shape[0] > 0:
        medians = np.nanmedian(raw, axis=0)
        filled = np.where(missing, medians, raw)
    mean = filled.mean(axis=0) if raw.shape[0] else np.zeros(len(names))
    sd = filled.std(axis=0) if raw.shape[0] else np.ones(len(names))
    sd = np.where(sd > 0, sd, 1.0)
    z = (filled - mean) / sd
    units = [table.column(name).unit for name in names]
    return Matrix(
        features=names,
        units=units,
        raw=raw,
        z=np.asarray(z, dtype=np.float64),
        imputed_rows=int(missing.any(axis=1).sum()),
    )


def threads(z: NDArray[np.float64]) -> Any:
    """One BLAS/OpenMP thread for small matrices: on a busy machine thread start-up and
    oversubscription make a 300-row k-means 100x slower; large matrices keep the default."""
    return threadpool_limits(limits=1 if z.size < _SINGLE_THREAD_CELLS else None)
