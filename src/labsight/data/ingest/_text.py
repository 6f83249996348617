"""Delimited text: CSV, TSV, TXT, DAT, in any of the encodings and layouts lab instruments write.

The file is sniffed on a sample (encoding, delimiter, preamble, decimal comma); polars then reads it
with inferred types, straight from disk when the file is plain UTF-8. A column polars cannot parse is
read again as String and typed by :mod:`labsight.data.ingest._types`. Every record must have the
header's number of fields: small files are scanned exactly in memory, large ones streamed through
:mod:`labsight.data.ingest._fields`. Row → line numbers are computed exactly for small files and on
demand for large ones.
"""

from __future__ import annotations

import csv
import functools
import io
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import polars.selectors as cs

from labsight.data.ingest._fields import first_ragged
from labsight.data.ingest._registry import SMALL_BYTES, RawSource
from labsight.data.ingest._sniff import SAMPLE_BYTES, Dialect, decide_encoding, sniff_sample
from labsight.data.table import SourceInfo
from labsight.exceptions import DataFormatError

__all__ = ["TextRead", "read_text"]

_PARSE_ERROR = re.compile(r"at column '.*?' \(column number (\d+)\)", re.DOTALL)
_RAGGED_HINT = "Fix the row or quote the field that contains the delimiter."
_MAX_RETRIES = 4
# Row → line maps are kept for files with at most this many rows.
MAX_ROW_LINES = 200_000


@dataclass
class TextRead:
    """A text file read into a frame (still untyped where polars could not type it)."""

    frame: pl.DataFrame
    source: SourceInfo
    row_lines: list[int] | None
    line_of: Callable[[list[int]], list[int | None]]
    renamed: list[tuple[str, str]]
    headerless: bool = False  # the first line held data; columns were named column_1 …


def read_text(
    raw: RawSource,
    *,
    null_values: Sequence[str],
    delimiter: str | None,
    encoding: str | None,
    decimal_comma: bool | None,
) -> TextRead:
    """Read a delimited text file; see :func:`labsight.data.ingest.read_table`."""
    content = raw.content
    enc = encoding or decide_encoding(raw.head, raw.is_utf8, content)
    if enc.lower().replace("_", "-") in ("utf-8", "utf8", "utf-8-sig") and encoding is None:
        body: bytes | None = content  # polars reads UTF-8 (with or without BOM) as it is
    else:
        body = _transcode(raw.read_all(), enc, raw.display)
    head = (body if body is not None else raw.head)[:SAMPLE_BYTES]
    if b"\r" in head and b"\n" not in head:  # old Mac line ends
        body = (body if body is not None else raw.read_all()).replace(b"\r", b"\n")
    whitespace_ok = raw.name.endswith((".txt", ".dat")) or delimiter in (" ", "whitespace")
    sample, dialect = sniff_sample(
        functools.partial(_prefix, body, raw),
        len(body) if body is not None else raw.size,
        delimiter=None if delimiter in (None, " ", "whitespace") else delimiter,
        whitespace_ok=whitespace_ok,
    )
    if not sample.strip():
        raise DataFormatError(
            "the file holds only whitespace, no table",
            path=raw.display,
            hint="Export the table again.",
        )
    if dialect is None:
        asked = None if delimiter in (None, " ", "whitespace") else delimiter
        broken = _first_break(sample, asked)
        if broken is not None:  # a table with a row that breaks it: name the row
            _Locator._ragged(raw.display, *broken)
        raise DataFormatError(
            "does not look like a table: no delimiter (',', ';', tab, '|') splits its lines into "
            "a consistent number of fields",
            path=raw.display,
            hint="Check that this is the exported table, or pass --delimiter.",
        )
    if dialect.delimiter == " ":
        text = (body if body is not None else raw.read_all()).decode("utf-8", errors="replace")
        body = "\n".join("\t".join(line.split()) for line in text.split("\n")).encode("utf-8")
    sep = {"": "\x1f", " ": "\t"}.get(dialect.delimiter, dialect.delimiter)
    if dialect.trailing_delimiter:
        data = body if body is not None else raw.read_all()
        body = re.sub(re.escape(sep).encode() + rb"[ \t]*(\r?)$", rb"\1", data, flags=re.M)
    use_comma = dialect.decimal_comma if decimal_comma is None else decimal_comma
    names, renamed = unique_names(dialect.header)
    read = functools.partial(
        _read_polars,
        display=raw.display,
        sep=sep,
        skip_lines=dialect.header_index,
        null_values=null_values,
        decimal_comma=use_comma and sep != ",",
        dialect=dialect,
    )
    frame = read(body if body is not None else raw.path, names=names)
    headerless = _looks_headerless(dialect.header, frame)
    if headerless:
        # Read again below a header line of our own; line numbers shift back by that one line.
        names, renamed = [f"column_{i}" for i in range(1, len(names) + 1)], []
        data = body if body is not None else raw.read_all()
        body = _insert_line(data, dialect.header_index, sep.join(names).encode())
        frame = read(body, names=names)
    source = SourceInfo(
        path=raw.display,
        format="csv",
        sha256=raw.sha256,
        size=raw.size,
        encoding=_encoding_name(enc),
        delimiter=dialect.delimiter or None,
        decimal_comma=bool(use_comma),
        compression=raw.compression,
        header_line=None if headerless else dialect.header_index + 1,
        preamble=dialect.preamble,
    )
    locator = _Locator(raw.display, raw, body, sep, dialect, offset=1 if headerless else 0)
    row_lines: list[int] | None = None
    scanned = False
    if body is not None and len(body) <= SMALL_BYTES:
        lines, blanks = locator.scan(check=len(names))
        if frame.height == len(lines) + len(blanks):
            scanned = True
            if blanks:
                frame = frame[[i for i in range(frame.height) if i not in blanks]]
            row_lines = lines if len(lines) <= MAX_ROW_LINES else None
            locator.cached = lines
    if not scanned and len(names) > 1 and sep != "\x1f":
        locator.check_fields(body if body is not None else raw.path, len(names))
    if not scanned and frame.height and frame.width:
        empty = pl.all_horizontal(pl.all().is_null())
        if frame.select(empty.any()).item():
            frame = frame.filter(~empty)
    return TextRead(frame, source, row_lines, locator.lines, renamed, headerless)


