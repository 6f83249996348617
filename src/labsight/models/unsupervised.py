"""Clustering with readable cluster profiles, and 2-D embeddings of a table.

:func:`cluster` groups the rows of a table (k-means, Gaussian mixture, Ward agglomerative or
HDBSCAN) and describes each group in the units of the data; :func:`embed` maps the rows to two
dimensions (PCA, t-SNE or UMAP) for a scatter plot.

The choices, made once for every method:

* **Columns.** By default the numeric columns whose role is ``feature`` or ``condition``; ids,
  timestamps, replicate groups and targets are left out. Named columns must exist and be numeric.
* **Missing values** are imputed with the column median, for the algorithm only; the result says how
  many rows were imputed, and cluster means are computed from the observed values.
* **Standardization.** Every column is turned into z-scores (mean 0, sd 1) first, so a column in
  large units does not outweigh the others; a constant column becomes all zeros.
* **Choosing k** (``k="auto"``): k = 2 .. ``min(max_k, n - 1)`` is tried. K-means and Ward are
  scored by the silhouette (computed on a fixed-seed sample of at most 5,000 rows, to keep it fast)
  and the highest wins; the Gaussian mixture is scored by BIC and the lowest wins. HDBSCAN finds
  its own number of clusters, and rows in no cluster keep the label ``-1`` ("noise").
* **Labels** are renumbered by cluster size, largest first, so they do not depend on the
  algorithm's internal order. Stored in a dataset they take the role :data:`LABEL_ROLE` (``id``),
  so they change no later command: not the folds of ``train``, not its features.
* **Distinctive features** of a cluster are those whose mean differs most from the rest of the
  rows, measured in standard deviations of the whole column.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl
from numpy.typing import NDArray
from sklearn.cluster import HDBSCAN, AgglomerativeClustering, KMeans
from sklearn.decomposition import PCA
from sklearn.manifold import TSNE
from sklearn.metrics import silhouette_score
from sklearn.mixture import GaussianMixture
from threadpoolctl import threadpool_limits

from labsight.data.stats import numeric_values
from labsight.data.table import Role, Table
from labsight.exceptions import InputError

__all__ = [
    "CLUSTER_METHODS",
    "EMBED_METHODS",
    "LABEL_ROLE",
    "ClusterResult",
    "EmbedResult",
    "cluster",
    "embed",
]

CLUSTER_METHODS: tuple[str, ...] = ("kmeans", "gmm", "agglomerative", "hdbscan")
EMBED_METHODS: tuple[str, ...] = ("pca", "tsne", "umap")
LABEL_ROLE: Role = "id"
"""The role stored cluster labels get: ``id``, the role of every derived column (as cleaning's
flags), which no model and no check reads. Not ``group``: that would make every later ``train``
cross-validate by cluster without being asked. Not ``feature``: labels computed from the features
would feed the model its own inputs again. Give the column another role deliberately to use it."""

_NUMERIC_DTYPES = ("float", "int")
_DEFAULT_ROLES = ("feature", "condition")
_SILHOUETTE_SAMPLE = 5_000
_EMBED_MAX_ROWS = 5_000
_DISTINCTIVE_MIN_SD = 0.5  # a second or third feature is named only when it differs this much
_SINGLE_THREAD_CELLS = 1_000_000  # below this many matrix cells, threads cost more than they save


@dataclass(frozen=True)
class _Matrix:
    """The feature matrix as read (NaN where missing), imputed and standardized."""

    features: list[str]
    units: list[str | None]
    raw: NDArray[np.float64]
    z: NDArray[np.float64]
    imputed_rows: int


@dataclass(frozen=True)
class ClusterResult:
    """The outcome of :func:`cluster`.

    Attributes
    ----------
    labels
        Cluster of each row of the table, in order (``-1``: noise, HDBSCAN only). Clusters are
        numbered by size, largest first.
    k
        Number of clusters (noise not counted).
    method, features
        The method and the columns used.
    scores
        The criterion for each k tried with ``k="auto"``; empty for a fixed k and for HDBSCAN.
    criterion
        ``"silhouette"`` (higher is better), ``"bic"`` (lower is better) or ``None``.
    silhouette
        Silhouette of the chosen labels on the standardized data (noise left out), ``None`` when
        it is undefined (fewer than two clusters).
    profiles
        One row per cluster: ``cluster``, ``size``, ``share``, the mean of each feature in its own
        units (column named like the feature) and ``distinctive``, a sentence naming the 1-3
        features that set the cluster apart.
    imputed_rows
        Rows with at least one missing feature value, imputed with the column median.
    """

    labels: NDArray[np.int64]
    k: int
    method: str
    features: list[str]
    scores: dict[int, float]
    criterion: str | None
    silhouette: float | None
    profiles: pl.DataFrame = field(repr=False)
    imputed_rows: int

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable view (labels as a list, profiles as a list of records)."""
        return {
            "method": self.method,
            "k": self.k,
            "features": list(self.features),
            "criterion": self.criterion,
            "scores": {str(k): _finite(v) for k, v in self.scores.items()},
            "silhouette": _finite(self.silhouette),
            "imputed_rows": self.imputed_rows,
            "labels": [int(v) for v in self.labels],
            "profiles": [
                {
                    key: _finite(value) if isinstance(value, float) else value
                    for key, value in row.items()
                }
                for row in self.profiles.to_dicts()
            ],
        }


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


