"""The compiled replay of a pipeline (the server's hot path) gives scikit-learn's answers exactly,
or is not used."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from labsight.data.table import Table
from labsight.models._compiled import compile_model, compiled
from labsight.models.predict import predict_table
from labsight.models.train import train


def _frame(n: int, seed: int) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    t = rng.uniform(40, 90, n)
    minutes = rng.uniform(10, 60, n)
    catalyst = rng.choice(["Pd-A", "Pd-B", "Ni"], n)
    y = 0.5 * t + 0.2 * minutes + np.where(catalyst == "Ni", -5.0, 0.0) + rng.normal(0, 1, n)
    frame = pl.DataFrame(
        {"temperature [degC]": t, "time [min]": minutes, "catalyst": catalyst, "yield": y}
    )
    # missing cells in every column the model reads
    return frame.with_columns(
        pl.when(pl.int_range(n) % 7 == 3)
        .then(None)
        .otherwise(pl.col("time [min]"))
        .alias("time [min]"),
        pl.when(pl.int_range(n) % 11 == 5)
        .then(None)
        .otherwise(pl.col("catalyst"))
        .alias("catalyst"),
    )


@pytest.mark.parametrize("family", ["ridge", "random_forest", "lightgbm", "svm"])
def test_the_compiled_replay_predicts_exactly_as_scikit_learn(family: str) -> None:
    model = train(
        Table.from_frame(_frame(80, 0)), "yield", budget=30, families=[family], max_trials=2
    )
    assert compile_model(model) is not None
    new = (
        _frame(40, 1)
        .drop("yield")
        .with_columns(  # a level never seen in training
            pl.when(pl.int_range(40) == 0)
            .then(pl.lit("Cu"))
            .otherwise(pl.col("catalyst"))
            .alias("catalyst")
        )
    )
    first = predict_table(model, Table.from_frame(new))  # once: scikit-learn (a command line)
    assert compiled(model) is not None  # from the second prediction on: the replay
    fast = predict_table(model, Table.from_frame(new))
    slow = predict_table(model, Table.from_frame(new), fast_path=False)
    assert fast.equals(slow)  # predictions and interval ends, bit for bit
    assert first.equals(fast)
    assert fast["lower"].to_list() != fast["upper"].to_list()


def test_a_forest_is_walked_exactly_for_few_rows_and_many() -> None:
    """Up to 64 rows every tree of the model and of its folds is walked at once in numpy; more
    rows go tree by tree: both give scikit-learn's predictions and interval ends bit for bit."""
    model = train(
        Table.from_frame(_frame(80, 6)),
        "yield",
        budget=30,
        families=["random_forest"],
        max_trials=1,
    )
    fast_model = compile_model(model)
    assert fast_model is not None
    assert fast_model.walk is not None
    predict_table(model, Table.from_frame(_frame(2, 7).drop("yield")))  # from now on, compiled
    for rows in (1, 64, 65, 300):
        new = Table.from_frame(_frame(rows, 7).drop("yield"))
        slow = predict_table(model, new, fast_path=False)
        assert predict_table(model, new).equals(slow), rows
        assert slow["lower"].to_list() != slow["upper"].to_list()
    assert compiled(model) is not None


def test_a_calibrated_classifier_answers_as_scikit_learn_does() -> None:
    """Calibrated classifiers are not replayed (yet): the fast path leaves them to scikit-learn."""
    frame = _frame(90, 2).with_columns(
        (pl.col("yield") > pl.col("yield").median()).cast(pl.String).alias("yield")
    )
    model = train(Table.from_frame(frame), "yield", budget=30, families=["logistic"], max_trials=2)
    new = Table.from_frame(_frame(30, 3).drop("yield"))
    predict_table(model, new)
    fast = predict_table(model, new)
    assert compiled(model) is None
    assert fast.equals(predict_table(model, new, fast_path=False))


def test_a_pipeline_with_a_step_it_cannot_replay_is_left_to_scikit_learn() -> None:
    from sklearn.preprocessing import MinMaxScaler

    model = train(
        Table.from_frame(_frame(60, 4)), "yield", budget=30, families=["ridge"], max_trials=1
    )
    numbers = model.estimator.steps[0][1].transformers_[0][1]
    numbers.steps[1] = ("scale", MinMaxScaler().fit(np.zeros((2, 3))))  # not replayed
    assert compile_model(model) is None


