"""The analysis behind ``labsight explore``: numbers on all rows, figures as specs, nothing drawn.

:func:`analyse` validates its arguments once, works out what each column is (numbers, categories,
spectral channels, a clock), samples the rows that figures draw as points (once, with a fixed seed)
and hands the pieces to one module per section. Renderers take the resulting :class:`Analysis`.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import polars as pl

from labsight.data.findings import SEVERITIES, Finding
from labsight.data.quality import QualityReport, check_table
from labsight.data.stats import pairwise_correlation
from labsight.data.table import Table
from labsight.exceptions import InputError
from labsight.explore._associations import Associations, analyse_associations
from labsight.explore._distributions import distribution_figures
from labsight.explore._missingness import missingness_figures
from labsight.explore._relations import Relations, relation_figures
from labsight.explore._shape import (
    MAX_SPECTRA,
    channel_link_figure,
    channel_summary_figure,
    spectra_figure,
    spectral_columns,
    time_column,
    timeseries_figures,
)
from labsight.explore._structure import structure_figures, tsne_figure, usable_features
from labsight.explore._summary import categorical_columns, numeric_columns, summarize
from labsight.explore.spec import FigureSpec, ReportTables

__all__ = ["Analysis", "analyse"]

_MAX_CONDITIONS = 20
_MAX_SPECTRA_CLASSES = 12


@dataclass
class Analysis:
    """Everything a report shows, before it is drawn.

    Attributes
    ----------
    overview
        ``rows``, ``columns`` (``name, unit, dtype, role``), ``memory_bytes``, ``findings`` (count
        per severity), ``target``, ``color``, ``sampled``, ``max_points``, ``seed``,
        ``spectral_columns`` (how many), ``channels`` (their names, in axis order), ``time`` (the
        clock column or None) and ``strongest_link`` (a sentence, or None).
    tables
        The numbers behind the figures, computed on all rows.
    figures
        Figure specs with unique, file-name-safe names, in report order.
    findings
        The quality report's findings, worst first.
    sampled
        True when some figure draws a sample of the rows rather than all of them.
    """

    overview: dict[str, Any]
    tables: ReportTables
    figures: list[FigureSpec]
    findings: list[Finding]
    sampled: bool


def _check_column(table: Table, name: str | None, what: str) -> None:
    if name is not None and name not in table.frame.columns:
        raise InputError(
            f"unknown {what} column {name!r}",
            expected=f"one of {', '.join(repr(c) for c in table.frame.columns) or 'no columns'}",
            got=repr(name),
            hint=f"Pass the name of a column of the table as {what}",
        )


def _unique_names(figures: list[FigureSpec]) -> list[FigureSpec]:
    seen: dict[str, int] = {}
    out = []
    for spec in figures:
        name = spec.name
        if name in seen:
            seen[name] += 1
            name = f"{name}-{seen[spec.name]}"
            while name in seen:
                name += "-x"
        seen.setdefault(name, 1)
        out.append(spec if name == spec.name else replace(spec, name=name))
    return out


_TILE, _GAP, _PER_ROW, _ROWS = 64, 4, 6, 8


def image_sample(table: Table, target: str | None, seed: int) -> FigureSpec | None:
    """A few images of each class (up to 8 classes of 6; 48 images when there are no classes)
    tiled into one grey picture, for a table of images; None for other tables."""
    from labsight.data.images import ImageFiles

    column = next((c.name for c in table.columns if c.dtype == "image"), None)
    if column is None or not isinstance(table.images, ImageFiles):
        return None
    keys = table.frame[column].to_list()
    names = (
        table.frame["file"].cast(pl.String).to_list()
        if "file" in table.frame.columns
        else [str(k) for k in keys]
    )
    rng = np.random.default_rng(seed)
    labelled = (
        target is not None
        and table.column(target).dtype != "image"
        and table.distinct(target) <= 50
    )
    groups: dict[str, list[int]] = {}
    values = table.frame[target].cast(pl.String).to_list() if labelled and target else None
    for i, key in enumerate(keys):
        if key is not None:
            groups.setdefault(values[i] if values else "images", []).append(i)
    shown = sorted(groups)[:_ROWS]
    per_row = _PER_ROW if values else _PER_ROW * 2
    rows = [(label, sorted(rng.permutation(groups[label])[:per_row].tolist())) for label in shown]
    if not values:
        rows = [
            (f"images {k * per_row + 1}–{k * per_row + len(chunk)}", chunk)
            for k, chunk in enumerate(
                [rows[0][1][i : i + per_row] for i in range(0, len(rows[0][1]), per_row)][:4]
            )
        ]
    step = _TILE + _GAP
    width = max(len(r) for _, r in rows) * step - _GAP
    grid = np.full((len(rows) * step - _GAP, width), 255, dtype=np.int64)
    for r, (_, members) in enumerate(rows):
        for c, i in enumerate(members):
            ref = table.images.refs([keys[i]], [names[i]])[0]
            tile = np.round(ref.pixels(_TILE, 1)[0] * 255).astype(np.int64)
            grid[r * step : r * step + _TILE, c * step : c * step + _TILE] = tile
    total = sum(len(g) for g in groups.values())
    by = f"by {target}" if values else ""
    more = (
        f"; {len(groups) - len(shown)} more classes not shown" if len(groups) > len(shown) else ""
    )
    return FigureSpec(
        name="images-sample",
        kind="images",
        section="images",
        title=f"A sample of the images {by}".strip(),
        caption=(
            f"{sum(len(m) for _, m in rows)} of {total} images, drawn at random (seed {seed}), "
            f"each resized to {_TILE} × {_TILE} and shown in grey as a model reads it{more}."
        ),
        data={
            "grid": grid.tolist(),
            "labels": [
                f"{label} ({len(groups.get(label, members))})" if values else label
                for label, members in rows
            ],
            "tile": _TILE,
            "gap": _GAP,
        },
    )


def _spectra_figures(
    table: Table,
    channels: list[str],
    summary: pl.DataFrame,
    categorical: list[str],
    distinct: dict[str, int],
    target: str | None,
    category: str | None,
    seed: int,
) -> list[FigureSpec]:
    """The spectra with a band per class, the channels as one band, and each channel's link to
    the target. Without a colour or a categorical target, the classes are those of the first
    column that splits the rows into 2–12 groups (the origin of a coffee, a sample's batch)."""
    if category is None:
        category = next(
            (c for c in categorical if 2 <= distinct.get(c, 0) <= _MAX_SPECTRA_CLASSES), None
        )
    figures = [
        spectra_figure(table, channels, category=category, seed=seed),
        channel_summary_figure(table, channels, summary),
    ]
    if target is not None and target not in channels:
        link = channel_link_figure(table, channels, target, categorical=target in categorical)
        if link is not None:
            figures.append(link)
    return figures


def _without_codes(table: Table, report: QualityReport) -> tuple[Table, dict[str, str]]:
    """The table with the cells the ``sentinel`` check reads as codes for a missing value (a 0 or
    -999 far from the column's other values) made missing, for the relations to the target: a
    trend line or a correlation through a pile of zero-coded runs describes the code, not the
    process. Also, per such column, its cells in words ("12 rows where T is 0")."""
    found = [f for f in report.findings if f.check == "sentinel" and f.column is not None]
    if not found:
        return table, {}
    coded: dict[str, str] = {}
    cleared = []
    for f in found:
        name = str(f.column)
        coded[name] = (
            f"{len(f.rows)} row{'s' if len(f.rows) != 1 else ''} where {name} is "
            + " or ".join(f"{v:g}" for v in f.details.get("values", []))
        )
        hit = np.zeros(table.height, dtype=bool)
        hit[f.rows] = True  # the cells the check found, all of them
        cleared.append(pl.when(pl.Series(hit)).then(None).otherwise(pl.col(name)).alias(name))
    frame = table.frame.with_columns(cleared)
    return Table(frame, table.columns, table.findings, table.source, table.row_lines), coded


def analyse(
    table: Table,
    report: QualityReport | None = None,
    *,
    target: str | None = None,
    color: str | None = None,
    max_points: int = 5000,
    seed: int = 0,
) -> Analysis:
    """Analyse a table for an exploratory report: statistics, relations, gaps, structure.

    Every number is computed on all rows; only figures that draw points (scatter plots, embeddings,
    spectra lines) draw a sample of at most ``max_points`` rows, chosen at random with ``seed``, and
    say so in their ``note``.

    Parameters
    ----------
    table
        The table to analyse.
    report
        Its quality report; computed with :func:`labsight.data.quality.check_table` when None
        (while the t-SNE map is drawn on another thread).
    target
        The column to relate features to; defaults to the table's target-role column.
    color
        A column to colour points by (a category, usually); the embeddings fall back to the target.
    max_points
        The most rows any figure draws as points.
    seed
        Seed of every random choice (samples, t-SNE, KMeans), so a report is reproducible.

    Returns
    -------
    Analysis
        Overview, tables, figure specs and the quality findings.

    Raises
    ------
    InputError
        When ``target`` or ``color`` names no column of the table, or ``max_points`` is below 1.

    Examples
    --------
    >>> import polars as pl
    >>> frame = pl.DataFrame({"T [degC]": [20.0, 30, 40, 50], "yield [%]": [50.0, 61, 70, 82]})
    >>> result = analyse(Table.from_frame(frame), target="yield [%]")
    >>> result.overview["rows"], result.figures[0].kind
    (4, 'histogram')
    """
    target = _resolve_target(table, target, color, max_points)
    n = table.frame.height
    cols = _classify_columns(table, target, color)
    rows, note = _sample_rows(n, max_points, seed)

    tsne = _start_tsne(table, cols, rows, seed)
    if report is None:
        report = check_table(table)

    drawn = _assemble_figures(
        table, cols, report, tsne, target=target, color=color, rows=rows, note=note, seed=seed
    )
    sampled = n > max_points or drawn.sampled
    overview = _overview(
        table,
        report,
        target=target,
        color=color,
        sampled=sampled,
        max_points=max_points,
        seed=seed,
        channels=cols.channels,
        clock=drawn.clock,
        strongest=_strongest_link(drawn.relations, target),
    )
    tables = ReportTables(
        summary=cols.summary,
        correlations=drawn.assoc.tables,
        strongest_pairs=drawn.assoc.strongest_pairs,
        missing_by_condition=drawn.by_condition,
    )
    return Analysis(
        overview=overview,
        tables=tables,
        figures=_unique_names(drawn.figures),
        findings=list(report.findings),
        sampled=sampled,
    )


def _resolve_target(
    table: Table, target: str | None, color: str | None, max_points: int
) -> str | None:
    """Check the arguments of :func:`analyse`; the target, defaulting to the target-role column."""
    _check_column(table, target, "target")
    _check_column(table, color, "color")
    if isinstance(max_points, bool) or not isinstance(max_points, int) or max_points < 1:
        raise InputError(
            "max_points must be a positive whole number",
            expected="an integer >= 1",
            got=repr(max_points),
        )
    if target is None:
        targets = table.by_role("target")
        target = targets[0] if targets else None
    return target


@dataclass(frozen=True)
class _Columns:
    """What each column is, and the summary numbers the sections share."""

    summary: pl.DataFrame
    distinct: dict[str, int]
    sds: dict[str, float | None]
    means: dict[str, float | None]
    variance: dict[str, float]
    quartiles: dict[str, tuple[float, float, float]]
    categorical: list[str]
    channels: list[str]
    channel_set: frozenset[str]
    per_column: list[str]  # numeric columns shown one by one: not a spectral channel
    numeric_features: list[str]  # numeric columns related to the target
    categorical_features: list[str]
    target_categorical: bool
    category: str | None  # the column that splits the spectra into classes
    embed_color: str | None  # the column the embeddings are coloured by
    shape_features: list[str]  # the columns of the PCA, t-SNE and correlation structure


def _classify_columns(table: Table, target: str | None, color: str | None) -> _Columns:
    """Numbers, categories, spectral channels, and the columns each section reads."""
    roles = {c.name: c.role for c in table.columns}
    summary = summarize(table)
    names = summary["name"].to_list()
    distinct = dict(zip(names, summary["distinct"].to_list(), strict=True))
    sds = dict(zip(names, summary["sd"].to_list(), strict=True))
    means = dict(zip(names, summary["mean"].to_list(), strict=True))
    variance = {name: sd * sd if sd is not None else 0.0 for name, sd in sds.items()}
    quartiles = {
        name: (q1, med, q3)
        for name, q1, med, q3 in summary.select("name", "q1", "median", "q3").iter_rows()
        if q1 is not None and med is not None and q3 is not None
    }
    categorical = categorical_columns(table, distinct)
    numeric = [c for c in numeric_columns(table) if c not in categorical]
    channels = spectral_columns(table)
    # A spectrum is one thing: its channels go into the spectra views and the PCA, never one by
    # one (blocks, histograms) nor pair by pair (adjacent channels correlate by construction).
    channel_set = frozenset(channels)
    numeric_features = [c for c in numeric if c != target and roles[c] != "condition"]
    target_categorical = target in categorical
    category = color if color is not None and color in categorical else None
    if category is None and target_categorical:
        category = target
    return _Columns(
        summary=summary,
        distinct=distinct,
        sds=sds,
        means=means,
        variance=variance,
        quartiles=quartiles,
        categorical=categorical,
        channels=channels,
        channel_set=channel_set,
        per_column=[c for c in numeric if c not in channel_set],
        numeric_features=numeric_features,
        categorical_features=[c for c in categorical if c != target and roles[c] == "feature"],
        target_categorical=target_categorical,
        category=category,
        embed_color=color if color is not None else target,
        shape_features=usable_features(
            [c for c in numeric_features if c not in categorical], sds, means
        ),
    )


def _sample_rows(n: int, max_points: int, seed: int) -> tuple[np.ndarray, str | None]:
    """The rows figures draw as points (all, or a sorted random sample), and the note saying so."""
    if n <= max_points:
        return np.arange(n), None
    rows = np.sort(np.random.default_rng(seed).choice(n, max_points, replace=False))
    return rows, f"{max_points:,} of {n:,} rows, drawn at random, seed {seed}"


def _start_tsne(
    table: Table, cols: _Columns, rows: np.ndarray, seed: int
) -> Future[FigureSpec | None]:
    """The t-SNE map, started on a thread of its own: it is the slowest figure and runs on one
    thread, so it runs beside everything else."""
    pool = ThreadPoolExecutor(1, thread_name_prefix="labsight-tsne")
    tsne = pool.submit(
        tsne_figure,
        table,
        cols.shape_features,
        cols.means,
        cols.sds,
        rows,
        color=cols.embed_color,
        seed=seed,
    )
    pool.shutdown(wait=False)  # the map finishes on its own; nothing else goes to this thread
    return tsne


@dataclass(frozen=True)
class _Drawn:
    """The figures in report order, and what the overview and tables take from them."""

    figures: list[FigureSpec]
    sampled: bool  # a figure draws a sample for its own reasons (many spectra, a large t-SNE)
    clock: str | None
    relations: Relations
    assoc: Associations
    by_condition: pl.DataFrame | None


def _assemble_figures(
    table: Table,
    cols: _Columns,
    report: QualityReport,
    tsne: Future[FigureSpec | None],
    *,
    target: str | None,
    color: str | None,
    rows: np.ndarray,
    note: str | None,
    seed: int,
) -> _Drawn:
    """Every section's figures, in report order: spectra, distributions, time series, relations,
    associations, missingness, structure."""
    n = table.frame.height
    sampled = n > rows.shape[0]
    assoc = analyse_associations(
        table, cols.per_column, cols.categorical, cols.variance, target=target
    )
    figures: list[FigureSpec] = []
    sample = image_sample(table, target, seed)
    if sample is not None:
        figures.append(sample)
    if cols.channels:
        figures += _spectra_figures(
            table,
            cols.channels,
            cols.summary,
            cols.categorical,
            cols.distinct,
            target,
            cols.category,
            seed,
        )
        sampled = sampled or n > MAX_SPECTRA
    figures += distribution_figures(
        table,
        cols.per_column,
        cols.categorical,
        cols.distinct,
        target=target,
        eta=assoc.eta,
        quartiles=cols.quartiles,
        seed=seed,
    )
    clock = time_column(table)
    if clock is not None:
        figures += timeseries_figures(table, clock, cols.per_column)
    related, coded = _without_codes(table, report)
    relations = relation_figures(
        related,
        target,
        [c for c in cols.numeric_features if c not in cols.channel_set],
        cols.categorical_features,
        related.frame[rows] if sampled else related.frame,
        color=color,
        assoc=assoc,
        note=note,
        target_is_category=cols.target_categorical,
        codes=coded,
    )
    figures += relations.figures
    figures += assoc.figures
    missing_figures, by_condition = missingness_figures(
        table, report.findings, cols.categorical[:_MAX_CONDITIONS]
    )
    figures += missing_figures
    structure = structure_figures(
        table,
        cols.shape_features,
        _shape_correlation(table, cols.shape_features, assoc),
        cols.means,
        cols.sds,
        rows,
        tsne=tsne.result(),
        color=cols.embed_color,
        note=note,
        channels=cols.channels,
    )
    figures += structure
    if any(s.name == "tsne" for s in structure) and n > 2000:
        sampled = True
    return _Drawn(figures, sampled, clock, relations, assoc, by_condition)


def _shape_correlation(table: Table, features: list[str], assoc: Associations) -> np.ndarray:
    """The Pearson matrix of ``features``: taken from the associations when they computed it."""
    if set(features) <= set(assoc.matrix_columns) and assoc.pearson is not None:
        at = [assoc.matrix_columns.index(c) for c in features]
        return assoc.pearson[np.ix_(at, at)]
    return pairwise_correlation(table.frame.select(features))[0]


def _strongest_link(relations: Relations, target: str | None) -> str | None:
    """The overview's sentence on the feature that goes most with the target, or None."""
    if relations.links and relations.links[0].strength > 0 and target is not None:
        best = relations.links[0]
        word = "Spearman" if best.measure == "spearman" else "η"
        return f"strongest link to {target}: {best.feature}, {word} {best.value:.2f}"
    return None


def _overview(
    table: Table,
    report: QualityReport,
    *,
    target: str | None,
    color: str | None,
    sampled: bool,
    max_points: int,
    seed: int,
    channels: list[str],
    clock: str | None,
    strongest: str | None,
) -> dict[str, Any]:
    """The overview of :class:`Analysis` (its keys are listed there)."""
    counts: dict[str, int] = dict.fromkeys(SEVERITIES, 0)
    for f in report.findings:
        counts[f.severity] = counts.get(f.severity, 0) + 1
    return {
        "rows": table.frame.height,
        "columns": [
            {"name": c.name, "unit": c.unit, "dtype": c.dtype, "role": c.role}
            for c in table.columns
        ],
        "memory_bytes": int(table.frame.estimated_size()),
        "findings": counts,
        "target": target,
        "color": color,
        "sampled": sampled,
        "max_points": max_points,
        "seed": seed,
        "spectral_columns": len(channels),
        "channels": channels,
        "time": clock,
        "strongest_link": strongest,
    }
