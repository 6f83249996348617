"""Excel workbooks (.xlsx, .xlsm, .xls) through fastexcel/calamine: one sheet per table.

An .xlsx is a zip: the unpacked sizes its directory declares are held to the decompression limit,
and since they may lie, its parts are unpacked a chunk at a time and counted before the workbook is
read; a part is refused as soon as it passes its declared size (a zip bomb). Formula cells whose
results were never saved (see :mod:`labsight.data.ingest._formulas`) are refused rather than read
as missing values.
"""

from __future__ import annotations

import io
import logging
import struct
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import PurePath

import fastexcel
import polars as pl

from labsight.config import MAX_EXPANDED_BYTES_ENV, format_size
from labsight.data.ingest._formulas import column_letters, unsaved_formulas
from labsight.data.ingest._registry import RawSource, over_limit
from labsight.data.ingest._text import unique_names
from labsight.data.table import SourceInfo
from labsight.exceptions import DataFormatError, NotFoundError

__all__ = ["ExcelRead", "read_excel"]

_HEADER_SCAN_ROWS = 50
_ZIP_MAGIC = b"PK\x03\x04"
# A zip member's local header: signature, versions, flags, method, time, date, CRC, sizes, and the
# lengths of the name and of the extra field that come before the member's data.
_LOCAL_HEADER = struct.Struct("<4s2B4HL2L2H")
_IN_CHUNK = 64 * 1024  # compressed bytes fed to the decompressor at a time
_OUT_CHUNK = 1024 * 1024  # the most it may give back from one call
# fastexcel logs a warning through Python's logging for each column it cannot type (a column of
# formulas without results, say); with logging not configured Python prints those on stderr. The
# reasons reach the user as errors and findings instead; an application that configures logging
# still receives the records.
logging.getLogger("fastexcel").addHandler(logging.NullHandler())


@dataclass
class ExcelRead:
    """A sheet read into a frame, with the sheet row of each data row and the workbook's sheets."""

    frame: pl.DataFrame
    source: SourceInfo
    row_lines: list[int]
    renamed: list[tuple[str, str]]
    sheets: list[str]


def read_excel(raw: RawSource, *, sheet: str | int | None) -> ExcelRead:
    """Read one sheet of a workbook; see :func:`labsight.data.ingest.read_table`."""
    data = raw.content if raw.content is not None else raw.path.read_bytes()
    is_zip = data.startswith(_ZIP_MAGIC)
    if is_zip:
        _check_unpacked_size(data, raw)
    try:
        reader = fastexcel.read_excel(data)
        names = list(reader.sheet_names)
    except Exception as exc:  # fastexcel raises its own tree, or pyo3 panics
        raise DataFormatError(
            f"is not a readable Excel workbook ({str(exc).splitlines()[0]})",
            path=raw.display,
            hint="Open it in Excel and save it again as .xlsx, or export the sheet as CSV.",
        ) from exc
    name = _pick_sheet(names, sheet, raw.display)
    try:
        grid_sheet = reader.load_sheet(name, header_row=None, n_rows=_HEADER_SCAN_ROWS)
        grid = grid_sheet.to_polars()
        header_row = _header_row(grid)
        table = reader.load_sheet(name, header_row=header_row)
        frame = table.to_polars()
    except Exception as exc:
        raise DataFormatError(
            f"sheet {name!r} cannot be read ({str(exc).splitlines()[0]})",
            path=raw.display,
            hint="Check the sheet in Excel, or export it as CSV.",
        ) from exc
    if grid.height == 0:
        raise DataFormatError(
            f"sheet {name!r} is empty",
            path=raw.display,
            hint=f"Choose another sheet with --sheet (sheets: {', '.join(names)}).",
        )
    # The table may start right of column A: take each column's header from its own sheet column.
    columns = [c.absolute_index for c in table.selected_columns]
    in_grid = {c.absolute_index: i for i, c in enumerate(grid_sheet.selected_columns)}
    cells = grid.row(header_row)
    header = [
        "" if i not in in_grid or cells[in_grid[i]] is None else str(cells[in_grid[i]])
        for i in columns
    ]
    header = ["" if h.startswith("__UNNAMED__") else h for h in header]
    unique, renamed = unique_names(header)
    frame.columns = unique
    if is_zip:
        _refuse_unsaved_formulas(data, raw.display, name, header_row, columns, frame)
    source = SourceInfo(
        path=raw.display,
        format="excel",
        sha256=raw.sha256,
        size=raw.size,
        compression=raw.compression,
        header_line=header_row + 1,
        sheet=name,
    )
    first = header_row + 2
    return ExcelRead(frame, source, list(range(first, first + frame.height)), renamed, names)


