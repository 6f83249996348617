"""The in-memory table that flows through labsight: a polars frame plus what we know of its columns."""

from __future__ import annotations

import functools
from dataclasses import asdict, dataclass, field, replace
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal

import polars as pl

from labsight.data.findings import Finding
from labsight.data.stats import NumericSummary, numeric_summary, numeric_values

if TYPE_CHECKING:
    from labsight.data.images import ImageFiles

__all__ = ["ROLES", "ColumnInfo", "Role", "SourceInfo", "Table", "dtype_name", "is_number"]

Role = Literal["id", "feature", "target", "group", "time", "condition"]
ROLES: tuple[Role, ...] = ("id", "feature", "target", "group", "time", "condition")
"""Column roles. ``condition``: a categorical setting of a run (operator, catalyst, instrument);
``feature``: any other input; ``group``: replicate/batch label; ``time``: a timestamp."""


def is_number(dtype: pl.DataType) -> bool:
    """Integers and floats; booleans are categories, not numbers."""
    return dtype.is_numeric() and dtype != pl.Boolean


def dtype_name(dtype: pl.DataType) -> str:
    """labsight's name for a polars dtype: float, int, bool, string, datetime, date."""
    if dtype.is_float():
        return "float"
    if dtype.is_integer():
        return "int"
    if dtype == pl.Boolean:
        return "bool"
    if isinstance(dtype, pl.Datetime):
        return "datetime"
    if dtype == pl.Date:
        return "date"
    return "string"


@dataclass(frozen=True)
class ColumnInfo:
    """One column: its name as in the file, its logical type, its unit and its role.

    ``dtype`` is one of ``"float"``, ``"int"``, ``"bool"``, ``"string"``, ``"datetime"``, ``"date"``.
    ``unit`` is a pint unit string in pint's short form (``"degC"``, ``"%"``, ``"mol / L"``) or
    ``None`` for unitless or non-numeric columns.
    """

    name: str
    dtype: str
    unit: str | None = None
    role: Role = "feature"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ColumnInfo:
        return cls(
            name=str(data["name"]),
            dtype=str(data["dtype"]),
            unit=data.get("unit"),
            role=data.get("role", "feature"),
        )


@functools.lru_cache(maxsize=4096)
def _column_info(name: str, dtype: pl.DataType, role: Role) -> ColumnInfo:
    """A column's metadata from its header and type, the unit read from the header for numbers
    only (as in ingest); made once per header, type and role (a server reads the same headers
    on every request, and ``ColumnInfo`` cannot change)."""
    from labsight.data.units import split_header

    kind = dtype_name(dtype)
    unit = split_header(name)[1] if kind in ("float", "int") else None
    return ColumnInfo(name, kind, unit, role)


