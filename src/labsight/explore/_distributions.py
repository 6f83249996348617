"""How each column is distributed: histograms with a density curve, bar charts, box plots.

Histogram counts and box statistics use all rows; only the density curve (a Gaussian KDE) is fitted
on a random sample of at most 20,000 values, which changes it by less than the line width. The curve's
``density_y`` is scaled to the histogram's counts (density × values × bin width), so a renderer can
draw both on one axis.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from labsight.data.table import Table
from labsight.explore._summary import (
    floats,
    fmt,
    is_number,
    label,
    level_text,
    numeric_values,
    slug,
)
from labsight.explore.spec import FigureSpec

__all__ = ["MAX_BINS", "NO_SPREAD", "box_groups", "distribution_figures", "histogram_data"]

MAX_BINS = 200
_KDE_SAMPLE = 20_000
_KDE_POINTS = 200
_MAX_BARS = 20
_MAX_OUTLIERS = 50
_MAX_SPLIT_LEVELS = 12
_SPLIT_COLUMNS = 5
_MIN_SPLIT_ETA = 0.1
MISSING_LEVEL = "(missing)"
NO_SPREAD = 1e-9
"""A spread below this share of a column's magnitude is rounding noise, not variation."""


def histogram_data(values: np.ndarray, seed: int = 0) -> dict[str, Any]:
    """Histogram counts on all finite values and a KDE curve on a sample of at most 20,000.

    Parameters
    ----------
    values
        The column's values (NaN for missing).
    seed
        Seed of the sample the density is fitted on.

    Returns
    -------
    dict
        ``{"edges", "counts", "density_x", "density_y"}``; at most 200 bins, the density scaled
        to counts. The density is empty when the values have no spread.

    Examples
    --------
    >>> d = histogram_data(np.arange(100.0))
    >>> len(d["edges"]) == len(d["counts"]) + 1, sum(d["counts"])
    (True, 100)
    """
    x = values[np.isfinite(values)]
    if x.size == 0:
        return {"edges": [], "counts": [], "density_x": [], "density_y": []}
    lo, hi = float(x.min()), float(x.max())
    # A spread in the last bits (829.4281 ± 1e-13, a Boltzmann average in a DFT table) cannot be
    # cut into bins: numpy refuses. Such a column is constant.
    if hi - lo <= NO_SPREAD * max(abs(lo), abs(hi)):
        return {
            "edges": [lo - 0.5, hi + 0.5],
            "counts": [int(x.size)],
            "density_x": [],
            "density_y": [],
        }
    sample = x
    if x.size > _KDE_SAMPLE:
        sample = np.random.default_rng(seed).choice(x, _KDE_SAMPLE, replace=False)
    try:
        bins = len(np.histogram_bin_edges(sample, bins="auto")) - 1
    except (ValueError, MemoryError):
        bins = MAX_BINS
    bins = int(min(MAX_BINS, max(5, bins)))
    counts, edges = np.histogram(x, bins=bins, range=(lo, hi))
    density_x: list[float | None] = []
    density_y: list[float | None] = []
    grid, density = _binned_kde(sample, lo, hi)
    if density is not None:
        density_x = floats(grid)
        density_y = floats(density * x.size * (edges[1] - edges[0]))
    return {
        "edges": floats(edges),
        "counts": [int(c) for c in counts],
        "density_x": density_x,
        "density_y": density_y,
    }


