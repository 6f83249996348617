"""Wide files read: a header line longer than the sniffer's first 256 KiB sample (100,000 columns
of a spectrum, or 1,000 long names) is read whole, in memory and from disk (issue #14, item 4)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import labsight
from labsight.data.ingest import read_table


def _write(path: Path, names: list[str], values: np.ndarray) -> Path:
    lines = [",".join(names)] + [",".join(f"{v:.4f}" for v in row) for row in values]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.slow  # ~15 s, most of it inferring 100,000 column roles (labsight.data.roles)
def test_a_100000_column_file_reads_with_its_shape_and_values(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    names = [f"ch{i:06d}" for i in range(100_000)]
    values = rng.normal(size=(3, 100_000))
    path = _write(tmp_path / "array.csv", names, values)
    assert len(names[0]) * len(names) > 256 * 1024
    table = read_table(path)
    assert table.frame.shape == (3, 100_000)
    assert table.frame.columns == names
    assert table.frame["ch099999"].to_list() == pytest.approx(values[:, -1].round(4).tolist())
    assert table.frame.row(1)[:3] == pytest.approx(values[1, :3].round(4).tolist())
    assert table.source is not None
    assert table.source.header_line == 1


def test_a_header_of_1000_long_names_ingests(tmp_path: Path) -> None:
    names = [f"detector {i:04d} " + "x" * 280 + " [mV]" for i in range(1_000)]
    assert len(",".join(names)) > 256 * 1024
    values = np.arange(5_000, dtype=float).reshape(5, 1_000) / 8
    path = _write(tmp_path / "detectors.csv", names, values)
    with labsight.Workspace(tmp_path / "home", user="tester") as ws:
        ds = ws.ingest(path, name="detectors")
        assert ds.rows == 5
        assert [c.name for c in ds.columns] == names
        assert {c.unit for c in ds.columns} == {"mV"}
        frame = ds.to_polars()
    assert frame.shape == (5, 1_000)
    assert frame[names[999]].to_list() == values[:, 999].tolist()


def test_a_wide_header_above_a_preamble_in_a_file_read_from_disk(tmp_path: Path) -> None:
    # Over 16 MB the file is not held in memory; the sniffer reads longer prefixes from disk.
    names = [f"wavenumber_{i:05d}_" + "n" * 140 for i in range(2_000)]
    rng = np.random.default_rng(5)
    values = rng.random((1_300, 2_000))
    path = tmp_path / "spectra.csv"
    _write(path, names, values)
    path.write_bytes(b"Instrument: FTIR-7\nOperator: J. Doe\n" + path.read_bytes())
    assert path.stat().st_size > 16 * 1024 * 1024
    table = read_table(path)
    assert table.frame.shape == (1_300, 2_000)
    assert table.frame.columns == names
    assert table.frame[names[1_234]][1_299] == pytest.approx(round(values[1_299, 1_234], 4))
    assert table.source is not None
    assert table.source.preamble == {"Instrument": "FTIR-7", "Operator": "J. Doe"}
    assert table.source.header_line == 3


def test_many_repeated_header_names_are_numbered_in_linear_time() -> None:
    """20,000 columns all named 'x' (each repeat once rescanned every suffix: 81 s)."""
    import time

    from labsight.data.ingest._text import unique_names

    start = time.perf_counter()
    names, renamed = unique_names(["x"] * 20_000 + ["x_3"])
    assert time.perf_counter() - start < 2
    assert names[:3] == ["x", "x_2", "x_3"]
    assert names[-1] == "x_3_2"  # a later 'x_3' of the file's own never collides
    assert len(set(names)) == len(names) == 20_001
    assert len(renamed) == 20_000
