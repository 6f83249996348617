"""Reading Excel, Parquet and JSON lines, and choosing the reader."""

from __future__ import annotations

import gzip
from pathlib import Path

import polars as pl
import pytest
import xlsxwriter

from labsight.data.ingest import SUPPORTED_FORMATS, detect_format, read_table
from labsight.exceptions import DataFormatError, NotFoundError


@pytest.fixture
def workbook(tmp_path: Path) -> Path:
    path = tmp_path / "runs.xlsx"
    book = xlsxwriter.Workbook(str(path))
    first = book.add_worksheet("runs")
    first.write_row(0, 0, ["Series 7"])
    first.write_row(2, 0, ["run", "temperature [degC]", "catalyst", "yield [%]"])
    for i in range(4):
        first.write_row(3 + i, 0, [i + 1, 20.5 + i, "Pd" if i % 2 else "Ni", 40.0 + i])
    first.write_row(7, 0, [5, "hot", "Pd", 44.0])
    second = book.add_worksheet("calibration")
    second.write_row(0, 0, ["conc [mM]", "signal"])
    second.write_row(1, 0, [0.5, 0.1])
    second.write_row(2, 0, [1.0, 0.2])
    book.close()
    return path


def test_excel_first_sheet_by_default(workbook: Path) -> None:
    table = read_table(workbook, on_issue="ignore")
    assert table.frame.columns == ["run", "temperature [degC]", "catalyst", "yield [%]"]
    assert table.frame["run"].to_list() == [1, 2, 3, 4, 5]
    assert table.frame["temperature [degC]"].to_list() == [20.5, 21.5, 22.5, 23.5, None]
    assert table.column("temperature [degC]").unit == "degC"
    assert table.source is not None
    assert (table.source.format, table.source.sheet, table.source.header_line) == (
        "excel",
        "runs",
        3,
    )
    assert table.row_lines == [4, 5, 6, 7, 8]
    (finding,) = [f for f in table.findings if f.check == "invalid_value"]
    assert finding.details["lines"] == [8]


def test_excel_bad_cell_raises_with_sheet_row(workbook: Path) -> None:
    with pytest.raises(
        DataFormatError, match=r"runs\.xlsx line 8, column 'temperature \[degC\]': 'hot'"
    ):
        read_table(workbook, on_issue="raise")


@pytest.mark.parametrize("sheet", ["calibration", 1])
def test_excel_sheet_by_name_or_index(workbook: Path, sheet: str | int) -> None:
    table = read_table(workbook, sheet=sheet)
    assert table.frame["conc [mM]"].to_list() == [0.5, 1.0]
    assert table.column("conc [mM]").unit == "mM"
    assert table.source is not None
    assert table.source.sheet == "calibration"


@pytest.mark.parametrize(
    ("sheet", "message"),
    [
        ("nope", r"no sheet named 'nope'; available sheets: 'runs', 'calibration'"),
        (5, r"sheet index 5"),
    ],
)
def test_excel_unknown_sheet(workbook: Path, sheet: str | int, message: str) -> None:
    with pytest.raises(NotFoundError, match=message):
        read_table(workbook, sheet=sheet)


def test_parquet(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    pl.DataFrame({"id": ["a", "b"], "time [min]": [1.5, 2.5], "ok": [True, False]}).write_parquet(
        path
    )
    table = read_table(path)
    assert table.frame.shape == (2, 3)
    assert table.column("time [min]").unit == "min"
    assert [c.dtype for c in table.columns] == ["string", "float", "bool"]
    assert table.source is not None
    assert table.source.format == "parquet"


def test_parquet_with_other_extension_found_by_magic(tmp_path: Path) -> None:
    path = tmp_path / "t.bin"
    pl.DataFrame({"a": [1, 2]}).write_parquet(path)
    assert detect_format(path) == "parquet"
    assert read_table(path).frame["a"].to_list() == [1, 2]


@pytest.mark.parametrize("name", ["r.jsonl", "r.ndjson", "r.jsonl.gz"])
def test_jsonl(tmp_path: Path, name: str) -> None:
    data = b'{"run": 1, "yield [%]": 50.5, "note": "a"}\n\n{"run": 2, "yield [%]": 61.0, "note": "b"}\n'
    path = tmp_path / name
    path.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    table = read_table(path)
    assert table.frame["yield [%]"].to_list() == [50.5, 61.0]
    assert table.column("yield [%]").unit == "%"
    assert table.row_lines == [1, 3]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("a.csv", "csv"),
        ("a.tsv", "csv"),
        ("a.dat", "csv"),
        ("a.txt", "csv"),
        ("a.jsonl", "jsonl"),
        ("a.unknown", "csv"),
    ],
)
def test_detect_format_by_extension(tmp_path: Path, name: str, expected: str) -> None:
    path = tmp_path / name
    path.write_text("a,b\n1,2\n")
    assert detect_format(path) == expected


def test_supported_formats_lists_extensions() -> None:
    assert set(SUPPORTED_FORMATS) == {"csv", "excel", "parquet", "jsonl"}
    assert ".xlsx" in SUPPORTED_FORMATS["excel"]


def test_detect_format_excel(workbook: Path) -> None:
    assert detect_format(workbook) == "excel"


def test_excel_header_is_not_a_row_with_a_stray_mark(tmp_path: Path) -> None:
    # Lab workbooks often have a spare column with a mark beside one run ("x" = re-run); that
    # row fills more cells than the header, which has no name above the spare column.
    path = tmp_path / "marked.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("Reaction data")
    sheet.write_row(0, 0, ["run", "temperature (degC)", "yield"])
    for i in range(6):
        sheet.write_row(1 + i, 0, [i + 1, 30.0 + 10 * i, 0.1 * i])
    sheet.write(4, 3, "x")
    book.close()
    table = read_table(path, on_issue="ignore")
    assert table.frame.columns[:3] == ["run", "temperature (degC)", "yield"]
    assert table.height == 6
    assert table.column("temperature (degC)").unit == "degC"


def test_a_sheet_with_only_a_title_is_not_a_table(tmp_path: Path) -> None:
    path = tmp_path / "titled.xlsx"
    book = xlsxwriter.Workbook(str(path))
    book.add_worksheet("Cover").write(0, 0, "Campaign 7 - results")
    data = book.add_worksheet("Data")
    data.write_row(0, 0, ["run", "yield [%]"])
    data.write_row(1, 0, [1, 50.0])
    book.close()
    with pytest.raises(DataFormatError, match=r"sheet 'Cover' holds no table.*--sheet"):
        read_table(path)
    assert read_table(path, sheet="Data").height == 1


def test_excel_table_right_of_column_a_keeps_its_names(tmp_path: Path) -> None:
    # A title in A1 and the table from C4: each column's name comes from its own sheet column
    # (the frame holds only C:E, the header row was read as A:E).
    path = tmp_path / "offset.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("runs")
    sheet.write(0, 0, "Campaign 7")
    sheet.write_row(3, 2, ["run", "temperature [degC]", "yield [%]"])
    for i in range(3):
        sheet.write_row(4 + i, 2, [i + 1, 60.0 + i, 40.5 + i])
    book.close()
    table = read_table(path)
    assert table.frame.columns == ["run", "temperature [degC]", "yield [%]"]
    assert table.frame["yield [%]"].to_list() == [40.5, 41.5, 42.5]
    assert not table.findings
