"""Tiny tables train or refuse cleanly: a 2^3 factorial design (8 runs) and a 6-run table train with
leave-one-out cross-validation and a finite score, fewer than 3 rows are refused in one line, and
a training that fails leaves no model file that no row references."""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from sqlalchemy import inspect, text

import labsight
from labsight.data.ingest import read_table
from labsight.exceptions import InputError, LabsightError
from labsight.store import models as model_repo

Run = Callable[..., tuple[int, str, str]]
"""The ``run`` fixture of conftest: the CLI in-process."""

_FAMILIES = ["linear", "ridge", "knn", "decision_tree"]


def _factorial() -> pl.DataFrame:
    """A 2^3 full factorial: temperature, time and catalyst at two levels each, one run apiece."""
    runs = list(itertools.product([40.0, 60.0], [15.0, 25.0], ["Pd", "Ni"]))
    t = np.array([r[0] for r in runs])
    minutes = np.array([r[1] for r in runs])
    pd_cat = np.array([r[2] == "Pd" for r in runs])
    noise = np.array([0.3, -0.2, 0.1, -0.4, 0.2, 0.0, -0.1, 0.3])
    y = 0.4 * t + 0.5 * minutes + 3.0 * pd_cat + noise
    return pl.DataFrame(
        {
            "T [degC]": t,
            "time [min]": minutes,
            "catalyst": [r[2] for r in runs],
            "yield [%]": y,
        }
    )


def _six_runs() -> pl.DataFrame:
    t = np.array([40.0, 45.0, 50.0, 55.0, 60.0, 65.0])
    minutes = np.array([15.0, 25.0, 20.0, 15.0, 25.0, 20.0])
    y = 0.4 * t + 0.5 * minutes + np.array([0.2, -0.1, 0.3, -0.3, 0.1, 0.0])
    return pl.DataFrame({"T [degC]": t, "time [min]": minutes, "yield [%]": y})


def _csv(path: Path, frame: pl.DataFrame) -> Path:
    frame.write_csv(path)
    return path


def _unreferenced(ws: labsight.Workspace) -> list[str]:
    """Stored files whose hash no row of the database mentions."""
    with ws.db.engine.connect() as conn:
        dump = " ".join(
            str(row)
            for table in inspect(conn).get_table_names()
            for row in conn.execute(text(f'SELECT * FROM "{table}"'))
        )
    files = (Path(ws.artifacts.root) / "sha256").glob("*/*")
    return sorted(f.name for f in files if f.name not in dump)


def _new_rows(tmp_path: Path, frame: pl.DataFrame) -> Any:
    return read_table(_csv(tmp_path / "new.csv", frame.drop("yield [%]").head(3)))


@pytest.mark.parametrize(
    ("frame", "rows"), [(_factorial(), 8), (_six_runs(), 6)], ids=["2^3 factorial", "6 runs"]
)
def test_a_tiny_table_trains_leave_one_out_with_a_finite_stored_score(
    ws: labsight.Workspace, tmp_path: Path, frame: pl.DataFrame, rows: int
) -> None:
    ds = ws.ingest(_csv(tmp_path / "tiny.csv", frame), name="tiny", target="yield [%]")
    record, model = ws.models.train(
        ds, "yield [%]", families=_FAMILIES, budget=30, max_trials=len(_FAMILIES)
    )
    assert model.cv["scheme"] == f"leave-one-out ({rows} folds), pooled"
    stored = ws.models.get(record.model_id)
    assert math.isfinite(stored.cv_mean)
    assert math.isfinite(stored.cv_std)
    assert stored.cv_mean > 0.5  # the pooled R² of rows predicted by models that never saw them
    assert all(math.isfinite(r["mean"]) for r in stored.summary["leaderboard"])
    out = ws.models.predict(record.model_id, _new_rows(tmp_path, frame))
    assert out.height == 3
    assert np.all(np.isfinite(out.select("prediction", "lower", "upper").to_numpy()))
    assert _unreferenced(ws) == []


def test_a_family_that_cannot_fit_so_few_rows_is_skipped_with_the_reason(
    ws: labsight.Workspace, tmp_path: Path
) -> None:
    ds = ws.ingest(_csv(tmp_path / "four.csv", _six_runs().head(4)), name="four")
    _, model = ws.models.train(ds, "yield [%]", families=["ridge", "knn"], budget=20, max_trials=2)
    assert model.best == "ridge"
    assert [r["family"] for r in model.leaderboard] == ["ridge"]
    assert list(model.skipped) == ["knn"]
    assert "cannot be fitted on 3 training rows" in model.skipped["knn"]
    assert model.summary()["skipped"][0]["family"] == "knn"