def _prefix(body: bytes | None, raw: RawSource, size: int) -> bytes:
    """The first ``size`` bytes of the text: of ``body`` when it is in memory, else of the file."""
    if body is not None:
        return body[:size]
    if size <= len(raw.head):
        return raw.head[:size]
    with raw.path.open("rb") as handle:
        return handle.read(size)


def _looks_headerless(header: Sequence[str], frame: pl.DataFrame) -> bool:
    """True when the "header" is a data row: all numbers, most of them inside their column's range.

    Spectra have numeric headers too (wavenumbers), but those lie far outside the absorbances below
    them; a headerless export's first row lies among the other rows.
    """
    if frame.height < 2 or len(header) != frame.width:
        return False
    try:
        values = [float(h) for h in header]
    except ValueError:
        return False
    # One pass over the whole frame (a spectrum may have 100,000 columns): a column with a bad cell
    # or two is still numbers, so text columns count once cast.
    numbers = frame.select(
        cs.numeric(), cs.string().str.strip_chars().cast(pl.Float64, strict=False)
    ).cast(pl.Float64)
    lows = numbers.min().row(0, named=True)
    highs = numbers.max().row(0, named=True)
    inside = 0
    for name, value in zip(frame.columns, values, strict=True):
        low, high = lows.get(name), highs.get(name)
        if low is None or high is None:  # not numbers, or every cell missing
            continue
        margin = 0.25 * (high - low)
        inside += low - margin <= value <= high + margin
    return inside > 0.5 * len(values)


def _insert_line(data: bytes, index: int, line: bytes) -> bytes:
    """``data`` with ``line`` inserted before its 0-based line ``index``."""
    pos = 0
    for _ in range(index):
        pos = data.index(b"\n", pos) + 1
    return data[:pos] + line + b"\n" + data[pos:]


def unique_names(header: Sequence[str]) -> tuple[list[str], list[tuple[str, str]]]:
    """Make header names unique and non-blank: ``col, col`` → ``col, col_2``; blank → ``column_3``."""
    names: list[str] = []
    renamed: list[tuple[str, str]] = []
    seen: set[str] = set()
    last: dict[str, int] = {}  # the suffix each base reached: repeats cost one step, not a rescan
    for index, original in enumerate(header, start=1):
        name = original.strip() or f"column_{index}"
        base, k = name, last.get(name, 1)
        while name in seen:
            k += 1
            name = f"{base}_{k}"
        last[base] = k
        seen.add(name)
        names.append(name)
        if name != original:
            renamed.append((original, name))
    return names, renamed


