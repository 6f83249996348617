"""Datasets and their versions in the database: lookups, appends and tombstones.

Functions take the caller's session so that a version, its audit entry and anything else of one
operation commit together.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from labsight.exceptions import ConflictError, InputError, NotFoundError
from labsight.store import names
from labsight.store._rows import DatasetRow, VersionRow, utcnow
from labsight.store.entities import Dataset, VersionRecord

__all__ = [
    "NewVersion",
    "add_version",
    "dataset_history",
    "dataset_row",
    "get_dataset",
    "list_datasets",
    "parse_ref",
    "resolve_version",
    "tombstone",
    "validate_name",
    "version_keys",
    "version_row",
]


def validate_name(name: str) -> str:
    """A dataset name, checked by the one name rule (:func:`labsight.store.names.validate_name`)."""
    return names.validate_name(name, "dataset")


def parse_ref(ref: str) -> tuple[str, str | None]:
    """``name`` → (name, None); ``name@3f2a9c`` or ``name@v2`` → (name, selector)."""
    name, _, selector = ref.partition("@")
    return name, (selector or None)


@dataclass(frozen=True)
class NewVersion:
    """What a new version holds; the content hash is computed from it by the caller."""

    version: str
    sha256: str
    rows: int
    columns: list[dict[str, Any]]
    operation: str
    operation_params: dict[str, Any]
    findings: list[dict[str, Any]]
    source: dict[str, Any] | None
    parent: VersionRecord | None


def _dataset_row(session: Session, name: str, *, include_deleted: bool = False) -> DatasetRow:
    row = session.scalar(select(DatasetRow).where(DatasetRow.name == name))
    if row is None or (row.deleted_at is not None and not include_deleted):
        known = session.scalars(
            select(DatasetRow.name).where(DatasetRow.deleted_at.is_(None)).order_by(DatasetRow.name)
        ).all()
        listing = ", ".join(known[:20]) if known else "none yet"
        raise NotFoundError(
            f"no dataset named {name!r}" + (" (it was deleted)" if row is not None else ""),
            hint=f"Known datasets: {listing}. See `labsight datasets`",
        )
    return row


def _entity(session: Session, row: DatasetRow) -> Dataset:
    count, latest_number = session.execute(
        select(func.count(VersionRow.id), func.max(VersionRow.number)).where(
            VersionRow.dataset_id == row.id
        )
    ).one()
    latest = None
    if latest_number is not None:
        latest = session.scalar(
            select(VersionRow.version).where(
                VersionRow.dataset_id == row.id, VersionRow.number == latest_number
            )
        )
    return row.to_entity(int(count), latest)


def get_dataset(session: Session, name: str, *, include_deleted: bool = False) -> Dataset:
    return _entity(session, _dataset_row(session, name, include_deleted=include_deleted))


def list_datasets(session: Session, *, include_deleted: bool = False) -> list[Dataset]:
    query = select(DatasetRow).order_by(DatasetRow.name)
    if not include_deleted:
        query = query.where(DatasetRow.deleted_at.is_(None))
    return [_entity(session, row) for row in session.scalars(query)]


def _to_record(session: Session, row: VersionRow, dataset: str) -> VersionRecord:
    parent = None
    if row.parent_id is not None:
        prow = session.get(VersionRow, row.parent_id)
        if prow is not None:
            pname = session.scalar(select(DatasetRow.name).where(DatasetRow.id == prow.dataset_id))
            parent = f"{pname}@{prow.version}"
    return row.to_entity(dataset, parent)


def resolve_version(session: Session, ref: str) -> VersionRecord:
    """The version a reference names: the latest, a hash prefix (4+ digits), or ``vN``."""
    name, selector = parse_ref(ref)
    ds = _dataset_row(session, name)
    query = select(VersionRow).where(VersionRow.dataset_id == ds.id)
    if selector is None:
        row = session.scalar(query.order_by(VersionRow.number.desc()).limit(1))
    elif re.fullmatch(r"v\d+", selector):
        row = session.scalar(query.where(VersionRow.number == int(selector[1:])))
    elif re.fullmatch(r"[0-9a-f]{4,64}", selector):
        matches = session.scalars(query.where(VersionRow.version.startswith(selector))).all()
        if len(matches) > 1:
            raise InputError(
                f"version {selector!r} of {name!r} is ambiguous ({len(matches)} versions match)",
                hint="Give more digits of the version hash",
            )
        row = matches[0] if matches else None
    else:
        raise InputError(
            f"cannot read the version in {ref!r}",
            expected="NAME, NAME@vN or NAME@HASH (4 or more hex digits)",
        )
    if row is None:
        raise NotFoundError(
            f"dataset {name!r} has no version {selector!r}" if selector else f"{name!r} is empty",
            hint=f"See `labsight dataset show {name}`",
        )
    return _to_record(session, row, name)


def dataset_row(session: Session, name: str) -> DatasetRow:
    """The row of a dataset that is not deleted (for checks against the audit trail)."""
    return _dataset_row(session, name)


def version_row(session: Session, record: VersionRecord) -> VersionRow:
    """The row behind a resolved version (for checks against the audit trail)."""
    row = session.scalar(
        select(VersionRow)
        .join(DatasetRow, DatasetRow.id == VersionRow.dataset_id)
        .where(DatasetRow.name == record.dataset, VersionRow.version == record.version)
    )
    if row is None:  # pragma: no cover - the record was just resolved in this session
        raise NotFoundError(f"dataset version {record.ref} vanished")
    return row


def version_keys(session: Session, name: str) -> list[tuple[str, str]]:
    """``(name, version hash)`` of every version of a dataset (for checks against the audit trail)."""
    ds = _dataset_row(session, name)
    hashes = session.scalars(select(VersionRow.version).where(VersionRow.dataset_id == ds.id))
    return [(name, h) for h in hashes]


def dataset_history(session: Session, name: str) -> list[VersionRecord]:
    """All versions of a dataset, oldest first."""
    ds = _dataset_row(session, name)
    rows = session.scalars(
        select(VersionRow).where(VersionRow.dataset_id == ds.id).order_by(VersionRow.number)
    )
    return [_to_record(session, row, name) for row in rows]


def add_version(
    session: Session, name: str, new: NewVersion, actor: str
) -> tuple[VersionRecord, bool]:
    """Append ``new`` to dataset ``name`` (created on first use).

    Returns the record and whether it was created: storing content the dataset already holds returns
    the existing version unchanged.
    """
    ds = session.scalar(select(DatasetRow).where(DatasetRow.name == name))
    if ds is not None and ds.deleted_at is not None:
        raise ConflictError(
            f"dataset {name!r} was deleted on {ds.deleted_at:%Y-%m-%d} by {ds.deleted_by}",
            hint="Names of deleted datasets stay reserved for the audit trail; choose another --name",
        )
    if ds is None:
        ds = DatasetRow(name=name, created=utcnow(), created_by=actor)
        session.add(ds)
        session.flush()
    existing = session.scalar(
        select(VersionRow).where(VersionRow.dataset_id == ds.id, VersionRow.version == new.version)
    )
    if existing is not None:
        return _to_record(session, existing, name), False
    number = (
        session.scalar(select(func.max(VersionRow.number)).where(VersionRow.dataset_id == ds.id))
        or 0
    ) + 1
    parent_id = None
    if new.parent is not None:
        pname, pver = parse_ref(new.parent.ref)
        parent_id = session.scalar(
            select(VersionRow.id)
            .join(DatasetRow, DatasetRow.id == VersionRow.dataset_id)
            .where(DatasetRow.name == pname, VersionRow.version == pver)
        )
    row = VersionRow(
        dataset_id=ds.id,
        version=new.version,
        number=number,
        sha256=new.sha256,
        rows=new.rows,
        columns=new.columns,
        operation=new.operation,
        operation_params=new.operation_params,
        parent_id=parent_id,
        findings=new.findings,
        source=new.source,
        created=utcnow(),
        created_by=actor,
    )
    session.add(row)
    session.flush()
    return _to_record(session, row, name), True


def tombstone(session: Session, name: str, actor: str, reason: str | None) -> Dataset:
    """Mark a dataset deleted. Its versions and files stay, for the audit trail."""
    row = _dataset_row(session, name)
    row.deleted_at = utcnow()
    row.deleted_by = actor
    row.delete_reason = reason
    session.flush()
    return _entity(session, row)