def _binned_kde(sample: np.ndarray, lo: float, hi: float) -> tuple[np.ndarray, np.ndarray | None]:
    """A Gaussian KDE (Scott's bandwidth) on a 200-point grid, by binning then convolving.

    Exact KDE costs values × grid points; binning the sample on the grid first makes it a small
    convolution, and the difference is far below what a plot can show.
    """
    grid = np.linspace(lo, hi, _KDE_POINTS)
    sd = float(np.std(sample))
    if sample.size < 2 or sd == 0:
        return grid, None
    bandwidth = sd * sample.size ** (-1 / 5)
    step = grid[1] - grid[0]
    counts, _ = np.histogram(sample, bins=_KDE_POINTS, range=(lo - step / 2, hi + step / 2))
    half = int(min(_KDE_POINTS, np.ceil(4 * bandwidth / step)))
    offsets = np.arange(-half, half + 1) * step
    kernel = np.exp(-0.5 * (offsets / bandwidth) ** 2)
    full = np.convolve(counts.astype(np.float64), kernel, mode="full")
    density = full[half : half + _KDE_POINTS]
    density /= density.sum() * step
    return grid, density


def box_groups(
    values: pl.Series, groups: pl.Series | None = None, name: str = "all"
) -> list[dict[str, Any]]:
    """Box-plot statistics per group, on all rows, in one polars query.

    Whiskers reach the most extreme values within 1.5 IQR of the quartiles; ``outliers`` lists up to
    50 values beyond them, the farthest from the median first.

    Parameters
    ----------
    values
        A numeric column (nulls and NaN are left out).
    groups
        The level of each row; None for a single box named ``name``. Missing levels form a group
        named ``(missing)``.

    Returns
    -------
    list of dict
        ``{"name", "q1", "median", "q3", "low", "high", "outliers"}`` per group, sorted by name.

    Examples
    --------
    >>> box_groups(pl.Series([1.0, 2.0, 3.0, 4.0, 100.0]))[0]["outliers"]
    [100.0]
    """
    if groups is None:
        return [_single_box(numeric_values(values), name)]
    g = (
        pl.lit(name, dtype=pl.String)
        if groups is None
        else groups.cast(pl.String).fill_null(MISSING_LEVEL)
    )
    frame = pl.DataFrame({"v": values.cast(pl.Float64)}).with_columns(
        pl.col("v").fill_nan(None), g=g
    )
    v = pl.col("v")
    q1, q3 = v.quantile(0.25, "linear").over("g"), v.quantile(0.75, "linear").over("g")
    lo, hi = q1 - 1.5 * (q3 - q1), q3 + 1.5 * (q3 - q1)
    out = (v < pl.col("lo")) | (v > pl.col("hi"))
    far = (v - pl.col("med")).abs()
    stats_frame = (
        frame.lazy()
        .drop_nulls("v")
        .with_columns(lo=lo, hi=hi, med=v.median().over("g"))
        .group_by("g")
        .agg(
            q1=v.quantile(0.25, "linear"),
            median=v.median(),
            q3=v.quantile(0.75, "linear"),
            low=v.filter(v >= pl.col("lo")).min(),
            high=v.filter(v <= pl.col("hi")).max(),
            outliers=v.filter(out).sort_by(far.filter(out), descending=True).head(_MAX_OUTLIERS),
        )
        .sort(pl.col("g") == MISSING_LEVEL, "g")
        .collect()
    )
    return [
        {
            "name": row["g"],
            "q1": row["q1"],
            "median": row["median"],
            "q3": row["q3"],
            "low": row["low"],
            "high": row["high"],
            "outliers": list(row["outliers"]),
        }
        for row in stats_frame.iter_rows(named=True)
    ]


def _single_box(
    values: np.ndarray, name: str, quartiles: tuple[float, float, float] | None = None
) -> dict[str, Any]:
    """One box from a float array with numpy; ``quartiles`` when already known (the summary)."""
    x = values[np.isfinite(values)]
    if x.size == 0:
        return {
            "name": name,
            "q1": None,
            "median": None,
            "q3": None,
            "low": None,
            "high": None,
            "outliers": [],
        }
    if quartiles is None:
        q = np.percentile(x, [25, 50, 75])
        quartiles = (float(q[0]), float(q[1]), float(q[2]))
    q1, med, q3 = quartiles
    lo, hi = q1 - 1.5 * (q3 - q1), q3 + 1.5 * (q3 - q1)
    beyond = (x < lo) | (x > hi)
    inside = x[~beyond]
    outliers = x[beyond]
    if outliers.size > _MAX_OUTLIERS:
        far = np.abs(outliers - med)
        outliers = outliers[np.argpartition(-far, _MAX_OUTLIERS)[:_MAX_OUTLIERS]]
    outliers = outliers[np.argsort(-np.abs(outliers - med), kind="stable")]
    return {
        "name": name,
        "q1": q1,
        "median": med,
        "q3": q3,
        "low": float(inside.min()),
        "high": float(inside.max()),
        "outliers": floats(outliers),
    }