def _encoding_name(enc: str) -> str:
    return {"utf-8-sig": "utf-8-sig", "utf8": "utf-8"}.get(enc.lower(), enc.lower())


def _transcode(data: bytes, enc: str, display: str) -> bytes:
    try:
        text = data.decode(enc)
    except (UnicodeDecodeError, LookupError) as exc:
        raise DataFormatError(
            f"cannot be decoded as {enc} ({exc})",
            path=display,
            hint="Pass the right --encoding (e.g. utf-8, cp1252, latin-1, utf-16).",
        ) from exc
    return text.lstrip("\ufeff").encode("utf-8")


def _read_polars(
    source: bytes | object,
    display: str,
    *,
    sep: str,
    skip_lines: int,
    names: list[str],
    null_values: Sequence[str],
    decimal_comma: bool,
    dialect: Dialect,
) -> pl.DataFrame:
    overrides: dict[str, type[pl.DataType] | pl.DataType] = {}
    for _ in range(_MAX_RETRIES + 1):
        try:
            return pl.read_csv(
                source,  # type: ignore[arg-type]
                separator=sep,
                skip_lines=skip_lines,
                has_header=True,
                new_columns=names,
                schema_overrides=overrides or None,
                null_values=list(null_values),
                decimal_comma=decimal_comma,
                infer_schema_length=10_000,
                try_parse_dates=True,
                raise_if_empty=False,
                quote_char='"',
            )
        except pl.exceptions.PolarsError as exc:
            message = str(exc)
            match = _PARSE_ERROR.search(message)
            if match and 0 < int(match.group(1)) <= len(names):
                overrides[names[int(match.group(1)) - 1]] = pl.String
                continue
            if "more fields" in message or "found more" in message:
                _raise_ragged(source, display, sep, dialect, len(names))
            if overrides and len(overrides) >= _MAX_RETRIES:
                break
            raise _unreadable(message, source, display) from exc
    # Many columns polars cannot type: read every column as text and type it ourselves.
    try:
        return pl.read_csv(
            source,  # type: ignore[arg-type]
            separator=sep,
            skip_lines=skip_lines,
            has_header=True,
            new_columns=names,
            infer_schema=False,
            null_values=list(null_values),
            raise_if_empty=False,
            quote_char='"',
        )
    except pl.exceptions.PolarsError as exc:
        raise _unreadable(str(exc), source, display) from exc


def _unreadable(message: str, source: object, display: str) -> DataFormatError:
    """The error for a text polars cannot read: the line of a quote never closed when there is
    one (polars names only the text it choked on), else polars' own words."""
    line = _open_quote_line(source)
    if line is not None:
        return DataFormatError(
            "a quote opened on this line is never closed",
            path=display,
            line=line,
            hint="Close the quote, or remove it: a field that holds the delimiter needs a quote "
            "at each end.",
        )
    return DataFormatError(
        f"cannot be read as a table ({message.splitlines()[0]})",
        path=display,
        hint="Check the delimiter and quoting, or pass --delimiter.",
    )


def _open_quote_line(source: object) -> int | None:
    """The 1-based line of a double quote that is never closed (each quote opens or closes; a
    doubled quote inside a field does both), or None when every quote closes."""
    data = source if isinstance(source, bytes) else Path(str(source)).read_bytes()
    opened: int | None = None
    for number, text in enumerate(data.split(b"\n"), start=1):
        for _ in range(text.count(b'"')):
            opened = None if opened is not None else number
    return opened


def _records(text: str, sep: str) -> Iterator[tuple[int, list[str]]]:
    """Each CSV record of ``text`` with the 1-based physical line it starts on (a quoted field
    may span lines)."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep, strict=False)
    previous = 0
    for record in reader:
        yield previous + 1, record
        previous = reader.line_num


def _first_break(sample: str, delimiter: str | None) -> tuple[int, int, int] | None:
    """Where a text that no delimiter splits consistently breaks as a table: ``(line, fields
    expected, fields found)`` for the first record, below the first one with the table's count
    of fields, that has another; None when it does not look like a table at all.

    The delimiter is the one asked for, else the candidate (',', ';', tab, '|') whose commonest
    count of fields (two or more) the most records share; the table's count is that commonest one.
    Unasked, it must be most records' count (prose with commas is not a broken table)."""
    from collections import Counter

    best: tuple[int, int, list[tuple[int, int]]] | None = None
    for sep in [delimiter] if delimiter else [",", ";", "\t", "|"]:
        try:  # (first physical line, fields) of each record that holds anything
            records = [
                (line, len(record))
                for line, record in _records(sample, sep)
                if any(field.strip() for field in record)
            ]
        except csv.Error:
            continue
        if not records:
            continue
        fields, hits = Counter(n for _, n in records).most_common(1)[0]
        if fields < 2 or (delimiter is None and 2 * hits <= len(records)):
            continue
        if best is None or hits > best[0]:
            best = (hits, fields, records)
    if best is None:
        return None
    _, fields, records = best
    start = next(i for i, (_, n) in enumerate(records) if n == fields)
    return next(((line, fields, n) for line, n in records[start + 1 :] if n != fields), None)