def cluster(
    table: Table,
    features: list[str] | None = None,
    *,
    method: str = "kmeans",
    k: int | str = "auto",
    seed: int = 0,
    max_k: int = 10,
) -> ClusterResult:
    """Cluster the rows of a table and profile each cluster.

    Parameters
    ----------
    table
        The table; every row gets a label.
    features
        Numeric columns to cluster on; default: the numeric ``feature`` and ``condition`` columns.
    method
        ``"kmeans"``, ``"gmm"`` (Gaussian mixture), ``"agglomerative"`` (Ward) or ``"hdbscan"``.
    k
        Number of clusters, or ``"auto"`` to choose it (silhouette; BIC for ``gmm``). HDBSCAN
        chooses its own number and accepts only ``"auto"``.
    seed
        Random seed (initialisation, silhouette sample).
    max_k
        Largest k tried with ``k="auto"``.

    Returns
    -------
    ClusterResult

    Raises
    ------
    InputError
        Unknown method or column, a non-numeric column, too few rows, or k out of range.

    Examples
    --------
    >>> frame = pl.DataFrame({"T": [20.0, 21.0, 20.5, 80.0, 81.0, 80.5], "id": [1, 2, 3, 4, 5, 6]})
    >>> table = Table.from_frame(frame, roles={"id": "id"}, units={"T": "degC"})
    >>> result = cluster(table, k=2)
    >>> result.labels.tolist(), result.features
    ([0, 0, 0, 1, 1, 1], ['T'])
    >>> result.profiles.select("cluster", "size", "T").rows()
    [(0, 3, 20.5), (1, 3, 80.5)]
    >>> result.profiles["distinctive"][1]
    'T [degC] high (+2.0 sd)'
    """
    if method not in CLUSTER_METHODS:
        raise InputError(
            f"unknown clustering method {method!r}",
            expected="one of " + ", ".join(CLUSTER_METHODS),
            got=repr(method),
        )
    matrix = _matrix(table, features)
    n = matrix.z.shape[0]
    if n < 3:
        raise InputError("too few rows to cluster", expected="at least 3 rows", got=str(n))

    scores: dict[int, float] = {}
    criterion: str | None = None
    if method == "hdbscan":
        if k != "auto":
            raise InputError(
                "hdbscan chooses the number of clusters itself",
                expected="k='auto'",
                got=repr(k),
                hint="use kmeans, gmm or agglomerative for a fixed k",
            )
        raw_labels = _hdbscan(matrix.z)
    elif k == "auto":
        if max_k < 2:
            raise InputError("max_k must be at least 2", expected="max_k >= 2", got=str(max_k))
        criterion = "bic" if method == "gmm" else "silhouette"
        candidates: dict[int, NDArray[np.int64]] = {}
        for kk in range(2, min(max_k, n - 1) + 1):
            labels_k, bic = _fit(method, matrix.z, kk, seed)
            if criterion == "bic":
                scores[kk] = float(bic)
            else:
                sil = _silhouette(matrix.z, labels_k, seed)
                scores[kk] = sil if sil is not None else -1.0
            candidates[kk] = labels_k
        if criterion == "bic":
            best = min(scores, key=lambda kk: (scores[kk], kk))
        else:
            best = max(scores, key=lambda kk: (scores[kk], -kk))
        raw_labels = candidates[best]
    else:
        if isinstance(k, bool) or not isinstance(k, int):
            raise InputError(
                "k must be an integer or 'auto'", expected="an integer >= 2 or 'auto'", got=repr(k)
            )
        if not 2 <= k < n:
            raise InputError(
                "k is out of range",
                expected=f"2 <= k < {n} (the number of rows)",
                got=str(k),
            )
        raw_labels, _ = _fit(method, matrix.z, k, seed)

    labels = _renumber(raw_labels)
    n_clusters = len({int(v) for v in labels if v >= 0})
    return ClusterResult(
        labels=labels,
        k=n_clusters,
        method=method,
        features=list(matrix.features),
        scores=scores,
        criterion=criterion,
        silhouette=_silhouette(matrix.z, labels, seed),
        profiles=_profiles(matrix, labels),
        imputed_rows=matrix.imputed_rows,
    )


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
        ``"pca"``, ``"tsne"`` (perplexity ``min(30, (n - 1) / 3)``) or ``"umap"`` (needs the
        ``umap`` extra).
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
    matrix = _matrix(table, features)
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

    explained: list[float] | None = None
    if method == "pca":
        pca: Any = PCA(n_components=2, random_state=seed)
        with _threads(z):
            coords = pca.fit_transform(z)
        explained = [float(v) for v in pca.explained_variance_ratio_]
    elif method == "tsne":
        tsne: Any = TSNE(
            n_components=2,
            perplexity=min(30.0, (m - 1) / 3),
            init="pca",
            random_state=seed,
        )
        with _threads(z):
            coords = tsne.fit_transform(z)
    else:
        coords = _umap(z, seed)

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