def _check_unpacked_size(data: bytes, raw: RawSource) -> None:
    """Refuse a workbook whose parts unpack to more than the decompression limit (a zip bomb).

    The sizes the zip's directory declares are checked first; then every part is unpacked a chunk
    at a time and counted, without keeping what it unpacks to, since those sizes may lie: Python's
    zipfile stops a part at its declared size, but the reader behind fastexcel unpacks all of it.
    A deflated part is unpacked from where its data starts to the end of its deflate stream, the
    most that any reader can get out of it. A part is refused as damaged as soon as it unpacks to
    more than its declared size, so no more than the limit (and one chunk) is ever unpacked.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return  # fastexcel names what is wrong with it
    limit = raw.max_expanded_bytes
    declared = sum(info.file_size for info in members)
    if declared > limit:
        raise over_limit(
            raw.display,
            f"the workbook unpacks to {format_size(declared)}, more than the "
            f"{format_size(limit)} limit on decompressed input",
            MAX_EXPANDED_BYTES_ENV,
            "max_expanded_bytes",
            declared,
        )
    # Each part stops at its declared size, and those add up to no more than the limit.
    view = memoryview(data)
    for info in members:
        unpacked = 0
        for size in _unpacked_chunks(view, info, raw.display):
            unpacked += size
            if unpacked > info.file_size:
                raise _damaged(
                    raw.display,
                    info,
                    f"it unpacks to more than the {format_size(info.file_size)} its zip "
                    "directory declares",
                )


def _unpacked_chunks(view: memoryview, info: zipfile.ZipInfo, display: str) -> Iterator[int]:
    """The sizes of the chunks one zip member unpacks to, as they are unpacked."""
    start = info.header_offset
    header = bytes(view[start : start + _LOCAL_HEADER.size])
    if len(header) < _LOCAL_HEADER.size or not header.startswith(_ZIP_MAGIC):
        raise _damaged(display, info, "its header is missing")
    fields = _LOCAL_HEADER.unpack(header)
    start += _LOCAL_HEADER.size + fields[10] + fields[11]
    # the method as the directory and as the local header name it (they agree in a sound file)
    methods = {info.compress_type, fields[4]}
    if zipfile.ZIP_STORED in methods:  # as much as either size says, as far as the file goes
        yield min(max(info.file_size, info.compress_size), max(0, len(view) - start))
    if zipfile.ZIP_DEFLATED in methods:
        yield from _inflated_chunks(view, start, info, display)
    # Other methods (bzip2, lzma): fastexcel reads none of them; Python's zipfile, which reads
    # the parts again for the formula check, stops each at its declared size.


def _inflated_chunks(
    view: memoryview, start: int, info: zipfile.ZipInfo, display: str
) -> Iterator[int]:
    inflate = zlib.decompressobj(-zlib.MAX_WBITS)
    position = start
    while not inflate.eof:
        if inflate.unconsumed_tail:
            chunk: bytes | memoryview = inflate.unconsumed_tail
        elif position < len(view):
            chunk = view[position : position + _IN_CHUNK]
            position += len(chunk)
        else:
            return  # truncated: fastexcel names it
        try:
            out = inflate.decompress(chunk, _OUT_CHUNK)
        except zlib.error as exc:
            raise _damaged(display, info, str(exc)) from None
        yield len(out)


def _damaged(display: str, info: zipfile.ZipInfo, why: str) -> DataFormatError:
    return DataFormatError(
        f"is not a readable Excel workbook (its part {info.filename[:80]!r} is damaged: {why})",
        path=display,
        hint="Open it in Excel and save it again as .xlsx, or export the sheet as CSV.",
    )


def _refuse_unsaved_formulas(
    data: bytes,
    display: str,
    sheet: str,
    header_row: int,
    columns: list[int],
    frame: pl.DataFrame,
) -> None:
    """Refuse a table with data cells that are formulas without saved results.

    Their values are not in the file (each would read as missing, or as a placeholder 0), and the
    one fix, opening and saving the workbook in a spreadsheet program, stores them all.
    """
    found = unsaved_formulas(data, sheet)
    if found is None or not found.cells:
        return
    first = found.first_row + header_row + 1  # the sheet row of the first data row
    rows: dict[int, list[int]] = {}
    for row, column in found.cells:  # below the table too: a row of those alone was not read
        if row >= first and column in columns:
            rows.setdefault(column, []).append(row)
    if not rows:
        return
    names = dict(zip(columns, frame.columns, strict=True))
    last = first + frame.height - 1
    whole = [
        names[c]
        for c in sorted(rows)
        if frame.height and sum(first <= r <= last for r in rows[c]) == frame.height
    ]
    count = sum(len(hit) for hit in rows.values())
    those = "its value" if count == 1 else "those values"
    if len(rows) == 1:
        ((column, hit),) = rows.items()
        column_field: str | None = names[column]
        cells = f"cell {_cells(column, hit)}" if count == 1 else f"cells {_cells(column, hit)}"
        what = f"{cells} of sheet {sheet!r}"
        effect = "so every value would be missing" if whole else f"so {those} would be missing"
    else:
        column_field = None
        listed = ", ".join(f"{names[c]!r} ({_cells(c, rows[c])})" for c in sorted(rows))
        what = f"sheet {sheet!r}, columns {listed}"
        effect = (
            f"so every value in {', '.join(repr(n) for n in whole)} would be missing"
            if whole
            else f"so {those} would be missing"
        )
    are = "is a formula whose result was" if count == 1 else "are formulas whose results were"
    raise DataFormatError(
        f"{what} {are} never calculated and saved in the file, {effect}",
        path=display,
        column=column_field,
        expected="the formulas' results saved with them",
        hint="Open the workbook in Excel or LibreOffice and save it, or convert it with "
        f"'soffice --headless --convert-to xlsx --outdir resaved {PurePath(display).name}', "
        "then read the saved copy.",
    )


def _cells(column: int, rows: list[int]) -> str:
    """``D2:D6`` for a run of rows, ``D2, D9, D12 …`` otherwise."""
    letters, hit = column_letters(column), sorted(rows)
    if len(hit) > 1 and hit[-1] - hit[0] + 1 == len(hit):
        return f"{letters}{hit[0]}:{letters}{hit[-1]}"
    return ", ".join(f"{letters}{r}" for r in hit[:3]) + (" …" if len(hit) > 3 else "")


def _pick_sheet(names: list[str], sheet: str | int | None, display: str) -> str:
    listing = ", ".join(repr(n) for n in names)
    if sheet is None:
        if not names:
            raise DataFormatError("the workbook has no sheets", path=display)
        return names[0]
    if isinstance(sheet, int):
        if 0 <= sheet < len(names):
            return names[sheet]
        raise NotFoundError(
            f"sheet index {sheet} does not exist; the workbook has {len(names)} sheets ({listing})",
            path=display,
            hint="Pass a 0-based index or a sheet name.",
        )
    if sheet in names:
        return sheet
    raise NotFoundError(
        f"no sheet named {sheet!r}; available sheets: {listing}",
        path=display,
        hint="Pass one of the sheet names (or a 0-based index) with --sheet.",
    )


def _header_row(grid: pl.DataFrame) -> int:
    """The first row that fills at least half the width of the widest row with mostly text.

    Title rows above a table fill one or two cells; a stray mark in a spare column further down
    (an "x" beside run 35) must not make that row the header.
    """
    filled = grid.select(pl.sum_horizontal(pl.all().is_not_null())).to_series().to_list()
    if not filled:
        return 0
    widest = max(filled)
    need = max(2, (widest + 1) // 2) if widest > 1 else 1
    for i, count in enumerate(filled):
        if count >= need and _mostly_text(grid.row(i)):
            return i
    return next(i for i, count in enumerate(filled) if count == widest)


def _mostly_text(cells: tuple[object, ...]) -> bool:
    values = [str(c).strip() for c in cells if c is not None and str(c).strip()]
    text = 0
    for value in values:
        try:
            float(value)
        except ValueError:
            text += 1
    return text * 2 >= len(values)
