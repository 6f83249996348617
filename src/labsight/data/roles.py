"""Column roles: which columns identify rows, which are inputs, which is the target.

:func:`infer_roles` guesses each column's role from its name, type and values; the caller's
overrides always win. See :data:`labsight.data.table.ROLES` for what each role means.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import replace

import polars as pl

from labsight.data.table import ROLES, ColumnInfo, Role
from labsight.data.units import split_header
from labsight.exceptions import InputError

__all__ = ["infer_roles", "named_like_target"]

_ID = re.compile(
    r"^(?:id|.*[\s_-]id|sample|sample[\s_-]?(?:id|name|no|number)?|run|run[\s_-]?(?:id|no|number)"
    r"|batch[\s_-]?id|rownames|index|name|experiment[\s_-]?id|exp[\s_-]?id)$",
    re.IGNORECASE,
)
_TARGET = re.compile(
    r"(?<![A-Za-z0-9])(?:yield|yld|conversion|selectivity|purity|titer|titre|strength|response"
    r"|target|output|y)(?![A-Za-z0-9])",
    re.IGNORECASE,
)
_GROUP = re.compile(
    r"(?<![A-Za-z0-9])(?:replicate|rep|group|block|plate|lot)(?![A-Za-z0-9])", re.IGNORECASE
)
_TIME = re.compile(r"(?<![A-Za-z0-9])(?:timestamp|datetime|date)(?![A-Za-z0-9])", re.IGNORECASE)
_MAX_LEVELS = 20


def infer_roles(
    frame: pl.DataFrame,
    columns: Sequence[ColumnInfo],
    overrides: Mapping[str, Role] | None = None,
) -> list[ColumnInfo]:
    """Give each column a role: id, target, group, time, condition or feature.

    Parameters
    ----------
    frame
        The table's data.
    columns
        Its column metadata, in frame order (their current roles are ignored).
    overrides
        Roles the caller fixes by column name; they win over every guess.

    Returns
    -------
    list of ColumnInfo
        ``columns`` with roles filled in. At most one column is guessed as target (the last whose
        name says so: yield, conversion, purity, titer, response, y ...).

    Raises
    ------
    InputError
        When an override names a column that does not exist, or a role that does not exist.

    Examples
    --------
    >>> df = pl.DataFrame({"run": [1, 2, 3], "temperature [degC]": [20.0, 30.0, 40.0],
    ...                    "yield [%]": [50.0, 60.0, 70.0]})
    >>> cols = [ColumnInfo("run", "int"), ColumnInfo("temperature [degC]", "float", "degC"),
    ...         ColumnInfo("yield [%]", "float", "%")]
    >>> [c.role for c in infer_roles(df, cols)]
    ['id', 'feature', 'target']
    """
    overrides = dict(overrides or {})
    names = [c.name for c in columns]
    for name, role in overrides.items():
        if name not in names:
            raise InputError(
                f"cannot set the role of {name!r}: no such column",
                expected=f"one of {', '.join(repr(n) for n in names)}",
                hint="Check the spelling of the column name (units in brackets are part of it).",
            )
        if role not in ROLES:
            raise InputError(
                f"unknown role {role!r} for column {name!r}",
                expected=f"one of {', '.join(ROLES)}",
            )
    height = frame.height
    guessed: list[Role] = [_guess(frame.get_column(c.name), c, height) for c in columns]
    if "target" in overrides.values():
        guessed = ["feature" if r == "target" else r for r in guessed]
    else:
        targets = [i for i, r in enumerate(guessed) if r == "target"]
        for i in targets[:-1]:
            guessed[i] = "feature"
    return [
        replace(c, role=overrides.get(c.name, role))
        for c, role in zip(columns, guessed, strict=True)
    ]


def named_like_target(name: str) -> bool:
    """Whether a column's name says it is an outcome (yield, conversion, purity, titer, response,
    y ...): the words by which :func:`infer_roles` guesses a target.

    Examples
    --------
    >>> named_like_target("conversion [%]"), named_like_target("temperature [degC]")
    (True, False)
    """
    return bool(_TARGET.search(split_header(name)[0].strip()))


def _is_row_counter(values: pl.Series) -> bool:
    """Consecutive integers starting at 0 or 1, in order."""
    first = values[0]
    if first not in (0, 1):
        return False
    return bool((values.diff().drop_nulls() == 1).all())


def _guess(series: pl.Series, info: ColumnInfo, height: int) -> Role:
    name, _ = split_header(info.name)
    name = name.strip()
    is_text = info.dtype == "string"
    if info.dtype in ("datetime", "date") or (_TIME.search(name) and not info.unit):
        return "time"
    non_null = series.drop_nulls()
    # Distinct values only decide the role of whole numbers and text: skip the count for floats.
    counted = is_text or info.dtype == "int"
    n_unique = non_null.n_unique() if height and counted else 0
    all_unique = counted and height > 0 and non_null.len() == height and n_unique == height
    if all_unique and (is_text or info.dtype == "int") and _ID.match(name):
        return "id"
    if all_unique and info.dtype == "int" and height >= 3 and _is_row_counter(non_null):
        return "id"  # 0, 1, 2 … or 1, 2, 3 …: a row number whatever its name (NAME, entry)
    if _TARGET.search(name) and info.dtype in ("float", "int", "bool"):
        return "target"
    if _GROUP.search(name):
        return "group"
    if is_text:
        if all_unique and height > 1:
            return "id"
        if (n_unique <= _MAX_LEVELS and n_unique < max(1, height) * 0.5) or height <= 1:
            return "condition"
    return "feature"
