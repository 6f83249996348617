"""Seals: every row that holds state is bound to the audit entry that created or last changed it.

A seal is one digest per field of a row, computed over what the database hands back (so SQLite and
PostgreSQL seal the same content alike), and stored in the ``records`` of the audit entry written in
the same transaction. The entry's hash covers its ``records``, and the chain covers the entry, so a
row edited behind labsight's back no longer matches the newest seal that names it.

Sealing is automatic: a listener notes every sealed row that a write transaction inserts, updates or
deletes, :func:`labsight.audit.record` seals the rows noted so far, and a transaction that would
commit a noted row without an audit entry is refused. A new table that holds state only needs a
:class:`Kind` here.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import String, event, or_, select
from sqlalchemy.orm import Session

from labsight.audit.chain import entry_hash, row_fields
from labsight.exceptions import AuditChainError
from labsight.store._rows import (
    AuditRow,
    Base,
    CampaignRow,
    DatasetRow,
    ExperimentRow,
    ModelRow,
    ResultRow,
    SettingRow,
    SignatureRow,
    TokenRow,
    UserRow,
    VersionRow,
)

__all__ = [
    "KINDS",
    "Kind",
    "Seal",
    "check_sealed",
    "field_digests",
    "pending_seals",
    "seal_all",
]

_PENDING = "labsight_unsealed"
_WRITE = "labsight_write"

Key = tuple[str, ...]
Seal = tuple[str, list[str], dict[str, str] | None]
"""``(kind, key, fields)`` as stored in an entry's ``records``; ``fields`` is None for a deleted row."""


def _canonical(value: Any) -> Any:
    if isinstance(value, datetime):  # SQLite hands back naive datetimes; they were written in UTC
        aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return aware.astimezone(UTC).isoformat(timespec="microseconds")
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    return value


def _digest(value: Any) -> str:
    text = json.dumps(_canonical(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


@dataclass(frozen=True)
class Kind:
    """A table whose rows are sealed: how a row is named, which fields it has, how it is labelled."""

    name: str
    row: type[Base]
    key: Callable[[Session, Any], Key]
    fields: Callable[[Session, Any], dict[str, Any]]
    label: Callable[[Key, dict[str, Any] | None], str]


def _columns(row: Any, *skip: str) -> dict[str, Any]:
    return {c.key: getattr(row, c.key) for c in row.__table__.columns if c.key not in skip}


def _dataset_name(session: Session, dataset_id: int | None) -> str:
    ds = session.get(DatasetRow, dataset_id) if dataset_id is not None else None
    return ds.name if ds is not None else f"#{dataset_id}"


def _campaign_name(session: Session, campaign_id: int) -> str:
    row = session.get(CampaignRow, campaign_id)
    return row.name if row is not None else f"#{campaign_id}"


def _version_fields(session: Session, row: VersionRow) -> dict[str, Any]:
    fields = _columns(row, "id", "dataset_id", "parent_id")
    fields["dataset"] = _dataset_name(session, row.dataset_id)
    parent = session.get(VersionRow, row.parent_id) if row.parent_id is not None else None
    fields["parent"] = (
        f"{_dataset_name(session, parent.dataset_id)}@{parent.version}" if parent else None
    )
    return fields


def _token_fields(session: Session, row: TokenRow) -> dict[str, Any]:
    fields = _columns(row, "id", "user_id")
    user = session.get(UserRow, row.user_id)
    fields["user"] = user.name if user is not None else f"#{row.user_id}"
    return fields


def _with_campaign(session: Session, row: Any) -> dict[str, Any]:
    fields = _columns(row, "id", "campaign_id")
    fields["campaign"] = _campaign_name(session, row.campaign_id)
    return fields


KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        Kind(
            "dataset",
            DatasetRow,
            lambda _s, r: (r.name,),
            lambda _s, r: _columns(r, "id"),
            lambda key, _f: f"dataset {key[0]!r}",
        ),
        Kind(
            "dataset_version",
            VersionRow,
            lambda s, r: (_dataset_name(s, r.dataset_id), r.version),
            _version_fields,
            lambda key, f: (
                f"dataset version {key[0]}@{key[1]}" + (f" (v{f['number']})" if f else "")
            ),
        ),
        Kind(
            "model",
            ModelRow,
            lambda _s, r: (r.model_id,),
            lambda _s, r: _columns(r, "id"),
            lambda key, f: (
                (f"model {f['name']}@v{f['number']} " if f else "model ") + f"(id {key[0]})"
            ),
        ),
        Kind(
            "campaign",
            CampaignRow,
            lambda _s, r: (r.name,),
            lambda _s, r: _columns(r, "id"),
            lambda key, _f: f"campaign {key[0]!r}",
        ),
        Kind(
            "experiment",
            ExperimentRow,
            lambda s, r: (_campaign_name(s, r.campaign_id), r.experiment_id),
            _with_campaign,
            lambda key, _f: f"experiment {key[1]} of campaign {key[0]!r}",
        ),
        Kind(
            "result",
            ResultRow,
            lambda s, r: (_campaign_name(s, r.campaign_id), str(r.id)),
            _with_campaign,
            lambda key, f: (
                f"result #{key[1]}"
                + (f" (experiment {f['experiment_id']})" if f else "")
                + f" of campaign {key[0]!r}"
            ),
        ),
        Kind(
            "user",
            UserRow,
            lambda _s, r: (r.name,),
            lambda _s, r: _columns(r),
            lambda key, _f: f"user {key[0]!r}",
        ),
        Kind(
            "token",
            TokenRow,
            lambda _s, r: (r.token_id,),
            _token_fields,
            lambda key, f: f"token {key[0]}" + (f" of user {f['user']!r}" if f else ""),
        ),
        Kind(
            "signature",
            SignatureRow,
            lambda _s, r: (r.signature_id,),
            lambda _s, r: _columns(r, "id"),
            lambda key, f: (
                f"signature {key[0]}"
                + (f" ({f['meaning']} by {f['signer']!r} on {f['record_label']})" if f else "")
            ),
        ),
        Kind(
            "setting",
            SettingRow,
            lambda _s, r: (r.key,),
            lambda _s, r: _columns(r, "id"),
            lambda key, _f: f"setting {key[0]!r}",
        ),
    )
}
"""Every sealed table, by kind name."""

