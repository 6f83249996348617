"""Tables with a shape of their own: spectra (one column per wavelength) and sensor logs (a clock).

A table is spectral when at least 50 numeric columns are named by numbers (wavelengths,
wavenumbers, ``1050`` or ``1050 [nm]``). A spectrum is one thing: its channels are drawn along
their axis, never one by one — the spectra with mean ± sd bands per class, the channels'
distribution as one band (median, middle half, range), the link of each channel to the target as
one line, and the PCA loadings as lines over the axis. A table with a time-role datetime column is a
log: each numeric column is averaged into at most 500 time bins, with ± 1 sd within each bin as its
spread.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import numpy as np
import polars as pl

from labsight.data.spectra import MIN_CHANNELS, channel_position, spectral_columns
from labsight.data.stats import average_ranks, numeric_values
from labsight.data.table import Table
from labsight.explore._associations import correlation_ratios
from labsight.explore._distributions import MISSING_LEVEL
from labsight.explore._summary import floats, fmt, is_number, label, slug
from labsight.explore.spec import FigureSpec

__all__ = [
    "MAX_SPECTRA",
    "MAX_TIME_BINS",
    "MIN_CHANNELS",
    "channel_link_figure",
    "channel_position",
    "channel_summary_figure",
    "loadings_profile",
    "spectra_figure",
    "spectral_columns",
    "time_column",
    "timeseries_figures",
]

MAX_SPECTRA = 200
MAX_TIME_BINS = 500
_MAX_CLASSES = 12
_AXIS_LABEL = "channel (from the column names)"
_MAX_SERIES = 24


def spectra_figure(
    table: Table,
    channels: list[str],
    *,
    category: str | None = None,
    seed: int = 0,
) -> FigureSpec:
    """All spectra as lines (at most 200, sampled) with mean ± sd bands per class of ``category``.

    Parameters
    ----------
    table
        The table; class means and sds use all rows.
    channels
        The spectral columns in axis order (from :func:`spectral_columns`).
    category
        A categorical column whose classes get a band each; None for one band over all rows.
    seed
        Seed of the line sample.

    Returns
    -------
    FigureSpec
        A ``spectra`` spec named ``spectra``.
    """
    frame = table.frame
    n = frame.height
    axis = [channel_position(c) for c in channels]
    rows = np.arange(n)
    note = None
    if n > MAX_SPECTRA:
        rows = np.sort(np.random.default_rng(seed).choice(n, MAX_SPECTRA, replace=False))
        note = f"{MAX_SPECTRA} of {n:,} spectra drawn, at random, seed {seed}; bands use all rows"
    ids = [c.name for c in table.columns if c.role == "id"]
    values = frame.select(pl.col(c).cast(pl.Float64).fill_nan(None) for c in channels)
    lines_values = values[rows].to_numpy() if n else np.empty((0, len(channels)))
    names = (
        frame[ids[0]][rows].cast(pl.String).fill_null(MISSING_LEVEL).to_list()
        if ids
        else [f"row {i}" for i in rows]
    )
    lines = [{"name": name, "y": floats(y)} for name, y in zip(names, lines_values, strict=True)]
    if category is not None:
        keys = frame[category].cast(pl.String).fill_null(MISSING_LEVEL)
    else:
        keys = pl.Series("__class", ["all rows"] * n, dtype=pl.String)
    grouped = (
        values.with_columns(keys.alias("__class"))
        .group_by("__class")
        .agg(
            pl.len().alias("__n"),
            *[pl.col(c).mean().alias(f"m{i}") for i, c in enumerate(channels)],
            *[pl.col(c).std().alias(f"s{i}") for i, c in enumerate(channels)],
        )
        .sort("__n", descending=True)
        .head(_MAX_CLASSES)
        .sort("__class")
    )
    k = len(channels)
    means = grouped.select(f"m{i}" for i in range(k)).to_numpy().astype(np.float64)
    sds = grouped.select(f"s{i}" for i in range(k)).to_numpy().astype(np.float64)
    classes = grouped["__class"].to_list()
    bands = [
        {"name": name, "mean": floats(m), "sd": floats(s)}
        for name, m, s in zip(classes, means, sds, strict=True)
    ]
    caption = f"{n:,} spectra over {k} channels from {fmt(axis[0])} to {fmt(axis[-1])}"
    if category is not None and len(classes) >= 2 and n:
        with np.errstate(invalid="ignore", divide="ignore"):
            spread = np.nanmax(means, axis=0) - np.nanmin(means, axis=0)
            pooled = np.nanmean(sds, axis=0)
            contrast = np.where(pooled > 0, spread / pooled, spread)
        if np.isfinite(contrast).any():
            j = int(np.nanargmax(contrast))
            hi, lo = int(np.nanargmax(means[:, j])), int(np.nanargmin(means[:, j]))
            caption += (
                f"; the {category} classes differ most at {fmt(axis[j])} "
                f"({classes[hi]} {fmt(means[hi, j])} vs {classes[lo]} {fmt(means[lo, j])})"
            )
    else:
        caption += "; the band is the mean ± sd of all rows"
    unit = table.column(channels[0]).unit
    return FigureSpec(
        name="spectra",
        kind="spectra",
        section="spectra",
        title="Spectra",
        caption=caption,
        data={"axis": axis, "lines": lines, "bands": bands},
        x_label=_AXIS_LABEL,
        y_label=f"signal [{unit}]" if unit else "signal",
        note=note,
    )


def channel_summary_figure(table: Table, channels: list[str], summary: pl.DataFrame) -> FigureSpec:
    """Every channel's distribution over all rows as one band along the axis: the median, the
    middle half (q1–q3) and the range (min–max) — what a block per channel would say, in one view.

    Parameters
    ----------
    table
        The table.
    channels
        The spectral columns in axis order.
    summary
        The per-column summary (:func:`labsight.explore._summary.summarize`), on all rows.

    Returns
    -------
    FigureSpec
        A ``spectra`` spec named ``spectra-channels`` with no lines and two bands.
    """
    stats = (
        pl.DataFrame({"name": channels})
        .join(summary, on="name", how="left", maintain_order="left")
        .select("name", "missing", "missing_share", "min", "q1", "median", "q3", "max")
    )
    axis = [channel_position(c) for c in channels]
    q1, q3 = (stats[c].cast(pl.Float64).to_numpy() for c in ("q1", "q3"))
    bands = [
        {
            "name": "all spectra",
            "centre": "median",
            "spread": "middle half (q1–q3)",
            "mean": floats(stats["median"].cast(pl.Float64).to_numpy()),
            "low": floats(q1),
            "high": floats(q3),
        },
        {
            "name": "all spectra",
            "centre": "",
            "spread": "range (min–max)",
            "line": False,
            "mean": floats(stats["median"].cast(pl.Float64).to_numpy()),
            "low": floats(stats["min"].cast(pl.Float64).to_numpy()),
            "high": floats(stats["max"].cast(pl.Float64).to_numpy()),
        },
    ]
    k = len(channels)
    caption = f"each of the {k:,} channels over all {table.height:,} spectra"
    with np.errstate(invalid="ignore"):
        iqr = q3 - q1
    if np.isfinite(iqr).any():
        j = int(np.nanargmax(iqr))
        caption += f"; the middle half is widest at {fmt(axis[j])} ({fmt(float(iqr[j]))})"
    gaps = stats.filter(pl.col("missing") > 0)
    if gaps.height:
        worst = gaps.sort("missing", descending=True).row(0, named=True)
        caption += (
            f"; {gaps.height:,} channel{'s' if gaps.height > 1 else ''} have missing values "
            f"(most: {worst['name']}, {worst['missing_share']:.0%})"
        )
    else:
        caption += "; no channel has missing values"
    unit = table.column(channels[0]).unit
    return FigureSpec(
        name="spectra-channels",
        kind="spectra",
        section="spectra",
        title="Channels: median, middle half and range",
        caption=caption,
        data={"axis": axis, "lines": [], "bands": bands},
        x_label=_AXIS_LABEL,
        y_label=f"signal [{unit}]" if unit else "signal",
    )


def _correlation_with(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Pearson correlation of each column of ``x`` with ``y``, each over the rows where both are
    present (NaN where a column has no spread or fewer than three such rows)."""
    valid = np.isfinite(x) & np.isfinite(y)[:, None]
    w = valid.astype(np.float64)
    x0 = np.where(valid, x, 0.0)
    y0 = np.where(valid, y[:, None], 0.0)
    n = w.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mx, my = x0.sum(axis=0) / n, y0.sum(axis=0) / n
        dx, dy = np.where(valid, x0 - mx, 0.0), np.where(valid, y0 - my, 0.0)
        r = (dx * dy).sum(axis=0) / np.sqrt((dx * dx).sum(axis=0) * (dy * dy).sum(axis=0))
    return np.where(n >= 3, r, np.nan)


