"""The robust z threshold that the ``outlier`` and ``sentinel`` checks share: how far from the
median, in robust standard deviations, a value must lie to stand apart."""

from __future__ import annotations

from scipy import stats

__all__ = ["threshold_z"]

_ALPHA = 0.05  # family-wise: over every value of the column (and every column tested)


def threshold_z(n: int, tests: int = 1) -> float:
    """Robust z threshold for ``n`` values: Bonferroni over the values (and ``tests`` columns).

    ``max(3.5, q)`` where ``q`` is the two-sided ``0.05 / (n * tests)`` quantile of a Student t
    with ``n / 4`` degrees of freedom: the t (instead of the normal) accounts for the noise of
    a median absolute deviation fitted on half the values, which matters below ~200 rows.
    """
    alpha = _ALPHA / (2.0 * max(n, 1) * max(tests, 1))
    df = max(1.0, n / 4.0)
    return max(3.5, float(stats.t.isf(alpha, df)))
