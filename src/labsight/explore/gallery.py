"""A gallery of figure specs: one hand-made :class:`~labsight.explore.spec.FigureSpec` per kind.

For writing and testing a renderer (Plotly, matplotlib, a future web view): each spec lays out its
``data`` exactly as :mod:`labsight.explore.spec` documents, with units in the axis labels.
"""

from __future__ import annotations

import math

import polars as pl

from labsight.data.findings import Finding
from labsight.explore._analyse import Analysis
from labsight.explore.spec import FigureSpec, ReportTables

__all__ = ["EXAMPLE_COLUMNS", "example_analysis", "example_specs"]


def example_specs() -> dict[str, FigureSpec]:
    """One spec per figure kind, with units in the labels and a note on the sampled ones."""
    xs = [float(i) for i in range(40)]
    ys = [2.0 * x + 3.0 * math.sin(x) for x in xs]
    cats = ["Pd-A" if i % 2 else "Pd-B" for i in range(40)]
    axis = [1000.0 + 10 * i for i in range(50)]
    times = [f"2026-01-01T{h:02d}:00:00" for h in range(24)]
    specs = [
        FigureSpec(
            "hist-temperature",
            "histogram",
            "columns",
            "temperature",
            "Roughly symmetric around 70 °C.",
            {
                "edges": [50.0, 55.0, 60.0, 65.0, 70.0, 75.0, 80.0],
                "counts": [2, 5, 9, 11, 6, 3],
                "density_x": [50.0, 60.0, 70.0, 80.0],
                "density_y": [1.0, 8.0, 9.0, 2.0],
            },
            "temperature [degC]",
            "rows",
            column="temperature [degC]",
        ),
        FigureSpec(
            "bar-catalyst",
            "bar",
            "columns",
            "catalyst",
            "Pd-A is the most common catalyst.",
            {"labels": ["Pd-A", "Pd-B", "Ni"], "counts": [20, 15, 5]},
            "catalyst",
            "rows",
            column="catalyst",
        ),
        FigureSpec(
            "box-yield-by-catalyst",
            "box",
            "relations",
            "yield by catalyst",
            "Pd-B gives the higher yield.",
            {
                "groups": [
                    {
                        "name": "Pd-A",
                        "q1": 40.0,
                        "median": 45.0,
                        "q3": 50.0,
                        "low": 31.0,
                        "high": 58.0,
                        "outliers": [12.0],
                    },
                    {
                        "name": "Pd-B",
                        "q1": 55.0,
                        "median": 60.0,
                        "q3": 64.0,
                        "low": 48.0,
                        "high": 70.0,
                        "outliers": [],
                    },
                ]
            },
            "catalyst",
            "yield [%]",
            column="yield [%]",
        ),
        FigureSpec(
            "scatter-temperature-yield",
            "scatter",
            "relations",
            "yield against temperature",
            "Yield rises with temperature (Spearman 0.71).",
            {"x": xs, "y": ys, "color": cats, "trend_x": [0.0, 39.0], "trend_y": [0.0, 78.0]},
            "temperature [degC]",
            "yield [%]",
            column="temperature [degC]",
            note="40 of 100,000 rows, drawn at random, seed 0",
        ),
        FigureSpec(
            "scatter-matrix",
            "scatter_matrix",
            "relations",
            "pairs of numeric columns",
            "Every pair of the three most related columns.",
            {
                "columns": ["temperature [degC]", "time [min]", "yield [%]"],
                "values": {
                    "temperature [degC]": xs,
                    "time [min]": [x * 3 for x in xs],
                    "yield [%]": ys,
                },
                "color": None,
            },
        ),
        FigureSpec(
            "heatmap-spearman",
            "heatmap",
            "correlations",
            "Spearman correlations",
            "temperature and yield are the strongest pair (0.71).",
            {
                "x": ["temperature [degC]", "yield [%]"],
                "y": ["temperature [degC]", "yield [%]"],
                "z": [[1.0, 0.71], [0.71, 1.0]],
                "zmin": -1,
                "zmax": 1,
                "text": [["1.00", "0.71"], ["0.71", "1.00"]],
            },
        ),
        FigureSpec(
            "missing-map",
            "missing_map",
            "missingness",
            "missing cells",
            "time [min] is missing in 3 rows.",
            {
                "columns": ["temperature [degC]", "time [min]"],
                "rows": [0, 1, 2, 3],
                "z": [[0, 0], [0, 1], [0, 1], [0, 1]],
            },
            "column",
            "row",
        ),
        FigureSpec(
            "missing-time-by-operator",
            "bars_by_level",
            "missingness",
            "missing time by operator",
            "61% of missing time [min] is on operator = night-shift.",
            {
                "column": "time [min]",
                "levels": ["day", "night-shift"],
                "share": [0.05, 0.4],
                "overall": 0.12,
            },
            "operator",
            "share missing",
            column="time [min]",
        ),
        FigureSpec(
            "pca-variance",
            "pca_variance",
            "structure",
            "variance explained",
            "Two components explain 85% of the variance.",
            {
                "components": ["PC1", "PC2", "PC3"],
                "explained": [0.6, 0.25, 0.15],
                "cumulative": [0.6, 0.85, 1.0],
            },
            "component",
            "share of variance",
        ),
        FigureSpec(
            "embedding-pca",
            "embedding",
            "structure",
            "rows on the first two components",
            "Two clusters, split by catalyst.",
            {"x": xs, "y": ys, "color": None, "cluster": [i % 2 for i in range(40)]},
            "PC1",
            "PC2",
        ),
        FigureSpec(
            "loadings",
            "loadings",
            "structure",
            "loadings",
            "temperature drives the first component.",
            {
                "columns": ["temperature [degC]", "time [min]"],
                "pc1": [0.9, 0.2],
                "pc2": [0.1, -0.8],
                "labelled": [0, 1],
            },
            "PC1",
            "PC2",
        ),
        FigureSpec(
            "spectra",
            "spectra",
            "spectra",
            "absorbance spectra",
            "Batch A absorbs more around 1200 cm⁻¹.",
            {
                "axis": axis,
                "lines": [
                    {"name": f"row {i}", "y": [math.sin(a / 50 + i) for a in axis]}
                    for i in range(3)
                ],
                "bands": [
                    {
                        "name": "all",
                        "mean": [math.sin(a / 50) for a in axis],
                        "sd": [0.1] * len(axis),
                    }
                ],
            },
            "wavenumber [1/cm]",
            "absorbance",
        ),
        FigureSpec(
            "time-pressure",
            "timeseries",
            "time",
            "pressure over time",
            "Pressure drifts upward during the day.",
            {
                "t": times,
                "series": [
                    {
                        "name": "pressure [bar]",
                        "mean": [1.0 + h / 24 for h in range(24)],
                        "low": [0.9 + h / 24 for h in range(24)],
                        "high": [1.1 + h / 24 for h in range(24)],
                    }
                ],
            },
            "time",
            "pressure [bar]",
            column="pressure [bar]",
        ),
        FigureSpec(
            "images-sample",
            "images",
            "images",
            "A sample of the images by label",
            "4 of 20 images, drawn at random (seed 0), each resized to 8 × 8 and shown in grey.",
            {
                "grid": [
                    [
                        (40 * r + 20 * c) % 256 if c % 10 < 8 and r % 10 < 8 else 255
                        for c in range(18)
                    ]
                    for r in range(18)
                ],
                "labels": ["bright (10)", "dark (10)"],
                "tile": 8,
                "gap": 2,
            },
        ),
    ]
    return {spec.kind: spec for spec in specs}


