"""Reading the audit log back: listing, and export for QA as CSV or JSON lines."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence

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
    writer = csv.DictWriter(out, fieldnames=_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for entry in entries:
        row = entry.to_dict()
        for key in ("inputs", "outputs", "details"):
            row[key] = json.dumps(row[key], ensure_ascii=False, sort_keys=True)
        writer.writerow(row)
    return out.getvalue()
