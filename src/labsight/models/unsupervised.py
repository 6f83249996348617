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

# Clustering lives in ``clustering``, embeddings in ``embedding`` and the feature matrix both read
# in ``_matrix``; this module keeps the names callers import.
from labsight.models.clustering import CLUSTER_METHODS, LABEL_ROLE, ClusterResult, cluster
from labsight.models.embedding import EMBED_METHODS, EmbedResult, embed

__all__ = [
    "CLUSTER_METHODS",
    "EMBED_METHODS",
    "LABEL_ROLE",
    "ClusterResult",
    "EmbedResult",
    "cluster",
    "embed",
]
