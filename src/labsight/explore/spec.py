"""The contract between analysis and rendering: what a figure shows, independent of how it is drawn.

The analysis modules of :mod:`labsight.explore` compute numbers on all rows (polars) and describe each
figure as a :class:`FigureSpec`: its kind, the (already aggregated or sampled) data it draws, axis
labels with units, and a one-line caption in plain words. Two renderers draw the same specs: Plotly
for the HTML report and Jupyter, matplotlib for ``--png``. Nothing here imports a plotting library.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import polars as pl

__all__ = ["KINDS", "FigureKind", "FigureSpec", "Section"]

FigureKind = Literal[
    "histogram",  # data: {"edges": [...], "counts": [...], "density_x": [...], "density_y": [...]}
    "bar",  # data: {"labels": [...], "counts": [...]}
    "box",  # data: {"groups": [{"name", "q1", "median", "q3", "low", "high", "outliers": [...]}]}
    "scatter",  # data: {"x": [...], "y": [...], "color": [...]|None, "trend_x": [...], "trend_y": [...]}
    "scatter_matrix",  # data: {"columns": [...], "values": {col: [...]}, "color": [...]|None}
    "heatmap",  # data: {"x": [...], "y": [...], "z": [[...]], "zmin": -1, "zmax": 1, "text": [[...]]}
    "missing_map",  # data: {"columns": [...], "rows": [...], "z": [[0/1 ...]]} (rows sampled/binned)
    "bars_by_level",  # data: {"column": str, "levels": [...], "share": [...], "overall": float}
    "pca_variance",  # data: {"components": [...], "explained": [...], "cumulative": [...]}
    "embedding",  # data: {"x": [...], "y": [...], "color": [...]|None, "cluster": [...]|None}
    "loadings",  # data: {"columns": [...], "pc1": [...], "pc2": [...]}
    "spectra",  # data: {"axis": [...], "lines": [{"name", "y": [...]}], "bands": [{"name", "mean", "sd"}]}
    "timeseries",  # data: {"t": [...], "series": [{"name", "mean": [...], "low": [...], "high": [...]}]}
]
KINDS: tuple[str, ...] = FigureKind.__args__  # type: ignore[attr-defined]

Section = Literal[
    "overview",
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
