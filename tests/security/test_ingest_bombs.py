"""Bounded input inside containers: an .xlsx whose zip directory lies about its sizes, and a
Parquet file that unpacks to more than the decompression limit, are refused before they fill
memory, with one line (issue #14, item 9)."""

from __future__ import annotations

import io
import struct
import time
import tracemalloc
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import labsight
from labsight.data.ingest import read_table
from labsight.exceptions import DataFormatError

Run = Callable[..., tuple[int, str, str]]
MiB = 1024 * 1024
SHEET = "xl/worksheets/sheet1.xml"


def lie_about_size(data: bytes, member: str, size: int) -> bytes:
    """``data`` (a zip) with ``member``'s unpacked size declared as ``size`` in its local header
    and in the central directory, and its CRC that of its first ``size`` bytes, so that Python's
    zipfile reads it, cut at ``size``, without complaint."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        info = archive.getinfo(member)
        with archive.open(info) as part:
            crc = zlib.crc32(part.read(size))
    out = bytearray(data)
    # local header: CRC at 14, compressed size at 18, unpacked size at 22
    struct.pack_into("<L", out, info.header_offset + 14, crc)
    struct.pack_into("<L", out, info.header_offset + 22, size)
    # the central directory: where the end record (the last 22 bytes, no comment) says it starts
    count, _, entry = struct.unpack_from("<HLL", out, len(out) - 22 + 10)
    for _ in range(count):
        name_length, extra_length, comment_length = struct.unpack_from("<3H", out, entry + 28)
        if out[entry + 46 : entry + 46 + name_length] == member.encode():
            # a directory entry: CRC at 16, compressed size at 20, unpacked size at 24
            struct.pack_into("<L", out, entry + 16, crc)
            struct.pack_into("<L", out, entry + 24, size)
        entry += 46 + name_length + extra_length + comment_length
    return bytes(out)


def workbook(rows: int) -> bytes:
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["run", "value"])
    for i in range(rows):
        sheet.append([i, i / 2])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


@pytest.fixture
def lying_workbook(tmp_path: Path) -> Path:
    """A workbook whose sheet unpacks to ~500 kB but is declared as 1000 bytes."""
    data = workbook(5_000)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.getinfo(SHEET).file_size > 400_000
    path = tmp_path / "runs.xlsx"
    path.write_bytes(lie_about_size(data, SHEET, 1000))
    with zipfile.ZipFile(path) as archive:  # what the directory says, and Python believes
        assert sum(i.file_size for i in archive.infolist()) < 64 * 1024
        assert len(archive.read(SHEET)) == 1000
    return path


@pytest.fixture
def zip_bomb(tmp_path: Path) -> Path:
    """A 200 kB .xlsx whose one part unpacks to 200 MB but is declared as 100 bytes."""
    buffer = io.BytesIO()
    zeros = b"0" * MiB
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        with archive.open(SHEET, "w") as part:
            for _ in range(200):
                part.write(zeros)
    path = tmp_path / "bomb.xlsx"
    path.write_bytes(lie_about_size(buffer.getvalue(), SHEET, 100))
    assert path.stat().st_size < MiB
    return path


def test_a_workbook_whose_zip_directory_lies_about_a_size_is_refused(
    lying_workbook: Path,
) -> None:
    with pytest.raises(DataFormatError) as info:
        read_table(lying_workbook)
    assert str(info.value) == (
        f"{lying_workbook}: is not a readable Excel workbook (its part "
        "'xl/worksheets/sheet1.xml' is damaged: it unpacks to more than the 1000 bytes its zip "
        "directory declares). Open it in Excel and save it again as .xlsx, or export the sheet "
        "as CSV."
    )


def test_the_lie_is_caught_under_a_low_limit_from_the_environment(
    lying_workbook: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LABSIGHT_MAX_EXPANDED_BYTES", "64KiB")  # above what is declared
    with pytest.raises(DataFormatError, match=r"unpacks to more than the 1000 bytes its zip"):
        read_table(lying_workbook)


def test_a_zip_bomb_behind_a_lying_directory_is_stopped_at_once(zip_bomb: Path) -> None:
    tracemalloc.start()
    started = time.perf_counter()
    try:
        with pytest.raises(DataFormatError, match=r"bomb\.xlsx: is not a readable") as info:
            read_table(zip_bomb)
        assert "unpacks to more than the 100 bytes its zip directory declares" in str(info.value)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert time.perf_counter() - started < 2
    assert peak < 16 * MiB  # the 200 MB it unpacks to were never held


def test_an_honest_workbook_still_reads_and_is_checked_quickly(tmp_path: Path) -> None:
    path = tmp_path / "runs.xlsx"
    path.write_bytes(workbook(20_000))
    started = time.perf_counter()
    assert read_table(path).height == 20_000
    assert time.perf_counter() - started < 10
    # a stored (uncompressed) part counts at its size
    stored = tmp_path / "stored.xlsx"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(stored, "w", zipfile.ZIP_STORED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info))
    assert read_table(stored).height == 20_000


def test_the_cli_refuses_a_lying_workbook_with_one_line(run: Run, zip_bomb: Path) -> None:
    started = time.perf_counter()
    code, _, err = run("ingest", str(zip_bomb), "--name", "runs")
    assert time.perf_counter() - started < 2
    assert code == 2
    assert err.startswith(f"error: {zip_bomb}: is not a readable Excel workbook")
    assert "its zip directory declares" in err
    assert err.count("\n") == 1
    assert "Traceback" not in err
    with labsight.Workspace(run.home) as ws:
        assert ws.datasets() == []


# Parquet


@pytest.fixture
def plain_zeros(tmp_path: Path) -> Path:
    """A 10 kB Parquet file whose one column chunk is 8 MB uncompressed (zstd over plain 0.0s)."""
    path = tmp_path / "zeros.parquet"
    table = pa.table({"zeros": pa.array([0.0] * 1_000_000)})
    pq.write_table(table, path, use_dictionary=False, compression="zstd")
    assert path.stat().st_size < 64 * 1024
    assert pq.read_metadata(path).row_group(0).column(0).total_uncompressed_size > 7 * MiB
    return path


def test_a_parquet_file_over_the_decompression_limit_is_refused_before_it_is_read(
    plain_zeros: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LABSIGHT_MAX_EXPANDED_BYTES", "1MiB")
    with pytest.raises(DataFormatError) as info:
        read_table(plain_zeros)
    assert str(info.value) == (
        f"{plain_zeros}: the Parquet file unpacks to 7.6 MiB, more than the 1 MiB limit on "
        "decompressed input. To read it anyway, set LABSIGHT_MAX_EXPANDED_BYTES=8MiB in the "
        "environment (or pass max_expanded_bytes= to read_table)."
    )
    assert read_table(plain_zeros, max_expanded_bytes=8 * MiB).height == 1_000_000


def test_run_length_encoded_values_count_at_their_size_in_memory(tmp_path: Path) -> None:
    path = tmp_path / "rle.parquet"
    pl.DataFrame({"zeros": [0] * 2_000_000}).write_parquet(path)  # a few bytes per column chunk
    meta = pq.read_metadata(path)
    chunks = [meta.row_group(g).column(0) for g in range(meta.num_row_groups)]
    assert sum(c.total_uncompressed_size for c in chunks) < 64 * 1024
    with pytest.raises(DataFormatError, match=r"the Parquet file unpacks to 15\.3 MiB, more than"):
        read_table(path, max_expanded_bytes=4 * MiB)


def test_a_dictionary_of_long_strings_is_held_to_the_limit_after_reading(tmp_path: Path) -> None:
    path = tmp_path / "strings.parquet"
    long = pl.select(pl.lit("x" * MiB).alias("note").repeat_by(40).explode())
    long.write_parquet(path)  # one 1 MiB string, stored once, on 40 rows
    assert path.stat().st_size < 64 * 1024
    with pytest.raises(DataFormatError, match=r"the Parquet file unpacks to 40 MiB, more than"):
        read_table(path, max_expanded_bytes=16 * MiB)


def test_a_parquet_file_under_the_limit_reads(tmp_path: Path) -> None:
    path = tmp_path / "runs.parquet"
    pl.DataFrame({"run": [1, 2, 3], "value": [2.5, 3.5, 4.5]}).write_parquet(path)
    assert read_table(path, max_expanded_bytes=64 * 1024).frame["value"].to_list() == [
        2.5,
        3.5,
        4.5,
    ]


def test_a_parquet_file_with_a_damaged_footer_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "damaged.parquet"
    good = io.BytesIO()
    pl.DataFrame({"run": [1, 2, 3]}).write_parquet(good)
    data = bytearray(good.getvalue())
    data[-12:-8] = b"\xff\xff\xff\x7f"  # a footer length past the start of the file
    path.write_bytes(bytes(data))
    with pytest.raises(DataFormatError, match=r"damaged\.parquet: is not a readable Parquet file"):
        read_table(path)


def test_the_cli_refuses_a_parquet_bomb_with_one_line(
    run: Run, plain_zeros: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LABSIGHT_MAX_EXPANDED_BYTES", "1MiB")
    code, _, err = run("ingest", str(plain_zeros), "--name", "zeros")
    assert code == 2
    assert err.startswith(f"error: {plain_zeros}: the Parquet file unpacks to 7.6 MiB")
    assert "set LABSIGHT_MAX_EXPANDED_BYTES=8MiB" in err
    assert err.count("\n") == 1
    assert "Traceback" not in err
