"""Every figure spec that `analyse` makes keeps the data layout documented in `spec.py`."""

from __future__ import annotations

import math
import re
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import polars as pl
import pytest

from labsight.data.table import Table
from labsight.exceptions import InputError
from labsight.explore._analyse import Analysis, analyse
from labsight.explore.spec import KINDS, FigureSpec

NUMBER = (int, float)


def _numbers(values: Any, *, allow_none: bool = True) -> bool:
    return isinstance(values, list) and all(
        (v is None and allow_none) or (isinstance(v, NUMBER) and not isinstance(v, bool))
        for v in values
    )


def _finite(values: list[Any]) -> bool:
    return all(v is None or math.isfinite(v) for v in values)


def check_layout(spec: FigureSpec) -> None:
    """Fail unless ``spec.data`` has exactly the layout `spec.py` documents for its kind."""
    d = spec.data
    k = spec.kind
    if k == "histogram":
        assert set(d) == {"edges", "counts", "density_x", "density_y"}
        assert _numbers(d["edges"])
        assert _numbers(d["counts"], allow_none=False)
        assert len(d["edges"]) in (0, len(d["counts"]) + 1)
        assert len(d["density_x"]) == len(d["density_y"])
    elif k == "bar":
        assert set(d) == {"labels", "counts"}
        assert len(d["labels"]) == len(d["counts"])
        assert _numbers(d["counts"], allow_none=False)
    elif k == "box":
        assert set(d) == {"groups"}
        for g in d["groups"]:
            assert set(g) == {"name", "q1", "median", "q3", "low", "high", "outliers"}
            assert isinstance(g["name"], str)
            assert _numbers(g["outliers"])
            assert g["low"] <= g["q1"] <= g["median"] <= g["q3"] <= g["high"]
    elif k == "scatter":
        assert set(d) == {"x", "y", "color", "color_label", "trend_x", "trend_y"}
        assert len(d["x"]) == len(d["y"])
        assert _numbers(d["x"])
        assert _numbers(d["y"])
        assert d["color"] is None or len(d["color"]) == len(d["x"])
        assert len(d["trend_x"]) == len(d["trend_y"])
    elif k == "scatter_matrix":
        assert set(d) == {"columns", "values", "color", "color_label"}
        assert list(d["values"]) == d["columns"]
        sizes = {len(v) for v in d["values"].values()}
        assert len(sizes) == 1
        assert d["color"] is None or len(d["color"]) in sizes
    elif k == "heatmap":
        assert set(d) == {"x", "y", "z", "zmin", "zmax", "text", "color_label"}
        assert d["color_label"]
        assert len(d["z"]) == len(d["y"]) == len(d["text"])
        assert all(len(row) == len(d["x"]) for row in d["z"] + d["text"])
        assert all(_finite(row) for row in d["z"])
    elif k == "missing_map":
        assert set(d) == {"columns", "rows", "z"}
        assert len(d["z"]) == len(d["rows"])
        assert all(
            len(row) == len(d["columns"]) and all(0 <= v <= 1 for v in row) for row in d["z"]
        )
    elif k == "bars_by_level":
        assert set(d) == {"column", "levels", "share", "overall"}
        assert isinstance(d["column"], str)
        assert len(d["levels"]) == len(d["share"])
        assert 0 <= d["overall"] <= 1
    elif k == "pca_variance":
        assert set(d) == {"components", "explained", "cumulative"}
        assert len(d["components"]) == len(d["explained"]) == len(d["cumulative"])
        assert d["cumulative"] == sorted(d["cumulative"])
    elif k == "embedding":
        assert set(d) == {"x", "y", "color", "color_label", "cluster"}
        assert len(d["x"]) == len(d["y"])
        for key in ("color", "cluster"):
            assert d[key] is None or len(d[key]) == len(d["x"])
    elif k == "loadings":
        assert set(d) == {"columns", "pc1", "pc2", "labelled"}
        assert len(d["columns"]) == len(d["pc1"]) == len(d["pc2"])
        assert set(d["labelled"]) <= set(range(len(d["columns"])))
    elif k == "spectra":
        assert set(d) == {"axis", "lines", "bands"}
        for line in d["lines"]:
            assert set(line) == {"name", "y"}
            assert len(line["y"]) == len(d["axis"])
        for band in d["bands"]:
            # mean ± sd, or explicit edges, or a line alone; with optional words for the legend
            edges = set(band) & {"sd", "low", "high"}
            assert edges in ({"sd"}, {"low", "high"}, set())
            assert set(band) - edges <= {"name", "mean", "centre", "spread", "line"}
            assert {"name", "mean"} <= set(band)
            assert all(len(band[key]) == len(d["axis"]) for key in ("mean", *edges))
    elif k == "timeseries":
        assert set(d) == {"t", "series"}
        for s in d["series"]:
            assert set(s) == {"name", "mean", "low", "high"}
            assert len(s["mean"]) == len(s["low"]) == len(s["high"]) == len(d["t"])
    elif k == "images":
        assert set(d) == {"grid", "labels", "tile", "gap"}
        step = d["tile"] + d["gap"]
        assert len(d["grid"]) == len(d["labels"]) * step - d["gap"]
        assert all(0 <= v <= 255 for row in d["grid"] for v in row)
    else:  # pragma: no cover - a kind the contract does not know
        pytest.fail(f"unknown kind {k}")


