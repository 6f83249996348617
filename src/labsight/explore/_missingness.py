"""Where the gaps are: a map of missing cells, and missing shares by condition level.

The map bins rows into at most 200 bins (each cell: the share of missing values of a column in a
bin), so it stays the same size however long the table is. Whether the gaps concentrate on a level
of a condition is decided by the quality report (its ``missing`` findings carry the patterns found
by a corrected exact test); this module only draws those patterns and tabulates the shares.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from labsight.data.findings import Finding
from labsight.data.table import Table
from labsight.explore._distributions import MISSING_LEVEL
from labsight.explore._summary import slug
from labsight.explore.spec import FigureSpec

__all__ = ["MAX_MAP_BINS", "missing_by_condition", "missingness_figures"]

MAX_MAP_BINS = 200
"""At most this many row bins and this many columns in the missing map."""


def _gap(name: str, dtype: pl.DataType) -> pl.Expr:
    """True where a cell is missing; NaN counts as missing in float columns."""
    col = pl.col(name)
    return col.is_null() | col.is_nan() if dtype.is_float() else col.is_null()


def missing_columns(table: Table) -> dict[str, int]:
    """Missing cells per column, for the columns that have any."""
    if table.height == 0 or not table.columns:
        return {}
    counts = table.frame.select(_gap(c, table.schema[c]).sum() for c in table.frame.columns).row(0)
    return {c: int(k) for c, k in zip(table.frame.columns, counts, strict=True) if k}


def _missing_map(table: Table, missing: dict[str, int]) -> FigureSpec:
    n = table.height
    columns = list(missing)
    capped = len(columns) > MAX_MAP_BINS
    if capped:
        columns = sorted(columns, key=lambda c: -missing[c])[:MAX_MAP_BINS]
        columns = [c for c in table.frame.columns if c in set(columns)]
    per_bin = -(-n // MAX_MAP_BINS)  # whole rows per bin, so every bin but the last is alike
    binned = (
        table.frame.lazy()
        .select(
            (pl.int_range(pl.len(), dtype=pl.Int64) // per_bin).alias("__bin"),
            *[_gap(c, table.schema[c]).alias(c) for c in columns],
        )
        .group_by("__bin")
        .agg(pl.col(c).mean() for c in columns)
        .sort("__bin")
        .collect()
    )
    starts = [b * per_bin for b in binned["__bin"].to_list()]
    z = [[round(float(v), 4) for v in row] for row in binned.select(columns).iter_rows()]
    cells = sum(missing.values())
    worst = max(missing, key=lambda c: missing[c])
    caption = (
        f"{cells:,} cells missing in {len(missing)} of {len(table.columns)} columns "
        f"({cells / (n * len(table.columns)):.1%} of the table); most in {worst} "
        f"({missing[worst] / n:.0%} of rows)"
    )
    if capped:
        caption += f"; the {MAX_MAP_BINS} columns with the most gaps are shown"
    note = None
    if per_bin > 1:
        note = (
            f"rows grouped into {binned.height} bins of {per_bin:,} rows (each labelled by its "
            "first row); shade = share of the bin missing"
        )
    return FigureSpec(
        name="missing-map",
        kind="missing_map",
        section="missingness",
        title="Missing cells",
        caption=caption,
        data={"columns": columns, "rows": starts, "z": z},
        x_label="column",
        y_label="row",
        note=note,
    )


def missing_by_condition(
    table: Table, missing: dict[str, int], conditions: list[str]
) -> pl.DataFrame:
    """The missing share of each column with gaps on each level of each condition column.

    Returns
    -------
    polars.DataFrame
        ``column, condition, level, rows, missing, share, overall``; missing levels are named
        ``(missing)``.
    """
    schema = {
        "column": pl.String,
        "condition": pl.String,
        "level": pl.String,
        "rows": pl.Int64,
        "missing": pl.Int64,
        "share": pl.Float64,
        "overall": pl.Float64,
    }
    parts = []
    n = table.height
    for cond in conditions:
        cols = [c for c in missing if c != cond]
        if not cols or n == 0:
            continue
        counts = table.frame.group_by(
            pl.col(cond).cast(pl.String).fill_null(MISSING_LEVEL).alias("level")
        ).agg(pl.len().alias("rows"), *[_gap(c, table.schema[c]).sum().alias(c) for c in cols])
        long = counts.unpivot(
            index=["level", "rows"], on=cols, variable_name="column", value_name="missing"
        )
        parts.append(
            long.select(
                pl.col("column"),
                pl.lit(cond).alias("condition"),
                pl.col("level"),
                pl.col("rows").cast(pl.Int64),
                pl.col("missing").cast(pl.Int64),
                (pl.col("missing") / pl.col("rows")).alias("share"),
                pl.col("column")
                .replace_strict({c: missing[c] / n for c in cols}, return_dtype=pl.Float64)
                .alias("overall"),
            ).sort("column", "level")
        )
    if not parts:
        return pl.DataFrame(schema=schema)
    return pl.concat(parts).cast(schema)  # type: ignore[arg-type]


def _level_patterns(findings: list[Finding]) -> list[tuple[Finding, dict[str, Any]]]:
    """The (finding, pattern) pairs where gaps concentrate on a level, first pattern per condition."""
    out = []
    for f in findings:
        if f.check != "missing" or f.column is None:
            continue
        seen = set()
        for pattern in f.details.get("patterns", []):
            if pattern.get("kind") == "level" and pattern.get("column") not in seen:
                seen.add(pattern["column"])
                out.append((f, pattern))
    return out


def missingness_figures(
    table: Table, findings: list[Finding], conditions: list[str]
) -> tuple[list[FigureSpec], pl.DataFrame | None]:
    """The missing map and one ``bars_by_level`` per gap pattern the quality report found.

    Parameters
    ----------
    table
        The table; all rows count.
    findings
        The quality report's findings; its ``missing`` findings' ``details["patterns"]`` say
        where gaps concentrate.
    conditions
        Categorical columns to tabulate missing shares over.

    Returns
    -------
    tuple
        The figures, and the ``missing_by_condition`` frame (None when nothing is missing).
    """
    missing = missing_columns(table)
    if not missing:
        return [], None
    figures = [_missing_map(table, missing)]
    by_condition = missing_by_condition(table, missing, conditions)
    n = table.height
    for finding, pattern in _level_patterns(findings):
        column, cond = finding.column, pattern["column"]
        assert column is not None
        if cond not in table.frame.columns or column not in table.frame.columns:
            continue
        shares = by_condition.filter((pl.col("column") == column) & (pl.col("condition") == cond))
        if shares.height == 0:
            shares = missing_by_condition(table, {column: missing.get(column, 0)}, [cond])
        overall = missing.get(column, 0) / n if n else 0.0
        caption = (
            f"{pattern['share_of_missing']:.0%} of missing {column} is on {cond} = "
            f"{pattern['level']} (which holds {pattern['share_of_rows']:.0%} of rows); "
            f"{overall:.0%} missing overall"
        )
        figures.append(
            FigureSpec(
                name=f"missing-{slug(column)}-by-{slug(cond)}",
                kind="bars_by_level",
                section="missingness",
                title=f"Missing {column} by {cond}",
                caption=caption,
                data={
                    "column": column,
                    "levels": shares["level"].to_list(),
                    "share": [float(v) for v in shares["share"].to_list()],
                    "overall": overall,
                },
                x_label=cond,
                # The title names the column; an axis title longer than the plot runs off it.
                y_label="share missing",
                column=column,
            )
        )
    return figures, by_condition
