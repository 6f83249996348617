"""Reading delimited text: delimiters, decimal commas, encodings, preambles, units, bad cells."""

from __future__ import annotations

import codecs
import gzip
from pathlib import Path

import polars as pl
import pytest

import labsight.data.ingest as ingest
from labsight.data.ingest import read_table
from labsight.exceptions import DataFormatError, LabsightWarning

ROWS = "run,temperature [degC],catalyst,yield [%]\n1,25.5,Pd,50.25\n2,30,Ni,61.5\n3,35.5,Pd,70\n"


def write(folder: Path, name: str, data: str | bytes) -> Path:
    path = folder / name
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def assert_rows(path: Path, **kwargs: object) -> None:
    table = read_table(path, **kwargs)  # type: ignore[arg-type]
    assert table.frame.columns == ["run", "temperature [degC]", "catalyst", "yield [%]"]
    assert table.frame["temperature [degC]"].to_list() == [25.5, 30.0, 35.5]
    assert table.frame["yield [%]"].to_list() == [50.25, 61.5, 70.0]
    assert table.frame["catalyst"].to_list() == ["Pd", "Ni", "Pd"]
    assert table.column("temperature [degC]").unit == "degC"
    assert table.column("yield [%]").unit == "%"


def test_public_namespace() -> None:
    assert set(ingest.__all__) == {
        "DEFAULT_NA_VALUES",
        "SUPPORTED_FORMATS",
        "OnIssue",
        "ReadOptions",
        "detect_format",
        "read_images",
        "read_table",
    }


@pytest.mark.parametrize(
    ("delimiter", "name"), [(",", "r.csv"), (";", "r.csv"), ("\t", "r.tsv"), ("|", "r.txt")]
)
def test_delimiters_are_sniffed(tmp_path: Path, delimiter: str, name: str) -> None:
    path = write(tmp_path, name, ROWS.replace(",", delimiter))
    assert_rows(path)
    assert read_table(path).source.delimiter == delimiter


def test_explicit_delimiter(tmp_path: Path) -> None:
    assert_rows(write(tmp_path, "r.csv", ROWS.replace(",", ";")), delimiter=";")


def test_whitespace_aligned_dat(tmp_path: Path) -> None:
    path = write(tmp_path, "r.dat", "t    signal   flag\n0.0  1.25     ok\n0.5  1.50     bad\n")
    table = read_table(path)
    assert table.frame["signal"].to_list() == [1.25, 1.5]
    assert table.source.delimiter == " "


def test_decimal_comma_is_sniffed(tmp_path: Path) -> None:
    european = ROWS.replace(",", ";").replace(".", ",")
    path = write(tmp_path, "eu.csv", european)
    assert_rows(path)
    assert read_table(path).source.decimal_comma is True


def test_decimal_comma_forced_off_keeps_text(tmp_path: Path) -> None:
    path = write(tmp_path, "eu.csv", "a;b\n1,5;x\n2,5;y\n")
    table = read_table(path, decimal_comma=False)
    assert table.frame["a"].dtype == pl.String


@pytest.mark.parametrize(
    ("encoding", "prefix", "reported"),
    [
        ("utf-8", b"", "utf-8"),
        ("utf-8", codecs.BOM_UTF8, "utf-8-sig"),
        ("utf-16-le", codecs.BOM_UTF16_LE, "utf-16"),
        ("utf-16-be", codecs.BOM_UTF16_BE, "utf-16"),
        ("cp1252", b"", "cp1252"),
        ("latin-1", b"", "cp1252"),  # Latin-1 letters decode as cp1252 too: same text
    ],
)
def test_encodings(tmp_path: Path, encoding: str, prefix: bytes, reported: str) -> None:
    text = "name,temp (°C)\ncafé,1.5\nGrüße,2.5\n"
    path = write(tmp_path, "enc.csv", prefix + text.encode(encoding))
    table = read_table(path)
    assert table.frame["name"].to_list() == ["café", "Grüße"]
    assert table.column("temp (°C)").unit == "degC"
    assert table.source.encoding == reported


def test_latin1_only_bytes_fall_back_to_latin1(tmp_path: Path) -> None:
    # 0x81 is undefined in cp1252, so only Latin-1 decodes this
    path = write(tmp_path, "l1.csv", b"name,v\nA\x81B,1\nC,2\n")
    table = read_table(path)
    assert table.source.encoding == "latin-1"
    assert table.frame["name"][0] == "A\x81B"


def test_explicit_encoding(tmp_path: Path) -> None:
    path = write(tmp_path, "e.csv", "name,v\nπ,1\nß,2\n".encode())
    assert read_table(path, encoding="utf-8").frame["name"].to_list() == ["π", "ß"]


