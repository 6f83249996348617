"""Clustering and embeddings on tables whose structure is known (Gaussian blobs)."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest
from sklearn.metrics import adjusted_rand_score

from labsight.data.table import Table
from labsight.exceptions import InputError
from labsight.models.unsupervised import ClusterResult, cluster, embed

# Three sensor regimes: (temperature degC, co2 ppm, humidity %) centres.
CENTRES = np.array([[20.0, 400.0, 40.0], [35.0, 420.0, 42.0], [21.0, 1200.0, 41.0]])
SPREAD = np.array([1.0, 30.0, 2.0])
PER_BLOB = 100


def _blobs(seed: int = 0, per_blob: int = PER_BLOB) -> tuple[Table, np.ndarray]:
    rng = np.random.default_rng(seed)
    truth = np.repeat(np.arange(3), per_blob)
    values = CENTRES[truth] + rng.normal(size=(truth.size, 3)) * SPREAD
    order = rng.permutation(truth.size)  # interleave the blobs
    truth, values = truth[order], values[order]
    frame = pl.DataFrame(
        {
            "id": np.arange(truth.size),
            "site": [f"s{t}" for t in truth],
            "temperature": values[:, 0],
            "co2": values[:, 1],
            "humidity": values[:, 2],
            "power": values[:, 0] * 3.0,  # a target: must not be used by default
        }
    )
    table = Table.from_frame(
        frame,
        roles={"id": "id", "site": "group", "power": "target"},
        units={"temperature": "degC", "co2": "ppm", "humidity": "%"},
    )
    return table, truth


@pytest.fixture(scope="module")
def blobs() -> tuple[Table, np.ndarray]:
    return _blobs()


@pytest.mark.parametrize("method", ["kmeans", "gmm", "agglomerative"])
def test_auto_k_finds_three_blobs(blobs: tuple[Table, np.ndarray], method: str) -> None:
    table, truth = blobs
    result = cluster(table, method=method, max_k=6)
    assert result.features == ["temperature", "co2", "humidity"]
    assert result.k == 3
    assert result.criterion == ("bic" if method == "gmm" else "silhouette")
    assert sorted(result.scores) == [2, 3, 4, 5, 6]
    pick = min if method == "gmm" else max
    assert pick(result.scores, key=lambda k: result.scores[k]) == 3
    assert result.labels.shape == (table.height,)
    assert adjusted_rand_score(truth, result.labels) > 0.9
    assert result.silhouette is not None
    assert result.silhouette > 0.5
    assert result.imputed_rows == 0


def test_profiles_in_original_units(blobs: tuple[Table, np.ndarray]) -> None:
    table, _ = blobs
    result = cluster(table, method="kmeans", k=3)
    profiles = result.profiles
    assert result.scores == {}
    assert result.criterion is None
    assert profiles.columns == [
        "cluster",
        "size",
        "share",
        "temperature",
        "co2",
        "humidity",
        "distinctive",
    ]
    assert profiles.height == 3
    assert profiles["size"].sum() == table.height
    assert profiles["share"].sum() == pytest.approx(1.0)
    assert profiles["cluster"].to_list() == [0, 1, 2]
    # each profile's means sit on one true centre, in degC / ppm / %
    means = profiles.select("temperature", "co2", "humidity").to_numpy()
    for row in means:
        nearest = np.argmin(np.abs((CENTRES - row) / SPREAD).sum(axis=1))
        assert np.all(np.abs(row - CENTRES[nearest]) < SPREAD), (row, CENTRES[nearest])
    # the high-CO2 cluster is named by co2, the hot one by temperature
    by_co2 = profiles.sort("co2")
    assert by_co2["distinctive"][-1].startswith("co2 [ppm] high (+")
    by_temp = profiles.sort("temperature")
    assert by_temp["distinctive"][-1].startswith("temperature [degC] high (+")


def test_labels_numbered_by_size(blobs: tuple[Table, np.ndarray]) -> None:
    table, truth = blobs
    # blob 0 keeps 100 rows, blob 1 keeps 60, blob 2 keeps 30
    keep = (truth == 0) | ((truth == 1) & (np.cumsum(truth == 1) <= 60))
    keep |= (truth == 2) & (np.cumsum(truth == 2) <= 30)
    smaller = Table(table.frame.filter(pl.Series(keep)), table.columns)
    result = cluster(smaller, method="kmeans", k=3)
    assert result.profiles["size"].to_list() == [100, 60, 30]
    assert adjusted_rand_score(truth[keep], result.labels) > 0.9
    assert np.all(result.labels[truth[keep] == 0] == 0)


def test_hdbscan_finds_the_blobs(blobs: tuple[Table, np.ndarray]) -> None:
    table, truth = blobs
    result = cluster(table, method="hdbscan")
    assert result.k == 3
    assert result.scores == {}
    assert result.criterion is None
    clustered = result.labels >= 0
    assert clustered.mean() > 0.8
    assert adjusted_rand_score(truth[clustered], result.labels[clustered]) > 0.9
    groups = result.profiles["cluster"].to_list()
    assert groups[:3] == [0, 1, 2]
    if (~clustered).any():
        assert groups[-1] == -1
        assert result.profiles["distinctive"][-1].startswith("noise: ")
    assert result.profiles["size"].sum() == table.height
    with pytest.raises(InputError, match="hdbscan"):
        cluster(table, method="hdbscan", k=3)


def test_missing_values_are_imputed_and_counted(blobs: tuple[Table, np.ndarray]) -> None:
    table, truth = blobs
    frame = table.frame.with_columns(
        pl.when(pl.col("id") % 25 == 0).then(None).otherwise(pl.col("co2")).alias("co2"),
        pl.when(pl.col("id") == 7)
        .then(float("nan"))
        .otherwise(pl.col("humidity"))
        .alias("humidity"),
    )
    holed = Table(frame, table.columns)
    result = cluster(holed, method="kmeans", k=3)
    assert result.imputed_rows == 12 + 1
    assert result.labels.shape == (table.height,)
    assert adjusted_rand_score(truth, result.labels) > 0.8
    assert result.profiles["co2"].is_not_null().all()
    assert embed(holed).imputed_rows == 13


def test_bad_input_is_an_input_error(blobs: tuple[Table, np.ndarray]) -> None:
    table, _ = blobs
    with pytest.raises(InputError, match="unknown column 'pressure'") as err:
        cluster(table, ["temperature", "pressure"])
    assert err.value.expected is not None
    assert "temperature" in err.value.expected
    with pytest.raises(InputError, match="'site' is not numeric"):
        cluster(table, ["temperature", "site"])
    with pytest.raises(InputError, match="k is out of range"):
        cluster(table, k=1)
    with pytest.raises(InputError, match="k is out of range"):
        cluster(table, k=table.height)
    with pytest.raises(InputError, match="unknown clustering method"):
        cluster(table, method="dbscan")
    with pytest.raises(InputError, match="unknown embedding method") as err:
        embed(table, method="mds")
    assert err.value.expected == "one of pca, tsne, umap, autoencoder"
    with pytest.raises(InputError, match="at least 2"):
        embed(table, ["co2"])
    tiny = Table.from_frame(pl.DataFrame({"a": [1.0, 2.0], "b": [3.0, 4.0]}))
    with pytest.raises(InputError, match="too few rows"):
        embed(tiny)
    with pytest.raises(InputError, match="too few rows"):
        cluster(tiny)


def test_explicit_features_and_to_dict(blobs: tuple[Table, np.ndarray]) -> None:
    table, _ = blobs
    result = cluster(table, ["temperature", "co2"], method="gmm", max_k=4)
    assert isinstance(result, ClusterResult)
    assert result.features == ["temperature", "co2"]
    assert result.profiles.columns[3:5] == ["temperature", "co2"]
    data = json.loads(json.dumps(result.to_dict()))
    assert data["labels"] == result.labels.tolist()
    assert data["k"] == 3
    assert data["criterion"] == "bic"
    assert set(data["scores"]) == {"2", "3", "4"}
    assert len(data["profiles"]) == 3


def test_pca_explains_and_separates() -> None:
    rng = np.random.default_rng(3)
    n = 100
    side = np.repeat([0, 1], n // 2)
    # the two blobs differ along one direction (x and y shift together); z is noise
    frame = pl.DataFrame(
        {
            "x": side * 10.0 + rng.normal(size=n),
            "y": side * 5.0 + rng.normal(size=n) * 0.5,
            "z": rng.normal(size=n),
        }
    )
    result = embed(Table.from_frame(frame), method="pca")
    assert result.method == "pca"
    assert not result.sampled
    assert result.frame.columns == ["row", "dim1", "dim2"]
    assert result.frame["row"].to_list() == list(range(n))
    assert result.explained is not None
    assert len(result.explained) == 2
    first, second = result.explained
    assert 0 < second <= first <= 1
    dim1 = result.frame["dim1"].to_numpy()
    left, right = dim1[side == 0], dim1[side == 1]
    assert left.max() < right.min() or right.max() < left.min()


def test_tsne_samples_and_is_reproducible(blobs: tuple[Table, np.ndarray]) -> None:
    table, _ = blobs
    first = embed(table, method="tsne", max_rows=120, seed=4)
    assert first.sampled
    assert first.explained is None
    rows = first.frame["row"].to_numpy()
    assert rows.size == 120
    assert np.unique(rows).size == 120
    assert np.all(np.diff(rows) > 0)
    assert rows.max() < table.height
    coords = first.frame.select("dim1", "dim2").to_numpy()
    assert np.isfinite(coords).all()
    again = embed(table, method="tsne", max_rows=120, seed=4)
    assert again.frame.equals(first.frame)


@pytest.mark.slow  # numba compiles UMAP on first use (~10 s)
def test_umap_is_reproducible() -> None:
    pytest.importorskip("umap")
    table, _ = _blobs(seed=2, per_blob=50)
    first = embed(table, method="umap", seed=1)
    assert not first.sampled
    assert first.frame.height == 150
    assert first.frame["row"].to_list() == list(range(150))
    assert np.isfinite(first.frame.select("dim1", "dim2").to_numpy()).all()
    again = embed(table, method="umap", seed=1)
    np.testing.assert_allclose(
        again.frame.select("dim1", "dim2").to_numpy(),
        first.frame.select("dim1", "dim2").to_numpy(),
    )
