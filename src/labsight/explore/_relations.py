"""Each feature against the target: scatter plots with a trend line, split boxes, a scatter matrix.

Correlations and trend lines use all rows; only the points drawn are a sample (at most
``max_points`` rows, fixed seed), and the figure's ``note`` says so. Features are ordered by the
strength of their link to the target (|Spearman| for numbers, η for categories), strongest first,
and the first caption names the strongest link.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import polars as pl

from labsight.data.stats import pairwise_correlation
from labsight.data.table import Table, is_number
from labsight.explore._associations import Associations, rank_columns
from labsight.explore._distributions import MISSING_LEVEL, split_box
from labsight.explore._summary import floats, label, level_text, numeric_values, slug
from labsight.explore.spec import FigureSpec

__all__ = ["MAX_RELATIONS", "Link", "Relations", "color_values", "relation_figures"]

MAX_RELATIONS = 20
"""At most this many feature-vs-target figures, the strongest links first."""
_MATRIX_FEATURES = 5


@dataclass(frozen=True)
class Link:
    """How strongly one feature goes with the target."""

    feature: str
    measure: str  # "spearman" or "eta"
    value: float
    pearson: float | None = None

    @property
    def strength(self) -> float:
        return abs(self.value) if np.isfinite(self.value) else 0.0


@dataclass
class Relations:
    """Figures of the relations section and the links they show, strongest first."""

    figures: list[FigureSpec] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)


def color_values(sample: pl.DataFrame, color: str | None) -> list[Any] | None:
    """The colour of each sampled point: numbers as floats, categories as text (missing named).

    Numbers of two values (0/1 flags, assay outcomes) are categories too: a colour scale would
    show a gradient that the column does not have.
    """
    if color is None:
        return None
    series = sample[color]
    if is_number(series.dtype):
        values = numeric_values(series)
        if np.unique(values[np.isfinite(values)]).size > 2:
            return floats(values)
        return [level_text(None if v != v else float(v)) for v in values]
    return series.cast(pl.String).fill_null(MISSING_LEVEL).to_list()


def _numeric_links(
    table: Table,
    target: str,
    features: list[str],
    assoc: Associations | None,
    fresh: Collection[str] = (),
) -> list[Link]:
    """Each feature's correlations with the target, from ``assoc`` where it has them, else (and
    for ``fresh`` columns, whose cells differ from those ``assoc`` saw) computed here."""
    links: dict[str, Link] = {}
    todo = []
    for f in features:
        known = assoc is not None and f not in fresh and target not in fresh
        s = assoc.lookup("spearman", f, target) if assoc and known else None
        p = assoc.lookup("pearson", f, target) if assoc and known else None
        if s is None and p is None:
            todo.append(f)
        else:
            links[f] = Link(f, "spearman", s if s is not None else float("nan"), p)
    if todo and table.height >= 3:
        cols = [*todo, target]
        pearson = pairwise_correlation(table.frame.select(cols))[0][-1, :-1]
        spearman = pairwise_correlation(rank_columns(table.frame, cols))[0][-1, :-1]
        for f, p, s in zip(todo, pearson, spearman, strict=True):
            links[f] = Link(f, "spearman", float(s), None if np.isnan(p) else float(p))
    return [links[f] for f in features if f in links]


def _trend(x: np.ndarray, y: np.ndarray) -> tuple[list[float | None], list[float | None]]:
    """The least-squares line over all rows where both are present, drawn across x's range."""
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() < 2:
        return [], []
    xs, ys = x[ok], y[ok]
    mx, my = xs.mean(), ys.mean()
    sxx = float(((xs - mx) ** 2).sum())
    if sxx == 0:
        return [], []
    slope = float(((xs - mx) * (ys - my)).sum()) / sxx
    ends = np.array([xs.min(), xs.max()])
    return floats(ends), floats(my + slope * (ends - mx))


def _words(link: Link, feature: str, target: str) -> str:
    s = link.value
    p = link.pearson if link.pearson is not None else float("nan")
    # Word the link by the stronger of the two measures: both are in the caption, and a reader
    # should not see "slightly" next to a Pearson of 0.43.
    strength = max(link.strength, abs(p) if np.isfinite(p) else 0.0)
    if not np.isfinite(s) or (np.isfinite(p) and abs(p) > abs(s)):
        s = p
    if strength < 0.1:
        verb = f"{target} shows no clear link to {feature}"
    elif strength < 0.3:
        verb = f"{target} {'rises' if s > 0 else 'falls'} slightly as {feature} rises"
    else:
        verb = f"{target} {'rises' if s > 0 else 'falls'} as {feature} rises"
    numbers = []
    if link.pearson is not None:
        numbers.append(f"Pearson {link.pearson:.2f}")
    if np.isfinite(link.value):
        numbers.append(f"Spearman {link.value:.2f}")
    return f"{verb} ({', '.join(numbers)})" if numbers else verb


