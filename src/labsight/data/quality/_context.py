"""What every check needs to know about a table: its column kinds, and how to name rows in messages."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property

import polars as pl

from labsight.data.stats import numeric_values
from labsight.data.table import Table
from labsight.data.table import is_number as is_numeric  # the checks' name for it

__all__ = ["MAX_LEVELS", "CheckContext", "is_numeric", "is_text", "numeric_values"]

MAX_LEVELS = 50
"""A text column with more distinct values than this is not treated as a categorical."""


def is_text(dtype: pl.DataType) -> bool:
    return dtype in (pl.String, pl.Categorical) or isinstance(dtype, pl.Enum)


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
        """Distinct non-null values per column (shared with explore through the table)."""
        return {name: self.table.distinct(name) for name in self.frame.columns}

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
