"""Models of spectra: the table's spectrum is known to the features, PLS and the 1-D CNN compete
where they apply, importance is measured band by band (and drawn over the mean spectrum), the
spectral models save without pickle and export to ONNX, and small tables are scored pooled.
Every model is judged on spectra it never saw. (Budgets are generous: with ``max_trials`` set a
training ends when its trials are done, and a busy machine must not starve the network's folds.)"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from sklearn.base import clone

from labsight.data.table import Table
from labsight.exceptions import ArtifactIntegrityError, InputError
from labsight.models._candidate import Problem
from labsight.models._families import FAMILIES, families_for, spectrum_positions
from labsight.models._features import model_frame, select_features
from labsight.models._folds import make_folds
from labsight.models._persist import TRUSTED_TYPES, asked_types, dumps, loads
from labsight.models._task import metric_for
from labsight.models.predict import predictions
from labsight.models.train import train

CHANNELS = 120
PEAK = 60  # the analyte's band: channel 60, named "1120"


def _spectra(n: int, seed: int, extra: bool = False) -> pl.DataFrame:
    """``n`` spectra of an analyte at concentration ``c`` (a band at channel 60) over an
    interfering band of random height, with a little noise; ``extra`` adds a temperature."""
    rng = np.random.default_rng(seed)
    axis = np.arange(CHANNELS, dtype=np.float64)
    c = rng.uniform(0, 10, n)
    band = np.exp(-0.5 * ((axis - PEAK) / 4) ** 2)
    other = np.exp(-0.5 * ((axis - 90) / 8) ** 2)
    x = (
        c[:, None] * band
        + rng.uniform(0, 5, n)[:, None] * other
        + rng.normal(0, 0.02, (n, CHANNELS))
    )
    names = [f"{1000 + 2 * i}" for i in range(CHANNELS)]
    frame = pl.DataFrame(x, schema=names).with_columns(pl.Series("c", c))
    if extra:
        frame = frame.with_columns(pl.Series("T [degC]", rng.uniform(20, 30, n)))
    return frame


def _rmse(model: object, frame: pl.DataFrame) -> float:
    got = predictions(model, Table.from_frame(frame.drop("c")))["prediction"].to_numpy()  # type: ignore[arg-type]
    return float(np.sqrt(np.mean((got - frame["c"].to_numpy()) ** 2)))


def test_the_features_know_the_spectrum_in_axis_order() -> None:
    frame = _spectra(10, 0, extra=True)
    shuffled = frame.select(["T [degC]", *reversed(frame.columns[:CHANNELS]), "c"])
    fs, _ = select_features(Table.from_frame(shuffled), "c")
    assert fs.spectrum == tuple(f"{1000 + 2 * i}" for i in range(CHANNELS))
    assert "T [degC]" in fs.numeric
    assert "T [degC]" not in fs.spectrum
    # where the channels sit among the preprocessed columns: reversed, after the temperature
    assert spectrum_positions(fs) == tuple(range(CHANNELS, 0, -1))
    # with most channels excluded, what is left is no spectrum
    fewer, _ = select_features(Table.from_frame(frame), "c", exclude=frame.columns[:80])
    assert fewer.spectrum == ()


def test_spectral_families_apply_where_the_inputs_call_for_them() -> None:
    spectrum, _ = select_features(Table.from_frame(_spectra(10, 0)), "c")
    plain, _ = select_features(
        Table.from_frame(pl.DataFrame({"a": [1.0, 2.0], "b": [3.0, 1.0], "c": [0.0, 1.0]})), "c"
    )
    on_spectra = {f.name for f in families_for("regression", 60, None, spectrum)}
    on_plain = {f.name for f in families_for("regression", 60, None, plain)}
    assert {"pls", "cnn1d"} <= on_spectra
    assert not {"pls", "cnn1d"} & on_plain
    # PLS asked for by name runs on any table; the CNN needs a spectrum, and says so
    assert [f.name for f in families_for("regression", 60, ["pls"], plain)] == ["pls"]
    with pytest.raises(InputError, match="cnn1d reads a spectrum, and the table has none"):
        train(
            Table.from_frame(pl.DataFrame({"a": [float(i) for i in range(12)], "c": [1.0] * 12})),
            "c",
            families=["cnn1d"],
            budget=20,
        )


def test_pls_and_pls_da_predict_spectra_they_never_saw(quick: None) -> None:
    seen, unseen = _spectra(60, 1), _spectra(40, 2)
    model = train(Table.from_frame(seen), "c", families=["pls"], budget=60, max_trials=4)
    assert _rmse(model, unseen) < 0.1 * float(unseen["c"].std())
    high = pl.col("c") > 5
    label = pl.when(high).then(pl.lit("high")).otherwise(pl.lit("low")).alias("level")
    cls = train(
        Table.from_frame(seen.with_columns(label).drop("c")),
        "level",
        families=["pls"],
        budget=30,
        max_trials=4,
    )
    out = predictions(cls, Table.from_frame(unseen.drop("c")))
    truth = np.where(unseen["c"].to_numpy() > 5, "high", "low")
    assert float(np.mean(out["prediction"].to_numpy() == truth)) >= 0.9
    assert np.allclose(out["proba_high"].to_numpy() + out["proba_low"].to_numpy(), 1.0)


def test_the_cnn_learns_a_band_reproducibly_and_saves_without_pickle(quick: None) -> None:
    seen, unseen = _spectra(80, 3, extra=True), _spectra(40, 4, extra=True)
    table = Table.from_frame(seen)
    model = train(table, "c", families=["cnn1d"], budget=180, max_trials=1, seed=7)
    assert model.best == "cnn1d"
    spread = float(unseen["c"].std())
    error = _rmse(model, unseen)
    assert error < 0.5 * spread, (error, spread)  # far better than the mean on unseen spectra
    # the same seed, the same network: the fitted pipeline refitted gives the same predictions
    frame = Table.from_frame(unseen.drop("c"))
    x_seen = model_frame(table, model.features)
    again = clone(model.estimator).fit(x_seen, seen["c"].to_numpy())
    x_unseen = model_frame(frame, model.features)
    assert np.array_equal(
        again.predict(x_unseen),
        clone(model.estimator).fit(x_seen, seen["c"].to_numpy()).predict(x_unseen),
    )
    assert np.allclose(again.predict(x_unseen), model.estimator.predict(x_unseen))
    data = dumps(model)
    assert set(asked_types(data)) <= TRUSTED_TYPES
    assert "labsight.models._cnn1d.SpectrumCNNRegressor" in asked_types(data)
    restored = loads(data, model.summary())
    assert np.allclose(
        predictions(restored, frame)["prediction"].to_numpy(),
        predictions(model, frame)["prediction"].to_numpy(),
    )
    # a file whose network would read channels the inputs do not have is refused on loading
    model.estimator[-1].positions = (0, 10**6)
    with pytest.raises(ArtifactIntegrityError, match="could not be read safely"):
        loads(dumps(model), model.summary())


def test_importance_names_the_band_that_carries_the_analyte(quick: None) -> None:
    seen = _spectra(60, 5, extra=True)
    model = train(Table.from_frame(seen), "c", families=["pls"], budget=60, max_trials=2)
    assert model.importance is not None
    top = model.importance.row(0, named=True)["feature"]
    first, last = (float(v) for v in top.split("–"))
    assert first <= 1000 + 2 * PEAK <= last  # the band holding channel 60 ("1120")
    summary = model.summary()
    assert summary["importance_measured"] == (
        f"the spectrum's {CHANNELS} channels in 24 bands, and 1 of 1 other features"
    )
    assert "T [degC]" in set(model.importance["feature"])
    figure = model.figures()["spectrum"]
    bars, line = figure.data
    assert len(line.x) == CHANNELS
    assert np.allclose(line.y, seen.select(seen.columns[:CHANNELS]).mean().row(0))
    tallest = bars.x[int(np.argmax(bars.y))]
    assert abs(tallest - (1000 + 2 * PEAK)) <= 10  # the tallest bar stands on the analyte's band
    restored = loads(dumps(model), summary)
    assert restored.spectrum_mean == model.spectrum_mean


@pytest.mark.parametrize("family", ["pls", "cnn1d"])
@pytest.mark.parametrize("task", ["regression", "classification"])
def test_spectral_families_export_to_onnx_as_they_predict(
    family: str, task: str, few_epochs: None
) -> None:
    import onnxruntime as ort

    from labsight.models.export import feeds_for, to_onnx

    seen, unseen = _spectra(50, 6, extra=True), _spectra(20, 7, extra=True)
    target = "c"
    if task == "classification":
        level = pl.when(pl.col("c") > 5).then(pl.lit("high")).otherwise(pl.lit("low"))
        seen = seen.with_columns(level.alias("level")).drop("c")
        unseen = unseen.with_columns(level.alias("level")).drop("c")
        target = "level"
    model = train(Table.from_frame(seen), target, families=[family], budget=180, max_trials=1)
    fresh = Table.from_frame(unseen.drop(target))
    exported = to_onnx(model, model_frame(fresh, model.features))
    assert exported.max_difference < 1e-3
    session = ort.InferenceSession(exported.data, providers=["CPUExecutionProvider"])
    got = session.run(None, feeds_for(model, model_frame(fresh, model.features)))
    want = predictions(model, fresh)
    if task == "regression":
        spread = float(want["prediction"].std())
        assert np.allclose(got[0], want["prediction"].to_numpy(), atol=1e-3 * spread)
    else:
        assert got[0].tolist() == want["prediction"].to_list()
        assert np.allclose(got[1][:, 0], want["proba_high"].to_numpy(), atol=1e-4)


def test_a_small_table_is_scored_whole_per_repeat() -> None:
    """An R² of four held-out rows is mostly noise: 21 rows in 5 folds are scored pooled, each
    repeat of the folds on all its out-of-fold predictions (3 repeats, 3 scores)."""
    y = np.linspace(0.0, 1.0, 21)
    folds = make_folds(y, classification=False, seed=0)
    assert folds.pooled
    assert folds.repeats == 3
    assert not folds.leave_one_out
    assert not make_folds(np.linspace(0.0, 1.0, 60), classification=False, seed=0).pooled
    frame = _spectra(21, 8)
    fs, _ = select_features(Table.from_frame(frame), "c")
    problem = Problem(
        model_frame(Table.from_frame(frame), fs),
        frame["c"].to_numpy(),
        fs,
        "regression",
        metric_for(None, "regression"),
        folds,
    )
    oof = np.stack([y + 0.01 * r for r in range(3)])
    assert len(problem.repeat_scores(oof)) == 3
    model = train(Table.from_frame(frame), "c", families=["pls"], budget=20, max_trials=1)
    assert model.cv["scheme"] == "5-fold × 3 repeats, pooled"
    assert len(model.leaderboard[0]["params"]) == 1
    assert model.leaderboard[0]["folds"] == 3
    assert FAMILIES["pls"].min_numbers == 10
