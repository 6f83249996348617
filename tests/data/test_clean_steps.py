"""Each cleaning step, replay on a new batch, and properties of the steps (Hypothesis)."""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import labsight.data.units  # noqa: F401 - the unit checks need it; a broken import must fail
from labsight.data.clean import CleaningPlan, apply_plan, build_plan
from labsight.data.quality import check_table
from labsight.data.table import Table


def make_table(
    data: dict[str, Any], roles: dict[str, Any] | None = None, units: dict[str, str] | None = None
) -> Table:
    return Table.from_frame(pl.DataFrame(data), roles=roles, units=units)  # type: ignore[arg-type]


def batch(seed: int, n: int = 200) -> Table:
    rng = np.random.default_rng(seed)
    x = rng.normal(50, 5, n)
    x[3] = 500.0
    x[[5, 9]] = np.nan
    return make_table(
        {
            "run": np.arange(n),
            "catalyst": rng.choice(["Pd(OAc)2", "CuI"], n),
            "x": pl.Series(x).fill_nan(None),
            "time [min]": rng.uniform(10, 60, n),
            "y": rng.normal(size=n),
        },
        roles={"run": "id", "catalyst": "condition", "y": "target"},
        units={"time [min]": "min"},
    )


# --- labels ----------------------------------------------------------------------------------------


def test_labels_normalize_maps_variants_to_the_most_frequent_spelling() -> None:
    table = make_table({"cat": ["Pd(OAc)2"] * 3 + ["pd(oac)2 ", "Pd(OAc)₂", "CuI", None]})
    result = apply_plan(table, build_plan(table, labels="normalize"))
    assert result.table.frame["cat"].to_list() == ["Pd(OAc)2"] * 5 + ["CuI", None]
    [change] = result.changes
    assert change["column"] == "cat"
    assert change["rows"] == [3, 4]
    assert check_table(result.table, checks=["label_inconsistency"]).findings == []


def test_labels_replay_maps_unseen_variants_of_known_labels() -> None:
    first = make_table({"cat": ["Pd(OAc)2", "Pd(OAc)2", "CuI"]})
    plan = build_plan(first, labels="normalize")
    second = make_table({"cat": ["PD(OAC)2", "cui ", "NiCl2"]})
    assert apply_plan(second, plan).table.frame["cat"].to_list() == ["Pd(OAc)2", "CuI", "NiCl2"]


# --- units -----------------------------------------------------------------------------------------


def test_units_canonical_converts_and_renames() -> None:
    table = make_table(
        {
            "time [min]": [1.0, 2.5, None],
            "T [K]": [300.0, 310.0, 320.0],
            "yield [%]": [1.0, 2.0, 3.0],
        },
        units={"time [min]": "min", "T [K]": "K", "yield [%]": "%"},
    )
    plan = build_plan(table, units="canonical")
    assert plan.steps[0].params["conversions"]["time [min]"] == {
        "from": "min",
        "to": "s",
        "name": "time [s]",
    }
    out = apply_plan(table, plan).table
    assert out.frame.columns == ["time [s]", "T [degC]", "yield [%]"]
    assert out.frame["time [s]"].to_list() == [60.0, 150.0, None]
    assert out.frame["T [degC]"].to_list() == pytest.approx([26.85, 36.85, 46.85])
    assert [c.unit for c in out.columns] == ["s", "degC", "%"]


def test_units_replay_says_when_it_reads_a_unitless_column_in_the_plans_unit() -> None:
    """A new batch whose column lost its unit is read in the plan's unit, and the change says so;
    one that names its unit is converted from that unit and says nothing of the kind."""
    first = make_table({"T": [300.0, 310.0]}, units={"T": "K"})
    plan = build_plan(first, units="canonical")
    bare = make_table({"T": [320.0]}, units={"T": None})  # type: ignore[dict-item]
    [change] = apply_plan(bare, plan).changes
    assert "no unit" in change["assumed"]
    assert "K" in change["assumed"]
    named = make_table({"T": [320.0]}, units={"T": "K"})
    [change] = apply_plan(named, plan).changes
    assert "assumed" not in change


# --- outliers --------------------------------------------------------------------------------------


def test_outliers_use_the_same_bounds_as_the_quality_report() -> None:
    table = batch(0)
    [finding] = check_table(table, checks=["outlier"]).findings
    plan = build_plan(table, outliers="flag")
    bounds = plan.steps[0].params["bounds"]["x"]
    assert bounds["lower"] == pytest.approx(finding.details["lower"])
    assert bounds["upper"] == pytest.approx(finding.details["upper"])


def test_outliers_flag_adds_a_non_feature_boolean_column() -> None:
    table = batch(0)
    out = apply_plan(table, build_plan(table, outliers="flag")).table
    assert np.flatnonzero(out.frame["x__outlier"].to_numpy()).tolist() == [3]
    info = out.column("x__outlier")
    assert (info.dtype, info.role) == ("bool", "id")
    assert "x__outlier" not in out.by_role("feature")