@dataclass(frozen=True)
class SourceInfo:
    """Where a table came from and how it was read (kept in the dataset version's lineage)."""

    path: str
    format: str  # "csv" | "excel" | "parquet" | "jsonl"
    sha256: str  # of the file's bytes as found on disk
    size: int
    encoding: str | None = None
    delimiter: str | None = None
    decimal_comma: bool = False
    compression: str | None = None  # "gzip" or None
    header_line: int | None = None  # 1-based physical line of the header row (text formats)
    sheet: str | None = None
    preamble: dict[str, str] = field(default_factory=dict)  # "Instrument: HPLC-2" lines

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Table:
    """A polars frame with column metadata and the findings made while reading it.

    ``columns`` lists the frame's columns in order. ``findings`` holds what ingest noticed (cells that
    are not numbers, mixed units); the quality report starts from them. ``row_lines``, when known,
    gives the 1-based physical file line of each data row, so messages can name the line.
    """

    frame: pl.DataFrame
    columns: list[ColumnInfo]
    findings: list[Finding] = field(default_factory=list)
    source: SourceInfo | None = None
    row_lines: list[int] | None = None
    # The image files of a table with an ``image`` column (:mod:`labsight.data.images`)
    images: ImageFiles | None = field(default=None, repr=False, compare=False)
    _numeric: dict[str, NumericSummary] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    _distinct: dict[str, int] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        names = [c.name for c in self.columns]
        if names != self.frame.columns:
            raise ValueError(
                f"column metadata {names} does not match frame columns {self.frame.columns}"
            )

    @classmethod
    def from_frame(
        cls,
        frame: pl.DataFrame,
        *,
        roles: dict[str, Role] | None = None,
        units: dict[str, str | None] | None = None,
    ) -> Table:
        """A table from a polars frame already in memory; roles default to ``feature``.

        The unit of a numeric column is read from its header as ingest reads it
        (``"temperature [K]"`` is in ``K``, see :func:`labsight.data.units.split_header`), so a
        frame and the same rows read from a file carry the same units. ``units`` overrides that
        for the columns it names (``None`` there means "no unit").

        Examples
        --------
        >>> t = Table.from_frame(pl.DataFrame({"T": [20.0, 25.0], "y": [1, 2]}), roles={"y": "target"})
        >>> [(c.name, c.dtype, c.role) for c in t.columns]
        [('T', 'float', 'feature'), ('y', 'int', 'target')]
        >>> t = Table.from_frame(pl.DataFrame({"T [K]": [293.15], "time (min)": [5], "note [s]": ["a"]}))
        >>> [(c.name, c.unit) for c in t.columns]
        [('T [K]', 'K'), ('time (min)', 'min'), ('note [s]', None)]
        """
        roles, units = roles or {}, units or {}
        columns = []
        for name, dtype in frame.schema.items():
            if name in units:
                columns.append(
                    ColumnInfo(name, dtype_name(dtype), units[name], roles.get(name, "feature"))
                )
            else:
                columns.append(_column_info(name, dtype, roles.get(name, "feature")))
        return cls(frame, columns)

    @cached_property
    def schema(self) -> dict[str, pl.DataType]:
        """Column name → polars dtype, computed once (polars builds a new schema on every call)."""
        return dict(self.frame.schema)

    def numeric_summary(self, name: str) -> NumericSummary:
        """Count, distinct values, moments and quartiles of a numeric column (NaN is missing),
        computed on first use and shared by everything that reads this table (quality, explore).

        Examples
        --------
        >>> t = Table.from_frame(pl.DataFrame({"T": [20.0, None, 30.0, 30.0]}))
        >>> s = t.numeric_summary("T")
        >>> s.count, s.distinct, s.median
        (3, 2, 30.0)
        """
        cached = self._numeric.get(name)
        if cached is None:
            cached = self._numeric[name] = numeric_summary(numeric_values(self.frame[name]))
        return cached

    def distinct(self, name: str) -> int:
        """Distinct present values of a column (NaN is missing in numbers), computed once.

        Numbers come from :meth:`numeric_summary`; other columns are hashed one at a time
        (counting all columns at once builds every hash set together, which on a million rows
        costs more memory than the table itself).
        """
        if is_number(self.schema[name]):
            return self.numeric_summary(name).distinct
        cached = self._distinct.get(name)
        if cached is None:
            cached = self._distinct[name] = int(self.frame[name].drop_nulls().n_unique())
        return cached

    @property
    def height(self) -> int:
        return self.frame.height

    def column(self, name: str) -> ColumnInfo:
        for info in self.columns:
            if info.name == name:
                return info
        raise KeyError(name)

    def by_role(self, role: Role) -> list[str]:
        return [c.name for c in self.columns if c.role == role]

    def with_roles(self, roles: dict[str, Role]) -> Table:
        """A copy with some columns' roles replaced."""
        cols = [replace(c, role=roles.get(c.name, c.role)) for c in self.columns]
        table = replace(self, columns=cols)
        # The same frame: its statistics still hold.
        table._numeric, table._distinct = self._numeric, self._distinct
        return table

    def line_of(self, row: int) -> int | None:
        """The file line of data row ``row`` (0-based), when known."""
        if self.row_lines is None or not 0 <= row < len(self.row_lines):
            return None
        return self.row_lines[row]
