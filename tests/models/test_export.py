"""ONNX export: every family's graph, run in onnxruntime on rows the model never saw, gives what
labsight gives — predictions with their CV+ or Gaussian-process intervals, calibrated
probabilities — and what cannot be exported says so."""

from __future__ import annotations

import copy
import functools
from typing import Any

import numpy as np
import onnxruntime as ort
import polars as pl
import pytest
from sklearn.calibration import CalibratedClassifierCV

from labsight.data.table import Table
from labsight.exceptions import ExportError
from labsight.models._conformal import CVPlus
from labsight.models._families import FAMILIES
from labsight.models._features import model_frame
from labsight.models._folds import make_folds
from labsight.models._search import Candidate
from labsight.models.export import feeds_for, to_onnx
from labsight.models.predict import predict_table
from labsight.models.train import TrainedModel, build_final, train


def _frame(n: int, seed: int) -> pl.DataFrame:
    """Reactions with a unit, a gap-ridden column and a category with missing cells."""
    rng = np.random.default_rng(seed)
    t = rng.uniform(20, 100, n)
    time = rng.uniform(1, 60, n)
    cat = rng.choice(["Pd", "Ni", "Cu"], n).astype(object)
    y = 0.3 * t + 0.1 * time + np.where(cat == "Pd", 4.0, 0.0) + rng.normal(0, 1, n)
    time[::7] = np.nan
    cat[::11] = None
    grade = np.where(
        y > np.quantile(y, 0.66), "high", np.where(y > np.quantile(y, 0.33), "mid", "low")
    )
    return pl.DataFrame(
        {
            "T [degC]": t,
            "time [min]": time,
            "catalyst": list(cat),
            "yield [%]": y,
            "grade": grade,
            "pass": np.where(y > np.median(y), "yes", "no"),
        },
        strict=False,
    ).with_columns(pl.col("time [min]").fill_nan(None))


def _table(frame: pl.DataFrame, target: str) -> Table:
    keep = [c for c in ("T [degC]", "time [min]", "catalyst") if c in frame.columns]
    return Table.from_frame(
        frame.select(*keep, *([target] if target in frame.columns else [])),
        roles={target: "target", "catalyst": "condition"}
        if target in frame.columns
        else {"catalyst": "condition"},
        units={"T [degC]": "degC", "time [min]": "min"},
    )


TRAIN, FRESH = _frame(120, 0), _frame(60, 1)


def _session(model: TrainedModel) -> ort.InferenceSession:
    exported = to_onnx(model, model_frame(_table(TRAIN, model.target), model.features))
    assert exported.checked_rows == 120
    assert exported.max_difference < 1e-3
    return ort.InferenceSession(exported.data, providers=["CPUExecutionProvider"])


def _fresh_rows(model: TrainedModel) -> tuple[dict[str, np.ndarray], pl.DataFrame]:
    table = _table(FRESH.drop("yield [%]", "grade", "pass"), model.target)
    return feeds_for(model, model_frame(table, model.features)), predict_table(model, table)


def _assert_regression_matches(model: TrainedModel) -> None:
    feeds, expected = _fresh_rows(model)
    prediction, lower, upper = _session(model).run(["prediction", "lower", "upper"], feeds)
    spread = float(expected["prediction"].std())
    for got, column in ((prediction, "prediction"), (lower, "lower"), (upper, "upper")):
        assert got.shape == (60,)
        np.testing.assert_allclose(got, expected[column].to_numpy(), atol=1e-3 * spread)
    assert np.all(lower <= prediction + 1e-9)
    assert np.all(prediction <= upper + 1e-9)


REGRESSION_FAMILIES = [
    f
    for f, fam in FAMILIES.items()
    if "regression" in fam.tasks and not fam.spectral and not fam.image
]
CLASSIFICATION_FAMILIES = [
    f
    for f, fam in FAMILIES.items()
    if "classification" in fam.tasks
    and f != "gaussian_process"
    and not fam.spectral
    and not fam.image
]  # the spectral families (they need a spectrum) export in tests/models/test_spectra_models.py;
# image models refuse (tests/models/test_images.py)
_SMALL = {"n_estimators": 20}  # forests and boosting: enough trees to export, quick to fit


@functools.cache
def _template(target: str) -> TrainedModel:
    """A model trained by train() (one cheap family), whose estimator the tests replace."""
    family = "ridge" if target == "yield [%]" else "logistic"
    return train(_table(TRAIN, target), target, families=[family], max_trials=1, budget=30)


