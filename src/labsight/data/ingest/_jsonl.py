"""JSON lines (.jsonl, .ndjson): one JSON object per line."""

from __future__ import annotations

import io
import json

import polars as pl

from labsight.data.ingest._registry import RawSource
from labsight.data.table import SourceInfo
from labsight.exceptions import DataFormatError

__all__ = ["read_jsonl"]


def read_jsonl(raw: RawSource) -> tuple[pl.DataFrame, SourceInfo, list[int] | None]:
    """Read a JSON-lines file; see :func:`labsight.data.ingest.read_table`.

    Returns the frame, its source information and the line of each row (blank lines skipped).
    """
    data = raw.read_all()
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        frame = pl.read_ndjson(io.BytesIO(data), infer_schema_length=10_000)
    except Exception as exc:
        line, detail = _first_bad_line(data)
        raise DataFormatError(
            f"is not valid JSON lines ({detail or str(exc).splitlines()[0]})",
            path=raw.display,
            line=line,
            hint='Each line must be one JSON object, like {"a": 1, "b": "x"}.',
        ) from exc
    lines = [i for i, text in enumerate(data.split(b"\n"), start=1) if text.strip()]
    info = SourceInfo(
        path=raw.display,
        format="jsonl",
        sha256=raw.sha256,
        size=raw.size,
        encoding="utf-8",
        compression=raw.compression,
    )
    return frame, info, lines if len(lines) == frame.height else None


def _first_bad_line(data: bytes) -> tuple[int | None, str | None]:
    for number, text in enumerate(data.split(b"\n"), start=1):
        if not text.strip():
            continue
        try:
            value = json.loads(text)
        except ValueError as exc:
            return number, str(exc)
        if not isinstance(value, dict):
            return number, f"a {type(value).__name__} where a JSON object was expected"
    return None, None
