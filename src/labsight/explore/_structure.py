"""The shape of the feature space: PCA on all rows, a t-SNE map of a sample, and clusters if clear.

Numeric features are median-imputed and standardized. PCA is fitted on all rows (scikit-learn picks
the covariance solver for tall tables, so a million rows cost one small eigen-decomposition); the
score plot draws the sampled rows. t-SNE runs on at most 1,000 sampled rows with a fixed seed.
Clusters come from KMeans (k = 2..6, the k with the best silhouette) on the standardized features
of those rows, and are marked only when that silhouette is at least 0.5, which noise does not reach.
"""

from __future__ import annotations

import os
import warnings
from typing import Any

import numpy as np
import polars as pl
from threadpoolctl import threadpool_limits

from labsight.data.table import Table
from labsight.explore._relations import color_values
from labsight.explore._summary import floats, label
from labsight.explore.spec import FigureSpec

__all__ = ["MIN_SILHOUETTE", "TSNE_ROWS", "clusters", "structure_figures"]

TSNE_ROWS = 1_000
MIN_SILHOUETTE = 0.5
_MAX_COMPONENTS = 10
_TSNE_MIN_ROWS = 10
_TSNE_MAX_DIMS = 50


def _standardized(
    table: Table,
    features: list[str],
    centre: dict[str, float | None],
    scale: dict[str, float | None],
) -> np.ndarray:
    """Features as float64, missing cells set to the column's median, then centred and scaled.

    ``centre`` (medians) and ``scale`` (sds) come from the summary, so no pass over the rows is
    repeated here; scaling by the observed sd is what standardizing means for PCA.
    """
    x = table.frame.select(pl.col(c).cast(pl.Float64).fill_nan(None) for c in features).to_numpy()
    x = np.asarray(x, dtype=np.float64)
    if not x.flags.writeable:
        x = x.copy()
    med = np.array([centre.get(c) or 0.0 for c in features])
    sd = np.array([scale.get(c) or 0.0 for c in features])
    gaps = np.isnan(x)
    if gaps.any():
        x[gaps] = np.broadcast_to(med, x.shape)[gaps]
    x -= med
    x /= np.where(sd > 0, sd, 1.0)
    return x


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


def structure_figures(
    table: Table,
    features: list[str],
    medians: dict[str, float | None],
    sds: dict[str, float | None],
    sample_rows: np.ndarray,
    *,
    color: str | None = None,
    seed: int = 0,
    note: str | None = None,
) -> list[FigureSpec]:
    """PCA variance, PC scores, loadings, and a t-SNE map with clusters when they are clear.

    Parameters
    ----------
    table
        The table; PCA is fitted on all its rows.
    features
        Numeric feature columns (without the target).
    medians, sds
        Each feature's median (fills its missing cells) and standard deviation (scales it).
    sample_rows
        Indices of the rows to draw (at most ``max_points``); t-SNE takes at most 1,000 of them.
    color
        The column to colour points by (the target or a category), or None.
    seed
        Seed of t-SNE, of its sample and of KMeans.
    note
        Said on the score plot when it is drawn from a sample.

    Returns
    -------
    list of FigureSpec
        ``pca-variance``, ``pca-scores`` (embedding), ``pca-loadings`` and ``tsne`` (embedding).
    """
    from sklearn.decomposition import PCA

    usable = [c for c in features if medians.get(c) is not None and (sds.get(c) or 0.0) > 0]
    n = table.height
    if len(usable) < 2 or n < 3:
        return []
    x = _standardized(table, usable, medians, sds)
    p = x.shape[1]
    labels = [label(table, c) for c in usable]
    solver = "covariance_eigh" if n >= 10 * p else "full"
    pca = PCA(n_components=min(p, n, _MAX_COMPONENTS), svd_solver=solver, random_state=seed).fit(x)
    explained = pca.explained_variance_ratio_
    cumulative = np.cumsum(explained)
    reach = int(np.searchsorted(cumulative, 0.9) + 1)
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
    scores = pca.transform(x[sample_rows])
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
                "cluster": None,
            },
            x_label=f"PC1 ({explained[0]:.0%})",
            y_label=f"PC2 ({pc2:.0%})",
            note=note,
        )
    )
    comp = pca.components_
    pc2_loadings = comp[1] if comp.shape[0] > 1 else np.zeros(p)
    caption = f"PC1 is driven most by {_top_loadings(labels, comp[0])}"
    if comp.shape[0] > 1:
        caption += f"; PC2 by {_top_loadings(labels, pc2_loadings)}"
    figures.append(
        FigureSpec(
            name="pca-loadings",
            kind="loadings",
            section="structure",
            title="Loadings of PC1 and PC2",
            caption=caption,
            data={"columns": labels, "pc1": floats(comp[0]), "pc2": floats(pc2_loadings)},
            x_label="PC1",
            y_label="PC2",
        )
    )
    tsne = _tsne(table, x, sample_rows, color=color, seed=seed)
    if tsne is not None:
        figures.append(tsne)
    return figures


def _free_threads() -> int:
    """All cores when the machine is idle, else one.

    These fits are small: OpenMP threads that spin-wait for each other on a busy machine (CI, a
    shared server) made them ten times slower, while on an idle machine two threads save a second.
    """
    cores = os.cpu_count() or 1
    try:
        load = os.getloadavg()[0]
    except OSError:  # not available on this platform
        return 1
    return cores if load < cores - 0.5 else 1


def _tsne(
    table: Table, x: np.ndarray, sample_rows: np.ndarray, *, color: str | None, seed: int
) -> FigureSpec | None:
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE

    rows = sample_rows
    if rows.size > TSNE_ROWS:
        rng = np.random.default_rng(seed)
        rows = np.sort(rng.choice(rows, TSNE_ROWS, replace=False))
    m = rows.size
    if m < _TSNE_MIN_ROWS:
        return None
    xs = x[rows]
    if xs.shape[1] > _TSNE_MAX_DIMS:
        xs = PCA(_TSNE_MAX_DIMS, random_state=seed).fit_transform(xs)
    perplexity = float(min(30.0, max(2.0, (m - 1) / 3)))
    with threadpool_limits(_free_threads()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        embedded = TSNE(
            2, perplexity=perplexity, init="pca", max_iter=500, random_state=seed
        ).fit_transform(xs)
        labels, k, score = clusters(x[rows], seed)
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
            "cluster": marked,
        },
        x_label="t-SNE 1",
        y_label="t-SNE 2",
        note=note,
    )