_BY_ROW = {k.row: k for k in KINDS.values()}


def field_digests(session: Session, kind: Kind, row: Any) -> dict[str, str]:
    """One digest per field of ``row``, over its content as stored."""
    return {name: _digest(value) for name, value in kind.fields(session, row).items()}


# -- noting what a write transaction changes -------------------------------------------------------


@event.listens_for(Session, "after_flush")
def _note_changes(session: Session, _context: Any) -> None:
    if not session.info.get(_WRITE):
        return
    pending: dict[int, tuple[Any, bool]] = session.info.setdefault(_PENDING, {})
    for obj in session.new:
        if type(obj) in _BY_ROW:
            pending[id(obj)] = (obj, False)
    for obj in session.dirty:
        if type(obj) in _BY_ROW and session.is_modified(obj, include_collections=False):
            pending[id(obj)] = (obj, False)
    for obj in session.deleted:
        if type(obj) in _BY_ROW:
            kind = _BY_ROW[type(obj)]
            pending[id(obj)] = ((kind.name, kind.key(session, obj)), True)


@event.listens_for(Session, "before_commit")
def _refuse_unsealed(session: Session) -> None:
    if not session.info.get(_WRITE):
        return
    session.flush()
    if session.info.get(_PENDING):
        names = [
            (f"{_BY_ROW[type(obj)].name}" if not deleted else f"{obj[0]}")
            for obj, deleted in session.info[_PENDING].values()
        ]
        session.info[_PENDING] = {}
        raise AuditChainError(
            f"refused to store a change to {', '.join(sorted(set(names)))} "
            "without an audit entry (a labsight bug)",
            hint="Nothing was changed; please report this",
        )


def pending_seals(session: Session) -> list[Seal]:
    """Seal every sealed row changed so far in this transaction, and forget them."""
    session.flush()
    pending: dict[int, tuple[Any, bool]] = session.info.pop(_PENDING, {})
    seals: list[Seal] = []
    for obj, deleted in pending.values():
        if deleted:
            kind_name, key = obj
            seals.append((kind_name, list(key), None))
            continue
        kind = _BY_ROW[type(obj)]
        session.refresh(obj)  # seal what the database holds, not what Python handed it
        seals.append((kind.name, list(kind.key(session, obj)), field_digests(session, kind, obj)))
    return sorted(seals, key=lambda s: (s[0], s[1]))


def iter_rows(
    session: Session, unreadable: list[str] | None = None
) -> Iterator[tuple[Kind, Key, Any]]:
    """Every sealed row in the database, with its kind and key.

    A row with a value the database driver cannot convert (a timestamp edited to text …) cannot be
    loaded at all: it is named in ``unreadable``, with its field, and the others are still yielded.
    """
    for kind in KINDS.values():
        try:
            rows = list(session.scalars(select(kind.row)))
        except (ValueError, TypeError):
            rows = _readable_rows(session, kind, unreadable if unreadable is not None else [])
        for row in rows:
            yield kind, kind.key(session, row), row


