"""JSON lines (.jsonl, .ndjson): one JSON object per line.

A file that holds one JSON object and nothing else (a settings or metadata file, on one line or
pretty-printed over many) is not a table and is refused; only a ``.jsonl`` / ``.ndjson`` file of
one line is read, as a table of one row.
"""

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
    _refuse_single_object(data, raw)
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


def _refuse_single_object(data: bytes, raw: RawSource) -> None:
    """Refuse a file whose whole content is one JSON object: a document, not rows of a table."""
    text = data.strip()
    if not text.startswith(b"{"):
        return
    first, newline, rest = text.partition(b"\n")
    if not newline and raw.name.endswith((".jsonl", ".ndjson")):
        return  # a JSON-lines table of one row
    try:
        if newline and rest.strip() and isinstance(json.loads(first), dict):
            return  # the first line is a whole object and more follow: JSON lines
    except ValueError:
        pass  # an object spread over lines (pretty-printed)
    try:
        value = json.loads(text)
    except ValueError:
        return
    if not isinstance(value, dict):
        return
    keys = [repr(k if len(k) <= 40 else k[:39] + "…") for k in list(value)[:5]]
    shown = ", ".join(keys) + (" …" if len(value) > 5 else "")
    raise DataFormatError(
        "the file holds no table: it is a single JSON object"
        + (f" (keys {shown})" if keys else "")
        + ", such as a settings or metadata file",
        path=raw.display,
        expected='a table: JSON lines with one object per row, like {"a": 1, "b": "x"}',
        hint="Export the table itself (JSON lines, CSV, Excel or Parquet)",
    )


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
