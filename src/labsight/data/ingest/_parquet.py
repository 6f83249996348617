"""Parquet files through polars.

A Parquet file is compressed inside, column chunk by column chunk, and its values may be
dictionary- and run-length-encoded, so a small file can stand for a table of gigabytes. Its footer
says how large each column chunk is uncompressed and how many values it holds: both are held to
the decompression limit before the file is read, and the size of the table read is held to it
again (a dictionary of long strings repeated on every row shows only then).
"""

from __future__ import annotations

import io

import polars as pl

from labsight.config import MAX_EXPANDED_BYTES_ENV, format_size
from labsight.data.ingest._registry import RawSource, over_limit
from labsight.data.table import SourceInfo
from labsight.exceptions import DataFormatError

__all__ = ["read_parquet"]

# The least memory one value of each physical type takes in a polars frame, in bits (a boolean is
# one bit; a string or binary value a 16-byte view besides its bytes).
_VALUE_BITS = {
    "BOOLEAN": 1,
    "INT32": 32,
    "INT64": 64,
    "INT96": 64,  # read as a 64-bit timestamp
    "FLOAT": 32,
    "DOUBLE": 64,
    "BYTE_ARRAY": 128,
}


def read_parquet(raw: RawSource) -> tuple[pl.DataFrame, SourceInfo]:
    """Read a Parquet file; see :func:`labsight.data.ingest.read_table`."""
    _check_unpacked_size(raw)
    source: object = io.BytesIO(raw.content) if raw.content is not None else raw.path
    try:
        frame = pl.read_parquet(source)  # type: ignore[arg-type]
    except Exception as exc:  # polars and pyarrow errors, OSError on truncation
        raise DataFormatError(
            f"is not a readable Parquet file ({str(exc).splitlines()[0]})",
            path=raw.display,
            hint="The file may be truncated or corrupt; write it again.",
        ) from exc
    _check_size(int(frame.estimated_size()), raw)
    info = SourceInfo(
        path=raw.display,
        format="parquet",
        sha256=raw.sha256,
        size=raw.size,
        compression=raw.compression,
    )
    return frame, info


def _check_unpacked_size(raw: RawSource) -> None:
    """Refuse a file whose footer says it unpacks to more than the decompression limit: its
    column chunks' uncompressed sizes, or the memory their values take at the least."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    source = pa.BufferReader(raw.content) if raw.content is not None else str(raw.path)
    try:
        meta = pq.ParquetFile(source).metadata
        widths = []
        for index in range(meta.num_columns):
            column = meta.schema.column(index)
            kind = column.physical_type
            bits = 8 * column.length if kind == "FIXED_LEN_BYTE_ARRAY" else _VALUE_BITS.get(kind, 0)
            widths.append(max(0, bits))
        uncompressed = 0
        values_bits = 0
        for group_index in range(meta.num_row_groups):
            group = meta.row_group(group_index)
            for index in range(group.num_columns):
                chunk = group.column(index)
                uncompressed += max(0, chunk.total_uncompressed_size)
                values_bits += max(0, chunk.num_values) * widths[index]
    except Exception as exc:  # pyarrow's errors, OSError on truncation, a footer that disagrees
        raise DataFormatError(
            f"is not a readable Parquet file ({(str(exc).splitlines() or [type(exc).__name__])[0]})",
            path=raw.display,
            hint="The file may be truncated or corrupt; write it again.",
        ) from exc
    _check_size(max(uncompressed, values_bits // 8), raw)


def _check_size(size: int, raw: RawSource) -> None:
    if size > raw.max_expanded_bytes:
        raise over_limit(
            raw.display,
            f"the Parquet file unpacks to {format_size(size)}, more than the "
            f"{format_size(raw.max_expanded_bytes)} limit on decompressed input",
            MAX_EXPANDED_BYTES_ENV,
            "max_expanded_bytes",
            size,
        )
