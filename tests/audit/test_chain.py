"""The audit chain: appends link up, and every kind of tampering is found and named."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import delete, select, update

from labsight.audit import GENESIS, AuditEvent, record, render_export, verify_chain
from labsight.exceptions import InputError
from labsight.store import Database
from labsight.store._rows import AuditHeadRow, AuditRow


@pytest.fixture
def db(tmp_path: Path) -> Database:
    database = Database(f"sqlite:///{tmp_path / 'audit.db'}")
    for i in range(5):
        with database.write() as session:
            record(
                session,
                AuditEvent(
                    action="dataset.ingest",
                    object_type="dataset",
                    object_id=f"d{i}",
                    version=f"{i:016x}",
                    inputs=[f"in{i}"],
                    outputs=[f"out{i}"],
                    details={"rows": i},
                ),
                actor="alice",
            )
    return database


def test_appended_entries_link_into_a_chain(db: Database) -> None:
    with db.read() as session:
        rows = session.scalars(select(AuditRow).order_by(AuditRow.seq)).all()
        report = verify_chain(session)
    assert [r.seq for r in rows] == [1, 2, 3, 4, 5]
    assert rows[0].prev_hash == GENESIS
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(rows))
    assert report.ok
    assert report.entries == 5
    assert report.head == rows[-1].hash


def test_an_altered_field_is_named(db: Database) -> None:
    with db.write() as session:
        session.execute(update(AuditRow).where(AuditRow.seq == 3).values(actor="mallory"))
    with db.read() as session:
        report = verify_chain(session)
    assert not report.ok
    assert report.first_bad == 3
    assert "altered" in (report.problem or "")


def test_a_removed_entry_is_named(db: Database) -> None:
    with db.write() as session:
        session.execute(delete(AuditRow).where(AuditRow.seq == 2))
    with db.read() as session:
        report = verify_chain(session)
    assert not report.ok
    assert report.first_bad == 2
    assert "removed" in (report.problem or "")


def test_reordered_entries_are_found(db: Database) -> None:
    # Swap the contents of entries 2 and 3 while keeping their sequence numbers.
    with db.write() as session:
        two = session.get(AuditRow, 2)
        three = session.get(AuditRow, 3)
        assert two is not None
        assert three is not None
        fields = ["object_id", "version", "inputs", "outputs", "details", "prev_hash", "hash"]
        a = {f: getattr(two, f) for f in fields}
        b = {f: getattr(three, f) for f in fields}
        session.execute(update(AuditRow).where(AuditRow.seq == 2).values(hash="x" * 64))
        session.execute(update(AuditRow).where(AuditRow.seq == 3).values(**a))
        session.execute(update(AuditRow).where(AuditRow.seq == 2).values(**b))
    with db.read() as session:
        report = verify_chain(session)
    assert not report.ok
    assert report.first_bad == 2


def test_removing_the_newest_entries_is_found_through_the_head(db: Database) -> None:
    with db.write() as session:
        session.execute(delete(AuditRow).where(AuditRow.seq >= 4))
    with db.read() as session:
        report = verify_chain(session)
    assert not report.ok
    assert report.first_bad == 4


def test_a_recomputed_forgery_still_breaks_the_link(db: Database) -> None:
    # Altering entry 2 and recomputing its hash breaks the link from entry 3.
    from labsight.audit.chain import entry_hash, row_fields

    with db.write() as session:
        row = session.get(AuditRow, 2)
        assert row is not None
        row.actor = "mallory"
        row.hash = entry_hash(row_fields(row))
    with db.read() as session:
        report = verify_chain(session)
    assert not report.ok
    assert report.first_bad == 3
    assert "does not link" in (report.problem or "")


def test_an_empty_log_verifies(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'empty.db'}")
    with database.read() as session:
        report = verify_chain(session)
    assert report.ok
    assert report.entries == 0


def test_a_failed_transaction_appends_nothing(db: Database) -> None:
    def failing_operation() -> None:
        with db.write() as session:
            record(session, AuditEvent("dataset.ingest", "dataset", "x"), actor="bob")
            raise RuntimeError("the operation failed after the audit entry was written")

    with pytest.raises(RuntimeError, match="operation failed"):
        failing_operation()
    with db.read() as session:
        report = verify_chain(session)
        head = session.get(AuditHeadRow, 1)
    assert report.ok
    assert report.entries == 5
    assert head is not None
    assert head.seq == 5


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_export_holds_every_entry(db: Database, fmt: str) -> None:
    with db.read() as session:
        entries = [r.to_entity() for r in session.scalars(select(AuditRow).order_by(AuditRow.seq))]
    text = render_export(entries, fmt)
    lines = text.strip().splitlines()
    assert len(lines) == 5 + (1 if fmt == "csv" else 0)
    assert entries[-1].hash in lines[-1]


def test_export_refuses_an_unknown_format() -> None:
    with pytest.raises(InputError, match="unknown export format 'xml'; expected csv or jsonl"):
        render_export([], "xml")


def test_concurrent_sqlite_writers_keep_one_linear_chain(
    db: Database, append_concurrently: Callable[..., list[BaseException]]
) -> None:
    assert append_concurrently(db, 4, 10) == []
    with db.read() as session:
        report = verify_chain(session)
    assert report.ok, report.problem
    assert report.entries == 45
