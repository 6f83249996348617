"""Draw a :class:`~labsight.explore.spec.FigureSpec` with Plotly (the HTML report and Jupyter).

One builder per figure kind, found by name in :data:`BUILDERS`; each reads only the spec's bounded
``data``, so a figure's size never depends on the table's row count. Axis titles come from the
spec's ``x_label`` / ``y_label`` (which carry units); the caption and the sampling note are written
by the HTML report beside the figure, not inside it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from itertools import pairwise
from typing import Any

import plotly.graph_objects as go

from labsight.explore.spec import FigureSpec

__all__ = ["BUILDERS", "to_plotly"]

Builder = Callable[[FigureSpec], go.Figure]
BUILDERS: dict[str, Builder] = {}
"""Figure kind → the function that draws it."""

# Okabe-Ito: distinguishable for colour-blind readers and in greyscale print.
PALETTE = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#D55E00",
    "#CC79A7",
    "#56B4E9",
    "#F0E442",
    "#000000",
)
_BLUE = PALETTE[0]
_MAX_ANNOTATED = 20  # a heatmap wider than this shows its numbers on hover only
_MAX_LABELLED = 15  # a loadings plot names this many columns (the longest arrows); hover names all
_ORANGE = PALETTE[1]


def _builder(kind: str) -> Callable[[Builder], Builder]:
    def register(func: Builder) -> Builder:
        BUILDERS[kind] = func
        return func

    return register


def to_plotly(spec: FigureSpec, *, themed: bool = True) -> go.Figure:
    """The Plotly figure for ``spec``.

    Raises
    ------
    ValueError
        When no builder draws ``spec.kind``.

    Examples
    --------
    >>> spec = FigureSpec("bar-catalyst", "bar", "columns", "catalyst", "Pd-A is most common.",
    ...                   {"labels": ["Pd-A", "Pd-B"], "counts": [4, 2]}, "catalyst", "rows")
    >>> fig = to_plotly(spec)
    >>> fig.layout.xaxis.title.text, list(fig.data[0].y)
    ('catalyst', [4, 2])
    """
    try:
        build = BUILDERS[spec.kind]
    except KeyError:
        raise ValueError(
            f"no Plotly builder for figure kind {spec.kind!r}; expected one of {sorted(BUILDERS)}"
        ) from None
    fig = build(spec)
    if themed:  # ~10 ms a figure; the HTML report sends the theme once instead (THEME)
        fig.update_layout(template=THEME)
    layout: dict[str, Any] = {
        "title": {"text": spec.title, "x": 0.0, "xanchor": "left", "font": {"size": 15}},
        "font": {"family": "system-ui, -apple-system, 'Segoe UI', sans-serif", "size": 12},
        "margin": {"l": 60, "r": 30, "t": 50, "b": 55},
        "height": fig.layout.height or 420,  # builders of big matrices ask for more
    }
    if spec.kind != "scatter_matrix":  # a splom labels its own axes, one per column
        layout["xaxis"] = {"title": {"text": spec.x_label}}
        layout["yaxis"] = {"title": {"text": spec.y_label}}
    fig.update_layout(layout)  # one call with nested dicts: no magic-underscore path parsing
    return fig


THEME = "plotly_white"
"""The Plotly template every figure is drawn with."""


def theme_json() -> dict[str, Any]:
    """The theme as Plotly JSON, for pages that apply it once to figures built ``themed=False``."""
    import plotly.io as pio

    theme: dict[str, Any] = pio.templates[THEME].to_plotly_json()
    return theme


def _color_of(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


def _rgba(hex_color: str, alpha: float) -> str:
    r, g, b = (int(hex_color[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def _is_categorical(values: Sequence[Any]) -> bool:
    return any(isinstance(v, str | bool) for v in values if v is not None)


def _points(
    x: Sequence[Any],
    y: Sequence[Any],
    color: Sequence[Any] | None,
    *,
    color_title: str = "",
    size: int = 6,
) -> list[go.Scatter]:
    """Markers: one trace per level for a categorical colour, a colour scale for a numeric one."""
    if not color:
        return [
            go.Scatter(x=x, y=y, mode="markers", marker={"color": _BLUE, "size": size}, name="rows")
        ]
    if _is_categorical(color):
        levels = list(dict.fromkeys("(missing)" if c is None else str(c) for c in color))
        traces = []
        for i, level in enumerate(levels):
            keep = [
                j for j, c in enumerate(color) if ("(missing)" if c is None else str(c)) == level
            ]
            traces.append(
                go.Scatter(
                    x=[x[j] for j in keep],
                    y=[y[j] for j in keep],
                    mode="markers",
                    name=level,
                    marker={"color": _color_of(i), "size": size, "opacity": 0.8},
                )
            )
        return traces
    return [
        go.Scatter(
            x=x,
            y=y,
            mode="markers",
            name="rows",
            showlegend=False,
            marker={
                "color": list(color),
                "colorscale": "Viridis",
                "size": size,
                "opacity": 0.8,
                "colorbar": {"title": {"text": color_title}},
            },
        )
    ]


@_builder("histogram")
def _histogram(spec: FigureSpec) -> go.Figure:
    d = spec.data
    edges = list(d["edges"])
    centers = [(a + b) / 2 for a, b in pairwise(edges)]
    widths = [b - a for a, b in pairwise(edges)]
    fig = go.Figure(
        go.Bar(
            x=centers,
            y=d["counts"],
            width=widths,
            name="rows",
            marker={"color": _rgba(_BLUE, 0.75), "line": {"color": "white", "width": 0.5}},
            hovertemplate="%{x}: %{y} rows<extra></extra>",
        )
    )
    if d.get("density_x"):  # the density is scaled to counts: it shares the bars' axis
        fig.add_trace(
            go.Scatter(
                x=d["density_x"],
                y=d["density_y"],
                mode="lines",
                name="density",
                line={"color": _ORANGE, "width": 2},
            )
        )
    fig.update_layout(bargap=0, showlegend=False, yaxis={"rangemode": "tozero"})
    return fig


@_builder("bar")
def _bar(spec: FigureSpec) -> go.Figure:
    d = spec.data
    return go.Figure(
        go.Bar(
            x=[str(v) for v in d["labels"]],
            y=d["counts"],
            marker={"color": _BLUE},
            text=d["counts"],
            textposition="auto",
        )
    )


@_builder("box")
def _box(spec: FigureSpec) -> go.Figure:
    fig = go.Figure()
    for i, g in enumerate(spec.data["groups"]):
        name = str(g["name"])
        fig.add_trace(
            go.Box(
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
            fig.add_trace(
                go.Scatter(
                    x=[name] * len(g["outliers"]),
                    y=g["outliers"],
                    mode="markers",
                    name=f"{name} outliers",
                    marker={"color": _color_of(i), "symbol": "circle-open", "size": 7},
                )
            )
    fig.update_layout(showlegend=False)
    return fig


@_builder("scatter")
def _scatter(spec: FigureSpec) -> go.Figure:
    d = spec.data
    fig = go.Figure(_points(d["x"], d["y"], d.get("color"), color_title=d.get("color_label", "")))
    if d.get("trend_x"):
        fig.add_trace(
            go.Scatter(
                x=d["trend_x"],
                y=d["trend_y"],
                mode="lines",
                name="trend",
                line={"color": "#333333", "width": 2, "dash": "dash"},
            )
        )
    return fig


@_builder("scatter_matrix")
def _scatter_matrix(spec: FigureSpec) -> go.Figure:
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
            marker.update(color=list(color), colorscale="Viridis", showscale=True)
    fig = go.Figure(
        go.Splom(dimensions=dims, marker=marker, diagonal={"visible": False}, showupperhalf=False)
    )
    side = max(420, 160 * len(columns))
    fig.update_layout(height=side, dragmode="select", hovermode="closest")
    return fig


def _heat(spec: FigureSpec, *, colorscale: Any, text: bool) -> go.Figure:
    d = spec.data
    trace: dict[str, Any] = {
        "x": [str(v) for v in d["x"]],
        "y": [str(v) for v in d["y"]],
        "z": d["z"],
        "colorscale": colorscale,
    }
    if "zmin" in d:
        trace.update(zmin=d["zmin"], zmax=d["zmax"])
    if text and d.get("text") and max(len(d["x"]), len(d["y"])) <= _MAX_ANNOTATED:
        trace.update(text=d["text"], texttemplate="%{text}", textfont={"size": 10})
    fig = go.Figure(go.Heatmap(**trace))
    fig.update_yaxes(autorange="reversed")
    return fig


@_builder("heatmap")
def _heatmap(spec: FigureSpec) -> go.Figure:
    fig = _heat(spec, colorscale="RdBu", text=True)
    n = max(len(spec.data["x"]), len(spec.data["y"]))
    fig.update_layout(height=max(420, min(1200, 60 + 28 * n)))
    return fig


@_builder("missing_map")
def _missing_map(spec: FigureSpec) -> go.Figure:
    d = spec.data
    fig = go.Figure(
        go.Heatmap(
            x=[str(c) for c in d["columns"]],
            y=list(d["rows"]),
            z=d["z"],
            zmin=0,
            zmax=1,
            # Two flat colours: a cell is present or missing, nothing in between.
            colorscale=[[0.0, "#f2f2f2"], [0.5, "#f2f2f2"], [0.5, "#D55E00"], [1.0, "#D55E00"]],
            colorbar={"tickvals": [0, 1], "ticktext": ["present", "missing"]},
            hovertemplate="%{x}, row %{y}: %{z}<extra></extra>",
        )
    )
    fig.update_yaxes(autorange="reversed", tickformat=",d")
    return fig


@_builder("bars_by_level")
def _bars_by_level(spec: FigureSpec) -> go.Figure:
    d = spec.data
    fig = go.Figure(go.Bar(x=[str(v) for v in d["levels"]], y=d["share"], marker={"color": _BLUE}))
    overall = d.get("overall")
    if overall is not None:
        fig.add_hline(
            y=overall,
            line={"color": _ORANGE, "dash": "dash"},
            annotation_text="overall",
            annotation_position="top left",
        )
    return fig


@_builder("pca_variance")
def _pca_variance(spec: FigureSpec) -> go.Figure:
    d = spec.data
    labels = [str(c) for c in d["components"]]
    fig = go.Figure(go.Bar(x=labels, y=d["explained"], name="explained", marker={"color": _BLUE}))
    fig.add_trace(
        go.Scatter(
            x=labels,
            y=d["cumulative"],
            mode="lines+markers",
            name="cumulative",
            line={"color": _ORANGE},
        )
    )
    fig.update_layout(legend={"orientation": "h", "y": 1.08, "x": 1, "xanchor": "right"})
    return fig


@_builder("embedding")
def _embedding(spec: FigureSpec) -> go.Figure:
    d = spec.data
    color = d.get("color") or d.get("cluster")
    if d.get("cluster") and not d.get("color"):
        color = [f"cluster {c}" for c in d["cluster"]]
    return go.Figure(_points(d["x"], d["y"], color))


@_builder("loadings")
def _loadings(spec: FigureSpec) -> go.Figure:
    d = spec.data
    xs: list[float | None] = []
    ys: list[float | None] = []
    for a, b in zip(d["pc1"], d["pc2"], strict=True):
        xs += [0.0, a, None]
        ys += [0.0, b, None]
    fig = go.Figure(
        go.Scatter(
            x=xs, y=ys, mode="lines", line={"color": "#999999", "width": 1}, hoverinfo="skip"
        )
    )
    names = [str(c) for c in d["columns"]]
    length = [math.hypot(a, b) for a, b in zip(d["pc1"], d["pc2"], strict=True)]
    shown = set(sorted(range(len(names)), key=lambda i: -length[i])[:_MAX_LABELLED])
    fig.add_trace(
        go.Scatter(
            x=d["pc1"],
            y=d["pc2"],
            mode="markers+text",
            text=[n if i in shown else "" for i, n in enumerate(names)],
            hovertext=names,
            hoverinfo="text+x+y",
            textposition="top center",
            marker={"color": _BLUE, "size": 8},
        )
    )
    fig.update_layout(showlegend=False)
    fig.update_yaxes(scaleanchor="x", scaleratio=1)
    return fig


def _band(
    x: Sequence[Any], low: Sequence[Any], high: Sequence[Any], color: str, name: str
) -> list[go.Scatter]:
    """A shaded band between ``low`` and ``high`` (two traces, the second filling to the first)."""
    return [
        go.Scatter(
            x=x, y=high, mode="lines", line={"width": 0}, showlegend=False, hoverinfo="skip"
        ),
        go.Scatter(
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


@_builder("spectra")
def _spectra(spec: FigureSpec) -> go.Figure:
    d = spec.data
    axis = list(d["axis"])
    fig = go.Figure()
    for i, band in enumerate(d.get("bands") or []):
        color = _color_of(i)
        mean = list(band["mean"])
        sd = list(band["sd"])
        low = [m - s for m, s in zip(mean, sd, strict=True)]
        high = [m + s for m, s in zip(mean, sd, strict=True)]
        fig.add_traces(_band(axis, low, high, color, f"{band['name']} ± sd"))
        fig.add_trace(
            go.Scatter(
                x=axis, y=mean, mode="lines", name=f"{band['name']} mean", line={"color": color}
            )
        )
    for i, line in enumerate(d.get("lines") or []):
        # Individual spectra are context in grey; the legend names them once, hover names each.
        fig.add_trace(
            go.Scatter(
                x=axis,
                y=line["y"],
                mode="lines",
                name=str(line["name"]),
                legendgroup="spectra",
                showlegend=i == 0,
                legendgrouptitle={"text": "individual spectra"} if i == 0 else None,
                line={"color": "#8a8f94", "width": 1},
                opacity=0.5,
            )
        )
    return fig


@_builder("timeseries")
def _timeseries(spec: FigureSpec) -> go.Figure:
    d = spec.data
    t = list(d["t"])
    fig = go.Figure()
    for i, series in enumerate(d["series"]):
        color = _color_of(i)
        if series.get("low") is not None and series.get("high") is not None:
            fig.add_traces(
                _band(t, series["low"], series["high"], color, f"{series['name']} range")
            )
        fig.add_trace(
            go.Scatter(
                x=t, y=series["mean"], mode="lines", name=str(series["name"]), line={"color": color}
            )
        )
    return fig
