"""Checking that every record of a delimited text has the header's number of fields, in bounded memory.

Polars fills a record with too few fields with nulls, and a quoted field that holds the delimiter
(``1.5,"2,5",3.5``) fools a plain count of delimiters. :func:`first_ragged` reads the text in blocks
of whole lines: lines without a quote are counted with numpy; from the first line with a quote on,
the block's records are parsed with :mod:`csv`, as the exact scan of small files does, until the
block ends on a record boundary (a quoted field may run on into the next block). Memory stays at a
few blocks whatever the file's size, and the first bad record is named by its physical line.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator

import numpy as np

__all__ = ["first_ragged"]

_BLOCK = 4 * 1024 * 1024
_NEWLINE, _CR, _QUOTE = ord("\n"), ord("\r"), ord('"')


def first_ragged(
    source: bytes | str | os.PathLike[str],
    *,
    sep: str,
    n_fields: int,
    skip: int,
    block: int = _BLOCK,
) -> tuple[int, int] | None:
    """The first record, below the first ``skip`` physical lines, whose field count is not
    ``n_fields``: its 1-based line and its field count; ``None`` when every record has them all.

    ``source`` is UTF-8 text in memory or in a file, read ``block`` bytes at a time; blank lines
    are not records.
    """
    lines = _Lines(source, block)
    sep_byte = ord(sep)
    line_no = 0  # 0-based physical line the block starts on
    while text := lines.block():
        arr = np.frombuffer(text, np.uint8)
        ends = np.flatnonzero(arr == _NEWLINE)
        if text[-1] != _NEWLINE:  # the last line of the text, without a line end
            ends = np.append(ends, len(text))
        starts = np.concatenate(([0], ends[:-1] + 1))
        numbers = line_no + np.arange(ends.size)
        # Delimiters (and quotes) per line: where their positions fall between the line ends.
        fields = np.diff(np.searchsorted(np.flatnonzero(arr == sep_byte), ends), prepend=0) + 1
        quote_pos = np.flatnonzero(arr == _QUOTE)
        quoted = np.diff(np.searchsorted(quote_pos, ends), prepend=0) > 0
        length = ends - starts  # without the newline; a lone "\r" counts as blank
        blank = (length == 0) | ((length == 1) & (arr[np.maximum(ends - 1, 0)] == _CR))
        checked = numbers >= skip
        quoted_rows = np.flatnonzero(quoted & checked)
        plain_until = int(quoted_rows[0]) if quoted_rows.size else ends.size
        bad = np.flatnonzero(((fields != n_fields) & ~blank & checked)[:plain_until])
        if bad.size:
            return int(numbers[bad[0]]) + 1, int(fields[bad[0]])
        if plain_until == ends.size:
            line_no += ends.size
            continue
        rest = text[int(starts[plain_until]) :].split(b"\n")
        if not rest[-1]:
            rest.pop()
        feed = _Feed([line + b"\n" for line in rest], lines)
        try:
            found, consumed = _first_ragged_records(feed, sep, n_fields, line_no + plain_until)
        except csv.Error:  # a field over csv's size limit: leave the rest to polars
            return None
        if found is not None:
            return found
        line_no += plain_until + consumed
    return None


def _first_ragged_records(
    feed: _Feed, sep: str, n_fields: int, first_line: int
) -> tuple[tuple[int, int] | None, int]:
    """Parse records from ``feed`` until it has handed over its block's lines and a record ends
    there; the first bad record (line, fields) or ``None``, and the physical lines consumed."""
    reader = csv.reader(feed, delimiter=sep, strict=False)
    before = 0  # lines consumed before the current record
    for record in reader:
        blank = not record or (len(record) == 1 and not record[0].strip())
        if not blank and len(record) != n_fields:
            return (first_line + before + 1, len(record)), reader.line_num
        before = reader.line_num
        if feed.done:
            break
    return None, reader.line_num


class _Lines:
    """A text read as blocks of whole lines, or line by line where a record runs past a block."""

    def __init__(self, source: bytes | str | os.PathLike[str], block: int) -> None:
        self._chunks = _chunks(source, block)
        self._rest = b""  # read but not handed out: the start of the next line

    def block(self) -> bytes:
        """The next lines (a few MB; one line when it is longer), ``b""`` at the end."""
        parts = [self._rest]
        while chunk := next(self._chunks, b""):
            cut = chunk.rfind(b"\n")
            if cut >= 0:
                parts.append(chunk[: cut + 1])
                self._rest = chunk[cut + 1 :]
                return b"".join(parts)
            parts.append(chunk)
        self._rest = b""
        return b"".join(parts)

    def line(self) -> bytes:
        """The next physical line with its line end, ``b""`` at the end."""
        parts: list[bytes] = []
        rest = self._rest
        while (cut := rest.find(b"\n")) < 0:
            parts.append(rest)
            rest = next(self._chunks, b"")
            if not rest:
                self._rest = b""
                return b"".join(parts)
        parts.append(rest[: cut + 1])
        self._rest = rest[cut + 1 :]
        return b"".join(parts)


class _Feed(Iterator[str]):
    """Lines for :mod:`csv`: a block's lines, then more from the text while a record runs on."""

    def __init__(self, pending: list[bytes], lines: _Lines) -> None:
        self._pending = pending
        self._next = 0
        self._lines = lines

    @property
    def done(self) -> bool:
        """Whether every line of the block has been handed over."""
        return self._next >= len(self._pending)

    def __next__(self) -> str:
        if self._next < len(self._pending):
            line = self._pending[self._next]
            self._next += 1
        elif not (line := self._lines.line()):
            raise StopIteration
        return line.decode("utf-8", errors="replace")


def _chunks(source: bytes | str | os.PathLike[str], block: int) -> Iterator[bytes]:
    if isinstance(source, bytes):
        for start in range(0, len(source), block):
            yield source[start : start + block]
        return
    with open(source, "rb") as handle:
        while chunk := handle.read(block):
            yield chunk
