"""The one writer of the audit log. Nothing else in labsight inserts, updates or deletes audit rows."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from labsight.audit.chain import entry_hash
from labsight.audit.events import AuditEvent
from labsight.audit.seals import Seal, pending_seals
from labsight.exceptions import AuditChainError, InputError
from labsight.store._rows import AuditHeadRow, AuditRow
from labsight.store.accounts import get_setting
from labsight.store.entities import AuditEntry

__all__ = ["record"]


def _json(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


# In regulated mode every change carries a reason; these entries record what a person did not
# choose to change (a login, a refusal, a seal, a checkpoint), so they need none.
_NO_REASON_NEEDED = frozenset(
    {
        "user.login",
        "user.login_failed",
        "user.login_refused",
        "record.sign_refused",
        "audit.seal",
        "audit.checkpoint",
        "design.suggest",
    }
)


def _seal_order(seal: Seal) -> tuple[str, list[str]]:
    return seal[0], seal[1]


def record(
    session: Session, event: AuditEvent, actor: str, *, seals: list[Seal] | None = None
) -> AuditEntry:
    """Append ``event`` to the chain inside the caller's transaction.

    The caller's transaction holds the write lock (SQLite ``BEGIN IMMEDIATE``; PostgreSQL row lock on
    the head), so entries are appended one at a time and the chain stays linear. The entry commits or
    rolls back together with the change it describes.

    Every sealed row (dataset, version, model, campaign, experiment, result) that the transaction
    changed so far is sealed into the entry's ``records``: one digest per field, over what the
    database holds (see :mod:`labsight.audit.seals`). ``seals`` adds seals made by the caller
    (the one-time sealing of an upgraded workspace).
    """
    entering = event.action == "config.set" and event.object_id == "regulated"
    if (
        event.action not in _NO_REASON_NEEDED
        and not (entering and event.old_value != "true")  # the switch itself: not yet regulated
        and not (event.reason or "").strip()
        and get_setting(session, "regulated") == "true"
    ):
        raise InputError(
            f"the workspace is in regulated mode: {event.action} of {event.object_id!r} needs a "
            "reason; nothing was changed",
            hint="Pass --reason 'why' (in the API: \"reason\")",
        )
    head = session.get(AuditHeadRow, 1, with_for_update=True)
    if head is None:  # the migration seeds it; a missing head means the log was tampered with
        raise AuditChainError(
            "the audit chain head is missing; nothing can be recorded",
            hint="Run `labsight audit verify` and restore the database from a backup",
        )
    fields = {
        "seq": head.seq + 1,
        "created": datetime.now(UTC).isoformat(timespec="microseconds"),
        "actor": actor,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "version": event.version,
        "old_value": event.old_value,
        "new_value": event.new_value,
        "reason": event.reason,
        "inputs": _json(list(event.inputs)),
        "outputs": _json(list(event.outputs)),
        "details": _json(event.details),
        "prev_hash": head.hash,
        "records": _json(sorted(pending_seals(session) + (seals or []), key=_seal_order)),
    }
    digest = entry_hash(fields)
    row = AuditRow(**fields, hash=digest)
    session.add(row)
    head.seq, head.hash = row.seq, digest
    session.flush()
    return row.to_entity()