def _histogram(table: Table, column: str, values: np.ndarray, seed: int) -> FigureSpec:
    data = histogram_data(values, seed)
    finite = int(sum(data["counts"]))
    lab = label(table, column)
    if finite:
        lo, hi = data["edges"][0], data["edges"][-1]
        caption = f"{lab}: {finite:,} values from {fmt(lo)} to {fmt(hi)}"
    else:
        caption = f"{lab} holds no values"
    note = None
    if finite > _KDE_SAMPLE and data["density_x"]:
        note = f"density curve fitted on {_KDE_SAMPLE:,} of {finite:,} values, drawn at random, seed {seed}"
    return FigureSpec(
        name=f"hist-{slug(column)}",
        kind="histogram",
        section="columns",
        title=f"Distribution of {lab}",
        caption=caption,
        data=data,
        x_label=lab,
        y_label="rows",
        column=column,
        note=note,
    )


def _bar(table: Table, column: str, *, by_value: bool = False) -> FigureSpec:
    """Counts of the most common levels; ``by_value`` keeps the levels in value order (a 0/1
    column reads 0, 1 whichever is commoner), for a numeric column of two values."""
    values_of = table.frame[column].drop_nulls()
    if by_value and is_number(values_of.dtype):
        values_of = values_of.cast(pl.Float64).fill_nan(None).drop_nulls()
        counts = values_of.value_counts(name="n").sort(column)
        counts = counts.with_columns(
            pl.col(column).map_elements(level_text, return_dtype=pl.String)
        )
    else:
        counts = values_of.cast(pl.String).value_counts(sort=True, name="n")
    top = counts.head(_MAX_BARS)
    labels = top[column].to_list()
    values = [int(v) for v in top["n"].to_list()]
    rest = counts.height - top.height
    if rest > 0:
        labels.append("other")
        values.append(int(counts["n"].sum()) - sum(values))
    total = sum(values)
    lab = label(table, column)
    caption = f"{lab}: {counts.height} levels"
    if total:
        common = max(range(len(values)), key=lambda i: values[i]) if by_value else 0
        caption += f", most common {labels[common]} ({values[common] / total:.0%} of rows)"
    if rest > 0:
        caption += f"; the {rest} rarest levels are grouped as 'other'"
    return FigureSpec(
        name=f"bar-{slug(column)}",
        kind="bar",
        section="columns",
        title=f"Levels of {lab}",
        caption=caption,
        data={"labels": labels, "counts": values},
        x_label=lab,
        y_label="rows",
        column=column,
    )


def _box(
    table: Table, column: str, values: np.ndarray, quartiles: tuple[float, float, float] | None
) -> FigureSpec:
    groups = [_single_box(values, column, quartiles)] if np.isfinite(values).any() else []
    lab = label(table, column)
    caption = f"{lab}: no values"
    if groups:
        b = groups[0]
        caption = (
            f"{lab}: median {fmt(b['median'])}, middle half from {fmt(b['q1'])} to {fmt(b['q3'])}"
        )
        if b["outliers"]:
            k = len(b["outliers"])
            more = "+" if k == _MAX_OUTLIERS else ""
            caption += f"; {k}{more} value{'s' if k > 1 else ''} beyond the whiskers"
    return FigureSpec(
        name=f"box-{slug(column)}",
        kind="box",
        section="columns",
        title=f"Spread of {lab}",
        caption=caption,
        data={"groups": groups},
        y_label=lab,
        column=column,
    )


