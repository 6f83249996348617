"""Plotly builders of the table's structure and shape: PCA variance and loadings, embeddings,
spectra and time series (lines with shaded bands).

Part of :mod:`labsight.explore._plotly`, which joins their :data:`BUILDERS` with the other families'.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from labsight.explore._plotly_base import (
    _BLUE,
    _ORANGE,
    Builder,
    _color_of,
    _figure,
    _legend_title,
    _points,
    _rgba,
    _trace,
    registrar,
)
from labsight.explore.spec import FigureSpec, band_limits

__all__ = ["BUILDERS"]

BUILDERS: dict[str, Builder] = {}
"""Figure kind → builder, for the kinds drawn here (joined in :data:`labsight.explore._plotly.BUILDERS`)."""
_builder = registrar(BUILDERS)
_MAX_LABELLED = 15  # a loadings plot names this many columns (the longest arrows); hover names all


@_builder("pca_variance")
def _pca_variance(spec: FigureSpec) -> dict[str, Any]:
    d = spec.data
    labels = [str(c) for c in d["components"]]
    traces = [
        _trace("bar", x=labels, y=d["explained"], name="explained", marker={"color": _BLUE}),
        _trace(
            "scatter",
            x=labels,
            y=d["cumulative"],
            mode="lines+markers",
            name="cumulative",
            line={"color": _ORANGE},
        ),
    ]
    return _figure(traces, legend={"orientation": "h", "y": 1.08, "x": 1, "xanchor": "right"})


@_builder("embedding")
def _embedding(spec: FigureSpec) -> dict[str, Any]:
    d = spec.data
    color = d.get("color") or d.get("cluster")
    if d.get("cluster") and not d.get("color"):
        color = [f"cluster {c}" for c in d["cluster"]]
    title = d.get("color_label", "") if d.get("color") else "cluster"
    traces = _points(d["x"], d["y"], color, color_title=title)
    return _figure(traces, **_legend_title(title if color else ""))


@_builder("loadings")
def _loadings(spec: FigureSpec) -> dict[str, Any]:
    d = spec.data
    xs: list[float | None] = []
    ys: list[float | None] = []
    for a, b in zip(d["pc1"], d["pc2"], strict=True):
        xs += [0.0, a, None]
        ys += [0.0, b, None]
    names = [str(c) for c in d["columns"]]
    if "labelled" in d:  # chosen by the analysis so that no two names overprint
        shown = set(d["labelled"])
    else:
        length = [math.hypot(a, b) for a, b in zip(d["pc1"], d["pc2"], strict=True)]
        shown = set(sorted(range(len(names)), key=lambda i: -length[i])[:_MAX_LABELLED])
    # Each name sits beyond its arrow's tip, away from the origin.
    position = [
        ("top" if b >= 0 else "bottom") + (" right" if a > 0 else " left" if a < 0 else " center")
        for a, b in zip(d["pc1"], d["pc2"], strict=True)
    ]
    traces = [
        _trace(
            "scatter",
            x=xs,
            y=ys,
            mode="lines",
            line={"color": "#999999", "width": 1},
            hoverinfo="skip",
        ),
        _trace(
            "scatter",
            x=d["pc1"],
            y=d["pc2"],
            mode="markers+text",
            text=[n if i in shown else "" for i, n in enumerate(names)],
            hovertext=names,
            hoverinfo="text+x+y",
            textposition=position,
            cliponaxis=False,
            marker={"color": _BLUE, "size": 8},
        ),
    ]
    return _figure(traces, showlegend=False, yaxis={"scaleanchor": "x", "scaleratio": 1})


def _band(
    x: Sequence[Any], low: Sequence[Any], high: Sequence[Any], color: str, name: str
) -> list[dict[str, Any]]:
    """A shaded band between ``low`` and ``high`` (two traces, the second filling to the first)."""
    return [
        _trace(
            "scatter",
            x=x,
            y=high,
            mode="lines",
            line={"width": 0},
            showlegend=False,
            hoverinfo="skip",
        ),
        _trace(
            "scatter",
            x=x,
            y=low,
            mode="lines",
            line={"width": 0},
            fill="tonexty",
            fillcolor=_rgba(color, 0.2),
            name=name,
            hoverinfo="skip",
        ),
    ]


def _bands_in_drawing_order(bands: list[dict[str, Any]]) -> list[tuple[int, dict[str, Any]]]:
    """Bands with their colour index, those without a line of their own first: a range drawn
    last would cover the middle half and the median inside it."""
    return sorted(enumerate(bands), key=lambda ib: ib[1].get("line", True))


@_builder("spectra")
def _spectra(spec: FigureSpec) -> dict[str, Any]:
    d = spec.data
    axis = list(d["axis"])
    traces = []
    # Individual spectra first, thin and grey: context under the class bands, not over them.
    # One legend entry stands for them all (clicking it hides them); hover names each.
    lines = d.get("lines") or []
    grey = {"color": "#b8bcc0", "width": 0.8}
    if lines:
        traces.append(
            _trace(
                "scatter",
                x=[None],
                y=[None],
                mode="lines",
                name=f"individual spectra ({len(lines)})",
                legendgroup="spectra",
                line=grey,
            )
        )
    for line in lines:
        traces.append(
            _trace(
                "scatter",
                x=axis,
                y=line["y"],
                mode="lines",
                name=str(line["name"]),
                legendgroup="spectra",
                showlegend=False,
                line=grey,
                opacity=0.45,
            )
        )
    for i, band in _bands_in_drawing_order(d.get("bands") or []):
        color = _color_of(i)
        if "sd" in band or "low" in band:
            low, high = band_limits(band)
            spread = band.get("spread", "± sd")
            traces += _band(axis, low, high, color, f"{band['name']} {spread}".strip())
        if band.get("line", True):
            traces.append(
                _trace(
                    "scatter",
                    x=axis,
                    y=list(band["mean"]),
                    mode="lines",
                    name=f"{band['name']} {band.get('centre', 'mean')}".strip(),
                    line={"color": color, "width": 2},
                )
            )
    return _figure(traces, hovermode="closest" if lines else "x unified")


@_builder("images")
def _images(spec: FigureSpec) -> dict[str, Any]:
    d = spec.data
    grid = d["grid"]
    step = int(d["tile"]) + int(d["gap"])
    centres = [r * step + int(d["tile"]) / 2 for r in range(len(d["labels"]))]
    trace = _trace(
        "heatmap",
        z=grid,
        colorscale=[[0, "#000000"], [1, "#ffffff"]],
        zmin=0,
        zmax=255,
        showscale=False,
        hoverinfo="skip",
    )
    return _figure(
        [trace],
        yaxis={
            "autorange": "reversed",
            "tickvals": centres,
            "ticktext": [str(label) for label in d["labels"]],
            "scaleanchor": "x",
            "showgrid": False,
            "zeroline": False,
        },
        xaxis={"visible": False, "showgrid": False},
        plot_bgcolor="#ffffff",
    )


@_builder("timeseries")
def _timeseries(spec: FigureSpec) -> dict[str, Any]:
    d = spec.data
    t = list(d["t"])
    traces = []
    for i, series in enumerate(d["series"]):
        color = _color_of(i)
        if series.get("low") is not None and series.get("high") is not None:
            traces += _band(t, series["low"], series["high"], color, f"{series['name']} range")
        traces.append(
            _trace(
                "scatter",
                x=t,
                y=series["mean"],
                mode="lines",
                name=str(series["name"]),
                line={"color": color},
            )
        )
    return _figure(traces)
