"""Excel workbooks (.xlsx, .xlsm, .xls) through fastexcel/calamine: one sheet per table."""

from __future__ import annotations

from dataclasses import dataclass

import fastexcel
import polars as pl

from labsight.data.ingest._registry import RawSource
from labsight.data.ingest._text import unique_names
from labsight.data.table import SourceInfo
from labsight.exceptions import DataFormatError, NotFoundError

__all__ = ["ExcelRead", "read_excel"]

_HEADER_SCAN_ROWS = 50


@dataclass
class ExcelRead:
    """A sheet read into a frame, with the sheet row of each data row."""

    frame: pl.DataFrame
    source: SourceInfo
    row_lines: list[int]
    renamed: list[tuple[str, str]]


def read_excel(raw: RawSource, *, sheet: str | int | None) -> ExcelRead:
    """Read one sheet of a workbook; see :func:`labsight.data.ingest.read_table`."""
    data = raw.content if raw.content is not None else raw.path.read_bytes()
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
        grid = reader.load_sheet(name, header_row=None, n_rows=_HEADER_SCAN_ROWS).to_polars()
        header_row = _header_row(grid)
        frame = reader.load_sheet(name, header_row=header_row).to_polars()
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
    header = [
        "" if v is None or str(v).startswith("__UNNAMED__") else str(v)
        for v in grid.row(header_row)
    ][: frame.width]
    header += [""] * (frame.width - len(header))
    unique, renamed = unique_names(header)
    frame.columns = unique
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
    return ExcelRead(frame, source, list(range(first, first + frame.height)), renamed)


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
