"""Tables as Parquet artifacts: written once, named by the hash of their bytes, checked on load."""

from __future__ import annotations

import io

import polars as pl

from labsight.store.artifacts import ArtifactStore

__all__ = ["read_frame", "write_frame"]


def write_frame(store: ArtifactStore, frame: pl.DataFrame) -> str:
    """Write ``frame`` as Parquet into the store; returns the file's sha256.

    The same frame gives the same bytes (fixed compression, one row group per 512k rows), so the same
    data stored twice shares one file.
    """
    with store.staging(".parquet") as tmp:
        frame.write_parquet(tmp, compression="zstd", compression_level=3, row_group_size=524_288)
        return store.commit(tmp)


def read_frame(store: ArtifactStore, key: str) -> pl.DataFrame:
    """Load a stored frame after checking its hash."""
    return pl.read_parquet(io.BytesIO(store.get_bytes(key)))
