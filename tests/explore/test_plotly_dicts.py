"""The Plotly JSON dicts the HTML report is drawn from: valid Plotly, plain JSON, the same drawing as
the ``go.Figure`` for Jupyter, and no Plotly import on the way.

The specs come from :mod:`labsight.explore.gallery` (one hand-made spec per kind).
"""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
import sys
from typing import Any

import plotly.graph_objects as go
import pytest

from labsight.explore import ExploreReport
from labsight.explore._plotly import figure_dict, theme_json, to_plotly
from labsight.explore.gallery import example_analysis, example_specs
from labsight.explore.spec import KINDS

SPECS = example_specs()


@pytest.mark.parametrize("kind", KINDS)
def test_figure_dict_is_valid_plotly_and_plain_json(kind: str) -> None:
    fig = figure_dict(SPECS[kind])
    go.Figure(fig)  # plotly.py validates every property name and value
    assert json.loads(json.dumps(fig, allow_nan=False)) == fig  # plain lists, str, int, float
    assert fig["data"], "no trace drawn"
    assert all("type" in trace for trace in fig["data"])


@pytest.mark.parametrize("kind", KINDS)
def test_figure_dict_is_unthemed_with_the_common_layout(kind: str) -> None:
    spec = SPECS[kind]
    layout = figure_dict(spec)["layout"]
    assert "template" not in layout
    assert layout["title"]["text"] == spec.title
    assert layout["height"] >= 420
    if kind != "scatter_matrix":
        assert layout["xaxis"]["title"]["text"] == spec.x_label
        assert layout["yaxis"]["title"]["text"] == spec.y_label


@pytest.mark.parametrize("kind", KINDS)
def test_to_plotly_draws_exactly_figure_dict(kind: str) -> None:
    """plotly.py rewrites nothing (named colour scales, numbers as text): the page and Jupyter
    show the same figure."""
    spec = SPECS[kind]
    bare = json.loads(to_plotly(spec, themed=False).to_json())
    bare["layout"].pop("template")  # plotly.py's default theme, which the report never sends
    assert bare == json.loads(json.dumps(figure_dict(spec)))
    themed = json.loads(to_plotly(spec).to_json())
    assert themed["layout"].pop("template") == json.loads(json.dumps(theme_json()))
    assert themed == bare


def test_figure_dict_draws_the_overall_share_as_a_labelled_line() -> None:
    spec = SPECS["bars_by_level"]
    layout = figure_dict(spec)["layout"]
    overall = spec.data["overall"]
    assert layout["shapes"] == [
        {
            "type": "line",
            "xref": "x domain",
            "yref": "y",
            "x0": 0,
            "x1": 1,
            "y0": overall,
            "y1": overall,
            "line": {"color": "#E69F00", "dash": "dash"},
        }
    ]
    (note,) = layout["annotations"]
    assert (note["text"], note["showarrow"], note["y"]) == ("overall", False, overall)
    assert (note["xref"], note["x"], note["xanchor"], note["yanchor"]) == (
        "x domain",
        0,
        "left",
        "bottom",
    )
    assert layout["yaxis"]["title"]["text"] == spec.y_label


def test_figure_dict_has_no_line_without_an_overall_share() -> None:
    spec = SPECS["bars_by_level"]
    bare = dataclasses.replace(spec, data={**spec.data, "overall": None})
    layout = figure_dict(bare)["layout"]
    assert "shapes" not in layout
    assert "annotations" not in layout


@pytest.mark.parametrize("kind", ["heatmap", "missing_map"])
def test_figure_dict_matrices_read_top_down_and_keep_their_axis_title(kind: str) -> None:
    spec = SPECS[kind]
    yaxis = figure_dict(spec)["layout"]["yaxis"]
    assert yaxis["autorange"] == "reversed"
    assert yaxis["title"] == {"text": spec.y_label}


def test_figure_dict_merges_builder_axes_with_titles() -> None:
    spec = SPECS["histogram"]
    assert figure_dict(spec)["layout"]["yaxis"] == {
        "rangemode": "tozero",
        "title": {"text": spec.y_label},
        "automargin": True,
    }
    assert figure_dict(SPECS["missing_map"])["layout"]["yaxis"]["tickformat"] == ",d"
    assert figure_dict(SPECS["loadings"])["layout"]["yaxis"]["scaleanchor"] == "x"


def test_figure_dict_does_not_import_plotly() -> None:
    code = (
        "import sys\n"
        "from labsight.explore._plotly import figure_dict\n"
        "from labsight.explore.gallery import example_specs\n"
        "for spec in example_specs().values():\n"
        "    figure_dict(spec)\n"
        "assert not [m for m in sys.modules if m.startswith('plotly')], 'plotly imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def _page_json(html: str, name: str) -> Any:
    match = re.search(rf"var {name} = (.*);\n", html)
    assert match, f"no {name} in the page"
    return json.loads(match.group(1))


def test_report_html_from_dicts_matches_html_from_figures() -> None:
    """The fast path (Plotly JSON dicts) and the Jupyter path (themed ``go.Figure``) write the
    same plots and the same theme into the page."""
    fast = ExploreReport(example_analysis()).html()
    report = ExploreReport(example_analysis())
    assert report.figures  # built, themed, and reused by html()
    slow = report.html()
    assert _page_json(fast, "plots") == _page_json(slow, "plots")
    theme = _page_json(fast, "template")
    assert theme == _page_json(slow, "template") == json.loads(json.dumps(theme_json()))
