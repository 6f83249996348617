"""Sequence tasks: a long table of sensor readings (runs by a group column, ordered by a time
column, one label per run) trains one model of runs — each run resampled and summarised, folds
that keep runs whole — and predicts one row per new run; judged on runs it never saw."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from labsight.data.sequences import runs_table, sequence_spec
from labsight.data.table import Table
from labsight.exceptions import ExportError, InputError
from labsight.models._features import model_frame
from labsight.models._trust import trust_notes
from labsight.models.export import to_onnx
from labsight.models.predict import predict_table
from labsight.models.train import train

Run = Callable[..., tuple[int, str, str]]  # the CLI fixture of tests/conftest.py


def _runs(n: int, seed: int, start: int = 0, label: bool = True) -> pl.DataFrame:
    """``n`` runs of a temperature and a pressure, 40-90 readings at uneven times; every other run
    has a pressure surge at a random moment (its ``fault``)."""
    rng = np.random.default_rng(seed)
    parts = []
    for r in range(n):
        length = int(rng.integers(40, 90))
        t = np.sort(rng.uniform(0, 100, length))
        temperature = 20 + 0.05 * t + rng.normal(0, 0.3, length)
        pressure = 1 + 0.2 * np.sin(t / 10) + rng.normal(0, 0.03, length)
        fault = (start + r) % 2 == 1
        if fault:
            pressure += 0.5 * np.exp(-0.5 * ((t - rng.uniform(20, 80)) / 3) ** 2)
        part = pl.DataFrame(
            {
                "run": [f"R{start + r:03d}"] * length,
                "t [s]": t,
                "temperature [degC]": temperature,
                "pressure [bar]": pressure,
            }
        )
        if label:
            part = part.with_columns(pl.lit("fault" if fault else "ok").alias("state"))
        parts.append(part)
    return pl.concat(parts)


def _table(frame: pl.DataFrame) -> Table:
    return Table.from_frame(frame, roles={"run": "group", "t [s]": "time"})


def test_runs_line_up_whatever_their_length_and_sampling() -> None:
    frame = pl.DataFrame(
        {
            "run": ["b", "b", "b", "a", "a"],
            "t": [0.0, 10.0, 5.0, 0.0, 2.0],  # out of order within run b
            "x": [0.0, 20.0, 10.0, 1.0, None],  # a missing reading in run a
            "y": ["p", "p", "p", "q", "q"],
        }
    )
    table = Table.from_frame(frame, roles={"run": "group", "t": "time"})
    spec = sequence_spec(table, "y")
    assert spec is not None
    assert spec.sensors == ("x",)
    assert spec.length == 8  # the median run's readings, at least 8
    runs = runs_table(table, spec, "y")
    assert runs.frame["run"].to_list() == ["b", "a"]  # in order of first appearance
    assert runs.frame["y"].to_list() == ["p", "q"]
    grid = runs.frame.select(spec.grid("x")).to_numpy()
    assert np.allclose(grid[0], np.linspace(0.0, 20.0, 8))  # resampled along sorted time
    assert np.allclose(grid[1], 1.0)  # one reading: held
    assert runs.frame["x:slope"][0] == pytest.approx(2.0)
    assert runs.frame["run:duration"].to_list() == [10.0, 2.0]
    assert runs.frame["run:readings"].to_list() == [3.0, 2.0]
    assert runs.column("run").role == "group"  # folds keep each run whole


def test_only_one_label_per_run_makes_a_sequence_task() -> None:
    frame = _runs(6, 0)
    assert sequence_spec(_table(frame), "state") is not None
    changing = frame.with_columns(pl.col("pressure [bar]").alias("reading"))
    assert sequence_spec(_table(changing), "reading") is None  # a per-reading target
    assert sequence_spec(Table.from_frame(frame, roles={"run": "group"}), "state") is None
    texts = _table(frame.with_columns(pl.col("t [s]").cast(pl.String)))
    texts = Table.from_frame(texts.frame, roles={"run": "group", "t [s]": "time"})
    spec = sequence_spec(_table(frame), "state")
    assert spec is not None
    with pytest.raises(InputError, match="holds text"):
        runs_table(texts, spec)
    with pytest.raises(InputError, match="the runs need column 'pressure \\[bar\\]'"):
        runs_table(_table(frame.drop("pressure [bar]")), spec)


def test_a_model_of_runs_predicts_runs_it_never_saw(quick: None) -> None:
    model = train(_table(_runs(50, 1)), "state", budget=60, max_trials=6, seed=0)
    assert model.sequence is not None
    assert model.cv["grouping"] == "grouped by column 'run' (its role is group)"
    unseen = _runs(30, 2, start=100, label=False)
    out = predict_table(model, _table(unseen))
    assert out.height == 30  # one row per run
    assert out["run"].to_list() == [f"R{100 + r:03d}" for r in range(30)]
    truth = ["fault" if r % 2 else "ok" for r in range(100, 130)]
    assert np.mean(np.array(out["prediction"].to_list()) == np.array(truth)) >= 0.9
    assert model.importance is not None
    assert model.importance.row(0, named=True)["feature"] == "pressure [bar]"
    with pytest.raises(ExportError, match="reads runs of readings"):
        to_onnx(model, model.estimator)  # refused before anything is built


def test_the_cnn_reads_the_sensors_as_channels(quick: None) -> None:
    model = train(_table(_runs(50, 3)), "state", families=["cnn1d"], budget=180, max_trials=1)
    assert model.best == "cnn1d"
    network = model.estimator.calibrated_classifiers_[0].estimator[-1].module_
    assert network.channels == 2
    out = predict_table(model, _table(_runs(30, 4, start=200, label=False)))
    truth = ["fault" if r % 2 else "ok" for r in range(200, 230)]
    assert np.mean(np.array(out["prediction"].to_list()) == np.array(truth)) >= 0.7


def test_minirocket_reads_runs_and_spectra_and_saves_without_pickle(quick: None) -> None:
    from labsight.models._persist import TRUSTED_TYPES, asked_types, dumps, loads

    model = train(_table(_runs(40, 7)), "state", families=["rocket"], budget=120, max_trials=1)
    unseen = _table(_runs(40, 8, start=400, label=False))
    out = predict_table(model, unseen)
    truth = ["fault" if r % 2 else "ok" for r in range(400, 440)]
    assert np.mean(np.array(out["prediction"].to_list()) == np.array(truth)) >= 0.9
    data = dumps(model)
    assert set(asked_types(data)) <= TRUSTED_TYPES
    again = predict_table(loads(data, model.summary()), unseen)
    assert np.allclose(again["proba_fault"].to_numpy(), out["proba_fault"].to_numpy())
    # the same family on a spectrum: one channel of 120 points, regression
    rng = np.random.default_rng(9)
    axis = np.arange(120.0)
    c = rng.uniform(0, 10, 90)
    x = c[:, None] * np.exp(-0.5 * ((axis - 60) / 4) ** 2) + rng.normal(0, 0.05, (90, 120))
    frame = pl.DataFrame(x, schema=[f"{1000 + 2 * i}" for i in range(120)]).with_columns(
        pl.Series("c", c)
    )
    spectra = train(
        Table.from_frame(frame[:60]), "c", families=["rocket"], budget=120, max_trials=1
    )
    got = predict_table(spectra, Table.from_frame(frame[60:].drop("c")))["prediction"].to_numpy()
    assert np.sqrt(np.mean((got - c[60:]) ** 2)) < 0.5 * float(np.std(c[60:]))
    with pytest.raises(ExportError, match="MiniRocket"):
        to_onnx(spectra, model_frame(Table.from_frame(frame[60:]), spectra.features))


def test_the_cli_predicts_one_row_per_run_as_python_does(
    tmp_path: Path, run: Run, quick: None
) -> None:
    csv, new = tmp_path / "sensors.csv", tmp_path / "new.csv"
    _runs(30, 5).write_csv(csv)
    _runs(6, 6, start=300, label=False).write_csv(new)
    code, _, err = run("ingest", str(csv), "--name", "runs", "--group", "run", "--time", "t [s]")
    assert code == 0, err
    code, out, err = run("train", "runs", "--target", "state", "--budget", "30", "--trials", "3")
    assert code == 0, err
    said = " ".join(out.split())
    assert "grouped by column 'run'" in said
    assert "runs: one row per run of 'run'" in said
    preds = tmp_path / "preds.csv"
    code, _, err = run("predict", "runs-state", str(new), "--out", str(preds))
    assert code == 0, err
    import labsight

    ws = labsight.Workspace(run.home)  # type: ignore[attr-defined]
    api = ws.models.predict_file("runs-state", new).frame
    ws.close()
    cli = pl.read_csv(preds)
    assert cli["run"].to_list() == api["run"].to_list() == [f"R{300 + r:03d}" for r in range(6)]
    assert cli["prediction"].to_list() == api["prediction"].to_list()
    code, _, err = run("model", "export", "runs-state", "--format", "onnx")
    assert code == 1  # an export error, in one line
    assert "reads runs of readings" in err
    code, out, _ = run("model", "show", "runs-state")
    assert "2 sensors (temperature [degC], pressure [bar])" in " ".join(out.split())


@pytest.mark.parametrize("network", ["gru", "lstm", "transformer"])
def test_recurrent_and_attention_networks_classify_unseen_runs(network: str) -> None:
    """The estimators alone (train() with them is covered by the allow-list test): a network over
    the sensors' resampled points, judged on 30 runs it never saw, and rebuilt from its state."""
    from labsight.models._seqnet import SequenceNetClassifier

    seen = _table(_runs(40, 11))
    spec = sequence_spec(seen, "state")
    assert spec is not None
    runs = runs_table(seen, spec, "state")
    fresh = runs_table(_table(_runs(30, 12, start=500, label=False)), spec)
    columns = [n for s in spec.sensors for n in spec.grid(s)]
    x = runs.frame.select(columns).to_numpy()
    mean, sd = x.mean(axis=0), x.std(axis=0) + 1e-9
    model = SequenceNetClassifier(
        positions=tuple(range(len(columns))), channels=2, network=network, device="cpu"
    ).fit((x - mean) / sd, runs.frame["state"].to_numpy())
    unseen = (fresh.frame.select(columns).to_numpy() - mean) / sd
    truth = np.array(["fault" if r % 2 else "ok" for r in range(500, 530)])
    assert np.mean(model.predict(unseen) == truth) >= 0.8
    restored = SequenceNetClassifier.from_state(model.to_state())
    assert np.allclose(restored.predict_proba(unseen), model.predict_proba(unseen))


