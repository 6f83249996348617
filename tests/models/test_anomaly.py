"""Autoencoder anomaly scores: unusual rows are flagged with where they differ, about 1 % of normal
rows are (the threshold is calibrated on held-out reference rows), a reference scored against
itself gets held-out scores, bad requests are refused in one line, the autoencoder embedding is
seeded, and the CLI gives the Python API's answer."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import polars as pl
import pytest

import labsight
from labsight.data.table import ColumnInfo, Table
from labsight.exceptions import InputError
from labsight.models.anomaly import anomalies
from labsight.models.unsupervised import embed

Run = Callable[..., tuple[int, str, str]]  # the CLI fixture of tests/conftest.py
CHANNELS = 100


def _spectra(n: int, seed: int, extra_band: int | None = None) -> pl.DataFrame:
    """Spectra of two compounds in varying amounts (bands at channels 30 and 70) with noise; an
    ``extra_band`` channel adds a band no reference spectrum has."""
    rng = np.random.default_rng(seed)
    axis = np.arange(CHANNELS, dtype=np.float64)
    a, b = rng.uniform(0.5, 2, n), rng.uniform(0.5, 2, n)
    x = (
        a[:, None] * np.exp(-0.5 * ((axis - 30) / 5) ** 2)
        + b[:, None] * np.exp(-0.5 * ((axis - 70) / 6) ** 2)
        + rng.normal(0, 0.01, (n, CHANNELS))
    )
    if extra_band is not None:
        x += 0.6 * np.exp(-0.5 * ((axis - extra_band) / 3) ** 2)
    return pl.DataFrame(x, schema=[f"{400 + 4 * i}" for i in range(CHANNELS)])


def _sensors(n: int, seed: int, broken: int = 0) -> pl.DataFrame:
    """Six sensors driven by two hidden factors; ``broken`` rows break the relation between them
    while every value stays inside the normal range (a range check cannot see them)."""
    rng = np.random.default_rng(seed)
    f = rng.normal(size=(n, 2))
    mix = np.array([[1.0, 0.2], [0.8, -0.5], [0.1, 1.0], [-0.6, 0.7], [0.5, 0.5], [0.9, -0.9]])
    x = f @ mix.T + rng.normal(0, 0.05, (n, 6))
    if broken:
        x[:broken] = rng.permutation(x[:broken].ravel()).reshape(broken, 6)  # normal values, mixed
    return pl.DataFrame(x, schema=[f"s{j}" for j in range(6)])


def test_unusual_spectra_are_flagged_with_the_band_they_differ_on() -> None:
    reference = Table.from_frame(_spectra(60, 0))
    batch = pl.concat([_spectra(40, 1), _spectra(4, 2, extra_band=50)])
    result = anomalies(Table.from_frame(batch), reference, seed=0)
    assert result.method == "conv"
    flagged = set(result.frame.filter(pl.col("anomalous"))["row"].to_list())
    assert {40, 41, 42, 43} <= flagged
    assert len(flagged - {40, 41, 42, 43}) <= 2  # of 40 normal spectra
    channel = 400 + 4 * 50  # where the extra band sits
    for worst in result.frame.filter(pl.col("row") >= 40)["worst"]:
        first, last = (float(v) for v in worst.split(", ")[0].split("–"))
        assert first - 12 <= channel <= last + 12


def test_about_one_percent_of_normal_rows_are_flagged_and_broken_relations_are_found() -> None:
    reference = Table.from_frame(_sensors(400, 3))
    normal = anomalies(Table.from_frame(_sensors(600, 4)), reference, seed=0)
    assert normal.method == "dense"
    assert normal.frame["anomalous"].mean() <= 0.03  # calibrated at 99 %: ~1 %, with sampling
    broken = anomalies(Table.from_frame(_sensors(200, 5, broken=10)), reference, seed=0)
    caught = broken.frame.filter(pl.col("row") < 10)["anomalous"].sum()
    assert caught >= 8  # values in range, relations broken: the autoencoder sees it
    assert broken.frame.filter(pl.col("row") >= 10)["anomalous"].mean() <= 0.04


def test_the_reference_scored_against_itself_gets_held_out_scores() -> None:
    table = Table.from_frame(_sensors(60, 6))
    result = anomalies(table, table, seed=1, same=True)
    assert result.held_out
    assert result.frame["score"].to_list() == pytest.approx(result.reference_scores)
    assert result.frame["anomalous"].sum() <= 1  # the 99 % quantile of these very scores
    assert result.finest_rate == pytest.approx(1 / 61)


def test_bad_requests_are_refused_in_one_line() -> None:
    reference = Table.from_frame(_sensors(30, 7))
    with pytest.raises(InputError, match="too few to learn what normal looks like"):
        anomalies(reference, Table.from_frame(_sensors(8, 7)))
    with pytest.raises(InputError, match="not a share of normal rows"):
        anomalies(reference, reference, level=1.5)
    with pytest.raises(InputError, match="reads a spectrum"):
        anomalies(reference, reference, method="conv")
    with pytest.raises(InputError, match="unknown autoencoder"):
        anomalies(reference, reference, method="vae")
    with pytest.raises(InputError, match="unknown column 's5'"):
        anomalies(Table.from_frame(_sensors(20, 8).drop("s5")), reference)
    # same column, another unit: converted as predict converts, or refused when it cannot be
    frame = _sensors(40, 11).rename({"s0": "T"})
    kelvin = Table(
        frame, [ColumnInfo(c, "float", "K" if c == "T" else None, "feature") for c in frame.columns]
    )
    shifted = frame.with_columns(pl.col("T") - 273.15)
    celsius = Table(
        shifted,
        [ColumnInfo(c, "float", "degC" if c == "T" else None, "feature") for c in frame.columns],
    )
    in_kelvin = anomalies(kelvin, kelvin, seed=0)
    in_celsius = anomalies(celsius, kelvin, seed=0)
    assert in_celsius.frame["score"].to_list() == pytest.approx(in_kelvin.frame["score"].to_list())
    metres = Table(
        frame, [ColumnInfo(c, "float", "m" if c == "T" else None, "feature") for c in frame.columns]
    )
    with pytest.raises(InputError, match="cannot be converted to the reference's K"):
        anomalies(metres, kelvin)


def test_the_autoencoder_embedding_is_seeded_and_separates_groups() -> None:
    from sklearn.metrics import silhouette_score

    rng = np.random.default_rng(9)
    a = rng.normal(0, 1, (40, 5))
    b = rng.normal(0, 1, (40, 5)) + 6.0
    table = Table.from_frame(pl.DataFrame(np.vstack([a, b]), schema=[f"x{j}" for j in range(5)]))
    first = embed(table, method="autoencoder", seed=3)
    again = embed(table, method="autoencoder", seed=3)
    assert first.frame.equals(again.frame)
    coords = first.frame.select("dim1", "dim2").to_numpy()
    assert silhouette_score(coords, [0] * 40 + [1] * 40) > 0.5


def test_the_cli_gives_the_python_apis_answer(tmp_path: Path, run: Run) -> None:
    csv = tmp_path / "runs.csv"
    _sensors(40, 10, broken=3).write_csv(csv)
    code, _, err = run("ingest", str(csv), "--name", "runs")
    assert code == 0, err
    ws = labsight.Workspace(run.home)
    api = ws.anomalies("runs", reference="runs@v1", seed=2)
    ws.close()
    code, out, err = run("anomalies", "runs", "--reference", "runs@v1", "--seed", "2", "--json")
    assert code == 0, err
    document = json.loads(out)
    assert document["rows"] == api.to_dict()["rows"]
    assert document["threshold"] == api.threshold
    assert document["held_out"] is True
    code, out, err = run("anomalies", "runs", "--reference", "runs")
    assert code == 0, err
    assert "held-out scores of the reference's own rows" in " ".join(out.split())
    code, _, err = run("anomalies", "runs", "--reference", "nope")
    assert code == 2
    assert "nope" in err
    assert "Traceback" not in err


def _readings(n: int, seed: int, surge: bool = False) -> pl.DataFrame:
    """``n`` runs of a temperature and a pressure, 40-80 readings each at uneven times; ``surge``
    adds a pressure surge no reference run has."""
    rng = np.random.default_rng(seed)
    parts = []
    for r in range(n):
        length = int(rng.integers(40, 80))
        t = np.sort(rng.uniform(0, 100, length))
        pressure = 1 + 0.2 * np.sin(t / 10) + rng.normal(0, 0.02, length)
        if surge:
            pressure += 0.6 * np.exp(-0.5 * ((t - rng.uniform(30, 70)) / 4) ** 2)
        parts.append(
            pl.DataFrame(
                {
                    "run": [f"{'S' if surge else 'N'}{seed}-{r}"] * length,
                    "t": t,
                    "temperature": 20 + 0.05 * t + rng.normal(0, 0.2, length),
                    "pressure": pressure,
                }
            )
        )
    return pl.concat(parts)


def test_runs_are_scored_run_by_run_naming_the_sensor() -> None:
    roles = {"run": "group", "t": "time"}
    reference = Table.from_frame(_readings(40, 20), roles=roles)  # type: ignore[arg-type]
    batch = Table.from_frame(
        pl.concat([_readings(12, 21), _readings(3, 22, surge=True)]),
        roles=roles,  # type: ignore[arg-type]
    )
    result = anomalies(batch, reference, seed=0)
    assert result.frame.height == 15  # one row per run, named
    assert result.frame["run"].to_list()[-3:] == ["S22-0", "S22-1", "S22-2"]
    flagged = result.frame.filter(pl.col("anomalous"))
    assert {"S22-0", "S22-1", "S22-2"} <= set(flagged["run"].to_list())
    assert flagged.height <= 4  # at most one of the 12 normal runs
    surged = result.frame.filter(pl.col("run").str.starts_with("S"))
    assert all(w.split(", ")[0] == "pressure" for w in surged["worst"])
