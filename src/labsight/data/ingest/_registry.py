"""Opening a source file once (size limit, hash, gzip, UTF-8 check) and choosing its reader.

The format comes from magic bytes first (zip → Excel, ``PAR1`` → Parquet, gzip → look inside),
then from the extension, then from whether the content looks like text. A file over the size limit
is refused before it is read; gzip content is decompressed in chunks and refused as soon as it
passes its own limit, so a small file that expands to gigabytes never fills memory.
"""

from __future__ import annotations

import codecs
import gzip
import hashlib
import io
import os
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from labsight.config import (
    DEFAULT_MAX_EXPANDED_BYTES,
    MAX_EXPANDED_BYTES_ENV,
    MAX_FILE_BYTES_ENV,
    format_size,
    size_limit,
)
from labsight.data.ingest._sniff import GZIP_MAGIC, SAMPLE_BYTES, looks_binary
from labsight.exceptions import DataFormatError, NotFoundError

__all__ = ["SUPPORTED_FORMATS", "RawSource", "detect_format", "open_source", "over_limit"]

SUPPORTED_FORMATS: dict[str, tuple[str, ...]] = {
    "csv": (".csv", ".tsv", ".txt", ".dat", ".tab"),
    "excel": (".xlsx", ".xlsm", ".xls"),
    "parquet": (".parquet", ".pq"),
    "jsonl": (".jsonl", ".ndjson"),
}
"""Formats ``read_table`` reads, with the extensions that name them (any of them may be gzipped)."""

_EXTENSIONS = {ext: fmt for fmt, exts in SUPPORTED_FORMATS.items() for ext in exts}
_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_PARQUET_MAGIC = b"PAR1"
_CHUNK = 1 << 20
# Files up to this size are read into memory whole: cheap, and lets us map rows to lines exactly.
SMALL_BYTES = 16 * 1024 * 1024


@dataclass
class RawSource:
    """A file opened for reading: where it is, what its bytes hash to, and its content when held."""

    path: Path
    display: str  # the path as the caller gave it, used in messages
    size: int
    sha256: str
    compression: str | None
    head: bytes  # the first SAMPLE_BYTES of the (decompressed) content
    content: bytes | None  # the whole (decompressed) content, when it is held in memory
    is_utf8: bool  # whether the whole content decodes as UTF-8
    # the limit on decompressed size, for readers that decompress inside the file (Excel)
    max_expanded_bytes: int = DEFAULT_MAX_EXPANDED_BYTES

    @property
    def name(self) -> str:
        """The file name without compression suffix, for extension checks."""
        name = self.path.name.lower()
        return name[:-3] if self.compression == "gzip" and name.endswith(".gz") else name

    def read_all(self) -> bytes:
        """The whole content, reading it from disk if it is not held yet."""
        if self.content is None:
            self.content = self.path.read_bytes()
        return self.content


def open_source(
    path: str | os.PathLike[str],
    *,
    max_file_bytes: int | None = None,
    max_expanded_bytes: int | None = None,
) -> RawSource:
    """Check that ``path`` is a non-empty file, hash it, and decompress it if it is gzipped.

    ``max_file_bytes`` and ``max_expanded_bytes`` bound the file's size on disk and the size of
    its decompressed content (``None``: the settings ``LABSIGHT_MAX_FILE_BYTES`` and
    ``LABSIGHT_MAX_EXPANDED_BYTES``, see :class:`labsight.config.Settings`).

    Raises
    ------
    NotFoundError
        When nothing exists at ``path``.
    DataFormatError
        When ``path`` is a directory, empty, over a size limit, or a truncated/corrupt gzip file.
    """
    if max_file_bytes is None:
        max_file_bytes = size_limit(MAX_FILE_BYTES_ENV)
    if max_expanded_bytes is None:
        max_expanded_bytes = size_limit(MAX_EXPANDED_BYTES_ENV)
    display = os.fspath(path)
    file = Path(display)
    if not file.exists():
        raise NotFoundError(
            "no such file",
            path=display,
            hint="Check the path (relative paths start from the current folder).",
        )
    if file.is_dir():
        raise DataFormatError(
            "is a directory, not a file", path=display, hint="Point at one file inside it."
        )
    size = file.stat().st_size
    if size == 0:
        raise DataFormatError(
            "the file is empty (0 bytes)",
            path=display,
            hint="Export the table again; the file may not have been written completely.",
        )
    if size > max_file_bytes:
        raise over_limit(
            display,
            f"the file is {format_size(size)}, more than the {format_size(max_file_bytes)} limit "
            "on input files",
            MAX_FILE_BYTES_ENV,
            "max_file_bytes",
            size,
        )
    digest = hashlib.sha256()
    utf8 = _Utf8Check()
    chunks: list[bytes] = []
    keep = size <= SMALL_BYTES
    with file.open("rb") as handle:
        head = handle.read(SAMPLE_BYTES)
        chunk = head
        while chunk:
            digest.update(chunk)
            if keep:
                chunks.append(chunk)
            utf8.feed(chunk)
            chunk = handle.read(_CHUNK)
    is_utf8 = utf8.done()
    content = b"".join(chunks) if keep else None
    compression = None
    if head.startswith(GZIP_MAGIC):
        compression = "gzip"
        with io.BytesIO(content) if content is not None else file.open("rb") as compressed:
            content, is_utf8 = _gunzip(compressed, display, max_expanded_bytes)
        head = content[:SAMPLE_BYTES]
        if not content:
            raise DataFormatError(
                "the gzip file holds no data", path=display, hint="Compress the table again."
            )
    return RawSource(
        file,
        display,
        size,
        digest.hexdigest(),
        compression,
        head,
        content,
        is_utf8,
        max_expanded_bytes,
    )


