"""Two-dimensional embeddings of the rows of a table, for a scatter plot.

:func:`embed` maps the (standardized, imputed) rows to two dimensions with PCA, t-SNE, UMAP or
the two-number code of a dense autoencoder (:mod:`labsight.models.anomaly`), embedding a
fixed-seed sample when the table is large. Exported by
:mod:`labsight.models.unsupervised`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl
from numpy.typing import NDArray
from sklearn.decomposition import PCA
from sklearn.manifold import TSNE

from labsight.data.table import Table
from labsight.exceptions import InputError
from labsight.models._matrix import feature_matrix, threads

__all__ = ["EMBED_METHODS", "EmbedResult", "embed"]

EMBED_METHODS: tuple[str, ...] = ("pca", "tsne", "umap", "autoencoder")
_EMBED_MAX_ROWS = 5_000


@dataclass(frozen=True)
class EmbedResult:
    """The outcome of :func:`embed`.

    Attributes
    ----------
    frame
        Columns ``row`` (0-based row index into the table), ``dim1`` and ``dim2``; one row per
        embedded table row.
    method
        ``"pca"``, ``"tsne"`` or ``"umap"``.
    explained
        PCA's explained variance ratio of the two components; ``None`` for the other methods.
    features
        The columns used.
    sampled
        ``True`` when the table had more rows than ``max_rows`` and a random sample was embedded.
    imputed_rows
        Rows with at least one missing feature value, imputed with the column median.
    """

    frame: pl.DataFrame
    method: str
    explained: list[float] | None
    features: list[str] = field(default_factory=list)
    sampled: bool = False
    imputed_rows: int = 0


def embed(
    table: Table,
    features: list[str] | None = None,
    *,
    method: str = "pca",
    seed: int = 0,
    max_rows: int | None = None,
) -> EmbedResult:
    """Map the rows of a table to two dimensions.

    Parameters
    ----------
    table
        The table.
    features
        Numeric columns to embed; default: the numeric ``feature`` and ``condition`` columns.
    method
        ``"pca"``, ``"tsne"`` (perplexity ``min(30, (n - 1) / 3)``), ``"umap"`` (needs the
        ``umap`` extra) or ``"autoencoder"`` (the 2-number code of a dense autoencoder, seeded).
    seed
        Random seed (sample, t-SNE and UMAP initialisation).
    max_rows
        Embed at most this many rows, a fixed-seed random sample of them when the table is larger
        (the ``row`` column says which). Default: 5,000 for t-SNE and UMAP, all rows for PCA.

    Returns
    -------
    EmbedResult

    Raises
    ------
    InputError
        Unknown method or column, a non-numeric column, fewer than 3 rows or 2 features, or UMAP
        not installed.
    """
    if method not in EMBED_METHODS:
        raise InputError(
            f"unknown embedding method {method!r}",
            expected="one of " + ", ".join(EMBED_METHODS),
            got=repr(method),
        )
    matrix = feature_matrix(table, features)
    if len(matrix.features) < 2:
        raise InputError(
            "an embedding needs at least 2 numeric features",
            expected="2 or more features",
            got=", ".join(matrix.features) or "none",
        )
    n = matrix.z.shape[0]
    limit = max_rows if max_rows is not None else (None if method == "pca" else _EMBED_MAX_ROWS)
    if limit is not None and limit < 3:
        raise InputError("max_rows must be at least 3", expected="max_rows >= 3", got=str(limit))
    rows = np.arange(n)
    sampled = False
    if limit is not None and n > limit:
        rows = np.sort(np.random.default_rng(seed).choice(n, size=limit, replace=False))
        sampled = True
    z = matrix.z[rows]
    m = z.shape[0]
    if m < 3:
        raise InputError("too few rows to embed", expected="at least 3 rows", got=str(m))

    coords, explained = _coordinates(method, z, seed)
    frame = pl.DataFrame(
        {
            "row": rows.astype(np.int64),
            "dim1": np.asarray(coords[:, 0], dtype=np.float64),
            "dim2": np.asarray(coords[:, 1], dtype=np.float64),
        }
    )
    return EmbedResult(
        frame=frame,
        method=method,
        explained=explained,
        features=list(matrix.features),
        sampled=sampled,
        imputed_rows=matrix.imputed_rows,
    )


def _coordinates(method: str, z: NDArray[np.float64], seed: int) -> tuple[Any, list[float] | None]:
    """The two coordinates of each row, and PCA's explained variance ratio (None otherwise)."""
    explained: list[float] | None = None
    if method == "pca":
        pca: Any = PCA(n_components=2, random_state=seed)
        with threads(z):
            coords = pca.fit_transform(z)
        explained = [float(v) for v in pca.explained_variance_ratio_]
    elif method == "tsne":
        tsne: Any = TSNE(
            n_components=2,
            perplexity=min(30.0, (z.shape[0] - 1) / 3),
            init="pca",
            random_state=seed,
        )
        with threads(z):
            coords = tsne.fit_transform(z)
    elif method == "autoencoder":
        from labsight.models.anomaly import autoencoder_codes

        coords = autoencoder_codes(z, seed)
    else:
        coords = _umap(z, seed)
    return coords, explained


def _umap(z: NDArray[np.float64], seed: int) -> NDArray[np.float64]:
    try:
        import umap
    except ImportError as exc:
        raise InputError(
            "UMAP is not installed",
            expected="the umap-learn package",
            got="import umap failed",
            hint="pip install 'labsight[umap]'",
        ) from exc
    reducer: Any = umap.UMAP(
        n_components=2,
        random_state=seed,
        n_neighbors=min(15, z.shape[0] - 1),
        n_jobs=1,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # numba and spectral-initialisation chatter
        return np.asarray(reducer.fit_transform(z), dtype=np.float64)
