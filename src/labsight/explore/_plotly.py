"""Draw a :class:`~labsight.explore.spec.FigureSpec` with Plotly (the HTML report and Jupyter).

One builder per figure kind, found by name in :data:`BUILDERS`; each reads only the spec's bounded
``data``, so a figure's size never depends on the table's row count. Builders return plain Plotly
JSON dicts (``{"data": [...], "layout": {...}}``), not ``go.Figure`` objects, for speed: Plotly's
object construction and validation cost ~10 ms a figure, a dict ~0.2 ms, and the HTML report sends
the dict to plotly.js as it is (:func:`figure_dict`). :func:`to_plotly` wraps the same dict
in a ``go.Figure`` for Jupyter. Axis titles come from the spec's ``x_label`` / ``y_label`` (which
carry units); the caption and the sampling note are written by the HTML report beside the figure,
not inside it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from itertools import pairwise
from typing import TYPE_CHECKING, Any

from labsight.explore.spec import FigureSpec, band_limits, level_order

if TYPE_CHECKING:
    import plotly.graph_objects as go

__all__ = ["BUILDERS", "figure_dict", "to_plotly"]

Builder = Callable[[FigureSpec], dict[str, Any]]
BUILDERS: dict[str, Builder] = {}
"""Figure kind → the function that draws it, as a Plotly JSON dict without the common layout."""

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
# Plotly's named colour scales as plotly.py writes them out: plotly.js's own "RdBu" differs.
_RDBU = (
    "rgb(103,0,31)",
    "rgb(178,24,43)",
    "rgb(214,96,77)",
    "rgb(244,165,130)",
    "rgb(253,219,199)",
    "rgb(247,247,247)",
    "rgb(209,229,240)",
    "rgb(146,197,222)",
    "rgb(67,147,195)",
    "rgb(33,102,172)",
    "rgb(5,48,97)",
)
# Plotly's "Blues", for measures from 0 to 1 (Cramér's V, η).
_BLUES = (
    "rgb(247,251,255)",
    "rgb(222,235,247)",
    "rgb(198,219,239)",
    "rgb(158,202,225)",
    "rgb(107,174,214)",
    "rgb(66,146,198)",
    "rgb(33,113,181)",
    "rgb(8,81,156)",
    "rgb(8,48,107)",
)
MISSING_SCALE = ("#f2f2f2", "#f6c8a6", "#eb9a5e", "#D55E00", "#8a3d00")
"""Present (light grey) to all missing (dark orange), through the shares between."""
_VIRIDIS = (
    "#440154",
    "#482878",
    "#3e4989",
    "#31688e",
    "#26828e",
    "#1f9e89",
    "#35b779",
    "#6ece58",
    "#b5de2b",
    "#fde725",
)


def _builder(kind: str) -> Callable[[Builder], Builder]:
    def register(func: Builder) -> Builder:
        BUILDERS[kind] = func
        return func

    return register


def figure_dict(spec: FigureSpec) -> dict[str, Any]:
    """The Plotly JSON of ``spec`` (``{"data": [...], "layout": {...}}``), without a theme.

    Plain dicts and lists, ready for ``json.dumps`` or ``Plotly.newPlot``; no Plotly object is
    built, so drawing a whole report's figures takes milliseconds.

    Raises
    ------
    ValueError
        When no builder draws ``spec.kind``.

    Examples
    --------
    >>> spec = FigureSpec("bar-catalyst", "bar", "columns", "catalyst", "Pd-A is most common.",
    ...                   {"labels": ["Pd-A", "Pd-B"], "counts": [4, 2]}, "catalyst", "rows")
    >>> fig = figure_dict(spec)
    >>> fig["data"][0]["type"], fig["layout"]["yaxis"]["title"]["text"], fig["layout"]["height"]
    ('bar', 'rows', 420)
    """
    try:
        build = BUILDERS[spec.kind]
    except KeyError:
        raise ValueError(
            f"no Plotly builder for figure kind {spec.kind!r}; expected one of {sorted(BUILDERS)}"
        ) from None
    fig = build(spec)
    layout: dict[str, Any] = fig["layout"]
    common: dict[str, Any] = {
        "title": {"text": _wrap(spec.title), "x": 0.0, "xanchor": "left", "font": {"size": 15}},
        "font": {"family": "system-ui, -apple-system, 'Segoe UI', sans-serif", "size": 12},
        "margin": {"l": 60, "r": 30, "t": 50, "b": 55},
        "height": layout.get("height") or 420,  # builders of big matrices ask for more
    }
    if spec.kind != "scatter_matrix":  # a splom labels its own axes, one per column
        # automargin: long tick labels (SMILES, level names) push the axis title inward
        # instead of pushing it off the figure.
        common["xaxis"] = {"title": {"text": spec.x_label}, "automargin": True}
        common["yaxis"] = {"title": {"text": spec.y_label}, "automargin": True}
    if "<br>" in common["title"]["text"]:
        common["margin"]["t"] = 70
    _merge(layout, common)
    return fig


_TITLE_WIDTH = 60  # characters of a 15 px title that fit a half-width figure


def _wrap(title: str) -> str:
    """A long title broken into lines at spaces: Plotly never wraps, it clips."""
    if len(title) <= _TITLE_WIDTH:
        return title
    lines: list[str] = []
    line = ""
    for word in title.split(" "):
        if line and len(line) + 1 + len(word) > _TITLE_WIDTH:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    lines.append(line)
    return "<br>".join(lines)


def to_plotly(spec: FigureSpec, *, themed: bool = True) -> go.Figure:
    """The Plotly figure for ``spec``: :func:`figure_dict` (which raises the same errors) as a
    validated ``go.Figure``, themed unless ``themed=False`` (for Jupyter and ``report.figures``).

    Examples
    --------
    >>> spec = FigureSpec("bar", "bar", "columns", "catalyst", "Pd-A is most common.",
    ...                   {"labels": ["Pd-A", "Pd-B"], "counts": [4, 2]}, "catalyst", "rows")
    >>> fig = to_plotly(spec)
    >>> fig.layout.xaxis.title.text, list(fig.data[0].y)
    ('catalyst', [4, 2])
    """
    import plotly.graph_objects as go

    fig = go.Figure(figure_dict(spec))
    if themed:  # ~10 ms a figure; the HTML report sends the theme once instead (THEME)
        fig.update_layout(template=THEME)
    return fig


THEME = "plotly_white"
"""The Plotly template every figure is drawn with."""


def theme_json() -> dict[str, Any]:
    """The theme as Plotly JSON, for pages that apply it once to figures drawn without it."""
    import plotly.io as pio

    theme: dict[str, Any] = pio.templates[THEME].to_plotly_json()
    return theme


def _merge(base: dict[str, Any], extra: Mapping[str, Any]) -> None:
    """Update ``base`` in place with ``extra``, nested dicts merged key by key (as Plotly's
    ``update_layout`` does), so ``{"yaxis": {"title": ...}}`` keeps ``yaxis.autorange``."""
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = value


def _figure(traces: list[dict[str, Any]], **layout: Any) -> dict[str, Any]:
    """A Plotly JSON figure: ``traces`` drawn with ``layout``."""
    return {"data": traces, "layout": layout}


def _trace(kind: str, **props: Any) -> dict[str, Any]:
    """A Plotly JSON trace of type ``kind`` (``"bar"``, ``"scatter"`` …) with ``props``."""
    return {"type": kind, **props}


def _scale(colors: Sequence[str]) -> list[list[Any]]:
    """A Plotly colour scale: ``colors`` spread evenly from 0 to 1."""
    return [[i / (len(colors) - 1), c] for i, c in enumerate(colors)]


_MAX_TICK = 24  # characters of a category tick label; the full name is in the hover


def _ticks(names: Sequence[Any]) -> dict[str, Any]:
    """Axis settings that shorten long category labels (SMILES, sentences) to a readable tick;
    empty when every label is short. Long labels would otherwise squeeze the plot to nothing."""
    text = [str(v) for v in names]
    if all(len(t) <= _MAX_TICK for t in text):
        return {}
    short = [t if len(t) <= _MAX_TICK else t[: _MAX_TICK - 1] + "…" for t in text]
    return {"tickmode": "array", "tickvals": text, "ticktext": short}


def _color_of(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


def _rgba(hex_color: str, alpha: float) -> str:
    r, g, b = (int(hex_color[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def _is_categorical(values: Sequence[Any]) -> bool:
    return any(isinstance(v, str | bool) for v in values if v is not None)


def _legend_title(title: str) -> dict[str, Any]:
    """Layout naming what the colours of the points mean (nothing when there is no name)."""
    return {"legend": {"title": {"text": title}}} if title else {}


def _points(
    x: Sequence[Any],
    y: Sequence[Any],
    color: Sequence[Any] | None,
    *,
    color_title: str = "",
    size: int = 6,
) -> list[dict[str, Any]]:
    """Markers: one trace per level for a categorical colour, a colour scale for a numeric one."""
    if not color:
        return [
            _trace(
                "scatter",
                x=x,
                y=y,
                mode="markers",
                marker={"color": _BLUE, "size": size},
                name="rows",
            )
        ]
    if _is_categorical(color):
        labels = ["(missing)" if c is None else str(c) for c in color]
        traces = []
        for i, level in enumerate(sorted(set(labels), key=level_order)):
            keep = [j for j, label in enumerate(labels) if label == level]
            traces.append(
                _trace(
                    "scatter",
                    x=[x[j] for j in keep],
                    y=[y[j] for j in keep],
                    mode="markers",
                    name=level,
                    marker={"color": _color_of(i), "size": size, "opacity": 0.8},
                )
            )
        return traces
    return [
        _trace(
            "scatter",
            x=x,
            y=y,
            mode="markers",
            name="rows",
            showlegend=False,
            marker={
                "color": list(color),
                "colorscale": _scale(_VIRIDIS),
                "size": size,
                "opacity": 0.8,
                "colorbar": {"title": {"text": color_title or "colour"}},
            },
        )
    ]


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