def test_outliers_flag_adds_columns_only_where_there_are_outliers() -> None:
    table = batch(0)
    result = apply_plan(table, build_plan(table, outliers="flag"))
    flags = [c for c in result.table.frame.columns if c.endswith("__outlier")]
    assert flags == ["x__outlier"]
    checked = {c["column"]: c["count"] for c in result.changes}
    assert checked["x"] == 1
    assert checked["time [min]"] == 0


def test_outliers_drop_removes_rows_and_keeps_file_lines() -> None:
    table = batch(0)
    table.row_lines = list(range(2, 202))
    out = apply_plan(table, build_plan(table, outliers="drop")).table
    assert out.height == 199
    assert 500.0 not in out.frame["x"].to_list()
    assert out.row_lines is not None
    assert out.row_lines[3] == 6


def test_outliers_winsorize_clips_to_the_bounds() -> None:
    table = batch(0)
    plan = build_plan(table, outliers="winsorize")
    out = apply_plan(table, plan).table
    upper = plan.steps[0].params["bounds"]["x"]["upper"]
    assert out.frame["x"][3] == pytest.approx(upper)
    assert out.frame["x"].null_count() == 2


# --- impute ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["mean", "median", "knn", "iterative"])
def test_impute_fills_feature_gaps_but_not_targets(method: str) -> None:
    table = batch(1)
    table = Table(
        table.frame.with_columns(
            pl.when(pl.col("run") == 7).then(None).otherwise(pl.col("y")).alias("y")
        ),
        table.columns,
    )
    result = apply_plan(table, build_plan(table, impute=method))
    assert result.table.frame["x"].null_count() == 0
    assert result.table.frame["y"].null_count() == 1
    assert [c["rows"] for c in result.changes if c["column"] == "x"] == [[5, 9]]


def test_impute_does_not_see_outliers() -> None:
    table = batch(2)
    plan = build_plan(table, outliers="flag", impute="mean")
    clean_mean = float(np.nanmean(np.delete(table.frame["x"].to_numpy(), 3)))
    assert plan.steps[1].params["values"]["x"] == pytest.approx(clean_mean)


def test_knn_and_iterative_record_refit() -> None:
    plan = build_plan(batch(0), impute="knn")
    assert plan.steps[0].params["refit"] is True


# --- replicates ------------------------------------------------------------------------------------


def test_replicates_mean_by_group_column_keeps_spread_and_counts() -> None:
    table = make_table(
        {
            "run": [1, 2, 3, 4, 5],
            "batch": ["A", "A", "B", "B", "B"],
            "T": [80.0, 80.0, 90.0, 90.0, 90.0],
            "y": [1.0, 3.0, 10.0, 11.0, 12.0],
        },
        roles={"run": "id", "batch": "group", "y": "target"},
    )
    result = apply_plan(table, build_plan(table, replicates="mean"))
    out = result.table
    assert out.frame.to_dict(as_series=False) == {
        "batch": ["A", "B"],
        "T": [80.0, 90.0],
        "y": [2.0, 11.0],
        "y__sd": [pytest.approx(np.sqrt(2.0)), 1.0],
        "n_replicates": [2, 3],
    }
    assert out.column("y__sd").role == "id"
    assert out.column("n_replicates").role == "id"
    assert "5 rows -> 2 rows" in result.changes[0]["note"]


def test_replicates_by_settings_when_there_is_no_group_column() -> None:
    table = make_table(
        {"T": [80.0, 80.0, 90.0], "cat": ["a", "a", "a"], "y": [1.0, 2.0, 5.0]},
        roles={"cat": "condition", "y": "target"},
    )
    out = apply_plan(table, build_plan(table, replicates="median")).table
    assert out.frame["y"].to_list() == [1.5, 5.0]
    assert out.frame["n_replicates"].to_list() == [2, 1]


# --- replay ----------------------------------------------------------------------------------------


def test_replay_on_a_new_batch_uses_the_first_batch_fit(tmp_path: Any) -> None:
    first, second = batch(0), batch(1)
    plan = build_plan(first, labels="normalize", outliers="winsorize", impute="median")
    loaded = CleaningPlan.load(plan.save(tmp_path / "plan.yaml"))
    out = apply_plan(second, loaded).table
    fitted = plan.steps[-1].params["values"]["x"]
    assert out.frame["x"][5] == fitted
    assert out.frame["x"][9] == fitted
    assert fitted != pytest.approx(float(second.frame["x"].median()), abs=1e-12)
    upper = plan.steps[1].params["bounds"]["x"]["upper"]
    assert out.frame["x"][3] == pytest.approx(upper)


def test_full_plan_on_the_table_it_was_built_on() -> None:
    table = batch(3)
    plan = build_plan(
        table, labels="normalize", units="canonical", outliers="flag", impute="median"
    )
    out = apply_plan(table, plan).table
    assert "time [s]" in out.frame.columns
    assert out.frame["x"].null_count() == 0


