"""The Plotly renderer: one builder per figure kind, axis titles with units, the spec's data drawn.

``example_specs()`` builds one hand-made spec per kind, laid out as ``labsight.explore.spec``
documents; the PNG and HTML tests load it from here.
"""

from __future__ import annotations

import json
import math

import plotly.graph_objects as go
import pytest

from labsight.explore._plotly import BUILDERS, to_plotly
from labsight.explore.spec import KINDS, FigureSpec


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
    ]
    return {spec.kind: spec for spec in specs}


SPECS = example_specs()


def test_every_kind_has_a_builder_and_an_example() -> None:
    assert set(BUILDERS) == set(KINDS)
    assert set(SPECS) == set(KINDS)


@pytest.mark.parametrize("kind", KINDS)
def test_render_plotly_builds_a_serialisable_figure(kind: str) -> None:
    fig = to_plotly(SPECS[kind])
    assert isinstance(fig, go.Figure)
    assert fig.data, "no trace drawn"
    assert fig.layout.title.text == SPECS[kind].title
    json.loads(fig.to_json())


@pytest.mark.parametrize("kind", [k for k in KINDS if k != "scatter_matrix"])
def test_render_plotly_axis_titles_carry_units(kind: str) -> None:
    spec = SPECS[kind]
    fig = to_plotly(spec)
    assert (fig.layout.xaxis.title.text or "") == spec.x_label
    assert (fig.layout.yaxis.title.text or "") == spec.y_label


def test_render_plotly_heatmap_is_annotated() -> None:
    heat = to_plotly(SPECS["heatmap"]).data[0]
    assert isinstance(heat, go.Heatmap)
    assert heat.texttemplate == "%{text}"
    assert heat.text[0][1] == "0.71"
    assert (heat.zmin, heat.zmax) == (-1, 1)


def test_render_plotly_histogram_draws_density_as_second_trace() -> None:
    bars, density = to_plotly(SPECS["histogram"]).data
    assert isinstance(bars, go.Bar)
    assert list(bars.y) == [2, 5, 9, 11, 6, 3]
    assert list(bars.x) == [52.5, 57.5, 62.5, 67.5, 72.5, 77.5]
    assert isinstance(density, go.Scatter)
    assert density.mode == "lines"


def test_render_plotly_box_uses_precomputed_statistics() -> None:
    fig = to_plotly(SPECS["box"])
    boxes = [t for t in fig.data if isinstance(t, go.Box)]
    assert [b.name for b in boxes] == ["Pd-A", "Pd-B"]
    first = boxes[0]
    assert (first.q1[0], first.median[0], first.q3[0]) == (40.0, 45.0, 50.0)
    assert (first.lowerfence[0], first.upperfence[0]) == (31.0, 58.0)
    outliers = [t for t in fig.data if isinstance(t, go.Scatter)]
    assert [list(t.y) for t in outliers] == [[12.0]]


def test_render_plotly_scatter_colours_by_level_and_draws_trend() -> None:
    fig = to_plotly(SPECS["scatter"])
    names = [t.name for t in fig.data]
    assert names == ["Pd-B", "Pd-A", "trend"]
    assert sum(len(t.x) for t in fig.data[:2]) == 40


def test_render_plotly_scatter_matrix_is_a_splom_with_labelled_dimensions() -> None:
    splom = to_plotly(SPECS["scatter_matrix"]).data[0]
    assert isinstance(splom, go.Splom)
    assert [d.label for d in splom.dimensions] == ["temperature [degC]", "time [min]", "yield [%]"]


def test_render_plotly_spectra_draws_mean_and_sd_band() -> None:
    fig = to_plotly(SPECS["spectra"])
    filled = [t for t in fig.data if t.fill == "tonexty"]
    assert len(filled) == 1
    assert any(t.name == "all mean" for t in fig.data)
    assert sum(1 for t in fig.data if (t.name or "").startswith("row ")) == 3


def test_render_plotly_timeseries_draws_spread_band() -> None:
    fig = to_plotly(SPECS["timeseries"])
    assert [t.fill for t in fig.data] == [None, "tonexty", None]
    assert fig.data[2].name == "pressure [bar]"


def test_render_plotly_unknown_kind_names_the_known_ones() -> None:
    spec = FigureSpec("x", "violin", "columns", "t", "c", {})  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"no Plotly builder for figure kind 'violin'.*histogram"):
        to_plotly(spec)