def _raise_ragged(source: object, display: str, sep: str, dialect: Dialect, n: int) -> None:
    data = source if isinstance(source, bytes) else None
    locator = _Locator(display, None, data, sep, dialect, path=None if data is not None else source)
    locator.check_fields(data if data is not None else Path(str(source)), n)
    raise DataFormatError(  # scan found nothing although polars did: say what polars said
        f"a row has more than the {n} fields of the header",
        path=display,
        hint=_RAGGED_HINT,
    )


class _Locator:
    """Maps 0-based data rows to 1-based physical file lines, scanning the text once when asked."""

    def __init__(
        self,
        display: str,
        raw: RawSource | None,
        body: bytes | None,
        sep: str,
        dialect: Dialect,
        path: object = None,
        offset: int = 0,
    ) -> None:
        self.display = display
        self.raw = raw
        self.body = body
        self.sep = sep
        self.dialect = dialect
        self.path = path
        self.cached: list[int] | None = None
        self.offset = offset  # lines we inserted above the data (a header of our own)

    def _text(self) -> str:
        if self.body is not None:
            data = self.body
        elif self.raw is not None:
            data = self.raw.read_all()
        else:
            with open(str(self.path), "rb") as handle:
                data = handle.read()
        return data.decode("utf-8", errors="replace").lstrip("\ufeff")

    def scan(self, check: int | None = None) -> tuple[list[int], set[int]]:
        """Lines of the data records and the indices of blank records (rows polars fills with nulls).

        With ``check``, a record with another number of fields raises the ragged-row error.
        """
        text = self._text()
        lines = text.split("\n")
        start = self.dialect.header_index
        display = self.display
        data_lines: list[int] = []
        blanks: set[int] = set()
        if '"' not in text and self.sep != "\x1f":
            # header is one physical line; each further line is one record
            for offset, line in enumerate(lines[start + 1 :], start=start + 2):
                if not line.strip("\r"):
                    if offset - 1 < len(lines) - 1 or line:
                        blanks.add(len(data_lines) + len(blanks))
                    continue
                if check is not None and check > 1:
                    count = line.count(self.sep) + 1
                    if count != check:
                        self._ragged(display, offset - self.offset, check, count)
                data_lines.append(offset)
            return [line - self.offset for line in data_lines], blanks
        first = True
        for number, record in _records("\n".join(lines[start:]), self.sep):
            first_line = start + number
            if first:
                first = False
                continue
            if not record or (len(record) == 1 and not record[0].strip()):
                blanks.add(len(data_lines) + len(blanks))
                continue
            if check is not None and check > 1 and len(record) != check:
                self._ragged(display, first_line - self.offset, check, len(record))
            data_lines.append(first_line)
        return [line - self.offset for line in data_lines], blanks

    def check_fields(self, source: bytes | Path, n: int) -> None:
        """Raise the ragged-row error for the first record without ``n`` fields, streaming the
        text (see :func:`~labsight.data.ingest._fields.first_ragged`)."""
        found = first_ragged(source, sep=self.sep, n_fields=n, skip=self.dialect.header_index + 1)
        if found is not None:
            self._ragged(self.display, found[0] - self.offset, n, found[1])

    @staticmethod
    def _ragged(display: str, line: int, expected: int, found: int) -> None:
        raise DataFormatError(
            f"expected {expected} fields, found {found}",
            path=display,
            line=line,
            hint=_RAGGED_HINT,
        )

    def lines(self, rows: list[int]) -> list[int | None]:
        if self.cached is None:
            self.cached, _ = self.scan()
        return [self.cached[r] if 0 <= r < len(self.cached) else None for r in rows]
