"""Nothing is overwritten silently by clean: a derived column (``y__outlier``, ``n_replicates``)
takes a free name next to the user's column of that name, and a clean that changes nothing
succeeds, says so, stores nothing and still writes --save-plan."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import polars as pl
import pytest

import labsight
from labsight.data.clean import CleaningPlan

Run = Callable[..., tuple[int, str, str]]
"""The ``run`` fixture of conftest: the CLI in-process."""


def _with_outlier(own_flag: bool = False) -> pl.DataFrame:
    """21 runs of a smooth assay and one reading of 1000 (row 20); optionally the scientist's own
    ``y__outlier`` column (their notes, in text)."""
    frame = pl.DataFrame(
        {"x": list(range(21)), "y": [10 + i * 0.013 for i in range(20)] + [1000.0]}
    )
    if own_flag:
        notes = ["checked" if i % 3 else "rerun" for i in range(21)]
        frame = frame.with_columns(pl.Series("y__outlier", notes))
    return frame


def _ingest(ws: labsight.Workspace, tmp_path: Path, frame: pl.DataFrame, name: str) -> object:
    path = tmp_path / f"{name}.csv"
    frame.write_csv(path)
    return ws.ingest(path, name=name, target="y")


def _files(ws: labsight.Workspace) -> set[str]:
    return {f.name for f in (Path(ws.artifacts.root) / "sha256").glob("*/*")}


def test_a_flag_column_never_replaces_the_users_column_of_that_name(
    ws: labsight.Workspace, tmp_path: Path
) -> None:
    ds = _ingest(ws, tmp_path, _with_outlier(own_flag=True), "assay")
    cleaned = ds.clean(outliers="flag")  # type: ignore[attr-defined]
    frame = cleaned.to_polars()
    assert frame["y__outlier"].to_list() == _with_outlier(own_flag=True)["y__outlier"].to_list()
    assert np.flatnonzero(frame["y__outlier_2"].to_numpy()).tolist() == [20]
    roles = {c.name: c.role for c in cleaned.columns}
    assert roles["y__outlier_2"] == "id"  # derived: never a model input
    change = next(c for c in cleaned.record.operation_params["changes"] if c["column"] == "y")
    assert change["flag_column"] == "y__outlier_2"
    assert change["note"] == "'y__outlier' exists and was kept"


def test_flagging_flagged_data_again_changes_nothing(
    ws: labsight.Workspace, tmp_path: Path
) -> None:
    ds = _ingest(ws, tmp_path, _with_outlier(), "assay")
    once = ds.clean(outliers="flag")  # type: ignore[attr-defined]
    twice = once.clean(outliers="flag")
    assert twice.ref == once.ref
    assert not twice.created
    assert [c.name for c in twice.columns] == ["x", "y", "y__outlier"]


def test_an_imputation_ignores_a_users_column_named_like_a_flag(
    ws: labsight.Workspace, tmp_path: Path
) -> None:
    """The impute fit leaves out values the flag step flagged, not rows the user's notes name."""
    frame = pl.DataFrame(
        {
            "dose": pl.Series([*range(19), 500.0, None], dtype=pl.Float64),  # a typo and a gap
            "dose__outlier": ["a"] * 21,
            "y": [10 + i * 0.013 for i in range(21)],
        }
    )
    ds = _ingest(ws, tmp_path, frame, "doses")
    cleaned = ds.clean(outliers="flag", impute="median")  # type: ignore[attr-defined]
    out = cleaned.to_polars()
    assert out["dose__outlier"].to_list() == ["a"] * 21
    assert out["dose__outlier_2"][19] is True
    assert out["dose"][20] == pytest.approx(9.0)  # the median of 0..18, without the flagged 500


def test_replicate_means_keep_a_users_n_replicates_column(
    ws: labsight.Workspace, tmp_path: Path
) -> None:
    frame = pl.DataFrame(
        {
            "T": [20 + (i // 3) * 10 for i in range(12)],
            "n_replicates": [3] * 12,  # the design's planned count, a column of the user's
            "y": [10 + i * 0.37 for i in range(12)],
        }
    )
    ds = _ingest(ws, tmp_path, frame, "reps")
    cleaned = ds.clean(replicates="mean")  # type: ignore[attr-defined]
    out = cleaned.to_polars()
    assert out["n_replicates"].to_list() == [3] * 4
    assert out["n_replicates_2"].to_list() == [3] * 4
    change = cleaned.record.operation_params["changes"][0]
    assert change["renamed"] == {"n_replicates": "n_replicates_2"}


def test_a_clean_that_changes_nothing_returns_the_version_and_still_saves_the_plan(
    ws: labsight.Workspace, tmp_path: Path
) -> None:
    ds = _ingest(ws, tmp_path, _with_outlier().head(20), "tidy")  # no gap, no outlier
    files = _files(ws)
    entries = len(ws.audit.entries())
    plan_file = tmp_path / "plan.yaml"
    result = ds.clean(impute="median", outliers="flag", save_plan=plan_file)  # type: ignore[attr-defined]
    assert result.ref == ds.ref  # type: ignore[attr-defined]
    assert not result.created
    assert len(ws.history("tidy")) == 1
    assert _files(ws) == files  # no Parquet, no plan file stored for nobody
    assert len(ws.audit.entries()) == entries
    plan = CleaningPlan.load(plan_file)
    assert [s.op for s in plan.steps] == ["outliers", "impute"]


def test_cli_clean_with_nothing_to_change_succeeds_says_so_and_writes_the_plan(
    run: Run, tmp_path: Path
) -> None:
    csv = tmp_path / "tidy.csv"
    _with_outlier().head(20).write_csv(csv)
    assert run("ingest", str(csv), "--name", "tidy")[0] == 0
    plan_file = tmp_path / "plan.yaml"
    code, out, err = run("clean", "tidy", "--impute", "median", "--save-plan", str(plan_file))
    assert code == 0, err
    assert "nothing changed" in out
    assert "no cleaned version was stored" in out
    assert "was made by" not in out + err
    assert CleaningPlan.load(plan_file).steps[0].op == "impute"
    code, out, _ = run("datasets", "--json")
    assert json.loads(out)[0]["versions"] == 1


def test_cli_clean_of_a_clean_file_writes_the_plan_and_reports_json(
    run: Run, tmp_path: Path
) -> None:
    csv = tmp_path / "tidy.csv"
    _with_outlier().head(20).write_csv(csv)
    plan_file = tmp_path / "plan.json"
    code, out, err = run(
        "clean", str(csv), "--outliers", "flag", "--save-plan", str(plan_file), "--json"
    )
    assert code == 0, err
    data = json.loads(out)
    assert data["changed"] is False
    assert data["operation"] == "ingest"  # the file's own version: no cleaned copy of it
    assert data["plan"]["steps"][0]["op"] == "outliers"
    assert json.loads(plan_file.read_text())["steps"][0]["op"] == "outliers"


def test_cli_flag_next_to_the_users_column_names_the_new_one(run: Run, tmp_path: Path) -> None:
    csv = tmp_path / "assay.csv"
    _with_outlier(own_flag=True).write_csv(csv)
    code, out, err = run("clean", str(csv), "--outliers", "flag", "--json")
    assert code == 0, err
    names = [c["name"] for c in json.loads(out)["columns"]]
    assert names == ["x", "y", "y__outlier", "y__outlier_2"]
