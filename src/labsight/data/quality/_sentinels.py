"""Sentinels: codes such as 0 or -999 that stand for a missing value in a numeric column.

:func:`find_sentinels` is shared by the ``sentinel`` check, the outlier check (which fits its
bounds without the codes and never calls a code an outlier) and the cleaner
(``labsight clean --sentinels missing``), so all three agree on which cells are codes.

The rule: a value is a sentinel of a numeric column when all of these hold.

1. It is a recognised code (0, -1, ±9, ±99, ±999 … up to nine nines) in at least one row, or any
   other value repeated in at least :data:`MIN_REPEATS` rows and further from the other values
   than ten times their whole range (an instrument's fill value such as 65535 or 1e30; a value
   merely repeated at the end of the range, such as a design's upper bound, is not a code).
2. It sits at one end of the column: codes are peeled from the lowest and the highest values, so
   two codes (say -999 and 0) are both found.
3. The other values ("the rest") are the majority (all codes together hold less than half the
   present values) and take at least three distinct values.
4. It is far: its distance from the median of the rest exceeds the outlier check's robust z
   threshold (:func:`~labsight.data.quality._threshold.threshold_z`, Bonferroni over rows and
   columns) times the rest's robust scale on its side (1.4826 × the median absolute deviation of
   the rest's values on that side of their median).
5. It is separated: the gap between it and the nearest other value exceeds the interquartile range
   of the rest and, where the rest holds ten or fewer distinct values (the levels of a designed
   factor), five times the widest step between two neighbouring levels, so a real set-point below
   evenly spaced others is not taken for a code.

So 0 in a column of 9 to 14 is a code, 0 in a column of 0.2 to 11 (a value that can be small) or in a
column of counts 0, 1, 2 … is not, and 0 in a column that is mostly 0 is the column's typical value.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from labsight.data.findings import Finding
from labsight.data.quality._context import CheckContext, is_numeric, numeric_values
from labsight.data.quality._threshold import threshold_z
from labsight.data.stats import sorted_quantile
from labsight.data.table import Table

__all__ = [
    "CODES",
    "MIN_REPEATS",
    "Sentinels",
    "check_sentinels",
    "find_sentinels",
    "sentinel_columns",
    "sentinels_of",
    "table_sentinels",
]

CODES: frozenset[float] = frozenset(
    {0.0, -1.0} | {s * (10.0**k - 1) for k in range(1, 10) for s in (1.0, -1.0)}
)
"""Values recognised as codes for a missing value wherever they sit apart: 0, -1, ±9 … ±999999999."""
MIN_REPEATS = 3
"""Rows an unrecognised value must fill to be taken for a code (a single far value is an outlier)."""
_FILL_RANGES = 10.0  # how many ranges of the rest an unrecognised fill value must lie beyond
_MAX_CODES = 4  # per column; a fifth "code" would be a cluster of real values
_FACTOR_LEVELS = 10
_LEVEL_STEPS = 5.0
_MAD_TO_SD = 1.4826
_MEAN_AD_TO_SD = 1.2533
_MIN_VALUES = 8


@dataclass(frozen=True)
class Sentinels:
    """The codes found in one column, the cells that hold them, and the range of the other values."""

    values: tuple[float, ...]
    counts: tuple[int, ...]
    mask: np.ndarray
    low: float
    high: float
    median: float

    @property
    def rows(self) -> list[int]:
        return [int(r) for r in np.flatnonzero(self.mask)]

    def to_dict(self) -> dict[str, Any]:
        return {
            "values": list(self.values),
            "counts": list(self.counts),
            "others_min": self.low,
            "others_max": self.high,
            "others_median": self.median,
        }


def _scale(rest: np.ndarray, med: float, side: np.ndarray) -> float:
    """Robust sd of ``rest`` from the deviations on one side of its median, else both, else the
    mean absolute deviation (which is positive whenever the values differ)."""
    for part in (side, rest):
        mad = float(np.median(np.abs(part - med))) if part.size else 0.0
        if mad > 0:
            return _MAD_TO_SD * mad
    return _MEAN_AD_TO_SD * float(np.mean(np.abs(rest - med)))


def _apart(value: float, rest: np.ndarray, z: float) -> bool:
    """Conditions 1 (for an unrecognised value) and 3 to 5 of the module's rule for ``value``
    beside the sorted values ``rest``."""
    levels = rest[np.r_[True, rest[1:] != rest[:-1]]]  # rest is sorted
    if levels.size < 3:
        return False
    med = sorted_quantile(rest, 0.5)
    low = value < rest[0]
    if value not in CODES and abs(value - med) <= _FILL_RANGES * float(rest[-1] - rest[0]):
        return False
    side = rest[rest <= med] if low else rest[rest >= med]
    scale = _scale(rest, med, side)
    if not scale > 0 or abs(value - med) <= z * scale:
        return False
    gap = rest[0] - value if low else value - rest[-1]
    iqr = sorted_quantile(rest, 0.75) - sorted_quantile(rest, 0.25)
    if gap <= iqr:
        return False
    if levels.size <= _FACTOR_LEVELS:
        return bool(gap > _LEVEL_STEPS * float(np.max(np.diff(levels))))
    return True


def find_sentinels(values: np.ndarray, *, tests: int = 1) -> Sentinels | None:
    """The codes for a missing value in a numeric column, by the rule in this module's docstring.

    Parameters
    ----------
    values
        The column's values; NaN are missing.
    tests
        How many columns are examined together (the outlier threshold's Bonferroni factor).

    Returns
    -------
    Sentinels or None
        ``None`` when the column holds no code (the usual case, decided without sorting when
        neither end of the column can be one).

    Examples
    --------
    >>> x = np.r_[np.linspace(18.0, 22.5, 40), [0.0, 0.0, 0.0]]
    >>> found = find_sentinels(x)
    >>> found.values, found.counts, found.rows
    ((0.0,), (3,), [40, 41, 42])
    >>> find_sentinels(np.r_[np.arange(0.0, 13.0), np.arange(0.0, 13.0)]) is None
    True
    """

    x = np.asarray(values, dtype=np.float64)
    present = np.isfinite(x)
    finite = x[present] if not present.all() else x
    n = int(finite.size)
    if n < _MIN_VALUES:
        return None
    lo, hi = float(finite.min()), float(finite.max())

    def eligible(v: float) -> bool:
        return v in CODES or int(np.count_nonzero(finite == v)) >= MIN_REPEATS

    if lo == hi or not (eligible(lo) or eligible(hi)):
        return None
    ordered = np.sort(finite)
    start, stop = 0, n  # the rest is ordered[start:stop]
    found: dict[float, int] = {}
    for _ in range(_MAX_CODES):
        progressed = False
        for at_low in (True, False):
            if len(found) >= _MAX_CODES or stop - start < _MIN_VALUES:
                break
            v = float(ordered[start] if at_low else ordered[stop - 1])
            if not eligible(v):
                continue
            if at_low:
                end = int(np.searchsorted(ordered, v, "right"))
                count, rest = end - start, ordered[end:stop]
            else:
                begin = int(np.searchsorted(ordered, v, "left"))
                count, rest = stop - begin, ordered[start:begin]
            if 2 * (n - rest.size) >= n or rest.size < _MIN_VALUES:
                continue
            if not _apart(v, rest, threshold_z(rest.size, tests)):
                continue
            found[v] = count
            start, stop = (end, stop) if at_low else (start, begin)
            progressed = True
        if not progressed:
            break
    if not found:
        return None
    rest = ordered[start:stop]
    codes = sorted(found)
    return Sentinels(
        values=tuple(codes),
        counts=tuple(found[v] for v in codes),
        mask=np.isin(x, codes),
        low=float(rest[0]),
        high=float(rest[-1]),
        median=sorted_quantile(rest, 0.5),
    )


def sentinel_columns(table: Table) -> list[str]:
    """The columns examined for codes: numeric, and not an id, a time or a replicate group."""
    return [
        c.name
        for c in table.columns
        if c.role not in ("id", "time", "group") and is_numeric(table.schema[c.name])
    ]


def sentinels_of(ctx: CheckContext, name: str) -> Sentinels | None:
    """The codes of one column of the checked table, found once and shared by the checks."""
    key = f"sentinels:{name}"
    if key not in ctx.cache:
        columns = sentinel_columns(ctx.table)
        found = None
        if name in columns:
            found = find_sentinels(numeric_values(ctx.frame[name]), tests=len(columns))
        ctx.cache[key] = found
    cached = ctx.cache[key]
    return cached if isinstance(cached, Sentinels) else None


def _fmt(v: float) -> str:
    return str(int(v)) if v == int(v) and math.isfinite(v) else f"{v:.6g}"


def check_sentinels(ctx: CheckContext) -> list[Finding]:
    """``sentinel``: codes such as 0 or -999 standing for missing values, with their rows."""
    findings = []
    for name in sentinel_columns(ctx.table):
        found = sentinels_of(ctx, name)
        if found is None:
            continue
        rows = found.rows
        codes = " and ".join(_fmt(v) for v in found.values)
        total = len(rows)
        what = "value" if total == 1 else "values"
        findings.append(
            Finding(
                check="sentinel",
                column=name,
                rows=rows,
                severity="warning",
                message=(
                    f"{total} {what} of {name!r} {'is' if total == 1 else 'are'} {codes}, far "
                    f"apart from the other values ({_fmt(found.low)} to {_fmt(found.high)}, "
                    f"median {_fmt(found.median)}), so {codes} looks like a code for a missing "
                    f"value rather than a measurement: {ctx.describe_rows(rows)}"
                ),
                suggestion=(
                    f"If {codes} means 'not measured', `labsight clean --sentinels missing` makes "
                    "these cells missing (add `--impute median` to fill them); the outlier check "
                    "already leaves them out. If it is a real value, ignore this"
                ),
                details=found.to_dict(),
            )
        )
    return findings


def table_sentinels(table: Table) -> dict[str, Sentinels]:
    """The codes of every examined column of a table (those of :func:`sentinel_columns` that hold
    any), with the same Bonferroni factor as the ``sentinel`` check, for the cleaner."""
    columns = sentinel_columns(table)
    found = {}
    for name in columns:
        codes = find_sentinels(numeric_values(table.frame[name]), tests=len(columns))
        if codes is not None:
            found[name] = codes
    return found
