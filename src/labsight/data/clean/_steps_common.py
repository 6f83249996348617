"""What the cleaning steps share: the names of derived columns, the change log, the registries' types.

The step kinds themselves live in ``_steps_values`` (``sentinels``, ``labels``, ``units``) and
``_steps_stats`` (``outliers``, ``impute``, ``replicates``); :mod:`labsight.data.clean._steps`
joins their registries.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Any

import numpy as np

from labsight.data.clean._plan import CleaningStep
from labsight.data.table import ColumnInfo, Role, Table

__all__ = [
    "DERIVED_ROLE",
    "N_REPLICATES",
    "OUTLIER_SUFFIX",
    "SD_SUFFIX",
    "ApplyFunction",
    "Change",
    "FitFunction",
    "free_name",
    "outlier_flags",
    "registrar",
]

OUTLIER_SUFFIX = "__outlier"
"""``<col>__outlier``: the boolean column ``--outliers flag`` adds (role ``id``, never a feature)."""
SD_SUFFIX = "__sd"
"""``<col>__sd``: the replicate standard deviation ``--replicates`` keeps (role ``id``)."""
N_REPLICATES = "n_replicates"
"""The number of rows averaged into each row by ``--replicates`` (role ``id``)."""
DERIVED_ROLE: Role = "id"
"""Role of derived columns: the one role that no check and no model treats as an input."""

Change = dict[str, Any]
FitFunction = Callable[[Table, str], CleaningStep | None]
ApplyFunction = Callable[[Table, CleaningStep], tuple[Table, list[Change]]]


def registrar(
    fit: dict[str, FitFunction], apply: dict[str, ApplyFunction]
) -> tuple[
    Callable[[str], Callable[[FitFunction], FitFunction]],
    Callable[[str], Callable[[ApplyFunction], ApplyFunction]],
]:
    """The two decorators that enter a step kind's fit function into ``fit`` and its apply
    function into ``apply``, under the step's ``op`` name."""

    def fit_as(op: str) -> Callable[[FitFunction], FitFunction]:
        def register(fn: FitFunction) -> FitFunction:
            fit[op] = fn
            return fn

        return register

    def apply_as(op: str) -> Callable[[ApplyFunction], ApplyFunction]:
        def register(fn: ApplyFunction) -> ApplyFunction:
            apply[op] = fn
            return fn

        return register

    return fit_as, apply_as


def _change(step: CleaningStep, column: str | None, rows: np.ndarray, **extra: Any) -> Change:
    """One log entry; ``rows`` lists at most the first 1,000 rows, ``count`` is the total."""
    return {
        "op": step.op,
        "method": step.method,
        "column": column,
        "count": int(rows.size),
        "rows": rows[:1000].tolist(),
        **extra,
    }


def free_name(taken: Iterable[str], wanted: str) -> str:
    """``wanted``, or else the first of ``wanted_2``, ``wanted_3`` … that is not ``taken``.

    Examples
    --------
    >>> free_name(["y", "y__outlier"], "y__outlier")
    'y__outlier_2'
    """
    names = set(taken)
    if wanted not in names:
        return wanted
    n = 2
    while f"{wanted}_{n}" in names:
        n += 1
    return f"{wanted}_{n}"


def _renamed(wanted: str, got: str) -> dict[str, str]:
    """The log's note when a derived column could not take its usual name."""
    return {} if got == wanted else {"note": f"{wanted!r} exists and was kept"}


_FLAG = re.compile(rf"^(?P<of>.+){re.escape(OUTLIER_SUFFIX)}(?:_\d+)?$")


def outlier_flags(table: Table, name: str | None = None) -> list[str]:
    """The outlier flags an ``outliers flag`` step added (of column ``name``, or of any): derived
    boolean columns named ``<col>__outlier`` or ``<col>__outlier_N``. A user's own column of that
    name is data, not a flag."""
    return [
        c.name
        for c in table.columns
        if c.role == DERIVED_ROLE
        and c.dtype == "bool"
        and (m := _FLAG.match(c.name)) is not None
        and (name is None or m.group("of") == name)
    ]


def _set_info(table: Table, name: str, **changes: Any) -> list[ColumnInfo]:
    return [replace(c, **changes) if c.name == name else c for c in table.columns]


def _finite(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def _code_mask(values: np.ndarray, codes: Iterable[float]) -> np.ndarray:
    """True where a numeric column's values hold one of ``codes`` exactly."""
    return np.isin(values, np.asarray(list(codes), dtype=np.float64))
