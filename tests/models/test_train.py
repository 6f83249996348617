"""AutoML end to end: honest scores on rows the model never saw, intervals that cover, folds that
keep replicates together, a budget that holds, and the same leaderboard from the same seed."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from labsight.data.table import Table
from labsight.exceptions import InputError
from labsight.models._folds import make_folds, replicate_groups
from labsight.models.predict import predict_table
from labsight.models.train import train


def _reactions(n: int, seed: int) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    t = rng.uniform(20, 100, n)
    cat = rng.choice(["Pd", "Ni", "Cu"], n)
    y = 0.5 * t + np.where(cat == "Pd", 10.0, 0.0) + rng.normal(0, 3, n)
    return pl.DataFrame({"T [degC]": t, "catalyst": cat, "yield [%]": y})


def _table(frame: pl.DataFrame) -> Table:
    return Table.from_frame(
        frame,
        roles={"yield [%]": "target", "catalyst": "condition"},
        units={"T [degC]": "degC", "yield [%]": "%"},
    )


@pytest.fixture(scope="module")
def fitted() -> object:
    return train(
        _table(_reactions(150, 0)),
        "yield [%]",
        budget=6,
        families=["ridge", "gaussian_process", "random_forest"],
        seed=0,
    )


def test_regression_scores_well_on_rows_it_never_saw(fitted: object) -> None:
    fresh = _reactions(1_000, 99)
    out = predict_table(fitted, _table(fresh.drop("yield [%]")))  # type: ignore[arg-type]
    y = fresh["yield [%]"].to_numpy()
    pred = out["prediction"].to_numpy()
    r2 = 1 - np.sum((y - pred) ** 2) / np.sum((y - y.mean()) ** 2)
    assert r2 > 0.9
    covered = np.mean((out["lower"].to_numpy() <= y) & (y <= out["upper"].to_numpy()))
    assert 0.82 <= covered <= 0.97  # nominal 0.9
    assert fitted.coverage == pytest.approx(0.9, abs=0.06)  # type: ignore[attr-defined]


def test_the_summary_reports_cv_spread_importance_and_units(fitted: object) -> None:
    s = fitted.summary()  # type: ignore[attr-defined]
    assert s["cv"]["folds"] == 15
    assert "5-fold × 3 repeats" in s["cv"]["scheme"]
    assert s["cv"]["std"] > 0
    assert next(r["family"] for r in s["leaderboard"]) == s["best"]
    assert s["importance"][0]["feature"] == "T [degC]"
    assert s["units"] == {"T [degC]": "degC"}


def test_the_budget_is_honoured() -> None:
    model = train(_table(_reactions(120, 1)), "yield [%]", budget=8, seed=0)
    assert 0.8 * 8 <= model.seconds <= 1.1 * 8  # the issue asks for ±10 %
    assert model.trials >= 5


def test_same_seed_and_trials_give_the_same_leaderboard() -> None:
    runs = [
        train(
            _table(_reactions(80, 2)),
            "yield [%]",
            budget=60,
            max_trials=8,
            seed=3,
            families=["ridge", "lasso", "knn", "decision_tree"],
        )
        for _ in range(2)
    ]
    boards = [
        [(r["family"], round(r["mean"], 10), r["params"]) for r in m.leaderboard] for m in runs
    ]
    assert boards[0] == boards[1]
    assert runs[0].trials == 8


def test_classification_gives_calibrated_probabilities_and_holds_up_on_new_rows() -> None:
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer(as_frame=True).frame
    frame = pl.from_pandas(data).with_columns(
        pl.col("target").replace_strict({0: "malignant", 1: "benign"}, return_dtype=pl.String)
    )
    shuffled = frame.sample(fraction=1.0, shuffle=True, seed=1)
    train_rows, test_rows = shuffled.head(300), shuffled.tail(269)
    table = Table.from_frame(train_rows, roles={"target": "target"})
    model = train(table, "target", budget=6, families=["logistic", "random_forest"], seed=0)
    assert model.task == "classification"
    assert model.metric == "balanced_accuracy"
    out = predict_table(model, Table.from_frame(test_rows.drop("target")))
    proba = out.select("proba_benign", "proba_malignant").to_numpy()
    assert np.allclose(proba.sum(axis=1), 1.0)
    accuracy = np.mean(out["prediction"].to_numpy() == test_rows["target"].to_numpy())
    assert accuracy > 0.92


def test_replicates_never_straddle_a_fold() -> None:
    rng = np.random.default_rng(4)
    conditions = rng.uniform(0, 1, (30, 2))
    x = np.repeat(conditions, 3, axis=0)  # every condition run three times
    import pandas as pd

    groups = replicate_groups(pd.DataFrame(x, columns=["a", "b"]))
    assert groups is not None
    assert np.unique(groups).size == 30
    folds = make_folds(
        rng.normal(size=90), classification=False, groups=groups, grouped_by="replicates"
    )
    assert folds.grouped_by == "replicates"
    for train_rows, test_rows in folds.splits:
        assert not set(groups[train_rows]) & set(groups[test_rows])


def test_bad_requests_are_input_errors() -> None:
    table = _table(_reactions(40, 5))
    with pytest.raises(InputError, match="unknown target"):
        train(table, "yeild", budget=2)
    with pytest.raises(InputError, match="does not score regression"):
        train(table, "yield [%]", budget=2, metric="accuracy")
    with pytest.raises(InputError, match="unknown model family"):
        train(table, "yield [%]", budget=2, families=["xgboost"])
    with pytest.raises(InputError, match="2 rows are too few"):
        train(_table(_reactions(2, 6)), "yield [%]", budget=2)


def test_defaults_run_cheapest_first_so_a_slow_family_cannot_eat_a_small_budget() -> None:
    model = train(
        _table(_reactions(60, 7)),
        "yield [%]",
        budget=60,
        max_trials=3,
        families=["gaussian_process", "random_forest", "ridge"],
    )
    order = {r["family"]: r["trial"] for r in model.leaderboard if r["trial"] >= 0}
    # A Gaussian process is cheap on 60 rows, so it runs with the quick families, after ridge.
    assert order == {"ridge": 0, "gaussian_process": 1, "random_forest": 2}


def test_the_importance_screen_keeps_the_columns_that_carry_the_signal() -> None:
    import pandas as pd

    from labsight.models._features import FeatureSet
    from labsight.models.train import _screen

    rng = np.random.default_rng(8)
    x = pd.DataFrame(rng.normal(size=(200, 30)), columns=[f"c{i}" for i in range(30)])
    y = 3 * x["c17"].to_numpy() - 2 * x["c4"].to_numpy() + rng.normal(0, 0.1, 200)
    fs = FeatureSet(tuple(x.columns), (), {})
    assert set(_screen(x, y, fs, "regression", 2)) == {"c17", "c4"}


def test_families_that_cannot_train_the_task_are_named_not_blamed_on_the_budget() -> None:
    """Integer targets with few levels read as classes: asking for a regression-only family says
    so, instead of 'no candidate within the budget'."""
    frame = pl.DataFrame({"x": [i / 3 for i in range(40)], "y": [i % 5 + 1 for i in range(40)]})
    with pytest.raises(InputError, match=r"ridge is for regression.*--task"):
        train(Table.from_frame(frame), "y", families=["ridge"], budget=10)


def _smooth(n: int, seed: int) -> pl.DataFrame:
    """A smooth response of four inputs with a little noise (a formulation-like table)."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 1, (n, 4))
    y = np.sin(3 * x[:, 0]) + (x[:, 1] - 0.5) ** 2 * 2 + 0.5 * x[:, 2] * x[:, 3]
    y = y + rng.normal(0, 0.05, n)
    return pl.DataFrame({**{f"x{i}": x[:, i] for i in range(4)}, "y": y})


