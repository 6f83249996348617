"""Clustering the rows of a table, with readable cluster profiles.

:func:`cluster` groups the rows (k-means, Gaussian mixture, Ward agglomerative or HDBSCAN), chooses
k when asked, numbers the clusters by size and describes each in the units of the data. The choices
it makes are described in :mod:`labsight.models.unsupervised`, which exports it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl
from numpy.typing import NDArray
from sklearn.cluster import HDBSCAN, AgglomerativeClustering, KMeans
from sklearn.metrics import silhouette_score
from sklearn.mixture import GaussianMixture

from labsight.data.table import Role, Table
from labsight.exceptions import InputError
from labsight.models._matrix import Matrix, feature_matrix, threads

__all__ = ["CLUSTER_METHODS", "LABEL_ROLE", "ClusterResult", "cluster"]

CLUSTER_METHODS: tuple[str, ...] = ("kmeans", "gmm", "agglomerative", "hdbscan")
LABEL_ROLE: Role = "id"
"""The role stored cluster labels get: ``id``, the role of every derived column (as cleaning's
flags), which no model and no check reads. Not ``group``: that would make every later ``train``
cross-validate by cluster without being asked. Not ``feature``: labels computed from the features
would feed the model its own inputs again. Give the column another role deliberately to use it."""
_SILHOUETTE_SAMPLE = 5_000
_DISTINCTIVE_MIN_SD = 0.5  # a second or third feature is named only when it differs this much


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
    matrix = feature_matrix(table, features)
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
        raw_labels = _choose_k(method, matrix.z, seed, max_k, criterion, scores)
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


def _choose_k(
    method: str,
    z: NDArray[np.float64],
    seed: int,
    max_k: int,
    criterion: str,
    scores: dict[int, float],
) -> NDArray[np.int64]:
    """The labels of the best k in 2 .. ``min(max_k, n - 1)``; each k's score goes into ``scores``
    (``"bic"``: lowest wins; ``"silhouette"``: highest wins, ties to the smaller k)."""
    n = z.shape[0]
    candidates: dict[int, NDArray[np.int64]] = {}
    for kk in range(2, min(max_k, n - 1) + 1):
        labels_k, bic = _fit(method, z, kk, seed)
        if criterion == "bic":
            scores[kk] = float(bic)
        else:
            sil = _silhouette(z, labels_k, seed)
            scores[kk] = sil if sil is not None else -1.0
        candidates[kk] = labels_k
    if criterion == "bic":
        best = min(scores, key=lambda kk: (scores[kk], kk))
    else:
        best = max(scores, key=lambda kk: (scores[kk], -kk))
    return candidates[best]


def _fit(method: str, z: NDArray[np.float64], k: int, seed: int) -> tuple[NDArray[np.int64], float]:
    """Labels for k clusters, and the BIC (Gaussian mixture only; NaN otherwise)."""
    with threads(z):
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
    with threads(z):
        return np.asarray(model.fit_predict(z), dtype=np.int64)


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


def _profiles(matrix: Matrix, labels: NDArray[np.int64]) -> pl.DataFrame:
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


def _distinctive(matrix: Matrix, inside: NDArray[np.bool_]) -> str:
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