def channel_link_figure(
    table: Table, channels: list[str], target: str, *, categorical: bool
) -> FigureSpec | None:
    """How strongly each channel goes with the target, as one line along the axis: Spearman for a
    numeric target, the correlation ratio η over the classes of a categorical one; all rows.

    Returns
    -------
    FigureSpec or None
        A ``spectra`` spec named ``spectra-link`` (one band, no lines); None when nothing could
        be computed (fewer than three rows).
    """
    frame = table.frame
    if frame.height < 3:
        return None
    axis = [channel_position(c) for c in channels]
    t_label = label(table, target)
    if categorical:
        eta = correlation_ratios(frame, [target], channels)
        lookup = dict(zip(eta["column"].to_list(), eta["eta"].to_list(), strict=True))
        values = np.array([lookup.get(c, np.nan) for c in channels], dtype=np.float64)
        name, y_label = f"η over {target}", f"η over the classes of {target}"
    else:
        x = np.column_stack([average_ranks(numeric_values(frame[c])) for c in channels])
        y = average_ranks(numeric_values(frame[target]))
        values = _correlation_with(x, y)
        name, y_label = f"Spearman with {target}", f"Spearman ρ with {t_label}"
    if not np.isfinite(values).any():
        return None
    j = int(np.nanargmax(np.abs(values)))
    n = frame.height
    if categorical:
        caption = (
            f"how much of each channel's variance lies between the classes of {target} (η, all "
            f"{n:,} rows): most at {fmt(axis[j])} (η {values[j]:.2f})"
        )
    else:
        caption = (
            f"Spearman correlation of each channel with {target} over all {n:,} rows: strongest "
            f"at {fmt(axis[j])} ({values[j]:+.2f})"
        )
    with np.errstate(invalid="ignore"):
        strong = int((np.abs(values) >= 0.5).sum())
    measure = "η" if categorical else "|ρ|"
    caption += f"; {strong:,} of {len(channels):,} channels reach {measure} ≥ 0.5"
    return FigureSpec(
        name="spectra-link",
        kind="spectra",
        section="spectra",
        title=f"Link of each channel to {t_label}",
        caption=caption,
        data={
            "axis": axis,
            "lines": [],
            "bands": [{"name": name, "centre": "", "mean": floats(values)}],
        },
        x_label=_AXIS_LABEL,
        y_label=y_label,
        column=None,
    )


