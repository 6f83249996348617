"""Missing values: how many per column, and whether the gaps concentrate somewhere.

A gap pattern is reported only when it is statistically clear: a one-sided Fisher exact test per
level of each categorical column (and a likelihood-ratio change-point test along the row order),
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


def _order_pattern(missing: np.ndarray) -> dict[str, Any] | None:
    """The single split of the row order that best separates a low and a high gap rate."""
    n = missing.size
    k = int(missing.sum())
    if n < _MIN_ROWS or k in (0, n):
        return None
    before = np.cumsum(missing)[:-1].astype(np.float64)  # gaps in rows [0, s), s = 1..n-1
    size1 = np.arange(1, n, dtype=np.float64)
    size2 = n - size1
    after = k - before

    def loglik(m: np.ndarray, size: np.ndarray) -> np.ndarray:
        return xlogy(m, m / size) + xlogy(size - m, (size - m) / size)  # type: ignore[no-any-return]

    pooled = float(xlogy(k, k / n) + xlogy(n - k, (n - k) / n))
    g = 2.0 * (loglik(before, size1) + loglik(after, size2) - pooled)
    best = int(np.argmax(g))
    split = best + 1
    # Bonferroni over the n - 1 candidate split points keeps this test honest.
    p = min(1.0, float(stats.chi2.sf(g[best], 1)) * (n - 1))
    rate1, rate2 = before[best] / size1[best], after[best] / size2[best]
    late = bool(rate2 > rate1)
    hi_rate, lo_rate = (rate2, rate1) if late else (rate1, rate2)
    hi_missing = after[best] if late else before[best]
    hi_rows = size2[best] if late else size1[best]
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
            order = _order_pattern(missing.to_numpy().astype(np.float64))
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
