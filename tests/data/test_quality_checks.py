"""Each check finds the problem injected into an otherwise clean table, with the right rows."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import polars as pl
import pytest

import labsight.data.units  # noqa: F401 - the unit checks need it; a broken import must fail
from labsight.data.quality import check_table
from labsight.data.table import Table


def make_table(
    data: dict[str, Any], roles: dict[str, Any] | None = None, units: dict[str, str] | None = None
) -> Table:
    return Table.from_frame(pl.DataFrame(data), roles=roles, units=units)  # type: ignore[arg-type]


# --- missing -------------------------------------------------------------------------------------


def test_missing_concentrated_on_one_operator_is_named() -> None:
    rng = np.random.default_rng(0)
    n = 300
    operator = np.where(np.arange(n) % 5 == 0, "night-shift", rng.choice(["ann", "bo"], n))
    temp = rng.normal(80, 3, n)
    gaps = ((operator == "night-shift") & (rng.random(n) < 0.5)) | (rng.random(n) < 0.05)
    table = make_table(
        {"operator": operator, "temperature [degC]": pl.Series(temp).set(pl.Series(gaps), None)},
        roles={"operator": "condition"},
    )
    [finding] = check_table(table).by_check("missing")
    assert finding.rows == np.flatnonzero(gaps).tolist()
    assert "is on operator = night-shift (which holds 20% of rows)" in finding.message
    assert finding.details["patterns"][0]["level"] == "night-shift"
    json.dumps(finding.to_dict(), allow_nan=False)
    assert "--impute median" in finding.suggestion


def test_missing_after_a_row_is_a_row_order_pattern() -> None:
    x = np.random.default_rng(1).normal(size=200)
    table = make_table({"x": [None if i >= 120 else v for i, v in enumerate(x)]})
    [finding] = check_table(table).by_check("missing")
    assert "all missing 'x' is from row 120 on" in finding.message
    assert finding.severity == "warning"
    assert finding.rows == list(range(120, 200))
    json.dumps(finding.to_dict(), allow_nan=False)


def test_a_gap_run_in_a_long_table_is_placed_on_its_exact_row() -> None:
    # Beyond 2,048 rows the split is tested on a grid, then refined to the row.
    x = np.random.default_rng(5).normal(size=50_000)
    x[np.random.default_rng(6).random(x.size) < 0.01] = np.nan
    x[31_337:] = np.nan
    table = make_table({"x": [None if np.isnan(v) else v for v in x]})
    [finding] = check_table(table).by_check("missing")
    [pattern] = finding.details["patterns"]
    assert pattern["split_row"] == 31_337
    assert pattern["late"]
    assert pattern["p_value"] < 1e-12


def test_mostly_missing_column_is_an_error() -> None:
    table = make_table({"x": [1.0, None, None, None, 2.0]})
    [finding] = check_table(table).by_check("missing")
    assert finding.severity == "error"
    assert finding.details["share"] == pytest.approx(0.6)


# --- outliers ------------------------------------------------------------------------------------


def test_outlier_rows_and_bounds() -> None:
    x = np.random.default_rng(2).normal(50, 5, 500)
    x[[17, 301]] = [160.0, -80.0]
    table = make_table({"yield [%]": x})
    [finding] = check_table(table, checks=["outlier"]).findings
    assert finding.rows == [17, 301]
    assert "row 17 = 160, row 301 = -80" in finding.message
    assert "--outliers flag" in finding.suggestion
    assert finding.details["n_low"] == 1
    assert finding.details["n_high"] == 1


@pytest.mark.parametrize("n", [20, 60])
def test_gross_outlier_is_found_in_small_tables(n: int) -> None:
    x = np.random.default_rng(n).normal(10, 1, n)
    x[4] = 25.0
    [finding] = check_table(make_table({"x": x}), checks=["outlier"]).findings
    assert finding.rows == [4]


def test_lognormal_outlier_is_judged_in_log_space() -> None:
    x = np.random.default_rng(3).lognormal(0, 1, 1000)
    x[5] = 1e4
    [finding] = check_table(make_table({"c": x}), checks=["outlier"]).findings
    assert finding.rows == [5]
    assert finding.details["transform"] == "log"


def test_id_and_mostly_constant_columns_are_not_checked_for_outliers() -> None:
    table = make_table(
        {"run": [*range(99), 10_000], "rpm": [500.0] * 99 + [800.0]}, roles={"run": "id"}
    )
    assert check_table(table, checks=["outlier"]).findings == []


def test_multivariate_outlier_found_where_univariate_is_quiet() -> None:
    rng = np.random.default_rng(4)
    a = rng.normal(size=400)
    b = a + rng.normal(scale=0.1, size=400)
    a[7], b[7] = 1.5, -1.5  # each value ordinary, the pair impossible
    table = make_table({"a": a, "b": b})
    assert check_table(table, checks=["outlier"]).findings == []
    [finding] = check_table(table, checks=["outlier"], multivariate=True).findings
    assert finding.column is None
    assert finding.rows == [7]


# --- duplicates ----------------------------------------------------------------------------------


def test_duplicate_rows_ignore_the_id_and_name_the_first_pair() -> None:
    rng = np.random.default_rng(5)
    x = rng.normal(size=30)
    x[17], x[22] = x[5], x[5]
    table = make_table({"run": np.arange(30), "x": x}, roles={"run": "id"})
    [finding] = check_table(table, checks=["duplicate"]).findings
    assert finding.rows == [17, 22]
    assert "row 17 repeats row 5" in finding.message
    assert finding.details["pairs"] == [[17, 5], [22, 5]]


def test_near_duplicate_numeric_columns() -> None:
    c = np.random.default_rng(6).normal(80, 5, 100)
    table = make_table({"T [degC]": c, "T [K]": c + 273.15, "other": c**2})
    [finding] = check_table(table, checks=["near_duplicate_column"]).findings
    assert finding.column == "T [K]"
    assert finding.details["other"] == "T [degC]"
    assert finding.details["intercept"] == pytest.approx(273.15)


def test_near_duplicate_text_columns_are_the_same_mapping() -> None:
    names = ["Pd(OAc)2", "CuI", "NiCl2"] * 10
    codes = {"Pd(OAc)2": "C1", "CuI": "C2", "NiCl2": "C3"}
    table = make_table({"catalyst": names, "code": [codes[v] for v in names]})
    [finding] = check_table(table, checks=["near_duplicate_column"]).findings
    assert (finding.column, finding.details["other"]) == ("code", "catalyst")


# --- labels --------------------------------------------------------------------------------------


def test_label_variants_are_grouped_under_the_most_frequent_spelling() -> None:
    values = ["Pd(OAc)2"] * 6 + ["pd(oac)2 ", "Pd(OAc)₂", "CuI", "CuI", "cui"]
    table = make_table({"catalyst": values}, roles={"catalyst": "condition"})
    [finding] = check_table(table, checks=["label_inconsistency"]).findings
    assert finding.rows == [6, 7, 10]
    assert finding.details["groups"] == {
        "Pd(OAc)2": {"Pd(OAc)2": 6, "pd(oac)2 ": 1, "Pd(OAc)₂": 1},
        "CuI": {"CuI": 2, "cui": 1},
    }
    assert "'pd(oac)2 ' (1)" in finding.message
    assert "--labels normalize" in finding.suggestion


# --- replicates ----------------------------------------------------------------------------------


def test_one_noisy_replicate_group_is_found() -> None:
    rng = np.random.default_rng(8)
    batches = np.repeat([f"B{i}" for i in range(20)], 3)
    y = np.repeat(rng.normal(60, 10, 20), 3) + rng.normal(0, 1, 60)
    y[[21, 22, 23]] += [-12.0, 0.0, 12.0]  # batch B7
    table = make_table({"batch": batches, "y": y}, roles={"batch": "group", "y": "target"})
    [finding] = check_table(table, checks=["replicate_noise"]).findings
    assert finding.rows == [21, 22, 23]
    assert "batch = B7" in finding.message


def test_noisy_group_without_target_checks_every_numeric_column() -> None:
    rng = np.random.default_rng(12)
    batches = np.repeat([f"B{i}" for i in range(15)], 4)
    a = rng.normal(0, 1, 60)
    b = rng.normal(0, 1, 60)
    b[[8, 9, 10, 11]] = [-9.0, 9.0, -8.0, 8.0]  # batch B2
    table = make_table({"batch": batches, "a": a, "b": b}, roles={"batch": "group"})
    [finding] = check_table(table, checks=["replicate_noise"]).findings
    assert (finding.column, finding.rows) == ("b", [8, 9, 10, 11])


def test_replicates_by_shared_settings_when_there_is_no_group_column() -> None:
    rng = np.random.default_rng(9)
    temps = np.repeat(np.arange(60.0, 100.0, 2.0), 3)
    y = temps / 2 + rng.normal(0, 0.5, temps.size)
    y[[0, 1, 2]] += [-6.0, 6.0, 0.0]
    table = make_table({"T": temps, "y": y}, roles={"y": "target"})
    [finding] = check_table(table, checks=["replicate_noise"]).findings
    assert finding.rows == [0, 1, 2]
    assert finding.details["by"] == ["T"]


# --- values --------------------------------------------------------------------------------------


def test_constant_column() -> None:
    table = make_table({"solvent": ["toluene"] * 9 + [None], "x": np.arange(10.0)})
    [finding] = check_table(table, checks=["constant"]).findings
    assert finding.column == "solvent"
    assert "'toluene'" in finding.message


def test_target_leak_by_rank_correlation() -> None:
    rng = np.random.default_rng(10)
    y = rng.uniform(0, 100, 200)
    table = make_table(
        {"conversion": np.sqrt(y) + rng.normal(0, 0.01, 200), "T": rng.normal(size=200), "y": y},
        roles={"y": "target"},
    )
    [finding] = check_table(table, checks=["target_leak"]).findings
    assert finding.column == "conversion"
    assert finding.severity == "warning"


def test_target_leak_by_a_categorical_that_fixes_the_target() -> None:
    codes = [f"L{i % 20}" for i in range(100)]
    y = [float(i % 20) * 1.5 for i in range(100)]
    table = make_table({"lot": codes, "y": y}, roles={"y": "target"})
    [finding] = check_table(table, checks=["target_leak"]).findings
    assert finding.column == "lot"


@pytest.mark.parametrize(("rare", "severity"), [(15, "warning"), (3, "error")])
def test_class_imbalance(rare: int, severity: str) -> None:
    labels = ["fail"] * rare + ["pass"] * (200 - rare)
    table = make_table({"x": np.arange(200.0), "outcome": labels}, roles={"outcome": "target"})
    [finding] = check_table(table, checks=["class_imbalance"]).findings
    assert finding.severity == severity
    assert finding.rows == list(range(rare))


def test_physical_limits_for_percent_and_fraction_names() -> None:
    table = make_table(
        {
            "yield [%]": [50.0, 104.0, -3.0, 20.0, 99.9, 100.0],
            "selectivity": [0.5, 0.9, 1.3, 0.2, 0.4, 1.0],
        },
        units={"yield [%]": "%"},
    )
    found = {f.column: f.rows for f in check_table(table, checks=["physical_limit"]).findings}
    assert found == {"yield [%]": [1, 2], "selectivity": [2]}


def test_physical_limits_with_units() -> None:
    table = make_table(
        {
            "mass [mg]": [1.0, -2.0, 3.0],
            "T [degC]": [25.0, -300.0, 80.0],
            "T [K]": [300.0, -1.0, 0.0],
            "time [min]": [1.0, 2.0, -5.0],
            "dT [degC]": [-10.0, 5.0, 1.0],
        },
        units={
            "mass [mg]": "mg",
            "T [degC]": "degC",
            "T [K]": "K",
            "time [min]": "min",
            "dT [degC]": "delta_degC",
        },
    )
    findings = check_table(table, checks=["physical_limit"]).findings
    assert {f.column: f.rows for f in findings} == {
        "mass [mg]": [1],
        "T [degC]": [1],
        "T [K]": [1],
        "time [min]": [2],
    }
    assert all(f.severity == "error" for f in findings)


def test_smiles_case_is_meaning_not_a_label_variant() -> None:
    # c1ccccc1 is benzene, C1CCCCC1 cyclohexane: not two spellings of one label.
    table = make_table(
        {
            "smiles": ["c1ccccc1", "C1CCCCC1", "c1ccccc1", "CCO"],
            "solvent": ["THF", "thf", "THF", "DMF"],
        }
    )
    report = check_table(table, checks=["label_inconsistency"])
    assert [f.column for f in report.findings] == ["solvent"]


def test_designed_factor_levels_are_not_outliers() -> None:
    # A designed experiment: 16 runs at 60 degC, 40 at 80, 40 at 100. The 60s are a level, not errors.
    temps = [60] * 16 + [80] * 40 + [100] * 40
    rng = np.random.default_rng(3)
    table = make_table(
        {"temperature [degC]": temps, "yield [%]": rng.uniform(20, 80, 96)},
        roles={"yield [%]": "target"},
        units={"temperature [degC]": "degC"},
    )
    assert check_table(table, checks=["outlier"]).findings == []
