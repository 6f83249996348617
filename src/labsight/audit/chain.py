"""The hash chain: how an entry's hash is computed, and how the whole chain is checked."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from labsight.store._rows import AuditHeadRow, AuditRow

__all__ = ["GENESIS", "HASHED_FIELDS", "ChainReport", "entry_hash", "verify_chain"]

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

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "entries": self.entries,
            "head": self.head,
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
