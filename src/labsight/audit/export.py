"""Reading the audit log back: listing, and export for QA as CSV or JSON lines.

JSON lines are the exact record: every field as stored, which is what the hash chain covers.
The CSV is for people, to open in a spreadsheet, and so it is made safe to open: a text cell
that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return (a reason, a user's or an
object's name) gets a leading ``'`` so that no spreadsheet runs it as a formula (OWASP's advice on
CSV injection), control characters are shown as escapes (``\\n``, ``\\x1b``), and every field
is quoted. Plain numbers such as ``-1.5`` stay as they are.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence

from labsight._display import spreadsheet_cell, visible
from labsight.audit.chain import HASHED_FIELDS
from labsight.exceptions import InputError
from labsight.store.entities import AuditEntry

__all__ = ["EXPORT_FORMATS", "render_export"]

EXPORT_FORMATS = ("csv", "jsonl")
_COLUMNS = [*HASHED_FIELDS, "hash"]


def render_export(entries: Sequence[AuditEntry], fmt: str) -> str:
    """The entries as CSV (one row each, lists and details as JSON text) or JSON lines."""
    if fmt not in EXPORT_FORMATS:
        raise InputError(
            f"unknown export format {fmt!r}", expected=" or ".join(EXPORT_FORMATS), got=repr(fmt)
        )
    if fmt == "jsonl":
        return "".join(json.dumps(e.to_dict(), ensure_ascii=False) + "\n" for e in entries)
    out = io.StringIO()
    out.write(",".join(_COLUMNS) + "\n")
    writer = csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_ALL)
    for entry in entries:
        row = entry.to_dict()
        for key in ("inputs", "outputs", "details", "records"):
            if row.get(key) is not None:  # records: None in entries from before seals
                row[key] = json.dumps(row[key], ensure_ascii=False, sort_keys=True)
        writer.writerow([_cell(row.get(key)) for key in _COLUMNS])
    return out.getvalue()


def _cell(value: object) -> object:
    """A field as people should see it in a spreadsheet: text escaped, numbers and blanks as
    they are."""
    if isinstance(value, str):
        return spreadsheet_cell(visible(value))
    return value
