"""The model registry in a real workspace: lineage, audited stages, safe reloads, unit-aware
predictions, and the CLI contracts (train --json, models, model show/stage, predict)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest

import labsight
from labsight.cli import main
from labsight.data.table import Table
from labsight.exceptions import ArtifactIntegrityError, ConflictError, InputError


def _csv(path: Path, n: int, seed: int, *, with_target: bool = True, kelvin: bool = False) -> Path:
    rng = np.random.default_rng(seed)
    t = rng.uniform(20, 100, n)
    cat = rng.choice(["Pd", "Ni"], n)
    y = 0.5 * t + np.where(cat == "Pd", 8.0, 0.0) + rng.normal(0, 2, n)
    frame = pl.DataFrame(
        {"T [K]" if kelvin else "T [degC]": t + (273.15 if kelvin else 0), "catalyst": cat}
    )
    if with_target:
        frame = frame.with_columns(pl.Series("yield [%]", y))
    frame.write_csv(path)
    return path


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[labsight.Workspace, str, Path]:
    folder = tmp_path_factory.mktemp("registry")
    ws = labsight.Workspace(folder / "home", user="tester")
    ds = ws.ingest(_csv(folder / "runs.csv", 90, 0), name="runs", target="yield [%]")
    record, _ = ws.models.train(ds, "yield [%]", budget=4, families=["ridge", "random_forest"])
    return ws, record.model_id, folder


def test_a_trained_model_is_a_draft_with_lineage_and_an_audit_entry(trained: tuple) -> None:
    ws, model_id, _ = trained
    record = ws.models.get(model_id)
    assert record.stage == "draft"
    assert record.ref == "runs-yield@v1"
    assert record.dataset is not None
    assert record.dataset.startswith("runs@")
    assert record.summary["libraries"]["scikit-learn"]
    entry = [e for e in ws.audit.entries() if e.action == "model.train"][-1]
    assert entry.object_id == "runs-yield"
    assert entry.version == model_id
    assert ws.audit.verify().ok


def test_stages_move_forward_only_and_each_move_is_audited(trained: tuple) -> None:
    ws, model_id, _ = trained
    assert ws.models.stage(model_id, "validated", reason="checked on batch 7").stage == "validated"
    with pytest.raises(ConflictError):
        ws.models.stage(model_id, "draft")
    entry = [e for e in ws.audit.entries() if e.action == "model.stage"][-1]
    assert (entry.old_value, entry.new_value, entry.reason) == (
        "draft",
        "validated",
        "checked on batch 7",
    )
    with pytest.raises(InputError):
        ws.models.stage(model_id, "shipped")


def test_a_reloaded_model_predicts_like_the_original_and_converts_units(trained: tuple) -> None:
    ws, model_id, folder = trained
    from labsight.data.ingest import read_table

    celsius = read_table(_csv(folder / "new_c.csv", 20, 5, with_target=False))
    kelvin = read_table(_csv(folder / "new_k.csv", 20, 5, with_target=False, kelvin=True))
    a = ws.models.predict(model_id, celsius)
    b = ws.models.predict(model_id, kelvin)
    assert np.allclose(a["prediction"].to_numpy(), b["prediction"].to_numpy())
    assert a.columns[-3:] == ["prediction", "lower", "upper"]
    assert a["T [degC]"].to_list() == celsius.frame["T [degC]"].to_list()  # rows kept in order


def test_predict_refuses_missing_columns_and_incompatible_units(trained: tuple) -> None:
    ws, model_id, _ = trained
    with pytest.raises(InputError, match="needs column 'catalyst'"):
        ws.models.predict(model_id, Table.from_frame(pl.DataFrame({"T [degC]": [50.0]})))
    bad = Table.from_frame(
        pl.DataFrame({"T [min]": [50.0], "catalyst": ["Pd"]}), units={"T [min]": "min"}
    )
    with pytest.raises(InputError, match="cannot be converted"):
        ws.models.predict(model_id, bad)


def test_a_text_cell_in_a_number_column_is_named_by_file_line_and_column(trained: tuple) -> None:
    ws, model_id, folder = trained
    from labsight.data.ingest import read_table

    path = folder / "typo.csv"
    path.write_text("T [degC],catalyst\n50,Pd\n6O,Ni\n")  # letter O for zero
    with pytest.raises(InputError) as caught:
        ws.models.predict(model_id, read_table(path, on_issue="ignore"))
    assert caught.value.line == 3
    assert caught.value.column == "T [degC]"
    assert "typo.csv line 3, column 'T [degC]': '6O' is not a number" in str(caught.value)


def test_a_tampered_model_file_is_refused(trained: tuple) -> None:
    ws, model_id, _ = trained
    record = ws.models.get(model_id)
    path = Path(ws.artifacts.path(record.sha256))
    original = path.read_bytes()
    path.chmod(0o644)
    try:
        path.write_bytes(original[:-10] + b"0123456789")
        with pytest.raises(ArtifactIntegrityError):
            ws.models.load(model_id)
    finally:
        path.write_bytes(original)


def test_cli_train_models_show_stage_predict(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = tmp_path / "home"

    errors: list[str] = []

    def run(*args: str) -> tuple[int, str]:
        code = main(["--home", str(home), "--user", "cli", *args])
        captured = capsys.readouterr()
        errors.append(captured.err)
        return code, captured.out

    data = _csv(tmp_path / "runs.csv", 60, 1)
    code, out = run(
        "train",
        str(data),
        "--target",
        "yield [%]",
        "--budget",
        "3",
        "--families",
        "ridge,knn",
        "--json",
    )
    assert code == 0
    result = json.loads(out)
    assert {"model", "task", "metric", "cv", "leaderboard"} <= set(result)
    assert set(result["cv"]) >= {"mean", "std"}
    assert result["task"] == "regression"
    model = result["model"]
    code, out = run("models", "--json")
    assert code == 0
    assert json.loads(out)[0]["model_id"] == model
    code, out = run("model", "show", model)
    assert code == 0
    assert "Leaderboard" in out
    assert "coverage on CV" in out
    code, _ = run("model", "stage", model, "validated", "--reason", "ok")
    assert code == 0
    new = _csv(tmp_path / "new.csv", 5, 2, with_target=False)
    preds = tmp_path / "preds.csv"
    code, _ = run("predict", model, str(new), "--out", str(preds))
    assert code == 0
    written = pl.read_csv(preds)
    assert written.height == 5
    assert {"prediction", "lower", "upper"} <= set(written.columns)
    broken = tmp_path / "broken.csv"
    broken.write_text("T [degC]\n50\n")
    code, _ = run("predict", model, str(broken))
    assert code == 2
    assert "catalyst" in errors[-1]
    assert errors[-1].count("\n") == 1  # one line, no traceback


def test_cli_model_export_writes_a_checked_audited_onnx_graph(
    trained: tuple, capsys: pytest.CaptureFixture[str]
) -> None:
    import hashlib

    import onnxruntime as ort

    from labsight.data.ingest import read_table

    ws, model_id, folder = trained
    home = str(ws.settings.home)
    target = folder / "exported" / "yield.onnx"
    code = main(["--home", home, "model", "export", model_id, "--out", str(target), "--json"])
    result = json.loads(capsys.readouterr().out)
    assert code == 0
    assert {"out", "inputs", "outputs", "checked_rows", "max_difference"} <= set(result)
    assert result["outputs"] == ["prediction", "lower", "upper"]
    assert result["checked_rows"] == 90
    assert {"name": "T [degC]", "type": "double", "unit": "degC"} in result["inputs"]
    entry = [e for e in ws.audit.entries() if e.action == "model.export"][-1]
    assert entry.outputs == [hashlib.sha256(target.read_bytes()).hexdigest()]
    assert ws.audit.verify().ok
    # The graph answers as labsight does, on rows neither of them saw.
    new = read_table(_csv(folder / "fresh.csv", 15, 8, with_target=False))
    expected = ws.models.predict(model_id, new)
    session = ort.InferenceSession(str(target), providers=["CPUExecutionProvider"])
    feeds = {
        "T [degC]": new.frame["T [degC]"].to_numpy().reshape(-1, 1),
        "catalyst": new.frame["catalyst"].to_numpy().astype(str).reshape(-1, 1),
    }
    for got, column in zip(session.run(None, feeds), ("prediction", "lower", "upper"), strict=True):
        assert np.allclose(got, expected[column].to_numpy(), atol=1e-3)


def test_cli_model_export_refuses_unknown_formats_and_leaves_nothing(
    trained: tuple, capsys: pytest.CaptureFixture[str]
) -> None:
    ws, model_id, folder = trained
    entries = len(ws.audit.entries())
    target = folder / "model.pmml"
    code = main(
        [
            "--home",
            str(ws.settings.home),
            "model",
            "export",
            model_id,
            "--format",
            "pmml",
            "--out",
            str(target),
        ]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert "unknown export format 'pmml'; expected onnx" in err
    assert err.count("\n") == 1
    assert not target.exists()
    assert len(ws.audit.entries()) == entries


def test_a_model_without_an_onnx_form_fails_in_one_line_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = labsight.Workspace(tmp_path / "home", user="tester")
    rng = np.random.default_rng(3)
    x = rng.normal(size=40)
    frame = pl.DataFrame({"x": x, "ok": np.where(x + rng.normal(0, 0.5, 40) > 0, "yes", "no")})
    frame.write_csv(tmp_path / "pass.csv")
    ds = ws.ingest(tmp_path / "pass.csv", target="ok")
    record, _ = ws.models.train(ds, "ok", families=["gaussian_process"], max_trials=1, budget=10)
    entries = len(ws.audit.entries())
    target = tmp_path / "gpc.onnx"
    code = main(
        ["--home", str(ws.settings.home), "model", "export", record.model_id, "--out", str(target)]
    )
    err = capsys.readouterr().err
    assert code == 1
    assert "Gaussian process classifier has no ONNX form" in err
    assert err.count("\n") == 1
    assert not target.exists()
    assert len(ws.audit.entries()) == entries


def test_a_reloaded_model_keeps_its_explanations_as_figures(trained: tuple) -> None:
    ws, model_id, _ = trained
    record = ws.models.get(model_id)
    figures = ws.models.load(model_id).figures()
    assert figures["importance"].data[0].y[0] == record.summary["importance"][0]["feature"]
    curves = record.summary["partial_dependence"]
    assert curves  # the top numeric feature's curve was stored with the model
    name, curve = next(iter(curves.items()))
    trace = figures["partial_dependence"].data[0]
    assert list(trace.x) == curve["grid"]
    assert list(trace.y) == curve["average"]
    assert name == "T [degC]"
    assert curve["average"][-1] > curve["average"][0]  # yield rises with temperature


def test_model_show_describes_the_partial_dependence(
    trained: tuple, capsys: pytest.CaptureFixture[str]
) -> None:
    ws, model_id, _ = trained
    assert main(["--home", str(ws.settings.home), "model", "show", model_id]) == 0
    out = capsys.readouterr().out
    assert "Partial dependence" in out
    assert "rises" in out


def test_predict_refuses_a_unit_the_model_never_learned(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A model trained on 'age' (no unit) must not read 'age [h]' as if it were in its unit."""
    ws = labsight.Workspace(tmp_path / "home", user="tester")
    rng = np.random.default_rng(5)
    age = rng.uniform(1, 90, 60)
    pl.DataFrame({"age": age, "strength": 10 * np.log(age) + rng.normal(0, 1, 60)}).write_csv(
        tmp_path / "mix.csv"
    )
    record, _ = ws.models.train(
        ws.ingest(tmp_path / "mix.csv", target="strength"),
        "strength",
        families=["ridge"],
        max_trials=1,
        budget=10,
    )
    (tmp_path / "hours.csv").write_text("age [h]\n672\n")
    code = main(
        ["--home", str(ws.settings.home), "predict", record.model_id, str(tmp_path / "hours.csv")]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert (
        "column 'age [h]': the values are in h, but the model learned 'age' without a unit" in err
    )
    assert "Rename the column to 'age'" in err