def _cells(n: int, seed: int, start: int = 0) -> pl.DataFrame:
    """Runs one per row: a batch id, the temperatures as a list in one cell, the fault."""
    import json

    rng = np.random.default_rng(seed)
    rows = []
    for r in range(start, start + n):
        fault = r % 2 == 1
        length = int(rng.integers(30, 60))
        t = np.arange(length)
        bump = 3 * np.exp(-0.5 * ((t - length / 2) / 3) ** 2) if fault else 0.0
        temp = 20 + 0.1 * t + rng.normal(0, 0.3, length) + bump
        rows.append(
            {
                "batch": f"B{r}",
                "temperature [degC]": json.dumps(np.round(temp, 3).tolist()),
                "fault": "fault" if fault else "ok",
            }
        )
    return pl.DataFrame(rows)


def test_runs_stored_one_per_row_as_lists_in_cells_train_and_predict(
    tmp_path: Path, quick: None
) -> None:
    from labsight.data.ingest import read_table

    csv = tmp_path / "batches.csv"
    _cells(30, seed=1).write_csv(csv)
    table = read_table(csv).with_roles({"batch": "id"})
    assert table.column("temperature [degC]").role == "feature"  # readings, not row names
    broken = _cells(12, seed=3).with_columns(
        pl.Series("temperature [degC]", ["[20.1, abc, 20.3]"] + ["[1.0, 2.0, 3.0]"] * 11)
    )
    broken.write_csv(tmp_path / "broken.csv")
    with pytest.raises(InputError, match="not a list of numbers") as caught:
        train(read_table(tmp_path / "broken.csv"), "fault", budget=5)
    assert caught.value.line == 2
    assert str(tmp_path / "broken.csv") in str(caught.value)  # one broken cell: an error, not a
    # sensor silently left out
    model = train(table, "fault", budget=30, families=["rocket", "logistic"])
    assert model.sequence is not None
    assert model.sequence.cells == ("temperature [degC]",)
    assert model.sequence.group == "batch"
    notes = " ".join(text for _, text in trust_notes(model.summary()))
    assert "lists in the cells of 'temperature [degC]'" in notes
    unseen = _cells(20, seed=2, start=100)
    out = predict_table(model, Table.from_frame(unseen.drop("fault")))
    assert out["batch"].to_list() == unseen["batch"].to_list()
    assert np.mean(np.array(out["prediction"].to_list()) == unseen["fault"].to_numpy()) >= 0.9
    bad = unseen.head(3).with_columns(
        pl.Series("temperature [degC]", ["[1, 2, 3]", "[1, two, 3]", "[4]"])
    )
    with pytest.raises(InputError, match="not a list of numbers"):
        predict_table(model, Table.from_frame(bad.drop("fault")))
