"""Forecasting runs: ``train(..., forecast=N)`` learns a signal's next N readings from each run's
latest ones, scored on runs it never saw; predict answers one row per run and step ahead, the CLI
as Python; bad set-ups are refused in one line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

from labsight.data.table import Table
from labsight.exceptions import ExportError, InputError
from labsight.models.predict import predict_table
from labsight.models.train import train


def _runs(n: int, readings: int, seed: int, prefix: str = "R") -> tuple[pl.DataFrame, dict]:
    """Oscillating temperatures (amplitude given by a second sensor), and each run's next 10."""
    rng = np.random.default_rng(seed)
    rows, future = [], {}
    for r in range(n):
        amp, speed, phase = rng.uniform(0.5, 2), rng.uniform(0.15, 0.3), rng.uniform(0, 6)
        for t in range(readings):
            temp = 50 + 10 * amp * np.sin(speed * t + phase) + 0.2 * rng.normal()
            rows.append((f"{prefix}{r:02d}", float(2 * t), temp, amp))
        future[f"{prefix}{r:02d}"] = [
            50 + 10 * amp * np.sin(speed * t + phase) for t in range(readings, readings + 10)
        ]
    frame = pl.DataFrame(rows, schema=["run", "t", "temperature [degC]", "amp"], orient="row")
    return frame, future


def _table(frame: pl.DataFrame) -> Table:
    return Table.from_frame(frame, roles={"run": "group", "t": "time"})


def test_a_forecast_of_unseen_runs_follows_them_within_its_intervals(quick: None) -> None:
    frame, _ = _runs(16, 80, seed=0)
    model = train(
        _table(frame), "temperature [degC]", forecast=10, budget=30, families=["ridge", "knn"]
    )
    assert model.forecast is not None
    assert model.forecast.horizon == 10
    assert model.cv["grouping"].startswith("grouped by column 'run'")
    # judged against persistence (the latest reading), which a mean-of-rows baseline flatters
    assert model.baseline is not None
    assert model.baseline["predicts"] == "the latest reading (persistence)"
    assert model.baseline["model_score"] > model.baseline["score"]
    assert model.better_than_baseline is True
    new, future = _runs(4, 50, seed=1, prefix="N")
    out = predict_table(model, _table(new))
    assert out.height == 40
    assert out.columns[:3] == ["run", "step", "t"]
    first = out.filter(pl.col("run") == "N00")
    assert first["step"].to_list() == list(range(1, 11))
    assert first["t"].to_list() == [98.0 + 2 * h for h in range(1, 11)]  # spacing 2 after t=98
    truth = np.concatenate([future[r] for r in ("N00", "N01", "N02", "N03")])
    got = out["prediction"].to_numpy()
    assert np.sqrt(np.mean((got - truth) ** 2)) < 0.5 * np.std(truth)
    inside = (truth >= out["lower"].to_numpy()) & (truth <= out["upper"].to_numpy())
    assert inside.mean() >= 0.7
    from labsight.models.export import to_onnx

    with pytest.raises(ExportError, match="forecasts runs"):
        to_onnx(model, None)  # type: ignore[arg-type]


def test_the_cli_forecasts_as_python_does(run: Any, tmp_path: Path, quick: None) -> None:
    frame, _ = _runs(10, 60, seed=2)
    new, _ = _runs(2, 40, seed=3, prefix="N")
    csv, new_csv, out = tmp_path / "runs.csv", tmp_path / "new.csv", tmp_path / "out.csv"
    frame.write_csv(csv)
    new.write_csv(new_csv)
    code, _, err = run("ingest", str(csv), "--name", "runs", "--group", "run", "--time", "t")
    assert code == 0, err
    code, stdout, err = run(
        "train",
        "runs",
        "--target",
        "temperature [degC]",
        "--forecast",
        "5",
        "--budget",
        "20",
        "--families",
        "ridge",
    )
    assert code == 0, err
    assert "forecast: the next 5 readings of 'temperature [degC]'" in " ".join(stdout.split())
    code, _, err = run("predict", "runs-temperature--degc", str(new_csv), "--out", str(out))
    assert code == 0, err
    import labsight

    ws = labsight.Workspace(run.home)
    api = ws.models.predict_file("runs-temperature--degc", new_csv).frame
    ws.close()
    cli = pl.read_csv(out)
    assert cli["run"].to_list() == api["run"].to_list() == ["N00"] * 5 + ["N01"] * 5
    assert np.allclose(cli["prediction"].to_numpy(), api["prediction"].to_numpy())
    code, _, err = run("model", "export", "runs-temperature--degc", "--format", "onnx")
    assert code == 1  # an export error, in one line
    assert "forecasts runs" in err
    code, _, err = run(
        "train", "runs", "--target", "temperature [degC]", "--forecast", "0", "--budget", "5"
    )
    assert code == 2
    assert "--forecast 0" in err


def test_forecasts_refuse_what_they_cannot_read(tmp_path: Path, quick: None) -> None:
    frame, _ = _runs(6, 30, seed=4)
    with pytest.raises(InputError, match="reads runs of readings"):
        train(Table.from_frame(frame), "temperature [degC]", forecast=5, budget=5)
    with pytest.raises(InputError, match="too short"):
        train(_table(frame), "temperature [degC]", forecast=40, budget=5)
    labelled = frame.with_columns(state=pl.lit("ok"))
    with pytest.raises(InputError, match="not a number"):
        train(_table(labelled), "state", forecast=5, budget=5)
    # families as one text, as the command line takes them
    model = train(_table(frame), "temperature [degC]", forecast=5, budget=10, families="ridge")  # type: ignore[arg-type]
    assert model.best == "ridge"
    short, _ = _runs(1, 4, seed=5, prefix="S")
    with pytest.raises(InputError, match="run 'S00' has 4 readings"):
        predict_table(model, _table(short))
