"""The results template in its one module (:mod:`labsight.design.template`): what ``design suggest
--out`` writes reads back, through the same module, as the conditions it was written from; and a
campaign writes it (``suggest(out=...)``, ``write_template``) as the command line does."""

from __future__ import annotations

import csv
from pathlib import Path

import polars as pl
import pytest

import labsight
from labsight.data.ingest import read_table
from labsight.design.space import load_space
from labsight.design.template import (
    match_columns,
    read_level,
    template_csv,
    template_frame,
    write_template,
)
from labsight.exceptions import InputError

SPACE = """\
parameters:
  - {name: temperature, type: continuous, bounds: [-20, 30], unit: degC}
  - {name: group, type: categorical, values: ["-OMe", "=x", "@H", "+Cl", "Pd-A"]}
objectives:
  - {name: yield, goal: maximize, unit: "%"}
"""


@pytest.fixture
def space_file(tmp_path: Path) -> Path:
    path = tmp_path / "space.yaml"
    path.write_text(SPACE)
    return path


def _experiments() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "experiment_id": ["E001", "E002", "E003", "E004", "E005"],
            "temperature": [-20.0, 30.0, -1.5, 0.0, 12.25],
            "group": ["-OMe", "=x", "@H", "+Cl", "Pd-A"],
            "predicted_yield": [None, 41.5, None, None, None],
            "predicted_yield_sd": [None, 3.0, None, None, None],
            "method": ["initial:sobol"] * 5,
        },
        schema_overrides={"predicted_yield": pl.Float64, "predicted_yield_sd": pl.Float64},
    )


def test_the_template_has_its_columns_and_escapes_only_text(space_file: Path) -> None:
    space = load_space(space_file)
    frame = template_frame(space, _experiments())
    assert frame.columns == [
        "experiment_id",
        "temperature [degC]",
        "group",
        "yield [%]",
        "predicted_yield",
        "predicted_yield_sd",
    ]
    assert frame["yield [%]"].null_count() == 5  # for the lab to fill in
    rows = list(csv.reader(template_csv(space, _experiments()).splitlines()))
    assert [r[2] for r in rows[1:]] == ["'-OMe", "'=x", "'@H", "'+Cl", "Pd-A"]
    assert [r[1] for r in rows[1:]] == ["-20.0", "30.0", "-1.5", "0.0", "12.25"]  # numbers


def test_the_template_reads_back_through_the_same_module(space_file: Path, tmp_path: Path) -> None:
    space = load_space(space_file)
    path = write_template(space, _experiments(), tmp_path / "plate.csv")
    table = read_table(path, on_issue="ignore")
    columns = match_columns(space, table, path)
    assert columns["parameters"] == {"temperature": "temperature [degC]", "group": "group"}
    assert {o.name: c for o, c in columns["objectives"].items()} == {"yield": "yield [%]"}
    group = space.parameter("group")
    levels = [read_level(group, v) for v in table.frame["group"].to_list()]
    assert levels == _experiments()["group"].to_list()
    # A spreadsheet that saved the file as CSV drops the quote: that is the level too.
    assert [read_level(group, v) for v in ("=x", " =x ", "'=x", "nope ")] == [
        "=x",
        "=x",
        "=x",
        "nope",
    ]
    assert table.frame["temperature [degC]"].to_list() == _experiments()["temperature"].to_list()


def test_a_column_in_a_unit_of_another_dimension_is_refused(
    space_file: Path, tmp_path: Path
) -> None:
    space = load_space(space_file)
    path = tmp_path / "wrong.csv"
    path.write_text("experiment_id,temperature [s],group,yield [%]\nE001,3,Pd-A,40\n")
    with pytest.raises(InputError, match="parameter 'temperature' is in degC, the column is in s"):
        match_columns(space, read_table(path, on_issue="ignore"), path)


def test_a_campaign_writes_the_template_the_command_line_writes(
    space_file: Path, tmp_path: Path
) -> None:
    ws = labsight.Workspace(tmp_path / "home", user="chemist")
    c = ws.new_campaign("subst", space_file, seed=0)
    plate = tmp_path / "next.csv"
    batch = c.suggest(10, initial={"method": "factorial"}, out=plate)  # every level
    assert plate.read_text() == template_csv(c.space, batch)
    pending = c.write_template(tmp_path / "pending.csv")  # default: the pending experiments
    assert pending.read_text() == plate.read_text()
    # Filled in and recorded, every row finds its suggestion and its level.
    filled = pl.read_csv(plate).with_columns(pl.Series("yield [%]", [40.0 + i for i in range(10)]))
    filled.write_csv(plate)
    summary = c.record(plate)
    assert summary.results == 10
    assert summary.new_experiments == []
    assert set(c.results()["group"]) == set(_experiments()["group"])
    ws.close()
