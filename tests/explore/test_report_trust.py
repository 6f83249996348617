"""Reports that can be trusted on real lab tables (issue #15, items 8–11): wide tables with few rows
do not crash, the missing map shades partial gaps, a spectrum is drawn as one thing, headings say a
unit once, and 0/1 columns are drawn as the two levels they are."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import polars as pl
import pytest
from plotly.offline import get_plotlyjs

from labsight.data.table import Table
from labsight.explore import explore
from labsight.explore._matplotlib import to_matplotlib
from labsight.explore._plotly import figure_dict
from labsight.explore.spec import FigureSpec


def _spectra(rows: int, channels: int, *, target: str | None = None) -> Table:
    """Spectra of two classes (a band at 1700 or 2900), one column per wavenumber, plus a glucose
    reading: the shape of fermentation_mir (21 × 1,048) and coffee_ftir (60 × 1,842)."""
    rng = np.random.default_rng(0)
    axis = np.linspace(4000, 600, channels)
    cls = np.array(["A", "B"] * (rows // 2) + ["A"] * (rows % 2))
    centre = np.where(cls == "A", 1700.0, 2900.0)
    values = np.exp(-(((axis[None, :] - centre[:, None]) / 80) ** 2))
    values += rng.normal(0, 0.01, (rows, channels))
    frame = pl.DataFrame({"class": cls, "glucose": rng.uniform(0, 40, rows)}).hstack(
        pl.DataFrame({f"{a:.1f}": values[:, j] for j, a in enumerate(axis)})
    )
    roles = {target: "target"} if target else {}
    return Table.from_frame(frame, roles=roles, units={"glucose": "g/L"})


def _wide_named(rows: int, columns: int) -> Table:
    """Many descriptor columns that are not channels (DFT descriptors of a few reagents)."""
    rng = np.random.default_rng(1)
    frame = pl.DataFrame({f"descriptor_{j}": rng.normal(size=rows) for j in range(columns)})
    return Table.from_frame(frame)


def _long(rows: int) -> Table:
    """Many rows, few columns: a category, a 0/1 flag with gaps, two numbers and a target."""
    rng = np.random.default_rng(2)
    t = rng.normal(70, 5, rows)
    active = pl.Series("active", (rng.random(rows) < 0.3).astype(np.int64)).to_list()
    active = [None if i % 11 == 0 else v for i, v in enumerate(active)]
    frame = pl.DataFrame(
        {
            "catalyst": rng.choice(["Pd-A", "Pd-B", "Ni"], rows),
            "temperature": t,
            "time": rng.uniform(5, 60, rows),
            "active": pl.Series(active, dtype=pl.Int64),
            "yield": 0.8 * t + rng.normal(0, 3, rows),
        }
    )
    return Table.from_frame(
        frame,
        roles={"yield": "target", "catalyst": "condition"},
        units={"temperature": "degC", "time": "min", "yield": "%"},
    )


@pytest.mark.parametrize(
    ("table", "target"),
    [
        (_spectra(21, 1048), "glucose"),  # fermentation_mir: fewer rows than t-SNE's 50 dims
        (_spectra(12, 120), None),
        (_wide_named(11, 120), None),  # edbo ligand descriptors: 11 rows, not channels
        (_long(3000), "yield"),
    ],
    ids=["spectra-21x1048", "spectra-12x120", "descriptors-11x120", "long-3000x5"],
)
def test_report_builds_on_wide_tables_with_few_rows_and_long_tables(
    table: Table, target: str | None
) -> None:
    report = explore(table, target=target)
    html = report.html()
    assert html.count('class="ls-plot"') == len(report.specs)
    assert any(s.name == "tsne" for s in report.specs)


def test_a_column_constant_but_for_float_noise_does_not_crash_the_histogram() -> None:
    """DFT tables hold Boltzmann averages equal to the last bit (829.4281 ± 1e-13): numpy cannot
    cut that range into bins; the column is drawn as the constant it is."""
    base = 829.4281
    noisy = [base - 1e-13, base, base + 1e-13] * 4
    table = Table.from_frame(pl.DataFrame({"frequency": noisy, "x": np.arange(12.0)}))
    report = explore(table)
    hist = next(s for s in report.specs if s.name == "hist-frequency")
    assert sum(hist.data["counts"]) == 12
    # Nor is it a feature that varies: standardized, its last-bit noise would steer the PCA.
    assert "pca-loadings" not in {s.name for s in report.specs}


def _interpolate(scale: list[list[Any]], z: float) -> str:
    """The colour a Plotly colour scale gives value ``z`` (the stop at or below it)."""
    below = [c for at, c in scale if at <= z]
    return str(below[-1])


def _missing_map_spec() -> FigureSpec:
    n = 800  # bins of 4 rows, one of them missing
    # A quarter of every bin missing: tox21 has 14.8 % missing and looked complete.
    values = [None if i % 4 == 0 else float(i) for i in range(n)]
    table = Table.from_frame(pl.DataFrame({"x": values, "y": np.arange(n, dtype=float)}))
    return next(s for s in explore(table).specs if s.kind == "missing_map")


def test_missing_map_plotly_uses_a_continuous_scale_titled_share_missing() -> None:
    spec = _missing_map_spec()
    assert {v for row in spec.data["z"] for v in row} == {0.25}
    heat = figure_dict(spec)["data"][0]
    scale = heat["colorscale"]
    positions = [at for at, _ in scale]
    assert len(positions) == len(set(positions)), "a repeated stop is a step, not a scale"
    assert len(scale) >= 3
    assert _interpolate(scale, 0.25) != _interpolate(scale, 0.0)
    assert heat["colorbar"]["title"]["text"] == "share missing"


def test_missing_map_png_uses_a_continuous_scale_titled_share_missing() -> None:
    fig = to_matplotlib(_missing_map_spec())
    image = fig.axes[0].images[0]
    assert image.cmap(image.norm(0.25)) != image.cmap(image.norm(0.0))
    assert image.cmap(image.norm(0.25)) != image.cmap(image.norm(1.0))
    assert fig.axes[1].get_ylabel() == "share missing"


def _column_blocks(html: str) -> int:
    return html.count('class="ls-column"')


def test_a_spectrum_table_report_has_no_per_channel_blocks_and_is_far_smaller() -> None:
    table = _spectra(60, 400)
    report = explore(table)
    html = report.html()
    assert _column_blocks(html) <= 3  # class, glucose and one block for all 400 channels
    channel = re.compile(r"^\d+(\.\d+)?$")
    heatmaps = [s for s in report.specs if s.kind == "heatmap"]
    assert all(not any(channel.match(str(x)) for x in s.data["x"]) for s in heatmaps)
    pairs = report.analysis.tables.strongest_pairs
    assert pairs is None or not any(
        channel.match(a) or channel.match(b) for a, b in pairs.select("a", "b").iter_rows()
    )
    # The spectrum comes first: its section is before the columns, its figure is the first drawn.
    assert html.index('id="spectra"') < html.index('id="columns"')
    first = re.search(r'<div class="ls-plot" id="(fig-\d+)"', html)
    assert first is not None
    assert report.specs[int(first.group(1).split("-")[1])].kind == "spectra"
    # Without plotly.js, a few figures of bounded data: far from 400 blocks and 40×40 matrices.
    assert len(html.replace(get_plotlyjs(), "")) < 600_000


def test_spectra_classes_are_drawn_over_the_individual_traces() -> None:
    spec = next(s for s in explore(_spectra(20, 80)).specs if s.name == "spectra")
    assert [b["name"] for b in spec.data["bands"]] == ["A", "B"]  # the class column, found
    traces = figure_dict(spec)["data"]
    kinds = ["trace" if t.get("legendgroup") == "spectra" else "class" for t in traces]
    assert kinds.index("class") > max(i for i, k in enumerate(kinds) if k == "trace")


def test_spectra_channels_are_summarised_as_a_band() -> None:
    specs = {s.name: s for s in explore(_spectra(30, 200)).specs}
    band = specs["spectra-channels"]
    assert band.kind == "spectra"
    assert len(band.data["axis"]) == 200
    assert band.data["lines"] == []
    assert {"low", "high"} <= set(band.data["bands"][0])


@pytest.mark.parametrize(
    "columns",
    [{"time [min]": "min"}, {"T (degC)": "degC"}, {"yield [%]": "%"}],
    ids=["brackets", "parentheses", "percent"],
)
def test_units_are_not_doubled_in_headings_or_labels(columns: dict[str, str]) -> None:
    name, unit = next(iter(columns.items()))
    frame = pl.DataFrame({name: [1.0, 2.0, 3.0, 5.0], "y": [2.0, 3.0, 5.0, 4.0]})
    html = explore(Table.from_frame(frame, units=columns)).html()
    heading = re.search(r"<h3>(.*?)</h3>", html[html.index('id="columns"') :])
    assert heading is not None
    assert heading.group(1).count(unit) == 1, heading.group(1)
    assert f"[{unit}] [{unit}]" not in html
    assert f"[{unit}]</span>" not in heading.group(1)


def test_binary_columns_are_drawn_as_two_levels_not_box_plots() -> None:
    report = explore(_long(500), target="yield")
    about = [s for s in report.specs if s.column == "active"]
    assert about, "the 0/1 column has no figure"
    assert all(s.kind != "box" or s.y_label != "active" for s in about)
    assert "box-active" not in {s.name for s in report.specs}
    bar = next(s for s in about if s.kind == "bar")
    assert bar.data["labels"] == ["0", "1"]
    assert all(not s.name.startswith("box-active-by") for s in report.specs)


def test_binary_colour_is_drawn_with_two_colours_not_a_colour_scale() -> None:
    report = explore(_long(300), target="yield", color="active")
    scores = next(s for s in report.specs if s.name == "pca-scores")
    traces = figure_dict(scores)["data"]
    assert all("colorscale" not in t.get("marker", {}) for t in traces)
    assert {t["name"] for t in traces} >= {"0", "1"}


def _colorbar_titles(spec: FigureSpec) -> list[str]:
    out = []
    for trace in figure_dict(spec)["data"]:
        bar = trace.get("colorbar") or trace.get("marker", {}).get("colorbar")
        shown = trace.get("type") == "heatmap" or "colorscale" in trace.get("marker", {})
        if shown:
            out.append((bar or {}).get("title", {}).get("text", ""))
    return out


def test_every_colour_bar_has_a_title() -> None:
    report = explore(_long(300), target="yield", color="temperature")
    titled = {s.name: _colorbar_titles(s) for s in report.specs}
    drawn = {name: t for name, t in titled.items() if t}
    assert {"heatmap-pearson", "heatmap-spearman", "pca-scores"} <= set(drawn)
    assert all(all(t) for t in drawn.values()), drawn


def test_cramers_v_and_eta_use_a_one_sided_scale() -> None:
    """Both run from 0 to 1: a red-to-blue scale would draw 0 as a strong negative."""
    rng = np.random.default_rng(3)
    n = 200
    frame = pl.DataFrame(
        {
            "a": rng.choice(["p", "q"], n),
            "b": rng.choice(["r", "s", "t"], n),
            "x": rng.normal(size=n),
            "y": rng.normal(size=n),
        }
    )
    table = Table.from_frame(frame, roles={"a": "condition", "b": "condition"})
    specs = {s.name: s for s in explore(table).specs}
    for name in ("heatmap-cramers-v", "heatmap-eta"):
        scale = figure_dict(specs[name])["data"][0]["colorscale"]
        assert scale[0][1] in ("#ffffff", "rgb(247,251,255)"), name


def test_pca_loading_labels_do_not_overprint() -> None:
    rng = np.random.default_rng(4)
    n = 200
    base = rng.normal(size=(n, 2))
    # Twenty columns in two tight groups: their arrows point the same ways, their names overlap.
    frame = pl.DataFrame(
        {f"material_{j:02d}": base[:, j % 2] + rng.normal(0, 0.2, n) for j in range(20)}
    )
    spec = next(s for s in explore(Table.from_frame(frame)).specs if s.name == "pca-loadings")
    named = spec.data["labelled"]
    assert 2 <= len(named) < 20
    span = max(max(map(abs, spec.data["pc1"])), max(map(abs, spec.data["pc2"])))
    tips = [(spec.data["pc1"][i], spec.data["pc2"][i]) for i in named]
    for i, (x1, y1) in enumerate(tips):
        for x2, y2 in tips[i + 1 :]:
            assert abs(y1 - y2) >= 0.08 * span or abs(x1 - x2) >= 0.3 * span
    text = figure_dict(spec)["data"][1]["text"]
    assert sum(1 for t in text if t) == len(named)


def test_missing_by_level_bars_keep_their_axis_titles_inside_the_figure() -> None:
    rng = np.random.default_rng(5)
    n = 300
    shift = rng.choice(["night-shift operator team B", "day shift team A", "weekend"], n)
    conversion = [
        None if s.startswith("night") and rng.random() < 0.7 else float(v)
        for s, v in zip(shift, rng.normal(50, 5, n), strict=True)
    ]
    frame = pl.DataFrame(
        {
            "shift": shift,
            "conversion of the aryl bromide": conversion,
            "x": rng.normal(size=n),
        }
    )
    table = Table.from_frame(
        frame, roles={"shift": "condition"}, units={"conversion of the aryl bromide": "%"}
    )
    spec = next(s for s in explore(table).specs if s.kind == "bars_by_level")
    layout = figure_dict(spec)["layout"]
    assert layout["xaxis"]["automargin"]
    assert layout["yaxis"]["automargin"]
    # A vertical axis title longer than the plot runs off the figure: the title names the column.
    assert len(layout["yaxis"]["title"]["text"]) <= 30


def test_a_single_feature_gets_no_scatter_matrix() -> None:
    """plotly.js fails on a two-column splom with its upper half and diagonal hidden, and the
    page's later figures were never drawn (edbo_suzuki_miyaura)."""
    frame = pl.DataFrame({"entry": np.arange(50.0), "yield": np.sin(np.arange(50.0))})
    specs = explore(Table.from_frame(frame, roles={"yield": "target"})).specs
    assert "scatter_matrix" not in {s.kind for s in specs}


def test_one_figure_that_fails_to_draw_does_not_stop_the_others() -> None:
    html = explore(_long(50), target="yield").html()
    script = html.rsplit("<script>", 1)[1]
    assert "try {" in script
    assert "catch (err)" in script
