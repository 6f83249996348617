"""Outliers: robust univariate bounds per numeric column, and an optional robust Mahalanobis check.

:func:`robust_bounds` is shared with the cleaner (``labsight clean --outliers``), so what the report
calls an outlier is exactly what the cleaning step flags, drops or clips. Cells holding a code for a
missing value (:mod:`labsight.data.quality._sentinels`) count as missing here: the bounds are fitted
without them and they are reported by the ``sentinel`` check, never as outliers.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from scipy import stats

from labsight.data.findings import Finding
from labsight.data.quality._context import CheckContext, numeric_values
from labsight.data.quality._sentinels import sentinels_of
from labsight.data.quality._threshold import threshold_z
from labsight.data.stats import sorted_quantile
from labsight.data.table import Table

__all__ = ["RobustBounds", "check_multivariate_outliers", "check_outliers", "robust_bounds"]

Transform = Literal["none", "sqrt", "cbrt", "log"]
_POWERS: dict[Transform, float] = {"none": 1.0, "sqrt": 0.5, "cbrt": 1.0 / 3.0, "log": 0.0}
_MAD_TO_SD = 1.4826
_ALPHA = 0.05
_SKEW_SAMPLE = 200_000  # transform choice is made on at most this many values (speed on 1M rows)
SUGGEST = (
    "check these runs for entry or instrument errors; `labsight clean --outliers flag` marks them, "
    "`--outliers drop` removes the rows, `--outliers winsorize` clips them to the range"
)


@dataclass(frozen=True)
class RobustBounds:
    """Robust limits of a numeric column, in the column's own unit.

    ``lower``/``upper`` are the limits (values strictly outside are outliers); ``center`` is the
    median; ``transform`` the scale the limits were computed on (``log`` for strictly positive,
    right-skewed columns; ``sqrt``/``cbrt`` for skewed counts and gamma-like columns); ``z`` the
    robust z threshold used and ``n`` the number of values it was fitted on.
    """

    lower: float
    upper: float
    center: float
    transform: Transform
    z: float
    n: int
    shift: float = 0.0
    scaled_center: float = 0.0
    scale_low: float = 1.0
    scale_high: float = 1.0

    def scaled(self, values: np.ndarray) -> np.ndarray:
        """The values on the scale the bounds were judged on (NaN where undefined)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return _apply(np.asarray(values, dtype=np.float64), self.transform, self.shift)

    def zscores(self, values: np.ndarray) -> np.ndarray:
        """Robust z-scores: distance from the median in units of the lower or upper scale."""
        d = self.scaled(values) - self.scaled_center
        return np.where(d < 0, d / self.scale_low, d / self.scale_high)

    def mask(self, values: np.ndarray) -> np.ndarray:
        """True where a value lies outside the bounds (NaN is never an outlier)."""
        with np.errstate(invalid="ignore"):
            return (values < self.lower) | (values > self.upper)

    def to_dict(self) -> dict[str, Any]:
        return {
            "lower": self.lower,
            "upper": self.upper,
            "median": self.center,
            "transform": self.transform,
            "threshold_z": self.z,
            "n": self.n,
        }


def _quantile_skew(y: np.ndarray) -> float:
    lo, mid, hi = np.quantile(y, [0.05, 0.5, 0.95])
    return float((lo + hi - 2 * mid) / (hi - lo)) if hi > lo else 0.0


def _apply(y: np.ndarray, transform: Transform, shift: float) -> np.ndarray:
    if transform == "none":
        return y
    if transform == "log":
        return np.log(y + shift)
    return np.power(y + shift, _POWERS[transform])


def _invert(t: float, transform: Transform, shift: float, lowest: float) -> float:
    if transform == "none" or not math.isfinite(t):
        return t
    if transform == "log":
        return math.exp(t) - shift
    if t <= 0:
        return lowest
    return float(t ** (1.0 / _POWERS[transform]) - shift)


def _choose_transform(x: np.ndarray, integral: bool) -> Transform:
    """The power transform that makes a right-skewed, non-negative column most symmetric."""
    if x.min() < 0:
        return "none"
    sample = x if x.size <= _SKEW_SAMPLE else np.random.default_rng(0).choice(x, _SKEW_SAMPLE)
    skew = _quantile_skew(sample)
    # The 5/95 % quantile skewness is noisy on few rows; only a clear gain changes the scale.
    margin = max(0.02, 1.5 / math.sqrt(sample.size))
    # Counts are Poisson-like: their square root is the variance-stabilising default.
    if integral and skew > -0.05:
        best, best_skew = "sqrt", abs(_quantile_skew(np.sqrt(sample + 0.5)))
    elif skew > max(0.1, margin):
        best, best_skew = "none", abs(skew)
    else:
        return "none"
    shift = 0.5 if integral else 0.0
    for candidate in ("cbrt", "log"):
        if candidate == "log" and sample.min() + shift <= 0:
            continue
        s = abs(_quantile_skew(_apply(sample, candidate, shift)))
        if s < best_skew - margin:
            best, best_skew = candidate, s
    return best  # type: ignore[return-value]


