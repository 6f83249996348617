"""The shape of the feature space: PCA on all rows, a t-SNE map of a sample, and clusters if clear.

PCA is the eigen-decomposition of the features' correlation matrix, whose sums run over all rows
(pairwise-complete, in blocks: :func:`labsight.data.stats.pairwise_correlation`); that is PCA of the
standardized features without ever holding a standardized copy of the table (160 MiB on a million
rows × 20). Scores are drawn for the sampled rows, standardized by the all-row means and standard
deviations, a missing cell at its column's mean.

t-SNE (Barnes-Hut, angle 0.8, 400 steps) maps at most 800 sampled rows with a fixed seed, on one
thread, so the report runs it in the background while it computes everything else; on 1,000 rows
of four Gaussian clusters, 800 rows and these settings keep the trustworthiness of sklearn's
defaults (0.955) at half the time. Clusters come from KMeans (k = 2..6, the k with the best
silhouette) on the standardized features of those rows, and are marked only when that silhouette
is at least 0.5, which noise does not reach."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import polars as pl
from threadpoolctl import threadpool_limits

from labsight.data.table import Table
from labsight.explore._distributions import NO_SPREAD
from labsight.explore._relations import color_values
from labsight.explore._shape import loadings_profile
from labsight.explore._summary import floats, label
from labsight.explore.spec import FigureSpec

__all__ = [
    "MIN_SILHOUETTE",
    "TSNE_ROWS",
    "clusters",
    "labelled_loadings",
    "principal_components",
    "standardized_rows",
    "structure_figures",
    "tsne_figure",
    "usable_features",
]

TSNE_ROWS = 800
MIN_SILHOUETTE = 0.5
_MAX_COMPONENTS = 10
_MAX_LABELLED = 10
_CHAR_WIDTH = 0.035  # of a loadings plot's half-width, per character of a name
_TSNE_MIN_ROWS = 10
_TSNE_MAX_DIMS = 50
# Barnes-Hut at angle 0.8 and 400 steps (250 of them exaggerated): 40 % less time than 0.5 and 500.
_TSNE_ANGLE = 0.8
_TSNE_ITERATIONS = 400


def standardized_rows(
    table: Table,
    features: list[str],
    rows: np.ndarray,
    means: dict[str, float | None],
    sds: dict[str, float | None],
) -> np.ndarray:
    """Some rows of the features as z-scores (all-row mean and sd), a missing cell at 0 (the mean)."""
    frame = table.frame[rows] if rows.size < table.height else table.frame
    x = frame.select(pl.col(c).cast(pl.Float64).fill_nan(None) for c in features).to_numpy()
    x = np.array(x, dtype=np.float64)  # a fresh, writable copy of a few thousand rows
    mean = np.array([means.get(c) or 0.0 for c in features])
    sd = np.array([sds.get(c) or 0.0 for c in features])
    x -= mean
    x /= np.where(sd > 0, sd, 1.0)
    x[np.isnan(x)] = 0.0
    return x


def principal_components(corr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Explained-variance ratios (largest first) and components (rows) of a correlation matrix.

    A pair of columns that never share a row has no correlation (NaN): taken as 0. With many gaps
    a pairwise-complete matrix can have small negative eigenvalues; they count as no variance.
    Each component's sign makes its largest loading positive, so reports are reproducible.

    Examples
    --------
    >>> ratio, comp = principal_components(np.array([[1.0, 0.8], [0.8, 1.0]]))
    >>> np.round(ratio, 2).tolist(), np.round(np.abs(comp[0]), 3).tolist()
    ([0.9, 0.1], [0.707, 0.707])
    """
    c = np.where(np.isfinite(corr), corr, 0.0)
    np.fill_diagonal(c, 1.0)
    values, vectors = np.linalg.eigh((c + c.T) / 2)
    order = np.argsort(values)[::-1]
    values = np.clip(values[order], 0.0, None)
    comp = vectors[:, order].T
    signs = np.sign(comp[np.arange(comp.shape[0]), np.argmax(np.abs(comp), axis=1)])
    comp *= np.where(signs == 0, 1.0, signs)[:, None]
    total = values.sum()
    return (values / total if total > 0 else values), comp


def clusters(x: np.ndarray, seed: int = 0) -> tuple[np.ndarray | None, int, float]:
    """KMeans for k = 2..6, keeping the k with the best silhouette.

    Parameters
    ----------
    x
        Rows × features, standardized.
    seed
        Random state of KMeans.

    Returns
    -------
    tuple
        ``(labels, k, silhouette)``: labels of the best k, or None when there are too few rows.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = np.vstack([rng.normal(0, 1, (50, 2)), rng.normal(20, 1, (50, 2))])
    >>> labels, k, score = clusters(x)
    >>> k, score > 0.5
    (2, True)
    """
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score

    n = x.shape[0]
    best: tuple[np.ndarray | None, int, float] = (None, 0, float("nan"))
    for k in range(2, min(6, n - 1) + 1):
        labels = KMeans(k, n_init=4, random_state=seed).fit_predict(x)
        if len(np.unique(labels)) < 2:
            continue
        score = float(silhouette_score(x, labels))
        if best[0] is None or score > best[2]:
            best = (labels, k, score)
    return best