def test_no_family_fitting_the_rows_is_one_input_error(
    ws: labsight.Workspace, tmp_path: Path
) -> None:
    ds = ws.ingest(_csv(tmp_path / "four.csv", _six_runs().head(4)), name="four")
    with pytest.raises(InputError, match=r"no model family can be fitted on these 4 rows: knn"):
        ws.models.train(ds, "yield [%]", families=["knn"], budget=20)
    assert ws.models.list() == []
    assert _unreferenced(ws) == []


def test_two_rows_are_refused_with_how_many_are_needed(
    ws: labsight.Workspace, tmp_path: Path
) -> None:
    ds = ws.ingest(_csv(tmp_path / "two.csv", _six_runs().head(2)), name="two")
    with pytest.raises(
        InputError, match=r"2 rows are too few .*; expected at least 3 rows with a target value"
    ):
        ws.models.train(ds, "yield [%]", budget=10)
    assert ws.models.list() == []


def test_a_class_of_one_row_is_refused_naming_it(ws: labsight.Workspace, tmp_path: Path) -> None:
    frame = (
        _factorial()
        .with_columns(pl.Series("outcome", ["good"] * 4 + ["poor"] * 3 + ["odd"]))
        .drop("yield [%]")
    )
    ds = ws.ingest(_csv(tmp_path / "classes.csv", frame), name="classes")
    with pytest.raises(InputError, match=r"class 'odd' has only one row.*1 × 'odd'"):
        ws.models.train(ds, "outcome", budget=10)


@pytest.mark.parametrize("where", ["the row", "after the file"])
def test_a_failed_registration_leaves_no_model_file(
    ws: labsight.Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    ds = ws.ingest(_csv(tmp_path / "fact.csv", _factorial()), name="fact")
    if where == "the row":

        def refuse(*args: object, **kwargs: object) -> None:
            raise LabsightError("the database refused the row")

        monkeypatch.setattr(model_repo, "add_model", refuse)
    else:
        put = ws.artifacts.put_bytes

        def put_then_fail(data: bytes, suffix: str = "") -> str:
            put(data, suffix)
            raise LabsightError("the disk failed after the file was written")

        monkeypatch.setattr(ws.artifacts, "put_bytes", put_then_fail)
    with pytest.raises(LabsightError, match=r"refused the row|disk failed"):
        ws.models.train(ds, "yield [%]", families=["ridge"], budget=20, max_trials=1)
    assert ws.models.list() == []
    assert _unreferenced(ws) == []


def test_a_score_that_is_not_a_number_never_reaches_the_database(
    ws: labsight.Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from labsight.models import train as train_module

    ds = ws.ingest(_csv(tmp_path / "fact.csv", _factorial()), name="fact")
    model = train_module.train(ds.table(), "yield [%]", families=["ridge"], budget=20, max_trials=1)
    model.cv["mean"] = float("nan")
    monkeypatch.setattr(train_module, "train", lambda *a, **k: model)
    with pytest.raises(LabsightError, match=r"cross-validated r2 of ridge is not a number"):
        ws.models.train(ds, "yield [%]")
    assert ws.models.list() == []
    assert _unreferenced(ws) == []


def test_cli_trains_a_factorial_and_refuses_two_rows_in_one_line(tmp_path: Path, run: Run) -> None:
    fact = _csv(tmp_path / "fact.csv", _factorial())
    code, out, err = run(
        "train",
        str(fact),
        "--target",
        "yield [%]",
        "--families",
        "linear,ridge",
        "--trials",
        "2",
        "--budget",
        "20",
        "--json",
    )
    assert code == 0, err
    data = json.loads(out)
    assert math.isfinite(data["cv"]["mean"])
    assert math.isfinite(data["cv"]["std"])

    two = _csv(tmp_path / "two.csv", _six_runs().head(2))
    code, out, err = run("train", str(two), "--target", "yield [%]", "--budget", "5")
    assert code == 2
    assert err.count("\n") == 1
    assert "2 rows are too few" in err
    assert "at least 3 rows" in err
    assert "Traceback" not in err + out
    ws = labsight.Workspace(tmp_path / "home")
    assert len(ws.models.list()) == 1
    assert _unreferenced(ws) == []
    # The refused file was not stored either: only the factorial that trained is a dataset.
    assert [d.name for d in ws.datasets()] == ["fact"]
    assert data["dataset"].startswith("fact@")