def robust_bounds(values: np.ndarray, *, tests: int = 1) -> RobustBounds | None:
    """Robust outlier bounds of a numeric column (median ± z · double MAD).

    Parameters
    ----------
    values
        The column's values; NaN are ignored.
    tests
        How many columns are tested together (Bonferroni over columns as well as rows).

    Returns
    -------
    RobustBounds or None
        ``None`` when there are fewer than 5 values or the column is mostly one value
        (median absolute deviation 0), where no scale can be estimated.

    Notes
    -----
    The lower and upper scales are separate median absolute deviations of the values below and
    above the median (a "double MAD"), so skewed columns are handled. Strictly positive, right-
    skewed columns are assessed in log space, skewed counts on a square-root scale. Integer columns
    get a fixed-seed jitter of ±0.5 before the scales are taken so ties do not shrink them.

    Examples
    --------
    >>> import numpy as np
    >>> b = robust_bounds(np.r_[np.random.default_rng(0).normal(10, 1, 200), 50.0])
    >>> bool(b.mask(np.array([50.0, 10.0]))[0]), b.transform
    (True, 'none')
    """
    x = np.asarray(values, dtype=np.float64)
    x = x[np.isfinite(x)]
    n = int(x.size)
    if n < 5:
        return None
    integral = bool(np.all(x == np.round(x)))
    if integral and float(np.median(np.abs(x - np.median(x)))) == 0.0:
        return None  # mostly one value: the jitter below must not invent a scale
    transform = _choose_transform(x, integral)
    y = x
    if integral:
        y = x + np.random.default_rng(0).uniform(-0.5, 0.5, n)
    shift = 0.5 if integral and transform != "none" else 0.0
    # One sort gives all three medians: the median of (med - v) over the values v <= med is med
    # minus the median of those values, a middle element of the sorted prefix.
    t = np.sort(_apply(y, transform, shift))
    med = sorted_quantile(t, 0.5)
    lo_scale = med - sorted_quantile(t[: np.searchsorted(t, med, "right")], 0.5)
    hi_scale = sorted_quantile(t[np.searchsorted(t, med, "left") :], 0.5) - med
    if lo_scale == 0.0 or hi_scale == 0.0:
        # One side is mostly the median itself: borrow the two-sided scale, if there is one.
        mad = float(np.median(np.abs(t - med)))
        if mad == 0.0:
            return None
        lo_scale, hi_scale = lo_scale or mad, hi_scale or mad
    z = threshold_z(n, tests)
    lowest = -shift if transform != "none" else -math.inf
    lower = _invert(med - z * _MAD_TO_SD * lo_scale, transform, shift, lowest)
    upper = _invert(med + z * _MAD_TO_SD * hi_scale, transform, shift, lowest)
    return RobustBounds(
        lower=float(lower),
        upper=float(upper),
        center=med if transform == "none" and not integral else float(np.median(x)),
        transform=transform,
        z=z,
        n=n,
        shift=shift,
        scaled_center=med,
        scale_low=_MAD_TO_SD * lo_scale,
        scale_high=_MAD_TO_SD * hi_scale,
    )


def _fmt(v: float) -> str:
    return f"{v:.4g}"


FACTOR_LEVELS = 10
"""A numeric column with this many distinct values or fewer holds the levels of a factor (a designed
experiment's set-points: 60, 80, 100 °C), not measurements with a scale: no outlier check."""


def measured_columns(table: Table, names: list[str]) -> list[str]:
    """The columns of ``names`` that hold measurements rather than factor levels."""
    return [n for n in names if table.numeric_summary(n).distinct > FACTOR_LEVELS]


def _values_without_codes(ctx: CheckContext, name: str) -> np.ndarray:
    """A column's values with the cells that hold a code for a missing value set to NaN."""
    x = numeric_values(ctx.frame[name])
    found = sentinels_of(ctx, name)
    if found is not None:
        x[found.mask] = np.nan
    return x