# --- helpers ---------------------------------------------------------------------------------------


def _matrix(table: Table, features: list[str] | None) -> _Matrix:
    """Check the columns, then read, impute (median) and standardize them."""
    numeric = [c.name for c in table.columns if c.dtype in _NUMERIC_DTYPES]
    if features is None:
        names = [
            c.name for c in table.columns if c.dtype in _NUMERIC_DTYPES and c.role in _DEFAULT_ROLES
        ]
        if not names:
            raise InputError(
                "the table has no numeric feature or condition columns",
                expected="at least one numeric column with role feature or condition",
                got="none",
                hint="name the columns to use, or set their roles",
            )
    else:
        names = list(dict.fromkeys(features))
        if not names:
            raise InputError("no features given", expected="at least one column name", got="none")
        for name in names:
            if name not in table.frame.columns:
                raise InputError(
                    f"unknown column {name!r}",
                    column=name,
                    expected="one of " + (", ".join(numeric) or "(no numeric columns)"),
                    got=repr(name),
                )
            if table.column(name).dtype not in _NUMERIC_DTYPES:
                raise InputError(
                    f"column {name!r} is not numeric",
                    column=name,
                    expected="a numeric column: " + (", ".join(numeric) or "(none)"),
                    got=table.column(name).dtype,
                )
    raw = np.column_stack([numeric_values(table.frame.get_column(name)) for name in names]).astype(
        np.float64
    )
    missing: NDArray[np.bool_] = np.isnan(raw)
    empty = [name for j, name in enumerate(names) if bool(missing[:, j].all())]
    if empty and raw.shape[0] > 0:
        raise InputError(
            f"column {empty[0]!r} has no values",
            column=empty[0],
            expected="a column with at least one number",
            got="only missing values",
        )
    filled = raw.copy()
    if raw.shape[0] > 0:
        medians = np.nanmedian(raw, axis=0)
        filled = np.where(missing, medians, raw)
    mean = filled.mean(axis=0) if raw.shape[0] else np.zeros(len(names))
    sd = filled.std(axis=0) if raw.shape[0] else np.ones(len(names))
    sd = np.where(sd > 0, sd, 1.0)
    z = (filled - mean) / sd
    units = [table.column(name).unit for name in names]
    return _Matrix(
        features=names,
        units=units,
        raw=raw,
        z=np.asarray(z, dtype=np.float64),
        imputed_rows=int(missing.any(axis=1).sum()),
    )


def _threads(z: NDArray[np.float64]) -> Any:
    """One BLAS/OpenMP thread for small matrices: on a busy machine thread start-up and
    oversubscription make a 300-row k-means 100x slower; large matrices keep the default."""
    return threadpool_limits(limits=1 if z.size < _SINGLE_THREAD_CELLS else None)


