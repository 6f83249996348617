"""The corpus: broken files fail with one clear line; awkward ones read with the expected shape."""

from __future__ import annotations

from pathlib import Path

import pytest

from labsight.data.ingest import read_table
from labsight.exceptions import DataFormatError, LabsightError, NotFoundError

CORPUS = Path(__file__).parent.parent / "corpus"
BROKEN = CORPUS / "broken"
AWKWARD = CORPUS / "awkward"


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("empty.csv", r"empty\.csv: the file is empty \(0 bytes\)"),
        ("whitespace_only.csv", r"whitespace_only\.csv: the file holds only whitespace"),
        ("image.csv", r"image\.csv: is binary"),
        ("random.bin", r"random\.bin: is not a table labsight can read"),
        ("prose.txt", r"prose\.txt: does not look like a table"),
        ("two_line_prose.txt", r"two_line_prose\.txt: the file holds no table"),
        (
            "ragged_long.csv",
            r"ragged_long\.csv line 7: expected 5 fields, found 6\. "
            r"Fix the row or quote the field that contains the delimiter\.",
        ),
        ("ragged_short.csv", r"ragged_short\.csv line 4: expected 5 fields, found 3\."),
        ("truncated.csv.gz", r"truncated\.csv\.gz: the gzip file is truncated or corrupt"),
        ("corrupt.parquet", r"corrupt\.parquet: is not a readable Parquet file"),
        ("truncated.xlsx", r"truncated\.xlsx: is not a readable Excel workbook"),
        ("not_a_zip.xlsx", r"not_a_zip\.xlsx: is not a readable Excel workbook"),
        ("bad_line.jsonl", r"bad_line\.jsonl line 3: is not valid JSON lines"),
    ],
)
def test_broken_file_fails_with_one_line(name: str, message: str) -> None:
    with pytest.raises(DataFormatError, match=message) as info:
        read_table(BROKEN / name)
    assert "\n" not in str(info.value)
    assert info.value.path == str(BROKEN / name)


def test_every_broken_file_is_tested() -> None:
    assert len(list(BROKEN.iterdir())) == 13


def test_missing_path() -> None:
    with pytest.raises(NotFoundError, match=r"nowhere\.csv: no such file"):
        read_table(BROKEN / "nowhere.csv")


def test_directory() -> None:
    with pytest.raises(DataFormatError, match=r"broken: is a directory"):
        read_table(BROKEN)


@pytest.mark.parametrize(
    ("name", "shape", "units"),
    [
        (
            "european_preamble.csv",
            (3, 4),
            {"Temperatur (°C)": "degC", "Zeit [min]": "min", "Ausbeute [%]": "%"},
        ),
        ("utf16_tab.txt", (3, 3), {"conc [mM]": "mM"}),
        ("quoted_newlines.csv", (3, 3), {"yield [%]": "%"}),
        ("mixed_units.csv", (10, 3), {"time": "min", "temperature": "degC"}),
        ("pipe_blank_lines.txt", (3, 3), {}),
        ("aligned.dat", (3, 3), {}),
        ("header_only.csv", (0, 3), {"temperature [degC]": "degC"}),
        ("duplicate_headers.csv", (2, 4), {}),
        ("latin1_semicolon.csv", (2, 2), {}),
        ("data.csv.gz", (3, 2), {"value [g/L]": "g / L"}),
        ("runs.xlsx", (6, 4), {"temperature [degC]": "degC", "yield [%]": "%"}),
        ("records.ndjson", (2, 2), {}),
        ("dates.csv", (2, 3), {}),
        ("trailing_semicolons.csv", (3, 3), {"A260 [AU]": "AU"}),
        ("trailing_commas_crlf.csv", (3, 3), {"yield [%]": "%"}),
        ("headerless.csv", (4, 3), {}),
        ("spectrum_header.csv", (3, 4), {}),
        ("second_header.csv", (3, 5), {}),
    ],
)
def test_awkward_file_reads(name: str, shape: tuple[int, int], units: dict[str, str]) -> None:
    table = read_table(AWKWARD / name, on_issue="ignore")
    assert table.frame.shape == shape
    for column, unit in units.items():
        assert table.column(column).unit == unit


def test_every_awkward_file_is_tested() -> None:
    assert len(list(AWKWARD.iterdir())) == 18


def test_european_preamble_values() -> None:
    table = read_table(AWKWARD / "european_preamble.csv")
    assert table.frame["Ausbeute [%]"].to_list() == [50.25, 61.5, 70.75]
    assert table.source is not None
    assert table.source.encoding == "cp1252"
    assert table.source.preamble["Operator"] == "J. Doe"
    assert table.row_lines == [6, 7, 8]


def test_mixed_units_values() -> None:
    table = read_table(AWKWARD / "mixed_units.csv", on_issue="ignore")
    assert table.frame["time"].to_list()[-2:] == [120.0, 90.0]
    assert table.frame["temperature"].to_list()[-2] == pytest.approx(26.85)
    assert {f.check for f in table.findings} == {"unit_inconsistency"}


