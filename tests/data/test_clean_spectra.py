"""Spectral preprocessing as a cleaning step: each spectrum transformed on its own (so a plan
replays on a new batch exactly as on the first), gaps filled along the axis, clear refusals, and a
model of a derivative spectrum judged on spectra it never saw."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest
from scipy.signal import savgol_filter

import labsight
from labsight.data.clean import apply_plan, build_plan
from labsight.data.clean._steps_spectra import transform
from labsight.data.table import Table
from labsight.exceptions import InputError

CHANNELS = 120


def _spectra(n: int, seed: int) -> pl.DataFrame:
    """``n`` spectra of a compound at concentration ``c`` (a band at channel 60) over an
    interfering band of random height, each on its own offset and sloping baseline."""
    rng = np.random.default_rng(seed)
    axis = np.arange(CHANNELS, dtype=np.float64)
    c = rng.uniform(0, 10, n)
    band = np.exp(-0.5 * ((axis - 60) / 4) ** 2)
    other = np.exp(-0.5 * ((axis - 75) / 10) ** 2)
    offset = rng.normal(0, 3, n)[:, None]
    slope = rng.normal(0, 0.05, n)[:, None]
    x = (
        c[:, None] * band
        + rng.uniform(0, 5, n)[:, None] * other
        + offset
        + slope * axis
        + rng.normal(0, 0.01, (n, CHANNELS))
    )
    names = [f"{1000 + 2 * i}" for i in range(CHANNELS)]
    return pl.DataFrame(x, schema=names).with_columns(pl.Series("c [mmol/L]", c))


@pytest.mark.parametrize("method", ["derivative", "second-derivative", "smooth"])
def test_savitzky_golay_steps_are_scipys_filter_along_the_axis(method: str) -> None:
    frame = _spectra(5, 1)
    table = Table.from_frame(frame)
    cleaned = apply_plan(table, build_plan(table, spectra=method)).table.frame
    x = frame.drop("c [mmol/L]").to_numpy()
    deriv = {"derivative": 1, "second-derivative": 2, "smooth": 0}[method]
    expected = savgol_filter(x, 15, 2, deriv=deriv, axis=1)
    assert np.allclose(cleaned.drop("c [mmol/L]").to_numpy(), expected, atol=1e-12)
    assert cleaned["c [mmol/L]"].to_list() == frame["c [mmol/L]"].to_list()  # the rest as it was


def test_snv_and_baseline_act_on_each_spectrum_alone() -> None:
    x = _spectra(6, 2).drop("c [mmol/L]").to_numpy()
    snv = transform(x, "snv")
    assert np.allclose(snv.mean(axis=1), 0)
    assert np.allclose(snv.std(axis=1), 1)
    line = np.outer(np.linspace(1, 3, 6), np.arange(CHANNELS)) + 7.0
    assert np.allclose(transform(x + line, "baseline"), transform(x, "baseline"), atol=1e-9)


def test_a_plan_replays_on_a_new_batch_as_it_ran_on_the_first() -> None:
    """Nothing is learned from the training rows: the plan fitted on one batch transforms the
    next exactly as a plan fitted on that batch would."""
    first, second = Table.from_frame(_spectra(8, 3)), Table.from_frame(_spectra(4, 4))
    plan = build_plan(first, spectra="derivative")
    assert plan.steps[0].op == "spectra"
    assert len(plan.steps[0].columns or []) == CHANNELS
    replayed = apply_plan(second, plan).table.frame
    own = apply_plan(second, build_plan(second, spectra="derivative")).table.frame
    assert replayed.equals(own)


def test_a_missing_channel_is_filled_from_its_neighbours_and_said() -> None:
    frame = _spectra(3, 5)
    hole = frame.with_columns(
        pl.when(pl.int_range(3) == 1).then(None).otherwise(pl.col("1100")).alias("1100")
    )
    result = apply_plan(
        Table.from_frame(hole), build_plan(Table.from_frame(frame), spectra="smooth")
    )
    filled = [c for c in result.changes if c["method"] == "interpolate"]
    assert filled
    assert filled[0]["rows"] == [1]
    x = hole.drop("c [mmol/L]").to_numpy().copy()
    x[1, 50] = (x[1, 49] + x[1, 51]) / 2  # channel 1100 is the 51st
    assert np.allclose(
        result.table.frame.drop("c [mmol/L]").to_numpy(), savgol_filter(x, 15, 2, axis=1)
    )


def test_no_spectrum_a_text_channel_and_a_lost_channel_are_refused() -> None:
    with pytest.raises(InputError, match="--spectra needs a spectrum: at least 50 numeric columns"):
        build_plan(
            Table.from_frame(pl.DataFrame({"a": [1.0, 2.0], "b": [3.0, 4.0]})), spectra="snv"
        )
    frame = _spectra(3, 6)
    plan = build_plan(Table.from_frame(frame), spectra="snv")
    text = frame.with_columns(pl.col("1010").cast(pl.String))
    with pytest.raises(InputError, match="channel '1010' of the spectrum holds text"):
        apply_plan(Table.from_frame(text), plan)
    with pytest.raises(InputError, match="1010"):
        apply_plan(Table.from_frame(frame.drop("1010")), plan)
    with pytest.raises(InputError, match="unknown --spectra method 'wiggle'"):
        build_plan(Table.from_frame(frame), spectra="wiggle")  # type: ignore[arg-type]


def test_a_model_of_the_derivative_spectra_predicts_unseen_spectra_better(tmp_path: Path) -> None:
    """Offsets and sloping baselines that differ from sample to sample hide the band; the first
    derivative removes them. Both models are judged on 30 spectra they never saw, each predicted
    through labsight predict, which replays the cleaning plan on the raw spectra."""
    train_csv, new = tmp_path / "train.csv", _spectra(30, 8)
    _spectra(40, 7).write_csv(train_csv)
    with labsight.Workspace(tmp_path / "home", user="tester") as ws:
        raw = ws.ingest(train_csv, name="spectra")
        cleaned = ws.clean(raw.ref, spectra="derivative")
        errors = {}
        for name, version in (("raw", raw), ("derivative", cleaned)):
            record, _ = ws.models.train(
                version.ref, "c [mmol/L]", budget=20, families=["ridge"], max_trials=4, name=name
            )
            got = ws.models.predict(record.ref, Table.from_frame(new.drop("c [mmol/L]")))
            errors[name] = float(
                np.sqrt(np.mean((got["prediction"].to_numpy() - new["c [mmol/L]"].to_numpy()) ** 2))
            )
    assert errors["derivative"] < 0.5 * errors["raw"], errors