def test_preamble_is_skipped_and_kept(tmp_path: Path) -> None:
    preamble = "Instrument: HPLC-2\nOperator; J. Doe\nDate,2024-03-01\n\n"
    path = write(tmp_path, "p.csv", preamble + ROWS)
    table = read_table(path)
    assert_rows(path)
    assert table.source.header_line == 5
    assert table.source.preamble == {
        "Instrument": "HPLC-2",
        "Operator": "J. Doe",
        "Date": "2024-03-01",
    }
    assert table.row_lines == [6, 7, 8]


def test_quoted_newlines(tmp_path: Path) -> None:
    path = write(tmp_path, "q.csv", 'id,comment,v\n1,"two\nlines",1.5\n2,"a, b",2.5\n')
    table = read_table(path)
    assert table.frame["comment"].to_list() == ["two\nlines", "a, b"]
    assert table.row_lines == [2, 4]


@pytest.mark.parametrize("name", ["r.csv.gz", "r.gz", "r.csv"])
def test_gzip_by_magic_bytes(tmp_path: Path, name: str) -> None:
    path = write(tmp_path, name, gzip.compress(ROWS.encode()))
    assert_rows(path)
    assert read_table(path).source.compression == "gzip"


def test_blank_lines_are_not_rows(tmp_path: Path) -> None:
    path = write(tmp_path, "b.csv", "a,b\n1,2\n\n3,4\n\n")
    table = read_table(path)
    assert table.frame["a"].to_list() == [1, 3]
    assert table.row_lines == [2, 4]


def test_crlf_line_ends(tmp_path: Path) -> None:
    assert_rows(write(tmp_path, "crlf.csv", ROWS.replace("\n", "\r\n")))


def test_source_info(tmp_path: Path) -> None:
    import hashlib

    path = write(tmp_path, "s.csv", ROWS)
    source = read_table(path).source
    assert source is not None
    assert source.sha256 == hashlib.sha256(ROWS.encode()).hexdigest()
    assert source.size == len(ROWS)
    assert (source.format, source.delimiter, source.header_line) == ("csv", ",", 1)
    assert source.path == str(path)


@pytest.mark.parametrize(
    "token", ["", "NA", "N/A", "n/a", "NaN", "nan", "null", "NULL", "None", "-", "--", "#N/A", "?"]
)
def test_default_missing_tokens(tmp_path: Path, token: str) -> None:
    path = write(tmp_path, "m.csv", f"a,b\n1,2.5\n{token},3.5\n4,{token}\n")
    table = read_table(path)
    assert table.frame["a"].to_list() == [1, None, 4]
    assert table.frame["b"].to_list() == [2.5, 3.5, None]
    assert table.findings == []


def test_extra_na_values(tmp_path: Path) -> None:
    path = write(tmp_path, "m.csv", "a,b\n1,2.5\nn/a?,3.5\n4,5.5\n")
    table = read_table(path, na_values=["n/a?"])
    assert table.frame["a"].to_list() == [1, None, 4]


BAD_CELLS = (
    "Instrument: HPLC-2\n"  # line 1
    "Operator: J. Doe\n"  # line 2
    "\n"  # line 3
    "id,comment,temperature [degC],yield\n"  # line 4
    '1,"spans\ntwo lines",25,50\n'  # lines 5-6
    "2,ok,27.5,55\n"  # line 7
    "3,ok,n/a?,60\n"  # line 8
    "4,ok,30,65\n"  # line 9
    "5,ok,hot,70\n"  # line 10
)


def test_invalid_cells_become_one_finding_with_lines(tmp_path: Path) -> None:
    path = write(tmp_path, "yield.csv", BAD_CELLS)
    table = read_table(path, on_issue="ignore")
    assert table.frame["temperature [degC]"].to_list() == [25.0, 27.5, None, 30.0, None]
    assert table.column("temperature [degC]").unit == "degC"
    (finding,) = table.findings
    assert finding.check == "invalid_value"
    assert finding.column == "temperature [degC]"
    assert finding.rows == [2, 4]
    assert finding.severity == "error"
    assert finding.details["values"] == ["n/a?", "hot"]
    assert finding.details["lines"] == [8, 10]
    assert finding.message == (
        "2 cells in 'temperature [degC]' are not numbers: 'n/a?' (line 8), 'hot' (line 10)"
    )
    assert "--na-values 'n/a?'" in finding.suggestion


def test_invalid_cells_raise_names_file_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, "yield.csv", BAD_CELLS)
    with pytest.raises(
        DataFormatError,
        match=r"yield\.csv line 8, column 'temperature \[degC\]': 'n/a\?' is not a number; "
        r"expected a value in degC\. Fix the cell or pass --na-values 'n/a\?'\.",
    ):
        read_table(path, on_issue="raise")


