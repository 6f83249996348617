"""The contract between analysis and rendering: what a figure shows, independent of how it is drawn.

The analysis modules of :mod:`labsight.explore` compute numbers on all rows (polars) and describe each
figure as a :class:`FigureSpec`: its kind, the (already aggregated or sampled) data it draws, axis
labels with units, and a one-line caption in plain words. Two renderers draw the same specs: Plotly
for the HTML report and Jupyter, matplotlib for ``--png``. Nothing here imports a plotting library.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

import polars as pl

__all__ = ["KINDS", "FigureKind", "FigureSpec", "Section", "band_limits", "level_order"]

FigureKind = Literal[
    "histogram",  # data: {"edges": [...], "counts": [...], "density_x": [...], "density_y": [...]}
    "bar",  # data: {"labels": [...], "counts": [...]}
    "box",  # data: {"groups": [{"name", "q1", "median", "q3", "low", "high", "outliers": [...]}]}
    # data: {"x": [...], "y": [...], "color": [...]|None, "color_label": str, "trend_x": [...],
    # "trend_y": [...]}; "color_label" (optional, in every kind with "color") titles the colour bar
    "scatter",
    "scatter_matrix",  # data: {"columns": [...], "values": {col: [...]}, "color": [...]|None}
    # data: {"x": [...], "y": [...], "z": [[...]], "zmin": -1, "zmax": 1, "text": [[...]],
    # "color_label": "Pearson r"}; zmin 0 is drawn on a one-sided scale
    "heatmap",
    "missing_map",  # data: {"columns": [...], "rows": [...], "z": [[share missing ...]]} (rows binned)
    "bars_by_level",  # data: {"column": str, "levels": [...], "share": [...], "overall": float}
    "pca_variance",  # data: {"components": [...], "explained": [...], "cumulative": [...]}
    "embedding",  # data: {"x": [...], "y": [...], "color": [...]|None, "cluster": [...]|None}
    "loadings",  # data: {"columns": [...], "pc1": [...], "pc2": [...], "labelled": [indices]}
    # data: {"axis": [...], "lines": [{"name", "y": [...]}], "bands": [{"name", "mean", "sd"}]}; a
    # band may give its edges as "low"/"high" instead of "sd", and name its line and spread
    # ("centre": "median", "spread": "q1–q3"); see band_limits
    "spectra",
    "timeseries",  # data: {"t": [...], "series": [{"name", "mean": [...], "low": [...], "high": [...]}]}
    # data: {"grid": [[0-255 ...]] (the thumbnails tiled into one grey picture), "labels": [...]
    # (one per row of thumbnails), "tile": int, "gap": int}
    "images",
]
KINDS: tuple[str, ...] = FigureKind.__args__  # type: ignore[attr-defined]

Section = Literal[
    "overview",
    "images",
    "columns",
    "relations",
    "correlations",
    "missingness",
    "structure",
    "spectra",
    "time",
]


@dataclass(frozen=True)
class FigureSpec:
    """One figure: what to draw and how to say it.

    ``name`` is unique in a report and safe as a file name (``hist-temperature``); ``column`` the
    column it is about, when there is one (the HTML report links findings to it); ``x_label`` /
    ``y_label`` carry units (``temperature [degC]``); ``caption`` is one plain sentence, with the
    finding when there is one ("strongest link to yield: temperature, Spearman 0.71"); ``note``
    says when the plot was drawn from a sample ("5,000 of 1,000,000 rows, drawn at random, seed 0").
    """

    name: str
    kind: FigureKind
    section: Section
    title: str
    caption: str
    data: dict[str, Any]
    x_label: str = ""
    y_label: str = ""
    column: str | None = None
    note: str | None = None


@dataclass
class ReportTables:
    """The numbers behind a report, as polars frames computed on all rows."""

    summary: pl.DataFrame
    correlations: dict[str, pl.DataFrame] = field(default_factory=dict)
    strongest_pairs: pl.DataFrame | None = None
    missing_by_condition: pl.DataFrame | None = None


def band_limits(band: dict[str, Any]) -> tuple[list[float | None], list[float | None]]:
    """The lower and upper edges of a ``spectra`` band: its ``low``/``high``, else ``mean ± sd``
    (None where either is missing, as for a class of one spectrum).

    Examples
    --------
    >>> band_limits({"name": "A", "mean": [1.0, 2.0], "sd": [0.5, None]})
    ([0.5, None], [1.5, None])
    """
    if "low" in band and "high" in band:
        return list(band["low"]), list(band["high"])
    low: list[float | None] = []
    high: list[float | None] = []
    for m, s in zip(band["mean"], band["sd"], strict=True):
        ok = m is not None and s is not None
        low.append(m - s if ok else None)
        high.append(m + s if ok else None)
    return low, high


def level_order(level: str) -> tuple[bool, float, str]:
    """Sort key for the levels of a colour: numbers by value (0 before 1, 2 before 10), then text,
    ``(missing)`` last; so both renderers give a level the same colour in every figure.

    Examples
    --------
    >>> sorted(["b", "(missing)", "10", "2", "a"], key=level_order)
    ['2', '10', 'a', 'b', '(missing)']
    """
    try:
        number = float(level)
    except ValueError:
        number = math.inf
    return (level == "(missing)", number, level)