EXAMPLE_COLUMNS: list[dict[str, str | None]] = [
    {"name": "temperature [degC]", "unit": "degC", "dtype": "float", "role": "feature"},
    {"name": "time [min]", "unit": "min", "dtype": "float", "role": "feature"},
    {"name": "catalyst", "unit": None, "dtype": "string", "role": "condition"},
    {"name": "yield [%]", "unit": "%", "dtype": "float", "role": "target"},
    {"name": "pressure [bar]", "unit": "bar", "dtype": "float", "role": "feature"},
]


def example_analysis() -> Analysis:
    """An :class:`~labsight.explore._analyse.Analysis` holding the gallery's specs, a small summary,
    a correlation and two findings: a whole report to render without computing one."""
    return Analysis(
        overview={
            "rows": 40,
            "columns": EXAMPLE_COLUMNS,
            "memory_bytes": 2048,
            "findings": {"error": 0, "warning": 1, "info": 1},
        },
        tables=ReportTables(
            summary=pl.DataFrame(
                {
                    "name": [c["name"] for c in EXAMPLE_COLUMNS],
                    "unit": [c["unit"] for c in EXAMPLE_COLUMNS],
                    "count": [40, 37, 40, 40, 40],
                    "missing_share": [0.0, 0.075, 0.0, 0.0, 0.0],
                    "mean": [70.1, 60.0, None, 52.3, 1.5],
                }
            ),
            correlations={
                "spearman": pl.DataFrame(
                    {
                        "column": ["temperature [degC]", "yield [%]"],
                        "temperature [degC]": [1.0, 0.71],
                        "yield [%]": [0.71, 1.0],
                    }
                )
            },
            strongest_pairs=pl.DataFrame(
                {
                    "a": ["temperature [degC]"],
                    "b": ["yield [%]"],
                    "measure": ["spearman"],
                    "value": [0.71],
                    "sentence": ["yield [%] rises with temperature [degC] (Spearman 0.71)"],
                }
            ),
        ),
        figures=list(example_specs().values()),
        findings=[
            Finding("missing", "time [min]", [1, 2, 3], "warning", "3 cells missing", "impute"),
            Finding("duplicate", None, [4], "info", "1 repeated row", "drop it"),
        ],
        sampled=True,
    )