def test_invalid_cells_warn_once_per_finding(tmp_path: Path) -> None:
    path = write(tmp_path, "yield.csv", BAD_CELLS)
    with pytest.warns(LabsightWarning, match=r"2 cells in 'temperature \[degC\]'") as record:
        read_table(path)
    assert len(record) == 1


def test_invalid_cell_found_late_in_a_long_file(tmp_path: Path) -> None:
    rows = "".join(f"{i},{i * 0.5}\n" for i in range(20_000))
    path = write(tmp_path, "long.csv", "id,x\n" + rows + "20000,oops\n")
    table = read_table(path, on_issue="ignore")
    assert table.frame["x"].dtype == pl.Float64
    assert table.findings[0].details["lines"] == [20_002]


def test_integer_column_stays_integer(tmp_path: Path) -> None:
    table = read_table(write(tmp_path, "i.csv", "a,b\n1,x\n2,y\n"))
    assert table.frame["a"].dtype == pl.Int64
    assert table.column("a").dtype == "int"


def test_cell_units_convert_to_dominant_unit(tmp_path: Path) -> None:
    body = "".join(f"{i},{30 + i} min\n" for i in range(6)) + "6,2 h\n7,3600 s\n"
    table = read_table(write(tmp_path, "t.csv", "run,time\n" + body), on_issue="ignore")
    assert table.frame["time"].to_list() == [30.0, 31.0, 32.0, 33.0, 34.0, 35.0, 120.0, 60.0]
    assert table.column("time").unit == "min"
    (finding,) = table.findings
    assert finding.check == "unit_inconsistency"
    assert finding.rows == [6, 7]
    assert (
        finding.message
        == "'time' mixes units min (6 rows), h (1 row), s (1 row); converted all to min"
    )


def test_cell_units_follow_header_unit(tmp_path: Path) -> None:
    path = write(tmp_path, "t.csv", "run,time [h]\n1,90 min\n2,2 h\n")
    table = read_table(path, on_issue="ignore")
    assert table.frame["time [h]"].to_list() == [1.5, 2.0]
    assert table.column("time [h]").unit == "h"


def test_single_cell_unit_column_has_no_finding(tmp_path: Path) -> None:
    table = read_table(write(tmp_path, "t.csv", "run,T\n1,-4 °C\n2,25 °C\n"))
    assert table.frame["T"].to_list() == [-4.0, 25.0]
    assert table.column("T").unit == "degC"
    assert table.findings == []


def test_incompatible_cell_unit_is_invalid(tmp_path: Path) -> None:
    body = "run,time\n1,10 min\n2,20 min\n3,30 min\n4,5 bar\n"
    table = read_table(write(tmp_path, "t.csv", body), on_issue="ignore")
    assert table.frame["time"].to_list() == [10.0, 20.0, 30.0, None]
    (finding,) = table.findings
    assert (finding.check, finding.rows, finding.details["lines"]) == ("invalid_value", [3], [5])
    assert "not convertible" in finding.details["reasons"][0]


def test_dates_and_booleans(tmp_path: Path) -> None:
    body = "when,day,iso,ok\n2024-03-01 12:00,01.03.2024,2024-03-01T12:00:00,yes\n2024-03-02 08:30,02.03.2024,2024-03-02T08:00:00,no\n"
    table = read_table(write(tmp_path, "d.csv", body))
    schema = table.frame.schema
    assert isinstance(schema["when"], pl.Datetime)
    assert schema["day"] == pl.Date
    assert isinstance(schema["iso"], pl.Datetime)
    assert schema["ok"] == pl.Boolean
    assert [c.dtype for c in table.columns] == ["datetime", "date", "datetime", "bool"]


def test_duplicate_and_blank_headers_renamed(tmp_path: Path) -> None:
    table = read_table(write(tmp_path, "h.csv", "col,col,,b\n1,2,3,4\n"))
    assert table.frame.columns == ["col", "col_2", "column_3", "b"]
    (finding,) = table.findings
    assert (finding.check, finding.severity) == ("header", "info")
    assert finding.details["renamed"] == {"col_2": "col", "column_3": ""}


def test_header_only_gives_zero_rows(tmp_path: Path) -> None:
    table = read_table(write(tmp_path, "h.csv", "a,b [degC]\n"))
    assert table.frame.shape == (0, 2)
    assert table.column("b [degC]").unit == "degC"


def test_single_column(tmp_path: Path) -> None:
    table = read_table(write(tmp_path, "one.csv", "yield\n1.5\n2.5\n"))
    assert table.frame["yield"].to_list() == [1.5, 2.5]


def test_roles_passed_through(tmp_path: Path) -> None:
    table = read_table(write(tmp_path, "r.csv", ROWS), roles={"catalyst": "group"})
    assert table.column("catalyst").role == "group"
    assert table.column("yield [%]").role == "target"
    assert table.column("run").role == "id"