class _Utf8Check:
    """Whether a stream of chunks is UTF-8, checked as the chunks go by."""

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")()
        self.ok = True

    def feed(self, chunk: bytes) -> None:
        if self.ok and not chunk.isascii():
            try:
                self._decoder.decode(chunk)
            except UnicodeDecodeError:
                self.ok = False

    def done(self) -> bool:
        if self.ok:
            try:
                self._decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                self.ok = False
        return self.ok


def _gunzip(compressed: BinaryIO, display: str, limit: int) -> tuple[bytes, bool]:
    """The decompressed content and whether it is UTF-8, decompressed a chunk at a time and
    refused as soon as it passes ``limit`` bytes."""
    chunks: list[bytes] = []
    total = 0
    utf8 = _Utf8Check()
    try:
        with gzip.GzipFile(fileobj=compressed) as stream:
            while chunk := stream.read(_CHUNK):
                total += len(chunk)
                if total > limit:
                    raise over_limit(
                        display,
                        f"the gzip file decompresses to more than {format_size(limit)}, the limit "
                        "on decompressed input; reading stopped there",
                        MAX_EXPANDED_BYTES_ENV,
                        "max_expanded_bytes",
                        limit * 4,
                    )
                chunks.append(chunk)
                utf8.feed(chunk)
    except (EOFError, OSError, zlib.error) as exc:
        raise DataFormatError(
            f"the gzip file is truncated or corrupt ({exc})",
            path=display,
            hint="Download or compress the file again.",
        ) from exc
    return b"".join(chunks), utf8.done()


def over_limit(
    display: str, message: str, setting: str, keyword: str, needed: int
) -> DataFormatError:
    """The error for input over a size limit: what the limit is, and how to raise it (to a round
    size of at least ``needed`` bytes)."""
    unit = next(1024**p for p in (4, 3, 2, 1, 0) if needed >= 1024**p)
    larger = format_size(-(-needed // unit) * unit).replace(" ", "")
    return DataFormatError(
        message,
        path=display,
        hint=f"To read it anyway, set {setting}={larger} in the environment "
        f"(or pass {keyword}= to read_table).",
    )


def detect_format(path: str | os.PathLike[str]) -> str:
    """Name the format ``read_table`` would use for ``path``.

    Parameters
    ----------
    path
        A file.

    Returns
    -------
    str
        One of the keys of :data:`SUPPORTED_FORMATS`: ``"csv"``, ``"excel"``, ``"parquet"``,
        ``"jsonl"``.

    Raises
    ------
    DataFormatError
        When the file is binary but of no supported format.
    """
    return format_of(open_source(path))


def format_of(source: RawSource) -> str:
    """The format of an opened source; see :func:`detect_format`."""
    head = source.head
    ext = Path(source.name).suffix
    by_ext = _EXTENSIONS.get(ext)
    if head.startswith((_ZIP_MAGIC, _OLE_MAGIC)) and by_ext in (None, "excel"):
        return "excel"
    if head.startswith(_PARQUET_MAGIC):
        return "parquet"
    if by_ext in ("csv", "jsonl") and looks_binary(head):
        raise DataFormatError(
            f"is binary (an image, archive or program?), not a {by_ext.upper()} text file",
            path=source.display,
            hint="Check that this is the exported table; export it again as CSV if needed.",
        )
    if by_ext is not None:
        return by_ext
    if looks_binary(head):
        known = ", ".join(sorted(_EXTENSIONS))
        raise DataFormatError(
            "is not a table labsight can read: the content is binary and the extension "
            f"{ext or '(none)'!r} is not a supported format",
            path=source.display,
            expected=f"one of {known}",
            hint="Export the data as CSV, Excel, Parquet or JSON lines.",
        )
    head_text = head.lstrip()
    if head_text.startswith(b"{"):
        return "jsonl"
    return "csv"
