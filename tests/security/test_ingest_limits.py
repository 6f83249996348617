"""Bounded input: a file over the size limit is refused before it is read, and a gzip file is
decompressed a chunk at a time and refused as soon as it passes its limit (issue #14, item 9)."""

from __future__ import annotations

import gzip
import tracemalloc
import zipfile
from pathlib import Path

import pytest

import labsight
from labsight.cli import main
from labsight.config import DEFAULT_MAX_EXPANDED_BYTES, DEFAULT_MAX_FILE_BYTES, Settings
from labsight.data.ingest import read_table
from labsight.exceptions import DataFormatError, InputError

MiB = 1024 * 1024


@pytest.fixture(scope="module")
def bomb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 200 kB .csv.gz that expands to 200 MB."""
    path = tmp_path_factory.mktemp("bomb") / "runs.csv.gz"
    zeros = b"0" * MiB
    with gzip.open(path, "wb") as handle:
        handle.write(b"run,value\n")
        for _ in range(200):
            handle.write(zeros)
    assert path.stat().st_size < MiB
    return path


@pytest.fixture
def table_csv(tmp_path: Path) -> Path:
    path = tmp_path / "runs.csv"
    path.write_text("run,value [g]\n" + "".join(f"{i},{i / 4}\n" for i in range(1, 2_001)))
    return path


def test_a_gzip_bomb_is_refused_without_decompressing_it_whole(bomb: Path) -> None:
    tracemalloc.start()
    try:
        with pytest.raises(DataFormatError) as info:
            read_table(bomb, max_expanded_bytes=10 * MiB)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert str(info.value) == (
        f"{bomb}: the gzip file decompresses to more than 10 MiB, the limit on decompressed "
        "input; reading stopped there. To read it anyway, set LABSIGHT_MAX_EXPANDED_BYTES=40MiB "
        "in the environment (or pass max_expanded_bytes= to read_table)."
    )
    assert peak < 40 * MiB  # the 200 MB it expands to were never held


def test_the_decompression_limit_comes_from_the_environment(
    bomb: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LABSIGHT_MAX_EXPANDED_BYTES", "20MiB")
    with pytest.raises(DataFormatError, match=r"decompresses to more than 20 MiB"):
        read_table(bomb)


def test_a_gzip_file_under_the_limit_reads(tmp_path: Path) -> None:
    path = tmp_path / "runs.csv.gz"
    path.write_bytes(gzip.compress(b"run,value\n1,2.5\n2,3.5\n"))
    table = read_table(path, max_expanded_bytes=1024)
    assert table.frame["value"].to_list() == [2.5, 3.5]


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(table_csv: Path) -> None:
    size = table_csv.stat().st_size
    assert size == 21_469
    with pytest.raises(DataFormatError) as info:
        read_table(table_csv, max_file_bytes=10_000)
    assert str(info.value) == (
        f"{table_csv}: the file is 21 KiB, more than the 9.8 KiB limit on input files. To read it "
        "anyway, set LABSIGHT_MAX_FILE_BYTES=21KiB in the environment (or pass max_file_bytes= "
        "to read_table)."
    )
    assert read_table(table_csv, max_file_bytes=21 * 1024).height == 2_000


def test_an_oversized_workbook_is_refused_by_its_unpacked_size(tmp_path: Path) -> None:
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["run", "value"])
    for i in range(2_000):
        sheet.append([i, i / 2])
    path = tmp_path / "runs.xlsx"
    book.save(path)
    with zipfile.ZipFile(path) as archive:
        unpacked = sum(info.file_size for info in archive.infolist())
    assert path.stat().st_size < 64 * 1024 < unpacked
    with pytest.raises(DataFormatError, match=r"runs\.xlsx: the workbook unpacks to .* more than"):
        read_table(path, max_expanded_bytes=64 * 1024)
    assert read_table(path, max_expanded_bytes=unpacked).height == 2_000


def test_settings_read_the_limits_from_the_environment() -> None:
    default = Settings.resolve(home="/tmp/lab", env={})
    assert (default.max_file_bytes, default.max_expanded_bytes) == (4 * 1024**3, 2 * 1024**3)
    assert (DEFAULT_MAX_FILE_BYTES, DEFAULT_MAX_EXPANDED_BYTES) == (4 * 1024**3, 2 * 1024**3)
    env = {"LABSIGHT_MAX_FILE_BYTES": "8GiB", "LABSIGHT_MAX_EXPANDED_BYTES": "500MB"}
    raised = Settings.resolve(home="/tmp/lab", env=env)
    assert (raised.max_file_bytes, raised.max_expanded_bytes) == (8 * 1024**3, 500_000_000)


def test_a_limit_that_is_no_size_is_refused_naming_the_setting() -> None:
    with pytest.raises(InputError, match=r"LABSIGHT_MAX_FILE_BYTES='lots' is not a size"):
        Settings.resolve(home="/tmp/lab", env={"LABSIGHT_MAX_FILE_BYTES": "lots"})


def test_workspace_ingest_applies_the_settings_and_stores_nothing(
    tmp_path: Path, table_csv: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LABSIGHT_MAX_FILE_BYTES", "10000")
    with labsight.Workspace(tmp_path / "home", user="tester") as ws:
        with pytest.raises(DataFormatError, match=r"more than the 9\.8 KiB limit on input files"):
            ws.ingest(table_csv, name="runs")
        assert ws.datasets() == []
        assert ws.audit.entries() == []


def test_the_cli_refuses_an_oversized_file_with_one_line(
    tmp_path: Path,
    bomb: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LABSIGHT_MAX_EXPANDED_BYTES", "5MiB")
    home = tmp_path / "home"
    code = main(["--home", str(home), "ingest", str(bomb), "--name", "runs"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith(f"error: {bomb}: the gzip file decompresses to more than 5 MiB")
    assert "set LABSIGHT_MAX_EXPANDED_BYTES=20MiB" in err
    assert err.count("\n") == 1
    assert "Traceback" not in err
    with labsight.Workspace(home) as ws:
        assert ws.datasets() == []
