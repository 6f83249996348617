"""A face parses, calls one core method, renders: the CLI, the Python API and the REST API give the
same answer from the same input (predictions with their units and warnings, a dataset's columns and
units, embeddings, a SOURCE that names a dataset or a file)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

import labsight
from labsight.data.table import Role, Table
from labsight.models.train import train
from labsight.workspace import is_file_source
from labsight.workspace.models import stored_target

from .conftest import CliRun as Run


def _runs(path: Path, n: int = 40) -> Path:
    rng = np.random.default_rng(4)
    t = rng.uniform(40, 90, n)
    minutes = rng.uniform(10, 60, n)
    pl.DataFrame(
        {
            "temperature [degC]": t,
            "time [min]": minutes,
            "yield [%]": 0.5 * t + 0.2 * minutes + rng.normal(0, 1, n),
        }
    ).write_csv(path)
    return path


def test_cli_and_python_predict_the_same_rows_with_the_same_warnings(
    run: Run, tmp_path: Path
) -> None:
    code, _, err = run(
        *("train", str(_runs(tmp_path / "runs.csv")), "--target", "yield [%]"),
        *("--budget", "30", "--trials", "3", "--families", "ridge"),
    )
    assert code == 0, err
    # new rows in kelvin and hours, one far outside the training range
    (tmp_path / "new.csv").write_text(
        "temperature [K],time [h]\n333.15,0.5\n343.15,0.75\n500,0.5\n", encoding="utf-8"
    )
    code, out, err = run("predict", "runs-yield", str(tmp_path / "new.csv"), "--json")
    assert code == 0, err
    cli = json.loads(out)
    with labsight.Workspace(run.home) as ws:
        python = ws.models.predict_file("runs-yield", tmp_path / "new.csv")
    assert cli["warnings"] == python.warnings
    assert any("extrapolate" in w for w in python.warnings)
    assert [r["prediction"] for r in cli["predictions"]] == python.frame["prediction"].to_list()
    assert python.frame["extrapolation"].to_list() == [False, False, True]


def test_cli_python_and_rest_predict_the_same_rows_with_the_same_units_and_warnings(
    run: Run, tmp_path: Path
) -> None:
    from fastapi.testclient import TestClient

    from labsight.serve.app import create_app

    code, _, err = run(
        *("train", str(_runs(tmp_path / "runs.csv")), "--target", "yield [%]"),
        *("--budget", "30", "--trials", "3", "--families", "ridge"),
    )
    assert code == 0, err
    new = tmp_path / "new.csv"  # kelvin and hours; the model learned degC and minutes
    new.write_text("temperature [K],time [h]\n333.15,0.5\n343.15,0.75\n500,0.5\n", encoding="utf-8")
    code, out, err = run("predict", "runs-yield", str(new), "--json")
    assert code == 0, err
    cli = json.loads(out)
    code, out, err = run("dataset", "show", "runs", "--json")
    assert code == 0, err
    cli_dataset = json.loads(out)
    with labsight.Workspace(run.home) as ws:
        python = ws.models.predict_file("runs-yield", new)
        ws.accounts.add_user("sam", "scientist", "scientist-password-1")
        token, _ = ws.accounts.create_token("sam", "predict", expires="1h")
        with TestClient(create_app(workspace=ws)) as api:
            auth = {"Authorization": f"Bearer {token}"}
            rows = pl.read_csv(new).to_dicts()
            as_json = api.post(
                "/api/v1/models/runs-yield/predict", headers=auth, json={"rows": rows}
            )
            as_csv = api.post(
                "/api/v1/models/runs-yield/predict",
                headers={**auth, "Content-Type": "text/csv"},
                content=new.read_bytes(),
            )
            rest_dataset = api.get("/api/v1/datasets/runs", headers=auth).json()
    expected = python.frame["prediction"].to_list()
    assert [r["prediction"] for r in cli["predictions"]] == expected
    for rest in (as_json, as_csv):
        assert rest.status_code == 200, rest.text
        body = rest.json()
        assert body["model"] == "runs-yield@v1"
        assert [r["prediction"] for r in body["predictions"]] == expected
        assert [r["lower"] for r in body["predictions"]] == python.frame["lower"].to_list()
        assert [r["extrapolation"] for r in body["predictions"]] == [False, False, True]
        assert body["warnings"] == python.warnings == cli["warnings"]
    assert rest_dataset["columns"] == cli_dataset["columns"]  # names, units, roles
    assert rest_dataset["ref"] == cli_dataset["ref"]


def test_cli_and_python_embed_the_same_points(run: Run, tmp_path: Path) -> None:
    assert run("ingest", str(_runs(tmp_path / "runs.csv")), "--name", "runs")[0] == 0
    code, _, err = run("embed", "runs", "--out", str(tmp_path / "points.csv"))
    assert code == 0, err
    cli = pl.read_csv(tmp_path / "points.csv")
    with labsight.Workspace(run.home) as ws:
        python = ws.embed("runs")
    assert cli.columns == python.frame.columns
    assert np.allclose(cli["dim1"].to_numpy(), python.frame["dim1"].to_numpy())


def test_a_source_names_a_dataset_or_a_file(ws: labsight.Workspace, tmp_path: Path) -> None:
    path = _runs(tmp_path / "runs.csv")
    stored = ws.ingest(path, name="runs")
    assert ws.source("runs").ref == stored.ref  # type: ignore[union-attr]
    assert ws.source(str(path)) == path
    assert is_file_source("batch.xlsx")
    assert not is_file_source("runs@v1")
    # the Python API trains on a dataset named by text, as the CLI does
    record, _ = ws.models.train("runs", "yield [%]", families=["ridge"], budget=30, max_trials=1)
    assert record.dataset == stored.ref


def test_train_defaults_to_the_stored_target_and_names_a_choice_it_cannot_make(
    run: Run, tmp_path: Path
) -> None:
    path = _runs(tmp_path / "runs.csv")
    assert run("ingest", str(path), "--name", "runs", "--target", "yield [%]")[0] == 0
    code, out, err = run("train", "runs", "--budget", "30", "--trials", "2", "--json")
    assert code == 0, err
    assert json.loads(out)["ref"] == "runs-yield@v1"
    # two columns with the role target: the command asks which, in one line, exit code 2
    frame = pl.read_csv(path).with_columns((pl.col("yield [%]") * 0.9).alias("purity [%]"))
    frame.write_csv(tmp_path / "two.csv")
    code, _, err = run(
        "ingest", str(tmp_path / "two.csv"), "--name", "two", "--target", "yield [%]"
    )
    assert code == 0, err
    with labsight.Workspace(run.home) as ws:
        table = ws.dataset("two").table(roles={"purity [%]": "target"})
    with pytest.raises(labsight.InputError, match=r"2 columns have the role target \(yield"):
        stored_target(table, None)
    assert stored_target(table, "purity [%]") == "purity [%]"


def test_another_target_column_is_left_out_and_said_so_never_silently(tmp_path: Path) -> None:
    """A second column with the role target (a sibling assay, or a guess of ingest) is no input of
    the model of the first: its values do not exist for a new sample. It is left out, and the
    model says so under left_out (and `train` prints it)."""
    frame = pl.read_csv(_runs(tmp_path / "runs.csv"))
    frame = frame.with_columns((pl.col("yield [%]") * 0.9).alias("purity [%]"))
    roles: dict[str, Role] = {"yield [%]": "target", "purity [%]": "target"}
    model = train(Table.from_frame(frame, roles=roles), "yield [%]", budget=30, max_trials=2)
    assert "purity [%]" not in model.features.numeric
    left_out = model.summary()["left_out"]
    assert {"column": "purity [%]", "reason": "role target: another target"} in left_out


def test_reading_and_cleaning_options_are_defined_once_and_refused_when_unknown(
    ws: labsight.Workspace, tmp_path: Path
) -> None:
    """`ws.ingest`, `read_table` and `ws.clean` share one definition of their options (a typed
    dict); a misspelt option is a TypeError, as it is for any Python function, not a silent
    default."""
    import inspect

    from labsight.data.clean import CleaningOptions, build_plan
    from labsight.data.ingest import ReadOptions, read_table

    path = _runs(tmp_path / "runs.csv")
    assert set(ReadOptions.__annotations__) == {
        "sheet",
        "na_values",
        "delimiter",
        "encoding",
        "decimal_comma",
        "images",
    }
    assert set(CleaningOptions.__annotations__) == {
        "impute",
        "outliers",
        "labels",
        "units",
        "replicates",
        "sentinels",
        "spectra",
    }
    assert "impute" not in inspect.signature(labsight.Workspace.clean).parameters  # **options
    with pytest.raises(TypeError, match="'delimeter'"):
        read_table(path, delimeter=";")  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="'imputation'"):
        build_plan(read_table(path), imputation="median")  # type: ignore[call-arg]
    stored = ws.ingest(path, name="runs", na_values=["n/a"], delimiter=",")
    assert stored.record.operation_params["na_values"] == ["n/a"]
    assert stored.record.operation_params["delimiter"] == ","


def test_predict_and_campaign_results_match_columns_by_one_rule() -> None:
    """Exact name, else the one header whose name without its unit is the name: the same answer
    for a model's feature and a campaign's parameter, and a refusal naming both when two could
    be meant."""
    from labsight.data.units import match_column

    headers = ["run", "temperature [K]", "Time [min]"]
    assert match_column("temperature [degC]", headers) == "temperature [K]"  # a feature
    assert match_column("temperature", headers) == "temperature [K]"  # a parameter
    assert match_column("time", headers) == "Time [min]"
    assert match_column("pressure", headers) is None
    with pytest.raises(labsight.InputError, match="2 columns could be 'temperature'"):
        match_column("temperature", ["temperature [K]", "temperature (degC)"])


_CAMPAIGN_SPACE = (
    "parameters:\n"
    "  - {name: temperature, type: continuous, bounds: [30, 130], unit: degC}\n"
    "  - {name: base, type: categorical, values: [K2CO3, Cs2CO3]}\n"
    "objectives:\n"
    "  - {name: yield, goal: maximize, unit: '%'}\n"
)


def _run_batches(run: Run, tmp_path: Path, sizes: list[int]) -> None:
    """Campaign ``c`` on :data:`_CAMPAIGN_SPACE`, a batch of each size suggested and recorded
    through the CLI (the yield a window in temperature, Cs2CO3 20 points better)."""
    space = tmp_path / "space.yaml"
    space.write_text(_CAMPAIGN_SPACE, encoding="utf-8")
    assert run("design", "new", "c", "--space", str(space))[0] == 0
    for size in sizes:
        batch = tmp_path / "next.csv"
        code, _, err = run("design", "suggest", "c", "--batch", str(size), "--out", str(batch))
        assert code == 0, err
        frame = pl.read_csv(batch)
        t = frame["temperature [degC]"].to_numpy()
        bonus = (frame["base"] == "Cs2CO3").to_numpy() * 20.0
        frame = frame.with_columns(
            pl.Series("yield [%]", 90.0 * np.exp(-(((t - 80) / 25) ** 2)) + bonus)
        )
        frame.write_csv(batch)
        code, _, err = run("design", "record", "c", str(batch))
        assert code == 0, err


def _three_statuses(run: Run) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """Campaign ``c``'s status from the CLI (``--json``), Python and REST."""
    from fastapi.testclient import TestClient

    from labsight.serve.app import create_app

    code, out, err = run("design", "status", "c", "--json")
    assert code == 0, err
    with labsight.Workspace(run.home) as ws:
        python = ws.campaign("c").status().to_dict()
        ws.accounts.add_user("sam", "scientist", "scientist-password-1")
        token, _ = ws.accounts.create_token("sam", "read", expires="1h")
        with TestClient(create_app(workspace=ws)) as api:
            rest = api.get(
                "/api/v1/campaigns/c/status", headers={"Authorization": f"Bearer {token}"}
            )
    assert rest.status_code == 200, rest.text
    return json.loads(out), python, rest.json()


def test_cli_python_and_rest_give_the_same_campaign_status(run: Run, tmp_path: Path) -> None:
    """Two results on a space with a continuous parameter: the three faces agree on the best
    result and on how many results the initial design still wants."""
    _run_batches(run, tmp_path, [2])
    cli, python, rest = _three_statuses(run)
    assert cli["initial_left"] == python["initial_left"] == rest["initial_left"] == 1
    for key in ("results", "best", "fit"):
        assert cli[key] == python[key] == rest[key]


def test_cli_python_and_rest_give_the_same_model_and_warp(run: Run, tmp_path: Path) -> None:
    """Once the model suggests: the three faces report the same surrogate (kernel, how it was
    chosen, the Yeo–Johnson warp and its λ, leave-one-out) and the same best result."""
    _run_batches(run, tmp_path, [3, 3])
    cli, python, rest = _three_statuses(run)
    assert cli["model"]["warp"]["method"] == "yeo-johnson"
    for key in ("model", "best", "results"):
        assert cli[key] == python[key] == rest[key]
