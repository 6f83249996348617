"""What every check needs to know about a table: its column kinds, and how to name rows in messages."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import polars as pl

from labsight.data.table import Table

__all__ = ["MAX_LEVELS", "CheckContext", "is_numeric", "is_text", "numeric_values"]

MAX_LEVELS = 50
"""A text column with more distinct values than this is not treated as a categorical."""


def is_numeric(dtype: pl.DataType) -> bool:
    """Integers and floats; booleans are not numbers here."""
    return dtype.is_numeric() and dtype != pl.Boolean


def is_text(dtype: pl.DataType) -> bool:
    return dtype in (pl.String, pl.Categorical) or isinstance(dtype, pl.Enum)


def numeric_values(series: pl.Series) -> np.ndarray:
    """A numeric column as float64 with nulls (and NaN) as NaN."""
    return series.cast(pl.Float64).fill_nan(None).to_numpy(allow_copy=True).astype(np.float64)


@dataclass
class CheckContext:
    """A table plus the options of one :func:`check_table` call, with cached column groupings."""

    table: Table
    multivariate: bool = False
    cache: dict[str, object] = field(default_factory=dict, repr=False)
    """Results one check leaves for another (e.g. robust bounds for the multivariate check)."""

    @property
    def frame(self) -> pl.DataFrame:
        return self.table.frame

    @property
    def n(self) -> int:
        return self.table.frame.height

    @cached_property
    def n_unique(self) -> dict[str, int]:
        """Distinct non-null values per column.

        Numbers come from the table's shared summary (one sort, reused by explore; NaN counts as
        missing there), other columns are hashed one at a time: counting all columns at once builds
        every column's hash set together, which on a million rows costs more memory than the
        table itself.
        """
        return {
            name: self.table.numeric_summary(name).distinct
            if is_numeric(self.table.schema[name])
            else int(self.frame[name].drop_nulls().n_unique())
            for name in self.frame.columns
        }

    @cached_property
    def null_count(self) -> dict[str, int]:
        if not self.frame.columns:
            return {}
        row = self.frame.null_count().row(0)
        return dict(zip(self.frame.columns, (int(v) for v in row), strict=True))

    def numeric(self, exclude_roles: Sequence[str] = ("id", "time", "group")) -> list[str]:
        """Numeric columns whose role is not excluded."""
        return [
            c.name
            for c in self.table.columns
            if c.role not in exclude_roles and is_numeric(self.table.schema[c.name])
        ]

    def categorical(self, max_levels: int = MAX_LEVELS) -> list[str]:
        """Columns that split rows into a few groups: condition/group roles and short text columns."""
        out = []
        for c in self.table.columns:
            dtype = self.table.schema[c.name]
            if c.role in ("id", "time", "target"):
                continue
            if not 2 <= self.n_unique[c.name] <= max_levels:
                continue
            if c.role in ("condition", "group") or is_text(dtype) or dtype == pl.Boolean:
                out.append(c.name)
        return out

    def text(self, exclude_roles: Sequence[str] = ("id",)) -> list[str]:
        return [
            c.name
            for c in self.table.columns
            if c.role not in exclude_roles and is_text(self.table.schema[c.name])
        ]

    def describe_rows(self, rows: Sequence[int], limit: int = 5) -> str:
        """``rows 3, 17 (lines 5, 19)`` or ``rows 3, 17, 40, 41, 42 and 12 more``."""
        rows = list(rows)
        shown = rows[:limit]
        word = "row" if len(rows) == 1 else "rows"
        text = f"{word} " + ", ".join(str(r) for r in shown)
        lines = [self.table.line_of(r) for r in shown]
        if shown and all(line is not None for line in lines):
            text += " (file line" + ("s " if len(lines) > 1 else " ")
            text += ", ".join(str(line) for line in lines) + ")"
        if len(rows) > limit:
            text += f" and {len(rows) - limit} more"
        return text
