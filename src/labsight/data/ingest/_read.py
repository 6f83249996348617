"""``read_table``: open, pick the reader, type the columns, record findings, infer roles."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TypedDict, Unpack

import polars as pl

from labsight._notes import warn
from labsight.config import MAX_FILE_BYTES_ENV, size_limit
from labsight.data.findings import Finding, OnIssue
from labsight.data.images import (
    ImageFiles,
    image_file_frame,
    image_folder_frame,
    image_paths_frame,
)
from labsight.data.ingest._excel import read_excel
from labsight.data.ingest._jsonl import read_jsonl
from labsight.data.ingest._parquet import read_parquet
from labsight.data.ingest._registry import format_of, open_source
from labsight.data.ingest._text import read_text
from labsight.data.ingest._types import (
    DEFAULT_NA_VALUES,
    CellIssues,
    TypedFrame,
    UnitMix,
    type_frame,
)
from labsight.data.roles import infer_roles
from labsight.data.sequences import sequence_cells
from labsight.data.table import ColumnInfo, Role, SourceInfo, Table, dtype_name
from labsight.exceptions import DataFormatError, InputError

__all__ = ["OnIssue", "ReadOptions", "read_images", "read_table"]

_SHOWN = 5


class ReadOptions(TypedDict, total=False):
    """How to read a file: the one definition of the reading options that ``read_table``,
    ``ws.ingest``, training on a file and the command line share (see :func:`read_table`)."""

    sheet: str | int | None
    na_values: Sequence[str]
    delimiter: str | None
    encoding: str | None
    decimal_comma: bool | None
    images: str | None


def read_table(
    path: str | os.PathLike[str],
    *,
    roles: Mapping[str, Role] | None = None,
    on_issue: OnIssue = "warn",
    max_file_bytes: int | None = None,
    max_expanded_bytes: int | None = None,
    **options: Unpack[ReadOptions],
) -> Table:
    """Read a lab table from CSV/TSV/TXT, Excel, Parquet or JSON lines, with units and roles.

    Parameters
    ----------
    path
        The file. Gzipped files are recognised by their bytes, whatever their extension.
    sheet
        Excel only: a sheet name or 0-based index (default: the first sheet; when the workbook
        has several, a ``sheet`` finding names the one read and the others, and with
        ``on_issue="warn"`` a :class:`LabsightWarning` says so).
    na_values
        Cell texts to read as missing, besides the defaults (empty, ``NA``, ``N/A``, ``NaN``,
        ``null``, ``None``, ``-``, ``--``, ``#N/A``, ``?`` ...).
    delimiter
        Text only: the field delimiter (default: sniffed among ``,`` ``;`` tab ``|``; ``" "`` for
        whitespace-aligned columns).
    encoding
        Text only: the encoding (default: BOM, else UTF-8 if valid, else cp1252, else Latin-1).
    decimal_comma
        Text only: whether numbers use a decimal comma (default: sniffed).
    roles
        Column roles that override the inferred ones.
    on_issue
        What to do with bad cells: ``"raise"`` a :class:`DataFormatError` naming file, line and
        column of the first one; ``"warn"`` (one :class:`LabsightWarning` per finding); or
        ``"ignore"``. Findings are recorded in :attr:`Table.findings` either way.
    max_file_bytes
        The largest file read, in bytes (default: the ``LABSIGHT_MAX_FILE_BYTES`` setting, else
        4 GiB); a larger file is refused before it is read.
    max_expanded_bytes
        The most a gzipped file may decompress to, in bytes (default: the
        ``LABSIGHT_MAX_EXPANDED_BYTES`` setting, else 2 GiB); decompression stops as soon as it
        passes this.

    Returns
    -------
    Table
        Column names exactly as in the file; units from headers (``"temperature [degC]"``) and
        cells (``"90 min"``) in :attr:`ColumnInfo.unit`.

    Raises
    ------
    NotFoundError
        When the file does not exist, or the sheet does not.
    DataFormatError
        When the file cannot be read as a table (empty, binary, corrupt, over a size limit, ragged
        rows, Excel formulas without saved results), or a cell is bad and ``on_issue="raise"``.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "runs.csv").write_text("run,time,yield [%]\\n1,90 min,50\\n2,2 h,61\\n")
    >>> table = read_table(folder / "runs.csv", on_issue="ignore")
    >>> table.frame["time"].to_list(), table.column("time").unit, table.column("yield [%]").role
    ([90.0, 120.0], 'min', 'target')
    """
    unknown = sorted(set(options) - set(ReadOptions.__annotations__))
    if unknown:
        raise TypeError(f"read_table() got an unexpected keyword argument {unknown[0]!r}")
    sheet = options.get("sheet")
    na_values = options.get("na_values", ())
    delimiter = options.get("delimiter")
    encoding = options.get("encoding")
    decimal_comma = options.get("decimal_comma")
    images = options.get("images")
    if os.path.isdir(path):  # a folder of images (one sub-folder per class)
        return _image_folder(path, roles, max_file_bytes)
    if on_issue not in ("raise", "warn", "ignore"):
        raise InputError(f"unknown on_issue {on_issue!r}", expected="'raise', 'warn' or 'ignore'")
    if delimiter in ("tab", "\\t"):
        delimiter = "\t"
    if delimiter is not None and len(delimiter) != 1 and delimiter != "whitespace":
        raise InputError(
            f"invalid --delimiter {delimiter!r}",
            expected="one character such as ',' ';' '|', or 'tab' or 'whitespace'",
        )
    raw = open_source(path, max_file_bytes=max_file_bytes, max_expanded_bytes=max_expanded_bytes)
    fmt = format_of(raw)
    tokens = tuple(dict.fromkeys((*DEFAULT_NA_VALUES, *na_values)))
    renamed: list[tuple[str, str]] = []
    headerless = False
    row_lines: list[int] | None = None
    use_comma = False
    unchosen_sheets: list[str] = []
    line_of: Callable[[list[int]], list[int | None]]
    source: SourceInfo
    if fmt == "csv":
        text = read_text(
            raw,
            null_values=tokens,
            delimiter=delimiter,
            encoding=encoding,
            decimal_comma=decimal_comma,
        )
        frame, source, row_lines, line_of, renamed = (
            text.frame,
            text.source,
            text.row_lines,
            text.line_of,
            text.renamed,
        )
        use_comma = source.decimal_comma
        headerless = text.headerless
    elif fmt == "excel":
        excel = read_excel(raw, sheet=sheet)
        frame, source, row_lines, renamed = (
            excel.frame,
            excel.source,
            excel.row_lines,
            excel.renamed,
        )
        if sheet is None and len(excel.sheets) > 1:
            unchosen_sheets = excel.sheets
    elif fmt == "parquet":
        frame, source = read_parquet(raw)
    else:
        frame, source, row_lines = read_jsonl(raw)
    _refuse_non_table(frame, source)
    if fmt != "csv":
        known = row_lines

        def line_of(rows: list[int]) -> list[int | None]:
            return [known[r] if known is not None and 0 <= r < len(known) else None for r in rows]

    raw_frame = frame
    typed = type_frame(
        frame, decimal_comma=use_comma, na_values=tokens, integral_floats_to_int=fmt == "excel"
    )
    second = _second_header(typed, raw_frame)
    if second is not None:
        typed, row_lines, line_of, second_line = _drop_first_row(typed, row_lines, line_of)
    frame = typed.frame
    findings = _header_findings(renamed)
    if unchosen_sheets:
        findings.append(_sheet_finding(source, unchosen_sheets))
    if second is not None:
        findings.append(_second_header_finding(second, second_line))
    if headerless:
        findings.append(_headerless_finding(frame.width))
    findings += [_invalid_finding(issue, source, line_of) for issue in typed.issues]
    findings += [_mix_finding(mix) for mix in typed.mixes]
    if on_issue == "raise" and typed.issues:
        _raise_first(typed.issues, source, line_of, frame.columns)
    if on_issue == "warn":
        for finding in findings:
            # Which sheet was read is a note, not a problem, but a caller who chose none hears it.
            if finding.severity != "info" or finding.check == "sheet":
                warn(f"{source.path}: {finding.message}", stacklevel=2)
    columns = [
        ColumnInfo(name, dtype_name(dtype), typed.units.get(name))
        for name, dtype in frame.schema.items()
    ]
    if images is None:
        columns = infer_roles(frame, columns, roles)
        table = Table(frame, columns, findings, source, row_lines)
        # lists of readings in cells (runs one per row) are measurements, not row names
        cells = [c for c in sequence_cells(table) if c not in (roles or {})]
        return table.with_roles(dict.fromkeys(cells, "feature")) if cells else table
    frame, files = image_paths_frame(
        frame,
        images,
        Path(os.fspath(path)).parent,
        table_name=source.path,
        lines=row_lines,
        max_file_bytes=max_file_bytes or size_limit(MAX_FILE_BYTES_ENV),
    )
    columns = infer_roles(
        frame,
        [*columns, ColumnInfo("image", "image")],
        {images: "id", "image": "feature", **(roles or {})},
    )
    return Table(frame, columns, findings, source, row_lines, images=files)


def read_images(path: str | os.PathLike[str]) -> Table:
    """New images to predict: every image under a folder, whatever its sub-folders (classes are
    not needed), or one image file, as a table of them."""
    if not os.path.isdir(path):
        from labsight.data.images import is_image_file

        if is_image_file(Path(path)) and Path(path).is_file():
            frame, files = image_file_frame(path, max_file_bytes=size_limit(MAX_FILE_BYTES_ENV))
            return _image_table(path, frame, files, {})
        return read_table(path, on_issue="ignore")
    return _image_folder(path, None, None, labelled=False)


def _image_folder(
    path: str | os.PathLike[str],
    roles: Mapping[str, Role] | None,
    max_file_bytes: int | None,
    *,
    labelled: bool = True,
) -> Table:
    """A folder of images as a table of them (:func:`labsight.data.images.image_folder_frame`)."""
    frame, files, found_roles, listing = image_folder_frame(
        path, max_file_bytes=max_file_bytes or size_limit(MAX_FILE_BYTES_ENV), labelled=labelled
    )
    return _image_table(path, frame, files, {**found_roles, **(roles or {})}, listing)  # type: ignore[dict-item]


def _image_table(
    path: str | os.PathLike[str],
    frame: pl.DataFrame,
    files: ImageFiles,
    merged: dict[str, Role],
    listing: str = "",
) -> Table:
    columns = [
        ColumnInfo(
            name,
            "image" if name in ("image", "mask") and dtype == pl.String else dtype_name(dtype),
            None,
            merged.get(name, "feature"),
        )
        for name, dtype in frame.schema.items()
    ]
    size = sum(p.stat().st_size for p in files.files.values())
    source = SourceInfo(path=os.fspath(path), format="images", sha256=listing, size=size)
    return Table(frame, columns, [], source, None, images=files)


def _second_header(typed: TypedFrame, raw: pl.DataFrame) -> dict[str, str] | None:
    """The first row's texts when it is a second header (a units or type row such as ``TYPE, DATA,
    DATA``): it is the one unreadable cell in at least two numeric columns and in at least half of
    them. ``None`` otherwise."""
    if typed.frame.height < 2:
        return None
    numeric = [n for n, d in typed.frame.schema.items() if d.is_numeric()]
    first_only = [i.column for i in typed.issues if i.rows == [0]]
    if len(first_only) < 2 or len(first_only) * 2 < len(numeric):
        return None
    row = raw.row(0)
    return {name: "" if v is None else str(v) for name, v in zip(raw.columns, row, strict=True)}


def _drop_first_row(
    typed: TypedFrame,
    row_lines: list[int] | None,
    line_of: Callable[[list[int]], list[int | None]],
) -> tuple[TypedFrame, list[int] | None, Callable[[list[int]], list[int | None]], int | None]:
    """The typed table without its first row, every row number moved up by one."""
    issues = []
    for issue in typed.issues:
        kept = [(r - 1, v) for r, v in zip(issue.rows, issue.values, strict=True) if r != 0]
        if kept:
            issues.append(replace(issue, rows=[r for r, _ in kept], values=[v for _, v in kept]))
    mixes = [replace(m, rows=[r - 1 for r in m.rows if r != 0]) for m in typed.mixes]
    first_line = line_of([0])[0]

    def shifted(rows: list[int]) -> list[int | None]:
        return line_of([r + 1 for r in rows])

    frame = typed.frame.slice(1)
    # Columns that were floats only because the header row's text left a gap become whole again.
    wholes = [
        n
        for n, d in frame.schema.items()
        if d.is_float()
        and frame[n].null_count() == 0
        and frame.height
        and bool((frame[n] == frame[n].round(0)).all())
        and not any(i.column == n for i in issues)
    ]
    frame = frame.with_columns(pl.col(wholes).cast(pl.Int64))
    retyped = replace(typed, frame=frame, issues=issues, mixes=mixes)
    return retyped, None if row_lines is None else row_lines[1:], shifted, first_line


def _second_header_finding(texts: dict[str, str], line: int | None) -> Finding:
    shown = ", ".join(repr(v) for v in list(texts.values())[:6])
    where = f"line {line}" if line is not None else "the first data row"
    return Finding(
        check="header",
        column=None,
        rows=[],
        severity="info",
        message=f"{where} is a second header row ({shown} …); it was set aside, not read as data",
        suggestion="Keep one header line; put units in it, e.g. 'temperature [degC]'.",
        details={"second_header": texts, "line": line},
    )


def _refuse_non_table(frame: pl.DataFrame, source: SourceInfo) -> None:
    """No rows and at most one column, or no rows under a "header" that follows free text:
    what was read is a title or a paragraph, not a table. (A header alone is a valid empty table.)"""
    if frame.height:
        return
    prose_above = source.format == "csv" and (source.header_line or 1) > 1 and not source.preamble
    if frame.width > 1 and not prose_above:
        return
    where = f"sheet {source.sheet!r}" if source.sheet else "the file"
    raise DataFormatError(
        f"{where} holds no table: no data rows under a header",
        path=source.path,
        hint="Check that this is the exported table"
        + (", or pass --sheet with the sheet that holds it" if source.sheet else ""),
    )


def _sheet_finding(source: SourceInfo, sheets: list[str]) -> Finding:
    """The note that a workbook of several sheets was read without a choice: which sheet was read
    (the first) and which were not."""
    others = [s for s in sheets if s != source.sheet]
    shown = ", ".join(repr(s) for s in others[:10]) + (" …" if len(others) > 10 else "")
    return Finding(
        check="sheet",
        column=None,
        rows=[],
        severity="info",
        message=(
            f"the workbook has {len(sheets)} sheets and none was chosen: read the first, "
            f"{source.sheet!r}; not read: {shown}"
        ),
        suggestion="Pass --sheet NAME (or sheet= in Python) to read another sheet, or this one "
        "explicitly.",
        details={"sheet": source.sheet, "sheets": sheets},
    )


def _headerless_finding(width: int) -> Finding:
    return Finding(
        check="header",
        column=None,
        rows=[],
        severity="info",
        message=(
            "the file has no header row: its first line holds values like the rows below it, so "
            f"it was read as data and the columns were named column_1 … column_{width}"
        ),
        suggestion="Add a header line with the column names (and units, e.g. 'temperature [degC]').",
        details={"headerless": True},
    )


def _header_findings(renamed: list[tuple[str, str]]) -> list[Finding]:
    if not renamed:
        return []
    pairs = ", ".join(f"{old!r} → {new!r}" for old, new in renamed)
    return [
        Finding(
            check="header",
            column=None,
            rows=[],
            severity="info",
            message=f"blank or duplicate column names were renamed: {pairs}",
            suggestion="Give every column a distinct name in the file.",
            details={"renamed": {new: old for old, new in renamed}},
        )
    ]


def _na_hint(values: list[str]) -> str:
    distinct = list(dict.fromkeys(values))[:3]
    return " ".join(f"--na-values {v!r}" for v in distinct)


def _invalid_finding(
    issue: CellIssues, source: SourceInfo, line_of: Callable[[list[int]], list[int | None]]
) -> Finding:
    lines = line_of(issue.rows)
    where = "row" if source.format in ("parquet",) else "line"
    shown = ", ".join(
        f"{value!r} ({where} {line})" if line is not None else repr(value)
        for value, line in zip(issue.values[:_SHOWN], lines[:_SHOWN], strict=True)
    )
    more = " ..." if len(issue.rows) > _SHOWN else ""
    count = len(issue.rows)
    noun = "cell" if count == 1 else "cells"
    verb = "is not a number" if count == 1 else "are not numbers"
    if issue.expected == "dates":
        verb = "is not a date" if count == 1 else "are not dates"
    return Finding(
        check="invalid_value",
        column=issue.column,
        rows=issue.rows,
        severity="error",
        message=f"{count} {noun} in {issue.column!r} {verb}: {shown}{more}",
        suggestion=f"Fix the cells or pass {_na_hint(issue.values)}.",
        details={
            "values": issue.values,
            "lines": lines,
            "expected": issue.expected,
            "unit": issue.unit,
            "reasons": issue.reasons,
        },
    )


def _mix_finding(mix: UnitMix) -> Finding:
    parts = ", ".join(
        f"{unit} ({n} {'row' if n == 1 else 'rows'})" for unit, n in mix.counts.items()
    )
    return Finding(
        check="unit_inconsistency",
        column=mix.column,
        rows=mix.rows,
        severity="warning",
        message=f"{mix.column!r} mixes units {parts}; converted all to {mix.target}",
        suggestion=f"Write every cell of {mix.column!r} in one unit, or put the unit in the header.",
        details={"units": mix.counts, "converted_to": mix.target},
    )


def _raise_first(
    issues: list[CellIssues],
    source: SourceInfo,
    line_of: Callable[[list[int]], list[int | None]],
    order: list[str],
) -> None:
    issue = min(issues, key=lambda i: (i.rows[0], order.index(i.column)))
    value = issue.values[0]
    line = line_of([issue.rows[0]])[0]
    reason = issue.reasons[0] if issue.reasons and issue.reasons[0] else None
    if issue.expected == "dates":
        message, expected = f"{value!r} is not a date", "a date such as 2024-03-01"
    else:
        message = f"{value!r} is not a number" + (f" ({reason})" if reason else "")
        expected = f"a value in {issue.unit}" if issue.unit else "a number"
    raise DataFormatError(
        message,
        path=source.path,
        line=line,
        column=issue.column,
        expected=expected,
        hint=f"Fix the cell or pass --na-values {value!r}.",
    )
