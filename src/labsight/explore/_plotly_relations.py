"""Plotly builders of relations and gaps: scatter plots, the scatter matrix, heatmaps (correlations,
associations) and the missing-value map and shares.

Part of :mod:`labsight.explore._plotly`, which joins their :data:`BUILDERS` with the other families'.
"""

from __future__ import annotations

from typing import Any

from labsight.explore._plotly_base import (
    _BLUE,
    _BLUES,
    _ORANGE,
    _RDBU,
    _VIRIDIS,
    MISSING_SCALE,
    Builder,
    _color_of,
    _figure,
    _is_categorical,
    _legend_title,
    _points,
    _scale,
    _ticks,
    _trace,
    registrar,
)
from labsight.explore.spec import FigureSpec

__all__ = ["BUILDERS"]

BUILDERS: dict[str, Builder] = {}
"""Figure kind → builder, for the kinds drawn here (joined in :data:`labsight.explore._plotly.BUILDERS`)."""
_builder = registrar(BUILDERS)
_MAX_ANNOTATED = 20  # a heatmap wider than this shows its numbers on hover only


@_builder("scatter")
def _scatter(spec: FigureSpec) -> dict[str, Any]:
    d = spec.data
    title = d.get("color_label", "")
    traces = _points(d["x"], d["y"], d.get("color"), color_title=title)
    if d.get("trend_x"):
        traces.append(
            _trace(
                "scatter",
                x=d["trend_x"],
                y=d["trend_y"],
                mode="lines",
                name="trend",
                line={"color": "#333333", "width": 2, "dash": "dash"},
            )
        )
    return _figure(traces, **_legend_title(title))


@_builder("scatter_matrix")
def _scatter_matrix(spec: FigureSpec) -> dict[str, Any]:
    d = spec.data
    columns = list(d["columns"])
    dims = [{"label": c, "values": d["values"][c]} for c in columns]
    color = d.get("color")
    marker: dict[str, Any] = {"size": 4, "color": _BLUE, "opacity": 0.7}
    if color:
        if _is_categorical(color):
            levels = list(dict.fromkeys(str(c) for c in color))
            marker["color"] = [_color_of(levels.index(str(c))) for c in color]
        else:
            marker.update(
                color=list(color),
                colorscale=_scale(_VIRIDIS),
                showscale=True,
                colorbar={"title": {"text": d.get("color_label") or "colour"}},
            )
    splom = _trace(
        "splom", dimensions=dims, marker=marker, diagonal={"visible": False}, showupperhalf=False
    )
    side = max(420, 160 * len(columns))
    return _figure([splom], height=side, dragmode="select", hovermode="closest")


def _heat(spec: FigureSpec, *, colorscale: Any, text: bool) -> dict[str, Any]:
    d = spec.data
    trace = _trace(
        "heatmap",
        x=[str(v) for v in d["x"]],
        y=[str(v) for v in d["y"]],
        z=d["z"],
        colorscale=colorscale,
        colorbar={"title": {"text": d.get("color_label") or "value"}},
    )
    if "zmin" in d:
        trace.update(zmin=d["zmin"], zmax=d["zmax"])
    if text and d.get("text") and max(len(d["x"]), len(d["y"])) <= _MAX_ANNOTATED:
        trace.update(text=d["text"], texttemplate="%{text}", textfont={"size": 10})
    return _figure([trace], xaxis=_ticks(d["x"]), yaxis={"autorange": "reversed", **_ticks(d["y"])})


@_builder("heatmap")
def _heatmap(spec: FigureSpec) -> dict[str, Any]:
    # Cramér's V and η run from 0 to 1: on red-to-blue, 0 would read as a strong negative.
    one_sided = (spec.data.get("zmin") or 0) >= 0
    fig = _heat(spec, colorscale=_scale(_BLUES if one_sided else _RDBU), text=True)
    n = max(len(spec.data["x"]), len(spec.data["y"]))
    fig["layout"]["height"] = max(420, min(1200, 60 + 28 * n))
    return fig


@_builder("missing_map")
def _missing_map(spec: FigureSpec) -> dict[str, Any]:
    d = spec.data
    heat = _trace(
        "heatmap",
        x=[str(c) for c in d["columns"]],
        y=list(d["rows"]),
        z=d["z"],
        zmin=0,
        zmax=1,
        # A cell is a bin of rows: its shade is the share missing, so a bin a tenth empty shows.
        colorscale=_scale(MISSING_SCALE),
        colorbar={"title": {"text": "share missing"}, "tickformat": ".0%"},
        hovertemplate="%{x}, rows from %{y}: %{z:.0%} missing<extra></extra>",
    )
    return _figure(
        [heat], xaxis=_ticks(d["columns"]), yaxis={"autorange": "reversed", "tickformat": ",d"}
    )


def _hline(y: float, label: str, line: dict[str, Any]) -> dict[str, Any]:
    """Layout for a horizontal line across the plot at ``y``, labelled at its top left (what
    Plotly's ``add_hline(annotation_position="top left")`` writes)."""
    span = {"xref": "x domain", "yref": "y"}  # x across the plot area, y in data units
    shape = {"type": "line", **span, "x0": 0, "x1": 1, "y0": y, "y1": y, "line": line}
    note = {
        "text": label,
        "showarrow": False,
        **span,
        "x": 0,
        "xanchor": "left",
        "y": y,
        "yanchor": "bottom",
    }
    return {"shapes": [shape], "annotations": [note]}


@_builder("bars_by_level")
def _bars_by_level(spec: FigureSpec) -> dict[str, Any]:
    d = spec.data
    bar = _trace(
        "bar",
        x=[str(v) for v in d["levels"]],
        y=d["share"],
        marker={"color": _BLUE},
        hovertemplate="%{x}: %{y:.0%} missing<extra></extra>",
    )
    axis = {"xaxis": _ticks(d["levels"]), "yaxis": {"tickformat": ".0%", "rangemode": "tozero"}}
    overall = d.get("overall")
    if overall is None:
        return _figure([bar], **axis)
    line = _hline(overall, "overall", {"color": _ORANGE, "dash": "dash"})
    return _figure([bar], **axis, **line)
