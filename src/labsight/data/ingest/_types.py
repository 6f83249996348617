"""Typing columns that came in as strings: numbers, numbers with units, dates, booleans.

Readers hand over a polars frame in which a column is String only when polars could not type it.
Here each such column is tried as numbers (with a decimal comma if the file uses one), as numbers
with units in the cells (``"90 min"``), as dates, as booleans; cells that spoil an otherwise typed
column become null and are reported as :class:`CellIssues`.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from labsight.data.table import dtype_name
from labsight.data.units import convert, is_compatible, parse_unit, split_header, split_value_unit
from labsight.exceptions import UnitError

__all__ = ["DEFAULT_NA_VALUES", "CellIssues", "TypedFrame", "UnitMix", "type_frame"]

DEFAULT_NA_VALUES: tuple[str, ...] = (
    "",
    "NA",
    "N/A",
    "n/a",
    "NaN",
    "nan",
    "null",
    "NULL",
    "None",
    "-",
    "--",
    "#N/A",
    "?",
)
"""Cell texts read as missing values by default."""

_DATE_LIKE = r"^\s*\d{1,4}[-./]\d{1,2}[-./]\d{1,4}(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?"
_DATETIME_FORMATS = (
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d %H:%M",
    "%d.%m.%Y %H:%M:%S",
    "%d.%m.%Y %H:%M",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
)
_DATE_FORMATS = ("%Y-%m-%d", "%d.%m.%Y", "%Y/%m/%d")
_TRUE = ("true", "yes")
_FALSE = ("false", "no")


@dataclass
class CellIssues:
    """Cells of one column that are not what the rest of the column is."""

    column: str
    rows: list[int]
    values: list[str]
    expected: str  # "numbers", "dates"
    unit: str | None = None
    reasons: list[str] = field(default_factory=list)


@dataclass
class UnitMix:
    """A column whose cells carry more than one (compatible) unit."""

    column: str
    rows: list[int]  # rows not in the target unit
    counts: dict[str, int]  # unit → rows, most common first
    target: str


@dataclass
class TypedFrame:
    """The frame after typing, with each column's unit and what went wrong on the way."""

    frame: pl.DataFrame
    units: dict[str, str | None]
    issues: list[CellIssues]
    mixes: list[UnitMix]


def type_frame(
    frame: pl.DataFrame,
    *,
    decimal_comma: bool = False,
    na_values: tuple[str, ...] = DEFAULT_NA_VALUES,
    integral_floats_to_int: bool = False,
) -> TypedFrame:
    """Type the String columns of ``frame`` and read units from headers and cells.

    Parameters
    ----------
    frame
        As read; column names are the headers as in the file.
    decimal_comma
        Whether numbers in the file use a decimal comma.
    na_values
        Cell texts that mean "missing" (compared after stripping blanks).
    integral_floats_to_int
        Turn float columns whose values are all whole numbers into Int64 (Excel stores every
        number as a float).
    """
    units: dict[str, str | None] = {}
    issues: list[CellIssues] = []
    mixes: list[UnitMix] = []
    replaced: list[pl.Series] = []
    for name in frame.columns:
        series = frame.get_column(name)
        _, header_unit = split_header(name)
        new = series
        if series.dtype == pl.String:
            new, unit, issue, mix = _type_strings(series, header_unit, decimal_comma, na_values)
            header_unit = unit
            if issue is not None:
                issues.append(issue)
            if mix is not None:
                mixes.append(mix)
        elif series.dtype == pl.Null:
            new = series.cast(pl.Float64 if header_unit else pl.String)
        elif integral_floats_to_int and header_unit is None and series.dtype.is_float():
            new = _maybe_int(series)
        elif not _is_basic(series.dtype):
            new = _stringify(series)
        if new is not series:
            replaced.append(new.alias(name))
        kind = dtype_name(new.dtype)
        units[name] = header_unit if kind in ("float", "int") else None
    if replaced:
        frame = frame.with_columns(replaced)
    return TypedFrame(frame, units, issues, mixes)


def _is_basic(dtype: pl.DataType) -> bool:
    return (
        dtype.is_numeric()
        or dtype in (pl.Boolean, pl.String, pl.Date)
        or isinstance(dtype, pl.Datetime)
    )


def _stringify(series: pl.Series) -> pl.Series:
    if isinstance(series.dtype, pl.Struct):
        return series.struct.json_encode()
    try:
        return series.cast(pl.String)
    except pl.exceptions.PolarsError:
        return pl.Series(series.name, [None if v is None else str(v) for v in series.to_list()])


def _maybe_int(series: pl.Series) -> pl.Series:
    values = series.drop_nulls()
    if values.is_empty():
        return series
    finite = values.is_finite().all()
    if finite and (values == values.floor()).all() and values.abs().max() < 2**53:  # type: ignore[operator]
        return series.cast(pl.Int64)
    return series


