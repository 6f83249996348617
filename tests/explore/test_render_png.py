"""The matplotlib renderer and ``ExploreReport.to_png``: every kind drawn at print size, units in
the axis labels, one PNG per figure named after the spec, and no pyplot state touched."""

from __future__ import annotations

import io
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import matplotlib as mpl
import pytest
from matplotlib.figure import Figure

from labsight.explore import ExploreReport
from labsight.explore._matplotlib import BUILDERS, DPI, to_matplotlib
from labsight.explore.gallery import example_specs
from labsight.explore.spec import KINDS, FigureSpec, ReportTables

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


SPECS = example_specs()


@dataclass
class FakeAnalysis:
    figures: list[FigureSpec]
    overview: dict[str, Any] = field(default_factory=lambda: {"rows": 40, "columns": []})
    tables: ReportTables = field(default_factory=lambda: ReportTables(summary=_empty()))
    findings: list[Any] = field(default_factory=list)
    sampled: bool = False


def _empty() -> Any:
    import polars as pl

    return pl.DataFrame()


def test_every_kind_has_a_matplotlib_builder() -> None:
    assert set(BUILDERS) == set(KINDS)


@pytest.mark.parametrize("kind", KINDS)
def test_render_png_draws_every_kind_at_print_size(kind: str) -> None:
    fig = to_matplotlib(SPECS[kind])
    assert isinstance(fig, Figure)
    width, height = fig.get_size_inches()
    assert width >= 6.4
    assert height >= 4.2
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI)
    assert buffer.getvalue().startswith(PNG_MAGIC)
    assert len(buffer.getvalue()) > 10_000


@pytest.mark.parametrize("kind", [k for k in KINDS if k != "scatter_matrix"])
def test_render_png_axis_labels_carry_units(kind: str) -> None:
    spec = SPECS[kind]
    ax = to_matplotlib(spec).axes[0]
    assert ax.get_xlabel().replace("\n", " ") == spec.x_label
    assert ax.get_ylabel().replace("\n", " ") == spec.y_label


def test_render_png_text_is_readable_at_print_size() -> None:
    fig = to_matplotlib(SPECS["scatter"])
    ax = fig.axes[0]
    sizes = [ax.xaxis.label.get_fontsize(), ax.yaxis.label.get_fontsize()]
    sizes += [t.get_fontsize() for t in ax.get_xticklabels()]
    assert min(sizes) >= 9


def test_render_png_scatter_matrix_labels_every_column() -> None:
    fig = to_matplotlib(SPECS["scatter_matrix"])
    labels = {ax.get_xlabel() for ax in fig.axes} | {ax.get_ylabel() for ax in fig.axes}
    assert {"temperature [degC]", "time [min]", "yield [%]"} <= labels


def test_render_png_leaves_pyplot_and_rcparams_alone() -> None:
    before = dict(mpl.rcParams)
    had_pyplot = "matplotlib.pyplot" in sys.modules
    for spec in SPECS.values():
        to_matplotlib(spec)
    assert dict(mpl.rcParams) == before
    if not had_pyplot:
        assert "matplotlib.pyplot" not in sys.modules
    else:
        import matplotlib.pyplot as plt

        assert plt.get_fignums() == []


def test_report_to_png_writes_one_file_per_figure_named_after_the_spec(tmp_path: Path) -> None:
    report = ExploreReport(FakeAnalysis(list(SPECS.values())))
    paths = report.to_png(tmp_path / "png")
    assert [p.name for p in paths] == [f"{s.name}.png" for s in SPECS.values()]
    for path in paths:
        data = path.read_bytes()
        assert data.startswith(PNG_MAGIC)
        assert len(data) > 10_000
    assert sorted(p.name for p in (tmp_path / "png").iterdir()) == sorted(p.name for p in paths)


def test_report_to_png_keeps_a_bad_name_inside_the_folder(tmp_path: Path) -> None:
    spec = SPECS["bar"]
    odd = FigureSpec("../escape/bar", spec.kind, spec.section, spec.title, spec.caption, spec.data)
    (path,) = ExploreReport(FakeAnalysis([odd])).to_png(tmp_path / "png")
    assert path.parent == tmp_path / "png"