def _readable_rows(session: Session, kind: Kind, unreadable: list[str]) -> list[Any]:
    table = kind.row.__table__
    rows: list[Any] = []
    for (pk,) in session.execute(select(table.c.id).order_by(table.c.id)):
        try:
            rows.append(session.get(kind.row, pk))
            continue
        except (ValueError, TypeError):
            pass
        for column in table.columns:
            try:
                session.execute(select(column).where(table.c.id == pk)).all()
            except (ValueError, TypeError) as exc:
                raw = session.execute(select(column.cast(String)).where(table.c.id == pk)).scalar()
                unreadable.append(
                    f"a {kind.name.replace('_', ' ')} row (id {pk}): field {column.key!r} "
                    f"cannot be read (now {str(raw)[:60]!r}; {type(exc).__name__}): "
                    "it was changed outside labsight"
                )
                break
    return rows


def seal_all(session: Session) -> list[Seal]:
    """Seals for every sealed row as it is now (used once, when a workspace is first upgraded)."""
    return sorted(
        (
            (kind.name, list(key), field_digests(session, kind, row))
            for kind, key, row in iter_rows(session)
        ),
        key=lambda s: (s[0], s[1]),
    )


# -- checking one object before it is used ---------------------------------------------------------


def _refuse_missing(
    session: Session,
    newest: dict[tuple[str, Key], tuple[int, dict[str, str] | None]],
    rows: Sequence[Any],
    present: Mapping[str, Collection[Key]],
) -> None:
    there = {kind: set(keys) for kind, keys in present.items()}
    for row in rows:
        kind = _BY_ROW[type(row)]
        there.setdefault(kind.name, set()).add(kind.key(session, row))
    for (kind_name, key), (seq, fields) in sorted(newest.items(), key=lambda item: item[1][0]):
        if fields is not None and kind_name in present and key not in there[kind_name]:
            raise AuditChainError(
                f"{KINDS[kind_name].label(key, None)}, recorded by audit entry {seq}, is missing: "
                "it was deleted outside labsight",
                hint="Run `labsight audit verify`; restore the database from a backup",
            )


def _newest_seals(
    session: Session, object_type: str, object_id: str
) -> dict[tuple[str, Key], tuple[int, dict[str, str] | None]]:
    """The newest seal of each row that entries about one object sealed (and the upgrade seal)."""
    query = (
        select(AuditRow)
        .where(
            or_(
                (AuditRow.object_type == object_type) & (AuditRow.object_id == object_id),
                AuditRow.object_type == "audit",
            )
        )
        .where(AuditRow.records.is_not(None))
        .order_by(AuditRow.seq)
    )
    newest: dict[tuple[str, Key], tuple[int, dict[str, str] | None]] = {}
    for entry in session.scalars(query):
        if entry_hash(row_fields(entry)) != entry.hash:
            raise AuditChainError(
                f"audit entry {entry.seq} ({entry.action} {entry.object_id}) was altered",
                hint="Run `labsight audit verify`; restore the database from a backup",
            )
        for kind, key, fields in json.loads(entry.records or "[]"):
            newest[(kind, tuple(key))] = (entry.seq, fields)
    return newest


def check_sealed(
    session: Session,
    rows: Sequence[Any],
    object_type: str,
    object_id: str,
    *,
    present: Mapping[str, Collection[Key]] | None = None,
) -> None:
    """Refuse to use ``rows`` of one object when any differs from the entry that last sealed it.

    This is the quick check made before a dataset version, a model or a campaign is used (its
    entries are found by the object's type and name); ``labsight audit verify`` makes the full one
    (the chain, every row, every artifact). ``present`` names, per kind, the keys of every row of
    that kind the object has in the database now (the rows are the ones used, and are always
    counted as present): a row of that kind the audit trail recorded and never deleted, but which
    is not there, was deleted outside labsight (a newest version, a result) and is refused too.

    Raises
    ------
    AuditChainError
        When a row was changed, added or deleted outside labsight.
    """
    newest = _newest_seals(session, object_type, object_id)
    if present is not None:
        _refuse_missing(session, newest, rows, present)
    for row in rows:
        kind = _BY_ROW[type(row)]
        key = kind.key(session, row)
        label = kind.label(key, kind.fields(session, row))
        seq, fields = newest.get((kind.name, key), (0, None))
        if fields is None:
            raise AuditChainError(
                f"{label} has no audit entry that recorded it: it was added outside labsight",
                hint="Run `labsight audit verify`; restore the database from a backup",
            )
        now = field_digests(session, kind, row)
        changed = sorted(n for n in set(now) | set(fields) if now.get(n) != fields.get(n))
        if changed:
            raise AuditChainError(
                f"{label} was changed outside labsight "
                f"(field {', '.join(changed)} differs from audit entry {seq})",
                hint="Run `labsight audit verify`; restore the database from a backup",
            )