def check_outliers(ctx: CheckContext) -> list[Finding]:
    """``outlier``: values outside :func:`robust_bounds`, per numeric non-id, non-time column that
    holds more than :data:`FACTOR_LEVELS` distinct values; codes for a missing value (``sentinel``)
    are left out of the bounds and never reported here."""
    columns = [c for c in ctx.numeric() if ctx.n_unique[c] > FACTOR_LEVELS]
    findings = []
    for name in columns:
        x = _values_without_codes(ctx, name)
        bounds = robust_bounds(x, tests=len(columns))
        ctx.cache[f"bounds:{name}"] = bounds
        if bounds is None:
            continue
        rows = np.flatnonzero(bounds.mask(x))
        if rows.size == 0:
            continue
        n_low = int(np.sum(x[rows] < bounds.lower))
        examples = ", ".join(f"row {r} = {_fmt(x[r])}" for r in rows[:5])
        more = f" and {rows.size - 5} more" if rows.size > 5 else ""
        scale = "" if bounds.transform == "none" else f", judged on a {bounds.transform} scale"
        findings.append(
            Finding(
                check="outlier",
                column=name,
                rows=rows.tolist(),
                severity="warning",
                message=(
                    f"{rows.size} {'value' if rows.size == 1 else 'values'} of {name!r} {'lies' if rows.size == 1 else 'lie'} outside the robust range "
                    f"{_fmt(bounds.lower)} to {_fmt(bounds.upper)} (median {_fmt(bounds.center)}, "
                    f"robust z > {bounds.z:.2f}{scale}): {examples}{more}"
                ),
                suggestion=SUGGEST[0].upper() + SUGGEST[1:],
                details={**bounds.to_dict(), "n_low": n_low, "n_high": int(rows.size) - n_low},
            )
        )
    return findings


_MCD_SAMPLE = 2000
_MCD_MIN_ROWS = 50  # below this a robust covariance is too unstable to judge rows by
_MCD_EFFECTIVE = 3


def check_multivariate_outliers(ctx: CheckContext) -> list[Finding]:
    """``outlier`` (column None): rows far from the bulk by a robust Mahalanobis distance.

    MinCovDet is fitted on at most 2,000 complete rows (fixed seed), each column as its robust
    z-scores from :func:`robust_bounds` (so skewed columns are symmetric); distances are computed for every complete row, rescaled so their median matches the χ²
    median (a consistency correction on all rows, not only the sample), and compared with the
    Hotelling (scaled F) quantile at ``0.05 / n`` (Bonferroni over rows).
    """
    from sklearn.covariance import MinCovDet

    numeric = set(ctx.numeric())
    names: list[str] = []
    parts: list[np.ndarray] = []
    for c in ctx.table.columns:
        if c.role != "feature" or c.name not in numeric:
            continue
        x = _values_without_codes(ctx, c.name)
        key = f"bounds:{c.name}"
        # Only the scales matter here, and they do not depend on the z threshold: reuse them.
        cached = ctx.cache[key] if key in ctx.cache else robust_bounds(x)
        bounds = cached if isinstance(cached, RobustBounds) else None
        if bounds is None:
            continue
        parts.append(bounds.zscores(x))
        names.append(c.name)
    p = len(names)
    if p < 2:
        return []
    data = np.column_stack(parts)
    complete = np.flatnonzero(np.all(np.isfinite(data), axis=1))
    if complete.size < max(_MCD_MIN_ROWS, 10 * p):
        return []
    fit_rows = complete
    if complete.size > _MCD_SAMPLE:
        fit_rows = np.random.default_rng(0).choice(complete, _MCD_SAMPLE, replace=False)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            mcd = MinCovDet(random_state=0).fit(data[fit_rows])
        d2 = mcd.mahalanobis(data[complete])
        median = float(np.median(d2))
        if median > 0:
            d2 = d2 * float(stats.chi2.median(p)) / median
    except (ValueError, np.linalg.LinAlgError):
        return []
    # A new row's distance to a mean/covariance estimated from m rows follows a scaled F, not a χ²;
    # far in the tail the difference matters, so use the F (Hotelling) quantile. The raw MCD fit
    # rests on about half the rows and is less efficient than a plain covariance, so m is a third
    # of the reweighted support (simulated on clean tables: family-wise false alarms ≤ 5 % from 50
    # rows up).
    m = max(p + 2, int(np.sum(mcd.support_)) // _MCD_EFFECTIVE)
    factor = p * (m + 1) * (m - 1) / (m * (m - p))
    limit = factor * float(stats.f.isf(_ALPHA / complete.size, p, m - p))
    rows = complete[d2 > limit]
    if rows.size == 0:
        return []
    order = np.argsort(-d2[d2 > limit])
    worst = ", ".join(f"{rows[i]} (distance² {d2[d2 > limit][i]:.1f})" for i in order[:5])
    return [
        Finding(
            check="outlier",
            column=None,
            rows=rows.tolist(),
            severity="warning",
            message=(
                f"{rows.size} row(s) are unusual combinations of {', '.join(map(repr, names))} "
                f"(robust Mahalanobis distance² > {limit:.1f}): {worst}"
            ),
            suggestion=(
                "Check these runs: each value may look normal alone but the combination is rare; "
                "drop them from the table if they are errors"
            ),
            details={"columns": names, "threshold_d2": limit, "method": "MinCovDet"},
        )
    ]