def _top_loadings(names: list[str], loadings: np.ndarray, k: int = 3) -> str:
    order = np.argsort(-np.abs(loadings))[:k]
    return ", ".join(f"{names[i]} ({loadings[i]:+.2f})" for i in order)


def labelled_loadings(
    pc1: np.ndarray, pc2: np.ndarray, names: list[str], most: int = _MAX_LABELLED
) -> list[int]:
    """Which arrows of a loadings plot get their name: the longest first, skipping any whose tip
    is so near a named one that the two names would overprint. A name is about a twelfth of the
    plot's half-width tall and a thirtieth of it wide per character, so two tips need that much
    room between them, up or across.

    Examples
    --------
    >>> labelled_loadings(np.array([0.9, 0.88, 0.0]), np.array([0.1, 0.11, -0.7]), ["a", "b", "c"])
    [0, 2]
    """
    span = float(max(np.abs(pc1).max(initial=0.0), np.abs(pc2).max(initial=0.0)))
    if span == 0:
        return []
    order = np.argsort(-np.hypot(pc1, pc2), kind="stable")
    chosen: list[int] = []
    for i in order:
        if len(chosen) == most or np.hypot(pc1[i], pc2[i]) < 0.05 * span:
            break
        if all(
            abs(pc2[i] - pc2[j]) >= 0.08 * span
            or abs(pc1[i] - pc1[j]) >= _CHAR_WIDTH * span * (max(len(names[i]), len(names[j])) + 1)
            for j in chosen
        ):
            chosen.append(int(i))
    return sorted(chosen)


def usable_features(
    features: list[str],
    sds: dict[str, float | None],
    means: dict[str, float | None] | None = None,
) -> list[str]:
    """The features PCA and t-SNE can use: those that vary by more than rounding noise (a
    standardized column of last-bit noise would weigh as much as a real one)."""
    means = means or {}
    return [
        c
        for c in features
        if (sds.get(c) or 0.0) > NO_SPREAD * abs(means.get(c) or 0.0) and (sds.get(c) or 0.0) > 0
    ]


def structure_figures(
    table: Table,
    features: list[str],
    corr: np.ndarray,
    means: dict[str, float | None],
    sds: dict[str, float | None],
    sample_rows: np.ndarray,
    *,
    tsne: FigureSpec | None = None,
    color: str | None = None,
    note: str | None = None,
    channels: list[str] | None = None,
) -> list[FigureSpec]:
    """PCA variance, PC scores and loadings, and the t-SNE map when one was made.

    Parameters
    ----------
    table
        The table.
    features
        Numeric feature columns that vary (:func:`usable_features`).
    corr
        Their correlation matrix over all rows (pairwise-complete).
    means, sds
        Each feature's mean and standard deviation over all rows (they standardize the scores).
    sample_rows
        Indices of the rows to draw (at most ``max_points``).
    tsne
        The map from :func:`tsne_figure`, appended last.
    color
        The column to colour points by (the target or a category), or None.
    note
        Said on the score plot when it is drawn from a sample.
    channels
        Spectral channels among the features, in axis order: their loadings are drawn as lines
        along the axis (a ``spectra`` figure) instead of hundreds of arrows.

    Returns
    -------
    list of FigureSpec
        ``pca-variance``, ``pca-scores`` (embedding), ``pca-loadings`` (``loadings``, or
        ``spectra`` for spectral channels) and ``tsne`` (embedding).
    """
    n = table.height
    if len(features) < 2 or n < 3:
        return []
    p = len(features)
    labels = [label(table, c) for c in features]
    ratio, comp = principal_components(corr)
    explained = ratio[: min(p, n, _MAX_COMPONENTS)]
    comp = comp[: explained.size]
    cumulative = np.cumsum(explained)
    reach = int(np.searchsorted(cumulative, 0.9 - 1e-9) + 1)
    components = [f"PC{i + 1}" for i in range(len(explained))]
    caption = (
        f"PC1 and PC2 explain {cumulative[min(1, len(cumulative) - 1)]:.0%} of the variance of "
        f"{p} standardized features"
    )
    if reach <= len(explained):
        caption += f"; {reach} component{'s' if reach > 1 else ''} reach 90%"
    else:
        caption += f"; the first {len(explained)} reach {cumulative[-1]:.0%}"
    figures = [
        FigureSpec(
            name="pca-variance",
            kind="pca_variance",
            section="structure",
            title="Variance explained by principal components",
            caption=caption,
            data={
                "components": components,
                "explained": floats(explained),
                "cumulative": floats(cumulative),
            },
            x_label="component",
            y_label="share of variance",
        )
    ]
    sample = table.frame[sample_rows] if sample_rows.size < n else table.frame
    scores = standardized_rows(table, features, sample_rows, means, sds) @ comp[:2].T
    colour = color_values(sample, color)
    coloured = f", coloured by {color}" if color else ""
    pc2 = explained[1] if len(explained) > 1 else 0.0
    figures.append(
        FigureSpec(
            name="pca-scores",
            kind="embedding",
            section="structure",
            title="Principal component scores",
            caption=f"PC1 ({explained[0]:.0%}) against PC2 ({pc2:.0%}){coloured}",
            data={
                "x": floats(scores[:, 0]),
                "y": floats(scores[:, 1] if scores.shape[1] > 1 else np.zeros(len(scores))),
                "color": colour,
                "color_label": label(table, color) if color else "",
                "cluster": None,
            },
            x_label=f"PC1 ({explained[0]:.0%})",
            y_label=f"PC2 ({pc2:.0%})",
            note=note,
        )
    )
    pc2_loadings = comp[1] if comp.shape[0] > 1 else np.zeros(p)
    caption = f"PC1 is driven most by {_top_loadings(labels, comp[0])}"
    if comp.shape[0] > 1:
        caption += f"; PC2 by {_top_loadings(labels, pc2_loadings)}"
    if channels and any(c in set(channels) for c in features):
        figures.append(
            FigureSpec(
                name="pca-loadings",
                kind="spectra",
                section="structure",
                title="Loadings of PC1 and PC2 along the spectrum",
                caption=caption,
                data=loadings_profile(channels, features, comp[0], pc2_loadings, explained),
                x_label="channel (from the column names)",
                y_label="loading",
            )
        )
    else:
        figures.append(
            FigureSpec(
                name="pca-loadings",
                kind="loadings",
                section="structure",
                title="Loadings of PC1 and PC2",
                caption=caption,
                data={
                    "columns": labels,
                    "pc1": floats(comp[0]),
                    "pc2": floats(pc2_loadings),
                    "labelled": labelled_loadings(comp[0], pc2_loadings, labels),
                },
                x_label="PC1",
                y_label="PC2",
            )
        )
    if tsne is not None:
        figures.append(tsne)
    return figures