def loadings_profile(
    channels: list[str],
    features: list[str],
    pc1: np.ndarray,
    pc2: np.ndarray,
    explained: np.ndarray,
) -> dict[str, Any]:
    """The PC1 and PC2 loadings of the spectral channels among ``features``, in axis order, as
    ``spectra`` data (two bands without spread); features that are not channels are left out."""
    at = {f: i for i, f in enumerate(features)}
    shown = [c for c in channels if c in at]
    idx = [at[c] for c in shown]
    pc2_share = explained[1] if explained.size > 1 else 0.0
    return {
        "axis": [channel_position(c) for c in shown],
        "lines": [],
        "bands": [
            {"name": f"PC1 ({explained[0]:.0%})", "centre": "", "mean": floats(pc1[idx])},
            {"name": f"PC2 ({pc2_share:.0%})", "centre": "", "mean": floats(pc2[idx])},
        ],
    }


def time_column(table: Table) -> str | None:
    """The clock of a log: a time-role column of datetimes, dates or numbers (elapsed time);
    else the first datetime column; else None."""
    roled = [
        c.name
        for c in table.columns
        if c.role == "time" and (c.dtype in ("datetime", "date") or is_number(table.schema[c.name]))
    ]
    timed = [c.name for c in table.columns if c.dtype in ("datetime", "date")]
    found = roled or timed
    return found[0] if found else None


