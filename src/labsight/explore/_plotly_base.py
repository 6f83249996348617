"""What the Plotly builders share: the colours, plain-JSON traces and figures, and markers.

Every builder of :mod:`labsight.explore._plotly` draws a figure as a Plotly JSON dict with these
helpers (no Plotly object is built); the builders themselves live in ``_plotly_columns``,
``_plotly_relations`` and ``_plotly_structure``, each with its own registry of kinds that
:data:`labsight.explore._plotly.BUILDERS` joins.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from labsight.explore.spec import FigureSpec, level_order

__all__ = ["MISSING_SCALE", "PALETTE", "Builder", "registrar"]

Builder = Callable[[FigureSpec], dict[str, Any]]

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


def registrar(builders: dict[str, Builder]) -> Callable[[str], Callable[[Builder], Builder]]:
    """A decorator factory that enters a builder into ``builders`` under its figure kind."""

    def builder(kind: str) -> Callable[[Builder], Builder]:
        def register(func: Builder) -> Builder:
            builders[kind] = func
            return func

        return register

    return builder


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