# --- properties ------------------------------------------------------------------------------------

finite = st.floats(-1e6, 1e6, allow_nan=False)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.one_of(finite, st.none()), min_size=1, max_size=60),
    st.sampled_from(["mean", "median"]),
)
def test_impute_leaves_no_nulls_when_any_value_is_present(
    values: list[float | None], method: str
) -> None:
    table = make_table({"x": pl.Series(values, dtype=pl.Float64)})
    out = apply_plan(table, build_plan(table, impute=method)).table
    expected = 0 if any(v is not None for v in values) else len(values)
    assert out.frame["x"].null_count() == expected


@settings(max_examples=40, deadline=None)
@given(st.lists(finite, min_size=5, max_size=80), st.lists(finite, min_size=1, max_size=40))
def test_winsorize_output_lies_within_the_fitted_bounds(fit: list[float], new: list[float]) -> None:
    plan = build_plan(make_table({"x": fit}), outliers="winsorize")
    bounds = plan.steps[0].params["bounds"].get("x")
    result = apply_plan(make_table({"x": new}), plan).table.frame["x"].to_numpy()
    if bounds is None:
        assert result.tolist() == new
        return
    lower = -np.inf if bounds["lower"] is None else bounds["lower"]
    upper = np.inf if bounds["upper"] is None else bounds["upper"]
    # a code for a missing value (0, -999 … apart from the rest) is no measurement to clip
    codes = np.isin(result, plan.steps[0].params.get("sentinels", {}).get("x", []))
    assert np.all((result >= lower) & (result <= upper) | codes)


labels = st.sampled_from(
    ["Pd(OAc)2", "pd(oac)2 ", "Pd(OAc)₂", "CuI", " cui", "Ni–Cl", "ni-cl", None]
)


@settings(max_examples=40, deadline=None)
@given(st.lists(labels, min_size=1, max_size=40))
def test_labels_normalize_is_idempotent(values: list[str | None]) -> None:
    table = make_table({"cat": pl.Series(values, dtype=pl.String)})
    once = apply_plan(table, build_plan(table, labels="normalize")).table
    twice = apply_plan(once, build_plan(once, labels="normalize"))
    assert twice.table.frame.equals(once.frame)
    assert twice.changes == []


EMPTY_OR_TINY = {
    "no rows": make_table(
        {"cat": pl.Series([], dtype=pl.String), "x": pl.Series([], dtype=pl.Float64)},
        units={"x": "min"},
    ),
    "one row": make_table({"cat": ["a"], "x": [1.0]}, units={"x": "min"}),
    "all null": make_table(
        {
            "cat": pl.Series([None] * 4, dtype=pl.String),
            "x": pl.Series([None] * 4, dtype=pl.Float64),
        },
        units={"x": "min"},
    ),
}


@pytest.mark.parametrize("name", list(EMPTY_OR_TINY))
@pytest.mark.parametrize("impute", ["median", "knn", "iterative"])
def test_every_step_copes_with_empty_and_tiny_tables(name: str, impute: str) -> None:
    table = EMPTY_OR_TINY[name]
    plan = build_plan(
        table,
        labels="normalize",
        units="canonical",
        outliers="drop",
        impute=impute,
        replicates="mean",
    )
    out = apply_plan(table, CleaningPlan.from_yaml(plan.to_yaml())).table
    assert "x [s]" in out.frame.columns
    assert out.height <= table.height


def test_labels_normalize_keeps_the_case_of_smiles() -> None:
    table = make_table(
        {
            "mol": ["c1ccccc1", "C1CCCCC1", "c1ccccc1", "CC(=O)O"],
            "solvent": ["THF", "thf", "THF", "DMF"],
        }
    )
    result = apply_plan(table, build_plan(table, labels="normalize"))
    assert result.table.frame["mol"].to_list() == ["c1ccccc1", "C1CCCCC1", "c1ccccc1", "CC(=O)O"]
    assert result.table.frame["solvent"].to_list() == ["THF", "THF", "THF", "DMF"]


def test_replicates_keep_outlier_flags_and_skip_tables_without_replicates() -> None:
    table = make_table(
        {
            "T": [60, 60, 80, 80, 100, 100],
            "y": [10.0, 12.0, 20.0, 22.0, 30.0, 90.0],
            "y__outlier": [False, False, False, False, False, True],
        },
        roles={"y": "target", "y__outlier": "id"},
    )
    result = apply_plan(table, build_plan(table, replicates="mean"))
    frame = result.table.frame
    assert frame["n_replicates"].to_list() == [2, 2, 2]
    assert frame["y__outlier"].to_list() == [False, False, True]
    single = make_table({"T": [60, 80, 100], "y": [1.0, 2.0, 3.0]}, roles={"y": "target"})
    unchanged = apply_plan(single, build_plan(single, replicates="mean"))
    assert unchanged.table.frame.equals(single.frame)
    assert unchanged.changes[0]["note"] == "no replicates"
