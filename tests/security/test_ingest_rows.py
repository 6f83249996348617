"""A row whose field count differs from the header's is refused at every file size, named by its
line; above 16 MB the file is checked streaming, quotes included (issue #14, item 3)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import labsight
from labsight.cli import main
from labsight.data.ingest import read_table
from labsight.data.ingest._fields import first_ragged
from labsight.exceptions import DataFormatError

HEADER = b"a,b,c,d\n"
ROW = b"123.456,234.567,345.678,456.789\n"
LARGE = 1_000_000  # rows: 32 MB, past the 16 MB up to which a file is scanned in memory
SIZES = [
    pytest.param(20, id="small"),
    pytest.param(LARGE, id="1M-rows", marks=pytest.mark.slow),
]


def _table(path: Path, rows: int, bad: bytes, at: int) -> Path:
    """A 4-column CSV of ``rows`` good rows with ``bad`` in place of row ``at`` (0-based)."""
    path.write_bytes(HEADER + ROW * at + bad + b"\n" + ROW * (rows - at - 1))
    return path


@pytest.mark.parametrize("rows", SIZES)
@pytest.mark.parametrize(
    ("bad", "found"),
    [
        pytest.param(b'1.5,"2,5",3.5', 3, id="quoted-delimiter"),
        pytest.param(b"1.5,2.5,3.5", 3, id="too-few"),
        pytest.param(b"1.5,2.5,3.5,4.5,5.5", 5, id="too-many"),
        pytest.param(b'1.5,"2,5",3.5,4.5,5.5', 5, id="quoted-delimiter-too-many"),
        pytest.param(b'1.5,"2\n5",3.5', 3, id="quoted-newline"),
    ],
)
def test_a_malformed_row_is_refused_naming_its_line(
    tmp_path: Path, rows: int, bad: bytes, found: int
) -> None:
    at = rows // 2
    path = _table(tmp_path / "runs.csv", rows, bad, at)
    assert (path.stat().st_size > 16 * 1024 * 1024) == (rows == LARGE)
    with pytest.raises(DataFormatError, match=rf"runs\.csv line {at + 2}: ") as info:
        read_table(path, on_issue="ignore")
    assert str(info.value) == (
        f"{path} line {at + 2}: expected 4 fields, found {found}. "
        "Fix the row or quote the field that contains the delimiter."
    )


@pytest.mark.slow
def test_the_cli_refuses_a_large_malformed_file_and_stores_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _table(tmp_path / "runs.csv", LARGE, b'1.5,"2,5",3.5', 700_000)
    home = tmp_path / "home"
    code = main(["--home", str(home), "ingest", str(path), "--name", "runs"])
    err = capsys.readouterr().err
    assert code == 2
    assert err == (
        f"error: {path} line 700002: expected 4 fields, found 3. "
        "Fix the row or quote the field that contains the delimiter.\n"
    )
    with labsight.Workspace(home) as ws:
        assert ws.datasets() == []


@pytest.mark.slow
def test_a_large_file_with_quoted_fields_across_blocks_reads_whole(tmp_path: Path) -> None:
    # Quoted fields holding delimiters and line ends, one every 997 rows, land across the 4 MB
    # blocks of the streamed check; none of them is a malformed row, and the one that is, is
    # named by its physical line (each quoted line end adds one).
    good = b"1.25,2.5,3.75,4.0,5.125,6.5,7.75,8.0,ok\n"
    quoted = b'1.25,2.5,3.75,4.0,5.125,6.5,7.75,8.0,"held, then\nresumed"\n'
    body = [quoted if i % 997 == 0 else good for i in range(450_000)]
    header = b"c1,c2,c3,c4,c5,c6,c7,c8,note\n"
    path = tmp_path / "long.csv"
    path.write_bytes(header + b"".join(body))
    assert path.stat().st_size > 16 * 1024 * 1024
    table = read_table(path, on_issue="ignore")
    assert table.frame.shape == (450_000, 9)
    assert table.frame["note"][997] == "held, then\nresumed"
    assert table.frame["c8"].sum() == 8.0 * 450_000

    body[300_001] = b'1.25,"2,5",3.75,4.0,5.125,6.5,7.75,8.0\n'
    path.write_bytes(header + b"".join(body))
    line = 1 + 300_001 + len(range(0, 300_001, 997)) + 1
    with pytest.raises(
        DataFormatError, match=rf"long\.csv line {line}: expected 9 fields, found 8"
    ):
        read_table(path, on_issue="ignore")


def test_quoted_delimiters_in_a_well_formed_file_are_one_field(tmp_path: Path) -> None:
    path = tmp_path / "notes.csv"
    path.write_text('run,note,yield\n1,"dried, then weighed",50.5\n2,"a ""b"", c",61.0\n3,x,70.0\n')
    table = read_table(path)
    assert table.frame["note"].to_list() == ["dried, then weighed", 'a "b", c', "x"]


def _first_ragged_by_csv(text: str, n_fields: int) -> tuple[int, int] | None:
    """What the exact in-memory scan finds: the first non-blank record below the header."""
    reader = csv.reader(io.StringIO(text.partition("\n")[2], newline=""), strict=False)
    before = 0
    for record in reader:
        blank = not record or (len(record) == 1 and not record[0].strip())
        if not blank and len(record) != n_fields:
            return before + 2, len(record)
        before = reader.line_num
    return None


CELLS = st.sampled_from(["1", "2.5", "abc", "", '"a,b"', '"x\ny"', '""', '"q""r"'])
ROWS = st.lists(st.integers(0, 4).flatmap(lambda k: st.lists(CELLS, min_size=k, max_size=k)))


@given(rows=ROWS, end=st.sampled_from(["", "\n"]), block=st.integers(1, 64))
def test_the_streamed_check_finds_what_the_exact_scan_finds(
    rows: list[list[str]], end: str, block: int
) -> None:
    # Blocks of a few bytes put every record, quoted line ends included, across block edges.
    text = "\n".join(["h1,h2,h3", *(",".join(cells) for cells in rows)]) + end
    found = first_ragged(text.encode(), sep=",", n_fields=3, skip=1, block=block)
    assert found == _first_ragged_by_csv(text, 3)