def test_the_whole_of_train_fits_the_budget_when_finishing_is_costly() -> None:
    """Forests and a Gaussian process on 300 rows: the refit, the intervals' fold models and the
    importance come out of the budget (they used to come on top of it), and what had to be cut
    short is said."""
    import time

    frame = _smooth(300, 5)
    table = Table.from_frame(frame, roles={"y": "target"})
    tick = time.perf_counter()
    # 25 s: in a parallel run the other worker's networks and MiniRocket hold the second core,
    # and at 15 s no fit of either family finished (alone, 15 s is plenty)
    model = train(table, "y", budget=25, families=["random_forest", "gaussian_process"], seed=0)
    wall = time.perf_counter() - tick
    assert wall <= 1.1 * 25 + 0.5
    summary = model.summary()
    assert summary["cut_short"] == model.cut_short
    assert all(isinstance(note, str) and note for note in model.cut_short)
    assert summary["importance_measured"] == "4 of 4 features"  # every feature, even when short


def test_a_gaussian_process_is_found_on_a_small_smooth_table() -> None:
    """60 rows of a smooth function: the pick predicts fresh rows as well as a plain scikit-learn
    GP with a length scale per input (it beat labsight's pick by 0.013 R² on such a table)."""
    import warnings

    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import Matern, WhiteKernel
    from sklearn.metrics import r2_score

    rows, fresh = _smooth(60, 1), _smooth(200, 2)
    inputs = [f"x{i}" for i in range(4)]
    # 40 s: in a parallel test run the other worker holds a core, and the search must still
    # reach the GP's fits (20 s alone on a free machine)
    model = train(Table.from_frame(rows, roles={"y": "target"}), "y", budget=40, seed=0)
    ours = predict_table(model, Table.from_frame(fresh.drop("y")))["prediction"].to_numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plain = GaussianProcessRegressor(
            Matern(np.ones(4), nu=2.5) + WhiteKernel(), normalize_y=True, random_state=0
        ).fit(rows.select(inputs).to_numpy(), rows["y"].to_numpy())
    reference = r2_score(fresh["y"].to_numpy(), plain.predict(fresh.select(inputs).to_numpy()))
    assert r2_score(fresh["y"].to_numpy(), ours) >= reference - 0.01, model.leaderboard[:3]