def test_errors_are_labsight_errors() -> None:
    with pytest.raises(LabsightError):
        read_table(BROKEN / "empty.csv")


def test_trailing_delimiters_are_not_a_column() -> None:
    table = read_table(AWKWARD / "trailing_semicolons.csv")
    assert table.frame.columns == ["sample", "A260 [AU]", "A280 [AU]"]
    assert table.frame["A260 [AU]"].to_list() == [1.204, 0.985, 1.53]
    assert table.source is not None
    assert table.source.preamble == {"Instrument": "UV-1800"}


def test_a_short_row_deep_in_a_large_file_is_named(tmp_path: Path) -> None:
    # Above 16 MB the exact line scan is skipped; a row with too few fields must still be caught.
    import numpy as np
    import polars as pl

    rng = np.random.default_rng(1)
    frame = pl.DataFrame({f"c{i}": rng.normal(size=170_000) for i in range(6)})
    path = tmp_path / "large.csv"
    frame.write_csv(path)
    lines = path.read_text().split("\n")
    lines[150_000] = ",".join(lines[150_000].split(",")[:4])
    path.write_text("\n".join(lines))
    assert path.stat().st_size > 16 * 1024 * 1024
    with pytest.raises(
        DataFormatError, match=r"large\.csv line 150001: expected 6 fields, found 4"
    ):
        read_table(path)


def test_a_file_without_header_keeps_its_first_row() -> None:
    table = read_table(AWKWARD / "headerless.csv", on_issue="ignore")
    assert table.frame.columns == ["column_1", "column_2", "column_3"]
    assert table.frame["column_1"].to_list() == [0.252, 0.212, 0.346, 1.24]
    (header,) = [f for f in table.findings if f.check == "header"]
    assert "no header row" in header.message
    (bad,) = [f for f in table.findings if f.check == "invalid_value"]
    assert bad.rows == [2]
    assert bad.details["lines"] == [3]
    with pytest.raises(DataFormatError, match=r"headerless\.csv line 3, column 'column_2'"):
        read_table(AWKWARD / "headerless.csv", on_issue="raise")


def test_a_numeric_header_of_wavenumbers_stays_a_header() -> None:
    table = read_table(AWKWARD / "spectrum_header.csv")
    assert table.frame.columns == ["sample", "4000.5", "3998.6", "3996.7"]
    assert not [f for f in table.findings if f.check == "header"]


def test_a_second_header_row_is_set_aside_not_read_as_data() -> None:
    table = read_table(AWKWARD / "second_header.csv", on_issue="raise")
    assert table.frame["NAME"].to_list() == [0, 1, 2]
    assert table.column("NAME").role == "id"
    assert table.column("yld").role == "target"
    (header,) = [f for f in table.findings if f.check == "header"]
    assert "line 2 is a second header row ('TYPE', 'DATA'" in header.message
    assert not [f for f in table.findings if f.check == "invalid_value"]
    assert table.line_of(0) == 3


def test_a_table_broken_in_several_places_names_its_first_bad_row(tmp_path: Path) -> None:
    """No delimiter splits this consistently (a short row, a long one, an open quote), so the
    sniffer gives up; the message still names the first row that breaks the table, most of
    whose rows have three fields, and with the delimiter asked for it does so for any mix."""
    path = tmp_path / "runs.csv"
    path.write_text("a,b,c\n1,2,3\n4,5,6\n7,8,9\n1,2\n1,2,3,4\n5,6,7\n8,9,1\n")
    with pytest.raises(DataFormatError, match=r"runs\.csv line 5: expected 3 fields, found 2"):
        read_table(path)
    messy = tmp_path / "messy.csv"
    messy.write_text('a,b,c\n1,2,3\n4,5\n6,7,8,9\n"open,1,2\n')
    with pytest.raises(DataFormatError, match=r"does not look like a table"):
        read_table(messy)  # three fields on two records of five: not clearly a table
    with pytest.raises(DataFormatError, match=r"messy\.csv line 3: expected 3 fields, found 2"):
        read_table(messy, delimiter=",")


def test_a_quote_never_closed_is_named_by_its_line(tmp_path: Path) -> None:
    """polars names only the text it choked on; the message names the line the quote opened on
    (quoted fields with the delimiter or a line break inside, before it, are fine)."""
    path = tmp_path / "runs.csv"
    path.write_text('a,b,c\n1,"x, y",3\n4,"two\nlines",6\n7,8,"9\n10,11,12\n')
    with pytest.raises(DataFormatError, match=r"runs\.csv line 5: a quote opened") as info:
        read_table(path)
    assert "\n" not in str(info.value)
    path.write_text('a,b,c\n1,"x, y",3\n4,"two\nlines",6\n7,8,9\n')
    assert read_table(path).frame.height == 3
