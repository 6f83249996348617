"""Plotly builders of the figures of single columns: histograms, bar charts of levels, box plots.

Part of :mod:`labsight.explore._plotly`, which joins their :data:`BUILDERS` with the other families'.
"""

from __future__ import annotations

from itertools import pairwise
from typing import Any

from labsight.explore._plotly_base import (
    _BLUE,
    _ORANGE,
    Builder,
    _color_of,
    _figure,
    _rgba,
    _ticks,
    _trace,
    registrar,
)
from labsight.explore.spec import FigureSpec

__all__ = ["BUILDERS"]

BUILDERS: dict[str, Builder] = {}
"""Figure kind → builder, for the kinds drawn here (joined in :data:`labsight.explore._plotly.BUILDERS`)."""
_builder = registrar(BUILDERS)


@_builder("histogram")
def _histogram(spec: FigureSpec) -> dict[str, Any]:
    d = spec.data
    edges = list(d["edges"])
    traces = [
        _trace(
            "bar",
            x=[(a + b) / 2 for a, b in pairwise(edges)],
            y=d["counts"],
            width=[b - a for a, b in pairwise(edges)],
            name="rows",
            marker={"color": _rgba(_BLUE, 0.75), "line": {"color": "white", "width": 0.5}},
            hovertemplate="%{x}: %{y} rows<extra></extra>",
        )
    ]
    if d.get("density_x"):  # the density is scaled to counts: it shares the bars' axis
        traces.append(
            _trace(
                "scatter",
                x=d["density_x"],
                y=d["density_y"],
                mode="lines",
                name="density",
                line={"color": _ORANGE, "width": 2},
            )
        )
    return _figure(traces, bargap=0, showlegend=False, yaxis={"rangemode": "tozero"})


@_builder("bar")
def _bar(spec: FigureSpec) -> dict[str, Any]:
    d = spec.data
    bar = _trace(
        "bar",
        x=[str(v) for v in d["labels"]],
        y=d["counts"],
        marker={"color": _BLUE},
        text=[str(c) for c in d["counts"]],  # plotly.js shows text as given
        textposition="auto",
    )
    return _figure([bar], xaxis=_ticks(d["labels"]))


@_builder("box")
def _box(spec: FigureSpec) -> dict[str, Any]:
    traces = []
    for i, g in enumerate(spec.data["groups"]):
        name = str(g["name"])
        traces.append(
            _trace(
                "box",
                x=[name],
                q1=[g["q1"]],
                median=[g["median"]],
                q3=[g["q3"]],
                lowerfence=[g["low"]],
                upperfence=[g["high"]],
                name=name,
                marker={"color": _color_of(i)},
                boxpoints=False,
            )
        )
        if g.get("outliers"):
            traces.append(
                _trace(
                    "scatter",
                    x=[name] * len(g["outliers"]),
                    y=g["outliers"],
                    mode="markers",
                    name=f"{name} outliers",
                    marker={"color": _color_of(i), "symbol": "circle-open", "size": 7},
                )
            )
    return _figure(traces, showlegend=False, xaxis=_ticks([g["name"] for g in spec.data["groups"]]))