def split_box(
    table: Table, column: str, by: str, eta: float | None, section: str = "columns"
) -> FigureSpec:
    """Box plots of numeric ``column`` per level of ``by``, with the levels' medians in the caption."""
    groups = box_groups(table.frame[column], table.frame[by])
    lab = label(table, column)
    caption = f"{lab} by {by}"
    with_values = [g for g in groups if g["median"] is not None]
    if len(with_values) >= 2:
        low = min(with_values, key=lambda g: g["median"])
        high = max(with_values, key=lambda g: g["median"])
        caption += (
            f": medians from {fmt(low['median'])} ({low['name']}) to {fmt(high['median'])} "
            f"({high['name']})"
        )
    if eta is not None and np.isfinite(eta):
        caption += f"; η {eta:.2f}"
    return FigureSpec(
        name=f"box-{slug(column)}-by-{slug(by)}",
        kind="box",
        section=section,  # type: ignore[arg-type]
        title=f"{lab} by {by}",
        caption=caption,
        data={"groups": groups},
        x_label=by,
        y_label=lab,
        column=column,
    )


def distribution_figures(
    table: Table,
    numeric: list[str],
    categorical: list[str],
    distinct: dict[str, int],
    *,
    target: str | None = None,
    eta: pl.DataFrame | None = None,
    quartiles: dict[str, tuple[float, float, float]] | None = None,
    seed: int = 0,
) -> list[FigureSpec]:
    """A histogram and a box per numeric column (a bar chart of the two levels when it holds
    two values), a bar chart per categorical column, and split boxes.

    Parameters
    ----------
    table
        The table; all rows count.
    numeric, categorical
        Columns to draw one by one (spectral channels are left out by the caller).
    distinct
        Distinct non-missing values per column.
    target
        The target column: split first by each category with 2–12 levels.
    eta
        Correlation ratios (``category, column, eta``) to pick the numeric columns each category
        splits: the target, then the four with the largest η.
    quartiles
        Each numeric column's quartiles, when already computed (the summary), so boxes need no
        second sort.
    seed
        Seed of the density samples.

    Returns
    -------
    list of FigureSpec
        ``hist-*``, ``box-*``, ``bar-*`` and ``box-*-by-*`` specs, in column order.
    """
    figures: list[FigureSpec] = []
    # A box of 0/1 values is a line at 0 and "outliers" at 1; their two levels are a bar chart.
    two_valued = {c for c in numeric if distinct.get(c) == 2}
    for column in numeric:
        if column in two_valued:
            figures.append(_bar(table, column, by_value=True))
            continue
        values = numeric_values(table.frame[column])
        figures.append(_histogram(table, column, values, seed))
        figures.append(_box(table, column, values, (quartiles or {}).get(column)))
    for column in categorical:
        figures.append(_bar(table, column))
    eta_of: dict[tuple[str, str], float] = {}
    if eta is not None:
        eta_of = {(r[0], r[1]): r[2] for r in eta.iter_rows()}
    target_role = {c.name: c.role for c in table.columns}
    for by in categorical:
        if not 2 <= distinct.get(by, 0) <= _MAX_SPLIT_LEVELS or by == target:
            continue
        columns: list[str] = []
        # A feature-role category against the target is drawn in the relations section.
        if target in numeric and target not in two_valued and target_role[by] != "feature":
            columns.append(target)
        ranked = sorted(
            (c for c in numeric if c != target and c != by and c not in two_valued),
            key=lambda c: -(eta_of.get((by, c)) or 0.0),
        )
        ranked = [c for c in ranked if (eta_of.get((by, c)) or 0.0) >= _MIN_SPLIT_ETA]
        columns += ranked[: _SPLIT_COLUMNS - len(columns)]
        for column in columns:
            if column in numeric:
                figures.append(split_box(table, column, by, eta_of.get((by, column))))
    return figures
