"""The quality report's contract, the check registry and robustness on awkward tables."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import numpy as np
import polars as pl
import pytest

import labsight.data.quality as quality
from labsight.data.findings import Finding
from labsight.data.quality import CHECKS, QualityReport, check_table
from labsight.data.table import ColumnInfo, Table
from labsight.exceptions import InputError


def make_table(
    data: dict[str, Any], roles: dict[str, Any] | None = None, units: dict[str, str] | None = None
) -> Table:
    return Table.from_frame(pl.DataFrame(data), roles=roles, units=units)  # type: ignore[arg-type]


def test_public_namespace() -> None:
    assert sorted(quality.__all__) == sorted(
        ["CHECKS", "INGEST_CHECKS", "QualityReport", "RobustBounds", "check_table", "robust_bounds"]
    )


def test_checks_lists_every_stable_name() -> None:
    assert set(CHECKS) >= {
        "missing",
        "outlier",
        "duplicate",
        "unit_inconsistency",
        "label_inconsistency",
        "invalid_value",
        "replicate_noise",
        "constant",
        "near_duplicate_column",
        "target_leak",
        "class_imbalance",
        "physical_limit",
    }


def test_to_dict_contract_and_round_trip() -> None:
    table = make_table({"x": [1.0, None, 3.0, 4.0], "c": ["a", "a", "a", "a"]})
    report = check_table(table)
    data = json.loads(json.dumps(report.to_dict()))
    assert data["rows"] == 4
    assert data["columns"] == [
        {"name": "x", "unit": None, "dtype": "float", "role": "feature"},
        {"name": "c", "unit": None, "dtype": "string", "role": "feature"},
    ]
    for f in data["findings"]:
        assert {"check", "column", "rows", "severity", "message", "suggestion"} <= set(f)
    assert data["summary"] == {"error": 0, "warning": 2, "info": 0}
    again = QualityReport.from_dict(data)
    assert again.findings == report.findings
    assert again.to_dict() == data


def test_ingest_findings_are_included_once_and_sorted_worst_first() -> None:
    frame = pl.DataFrame({"x": [1.0, 2.0, None, 4.0]})
    ingest = Finding("invalid_value", "x", [2], "error", "'n/a?' is not a number", "fix it")
    table = Table(frame, [ColumnInfo("x", "float")], findings=[ingest])
    report = check_table(table)
    assert [f.check for f in report.findings] == ["invalid_value", "missing"]
    assert not report.ok
    assert report.by_check("invalid_value") == [ingest]


def test_checks_argument_selects_and_filters_ingest_findings() -> None:
    frame = pl.DataFrame({"x": [1.0, 2.0, None, 4.0]})
    ingest = Finding("unit_inconsistency", "x", [0], "warning", "mixed units", "convert")
    table = Table(frame, [ColumnInfo("x", "float")], findings=[ingest])
    assert [f.check for f in check_table(table, checks=["missing"]).findings] == ["missing"]
    assert check_table(table, checks=["unit_inconsistency"]).findings == [ingest]


def test_unknown_check_is_an_input_error_listing_the_choices() -> None:
    with pytest.raises(InputError, match=r"unknown quality check 'outliers'.*expected one of"):
        check_table(make_table({"x": [1.0]}), checks=["outliers"])


AWKWARD: dict[str, Table] = {
    "no rows": make_table(
        {"x": pl.Series([], dtype=pl.Float64), "s": pl.Series([], dtype=pl.String)}
    ),
    "one row": make_table({"x": [1.0], "s": ["a"], "y": [2.0]}, {"y": "target"}),
    "all null": make_table(
        {
            "x": pl.Series([None] * 30, dtype=pl.Float64),
            "s": pl.Series([None] * 30, dtype=pl.String),
        }
    ),
    "all strings": make_table({"s": [f"sample {i % 7}" for i in range(40)]}),
    "datetimes": make_table(
        {
            "t": [dt.datetime(2024, 1, 1) + dt.timedelta(hours=i) for i in range(40)],
            "x": np.linspace(0, 1, 40),
        },
        {"t": "time"},
    ),
    "no columns": Table(pl.DataFrame(), []),
    "bool target": make_table(
        {"x": np.arange(40.0), "ok": [i % 2 == 0 for i in range(40)]}, {"ok": "target"}
    ),
}


@pytest.mark.parametrize("name", list(AWKWARD))
def test_no_check_crashes_on_awkward_tables(name: str) -> None:
    report = check_table(AWKWARD[name], multivariate=True)
    assert report.rows == AWKWARD[name].height
    json.dumps(report.to_dict(), allow_nan=False)


def test_all_null_column_is_one_error_finding() -> None:
    report = check_table(AWKWARD["all null"])
    assert [(f.check, f.column, f.severity) for f in report.findings] == [
        ("missing", "x", "error"),
        ("missing", "s", "error"),
    ]
    assert "empty" in report.findings[0].suggestion