def _type_strings(
    series: pl.Series,
    header_unit: str | None,
    decimal_comma: bool,
    na_values: tuple[str, ...],
) -> tuple[pl.Series, str | None, CellIssues | None, UnitMix | None]:
    name = series.name
    stripped = series.str.strip_chars()
    missing = stripped.is_null() | stripped.is_in(list(na_values))
    text = pl.select(pl.when(missing).then(None).otherwise(stripped)).to_series().alias(name)
    present = text.len() - text.null_count()
    if present == 0:
        return text.cast(pl.Float64 if header_unit else pl.String), header_unit, None, None
    numeric_text = text.str.replace(",", ".", literal=True) if decimal_comma else text
    numbers = numeric_text.cast(pl.Float64, strict=False)
    n_numbers = numbers.len() - numbers.null_count()
    if n_numbers == present:
        return _maybe_int(numbers), header_unit, None, None
    values, _ = split_value_unit(text.filter(numbers.is_null()))
    n_with_units = values.len() - values.null_count()
    # a unit in the header says the column holds numbers: half of the cells is enough
    enough = present / 2
    if n_numbers + n_with_units > enough or (header_unit and n_numbers + n_with_units >= enough):
        return _numeric_with_units(text, numbers, header_unit)
    dates = _as_dates(text, present)
    if dates is not None:
        bad = text.is_not_null() & dates.is_null()
        return dates, None, _issues(text, bad, "dates", None), None
    lowered = text.str.to_lowercase()
    if lowered.drop_nulls().is_in(_TRUE + _FALSE).all():
        booleans = pl.select(
            pl.when(lowered.is_in(_TRUE)).then(True).when(lowered.is_in(_FALSE)).then(False)
        ).to_series()
        return booleans.alias(name), None, None, None
    return series, None, None, None


def _issues(
    text: pl.Series,
    bad: pl.Series,
    expected: str,
    unit: str | None,
    reasons: list[str] | None = None,
) -> CellIssues | None:
    rows = bad.arg_true().to_list()
    if not rows:
        return None
    values = text.gather(rows).to_list()
    return CellIssues(text.name, rows, [str(v) for v in values], expected, unit, reasons or [])


def _numeric_with_units(
    text: pl.Series, numbers: pl.Series, header_unit: str | None
) -> tuple[pl.Series, str | None, CellIssues | None, UnitMix | None]:
    name = text.name
    values, raw_units = split_value_unit(text)
    spellings = raw_units.drop_nulls().unique().to_list()
    parsed: dict[str, str | None] = {}
    for raw in spellings:
        try:
            parsed[raw] = parse_unit(raw)
        except UnitError:
            parsed[raw] = None
    canonical = raw_units.replace_strict(parsed, default=None, return_dtype=pl.String)
    counts = Counter(canonical.drop_nulls().to_list())
    target = header_unit
    if target is None and counts:
        target = max(counts, key=lambda u: counts[u])
    result = numbers.to_numpy().astype(np.float64, copy=True)
    result[np.asarray(numbers.is_null().to_numpy())] = np.nan
    bad = np.asarray((text.is_not_null() & numbers.is_null()).to_numpy()).copy()
    reasons: dict[int, str] = {}
    canonical_np = np.asarray(canonical.to_numpy(), dtype=object)
    value_np = values.to_numpy()
    for unit in counts:
        mask = canonical_np == unit
        assert target is not None
        if is_compatible(unit, target):
            result[mask] = convert(value_np[mask], unit, target)
            bad[mask] = False
        else:
            for row in np.flatnonzero(mask):
                reasons[int(row)] = f"unit {unit} is not convertible to {target}"
    for row in np.flatnonzero(bad):
        if int(row) not in reasons and raw_units[int(row)] is not None:
            reasons[int(row)] = f"unknown unit {raw_units[int(row)]!r}"
    result[bad] = np.nan
    out = pl.Series(name, result, dtype=pl.Float64).fill_nan(None)
    bad_series = pl.Series(bad)
    issue = _issues(text, bad_series, "numbers", target)
    if issue is not None:
        issue.reasons = [reasons.get(row, "") for row in issue.rows]
    mix = None
    compatible = {
        u: c for u, c in counts.items() if target is not None and is_compatible(u, target)
    }
    if target is not None and (len(compatible) > 1 or (compatible and target not in compatible)):
        ordered = dict(sorted(compatible.items(), key=lambda kv: -kv[1]))
        others = np.flatnonzero(np.isin(canonical_np, [u for u in compatible if u != target]))
        mix = UnitMix(name, [int(r) for r in others], ordered, target)
    if issue is None and not counts:
        return _maybe_int(out), target, None, None
    return out, target, issue, mix


def _as_dates(text: pl.Series, present: int) -> pl.Series | None:
    sample = text.drop_nulls().head(200)
    if sample.str.contains(_DATE_LIKE).sum() <= sample.len() / 2:
        return None
    best: pl.Series | None = None
    best_count = present // 2
    attempts = [text.str.to_date(fmt, strict=False) for fmt in _DATE_FORMATS]
    with contextlib.suppress(pl.exceptions.PolarsError):  # no format inferable from the first cell
        attempts.append(text.str.to_datetime(strict=False, time_unit="us"))
    for fmt in _DATETIME_FORMATS:
        attempts.append(text.str.to_datetime(fmt, strict=False, time_unit="us"))
    for parsed in attempts:
        count = parsed.len() - parsed.null_count()
        if count > best_count:
            best, best_count = parsed, count
            if count == present:
                break
    return best.alias(text.name) if best is not None else None
