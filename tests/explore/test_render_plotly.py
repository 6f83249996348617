"""The Plotly renderer: one builder per figure kind, axis titles with units, the spec's data drawn.

The specs come from :mod:`labsight.explore.gallery` (one hand-made spec per kind).
"""

from __future__ import annotations

import json

import plotly.graph_objects as go
import pytest

from labsight.explore._plotly import BUILDERS, figure_dict, to_plotly
from labsight.explore.gallery import example_specs
from labsight.explore.spec import KINDS, FigureSpec

SPECS = example_specs()


def test_every_kind_has_a_builder_and_an_example() -> None:
    assert set(BUILDERS) == set(KINDS)
    assert set(SPECS) == set(KINDS)
    for kind, build in BUILDERS.items():  # builders draw Plotly JSON, not Plotly objects
        fig = build(SPECS[kind])
        assert isinstance(fig, dict)
        assert set(fig) == {"data", "layout"}


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
    assert names == ["Pd-A", "Pd-B", "trend"]  # levels in order: the same colour in every figure
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
    with pytest.raises(ValueError, match=r"no Plotly builder for figure kind 'violin'"):
        figure_dict(spec)
