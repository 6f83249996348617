"""Formula cells of an .xlsx sheet whose results were never saved.

A workbook written by a program (openpyxl, xlsxwriter, pandas) holds formulas, but their results
are only computed and stored when Excel or LibreOffice opens and saves it. Until then a formula
cell has no value (openpyxl) or a placeholder ``0`` under a "recalculate everything on load" flag
(xlsxwriter), and a reader sees missing cells or zeros. This module finds such cells by looking at
the sheet's XML: the workbook and its relations are small and parsed with ElementTree, the sheet
itself is searched with regular expressions, and only when it holds a formula at all.
"""

from __future__ import annotations

import io
import posixpath
import re
import zipfile
from dataclasses import dataclass
from xml.etree import ElementTree

__all__ = ["Unsaved", "column_letters", "unsaved_formulas"]

_REL_ID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
_CELL = re.compile(rb"<(?:\w+:)?c\s([^>]*?)(?:/>|>(.*?)</(?:\w+:)?c>)", re.DOTALL)
_REF = re.compile(rb'\br="([A-Z]{1,3})([0-9]+)"')
_FORMULA = re.compile(rb"<(?:\w+:)?f[\s>/]")
_VALUE = re.compile(rb"<(?:\w+:)?v>([^<]*)</(?:\w+:)?v>")
_CONTENT = re.compile(rb"<(?:\w+:)?(?:v|is)>")


@dataclass
class Unsaved:
    """The formula cells of a sheet without a saved result, and where the sheet's content starts."""

    cells: list[tuple[int, int]]  # (1-based row, 0-based column)
    first_row: int  # 1-based row of the first cell that holds anything


def unsaved_formulas(data: bytes, sheet: str) -> Unsaved | None:
    """The formula cells of ``sheet`` in the .xlsx/.xlsm workbook ``data`` that have no saved result.

    ``None`` when the workbook's parts cannot be found (the reader has read it already, so this
    only adds a check; it never refuses a workbook on its own account).
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            part, full_calc = _sheet_part(archive, sheet)
            xml = archive.read(part)
    except (KeyError, OSError, zipfile.BadZipFile, ElementTree.ParseError):
        return None
    if not _FORMULA.search(xml):
        return Unsaved([], 1)
    cells: list[tuple[int, int]] = []
    first_row = 0
    for match in _CELL.finditer(xml):
        ref = _REF.search(match.group(1))
        body = match.group(2)
        if ref is None or not body:
            continue
        row = int(ref.group(2))
        if _CONTENT.search(body) and (first_row == 0 or row < first_row):
            first_row = row
        if not _FORMULA.search(body):
            continue
        value = _VALUE.search(body)
        saved = value is not None and value.group(1).strip() != b""
        # "recalculate on load" (xlsxwriter) stores 0 for every formula until Excel computes it
        if not saved or (full_calc and value is not None and value.group(1).strip() == b"0"):
            cells.append((row, _column_index(ref.group(1).decode())))
    return Unsaved(cells, first_row or 1)


def _sheet_part(archive: zipfile.ZipFile, sheet: str) -> tuple[str, bool]:
    """The zip member that holds ``sheet``, and whether the workbook asks for a full recalculation
    when it is opened (its stored results are then placeholders)."""
    workbook = ElementTree.fromstring(archive.read("xl/workbook.xml"))
    rel_id = None
    full_calc = False
    for element in workbook.iter():
        tag = element.tag.rsplit("}", 1)[-1]
        if tag == "sheet" and element.get("name") == sheet:
            rel_id = element.get(_REL_ID)
        elif tag == "calcPr":
            full_calc = element.get("fullCalcOnLoad", "0").lower() in ("1", "true")
    relations = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    for relation in relations.iter():
        if relation.get("Id") == rel_id and rel_id is not None:
            target = relation.get("Target", "")
            if target.startswith("/"):
                return target.lstrip("/"), full_calc
            return posixpath.normpath(posixpath.join("xl", target)), full_calc
    raise KeyError(sheet)


def _column_index(letters: str) -> int:
    index = 0
    for letter in letters:
        index = index * 26 + ord(letter) - ord("A") + 1
    return index - 1


def column_letters(index: int) -> str:
    """``0`` → ``"A"``, ``27`` → ``"AB"``: a 0-based column as Excel names it."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters
