"""Draw a :class:`~labsight.explore.spec.FigureSpec` with matplotlib, for PNG files (``--png``).

Figures are built as :class:`matplotlib.figure.Figure` objects with the Agg canvas, never through
``pyplot``, so nothing touches matplotlib's global figure state and nothing needs a display. Sizes
and fonts are set for print (6.4 × 4.2 in at 200 dpi, text ≥ 9 pt) inside a local ``rc_context``.
One builder per figure kind, found by name in :data:`BUILDERS`.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Sequence
from typing import Any

import matplotlib as mpl
import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from labsight.explore.spec import FigureSpec, band_limits, level_order

__all__ = ["BUILDERS", "DPI", "SIZE", "to_matplotlib"]

SIZE = (6.4, 4.2)
DPI = 200
_MAX_LABELLED = 12
Builder = Callable[[Figure, FigureSpec], None]
BUILDERS: dict[str, Builder] = {}
"""Figure kind → the function that draws it on a fresh figure."""

# Present (light grey) to all missing (dark orange), as in the HTML report.
MISSING_SCALE = ("#f2f2f2", "#f6c8a6", "#eb9a5e", "#D55E00", "#8a3d00")
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")
_RC = {
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "legend.fontsize": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "font.family": "DejaVu Sans",
}


def _builder(kind: str) -> Callable[[Builder], Builder]:
    def register(func: Builder) -> Builder:
        BUILDERS[kind] = func
        return func

    return register


def to_matplotlib(spec: FigureSpec) -> Figure:
    """The matplotlib figure for ``spec``, ready for ``fig.savefig(path, dpi=DPI)``.

    Raises
    ------
    ValueError
        When no builder draws ``spec.kind``.

    Examples
    --------
    >>> spec = FigureSpec("bar-catalyst", "bar", "columns", "catalyst", "Pd-A is most common.",
    ...                   {"labels": ["Pd-A", "Pd-B"], "counts": [4, 2]}, "catalyst", "rows")
    >>> fig = to_matplotlib(spec)
    >>> fig.axes[0].get_xlabel(), fig.get_size_inches().tolist()
    ('catalyst', [6.4, 4.2])
    """
    try:
        build = BUILDERS[spec.kind]
    except KeyError:
        raise ValueError(
            f"no matplotlib builder for figure kind {spec.kind!r}; expected one of "
            f"{sorted(BUILDERS)}"
        ) from None
    with mpl.rc_context(_RC):
        fig = Figure(figsize=SIZE, dpi=DPI, layout="constrained")
        FigureCanvasAgg(fig)
        build(fig, spec)
        fig.suptitle(_wrap(spec.title, 70), fontsize=11, x=0.01, ha="left")
    return fig


def _wrap(text: str, width: int) -> str:
    return "\n".join(textwrap.wrap(text, width)) if text else ""


def _labels(ax: Axes, spec: FigureSpec) -> None:
    ax.set_xlabel(_wrap(spec.x_label, 60))
    ax.set_ylabel(_wrap(spec.y_label, 40))


def _color(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


def _short(labels: Sequence[Any], width: int = 18) -> list[str]:
    out = []
    for v in labels:
        s = str(v)
        out.append(s if len(s) <= width else s[: width - 1] + "…")
    return out


def _category_ticks(ax: Axes, labels: list[str]) -> None:
    """Level names under the bars: slanted (and right-aligned to their bar) when there are many."""
    slanted = len(labels) > 5
    ax.set_xticks(
        range(len(labels)),
        labels,
        rotation=30 if slanted else 0,
        ha="right" if slanted else "center",
    )


def _is_categorical(values: Sequence[Any]) -> bool:
    return any(isinstance(v, str | bool) for v in values if v is not None)


def _points(
    fig: Figure,
    ax: Axes,
    x: Sequence[Any],
    y: Sequence[Any],
    color: Sequence[Any] | None,
    color_label: str = "",
) -> None:
    if not color:
        ax.scatter(x, y, s=10, color=PALETTE[0], alpha=0.7, linewidths=0)
        return
    if _is_categorical(color):
        names = ["(missing)" if c is None else str(c) for c in color]
        levels = sorted(set(names), key=level_order)
        xs, ys = np.asarray(x, dtype=object), np.asarray(y, dtype=object)
        for i, level in enumerate(levels[: len(PALETTE)]):
            keep = np.array([n == level for n in names])
            ax.scatter(
                xs[keep], ys[keep], s=10, color=_color(i), alpha=0.8, linewidths=0, label=level
            )
        ax.legend(frameon=False, markerscale=1.5, title=_wrap(color_label, 30) or None)
        return
    values = np.asarray([np.nan if c is None else c for c in color], dtype=float)
    sc = ax.scatter(x, y, s=10, c=values, cmap="viridis", alpha=0.8, linewidths=0)
    fig.colorbar(sc, ax=ax, label=_wrap(color_label or "colour", 30))


@_builder("histogram")
def _histogram(fig: Figure, spec: FigureSpec) -> None:
    d = spec.data
    ax = fig.add_subplot()
    edges = np.asarray(d["edges"], dtype=float)
    ax.stairs(d["counts"], edges, fill=True, color=PALETTE[0], alpha=0.75)
    _labels(ax, spec)
    if d.get("density_x"):  # the density is scaled to counts: it shares the bars' axis
        ax.plot(d["density_x"], d["density_y"], color=PALETTE[1], lw=1.8)
    ax.set_ylim(bottom=0)


@_builder("bar")
def _bar(fig: Figure, spec: FigureSpec) -> None:
    d = spec.data
    ax = fig.add_subplot()
    labels = _short(d["labels"])
    ax.bar(range(len(labels)), d["counts"], color=PALETTE[0])
    _category_ticks(ax, labels)
    _labels(ax, spec)


@_builder("box")
def _box(fig: Figure, spec: FigureSpec) -> None:
    groups = spec.data["groups"]
    ax = fig.add_subplot()
    stats = [
        {
            "label": str(g["name"]),
            "q1": g["q1"],
            "med": g["median"],
            "q3": g["q3"],
            "whislo": g["low"],
            "whishi": g["high"],
            "fliers": list(g.get("outliers") or []),
        }
        for g in groups
    ]
    ax.bxp(stats, showfliers=True, patch_artist=True)
    for i, patch in enumerate(ax.patches):
        patch.set_facecolor(_color(i))
        patch.set_alpha(0.5)
    ax.set_xticks(
        range(1, len(groups) + 1),
        _short([g["name"] for g in groups]),
        rotation=30 if len(groups) > 5 else 0,
    )
    _labels(ax, spec)


@_builder("scatter")
def _scatter(fig: Figure, spec: FigureSpec) -> None:
    d = spec.data
    ax = fig.add_subplot()
    _points(fig, ax, d["x"], d["y"], d.get("color"), d.get("color_label", ""))
    if d.get("trend_x"):
        ax.plot(d["trend_x"], d["trend_y"], color="#333333", lw=1.5, ls="--")
    _labels(ax, spec)


@_builder("embedding")
def _embedding(fig: Figure, spec: FigureSpec) -> None:
    d = spec.data
    color = d.get("color")
    if not color and d.get("cluster"):
        color = [f"cluster {c}" for c in d["cluster"]]
    ax = fig.add_subplot()
    _points(fig, ax, d["x"], d["y"], color, d.get("color_label", ""))
    _labels(ax, spec)


@_builder("scatter_matrix")
def _scatter_matrix(fig: Figure, spec: FigureSpec) -> None:
    d = spec.data
    columns = list(d["columns"])
    n = len(columns)
    fig.set_size_inches(max(SIZE[0], 1.6 * n), max(SIZE[0], 1.6 * n))
    color = d.get("color")
    colors: Any = PALETTE[0]
    if color:
        if _is_categorical(color):
            levels = list(dict.fromkeys(str(c) for c in color))
            colors = [_color(levels.index(str(c))) for c in color]
        else:
            colors = np.asarray([np.nan if c is None else c for c in color], dtype=float)
    axes = fig.subplots(n, n, squeeze=False)
    for i, row in enumerate(columns):
        for j, col in enumerate(columns):
            ax = axes[i][j]
            x = np.asarray(d["values"][col], dtype=float)
            if i == j:
                # The histogram gets its own hidden count axis, so this row's y ticks stay in
                # the column's unit like the rest of the row.
                finite = x[np.isfinite(x)]
                if finite.size:
                    ax.set_ylim(float(finite.min()), float(finite.max()))
                    counts = ax.twinx()
                    counts.hist(finite, bins=20, color=PALETTE[0], alpha=0.5)
                    counts.set_yticks([])
                    counts.grid(False)
            else:
                y = np.asarray(d["values"][row], dtype=float)
                ax.scatter(x, y, s=3, c=colors, alpha=0.6, linewidths=0)
            ax.tick_params(labelsize=9)
            ax.set_xlabel(_wrap(col, 20) if i == n - 1 else "")
            ax.set_ylabel(_wrap(row, 20) if j == 0 else "")
            if i != n - 1:
                ax.set_xticklabels([])
            if j != 0:
                ax.set_yticklabels([])


def _heat(
    fig: Figure, spec: FigureSpec, x: list[str], y: list[Any], z: Any, label: str, **kw: Any
) -> Axes:
    ax = fig.add_subplot()
    ax.grid(False)
    image = ax.imshow(np.asarray(z, dtype=float), aspect="auto", interpolation="nearest", **kw)
    ax.set_xticks(
        range(len(x)),
        _short(x, 22),
        rotation=45 if len(x) > 3 else 0,
        ha="right" if len(x) > 3 else "center",
    )
    if len(y) <= 40:
        ax.set_yticks(range(len(y)), _short([str(v) for v in y], 22))
    fig.colorbar(image, ax=ax, label=label)
    _labels(ax, spec)
    return ax


@_builder("heatmap")
def _heatmap(fig: Figure, spec: FigureSpec) -> None:
    d = spec.data
    x, y, z = [str(v) for v in d["x"]], list(d["y"]), d["z"]
    n = max(len(x), len(y))
    if n > 8:
        side = min(14.0, 3.0 + 0.45 * n)
        fig.set_size_inches(side, side * 0.85)
    # Cramér's V and η run from 0 to 1: on red-to-blue, 0 would read as a strong negative.
    cmap = "Blues" if (d.get("zmin") or 0) >= 0 else "RdBu"
    label = d.get("color_label") or "value"
    ax = _heat(fig, spec, x, y, z, label, cmap=cmap, vmin=d.get("zmin"), vmax=d.get("zmax"))
    text = d.get("text")
    if text and n <= 20:
        image = ax.images[0]
        rgba = image.cmap(image.norm(np.asarray(z, dtype=float)))
        for i, row in enumerate(text):
            for j, label in enumerate(row):
                # White on dark cells, black on light ones (relative luminance of the cell).
                r, g, b = rgba[i][j][:3]
                dark = 0.2126 * r + 0.7152 * g + 0.0722 * b < 0.45
                ax.text(
                    j,
                    i,
                    str(label),
                    ha="center",
                    va="center",
                    fontsize=9,
                    color="white" if dark else "black",
                )


@_builder("missing_map")
def _missing_map(fig: Figure, spec: FigureSpec) -> None:
    from matplotlib.colors import LinearSegmentedColormap

    d = spec.data
    # A cell is a bin of rows: its shade is the share missing, so a bin a tenth empty shows.
    _heat(
        fig,
        spec,
        [str(c) for c in d["columns"]],
        list(d["rows"]),
        d["z"],
        "share missing",
        cmap=LinearSegmentedColormap.from_list("missing", MISSING_SCALE),
        vmin=0,
        vmax=1,
    )


@_builder("bars_by_level")
def _bars_by_level(fig: Figure, spec: FigureSpec) -> None:
    d = spec.data
    ax = fig.add_subplot()
    labels = _short(d["levels"])
    ax.bar(range(len(labels)), d["share"], color=PALETTE[0])
    _category_ticks(ax, labels)
    if d.get("overall") is not None:
        ax.axhline(d["overall"], color=PALETTE[1], ls="--", label="overall")
        ax.legend(frameon=False)
    _labels(ax, spec)


@_builder("pca_variance")
def _pca_variance(fig: Figure, spec: FigureSpec) -> None:
    d = spec.data
    ax = fig.add_subplot()
    labels = [str(c) for c in d["components"]]
    ax.bar(range(len(labels)), d["explained"], color=PALETTE[0], label="explained")
    ax.plot(range(len(labels)), d["cumulative"], color=PALETTE[1], marker="o", label="cumulative")
    ax.set_xticks(range(len(labels)), labels)
    ax.legend(frameon=False)
    _labels(ax, spec)


@_builder("loadings")
def _loadings(fig: Figure, spec: FigureSpec) -> None:
    d = spec.data
    ax = fig.add_subplot()
    if "labelled" in d:  # chosen by the analysis so that no two names overprint
        shown = set(d["labelled"])
    else:
        length = [float(np.hypot(a, b)) for a, b in zip(d["pc1"], d["pc2"], strict=True)]
        shown = set(sorted(range(len(length)), key=lambda i: -length[i])[:_MAX_LABELLED])
    for i, (name, a, b) in enumerate(zip(d["columns"], d["pc1"], d["pc2"], strict=True)):
        ax.plot([0, a], [0, b], color="#999999", lw=0.8)
        if i in shown:  # each name beyond its tip, away from the origin
            ax.annotate(
                _short([name], 16)[0],
                (a, b),
                fontsize=9,
                ha="left" if a > 0 else "right" if a < 0 else "center",
                va="bottom" if b >= 0 else "top",
            )
    ax.scatter(d["pc1"], d["pc2"], s=18, color=PALETTE[0], zorder=3)
    ax.axhline(0, color="#cccccc", lw=0.8)
    ax.axvline(0, color="#cccccc", lw=0.8)
    ax.set_aspect("equal", adjustable="datalim")
    _labels(ax, spec)


@_builder("spectra")
def _spectra(fig: Figure, spec: FigureSpec) -> None:
    d = spec.data
    ax = fig.add_subplot()
    axis = np.asarray(d["axis"], dtype=float)
    for line in d.get("lines") or []:  # context under the class bands, not over them
        ax.plot(axis, line["y"], color="#b8bcc0", lw=0.6, alpha=0.45)
    # A band without a line of its own (a range) goes under the others, not over them.
    bands = sorted(enumerate(d.get("bands") or []), key=lambda ib: ib[1].get("line", True))
    for i, band in bands:
        if "sd" in band or "low" in band:
            low, high = (np.asarray(v, dtype=float) for v in band_limits(band))
            spread = band.get("spread", "± sd")
            label = f"{band['name']} {spread}".strip()
            ax.fill_between(axis, low, high, color=_color(i), alpha=0.25, lw=0, label=label)
        if band.get("line", True):
            mean = np.asarray(band["mean"], dtype=float)
            label = f"{band['name']} {band.get('centre', 'mean')}".strip()
            ax.plot(axis, mean, color=_color(i), lw=1.6, label=label)
    if d.get("bands"):
        ax.legend(frameon=False)
    _labels(ax, spec)


@_builder("images")
def _images(fig: Figure, spec: FigureSpec) -> None:
    d = spec.data
    ax = fig.add_subplot()
    ax.imshow(np.asarray(d["grid"], dtype=float), cmap="gray", vmin=0, vmax=255)
    step = int(d["tile"]) + int(d["gap"])
    ax.set_yticks([r * step + int(d["tile"]) / 2 for r in range(len(d["labels"]))])
    ax.set_yticklabels([str(label) for label in d["labels"]])
    ax.set_xticks([])
    ax.grid(False)
    for side in ("top", "right", "bottom", "left"):
        ax.spines[side].set_visible(False)


@_builder("timeseries")
def _timeseries(fig: Figure, spec: FigureSpec) -> None:
    d = spec.data
    ax = fig.add_subplot()
    t = _time_axis(d["t"])
    for i, series in enumerate(d["series"]):
        if series.get("low") is not None and series.get("high") is not None:
            low = np.asarray(series["low"], dtype=float)
            high = np.asarray(series["high"], dtype=float)
            ax.fill_between(t, low, high, color=_color(i), alpha=0.2, lw=0)
        ax.plot(t, series["mean"], color=_color(i), lw=1.5, label=str(series["name"]))
    if len(d["series"]) > 1:
        ax.legend(frameon=False)
    if np.issubdtype(t.dtype, np.datetime64):
        fig.autofmt_xdate()
    _labels(ax, spec)


def _time_axis(values: Sequence[Any]) -> Any:
    """Numbers stay numbers; ISO timestamps become ``datetime64`` so the axis shows dates."""
    if values and isinstance(values[0], str):
        return np.asarray(values, dtype="datetime64[ns]")
    return np.asarray(values)
