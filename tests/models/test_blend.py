"""A blend of the best models is saved with each member once, and loads to the same predictions."""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import polars as pl

from labsight.data.table import Table
from labsight.models._features import FeatureSet, model_frame
from labsight.models._persist import asked_types, dumps, loads
from labsight.models._search import Candidate
from labsight.models.predict import predict_table
from labsight.models.train import _reused_fold_models, build_final, train


def _count(data: bytes, cls: str) -> int:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return json.dumps(json.loads(archive.read("schema.json"))).count(f'"{cls}"')


def _frame(n: int = 90) -> pl.DataFrame:
    rng = np.random.default_rng(3)
    x = rng.uniform(0, 1, (n, 3))
    y = np.sin(4 * x[:, 0]) + x[:, 1] ** 2 + rng.normal(0, 0.05, n)
    return pl.DataFrame({"a": x[:, 0], "b": x[:, 1], "c": x[:, 2], "y": y})


def test_a_blend_saves_each_member_once_and_predicts_the_same_after_loading() -> None:
    """The final blend and its fold blends (frozen fold models of each member), as train builds
    them: a 50-tree forest appears in the file once per fitted forest, not three times."""
    from skops import io as skio

    frame = _frame()
    features = FeatureSet(("a", "b", "c"), (), {})
    x = model_frame(Table.from_frame(frame.drop("y")), features)
    y = frame["y"].to_numpy()
    oof = np.zeros((1, len(y)))
    members = [
        Candidate("random_forest", {"n_estimators": 50}, [0.9], 0.1, 0, oof),
        Candidate("ridge", {}, [0.5], 0.1, 1, oof),
    ]
    blend = Candidate("ensemble", {}, [0.9], 0.2, -1, oof, members=members, weights=[0.7, 0.3])
    final = build_final(blend, features, "regression", 0).fit(x, y)
    partition = [(np.arange(0, 60), np.arange(60, 90)), (np.arange(30, 90), np.arange(0, 30))]
    for m in members:
        m.fold_models = [
            build_final(m, features, "regression", 0).fit(x.iloc[tr], y[tr]) for tr, _ in partition
        ]
    folds = _reused_fold_models(blend, x, y, partition)
    data = bytes(skio.dumps({"estimator": final, "fold_models": folds, "intervals": None}))
    # three fitted forests (the final's and two folds') of 50 trees, and each forest's two
    # templates (`estimator`, `estimator_`); with every reference in full it was 3 * 52 more
    assert _count(data, "DecisionTreeRegressor") == 3 * (50 + 2)
    state = skio.loads(data, trusted=asked_types(data))
    back = state["estimator"]
    assert list(back.named_estimators_) == ["random_forest", "ridge"]
    assert np.allclose(back.predict(x), final.predict(x))
    for before, after in zip(folds, state["fold_models"], strict=True):
        assert np.allclose(after.predict(x), before.predict(x))


def test_a_trained_blend_round_trips_through_the_model_file() -> None:
    frame = _frame(120)
    model = train(
        Table.from_frame(frame),
        "y",
        families=["random_forest", "gaussian_process", "ridge"],
        budget=25,
        seed=0,
    )
    data = dumps(model)
    back = loads(data, model.summary())
    table = Table.from_frame(_frame(40).drop("y"))
    first, second = predict_table(model, table), predict_table(back, table)
    for column in ("prediction", "lower", "upper"):
        assert np.allclose(first[column].to_numpy(), second[column].to_numpy())