def timeseries_figures(table: Table, time: str, numeric: list[str]) -> list[FigureSpec]:
    """Each numeric column averaged into at most 500 time bins, ± 1 sd within each bin.

    Parameters
    ----------
    table
        The table; every row with a time counts.
    time
        The clock: a datetime or date column, or a number (elapsed time).
    numeric
        The columns to draw (the first 24).

    Returns
    -------
    list of FigureSpec
        One ``timeseries`` spec per column; ``t`` holds each bin's centre, as ISO 8601 text for
        dates and datetimes, as a number for a numeric clock.
    """
    columns = [c for c in numeric if c != time][:_MAX_SERIES]
    is_clock = not is_number(table.schema[time])
    tick = (
        pl.col(time).cast(pl.Datetime("us")).dt.epoch("us").cast(pl.Float64)
        if is_clock
        else pl.col(time).cast(pl.Float64).fill_nan(None)
    )
    frame = table.frame.select(
        tick.alias("__t"), *[pl.col(c).cast(pl.Float64).fill_nan(None) for c in columns]
    ).drop_nulls("__t")
    if frame.height < 2 or not columns:
        return []
    t0, t1 = float(frame["__t"].min()), float(frame["__t"].max())  # type: ignore[arg-type]
    span = t1 - t0
    if not span > 0:
        return []
    bins = min(MAX_TIME_BINS, frame.height)
    grouped = (
        frame.lazy()
        .with_columns(
            ((pl.col("__t") - t0) / span * bins)
            .floor()
            .clip(0, bins - 1)
            .cast(pl.Int64)
            .alias("__bin")
        )
        .group_by("__bin")
        .agg(
            *[pl.col(c).mean().alias(f"m{i}") for i, c in enumerate(columns)],
            *[pl.col(c).std().alias(f"s{i}") for i, c in enumerate(columns)],
        )
        .sort("__bin")
        .collect()
    )
    width = span / bins
    centres: list[Any]
    if is_clock:
        start = datetime(1970, 1, 1) + timedelta(microseconds=t0)
        centres = [
            (start + timedelta(microseconds=(b + 0.5) * width)).isoformat()
            for b in grouped["__bin"].to_list()
        ]
        duration = str(timedelta(microseconds=round(width)))
    else:
        centres = floats(t0 + (grouped["__bin"].to_numpy() + 0.5) * width)
        unit = table.column(time).unit
        duration = f"{fmt(width)} {unit}" if unit else fmt(width)
    figures: list[FigureSpec] = []
    for i, c in enumerate(columns):
        mean = grouped[f"m{i}"].to_numpy().astype(np.float64)
        sd = np.nan_to_num(grouped[f"s{i}"].to_numpy().astype(np.float64), nan=0.0)
        lab = label(table, c)
        finite = mean[np.isfinite(mean)]
        caption = f"{lab} over time"
        if finite.size:
            caption += (
                f": mean {fmt(float(finite[0]))} in the first bin, {fmt(float(finite[-1]))} in the "
                f"last; bin means range from {fmt(float(finite.min()))} to {fmt(float(finite.max()))}"
            )
        data: dict[str, Any] = {
            "t": centres,
            "series": [
                {
                    "name": lab,
                    "mean": floats(mean),
                    "low": floats(mean - sd),
                    "high": floats(mean + sd),
                }
            ],
        }
        figures.append(
            FigureSpec(
                name=f"time-{slug(c)}",
                kind="timeseries",
                section="time",
                title=f"{lab} over time",
                caption=caption,
                data=data,
                x_label=label(table, time),
                y_label=lab,
                column=c,
                note=f"{frame.height:,} rows averaged into {grouped.height} bins of {duration}; band: ± 1 sd within each bin",
            )
        )
    return figures
