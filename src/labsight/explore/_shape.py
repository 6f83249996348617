"""Tables with a shape of their own: spectra (one column per wavelength) and sensor logs (a clock).

A table is spectral when at least 50 numeric columns are named by numbers (wavelengths,
wavenumbers, ``1050`` or ``1050 [nm]``): those columns become one ``spectra`` figure instead of
hundreds of histograms. A table with a time-role datetime column is a log: each numeric column is
averaged into at most 500 time bins, with ± 1 sd within each bin as its spread.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import polars as pl

from labsight.data.table import Table
from labsight.explore._distributions import MISSING_LEVEL
from labsight.explore._summary import floats, fmt, is_number, label, slug
from labsight.explore.spec import FigureSpec

__all__ = [
    "MAX_SPECTRA",
    "MAX_TIME_BINS",
    "MIN_CHANNELS",
    "spectra_figure",
    "spectral_columns",
    "time_column",
    "timeseries_figures",
]

MIN_CHANNELS = 50
MAX_SPECTRA = 200
MAX_TIME_BINS = 500
_MAX_CLASSES = 12
_MAX_SERIES = 24
_NUMBER_NAME = re.compile(
    r"^\s*([-+]?\d+(?:[.,]\d+)?(?:[eE][-+]?\d+)?)\s*(?:\[[^\]]*\]|\([^)]*\)|nm|cm-1|1/cm|um)?\s*$"
)


def channel_position(name: str) -> float | None:
    """The number a column is named by (``"1050"``, ``"1050.5 [nm]"``), or None."""
    m = _NUMBER_NAME.match(name)
    return float(m.group(1).replace(",", ".")) if m else None


def spectral_columns(table: Table) -> list[str]:
    """The numeric columns named by numbers, in axis order, when there are at least 50 of them.

    Examples
    --------
    >>> t = Table.from_frame(pl.DataFrame({str(400 + 2 * i): [0.1, 0.2] for i in range(60)}))
    >>> len(spectral_columns(t)), spectral_columns(t)[:2]
    (60, ['400', '402'])
    """
    found = []
    for c in table.columns:
        if c.role in ("id", "time", "group", "target") or not is_number(table.schema[c.name]):
            continue
        pos = channel_position(c.name)
        if pos is not None:
            found.append((pos, c.name))
    if len(found) < MIN_CHANNELS:
        return []
    return [name for _, name in sorted(found)]


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
        x_label="channel (from the column names)",
        y_label=f"signal [{unit}]" if unit else "signal",
        note=note,
    )


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
