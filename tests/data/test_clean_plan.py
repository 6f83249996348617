"""Cleaning plans: the file format, its round trips, and clear errors for bad plans and options."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

import labsight.data.clean as clean
from labsight.data.clean import CleaningPlan, CleaningStep, apply_plan, build_plan
from labsight.data.table import ColumnInfo, Table
from labsight.exceptions import InputError


def small_table() -> Table:
    frame = pl.DataFrame(
        {
            "catalyst": ["Pd(OAc)2", "Pd(OAc)2", "pd(oac)2 ", "CuI", "CuI", "CuI"],
            "x": [1.0, None, 3.0, 4.0, 5.0, 6.0],
            "y": [10.0, 11.0, 12.0, 13.0, 14.0, 15.0],
        }
    )
    cols = [
        ColumnInfo("catalyst", "string", None, "condition"),
        ColumnInfo("x", "float"),
        ColumnInfo("y", "float", None, "target"),
    ]
    return Table(frame, cols)


def test_public_namespace() -> None:
    assert sorted(clean.__all__) == sorted(
        [
            "METHODS",
            "N_REPLICATES",
            "OPS",
            "OUTLIER_SUFFIX",
            "SD_SUFFIX",
            "CleanResult",
            "CleaningOptions",
            "CleaningPlan",
            "CleaningStep",
            "apply_plan",
            "build_plan",
        ]
    )


def test_plan_dict_has_the_documented_shape_in_order() -> None:
    plan = build_plan(small_table(), labels="normalize", impute="median")
    data = plan.to_dict()
    assert list(data) == ["labsight_plan", "steps"]
    assert data["labsight_plan"] == 1
    assert [list(s) for s in data["steps"]] == [["op", "method", "columns", "params"]] * 2
    assert data["steps"][0]["params"]["mapping"] == {"catalyst": {"pd(oac)2 ": "Pd(OAc)2"}}
    assert data["steps"][1]["params"]["values"] == {"x": 4.0}


def test_yaml_round_trip() -> None:
    plan = build_plan(small_table(), labels="normalize", impute="median", outliers="flag")
    text = plan.to_yaml()
    assert text.startswith("labsight_plan: 1\nsteps:\n- op: labels\n")
    assert CleaningPlan.from_yaml(text) == plan


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_save_and_load_round_trip(tmp_path: Path, suffix: str) -> None:
    plan = build_plan(small_table(), labels="normalize", impute="mean", outliers="winsorize")
    path = plan.save(tmp_path / f"plan{suffix}")
    if suffix == ".json":
        assert json.loads(path.read_text())["labsight_plan"] == 1
    loaded = CleaningPlan.load(path)
    assert loaded == plan
    assert loaded.source == str(path)
    assert [p.name for p in tmp_path.iterdir()] == [f"plan{suffix}"]  # no temp file left


BAD_PLANS = {
    "unknown op": (
        "labsight_plan: 1\nsteps:\n- op: impute\n  method: median\n- op: smooth\n  method: mean\n",
        r"plan\.yaml line 5: malformed cleaning plan: step 2 has an unknown op; "
        r"expected op one of sentinels, labels, units, spectra, outliers, impute, replicates, got 'smooth'",
    ),
    "bad method": (
        "labsight_plan: 1\nsteps:\n- op: outliers\n  method: clip\n",
        r"line 4: .*step 1 \(outliers\) has an unknown method; expected method one of flag, drop, "
        r"winsorize, got 'clip'",
    ),
    "unknown key": (
        "labsight_plan: 1\nsteps:\n- op: impute\n  method: mean\n  colums: [x]\n",
        r"line 5: .*step 1 has unknown key 'colums'; expected keys op, method, columns, params",
    ),
    "no version": (
        "steps: []\n",
        r"'labsight_plan' is missing or unsupported; expected labsight_plan: 1",
    ),
    "not yaml": ("labsight_plan: 1\nsteps: [\n", r"not valid YAML"),
    "columns not a list": (
        "labsight_plan: 1\nsteps:\n- op: impute\n  method: mean\n  columns: x\n",
        r"line 5: .*'columns' is not a list of names",
    ),
}


@pytest.mark.parametrize("case", list(BAD_PLANS))
def test_malformed_plan_names_file_line_key_and_expectation(tmp_path: Path, case: str) -> None:
    text, pattern = BAD_PLANS[case]
    path = tmp_path / "plan.yaml"
    path.write_text(text)
    with pytest.raises(InputError, match=pattern):
        CleaningPlan.load(path)


def test_malformed_json_plan_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "plan.json"
    path.write_text('{"labsight_plan": 1,\n "steps": [}\n')
    with pytest.raises(
        InputError, match=r"plan\.json line 2: malformed cleaning plan: not valid JSON"
    ):
        CleaningPlan.load(path)


def test_missing_plan_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read cleaning plan"):
        CleaningPlan.load(tmp_path / "nope.yaml")


@pytest.mark.parametrize(
    ("option", "value", "allowed"),
    [
        ("impute", "zero", "mean, median, knn, iterative"),
        ("outliers", "clip", "flag, drop, winsorize"),
        ("labels", "lower", "normalize"),
        ("units", "si", "canonical"),
        ("replicates", "max", "mean, median"),
    ],
)
def test_invalid_option_lists_the_allowed_values(option: str, value: str, allowed: str) -> None:
    with pytest.raises(
        InputError, match=f"unknown --{option} method '{value}'; expected one of {allowed}"
    ):
        build_plan(small_table(), **{option: value})  # type: ignore[arg-type]


def test_plan_naming_a_missing_column_is_an_input_error(tmp_path: Path) -> None:
    plan = build_plan(small_table(), impute="median")
    path = plan.save(tmp_path / "p.yaml")
    other = Table(pl.DataFrame({"catalyst": ["CuI"], "y": [1.0]}), small_table().columns[::2])
    with pytest.raises(
        InputError,
        match=r"p\.yaml, column 'x': cleaning plan step 1 \(impute median\) names column 'x'",
    ):
        apply_plan(other, CleaningPlan.load(path))


def test_steps_are_emitted_in_the_fixed_order() -> None:
    plan = build_plan(
        small_table(), replicates="mean", impute="median", outliers="drop", labels="normalize"
    )
    assert [s.op for s in plan.steps] == ["labels", "outliers", "impute", "replicates"]


def test_step_to_dict() -> None:
    assert CleaningStep("impute", "knn", None, {"refit": True}).to_dict() == {
        "op": "impute",
        "method": "knn",
        "columns": None,
        "params": {"refit": True},
    }
