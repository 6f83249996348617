"""The template that ``design suggest --out`` writes is safe to open in a spreadsheet, and
``design record`` reads it back as it was written: a level or a header that would start a formula
(``=x``, ``-OMe``, ``@H``, ``+Cl``) gets a leading ``'`` on the way out and loses exactly that
``'`` on the way back; numbers such as ``-20.0`` stay numbers."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from labsight._display import from_spreadsheet_cell, spreadsheet_cell

Run = Callable[..., tuple[int, str, str]]
FormulaCells = Callable[[list[list[str]]], list[str]]
"""The ``formula_cells`` fixture of this folder's conftest."""
"""The ``run`` fixture of conftest: the CLI in-process."""

LEVELS = ["-OMe", "=x", "@H", "+Cl", "Pd-A"]
SPACE = """\
parameters:
  - {name: temperature, type: continuous, bounds: [-20, 30], unit: degC}
  - {name: group, type: categorical, values: ["-OMe", "=x", "@H", "+Cl", "Pd-A"]}
objectives:
  - {name: yield, goal: maximize, unit: "%"}
"""


def _read(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


def _write(path: Path, rows: list[list[str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(rows)


def _fill(rows: list[list[str]], column: str) -> list[list[str]]:
    """The lab writes a result into each row, leaving every other cell as it was."""
    at = rows[0].index(column)
    return [rows[0]] + [[*r[:at], str(40.0 + i), *r[at + 1 :]] for i, r in enumerate(rows[1:])]


@pytest.fixture
def campaign(run: Run, tmp_path: Path) -> Path:
    """A campaign whose categorical levels start like formulas, and its first template: a full
    factorial, so every level is suggested."""
    (tmp_path / "space.yaml").write_text(SPACE)
    code, _, err = run("design", "new", "subst", "--space", str(tmp_path / "space.yaml"))
    assert code == 0, err
    plate = tmp_path / "next.csv"
    code, _, err = run(
        "design", "suggest", "subst", "--batch", "10", "--initial", "factorial", "--out", str(plate)
    )
    assert code == 0, err
    return plate


def test_the_template_escapes_text_levels_and_keeps_numbers(
    campaign: Path, formula_cells: FormulaCells
) -> None:
    rows = _read(campaign)
    header, body = rows[0], rows[1:]
    assert header[:4] == ["experiment_id", "temperature [degC]", "group", "yield [%]"]
    assert formula_cells(rows) == []
    group, temperature = header.index("group"), header.index("temperature [degC]")
    assert sorted({r[group] for r in body}) == sorted(["'-OMe", "'=x", "'@H", "'+Cl", "Pd-A"])
    assert {r[temperature] for r in body} == {"-20.0", "30.0"}  # a number, not "'-20.0"


def test_a_filled_template_records_the_levels_as_they_were(
    run: Run, campaign: Path, tmp_path: Path
) -> None:
    suggested = {r["experiment_id"]: r["group"] for r in _experiments(run)}
    filled = tmp_path / "filled.csv"
    _write(filled, _fill(_read(campaign), "yield [%]"))
    code, out, err = run("design", "record", "subst", str(filled), "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert summary["results"] == 10
    assert summary["new_experiments"] == []  # every row matched its suggestion
    shown = _experiments(run)
    assert {e["experiment_id"]: e["group"] for e in shown} == suggested
    assert sorted({e["group"] for e in shown}) == sorted(LEVELS)
    assert all(e["results"] == 1 for e in shown)


def test_rows_recorded_by_their_conditions_read_the_levels_too(
    run: Run, campaign: Path, tmp_path: Path
) -> None:
    rows = _read(campaign)
    header = rows[0]
    at = {name: header.index(name) for name in ("experiment_id", "temperature [degC]", "yield [%]")}
    by_conditions = []
    for r in rows[1:3]:  # two suggestions, matched by their conditions alone
        by_conditions.append([*r])
        by_conditions[-1][at["experiment_id"]] = ""
        by_conditions[-1][at["yield [%]"]] = "50"
    new = [*rows[1]]  # conditions no suggestion had: a new experiment
    new[at["experiment_id"]] = ""
    new[at["temperature [degC]"]] = "-1.5"
    new[at["yield [%]"]] = "60"
    filled = tmp_path / "by_conditions.csv"
    _write(filled, [header, *by_conditions, new])
    code, out, err = run("design", "record", "subst", str(filled), "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert summary["results"] == 3
    assert summary["new_experiments"] == ["E011"]
    recorded = {e["experiment_id"]: e for e in _experiments(run)}
    assert recorded["E011"]["group"] == from_spreadsheet_cell(rows[1][header.index("group")])
    assert recorded["E011"]["group"] in LEVELS
    assert recorded["E011"]["temperature"] == -1.5


def test_a_template_saved_by_a_spreadsheet_reads_back_too(
    run: Run, campaign: Path, tmp_path: Path
) -> None:
    """A spreadsheet that opened the template and saved it as CSV writes the text without the
    quote (=x): that is the level too."""
    rows = _fill(_read(campaign), "yield [%]")
    plain = [rows[0]] + [[from_spreadsheet_cell(c) for c in r] for r in rows[1:]]
    assert any(c == "=x" for r in plain for c in r)
    filled = tmp_path / "resaved.csv"
    _write(filled, plain)
    code, out, err = run("design", "record", "subst", str(filled), "--json")
    assert code == 0, err
    assert json.loads(out)["new_experiments"] == []


def test_a_level_the_space_lacks_is_refused_as_the_file_wrote_it(
    run: Run, campaign: Path, tmp_path: Path
) -> None:
    rows = _fill(_read(campaign), "yield [%]")
    group = rows[0].index("group")
    rows[1][group] = "'=y"
    filled = tmp_path / "bad.csv"
    _write(filled, rows)
    code, out, err = run("design", "record", "subst", str(filled))
    assert code == 2
    assert out == ""
    assert 'the row says "\'=y"' in err


def test_names_that_start_like_formulas_survive_the_round_trip(
    run: Run, tmp_path: Path, formula_cells: FormulaCells
) -> None:
    (tmp_path / "space.yaml").write_text(
        "parameters:\n"
        '  - {name: "-T", type: continuous, bounds: [-20, 30], unit: degC}\n'
        '  - {name: "=group", type: categorical, values: ["-OMe", "=x"]}\n'
        "objectives:\n"
        '  - {name: "@yield", goal: maximize}\n'
    )
    assert run("design", "new", "odd", "--space", str(tmp_path / "space.yaml"))[0] == 0
    plate = tmp_path / "next.csv"
    code, _, err = run("design", "suggest", "odd", "--batch", "3", "--out", str(plate))
    assert code == 0, err
    rows = _read(plate)
    assert rows[0][:4] == ["experiment_id", "'-T [degC]", "'=group", "'@yield"]
    assert formula_cells(rows) == []
    filled = tmp_path / "filled.csv"
    _write(filled, _fill(rows, "'@yield"))
    code, out, err = run("design", "record", "odd", str(filled), "--json")
    assert code == 0, err
    assert json.loads(out)["results"] == 3
    code, out, _ = run("design", "show", "odd", "--json")
    experiments = json.loads(out)["experiments"]
    assert {e["=group"] for e in experiments} <= {"-OMe", "=x"}
    assert [e["results"] for e in experiments] == [1, 1, 1]


@given(st.text(max_size=30).filter(lambda text: not text.startswith("'")))
def test_from_spreadsheet_cell_undoes_spreadsheet_cell(text: str) -> None:
    assert from_spreadsheet_cell(spreadsheet_cell(text)) == text


@pytest.mark.parametrize("text", ["'quoted", "'-1.5", "'", "''=x", "Pd-A", "-1.5"])
def test_from_spreadsheet_cell_leaves_other_text_alone(text: str) -> None:
    assert from_spreadsheet_cell(text) == text


def _experiments(run: Run) -> list[dict[str, object]]:
    code, out, err = run("design", "show", "subst", "--json")
    assert code == 0, err
    experiments: list[dict[str, object]] = json.loads(out)["experiments"]
    return experiments
