"""Spectra and sensor logs get figures of their own; odd tables (empty, one row, all-null) still work."""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta

import numpy as np
import polars as pl
import pytest

from labsight.data.table import Table
from labsight.explore._analyse import analyse
from labsight.explore._shape import channel_position, spectral_columns
from labsight.explore.spec import FigureSpec


def _spectra(n: int = 60, channels: int = 300) -> Table:
    rng = np.random.default_rng(0)
    axis = np.linspace(4000, 600, channels)  # wavenumbers, written high to low as instruments do
    cls = np.array(["A", "B"] * (n // 2))
    centre = np.where(cls == "A", 1700.0, 2900.0)
    values = np.exp(-(((axis[None, :] - centre[:, None]) / 80) ** 2)) + rng.normal(
        0, 0.01, (n, channels)
    )
    frame = pl.DataFrame({"sample": [f"s{i}" for i in range(n)], "class": cls}).hstack(
        pl.DataFrame({f"{a:.2f}": values[:, j] for j, a in enumerate(axis)})
    )
    return Table.from_frame(frame, roles={"sample": "id", "class": "target"})


def test_a_table_of_numbered_columns_is_drawn_as_spectra_not_histograms() -> None:
    result = analyse(_spectra())
    spectra = [f for f in result.figures if f.name == "spectra"]
    assert len(spectra) == 1
    data = spectra[0].data
    assert len(data["axis"]) == 300
    assert data["axis"] == sorted(data["axis"])
    assert len(data["lines"]) == 60
    assert data["lines"][0]["name"] == "s0"
    assert [b["name"] for b in data["bands"]] == ["A", "B"]
    assert "class classes differ most at" in spectra[0].caption
    per_channel = [f for f in result.figures if f.column and channel_position(f.column)]
    assert per_channel == []
    # Channels are linked to the target along the axis, not in a scatter matrix of five of them.
    assert "scatter_matrix" not in {f.kind for f in result.figures}
    link = next(f for f in result.figures if f.name == "spectra-link")
    assert "between the classes of class" in link.caption
    eta = link.data["bands"][0]["mean"]
    peak = data["axis"][max(range(len(eta)), key=lambda i: eta[i])]
    assert min(abs(peak - 1700), abs(peak - 2900)) < 150
    assert result.overview["spectral_columns"] == 300


def test_spectra_lines_are_sampled_to_two_hundred() -> None:
    spec = next(f for f in analyse(_spectra(n=500, channels=60)).figures if f.name == "spectra")
    assert len(spec.data["lines"]) == 200
    assert spec.note is not None
    assert "200 of 500" in spec.note


def test_an_ordinary_table_is_not_spectra() -> None:
    frame = pl.DataFrame(
        {"temperature": [1.0, 2.0, 3.0], "2024": [1.0, 2.0, 3.0], "yield": [3.0, 4.0, 5.0]}
    )
    table = Table.from_frame(frame)
    assert spectral_columns(table) == []
    assert "spectra" not in {f.kind for f in analyse(table).figures}


@pytest.mark.parametrize(
    ("name", "position"),
    [
        ("1050", 1050.0),
        ("1050.5 [nm]", 1050.5),
        ("400 nm", 400.0),
        ("temperature", None),
        ("x1050", None),
    ],
)
def test_channel_names(name: str, position: float | None) -> None:
    assert channel_position(name) == position


def test_a_datetime_table_gets_time_series_binned_to_five_hundred() -> None:
    n = 20_000
    start = datetime(2026, 3, 1)
    frame = pl.DataFrame(
        {
            "time": [start + timedelta(seconds=i) for i in range(n)],
            "T [degC]": 20 + np.arange(n) / n * 10,
        }
    )
    result = analyse(Table.from_frame(frame, roles={"time": "time"}))
    spec = next(f for f in result.figures if f.kind == "timeseries")
    assert len(spec.data["t"]) == 500
    series = spec.data["series"][0]
    assert series["mean"][0] == pytest.approx(20.0, abs=0.05)
    assert series["mean"][-1] == pytest.approx(30.0, abs=0.05)
    assert all(
        lo <= m <= hi
        for lo, m, hi in zip(series["low"], series["mean"], series["high"], strict=True)
    )
    assert spec.data["t"][0].startswith("2026-03-01T00:00:")
    assert result.overview["time"] == "time"


def test_a_date_column_also_makes_a_time_series() -> None:
    frame = pl.DataFrame({"day": [date(2026, 1, d) for d in range(1, 29)], "x": np.arange(28.0)})
    figures = analyse(Table.from_frame(frame, roles={"day": "time"})).figures
    assert any(f.kind == "timeseries" for f in figures)


@pytest.mark.parametrize(
    "frame",
    [
        pl.DataFrame(
            {"x": [], "c": [], "y": []}, schema={"x": pl.Float64, "c": pl.String, "y": pl.Float64}
        ),
        pl.DataFrame({"x": [1.0], "c": ["a"], "y": [2.0]}),
        pl.DataFrame({"x": [None, None, None], "c": ["a", "b", None], "y": [1.0, 2.0, 3.0]}),
        pl.DataFrame({"x": [1.0, 1.0, 1.0], "c": ["a", "a", "a"], "y": [None, 2.0, 3.0]}),
        pl.DataFrame({"x": [float("nan"), 1.0, 2.0], "c": ["a", "b", "b"], "y": [0.0, 2.0, 3.0]}),
    ],
    ids=["zero-rows", "one-row", "all-null-column", "constant", "nan"],
)
def test_odd_tables_do_not_crash(frame: pl.DataFrame) -> None:
    result = analyse(Table.from_frame(frame, roles={"y": "target"}))
    assert result.overview["rows"] == frame.height
    assert result.tables.summary.height == 3
    assert all(isinstance(f, FigureSpec) for f in result.figures)


def test_a_table_without_columns_does_not_crash() -> None:
    result = analyse(Table.from_frame(pl.DataFrame()))
    assert result.figures == []
    assert result.overview["rows"] == 0


def test_summary_describes_each_column_on_all_rows() -> None:
    frame = pl.DataFrame({"T": [20.0, 25.0, None, 30.0], "cat": ["a", "a", "b", None]})
    summary = analyse(Table.from_frame(frame, units={"T": "degC"})).tables.summary
    t = summary.row(0, named=True)
    assert t["unit"] == "degC"
    assert t["count"] == 3
    assert t["missing"] == 1
    assert t["missing_share"] == 0.25
    assert t["distinct"] == 3
    assert (t["mean"], t["min"], t["median"], t["max"]) == (25.0, 20.0, 25.0, 30.0)
    cat = summary.row(1, named=True)
    assert cat["distinct"] == 2
    assert cat["mean"] is None
    assert cat["top"] == "a (67%), b (33%)"


@pytest.mark.slow
def test_a_million_rows_keep_figure_data_bounded_and_fast() -> None:
    rng = np.random.default_rng(0)
    n = 1_000_000
    frame = pl.DataFrame({f"x{i}": rng.normal(size=n) for i in range(19)}).with_columns(
        pl.Series("batch", rng.choice(["a", "b", "c"], n)),
        (pl.col("x0") * 2 + pl.col("x1")).alias("yield"),
        pl.when(pl.int_range(n) % 7 == 0).then(None).otherwise(pl.col("x5")).alias("x5"),
    )
    table = Table.from_frame(frame, roles={"yield": "target", "batch": "condition"})
    started = time.perf_counter()
    result = analyse(table, max_points=2000)
    elapsed = time.perf_counter() - started
    assert result.sampled
    for spec in result.figures:
        d = spec.data
        if spec.kind in ("scatter", "embedding"):
            assert len(d["x"]) <= 2000
            assert spec.note
        elif spec.kind == "scatter_matrix":
            assert all(len(v) <= 2000 for v in d["values"].values())
        elif spec.kind == "histogram":
            assert len(d["counts"]) <= 200
            assert len(d["density_x"]) <= 200
        elif spec.kind == "missing_map":
            assert len(d["rows"]) <= 200
            assert d["z"][0] == [pytest.approx(1 / 7, abs=0.01)]
        elif spec.kind == "box":
            assert all(len(g["outliers"]) <= 50 for g in d["groups"])
    assert "missing_map" in {f.kind for f in result.figures}
    assert elapsed < 60, f"analyse took {elapsed:.1f} s"


def test_a_numeric_time_role_column_is_a_clock_too() -> None:
    frame = pl.DataFrame({"elapsed": np.arange(1000.0), "pressure": np.linspace(1, 2, 1000)})
    table = Table.from_frame(frame, roles={"elapsed": "time"}, units={"elapsed": "s"})
    spec = next(f for f in analyse(table).figures if f.kind == "timeseries")
    assert len(spec.data["t"]) == 500
    assert spec.data["t"][0] == pytest.approx(0.999)
    assert spec.x_label == "elapsed [s]"


def test_channel_pairs_do_not_crowd_the_strongest_pairs() -> None:
    pairs = analyse(_spectra()).tables.strongest_pairs
    assert pairs is not None
    both_channels = [
        row
        for row in pairs.iter_rows(named=True)
        if channel_position(row["a"]) is not None and channel_position(row["b"]) is not None
    ]
    assert both_channels == []


@pytest.mark.parametrize("target", [None, "f", "i", "b", "s", "many", "empty", "const"])
@pytest.mark.parametrize("n", [2, 3, 11])
def test_every_column_type_as_target_does_not_crash(n: int, target: str | None) -> None:
    rng = np.random.default_rng(n)
    frame = pl.DataFrame(
        {
            "f": rng.normal(size=n),
            "i": rng.integers(0, 5, n),
            "b": rng.random(n) < 0.5,
            "s": rng.choice(["a", "b", "c"], n),  # level names that clash with internal names
            "many": [f"id{k}" for k in range(n)],
            "empty": pl.Series([None] * n, dtype=pl.Null),
            "const": np.ones(n),
            "at": [datetime(2026, 1, 1) + timedelta(hours=k) for k in range(n)],
        }
    )
    table = Table.from_frame(frame, roles={target: "target"} if target else {})
    result = analyse(table, target=target, color="s", max_points=2)
    names = [f.name for f in result.figures]
    assert len(names) == len(set(names))