def _model(target: str, families: list[str]) -> TrainedModel:
    """A model of ``families`` (a vote when several) built as train() builds its winner: refit
    on all rows with CV+ fold models (regression) or sigmoid calibration on the folds."""
    model = copy.copy(_template(target))
    table = _table(TRAIN, target)
    x = model_frame(table, model.features)
    regression = model.task == "regression"
    y = TRAIN[target].to_numpy().astype(np.float64 if regression else object)

    def params(f: str) -> dict[str, Any]:
        small = _SMALL if f in ("random_forest", "extra_trees", "lightgbm") else {}
        return {**FAMILIES[f].defaults, **small}

    members = [Candidate(f, params(f), [0.0], 0.01, i, np.zeros(0)) for i, f in enumerate(families)]
    best = (
        members[0]
        if len(members) == 1
        else Candidate("ensemble", {}, [0.0], 0.03, -1, np.zeros(0), members=members)
    )
    model.best = best.name

    def make() -> Any:
        return build_final(best, model.features, model.task, 0)

    partition = make_folds(y, classification=not regression, seed=0).first_partition()
    if regression:
        model.estimator = make().fit(x, y)
        model.intervals = CVPlus.from_folds(make, x, y, partition)
        model.interval_method = "cv+"
    else:
        model.estimator = CalibratedClassifierCV(
            make(), method="sigmoid", cv=partition, ensemble=False
        ).fit(x, y)
    return model


def test_a_model_from_train_exports_its_prediction_and_interval() -> None:
    model = train(
        _table(TRAIN, "yield [%]"),
        "yield [%]",
        families=["lightgbm", "ridge"],
        max_trials=2,
        budget=30,
    )
    _assert_regression_matches(model)


@pytest.mark.parametrize("family", REGRESSION_FAMILIES)
def test_every_regression_family_exports_its_prediction_and_cv_plus_interval(family: str) -> None:
    _assert_regression_matches(_model("yield [%]", [family]))


def test_a_gaussian_process_exports_its_own_posterior_interval() -> None:
    model = _model("yield [%]", ["gaussian_process"])
    model.interval_method = "gp"  # what train picks when the posterior covers better on CV
    _assert_regression_matches(model)


def test_an_ensemble_regressor_exports_the_mean_of_its_members_with_intervals() -> None:
    _assert_regression_matches(_model("yield [%]", ["ridge", "lightgbm", "gaussian_process"]))


def _assert_classification_matches(model: TrainedModel) -> None:
    feeds, expected = _fresh_rows(model)
    label, proba = _session(model).run(["prediction", "probabilities"], feeds)
    classes = [str(c) for c in model.estimator.classes_]
    want = np.column_stack([expected[f"proba_{c}"].to_numpy() for c in classes])
    np.testing.assert_allclose(proba, want, atol=1e-4)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-9)
    assert label.tolist() == [str(v) for v in expected["prediction"].to_list()]


@pytest.mark.parametrize(
    ("target", "family"), [(t, f) for t in ("pass", "grade") for f in CLASSIFICATION_FAMILIES]
)
def test_every_classifier_exports_calibrated_probabilities(target: str, family: str) -> None:
    _assert_classification_matches(_model(target, [family]))


def test_an_ensemble_classifier_exports_its_soft_vote_calibrated() -> None:
    _assert_classification_matches(_model("grade", ["logistic", "random_forest", "mlp"]))


def test_missing_cells_are_nan_and_an_empty_string_like_labsight() -> None:
    model = train(
        _table(TRAIN, "yield [%]"), "yield [%]", families=["ridge"], max_trials=1, budget=30
    )
    session = _session(model)
    row = {"T [degC]": [[50.0]], "time [min]": [[np.nan]], "catalyst": [[""]]}
    feeds = {
        k: np.asarray(v, dtype=object if k == "catalyst" else np.float64) for k, v in row.items()
    }
    (got,) = session.run(["prediction"], feeds)
    table = _table(
        pl.DataFrame(
            {"T [degC]": [50.0], "time [min]": [None], "catalyst": [None]},
            schema_overrides={"time [min]": pl.Float64, "catalyst": pl.String},
        ),
        "yield [%]",
    )
    want = predict_table(model, table)["prediction"][0]
    assert got[0] == pytest.approx(want, rel=1e-5)


def test_the_graph_carries_names_units_and_the_interval_in_its_metadata() -> None:
    model = train(
        _table(TRAIN, "yield [%]"), "yield [%]", families=["ridge"], max_trials=1, budget=30
    )
    session = _session(model)
    inputs = {i.name: i.type for i in session.get_inputs()}
    assert inputs == {
        "T [degC]": "tensor(double)",
        "time [min]": "tensor(double)",
        "catalyst": "tensor(string)",
    }
    meta = session.get_modelmeta().custom_metadata_map
    assert meta["labsight.target"] == "yield [%]"
    assert meta["labsight.interval_method"] == "cv+"
    assert float(meta["labsight.interval_level"]) == 0.9
    assert '"unit": "degC"' in meta["labsight.features"]


def test_a_gaussian_process_classifier_is_refused_in_one_line() -> None:
    model = _model("pass", ["gaussian_process"])
    with pytest.raises(
        ExportError, match=r"Gaussian process classifier has no ONNX form.*--families"
    ):
        to_onnx(model, model_frame(_table(TRAIN, "pass"), model.features))
