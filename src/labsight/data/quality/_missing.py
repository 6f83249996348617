"""Missing values: how many per column, and whether the gaps concentrate somewhere.

A gap pattern is reported only when it is statistically clear: a one-sided Fisher exact test per
level of each categorical column (and a likelihood-ratio change-point test along the row order, over
at most 2,048 evenly spaced split points),
at a Bonferroni-corrected 1% level, and with a large lift (the gap rate where it concentrates is at
least twice the rate elsewhere). Random gaps spread evenly over the table are never a pattern.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import polars as pl
from scipy import stats
from scipy.special import xlogy

from labsight.data.findings import Finding
from labsight.data.quality._context import CheckContext

__all__ = ["check_missing"]

_ALPHA = 0.01
_MIN_LIFT = 2.0
_MIN_ROWS = 10
_SPLITS = 2048


def _lift(rate_in: float, rate_out: float) -> float | None:
    """How many times higher the gap rate is where it concentrates; None when it is only there."""
    return float(rate_in / rate_out) if rate_out > 0 else None


def _level_patterns(
    ctx: CheckContext, missing: pl.Series, name: str, groups: list[str]
) -> list[dict[str, Any]]:
    """One candidate per level of each categorical column, with its one-sided p-value."""
    n, k = ctx.n, int(missing.sum())
    out: list[dict[str, Any]] = []
    for g in groups:
        if g == name:
            continue
        counts = (
            pl.DataFrame({"level": ctx.frame[g].cast(pl.String), "m": missing})
            .group_by("level")
            .agg(pl.len().alias("rows"), pl.col("m").sum().alias("missing"))
        )
        rows = counts["rows"].to_numpy().astype(np.int64)
        miss = counts["missing"].to_numpy().astype(np.int64)
        # P(X >= a) for X ~ hypergeometric: the one-sided Fisher exact test, vectorised.
        pvalues = stats.hypergeom.sf(miss - 1, n, k, rows)
        for level, r, m, p in zip(counts["level"].to_list(), rows, miss, pvalues, strict=True):
            rest_rows, rest_miss = n - r, k - m
            rate_in = m / r
            rate_out = rest_miss / rest_rows if rest_rows else 0.0
            out.append(
                {
                    "kind": "level",
                    "column": g,
                    "level": level,
                    "p_value": float(p),
                    "lift": _lift(rate_in, rate_out),
                    "share_of_missing": float(m / k),
                    "share_of_rows": float(r / n),
                }
            )
    return out


def _split_g(gaps_before: np.ndarray, splits: np.ndarray, n: int, k: int) -> np.ndarray:
    """The likelihood-ratio statistic G of "the gap rate changes at row s" for each split s."""
    size1 = splits.astype(np.float64)
    size2 = n - size1
    after = k - gaps_before

    def loglik(m: np.ndarray, size: np.ndarray) -> np.ndarray:
        return xlogy(m, m / size) + xlogy(size - m, (size - m) / size)  # type: ignore[no-any-return]

    pooled = float(xlogy(k, k / n) + xlogy(n - k, (n - k) / n))
    return 2.0 * (loglik(gaps_before, size1) + loglik(after, size2) - pooled)  # type: ignore[no-any-return]


def _order_pattern(missing: np.ndarray) -> dict[str, Any] | None:
    """The single split of the row order that best separates a low and a high gap rate.

    Tested at most :data:`_SPLITS` evenly spaced split points (Bonferroni over those), then the
    split is placed exactly between the neighbours of the best one: on a million rows this is
    what keeps the test cheap, and fewer candidates make it more powerful, not less.
    """
    n = missing.size
    k = int(missing.sum())
    if n < _MIN_ROWS or k in (0, n):
        return None
    gaps = np.cumsum(missing)  # gaps[s - 1]: gaps in rows [0, s)
    splits = np.unique(np.linspace(1, n - 1, min(n - 1, _SPLITS)).round().astype(np.int64))
    g = _split_g(gaps[splits - 1].astype(np.float64), splits, n, k)
    best = int(np.argmax(g))
    p = min(1.0, float(stats.chi2.sf(g[best], 1)) * splits.size)
    if splits.size < n - 1:  # refine between the neighbouring grid points
        lo = int(splits[max(best - 1, 0)])
        hi = int(splits[min(best + 1, splits.size - 1)])
        near = np.arange(lo, hi + 1, dtype=np.int64)
        splits = near
        g = _split_g(gaps[near - 1].astype(np.float64), near, n, k)
        best = int(np.argmax(g))
    split = int(splits[best])
    before = float(gaps[split - 1])
    after = k - before
    size1, size2 = float(split), float(n - split)
    rate1, rate2 = before / size1, after / size2
    late = bool(rate2 > rate1)
    hi_rate, lo_rate = (rate2, rate1) if late else (rate1, rate2)
    hi_missing = after if late else before
    hi_rows = size2 if late else size1
    return {
        "kind": "order",
        "split_row": split,
        "late": late,
        "p_value": p,
        "lift": _lift(hi_rate, lo_rate),
        "share_of_missing": float(hi_missing / k),
        "share_of_rows": float(hi_rows / n),
        "all_on_one_side": bool(lo_rate == 0.0),
    }


def _describe(pattern: dict[str, Any], name: str) -> str:
    share = f"{pattern['share_of_missing']:.0%}"
    rows_share = f"{pattern['share_of_rows']:.0%}"
    if pattern["kind"] == "level":
        return (
            f"{share} of missing {name!r} is on {pattern['column']} = {pattern['level']} "
            f"(which holds {rows_share} of rows)"
        )
    split = pattern["split_row"]
    if pattern["all_on_one_side"]:
        side = f"from row {split} on" if pattern["late"] else f"before row {split}"
        return f"all missing {name!r} is {side} (which holds {rows_share} of rows)"
    where = f"rows {split} and after" if pattern["late"] else f"rows before {split}"
    return f"{share} of missing {name!r} is in {where} (which hold {rows_share} of rows)"


def check_missing(ctx: CheckContext) -> list[Finding]:
    """``missing``: per column with nulls, the count, share and any clear concentration."""
    n = ctx.n
    with_nulls = [c for c, k in ctx.null_count.items() if k > 0]
    if n == 0 or not with_nulls:
        return []
    groups = ctx.categorical()
    findings = []
    for name in with_nulls:
        k = ctx.null_count[name]
        missing = ctx.frame[name].is_null()
        rows = np.flatnonzero(missing.to_numpy())
        share = k / n
        patterns: list[dict[str, Any]] = []
        if k < n and n >= _MIN_ROWS:
            candidates = _level_patterns(ctx, missing, name, groups)
            order = _order_pattern(missing.to_numpy())
            if order is not None:
                candidates.append(order)
            level = _ALPHA / max(1, len(candidates)) / len(with_nulls)
            patterns = [
                c
                for c in candidates
                if c["p_value"] < level and (c["lift"] is None or c["lift"] >= _MIN_LIFT)
            ]
            patterns.sort(key=lambda c: (c["p_value"], -(c["lift"] or math.inf)))
        message = f"{name!r} is missing in {k} of {n} rows ({share:.1%}): {ctx.describe_rows(rows.tolist())}"
        if patterns:
            message += "; " + _describe(patterns[0], name)
        if k == n:
            suggestion = f"Column {name!r} is empty: drop it or fill it from the lab records"
        else:
            suggestion = (
                "Fill the gaps from the lab records, or impute them with "
                "`labsight clean --impute median` (or mean|knn|iterative)"
            )
            if patterns:
                suggestion += (
                    "; the gaps are not random, so check why before imputing "
                    "(imputation can bias results)"
                )
        findings.append(
            Finding(
                check="missing",
                column=name,
                rows=rows.tolist(),
                severity="error" if share > 0.5 else "warning",
                message=message,
                suggestion=suggestion,
                details={"count": k, "share": share, "patterns": patterns},
            )
        )
    return findings
