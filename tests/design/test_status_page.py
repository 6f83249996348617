"""The page of ``labsight design status --out``: the look of the other labsight reports, and a
landscape that does not draw a combination of levels nobody tried as a confident number."""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

import labsight
from labsight.cli import main

SPACE = """\
parameters:
  - {name: temperature, type: continuous, bounds: [25, 130], unit: degC}
  - {name: solvent, type: categorical, values: [THF, DMF, toluene, MeCN]}
  - {name: ligand, type: categorical, values: [XPhos, SPhos, PPh3]}
objectives:
  - {name: yield, goal: maximize, unit: "%"}
"""
# Four of the twelve solvent × ligand combinations have results; eight were never tried.
TRIED = [("THF", "XPhos"), ("THF", "SPhos"), ("DMF", "XPhos"), ("toluene", "PPh3")]
SOLVENT = {"THF": 0.0, "DMF": 30.0, "toluene": 10.0, "MeCN": 5.0}
LIGAND = {"XPhos": 35.0, "SPhos": 15.0, "PPh3": 0.0}


@dataclass
class Page:
    html: str
    home: list[str]


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Page:
    """A campaign whose solvent and ligand matter more than temperature, so the landscape is
    drawn over the two categorical parameters."""
    root = tmp_path_factory.mktemp("status_page")
    (root / "space.yaml").write_text(SPACE)
    ws = labsight.Workspace(root / "home", user="chemist")
    campaign = ws.new_campaign("toy", root / "space.yaml", seed=0)
    rows = [
        {"temperature": t, "solvent": s, "ligand": lig} for s, lig in TRIED for t in (50.0, 90.0)
    ]
    frame = pl.DataFrame(rows)
    y = (
        20
        + 0.05 * frame["temperature"].to_numpy()
        + np.array(
            [SOLVENT[s] + LIGAND[lig] for s, lig in frame.select("solvent", "ligand").iter_rows()]
        )
    )
    campaign.record(frame.with_columns(pl.Series("yield", np.round(y, 2))))
    html_path = root / "status.html"
    home = ["--home", str(root / "home"), "--user", "chemist"]
    assert main([*home, "design", "status", "toy", "--out", str(html_path), "--json"]) == 0
    return Page(html_path.read_text(), home)


def _plots(html: str) -> dict[str, Any]:
    """The figures the page draws, by id, from the JSON its script hands to Plotly."""
    match = re.search(r"var plots = (\[.*?\]);\n", html)
    assert match, "no figure JSON in the page"
    return {f["id"]: f for f in json.loads(match.group(1))}


def _style(html: str) -> str:
    match = re.search(r"<style>.*?</style>", html, re.S)
    assert match, "no stylesheet in the page"
    return match.group(0)


def test_the_page_uses_the_report_stylesheet_and_header(page: Page) -> None:
    from labsight.explore import ExploreReport
    from labsight.explore.gallery import example_analysis

    explore = ExploreReport(example_analysis(), title="reactions.csv").html()
    assert _style(page.html) == _style(explore)  # the same fonts, colours, cards and tables
    assert '<div class="labsight-report">' in page.html
    assert "<h1>Campaign toy</h1>" in page.html
    assert re.search(r"<nav>.*Landscape</a></nav>", page.html)
    assert '<table class="ls-table">' in page.html
    assert "<script src=" not in page.html  # offline: plotly.js inlined, nothing fetched


def test_untried_combinations_are_marked_untried_with_their_uncertainty(page: Page) -> None:
    landscape = _plots(page.html)["fig-landscape"]
    known, untried = landscape["data"]
    assert {
        landscape["layout"]["xaxis"]["title"]["text"],
        landscape["layout"]["yaxis"]["title"]["text"],
    } == {"solvent", "ligand"}
    assert untried["name"] == "untried"
    assert "untried" in untried["hovertemplate"]
    assert "±" in known["hovertemplate"]
    assert "±" in untried["hovertemplate"]
    solvent_on_x = landscape["layout"]["xaxis"]["title"]["text"] == "solvent"
    marked = 0
    for i, b in enumerate(known["y"]):
        for j, a in enumerate(known["x"]):
            combination = (a, b) if solvent_on_x else (b, a)
            if combination in TRIED:
                # Where the levels have results: a colour, and the sd in the hover.
                assert known["z"][i][j] is not None
                assert known["customdata"][i][j] > 0
                assert untried["z"][i][j] is None
            else:
                # Never tried: no colour for the guess, a grey cell that says so, mean ± sd.
                assert known["z"][i][j] is None
                assert untried["z"][i][j] is not None
                assert untried["text"][i][j].startswith("untried")
                assert "±" in untried["text"][i][j]
                mean, sd = untried["customdata"][i][j]
                assert np.isfinite(mean)
                assert sd > 0
                marked += 1
    assert marked == 8


def test_the_page_says_how_many_combinations_were_never_tried(
    page: Page, capsys: pytest.CaptureFixture[str]
) -> None:
    assert "8 of 12 combinations of solvent × ligand were never tried" in page.html
    assert main([*page.home, "design", "status", "toy", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    combinations = status["combinations"]
    assert {k: combinations[k] for k in ("factors", "total", "tried", "untried")} == {
        "factors": ["solvent", "ligand"],
        "total": 12,
        "tried": 4,
        "untried": 8,
    }
    # combinations never tried are not drawn as confident: the model says it does not know them
    assert combinations["sd_untried"] > 5 * combinations["sd_tried"]
    assert "the model is unsure of them" in page.html
    # and which model it is, chosen how
    assert status["model"]["kernel"] in ("mixed", "onehot")
    assert "model: " in page.html


def test_the_core_makes_the_page_the_command_line_writes(page: Page) -> None:
    """``Campaign.status_page`` is the page: the command line only writes it."""
    ws = labsight.Workspace(Path(page.home[1]), user="chemist")
    campaign = ws.campaign("toy")
    status = campaign.status()
    assert campaign.status_page(status) == page.html
    assert campaign.status_page() == page.html  # the status made there is the same
    summary = campaign.status_summary(status)
    assert summary.untried is not None
    assert summary.untried.startswith("8 of 12 combinations of solvent × ligand were never tried")
    assert summary.table is not None
    title, header, rows = summary.table
    assert title == "Best so far"
    assert header[-2:] == ["yield [%]", "predicted (± sd)"]
    assert rows[0][0] == status.best[0]["experiment_id"]
    for text in (title, *header, *rows[0][1:3], *summary.notes):
        assert html.escape(text, quote=False) in page.html  # the page says what the terminal says
    ws.close()


def test_a_campaign_without_results_has_no_table_or_notes(tmp_path: Path) -> None:
    (tmp_path / "space.yaml").write_text(SPACE)
    ws = labsight.Workspace(tmp_path / "home", user="chemist")
    campaign = ws.new_campaign("empty", tmp_path / "space.yaml")
    summary = campaign.status_summary()
    assert (summary.table, summary.notes) == (None, [])
    assert summary.untried == "12 of 12 combinations of solvent × ligand were never tried"
    written = campaign.write_status_page(tmp_path / "status.html")
    assert "<h1>Campaign empty</h1>" in written.read_text()
    ws.close()
