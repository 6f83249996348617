"""Which columns a model reads and how categories are encoded: one-hot for a few levels, target
encoding (cross-fitted, so a row's own target never sets its encoding) for many, sample names
left out — and a target-encoded model that holds up on rows it never saw, exported to ONNX."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import polars as pl
import pytest

from labsight.data.table import Table
from labsight.models._features import feature_set, model_frame
from labsight.models.export import feeds_for, to_onnx
from labsight.models.predict import predict_table
from labsight.models.train import train

_LOTS = [f"lot-{i:02d}" for i in range(25)]
_EFFECT = dict(zip(_LOTS, np.random.default_rng(42).normal(0, 5, 25), strict=True))


def _runs(n: int, seed: int, classes: int = 0) -> pl.DataFrame:
    """Yield driven by temperature and by which of 25 reagent lots was used."""
    rng = np.random.default_rng(seed)
    lot = rng.choice(_LOTS, n)
    t = rng.uniform(20, 100, n)
    y = 0.2 * t + np.array([_EFFECT[v] for v in lot]) + rng.normal(0, 0.5, n)
    frame = pl.DataFrame(
        {
            "T [degC]": t,
            "lot": lot,
            "solvent": rng.choice(["THF", "DMF", "water"], n),
            "sample": [f"S{seed}-{i}" for i in range(n)],
            "yield [%]": y,
        }
    )
    if classes:
        cuts = np.quantile(y, np.linspace(0, 1, classes + 1)[1:-1])
        frame = frame.with_columns(pl.Series("grade", [f"g{int(v)}" for v in np.digitize(y, cuts)]))
    return frame


def _table(frame: pl.DataFrame, target: str) -> Table:
    drop = [c for c in ("yield [%]", "grade") if c != target and c in frame.columns]
    return Table.from_frame(
        frame.drop(drop),
        roles={target: "target", "lot": "condition", "solvent": "condition", "sample": "feature"}
        if target in frame.columns
        else {"lot": "condition", "solvent": "condition", "sample": "feature"},
    )


def test_few_levels_are_one_hot_many_are_target_encoded_names_are_left_out() -> None:
    fs = feature_set(_table(_runs(200, 0), "yield [%]"), "yield [%]")
    assert fs.categorical == ("lot", "solvent")  # 200 sample names do not generalize
    assert fs.encoded == ("lot",)
    assert fs.onehot == ("solvent",)


def test_a_table_with_many_rows_keeps_a_category_of_one_level_per_five_rows() -> None:
    rng = np.random.default_rng(1)
    frame = pl.DataFrame(
        {
            "site": [f"site-{i % 80}" for i in range(500)],
            "x": rng.normal(size=500),
            "y": rng.normal(size=500),
        }
    )
    fs = feature_set(Table.from_frame(frame, roles={"y": "target", "site": "condition"}), "y")
    assert fs.encoded == ("site",)


def test_a_target_encoded_model_holds_up_on_new_rows_and_explains_the_lot() -> None:
    model = train(
        _table(_runs(300, 0), "yield [%]"), "yield [%]", families=["ridge"], max_trials=1, budget=20
    )
    fresh = _runs(200, 1)
    out = predict_table(model, _table(fresh.drop("yield [%]"), "yield [%]"))
    y, p = fresh["yield [%]"].to_numpy(), out["prediction"].to_numpy()
    assert 1 - np.sum((y - p) ** 2) / np.sum((y - y.mean()) ** 2) > 0.9
    assert model.coefficients is not None
    terms = dict(
        zip(
            model.coefficients["term"].to_list(),
            model.coefficients["coefficient"].to_list(),
            strict=True,
        )
    )
    # One unit of the lot's target mean is one unit of yield: the encoding carries the lot effect.
    assert terms["lot (target-encoded)"] == pytest.approx(1.0, abs=0.15)
    assert "solvent = THF" in terms


@pytest.mark.parametrize(("target", "classes"), [("yield [%]", 0), ("grade", 2), ("grade", 3)])
def test_target_encoding_exports_to_onnx_for_every_target_type(target: str, classes: int) -> None:
    table = _table(_runs(240, 2, classes), target)
    model = train(table, target, families=["lightgbm"], max_trials=1, budget=20)
    exported = to_onnx(model, model_frame(table, model.features))
    assert exported.max_difference < 1e-3
    fresh = _table(_runs(50, 3, classes).drop(target), target)
    session = ort.InferenceSession(exported.data, providers=["CPUExecutionProvider"])
    got = session.run(None, feeds_for(model, model_frame(fresh, model.features)))
    expected = predict_table(model, fresh)
    if classes:
        labels = [str(c) for c in model.estimator.classes_]
        want = np.column_stack([expected[f"proba_{c}"].to_numpy() for c in labels])
        np.testing.assert_allclose(got[1], want, atol=1e-4)
    else:
        np.testing.assert_allclose(got[0], expected["prediction"].to_numpy(), rtol=1e-4, atol=1e-3)
