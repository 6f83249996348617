"""Predictions that say when they cannot be trusted: units read from a frame's headers as from a
file's, a warning for a column whose unit is unknown, and rows outside the training data flagged,
the same on the Python and the command-line paths (issue #15, "Units lost on the Python path")."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

import labsight
from labsight.data.ingest import read_table
from labsight.data.table import Table
from labsight.exceptions import LabsightWarning
from labsight.models._persist import dumps, loads
from labsight.models.predict import predict_table

Run = Callable[..., tuple[int, str, str]]
Trained = tuple[labsight.Workspace, str, Path]

# Training pairs long times with high temperatures (time = 2 + 0.2 (T - 40) min, plus noise).
IN_RANGE_C = {"temperature [degC]": [55.0, 70.0], "residence_time [min]": [5.0, 8.0]}
IN_RANGE_K = {"temperature [K]": [328.15, 343.15], "residence_time [s]": [300.0, 480.0]}


def _training_csv(path: Path) -> Path:
    rng = np.random.default_rng(0)
    temperature = np.linspace(40.0, 80.0, 40)
    time = 2 + 0.2 * (temperature - 40) + rng.normal(0, 0.3, 40)
    conversion = 0.02 * temperature + 0.1 * time + rng.normal(0, 0.05, 40)
    pl.DataFrame(
        {
            "temperature [degC]": temperature,
            "residence_time [min]": time,
            "conversion [%]": conversion,
        }
    ).write_csv(path)
    return path


@pytest.fixture(scope="module")
def trained(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Trained]:
    folder = tmp_path_factory.mktemp("trust")
    ws = labsight.Workspace(folder / "home", user="tester")
    record, _ = ws.models.train(
        _training_csv(folder / "runs.csv"),
        "conversion [%]",
        name="conversion",
        families=["ridge"],
        budget=20,
        max_trials=2,
    )
    yield ws, record.model_id, folder
    ws.close()


@pytest.fixture
def cli(run: Any, trained: Trained) -> Run:
    """The ``run`` fixture on the module's workspace, whose model is trained once."""
    run.home = trained[2] / "home"
    return run  # type: ignore[no-any-return]


def _csv(path: Path, columns: dict[str, list[float]]) -> Path:
    pl.DataFrame(columns).write_csv(path)
    return path


def _cli_predict(cli: Run, model: str, path: Path, out: Path) -> tuple[pl.DataFrame, str]:
    code, _, err = cli("predict", model, str(path), "--out", str(out))
    assert code == 0, err
    return pl.read_csv(out), err


def test_from_frame_reads_units_from_headers_like_ingest_and_keeps_explicit_ones() -> None:
    frame = pl.DataFrame({"temperature [K]": [300.0], "time (min)": [5], "label [s]": ["a"]})
    assert [c.unit for c in Table.from_frame(frame).columns] == ["K", "min", None]
    given = Table.from_frame(frame, units={"temperature [K]": "degC", "time (min)": None})
    assert [c.unit for c in given.columns] == ["degC", None, None]


def test_a_frame_in_kelvin_and_seconds_predicts_what_the_cli_and_the_original_units_predict(
    trained: Trained, cli: Run
) -> None:
    ws, model, folder = trained
    python = ws.models.predict(model, Table.from_frame(pl.DataFrame(IN_RANGE_K)))
    original = ws.models.predict(model, Table.from_frame(pl.DataFrame(IN_RANGE_C)))
    command, _ = _cli_predict(cli, model, _csv(folder / "k.csv", IN_RANGE_K), folder / "k_out.csv")
    expected = original["prediction"].to_numpy()
    assert np.allclose(python["prediction"].to_numpy(), expected, rtol=1e-9)
    assert np.allclose(command["prediction"].to_numpy(), expected, rtol=1e-9)
    assert ((expected > 1.0) & (expected < 3.0)).all()  # what the training data says


def test_a_bare_column_for_a_feature_trained_with_a_unit_warns_in_python_and_on_the_cli(
    trained: Trained, cli: Run
) -> None:
    ws, model, folder = trained
    bare = {"temperature": [55.0], "residence_time [min]": [5.0]}
    with pytest.warns(LabsightWarning, match="'temperature' has no unit.* taken to be in degC"):
        ws.models.predict(model, Table.from_frame(pl.DataFrame(bare)))
    _, err = _cli_predict(cli, model, _csv(folder / "bare.csv", bare), folder / "bare_out.csv")
    assert "warning: column 'temperature' has no unit" in " ".join(err.split())


def test_a_row_outside_a_training_range_is_flagged_in_python_and_on_the_cli(
    trained: Trained, cli: Run
) -> None:
    ws, model, folder = trained
    rows = {"temperature [degC]": [55.0, 95.0], "residence_time [min]": [5.0, 8.0]}
    python = ws.models.predict(model, Table.from_frame(pl.DataFrame(rows)))
    command, err = _cli_predict(cli, model, _csv(folder / "hot.csv", rows), folder / "hot_out.csv")
    for frame in (python, command):
        assert frame["extrapolation"].to_list() == [False, True]
        assert frame["out_of_range"].to_list() == [None, "temperature [degC] > 80"]
    assert "1 of 2 rows extrapolate beyond the training data" in " ".join(err.split())


def test_a_combination_unlike_any_training_row_is_flagged_though_each_value_is_in_range(
    trained: Trained,
) -> None:
    ws, model, _ = trained
    rows = {"temperature [degC]": [55.0, 75.0], "residence_time [min]": [5.0, 3.0]}  # hot, short
    out = ws.models.predict(model, Table.from_frame(pl.DataFrame(rows)))
    assert out["extrapolation"].to_list() == [False, True]
    assert out["out_of_range"].to_list() == [None, None]


def test_the_cli_and_python_give_identical_output_on_the_same_file(
    trained: Trained, cli: Run
) -> None:
    ws, model, folder = trained
    rows = {
        "temperature [K]": [328.15, 368.15, 348.15],
        "residence_time [s]": [300.0, 480.0, 180.0],
    }
    path = _csv(folder / "same.csv", rows)
    python = ws.models.predict(model, read_table(path))
    code, out, _ = cli("predict", model, str(path), "--json")
    assert code == 0
    document = json.loads(out)
    assert document["predictions"] == python.to_dicts()
    assert python.columns[2:4] == ["extrapolation", "out_of_range"]
    command, _ = _cli_predict(cli, model, path, folder / "same_out.csv")
    assert_frame_equal(command, python, check_dtypes=False)
    assert len(document["warnings"]) == 1  # the one line on extrapolation


def test_a_model_saved_without_its_training_domain_still_predicts_without_flags(
    trained: Trained,
) -> None:
    ws, model, _ = trained
    record, fitted = ws.models.get(model), ws.models.load(model)
    table = Table.from_frame(pl.DataFrame(IN_RANGE_C))
    flagged = predict_table(fitted, table)
    assert "extrapolation" in flagged.columns
    older = {k: v for k, v in record.summary.items() if k != "domain"}
    unflagged = predict_table(loads(dumps(fitted), older), table)
    assert "extrapolation" not in unflagged.columns
    assert unflagged["prediction"].to_list() == flagged["prediction"].to_list()
