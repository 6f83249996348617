"""The hash chain: how an entry's hash is computed, and how the whole chain is checked."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from labsight.exceptions import InputError
from labsight.store._rows import AuditHeadRow, AuditRow
from labsight.store.entities import AuditEntry

__all__ = [
    "GENESIS",
    "HASHED_FIELDS",
    "ChainReport",
    "check_anchor",
    "entry_hash",
    "parse_anchor",
    "verify_chain",
]

GENESIS = "0" * 64
"""The ``prev_hash`` of the first entry."""

HASHED_FIELDS = (
    "seq",
    "created",
    "actor",
    "action",
    "object_type",
    "object_id",
    "version",
    "old_value",
    "new_value",
    "reason",
    "inputs",
    "outputs",
    "details",
    "prev_hash",
    "records",
)


def entry_hash(fields: dict[str, Any]) -> str:
    """sha256 over the canonical JSON of an entry's fields (all but ``hash`` itself).

    ``records`` (the seals of the rows the entry changed) is hashed when present; entries written
    before seals existed have none and keep the hash they were written with.
    """
    payload = {name: fields[name] for name in HASHED_FIELDS}
    if payload["records"] is None:
        del payload["records"]
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def row_fields(row: AuditRow) -> dict[str, Any]:
    return {name: getattr(row, name) for name in HASHED_FIELDS}


@dataclass(frozen=True)
class ChainReport:
    """The result of :func:`verify_chain`.

    ``ok`` is True when every entry hashes to its stored hash, links to the one before it, and the
    sequence has no gaps up to the recorded head. Otherwise ``first_bad`` is the sequence number of
    the first entry that was altered, removed or reordered, and ``problem`` says which.
    """

    ok: bool
    entries: int
    head: str
    first_bad: int | None = None
    problem: str | None = None
    record_problems: tuple[str, ...] = ()
    """Dataset versions or tombstones that do not match the entries that recorded them."""

    @property
    def anchor(self) -> str:
        """``SEQ:HASH`` of the chain's head: keep it outside the database and pass it to a later
        verify (``--anchor``) to find a chain rebuilt whole."""
        return f"{self.entries}:{self.head[:16]}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "entries": self.entries,
            "head": self.head,
            "anchor": self.anchor,
            "first_bad": self.first_bad,
            "problem": self.problem,
            "record_problems": list(self.record_problems),
        }


def _check(rows: Iterable[AuditRow], head: AuditHeadRow | None) -> ChainReport:
    prev = GENESIS
    expected_seq = 1
    count = 0
    for row in rows:
        count += 1
        if row.seq != expected_seq:
            return ChainReport(
                False,
                count,
                prev,
                expected_seq,
                f"entry {expected_seq} is missing (the next one found is {row.seq}): "
                "an entry was removed",
            )
        if row.prev_hash != prev:
            return ChainReport(
                False,
                count,
                prev,
                row.seq,
                f"entry {row.seq} does not link to entry {row.seq - 1}: "
                "entries were removed, inserted or reordered",
            )
        if entry_hash(row_fields(row)) != row.hash:
            return ChainReport(
                False,
                count,
                prev,
                row.seq,
                f"entry {row.seq} ({row.action} {row.object_id}) was altered after it was written",
            )
        prev = row.hash
        expected_seq += 1
    last = expected_seq - 1
    if head is not None and (head.seq != last or head.hash != prev):
        bad = last + 1 if head.seq > last else head.seq
        return ChainReport(
            False,
            count,
            prev,
            bad,
            f"the chain ends at entry {last} but the recorded head is entry {head.seq}: "
            "entries at the end were removed or the head was altered",
        )
    if head is None:
        return ChainReport(False, count, prev, 1, "the chain head record is missing")
    return ChainReport(True, count, prev)


def verify_chain(session: Session) -> ChainReport:
    """Recompute the whole chain from the database."""
    head = session.get(AuditHeadRow, 1)
    rows = session.scalars(select(AuditRow).order_by(AuditRow.seq)).yield_per(1000)
    return _check(rows, head)


_ANCHOR = re.compile(r"([1-9][0-9]*):([0-9a-f]{16,64})")


def entries(
    session: Session,
    *,
    limit: int | None = None,
    action: str | None = None,
    object_id: str | None = None,
    actor: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[AuditEntry]:
    """The log's entries, oldest first (the newest ``limit`` when given), of one ``action``, one
    ``object_id`` and one ``actor`` when given, written from ``since`` up to ``until`` (UTC; a
    date without a zone is read as UTC)."""
    query = select(AuditRow)
    if action:
        query = query.where(AuditRow.action == action)
    if object_id:
        query = query.where(AuditRow.object_id == object_id)
    if actor:
        query = query.where(AuditRow.actor == actor)
    if since is not None:  # entries store UTC ISO text, which sorts as time does
        query = query.where(AuditRow.created >= _utc_text(since))
    if until is not None:
        query = query.where(AuditRow.created <= _utc_text(until))
    query = query.order_by(AuditRow.seq.desc())
    if limit:
        query = query.limit(limit)
    return [r.to_entity() for r in session.scalars(query)][::-1]


def _utc_text(moment: datetime) -> str:
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).isoformat(timespec="microseconds")


def parse_anchor(anchor: str) -> tuple[int, str]:
    """``SEQ:HASH`` (the hash in full or its first 16 or more hex digits) → ``(seq, hash)``."""
    match = _ANCHOR.fullmatch(anchor.strip().lower())
    if match is None:
        raise InputError(
            f"cannot read the anchor {anchor[:80]!r}",
            expected="SEQ:HASH, as `labsight audit verify` prints it (e.g. 91:3f2a9c0d1e2b4a5f)",
        )
    return int(match.group(1)), match.group(2)


def check_anchor(session: Session, anchor: tuple[int, str]) -> str | None:
    """What is wrong with the chain against a head kept outside the database (None when it holds).

    A chain held only in the database can be rebuilt whole, every hash recomputed, by someone who
    controls the database; an entry's hash written down elsewhere (a lab notebook, a signed report,
    another system) cannot be. The entry it names (``anchor``, as :func:`parse_anchor` reads it)
    must still be there with that hash.
    """
    seq, digest = anchor
    row = session.get(AuditRow, seq)
    if row is None:
        return f"entry {seq}, the kept anchor, is missing: the chain was cut back"
    if not row.hash.startswith(digest):
        return (
            f"entry {seq} no longer has the kept anchor's hash {digest[:16]} (now "
            f"{row.hash[:16]}): the chain up to it was rewritten"
        )
    return None
