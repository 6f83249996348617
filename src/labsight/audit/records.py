"""Cross-checking the store against the audit trail.

Every sealed row (datasets, their versions with column metadata and operation, models, campaigns,
experiments, results) must match the newest audit entry that sealed it, field by field; a row no
entry recorded, or one an entry recorded that is gone, is a problem too. Every electronic signature must
match its seal and the record it signed. Every artifact a row refers
to (a version's Parquet data, a cleaning plan, a model file) must be on disk with its hash.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from labsight.audit.seals import KINDS, Key, Kind, field_digests, iter_rows
from labsight.audit.signing import check_signatures
from labsight.store._rows import AuditRow, ModelRow, VersionRow

if TYPE_CHECKING:
    from labsight.store.artifacts import ArtifactStore

__all__ = ["verify_records"]


def _shown(value: Any) -> str:
    if isinstance(value, str | int | float | bool) or value is None:
        text = repr(value)
        if len(text) <= 60:
            return f" (now {text})"
    return ""


def _newest_seals(session: Session) -> dict[tuple[str, Key], tuple[int, dict[str, str] | None]]:
    newest: dict[tuple[str, Key], tuple[int, dict[str, str] | None]] = {}
    query = select(AuditRow.seq, AuditRow.records).where(AuditRow.records.is_not(None))
    for seq, records in session.execute(query.order_by(AuditRow.seq)):
        for kind, key, fields in json.loads(records or "[]"):
            newest[(kind, tuple(key))] = (seq, fields)
    return newest


Rows = list[tuple[Kind, Key, Any]]


def _check_rows(session: Session, rows: Rows, unreadable: list[str]) -> list[str]:
    problems: list[str] = []
    newest = _newest_seals(session)
    for kind, key, row in rows:
        values = kind.fields(session, row)
        label = kind.label(key, values)
        sealed = newest.pop((kind.name, key), None)
        if sealed is None:
            problems.append(
                f"{label} has no audit entry that recorded it: it was added outside labsight"
            )
            continue
        seq, fields = sealed
        if fields is None:
            problems.append(
                f"{label} was deleted by audit entry {seq} but is in the database again"
            )
            continue
        now = field_digests(session, kind, row)
        for name in sorted(set(now) | set(fields)):
            if now.get(name) != fields.get(name):
                problems.append(
                    f"{label}: field {name!r}{_shown(values.get(name))} differs from what audit "
                    f"entry {seq} recorded: it was changed outside labsight"
                )
    problems.extend(unreadable)
    for (kind_name, key), (seq, fields) in newest.items():
        if fields is not None and not unreadable:  # an unreadable row is not a missing one
            label = KINDS[kind_name].label(key, None)
            problems.append(
                f"{label}, recorded by audit entry {seq}, is missing: it was deleted outside labsight"
            )
    return problems


def _referenced_artifacts(rows: Rows) -> list[tuple[str, str]]:
    """``(hash, what refers to it)`` for every artifact a row names."""
    refs: list[tuple[str, str]] = []
    for kind, key, row in rows:
        if isinstance(row, VersionRow):
            label = kind.label(key, None)
            refs.append((row.sha256, f"the data of {label}"))
            plan = (row.operation_params or {}).get("plan_sha256")
            if isinstance(plan, str):
                refs.append((plan, f"the cleaning plan of {label}"))
        elif isinstance(row, ModelRow):
            refs.append((row.sha256, f"the file of model {row.name}@v{row.number}"))
    return refs


def _check_artifacts(rows: Rows, artifacts: ArtifactStore) -> list[str]:
    problems: list[str] = []
    checked: dict[str, str | None] = {}
    for digest, what in _referenced_artifacts(rows):
        if digest not in checked:
            checked[digest] = artifacts.check(digest)
        problem = checked[digest]
        if problem is not None:
            problems.append(f"artifact {digest[:12]} ({what}) {problem}")
    return problems


def verify_records(session: Session, artifacts: ArtifactStore | None = None) -> list[str]:
    """Problems found, one line each (an empty list when the records match the audit trail).

    With ``artifacts``, every artifact a row refers to is read and hashed as well.
    """
    unreadable: list[str] = []
    rows = list(iter_rows(session, unreadable))
    problems = _check_rows(session, rows, unreadable)
    problems.extend(check_signatures(session))
    if artifacts is not None:
        problems.extend(_check_artifacts(rows, artifacts))
    return problems