def relation_figures(
    table: Table,
    target: str | None,
    numeric: list[str],
    categorical: list[str],
    sample: pl.DataFrame,
    *,
    color: str | None = None,
    assoc: Associations | None = None,
    note: str | None = None,
    matrix_only: frozenset[str] = frozenset(),
    target_is_category: bool = False,
    codes: Mapping[str, str] | None = None,
) -> Relations:
    """Feature-vs-target figures and a scatter matrix of the features most related to the target.

    Parameters
    ----------
    table
        The table; correlations and trend lines use all its rows.
    target
        The target column; without one there is nothing to relate and the result is empty.
    numeric, categorical
        Feature columns to relate to the target.
    sample
        The rows to draw as points (already sampled to at most ``max_points``).
    color
        A column to colour the points by, or None.
    assoc
        Correlation matrices already computed, reused where they cover a pair.
    note
        Said on every figure drawn from ``sample`` when it is a sample.
    matrix_only
        Features drawn only in the scatter matrix, never one by one (spectral channels).
    target_is_category
        True when the target holds classes (text, booleans, a few integer codes): features are
        then split by class instead of plotted against it.
    codes
        Columns whose codes for a missing value (``sentinel`` findings) are missing in ``table``,
        with those cells in words ("12 rows where T is 0"): a figure of such a column says that
        they are left out.

    Returns
    -------
    Relations
        ``scatter`` (numeric feature, numeric target), ``box`` (a category against a number) and
        one ``scatter_matrix``; the first caption starts with "strongest link to <target>: ...".
    """
    out = Relations()
    if target is None or table.height < 2:
        return out
    frame = table.frame
    t_dtype = table.schema[target]
    target_numeric = is_number(t_dtype) and not target_is_category
    if not target_numeric and not target_is_category:
        return out  # free text or a single class: nothing to split by
    numeric = [c for c in numeric if c != target]
    categorical = [c for c in categorical if c != target]
    eta_of: dict[tuple[str, str], float] = {}
    if assoc is not None and assoc.eta is not None:
        eta_of = {(r[0], r[1]): r[2] for r in assoc.eta.iter_rows()}
    links: list[Link] = []
    if target_numeric:
        links += _numeric_links(table, target, numeric, assoc, fresh=codes or {})
        links += [Link(c, "eta", eta_of.get((c, target), float("nan"))) for c in categorical]
    else:
        links += [Link(c, "eta", eta_of.get((target, c), float("nan"))) for c in numeric]
    links.sort(key=lambda link: -link.strength)
    out.links = links
    t_label = label(table, target)
    sample_color = color_values(sample, color)
    y_all = numeric_values(frame[target]) if target_numeric else None
    one_by_one = [link for link in links if link.feature not in matrix_only][:MAX_RELATIONS]
    for rank, link in enumerate(one_by_one):
        f = link.feature
        f_label = label(table, f)
        lead = ""
        if rank == 0 and link is links[0] and link.strength > 0:
            word = "Spearman" if link.measure == "spearman" else "η"
            lead = f"strongest link to {target}: {f}, {word} {link.value:.2f}; "
        left_out = "".join(
            f"; {codes[name]} (a code for a missing value, by the quality check) left out"
            for name in dict.fromkeys((f, target))
            if codes and name in codes
        )
        if target_numeric and link.measure == "spearman" and table.distinct(f) == 2:
            # A 0/1 feature splits the rows in two: the target per level, not a scatter of two
            # stripes. For two groups η is |Pearson| (point-biserial).
            r = link.pearson if link.pearson is not None else link.value
            spec = split_box(table, target, f, abs(r), section="relations")
            out.figures.append(_with_caption(spec, lead + spec.caption + left_out, f))
        elif target_numeric and link.measure == "spearman" and y_all is not None:
            trend_x, trend_y = _trend(numeric_values(frame[f]), y_all)
            out.figures.append(
                FigureSpec(
                    name=f"scatter-{slug(f)}-vs-{slug(target)}",
                    kind="scatter",
                    section="relations",
                    title=f"{t_label} vs {f_label}",
                    caption=lead + _words(link, f_label, t_label) + left_out,
                    data={
                        "x": floats(numeric_values(sample[f])),
                        "y": floats(numeric_values(sample[target])),
                        "color": sample_color,
                        "color_label": label(table, color) if color else "",
                        "trend_x": trend_x,
                        "trend_y": trend_y,
                    },
                    x_label=f_label,
                    y_label=t_label,
                    column=f,
                    note=note,
                )
            )
        elif target_numeric:
            spec = split_box(table, target, f, link.value, section="relations")
            out.figures.append(_with_caption(spec, lead + spec.caption + left_out, f))
        else:
            spec = split_box(table, f, target, link.value, section="relations")
            out.figures.append(_with_caption(spec, lead + spec.caption + left_out, f))
    matrix = [
        link.feature
        for link in links
        if link.feature in numeric
        and link.feature not in matrix_only
        and table.distinct(link.feature) > 2
    ][:_MATRIX_FEATURES]
    columns = [*matrix, target] if target_numeric else matrix
    # Two columns are one scatter plot, drawn already (and plotly.js cannot draw a splom of fewer
    # than three columns with its diagonal and upper half hidden).
    if len(columns) >= 3:
        caption = f"the {len(matrix)} numeric features most related to {target}"
        if links and links[0].strength > 0:
            best = links[0]
            word = "Spearman" if best.measure == "spearman" else "η"
            caption = (
                f"strongest link to {target}: {best.feature}, {word} {best.value:.2f}; " + caption
            )
        if len(one_by_one) < len(links):
            caption += f"; {len(one_by_one)} of {len(links)} features drawn one by one"
        out.figures.append(
            FigureSpec(
                name=f"scatter-matrix-{slug(target)}",
                kind="scatter_matrix",
                section="relations",
                title=f"Features most related to {t_label}",
                caption=caption,
                data={
                    "columns": [label(table, c) for c in columns],
                    "values": {label(table, c): floats(numeric_values(sample[c])) for c in columns},
                    "color": sample_color
                    if color is not None
                    else (None if target_numeric else color_values(sample, target)),
                    "color_label": label(table, color)
                    if color is not None
                    else ("" if target_numeric else t_label),
                },
                note=note,
            )
        )
    return out


def _with_caption(spec: FigureSpec, caption: str, column: str) -> FigureSpec:
    return replace(spec, caption=caption, column=column)
