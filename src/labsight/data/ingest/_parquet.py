"""Parquet files through polars."""

from __future__ import annotations

import io

import polars as pl

from labsight.data.ingest._registry import RawSource
from labsight.data.table import SourceInfo
from labsight.exceptions import DataFormatError

__all__ = ["read_parquet"]


def read_parquet(raw: RawSource) -> tuple[pl.DataFrame, SourceInfo]:
    """Read a Parquet file; see :func:`labsight.data.ingest.read_table`."""
    source: object = io.BytesIO(raw.content) if raw.content is not None else raw.path
    try:
        frame = pl.read_parquet(source)  # type: ignore[arg-type]
    except Exception as exc:  # polars and pyarrow errors, OSError on truncation
        raise DataFormatError(
            f"is not a readable Parquet file ({str(exc).splitlines()[0]})",
            path=raw.display,
            hint="The file may be truncated or corrupt; write it again.",
        ) from exc
    info = SourceInfo(
        path=raw.display,
        format="parquet",
        sha256=raw.sha256,
        size=raw.size,
        compression=raw.compression,
    )
    return frame, info