def test_the_inputs_as_arrays_are_what_scikit_learn_was_trained_on() -> None:
    """The arrays every prediction reads, as pandas, are the training rows' model frame exactly:
    numbers (converted from another unit), missing cells, categories with the missing level."""
    from pandas.testing import assert_frame_equal

    from labsight.models._features import model_frame
    from labsight.models.predict import feature_arrays

    frame = _frame(60, 5)
    model = train(Table.from_frame(frame), "yield", budget=30, families=["ridge"], max_trials=1)
    table = Table.from_frame(frame.drop("yield"))
    assert_frame_equal(feature_arrays(model, table).to_pandas(), model_frame(table, model.features))
    kelvin = (
        frame.drop("yield")
        .with_columns((pl.col("temperature [degC]") + 273.15).alias("temperature [degC]"))
        .rename({"temperature [degC]": "temperature [K]"})
    )
    converted = feature_arrays(model, Table.from_frame(kelvin)).to_pandas()
    assert np.allclose(
        converted["temperature [degC]"], frame["temperature [degC]"].to_numpy(), atol=1e-9
    )


@pytest.mark.parametrize(
    "dtype", [pl.Int64, pl.Int32, pl.UInt8, pl.UInt64, pl.Float32, pl.Decimal(12, 3), pl.String]
)
def test_a_number_column_of_any_type_reads_as_its_cast_to_float(dtype: pl.DataType) -> None:
    """Integers, small floats, decimals and numbers written as text (with a missing cell each)
    become the float64 numbers a cast gives, whether read straight into numpy or cast first."""
    from labsight.models.predict import feature_arrays

    frame = _frame(40, 9).with_columns(pl.col("time [min]").round(0))
    model = train(Table.from_frame(frame), "yield", budget=30, families=["ridge"], max_trials=1)
    rows = frame.drop("yield").with_columns(pl.col("time [min]").cast(dtype))
    got = feature_arrays(model, Table.from_frame(rows)).numbers_of(["time [min]"])[:, 0]
    want = rows["time [min]"].cast(pl.Float64).to_numpy()
    assert np.isnan(got).sum() == rows["time [min]"].null_count() > 0
    assert np.array_equal(got, want, equal_nan=True)


def test_a_header_read_as_text_then_as_numbers_gets_its_unit_only_as_numbers() -> None:
    """Column metadata made once per header is made per type too: the same header holds a unit
    for numbers and none for text."""
    as_text = Table.from_frame(pl.DataFrame({"T [K]": ["warm"], "n": [1]}))
    as_numbers = Table.from_frame(pl.DataFrame({"T [K]": [293.15], "n": [1]}))
    assert [c.unit for c in as_text.columns] == [None, None]
    assert [c.unit for c in as_numbers.columns] == ["K", None]
    assert Table.from_frame(as_numbers.frame, units={"T [K]": None}).columns[0].unit is None


def test_the_forest_walk_sends_missing_values_and_ties_where_scikit_learn_does() -> None:
    """Forests that learned from missing values send a NaN the way each node learned, and a value
    equal to a threshold goes left: the walk agrees with scikit-learn bit for bit on such rows."""
    from sklearn.ensemble import RandomForestRegressor

    from labsight.models._compiled import _Forest

    rng = np.random.default_rng(3)
    x = rng.normal(size=(120, 4))
    y = x[:, 0] - 2 * x[:, 1] + rng.normal(0, 0.1, 120)
    x[rng.random(x.shape) < 0.15] = np.nan
    forests = [
        RandomForestRegressor(n_estimators=12, random_state=seed).fit(x, y) for seed in (0, 1)
    ]
    walk = _Forest.of(forests)
    tree = forests[0].estimators_[0].tree_
    ties = np.zeros((1, 4))
    ties[0, tree.feature[0]] = tree.threshold[0]  # exactly at the first split
    new = np.vstack([rng.normal(size=(6, 4)), ties, np.full((1, 4), np.nan)])
    new[0, 1] = np.nan
    got = walk.predict([new, new[::-1]])
    assert np.array_equal(got[0], forests[0].predict(new))
    assert np.array_equal(got[1], forests[1].predict(new[::-1]))
