"""Per-column summary statistics, and the column groupings the other analysis modules share.

Everything is computed on all rows: numbers from the table's shared summaries (one sort per column,
see :meth:`~labsight.data.table.Table.numeric_summary`), counts of missing and distinct values of
other columns in one polars ``select``; the most common levels of text, boolean and condition
columns come from one ``value_counts`` each.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import polars as pl

from labsight.data.stats import numeric_values
from labsight.data.table import Table, is_number

__all__ = [
    "MAX_LEVELS",
    "binary_columns",
    "categorical_columns",
    "floats",
    "fmt",
    "is_number",
    "label",
    "level_text",
    "names_unit",
    "numeric_columns",
    "numeric_values",
    "slug",
    "summarize",
]

MAX_LEVELS = 50
"""A column with more distinct values than this is never treated as a category."""

_TOP_LEVELS = 5
_NUMERIC_STATS = ("mean", "sd", "min", "q1", "median", "q3", "max")


def _is_text(dtype: pl.DataType) -> bool:
    return dtype in (pl.String, pl.Categorical) or isinstance(dtype, pl.Enum)


def numeric_columns(
    table: Table, exclude_roles: Sequence[str] = ("id", "time", "group")
) -> list[str]:
    """Numeric columns whose role is not excluded, in table order."""
    return [
        c.name
        for c in table.columns
        if c.role not in exclude_roles and is_number(table.schema[c.name])
    ]


def categorical_columns(
    table: Table, distinct: dict[str, int], max_levels: int = MAX_LEVELS
) -> list[str]:
    """Columns that split rows into 2..``max_levels`` groups: conditions, groups, text and booleans."""
    out = []
    for c in table.columns:
        dtype = table.schema[c.name]
        if c.role in ("id", "time") or not 2 <= distinct.get(c.name, 0) <= max_levels:
            continue
        if (
            c.role in ("condition", "group")
            or _is_text(dtype)
            or dtype == pl.Boolean
            or (
                c.role == "target"
                and is_number(dtype)
                # Class labels coded as integers, or two classes however coded (0.0 / 1.0).
                and ((dtype.is_integer() and distinct[c.name] <= 12) or distinct[c.name] == 2)
            )
        ):
            out.append(c.name)
    return out


def binary_columns(table: Table, distinct: dict[str, int]) -> list[str]:
    """Numeric columns that hold exactly two values (0/1 flags, assay outcomes): drawn as two
    levels, never as a box or on a colour scale."""
    return [
        c.name
        for c in table.columns
        if distinct.get(c.name) == 2 and is_number(table.schema[c.name])
    ]


def level_text(value: object) -> str:
    """A level as a reader writes it: ``1`` for 1.0, ``(missing)`` for None."""
    if value is None:
        return "(missing)"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


_UNIT_IN_NAME = re.compile(r"[\[(][^\])]*[\])]\s*$")


def names_unit(name: str) -> bool:
    """True when a header already ends in a unit (``time [min]``, ``T (degC)``)."""
    return bool(_UNIT_IN_NAME.search(name))


def label(table: Table, name: str) -> str:
    """An axis label with the unit: ``temperature [degC]`` (names that already carry it stay)."""
    unit = table.column(name).unit
    if not unit or names_unit(name):
        return name  # the header already names a unit, perhaps spelt as in the file ("°C")
    return f"{name} [{unit}]"


def slug(text: str) -> str:
    """A file-name-safe form of ``text``: ``temperature [degC]`` → ``temperature-degc``."""
    out = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return out or "column"


def fmt(value: float | None) -> str:
    """A number for a caption: three significant digits, thousands separated (``1,250``, ``0.0712``)."""
    if value is None or not np.isfinite(value):
        return "n/a"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def floats(values: np.ndarray) -> list[float | None]:
    """Plain Python floats for figure data, NaN as None (JSON has no NaN)."""
    arr = np.asarray(values, dtype=np.float64)
    out: list[float | None] = arr.tolist()
    if np.isnan(arr).any():
        out = [None if v != v else v for v in out]
    return out


def _top_levels(series: pl.Series, n: int) -> str:
    counts = series.drop_nulls().cast(pl.String).value_counts(sort=True, name="n")
    if counts.height == 0:
        return ""
    total = int(counts["n"].sum())
    shown = counts.head(_TOP_LEVELS)
    parts = [
        f"{level} ({k / total:.0%})"
        for level, k in zip(shown[series.name].to_list(), shown["n"].to_list(), strict=True)
    ]
    if counts.height > _TOP_LEVELS:
        parts.append(f"{counts.height - _TOP_LEVELS} more")
    return ", ".join(parts)


def summarize(table: Table) -> pl.DataFrame:
    """One row per column: what it is, how complete it is, and its distribution.

    Parameters
    ----------
    table
        The table to describe; every row counts.

    Returns
    -------
    polars.DataFrame
        Columns ``name, unit, dtype, role, count, missing, missing_share, distinct, mean, sd, min,
        q1, median, q3, max, top``. The numeric statistics are null for non-numeric columns; ``top``
        lists the most common levels (with their share) of categorical columns.

    Examples
    --------
    >>> t = Table.from_frame(pl.DataFrame({"T": [20.0, 25.0, None], "cat": ["a", "a", "b"]}))
    >>> summarize(t).select("name", "count", "missing", "mean", "top").rows()
    [('T', 2, 1, 22.5, None), ('cat', 3, 0, None, 'a (67%), b (33%)')]
    """
    frame = table.frame
    n = frame.height
    nulls = dict(zip(frame.columns, frame.null_count().row(0), strict=True)) if frame.width else {}
    records = []
    for info in table.columns:
        c = info.name
        # NaN counts as missing in numbers: lab exports never mean it as a value.
        if is_number(table.schema[c]):
            stats = table.numeric_summary(c)
            missing = stats.missing
            values = {stat: getattr(stats, stat) for stat in _NUMERIC_STATS}
        else:
            missing = int(nulls[c])
            values = dict.fromkeys(_NUMERIC_STATS)
        record: dict[str, object] = {
            "name": c,
            "unit": info.unit,
            "dtype": info.dtype,
            "role": info.role,
            "count": n - missing,
            "missing": missing,
            "missing_share": missing / n if n else 0.0,
            "distinct": table.distinct(c),
            **values,
            "top": None,
        }
        records.append(record)
    summary = pl.DataFrame(
        records,
        schema={
            "name": pl.String,
            "unit": pl.String,
            "dtype": pl.String,
            "role": pl.String,
            "count": pl.Int64,
            "missing": pl.Int64,
            "missing_share": pl.Float64,
            "distinct": pl.Int64,
            **dict.fromkeys(_NUMERIC_STATS, pl.Float64),
            "top": pl.String,
        },
        orient="row",
    )
    levels = dict(zip(summary["name"].to_list(), summary["distinct"].to_list(), strict=True))
    cats = categorical_columns(table, levels)
    if cats and n:
        tops = {c: _top_levels(frame[c], n) for c in cats}
        summary = summary.with_columns(
            pl.col("name").replace_strict(tops, default=None, return_dtype=pl.String).alias("top")
        )
    return summary
