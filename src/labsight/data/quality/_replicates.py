"""Replicate noise: replicate groups whose spread is far above that of the other groups.

Replicate groups are the rows that share a group label, or else every setting. A replicate-number
column (``replicate`` 1, 2, 3 … within each set of settings, the commonest lab layout) numbers the
rows of a group instead of naming one: :func:`replicate_index_columns` recognises it, and it is left
out of the key, so the rows it numbers fall into one group.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import polars as pl
from scipy import stats

from labsight.data.findings import Finding
from labsight.data.quality._context import CheckContext, is_numeric
from labsight.data.table import Table

__all__ = ["check_replicates", "replicate_index_columns", "replicate_keys"]

_ALPHA = 0.01
_MIN_GROUPS = 3
_INDEX_NAME = re.compile(
    r"^(?:(?:rep|repl|replica|replicate|repeat)(?:[\s_.-]*(?:no|nr|num|number|index|idx|id|#))?"
    r"|run[\s_.-]*(?:no|nr|num|number|index|idx|#))$",
    re.IGNORECASE,
)
_UNIT = re.compile(r"\s*[\[(][^\])]*[\])]\s*$")


def _looks_like_index(table: Table, name: str) -> bool:
    """A name such as replicate, rep, replica or run_no, and whole numbers from 0 or 1, none
    missing."""
    if not _INDEX_NAME.match(_UNIT.sub("", name).strip()):
        return False
    series = table.frame[name]
    if not is_numeric(series.dtype) or series.null_count() or series.len() == 0:
        return False
    values = series.cast(pl.Float64)
    low = values.min()
    return bool((values == values.round(0)).all()) and low in (0.0, 1.0)


def replicate_index_columns(table: Table) -> list[str]:
    """Columns that number the replicates of each set of settings rather than name a group.

    A column is one when its name says so (``replicate``, ``rep``, ``replica``, ``repeat``, with
    an optional ``_no`` / ``_number`` / ``_id``; ``run_no``, ``run_number``), it holds whole
    numbers from 0 or 1 with none missing, and against the other feature and condition columns
    (the settings) it numbers rows: no number appears twice within one set of settings, some set
    holds several rows, and the largest number is at most twice the largest set (1..k, with room
    for replicates that failed).

    Examples
    --------
    >>> frame = pl.DataFrame({"T": [60, 60, 60, 80, 80, 80], "replicate": [1, 2, 3, 1, 2, 3],
    ...                       "y": [1.0, 1.1, 0.9, 2.0, 2.1, 1.9]})
    >>> replicate_index_columns(Table.from_frame(frame, roles={"y": "target"}))
    ['replicate']
    """
    candidates = [
        c.name
        for c in table.columns
        if c.role in ("group", "feature", "condition") and _looks_like_index(table, c.name)
    ]
    settings = [
        c.name
        for c in table.columns
        if c.role in ("feature", "condition") and c.name not in candidates
    ]
    if not candidates or not settings:
        return []
    found = []
    for name in candidates:
        sets = table.frame.group_by(settings).agg(
            pl.len().alias("__n__"), pl.col(name).n_unique().alias("__distinct__")
        )
        largest = int(sets["__n__"].to_numpy().max(initial=0))
        numbers_rows = bool((sets["__n__"] == sets["__distinct__"]).all())
        top = float(table.frame[name].cast(pl.Float64).to_numpy().max())
        if numbers_rows and largest >= 2 and top <= 2 * largest:
            found.append(name)
    return found


def replicate_keys(table: Table) -> list[str]:
    """The columns that define replicate groups.

    The group-role column(s) when there are any besides replicate numbers
    (:func:`replicate_index_columns`); otherwise every feature and condition column but the
    replicate numbers (rows that share all settings are replicates of one run). Empty when
    neither exists.
    """
    index = replicate_index_columns(table)
    groups = [name for name in table.by_role("group") if name not in index]
    if groups:
        return groups
    return [
        c.name for c in table.columns if c.role in ("feature", "condition") and c.name not in index
    ]


def _measured(ctx: CheckContext, keys: list[str]) -> list[str]:
    targets = [c for c in ctx.numeric() if ctx.table.column(c).role == "target"]
    if targets:
        return targets
    if any(ctx.table.column(k).role == "group" for k in keys):
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
    keys = replicate_keys(ctx.table)
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
