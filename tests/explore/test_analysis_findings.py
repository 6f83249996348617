"""`analyse` finds what is in the data: links to the target, shifted groups, gap patterns, clusters."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from labsight.data.quality import check_table
from labsight.data.table import Table
from labsight.explore._analyse import analyse
from labsight.explore._associations import cramers_v
from labsight.explore.spec import FigureSpec


def _by_name(figures: list[FigureSpec]) -> dict[str, FigureSpec]:
    return {f.name: f for f in figures}


def linked_table(n: int = 400, seed: int = 0) -> Table:
    rng = np.random.default_rng(seed)
    x = rng.uniform(20, 80, n)
    frame = pl.DataFrame(
        {
            "temperature [degC]": x,
            "noise": rng.normal(size=n),
            "stir [rpm]": rng.uniform(100, 500, n),
            "yield [%]": 0.9 * x + rng.normal(0, 4, n),
        }
    )
    return Table.from_frame(frame, roles={"yield [%]": "target"})


def test_a_target_that_depends_on_x_is_found_and_named_in_the_caption() -> None:
    result = analyse(linked_table())
    relations = [f for f in result.figures if f.section == "relations"]
    first = relations[0]
    assert first.kind == "scatter"
    assert first.column == "temperature [degC]"
    assert first.caption.startswith("strongest link to yield [%]: temperature [degC], Spearman 0.9")
    assert "Pearson 0.9" in first.caption
    assert result.overview["strongest_link"].startswith("strongest link to yield [%]")
    matrix = _by_name(result.figures)["scatter-matrix-yield"]
    assert matrix.data["columns"][0] == "temperature [degC]"
    assert matrix.data["columns"][-1] == "yield [%]"


def test_trend_line_is_the_least_squares_fit_on_all_rows() -> None:
    table = linked_table()
    spec = _by_name(analyse(table).figures)["scatter-temperature-degc-vs-yield"]
    x = table.frame["temperature [degC]"].to_numpy()
    y = table.frame["yield [%]"].to_numpy()
    slope, intercept = np.polyfit(x, y, 1)
    assert spec.data["trend_x"] == pytest.approx([x.min(), x.max()])
    assert spec.data["trend_y"] == pytest.approx(
        [intercept + slope * x.min(), intercept + slope * x.max()]
    )


def test_codes_for_a_missing_value_do_not_drive_the_trend_line() -> None:
    """A feature whose unmeasured runs are recorded as 0, far below its real values (the demo's
    man_proc columns): the line and the correlations are those of the measured rows, and the
    caption says which rows were left out and why."""
    frame = linked_table().frame.with_columns(
        pl.when(pl.int_range(pl.len()) % 10 == 0)
        .then(0.0)
        .otherwise(pl.col("temperature [degC]") / 3 + 60)  # 67 to 87 °C; unmeasured: 0
        .alias("temperature [degC]")
    )
    coded = Table.from_frame(frame, roles={"yield [%]": "target"})
    spec = _by_name(analyse(coded).figures)["scatter-temperature-degc-vs-yield"]
    x = frame["temperature [degC]"].to_numpy()
    y = frame["yield [%]"].to_numpy()
    real = x != 0.0
    slope, intercept = np.polyfit(x[real], y[real], 1)
    assert spec.data["trend_x"] == pytest.approx([x[real].min(), x[real].max()])
    assert spec.data["trend_y"] == pytest.approx(
        [intercept + slope * x[real].min(), intercept + slope * x[real].max()]
    )
    assert "40 rows where temperature [degC] is 0 (a code for a missing value" in spec.caption
    assert "Pearson 0.9" in spec.caption  # the zeros would pull it down to about 0.6
    assert 0.0 not in spec.data["x"]  # the coded points are not drawn as measurements


def test_strongest_pairs_say_what_rises_together() -> None:
    pairs = analyse(linked_table()).tables.strongest_pairs
    assert pairs is not None
    assert pairs.columns == ["a", "b", "measure", "value", "sentence"]
    first = pairs.row(0, named=True)
    assert {first["a"], first["b"]} == {"temperature [degC]", "yield [%]"}
    assert first["sentence"].startswith(
        "temperature [degC] and yield [%] rise together (Spearman 0.9"
    )


def test_a_falling_relation_reads_as_falling() -> None:
    rng = np.random.default_rng(4)
    x = rng.uniform(0, 1, 200)
    frame = pl.DataFrame({"dose": x, "viability": -x + rng.normal(0, 0.05, 200)})
    result = analyse(Table.from_frame(frame, roles={"viability": "target"}))
    scatter = _by_name(result.figures)["scatter-dose-vs-viability"]
    assert "viability falls as dose rises" in scatter.caption


def test_a_category_with_shifted_means_shows_in_the_split_boxes() -> None:
    rng = np.random.default_rng(5)
    n = 300
    catalyst = rng.choice(["A", "B", "C"], n)
    yield_ = rng.normal(60, 2, n) + np.where(catalyst == "C", 15.0, 0.0)
    frame = pl.DataFrame({"catalyst": catalyst, "x": rng.normal(size=n), "yield [%]": yield_})
    table = Table.from_frame(frame, roles={"catalyst": "condition", "yield [%]": "target"})
    spec = _by_name(analyse(table).figures)["box-yield-by-catalyst"]
    groups = {g["name"]: g for g in spec.data["groups"]}
    assert set(groups) == {"A", "B", "C"}
    assert groups["C"]["median"] > groups["A"]["q3"] + 10
    assert groups["C"]["median"] > groups["B"]["q3"] + 10
    assert spec.caption.startswith("yield [%] by catalyst: medians from")
    assert "(C); η 0.9" in spec.caption


def test_a_categorical_feature_against_the_target_is_a_box_split_in_relations() -> None:
    rng = np.random.default_rng(6)
    n = 200
    solvent = rng.choice(["water", "ethanol"], n)
    frame = pl.DataFrame(
        {
            "solvent": solvent,
            "yield": np.where(solvent == "water", 40.0, 70.0) + rng.normal(0, 1, n),
        }
    )
    result = analyse(Table.from_frame(frame, roles={"yield": "target"}))
    spec = _by_name(result.figures)["box-yield-by-solvent"]
    assert spec.section == "relations"
    assert spec.caption.startswith("strongest link to yield: solvent, η 1.00")


def test_box_statistics_use_all_rows() -> None:
    values = np.concatenate([np.arange(1.0, 101.0), [1000.0]])
    table = Table.from_frame(pl.DataFrame({"x": values}))
    box = _by_name(analyse(table).figures)["box-x"].data["groups"][0]
    q1, median, q3 = np.percentile(values, [25, 50, 75])
    assert (box["q1"], box["median"], box["q3"]) == pytest.approx((q1, median, q3))
    assert box["outliers"] == [1000.0]
    assert box["high"] == 100.0
    assert box["low"] == 1.0


def test_histogram_counts_every_value_and_density_is_scaled_to_counts() -> None:
    values = np.random.default_rng(7).normal(size=30_000)
    spec = _by_name(analyse(Table.from_frame(pl.DataFrame({"x": values}))).figures)["hist-x"]
    assert sum(spec.data["counts"]) == 30_000
    width = spec.data["edges"][1] - spec.data["edges"][0]
    area = float(np.trapezoid(spec.data["density_y"], spec.data["density_x"]))
    assert area / width == pytest.approx(30_000, rel=0.05)
    assert spec.note is not None
    assert "20,000 of 30,000" in spec.note


def test_bar_keeps_twenty_levels_and_groups_the_rest() -> None:
    levels = [f"L{i:02d}" for i in range(30)]
    frame = pl.DataFrame({"batch": levels * 2, "x": np.arange(60.0)})
    table = Table.from_frame(frame, roles={"batch": "condition"})
    spec = _by_name(analyse(table).figures)["bar-batch"]
    assert len(spec.data["labels"]) == 21
    assert spec.data["labels"][-1] == "other"
    assert sum(spec.data["counts"]) == 60


def test_missingness_concentrated_on_one_operator_shows_in_bars_by_level() -> None:
    rng = np.random.default_rng(8)
    n = 300
    operator = np.array(["ann", "bob", "cy"] * (n // 3))
    pressure = rng.normal(2, 0.1, n)
    gaps = (operator == "cy") & (rng.random(n) < 0.7)
    frame = pl.DataFrame(
        {
            "operator": operator,
            "pressure": pl.Series(np.where(gaps, np.nan, pressure)).fill_nan(None),
            "yield": rng.normal(size=n),
        }
    )
    table = Table.from_frame(frame, roles={"operator": "condition", "yield": "target"})
    report = check_table(table)
    result = analyse(table, report)
    spec = _by_name(result.figures)["missing-pressure-by-operator"]
    assert spec.kind == "bars_by_level"
    share = dict(zip(spec.data["levels"], spec.data["share"], strict=True))
    assert share["ann"] == 0.0
    assert share["bob"] == 0.0
    assert share["cy"] == pytest.approx(gaps.sum() / 100)
    assert spec.data["overall"] == pytest.approx(gaps.sum() / n)
    assert "100% of missing pressure is on operator = cy" in spec.caption
    table_ = result.tables.missing_by_condition
    assert table_ is not None
    row = table_.filter((pl.col("column") == "pressure") & (pl.col("level") == "cy")).row(
        0, named=True
    )
    assert row["missing"] == gaps.sum()
    assert row["rows"] == 100


def test_random_gaps_get_a_map_but_no_bars_by_level() -> None:
    rng = np.random.default_rng(9)
    n = 300
    values = rng.normal(size=n)
    values[rng.random(n) < 0.1] = np.nan
    frame = pl.DataFrame(
        {"operator": ["ann", "bob", "cy"] * 100, "x": pl.Series(values).fill_nan(None)}
    )
    result = analyse(Table.from_frame(frame, roles={"operator": "condition"}))
    kinds = [f.kind for f in result.figures]
    assert "missing_map" in kinds
    assert "bars_by_level" not in kinds


def _blobs(separation: float, seed: int = 10) -> Table:
    rng = np.random.default_rng(seed)
    centres = np.array([[0, 0, 0, 0], [1, 1, 0, 0], [0, 1, 1, 1]]) * separation
    x = np.vstack([c + rng.normal(size=(100, 4)) for c in centres])
    return Table.from_frame(pl.DataFrame({f"f{i}": x[:, i] for i in range(4)}))


def test_clear_clusters_are_marked() -> None:
    tsne = _by_name(analyse(_blobs(12.0)).figures)["tsne"]
    assert tsne.data["cluster"] is not None
    assert len(set(tsne.data["cluster"])) == 3
    assert tsne.caption.startswith("3 clusters marked")


def test_noise_gets_no_clusters() -> None:
    tsne = _by_name(analyse(_blobs(0.0)).figures)["tsne"]
    assert tsne.data["cluster"] is None
    assert tsne.caption.startswith("no clear clusters")


def test_pca_finds_one_dominant_direction() -> None:
    rng = np.random.default_rng(11)
    latent = rng.normal(size=500)
    frame = pl.DataFrame({f"s{i}": latent * (i + 1) + rng.normal(0, 0.05, 500) for i in range(5)})
    figures = _by_name(analyse(Table.from_frame(frame)).figures)
    assert figures["pca-variance"].data["explained"][0] > 0.95
    assert all(
        abs(v) == pytest.approx(1 / np.sqrt(5), abs=0.02)
        for v in figures["pca-loadings"].data["pc1"]
    )


def test_cramers_v_is_zero_for_unrelated_categories() -> None:
    rng = np.random.default_rng(13)
    frame = pl.DataFrame(
        {"a": rng.choice(["x", "y"], 2000), "b": rng.choice(["p", "q", "r"], 2000)}
    )
    assert cramers_v(frame, "a", "b") < 0.05


def test_points_are_sampled_with_a_seed_and_coloured_by_the_chosen_category() -> None:
    rng = np.random.default_rng(14)
    n = 3000
    frame = pl.DataFrame(
        {
            "x": rng.normal(size=n),
            "site": rng.choice(["north", "south"], n),
            "y": rng.normal(size=n),
        }
    )
    table = Table.from_frame(frame, roles={"y": "target"})
    first = analyse(table, color="site", max_points=500, seed=3)
    again = analyse(table, color="site", max_points=500, seed=3)
    scatter = _by_name(first.figures)["scatter-x-vs-y"]
    assert first.sampled
    assert len(scatter.data["x"]) == 500
    assert scatter.note == "500 of 3,000 rows, drawn at random, seed 3"
    assert set(scatter.data["color"]) == {"north", "south"}
    assert scatter.data["x"] == _by_name(again.figures)["scatter-x-vs-y"].data["x"]
    rows = {(x, c) for x, c in zip(frame["x"].to_list(), frame["site"].to_list(), strict=True)}
    assert all(p in rows for p in zip(scatter.data["x"], scatter.data["color"], strict=True))


def test_a_small_table_is_not_sampled() -> None:
    result = analyse(linked_table(100))
    assert not result.sampled
    assert _by_name(result.figures)["scatter-temperature-degc-vs-yield"].note is None


def test_missing_map_bins_whole_rows() -> None:
    values = np.arange(1000.0)
    values[:10] = np.nan
    frame = pl.DataFrame({"x": pl.Series(values).fill_nan(None), "y": np.arange(1000.0)})
    spec = _by_name(analyse(Table.from_frame(frame)).figures)["missing-map"]
    assert spec.data["columns"] == ["x"]
    assert spec.data["rows"][:3] == [0, 5, 10]
    assert len(spec.data["rows"]) == 200
    assert spec.data["z"][:3] == [[1.0], [1.0], [0.0]]


def test_cramers_v_with_level_names_like_column_names() -> None:
    frame = pl.DataFrame({"x": ["a", "b"] * 10, "y": ["a", "len"] * 10})
    assert cramers_v(frame, "x", "y") == pytest.approx(1.0)
