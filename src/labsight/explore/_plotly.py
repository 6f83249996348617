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

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from labsight.explore import _plotly_columns, _plotly_relations, _plotly_structure
from labsight.explore._plotly_base import MISSING_SCALE as MISSING_SCALE
from labsight.explore._plotly_base import PALETTE as PALETTE
from labsight.explore._plotly_base import Builder
from labsight.explore.spec import FigureSpec

if TYPE_CHECKING:
    import plotly.graph_objects as go

__all__ = ["BUILDERS", "figure_dict", "to_plotly"]

BUILDERS: dict[str, Builder] = {
    **_plotly_columns.BUILDERS,
    **_plotly_relations.BUILDERS,
    **_plotly_structure.BUILDERS,
}
"""Figure kind → the function that draws it, as a Plotly JSON dict without the common layout.
The builders live in one module per family of figures: ``_plotly_columns`` (one column at a
time), ``_plotly_relations`` (pairs of columns, gaps) and ``_plotly_structure`` (PCA, embeddings,
spectra, time series), on the helpers of ``_plotly_base``."""


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