def mixed_table(n: int = 240, seed: int = 1) -> Table:
    rng = np.random.default_rng(seed)
    temperature = rng.uniform(40, 90, n)
    catalyst = rng.choice(["Pd-A", "Pd-B", "Ni"], n)
    operator = rng.choice(["ann", "bob", "cy"], n)
    yield_ = 0.8 * temperature + np.where(catalyst == "Ni", -15.0, 0.0) + rng.normal(0, 3, n)
    pressure = rng.normal(2, 0.2, n)
    pressure[(operator == "cy") & (rng.random(n) < 0.6)] = np.nan
    frame = pl.DataFrame(
        {
            "run": np.arange(n),
            "temperature [degC]": temperature,
            "pressure": pl.Series(pressure).fill_nan(None),
            "catalyst": catalyst,
            "operator": operator,
            "yield [%]": yield_,
        }
    )
    return Table.from_frame(
        frame,
        roles={
            "run": "id",
            "catalyst": "condition",
            "operator": "condition",
            "yield [%]": "target",
        },
        units={"pressure": "bar"},
    )


def spectra_table(n: int = 60, channels: int = 300, seed: int = 2) -> Table:
    rng = np.random.default_rng(seed)
    axis = np.linspace(1000, 2500, channels)
    cls = np.array(["olive", "sunflower"] * (n // 2))
    centre = np.where(cls == "olive", 1400.0, 1900.0)
    values = np.exp(-(((axis[None, :] - centre[:, None]) / 120) ** 2)) + rng.normal(
        0, 0.02, (n, channels)
    )
    frame = pl.DataFrame({f"{a:.1f}": values[:, j] for j, a in enumerate(axis)}).with_columns(
        oil=pl.Series(cls)
    )
    return Table.from_frame(frame, roles={"oil": "target"})


def log_table(n: int = 5000, seed: int = 3) -> Table:
    rng = np.random.default_rng(seed)
    start = datetime(2026, 1, 1)
    frame = pl.DataFrame(
        {
            "time": [start + timedelta(seconds=10 * i) for i in range(n)],
            "reactor T [degC]": 60 + np.linspace(0, 5, n) + rng.normal(0, 0.3, n),
            "flow [mL/min]": rng.normal(10, 1, n),
        }
    )
    return Table.from_frame(frame, roles={"time": "time"})


def images_table(n: int = 14, seed: int = 2) -> Table:
    """Small grey PNGs of two kinds (bright or dark), as an ingested folder of images is."""
    import dataclasses
    import hashlib
    import io

    from PIL import Image

    from labsight.data.images import ImageFiles

    rng = np.random.default_rng(seed)
    store: dict[str, bytes] = {}
    keys = []
    for i in range(n):
        buffer = io.BytesIO()
        level = 60 if i % 2 else 200
        pixels = np.clip(rng.normal(level, 20, (20, 20)), 0, 255).astype(np.uint8)
        Image.fromarray(pixels).save(buffer, "PNG")
        key = hashlib.sha256(buffer.getvalue()).hexdigest()
        store[key] = buffer.getvalue()
        keys.append(key)
    frame = pl.DataFrame(
        {"image": keys, "label": ["dark" if i % 2 else "bright" for i in range(n)]}
    )
    table = Table.from_frame(frame, roles={"label": "target"})
    columns = [
        dataclasses.replace(c, dtype="image") if c.name == "image" else c for c in table.columns
    ]
    return Table(frame, columns, images=ImageFiles(store=store.__getitem__))


TABLES = {"mixed": mixed_table, "spectra": spectra_table, "log": log_table, "images": images_table}


@pytest.fixture(scope="module")
def analyses() -> dict[str, Analysis]:
    return {name: analyse(make()) for name, make in TABLES.items()}


@pytest.mark.parametrize("name", list(TABLES))
def test_every_spec_keeps_its_kinds_layout(analyses: dict[str, Analysis], name: str) -> None:
    for spec in analyses[name].figures:
        assert spec.kind in KINDS
        check_layout(spec)


def test_every_kind_is_made_by_some_table(analyses: dict[str, Analysis]) -> None:
    made = {spec.kind for a in analyses.values() for spec in a.figures}
    assert made == set(KINDS)


@pytest.mark.parametrize("name", list(TABLES))
def test_figure_names_are_unique_and_safe_as_file_names(
    analyses: dict[str, Analysis], name: str
) -> None:
    names = [spec.name for spec in analyses[name].figures]
    assert len(names) == len(set(names))
    assert all(re.fullmatch(r"[a-z0-9][a-z0-9-]*", n) for n in names)


@pytest.mark.parametrize("name", list(TABLES))
def test_every_figure_has_a_title_and_a_caption(analyses: dict[str, Analysis], name: str) -> None:
    for spec in analyses[name].figures:
        assert spec.title
        assert spec.caption
        assert "\n" not in spec.caption


def test_overview_counts_rows_columns_and_findings(analyses: dict[str, Analysis]) -> None:
    overview = analyses["mixed"].overview
    assert overview["rows"] == 240
    assert overview["columns"][2] == {
        "name": "pressure",
        "unit": "bar",
        "dtype": "float",
        "role": "feature",
    }
    assert overview["target"] == "yield [%]"
    assert overview["memory_bytes"] > 0
    assert set(overview["findings"]) == {"error", "warning", "info"}
    assert sum(overview["findings"].values()) == len(analyses["mixed"].findings)


def test_axis_labels_carry_units(analyses: dict[str, Analysis]) -> None:
    specs = {s.name: s for s in analyses["mixed"].figures}
    assert specs["hist-pressure"].x_label == "pressure [bar]"
    assert specs["scatter-temperature-degc-vs-yield"].y_label == "yield [%]"


@pytest.mark.parametrize("argument", ["target", "color"])
def test_unknown_column_is_an_input_error_listing_the_columns(argument: str) -> None:
    with pytest.raises(InputError, match=r"unknown .* column 'nope'.*'temperature \[degC\]'"):
        analyse(mixed_table(30), **{argument: "nope"})


def test_max_points_must_be_positive() -> None:
    with pytest.raises(InputError, match="max_points"):
        analyse(mixed_table(30), max_points=0)