def tsne_figure(
    table: Table,
    features: list[str],
    means: dict[str, float | None],
    sds: dict[str, float | None],
    sample_rows: np.ndarray,
    *,
    color: str | None,
    seed: int,
) -> FigureSpec | None:
    """A t-SNE map of at most 800 of the sampled rows, with KMeans clusters marked when clear.

    Runs on one thread (OpenMP and BLAS), so it can run beside the rest of the analysis; with a
    fixed ``seed`` the map is the same every time. None when there are fewer than two features
    or ten rows.
    """
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE

    rows = sample_rows
    if rows.size > TSNE_ROWS:
        rng = np.random.default_rng(seed)
        rows = np.sort(rng.choice(rows, TSNE_ROWS, replace=False))
    m = rows.size
    if m < _TSNE_MIN_ROWS or len(features) < 2:
        return None
    with threadpool_limits(1):
        x = standardized_rows(table, features, rows, means, sds)
        xs = x
        if xs.shape[1] > _TSNE_MAX_DIMS:
            # No more components than rows: 21 spectra of 1,048 channels have 21 at most.
            dims = min(_TSNE_MAX_DIMS, m)
            xs = PCA(dims, random_state=seed).fit_transform(xs)
        perplexity = float(min(30.0, max(2.0, (m - 1) / 3)))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            embedded = TSNE(
                2,
                perplexity=perplexity,
                angle=_TSNE_ANGLE,
                init="pca",
                max_iter=_TSNE_ITERATIONS,
                random_state=seed,
            ).fit_transform(xs)
            labels, k, score = clusters(x, seed)
    marked: list[Any] | None = None
    if labels is not None and score >= MIN_SILHOUETTE:
        marked = [int(v) for v in labels]
        caption = (
            f"{k} clusters marked: KMeans on the standardized features, silhouette {score:.2f} "
            f"(marked when at least {MIN_SILHOUETTE})"
        )
    elif labels is not None:
        caption = (
            f"no clear clusters: the best KMeans split (k = {k}) has silhouette {score:.2f}, "
            f"below {MIN_SILHOUETTE}, so none are marked"
        )
    else:
        caption = "too few rows to look for clusters"
    if color:
        caption += f"; coloured by {color}"
    note = None
    if m < table.height:
        note = f"{m:,} of {table.height:,} rows, drawn at random, seed {seed}"
    return FigureSpec(
        name="tsne",
        kind="embedding",
        section="structure",
        title="t-SNE map of the rows",
        caption=caption,
        data={
            "x": floats(embedded[:, 0]),
            "y": floats(embedded[:, 1]),
            "color": color_values(table.frame[rows], color),
            "color_label": label(table, color) if color else "",
            "cluster": marked,
        },
        x_label="t-SNE 1",
        y_label="t-SNE 2",
        note=note,
    )