def _fit(method: str, z: NDArray[np.float64], k: int, seed: int) -> tuple[NDArray[np.int64], float]:
    """Labels for k clusters, and the BIC (Gaussian mixture only; NaN otherwise)."""
    with _threads(z):
        if method == "kmeans":
            model: Any = KMeans(n_clusters=k, n_init=10, random_state=seed)
            return np.asarray(model.fit_predict(z), dtype=np.int64), math.nan
        if method == "gmm":
            model = GaussianMixture(n_components=k, n_init=2, random_state=seed)
            model.fit(z)
            return np.asarray(model.predict(z), dtype=np.int64), float(model.bic(z))
        model = AgglomerativeClustering(n_clusters=k, linkage="ward")
        return np.asarray(model.fit_predict(z), dtype=np.int64), math.nan


def _hdbscan(z: NDArray[np.float64]) -> NDArray[np.int64]:
    model: Any = HDBSCAN(min_cluster_size=max(5, z.shape[0] // 50), copy=True)
    with _threads(z):
        return np.asarray(model.fit_predict(z), dtype=np.int64)


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


def _silhouette(z: NDArray[np.float64], labels: NDArray[np.int64], seed: int) -> float | None:
    """Silhouette on a fixed-seed sample of at most 5,000 rows (noise left out), or None."""
    keep = labels >= 0
    z, labels = z[keep], labels[keep]
    n = labels.shape[0]
    if n > _SILHOUETTE_SAMPLE:
        idx = np.random.default_rng(seed).choice(n, size=_SILHOUETTE_SAMPLE, replace=False)
        z, labels = z[idx], labels[idx]
    n_labels = len(np.unique(labels))
    if not 2 <= n_labels <= labels.shape[0] - 1:
        return None
    return float(silhouette_score(z, labels))


def _renumber(labels: NDArray[np.int64]) -> NDArray[np.int64]:
    """Clusters numbered by size (largest first, ties by first appearance); noise stays -1."""
    found, first, counts = np.unique(labels[labels >= 0], return_index=True, return_counts=True)
    order = sorted(range(len(found)), key=lambda i: (-counts[i], first[i]))
    mapping = {int(found[i]): new for new, i in enumerate(order)}
    return np.array([mapping.get(int(v), -1) for v in labels], dtype=np.int64)


def _profiles(matrix: _Matrix, labels: NDArray[np.int64]) -> pl.DataFrame:
    n = labels.shape[0]
    groups = sorted({int(v) for v in labels if v >= 0})
    if (labels < 0).any():
        groups.append(-1)
    records: dict[str, list[Any]] = {"cluster": [], "size": [], "share": []}
    for name in matrix.features:
        records[name] = []
    records["distinctive"] = []
    for group in groups:
        inside = labels == group
        size = int(inside.sum())
        records["cluster"].append(group)
        records["size"].append(size)
        records["share"].append(size / n)
        for j, name in enumerate(matrix.features):
            observed = matrix.raw[inside, j]
            observed = observed[~np.isnan(observed)]
            records[name].append(float(observed.mean()) if observed.size else None)
        text = _distinctive(matrix, inside)
        records["distinctive"].append(f"noise: {text}" if group == -1 else text)
    schema: dict[str, Any] = {"cluster": pl.Int64, "size": pl.Int64, "share": pl.Float64}
    schema.update(dict.fromkeys(matrix.features, pl.Float64))
    schema["distinctive"] = pl.String
    return pl.DataFrame(records, schema=schema)


def _distinctive(matrix: _Matrix, inside: NDArray[np.bool_]) -> str:
    """The 1-3 features whose mean differs most from the rest, in sd of the whole column."""
    rest = ~inside
    here = matrix.z[inside].mean(axis=0)
    other = matrix.z[rest].mean(axis=0) if rest.any() else np.zeros(matrix.z.shape[1])
    diff = here - other
    order = sorted(range(len(diff)), key=lambda j: -abs(float(diff[j])))
    chosen = [order[0]] + [j for j in order[1:3] if abs(float(diff[j])) >= _DISTINCTIVE_MIN_SD]
    parts = []
    for j in chosen:
        d = float(diff[j])
        unit = matrix.units[j]
        label = f"{matrix.features[j]} [{unit}]" if unit else matrix.features[j]
        word = "high" if d > 0 else "low" if d < 0 else "typical"
        parts.append(f"{label} {word} ({d:+.1f} sd)")
    return ", ".join(parts)


def _finite(value: float | None) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return value
