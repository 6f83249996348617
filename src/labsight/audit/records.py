"""Cross-checking the store against the audit trail: every version and tombstone must match the
entry that recorded it, so an edit to the dataset tables (not only to the log) is found too."""

from __future__ import annotations

import json

from sqlalchemy import select
from sqlalchemy.orm import Session

from labsight.store._rows import AuditRow, DatasetRow, VersionRow

__all__ = ["verify_records"]

_CREATES = ("dataset.ingest", "dataset.clean")


def verify_records(session: Session) -> list[str]:
    """Problems found, in words (an empty list when the records match the audit trail)."""
    problems: list[str] = []
    created: dict[tuple[str, str], AuditRow] = {}
    deleted: set[str] = set()
    for entry in session.scalars(select(AuditRow).where(AuditRow.object_type == "dataset")):
        if entry.action in _CREATES and entry.version is not None:
            created[(entry.object_id, entry.version)] = entry
        elif entry.action == "dataset.delete":
            deleted.add(entry.object_id)
    names = {d.id: d for d in session.scalars(select(DatasetRow))}
    seen: set[tuple[str, str]] = set()
    for row in session.scalars(select(VersionRow).order_by(VersionRow.id)):
        dataset = names.get(row.dataset_id)
        name = dataset.name if dataset is not None else f"#{row.dataset_id}"
        ref = f"{name}@{row.version}"
        creator = created.get((name, row.version))
        seen.add((name, row.version))
        if creator is None:
            problems.append(f"version {ref} has no audit entry that created it")
            continue
        if row.sha256 not in json.loads(creator.outputs):
            problems.append(
                f"version {ref} points to data {row.sha256[:12]} but audit entry {creator.seq} "
                "recorded other data"
            )
        rows = json.loads(creator.details).get("rows")
        if rows is not None and rows != row.rows:
            problems.append(
                f"version {ref} says {row.rows} rows but audit entry {creator.seq} recorded {rows}"
            )
    for (name, version), entry in created.items():
        if (name, version) not in seen:
            problems.append(f"audit entry {entry.seq} created {name}@{version}, which is missing")
    for dataset in names.values():
        if dataset.deleted_at is not None and dataset.name not in deleted:
            problems.append(f"dataset {dataset.name!r} is marked deleted without an audit entry")
        if dataset.deleted_at is None and dataset.name in deleted:
            problems.append(f"dataset {dataset.name!r} was deleted per the audit trail but is back")
    return problems
