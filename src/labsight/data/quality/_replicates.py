"""Replicate noise: replicate groups whose spread is far above that of the other groups."""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl
from scipy import stats

from labsight.data.findings import Finding
from labsight.data.quality._context import CheckContext

__all__ = ["check_replicates", "replicate_keys"]

_ALPHA = 0.01
_MIN_GROUPS = 3


def replicate_keys(ctx_table_columns: list[tuple[str, str]]) -> list[str]:
    """The columns that define replicate groups, given ``(name, role)`` pairs.

    The group-role column(s) when there are any; otherwise every feature and condition column
    (rows that share all settings are replicates of one run). Empty when neither exists.
    """
    groups = [name for name, role in ctx_table_columns if role == "group"]
    if groups:
        return groups
    return [name for name, role in ctx_table_columns if role in ("feature", "condition")]


def _measured(ctx: CheckContext, keys: list[str]) -> list[str]:
    targets = [c for c in ctx.numeric() if ctx.table.column(c).role == "target"]
    if targets:
        return targets
    if ctx.table.by_role("group"):
        return [c for c in ctx.numeric() if c not in keys]
    return []


def check_replicates(ctx: CheckContext) -> list[Finding]:
    """``replicate_noise``: per measured column, groups with a variance far above the pooled rest.

    Each group's variance is compared with the pooled variance of all other groups by a one-sided
    F-test at ``0.01 / (groups × columns)`` (Bonferroni), so equally noisy replicates stay quiet.
    """
    has_target = bool(ctx.table.by_role("target"))
    if ctx.n < 2 * _MIN_GROUPS or not (ctx.table.by_role("group") or has_target):
        return []
    keys = replicate_keys([(c.name, c.role) for c in ctx.table.columns])
    measured = _measured(ctx, keys)
    if not keys or not measured:
        return []
    indexed = ctx.frame.select(keys + measured).with_row_index("__row__")
    findings = []
    for name in measured:
        stats_frame = (
            indexed.filter(pl.col(name).is_not_null() & pl.col(name).is_finite())
            .group_by(keys, maintain_order=True)
            .agg(
                pl.col(name).count().alias("__n__"),
                pl.col(name).var().alias("__var__"),
                pl.col(name).mean().alias("__mean__"),
                pl.col("__row__"),
            )
            .filter(pl.col("__n__") >= 2)
        )
        g = stats_frame.height
        if g < _MIN_GROUPS:
            continue
        n_i = stats_frame["__n__"].to_numpy().astype(np.float64)
        var_i = stats_frame["__var__"].to_numpy().astype(np.float64)
        df_i = n_i - 1
        ss_i = df_i * var_i
        df_rest = df_i.sum() - df_i
        ss_rest = ss_i.sum() - ss_i
        pooled = np.where(df_rest > 0, np.maximum(ss_rest, 0.0) / df_rest, np.nan)
        scale = float(np.abs(stats_frame["__mean__"].to_numpy()).mean()) + 1.0
        tiny = (1e-9 * scale) ** 2
        with np.errstate(divide="ignore", invalid="ignore"):
            f_ratio = np.where(pooled > tiny, var_i / pooled, np.where(var_i > tiny, np.inf, 0.0))
        p = stats.f.sf(f_ratio, df_i, df_rest)
        noisy = np.flatnonzero((p < _ALPHA / (g * len(measured))) & (f_ratio > 1))
        if noisy.size == 0:
            continue
        rows: list[int] = []
        described: list[dict[str, Any]] = []
        for i in noisy:
            key = {k: stats_frame[k][int(i)] for k in keys}
            group_rows = [int(r) for r in stats_frame["__row__"][int(i)]]
            rows.extend(group_rows)
            described.append(
                {
                    "key": key,
                    "rows": group_rows,
                    "n": int(n_i[i]),
                    "sd": float(np.sqrt(var_i[i])),
                    "pooled_sd_others": float(np.sqrt(pooled[i])),
                    "f": float(f_ratio[i]),
                    "p_value": float(p[i]),
                }
            )
        rows.sort()
        first = described[0]
        where = ", ".join(f"{k} = {v}" for k, v in first["key"].items())
        if len(where) > 120:
            where = where[:117] + "..."
        more = f" (and {len(described) - 1} more group(s))" if len(described) > 1 else ""
        findings.append(
            Finding(
                check="replicate_noise",
                column=name,
                rows=rows,
                severity="warning",
                message=(
                    f"{name!r} varies far more within the replicates {where} (sd {first['sd']:.4g} "
                    f"over {first['n']} runs) than within the other groups (pooled sd "
                    f"{first['pooled_sd_others']:.4g}){more}: {ctx.describe_rows(rows)}"
                ),
                suggestion=(
                    "Check these replicate runs for a failed run or a mix-up before averaging "
                    "(`labsight clean --replicates mean` would carry this noise into the mean)"
                ),
                details={"by": keys, "groups": described, "groups_tested": g},
            )
        )
    return findings
