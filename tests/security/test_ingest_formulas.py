"""Formula cells without saved results: a workbook written by a program holds formulas that no
spreadsheet has calculated yet. They are refused with the cells and how to fix it, not read as
missing columns, and nothing leaks onto stderr (issue #14, item 10)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import labsight
from labsight.cli import main
from labsight.data.ingest import read_table
from labsight.exceptions import DataFormatError

FIX = (
    r"Open the workbook in Excel or LibreOffice and save it, or convert it with "
    r"'soffice --headless --convert-to xlsx --outdir resaved {name}', then read the saved copy\."
)


def _openpyxl_book(path: Path, *, totals: bool = False, formulas: bool = True) -> Path:
    """Runs with a yield column of formulas; openpyxl saves no result for them."""
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "runs"
    sheet.append(["run", "temperature [degC]", "time [min]", "yield [%]"])
    for i in range(1, 6):
        yield_cell = f"=B{i + 1}/2+C{i + 1}/10" if formulas else 30.0 + i + i / 10
        sheet.append([i, 60 + i, 30 * i, yield_cell])
    if totals:  # a stray formula in a column of typed numbers
        sheet.append([6, "=AVERAGE(B2:B6)", 180, 44.5])
    book.save(path)
    return path


def test_a_column_of_formulas_without_results_is_refused(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    path = _openpyxl_book(tmp_path / "runs.xlsx")
    message = re.escape(str(path)) + (
        r", column 'yield \[%\]': cells D2:D6 of sheet 'runs' are formulas whose results "
        r"were never calculated and saved in the file, so every value would be missing; expected "
        r"the formulas' results saved with them\. " + FIX.format(name=r"runs\.xlsx")
    )
    with pytest.raises(DataFormatError, match=f"^{message}$") as info:
        read_table(path)
    assert info.value.column == "yield [%]"
    out, err = capfd.readouterr()
    assert "Could not determine dtype" not in out + err
    assert out + err == ""


def test_xlsxwriter_placeholder_results_are_refused_for_every_column(tmp_path: Path) -> None:
    # xlsxwriter stores 0 for each formula and asks Excel to calculate everything on opening.
    import xlsxwriter

    path = tmp_path / "calc.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("calc")
    sheet.write_row(0, 0, ["run", "temperature [degC]", "yield [%]", "ratio"])
    for i in range(1, 5):
        sheet.write_row(i, 0, [i, 60 + i])
        sheet.write_formula(i, 2, f"=B{i + 1}/2")
        sheet.write_formula(i, 3, f"=C{i + 1}/B{i + 1}")
    book.close()
    with pytest.raises(
        DataFormatError,
        match=r"calc\.xlsx: sheet 'calc', columns 'yield \[%\]' \(C2:C5\), 'ratio' \(D2:D5\) are "
        r"formulas whose results were never calculated and saved in the file, so every value in "
        r"'yield \[%\]', 'ratio' would be missing",
    ):
        read_table(path)


def test_formulas_with_saved_results_are_read(tmp_path: Path) -> None:
    import xlsxwriter

    path = tmp_path / "saved.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("runs")
    sheet.write_row(0, 0, ["run", "temperature [degC]", "yield [%]"])
    for i in range(1, 5):
        sheet.write_row(i, 0, [i, 60 + i])
        sheet.write_formula(i, 2, f"=B{i + 1}/2", None, (60 + i) / 2)
    book.close()
    table = read_table(path)
    assert table.frame["yield [%]"].to_list() == [30.5, 31.0, 31.5, 32.0]


def test_one_stray_formula_without_a_result_is_named(tmp_path: Path) -> None:
    path = _openpyxl_book(tmp_path / "runs.xlsx", totals=True, formulas=False)
    with pytest.raises(
        DataFormatError,
        match=r"runs\.xlsx, column 'temperature \[degC\]': cell B7 of sheet 'runs' is a formula "
        r"whose result was never calculated and saved in the file, so its value would be missing",
    ):
        read_table(path)


def test_the_cli_refuses_formulas_without_results_with_one_line(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    path = _openpyxl_book(tmp_path / "runs.xlsx")
    home = tmp_path / "home"
    code = main(["--home", str(home), "ingest", str(path)])
    out, err = capfd.readouterr()
    assert code == 2
    assert out == ""
    assert err.startswith(f"error: {path}, column 'yield [%]': cells D2:D6 of sheet 'runs'")
    assert err.count("\n") == 1
    assert "Could not determine dtype" not in err
    with labsight.Workspace(home) as ws:
        assert ws.datasets() == []
