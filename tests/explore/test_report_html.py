"""The HTML report: one self-contained file (plotly.js once, no URL), captions and notes, findings
linked to their columns, escaping, a size that does not grow with the rows, and Jupyter's view."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from plotly.offline import get_plotlyjs

from labsight.data.findings import Finding
from labsight.explore import ExploreReport
from labsight.explore._analyse import Analysis
from labsight.explore._html import column_anchor
from labsight.explore.gallery import EXAMPLE_COLUMNS, example_analysis, example_specs
from labsight.explore.spec import FigureSpec, ReportTables

PLOTLYJS = get_plotlyjs()


SPECS = example_specs()


@pytest.fixture
def report() -> ExploreReport:
    return ExploreReport(example_analysis(), title="reactions.csv")


@pytest.fixture
def html(report: ExploreReport) -> str:
    return report.html()


def test_report_html_embeds_plotlyjs_exactly_once(html: str) -> None:
    assert html.count(PLOTLYJS) == 1
    header = PLOTLYJS.lstrip()[:40]
    assert html.count(header) == 1


def test_report_html_loads_nothing_from_the_network(html: str) -> None:
    rest = html.replace(PLOTLYJS, "")
    assert "http://" not in rest
    assert "https://" not in rest
    assert not re.search(r"<script[^>]*\bsrc\s*=", html, re.IGNORECASE)
    assert not re.search(r"<link[^>]*\bhref\s*=", html, re.IGNORECASE)
    assert not re.search(r"@import", rest, re.IGNORECASE)
    assert "typesetMath" in rest  # plotly.js is told not to typeset (and so never fetch) MathJax


def test_report_html_draws_every_figure_with_newplot_and_its_config(html: str) -> None:
    rest = html.replace(PLOTLYJS, "")
    assert "Plotly.newPlot(" in rest
    assert '"responsive":true' in rest
    assert '"displaylogo":false' in rest
    for i in range(len(SPECS)):
        assert f'id="fig-{i}"' in html


def test_report_html_shows_captions_and_notes(html: str) -> None:
    for spec in SPECS.values():
        assert spec.caption.replace("'", "&#39;") in html
    assert "40 of 100,000 rows, drawn at random, seed 0" in html


def test_report_html_links_findings_to_column_sections(html: str) -> None:
    anchor = column_anchor("time [min]")
    assert f'href="#{anchor}"' in html
    assert f'id="{anchor}"' in html
    for column in EXAMPLE_COLUMNS:
        assert f'id="{column_anchor(column["name"])}"' in html


def test_report_html_has_the_sections_and_the_summary_in_units(html: str) -> None:
    for heading in (
        "Overview",
        "Columns",
        "Relations",
        "Correlations",
        "Missing values",
        "Structure",
        "Spectra",
        "Time",
    ):
        assert f"<h2>{heading}</h2>" in html
    assert "Values in degC." in html
    assert "7.5%" in html  # missing share of time [min]
    assert "yield [%] rises with temperature [degC] (Spearman 0.71)" in html
    assert "2.0 KiB" in html


def test_report_html_escapes_names_from_the_data() -> None:
    evil = "<script>alert(1)</script>"
    spec = FigureSpec(
        "bar-evil",
        "bar",
        "columns",
        evil,
        f"caption {evil}",
        {"labels": [evil], "counts": [1]},
        evil,
        "rows",
        column=evil,
    )
    analysis = Analysis(
        figures=[spec],
        overview={"rows": 1, "columns": [{"name": evil, "unit": None, "dtype": "string"}]},
        tables=ReportTables(summary=pl.DataFrame()),
        findings=[Finding("constant", evil, [], "info", evil, "")],
        sampled=False,
    )
    html = ExploreReport(analysis, title=evil).html()
    assert evil not in html.replace(PLOTLYJS, "")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_report_to_html_writes_the_file_atomically(report: ExploreReport, tmp_path: Path) -> None:
    path = report.to_html(tmp_path / "out" / "report.html")
    assert path == tmp_path / "out" / "report.html"
    assert path.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert [p.name for p in path.parent.iterdir()] == ["report.html"]


def test_report_repr_html_is_a_fragment_with_fresh_ids(report: ExploreReport) -> None:
    first, second = report._repr_html_(), report._repr_html_()
    assert "<html" not in first
    assert first.count(PLOTLYJS) == 1
    ids_first = set(re.findall(r'id="([^"]+)"', first.replace(PLOTLYJS, "")))
    ids_second = set(re.findall(r'id="([^"]+)"', second.replace(PLOTLYJS, "")))
    assert ids_first
    assert not ids_first & ids_second


def test_report_figures_are_built_once_and_named_after_the_specs(report: ExploreReport) -> None:
    figures = report.figures
    assert list(figures) == [s.name for s in SPECS.values()]
    assert report.figures is figures


def _table(rows: int) -> Any:
    import numpy as np

    from labsight.data.table import Table

    rng = np.random.default_rng(0)
    temperature = rng.normal(70, 5, rows)
    frame = pl.DataFrame(
        {
            "temperature [degC]": temperature,
            "time [min]": rng.uniform(10, 120, rows),
            "catalyst": rng.choice(["Pd-A", "Pd-B", "Ni"], rows),
            "yield [%]": 0.5 * temperature + rng.normal(0, 3, rows),
        }
    )
    return Table.from_frame(
        frame,
        roles={"catalyst": "condition", "yield [%]": "target"},
        units={"temperature [degC]": "degC", "time [min]": "min", "yield [%]": "%"},
    )


@pytest.mark.slow
def test_report_html_size_does_not_grow_with_rows() -> None:
    from labsight.explore import explore

    small = explore(_table(1_000), target="yield [%]").html()
    large = explore(_table(100_000), target="yield [%]").html()
    assert abs(len(large) - len(small)) / len(small) < 0.10
    assert large.count(PLOTLYJS) == 1


def test_report_explore_reads_a_file_checks_then_analyses(yield_csv: Path) -> None:
    from labsight.explore import explore

    report = explore(yield_csv, target="yield [%]", color="catalyst", max_points=10, seed=3)
    assert report.title == "reactions.csv"
    assert report.rows == 6
    assert (report.analysis.overview["target"], report.analysis.overview["color"]) == (
        "yield [%]",
        "catalyst",
    )
    # the quality findings of the file travel with the report (one cell of time is missing)
    assert [f.column for f in report.findings if f.check == "missing"] == ["time [min]"]
    assert report.specs


def test_report_explore_refuses_a_target_that_is_not_a_column(yield_csv: Path) -> None:
    from labsight.exceptions import InputError
    from labsight.explore import explore

    with pytest.raises(
        InputError, match=r"target column 'yeild' is not in the table.*'yield \[%\]'"
    ):
        explore(yield_csv, target="yeild")


def _cli(home: Path, *args: str) -> int:
    from labsight.cli import main

    return main(["--home", str(home), "--user", "tester", *args])


def test_report_cli_explore_json_contract(
    yield_csv: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import json

    out = tmp_path / "eda.html"
    code = _cli(
        tmp_path / "home",
        "explore",
        str(yield_csv),
        "--out",
        str(out),
        "--png",
        str(tmp_path / "png"),
        "--target",
        "yield [%]",
        "--json",
    )
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    assert data["html"] == str(out)
    assert out.is_file()
    assert data["figures"]
    assert [Path(p).name for p in data["png"]] == [f"{n}.png" for n in data["figures"]]
    assert all(Path(p).is_file() for p in data["png"])
    assert data["rows"] == 6


def test_report_cli_explore_a_dataset_writes_name_report_html_here(
    yield_csv: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    home = tmp_path / "home"
    assert _cli(home, "ingest", str(yield_csv), "--name", "reactions") == 0
    capsys.readouterr()
    assert _cli(home, "explore", "reactions") == 0
    assert (tmp_path / "reactions-report.html").is_file()
    assert "reactions-report.html" in capsys.readouterr().out


def test_report_cli_explore_unknown_dataset_is_one_line_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _cli(tmp_path / "home", "explore", "nosuch") == 2
    err = capsys.readouterr().err
    assert "error:" in err
    assert "Traceback" not in err
