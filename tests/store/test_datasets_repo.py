"""The datasets table and its versions, through ``labsight.store.datasets`` against a real database.

Each public function is called directly with a session (SQLite, and PostgreSQL where one is
configured): appends and their numbering, lineage, lookups by name, ``vN`` and hash prefix, listing
and its order, tombstones, the labsight errors for what is missing or taken, and what a row holds.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from labsight.exceptions import AuditChainError, ConflictError, InputError, NotFoundError
from labsight.store import Database
from labsight.store import datasets as repo
from labsight.store._rows import DatasetRow, VersionRow
from labsight.store.entities import VersionRecord

Write = Callable[[], AbstractContextManager[Session]]

COLUMNS: list[dict[str, Any]] = [
    {"name": "temperature [degC]", "dtype": "Float64", "unit": "degC", "role": "feature"},
    {"name": "yield [%]", "dtype": "Float64", "unit": "%", "role": "target", "notes": ["µ", None]},
]


def new(
    version: str, *, parent: VersionRecord | None = None, rows: int = 6, **extra: Any
) -> repo.NewVersion:
    """A version to append; ``version`` stands in for the content hash the workspace computes."""
    fields: dict[str, Any] = {
        "sha256": version.ljust(64, "0"),
        "rows": rows,
        "columns": COLUMNS,
        "operation": "ingest" if parent is None else "clean",
        "operation_params": {"delimiter": ",", "nested": {"k": [1, 2.5, None]}},
        "findings": [{"check": "missing", "column": "yield [%]", "rows": [4]}],
        "source": {"path": "reactions.csv", "size": 123} if parent is None else None,
    }
    fields.update(extra)
    return repo.NewVersion(version=version, parent=parent, **fields)


def insert(write: Write, make: Callable[[Session], object]) -> None:
    """Add the row ``make`` builds, past the repository's own checks (what the schema refuses)."""
    with write() as session:
        session.add(make(session))
        session.flush()


def append(write: Write, name: str, version: str, **kw: Any) -> VersionRecord:
    with write() as session:
        record, created = repo.add_version(session, name, new(version, **kw), "alice")
    assert created
    return record


# --- names and references -------------------------------------------------------------------------


def test_validate_name_returns_a_good_name_and_refuses_a_bad_one() -> None:
    assert repo.validate_name("reactions-2024_v1.2") == "reactions-2024_v1.2"
    with pytest.raises(InputError):
        repo.validate_name("../etc/passwd")
    with pytest.raises(InputError):
        repo.validate_name("")


@pytest.mark.parametrize(
    ("ref", "parsed"),
    [
        ("reactions", ("reactions", None)),
        ("reactions@v2", ("reactions", "v2")),
        ("reactions@3f2a9c", ("reactions", "3f2a9c")),
        ("reactions@", ("reactions", None)),
    ],
)
def test_parse_ref_splits_name_and_selector(ref: str, parsed: tuple[str, str | None]) -> None:
    assert repo.parse_ref(ref) == parsed


# --- appending --------------------------------------------------------------------------------------


def test_the_first_version_creates_the_dataset_and_holds_what_was_given(
    db: Database, write: Write
) -> None:
    before = datetime.now(UTC) - timedelta(seconds=1)
    with write() as session:
        record, created = repo.add_version(session, "reactions", new("a1b2c3d4e5f60718"), "alice")
    assert created
    assert record.dataset == "reactions"
    assert record.ref == "reactions@a1b2c3d4e5f60718"
    assert record.number == 1
    assert record.sha256 == "a1b2c3d4e5f60718".ljust(64, "0")
    assert record.rows == 6
    assert record.operation == "ingest"
    assert record.parent is None
    assert record.created_by == "alice"
    assert record.created.tzinfo is not None
    assert before <= record.created <= datetime.now(UTC) + timedelta(seconds=1)
    # What the database hands back, in a new session, is what was stored (JSON included).
    with db.read() as session:
        stored = repo.resolve_version(session, "reactions")
        dataset = repo.get_dataset(session, "reactions")
    assert stored == record
    assert stored.columns == COLUMNS
    assert stored.operation_params == {"delimiter": ",", "nested": {"k": [1, 2.5, None]}}
    assert stored.findings == [{"check": "missing", "column": "yield [%]", "rows": [4]}]
    assert stored.source == {"path": "reactions.csv", "size": 123}
    assert stored.created.utcoffset() == timedelta(0)
    assert dataset.name == "reactions"
    assert dataset.created_by == "alice"
    assert dataset.versions == 1
    assert dataset.latest == "a1b2c3d4e5f60718"
    assert not dataset.deleted
    assert dataset.deleted_at is None
    assert dataset.deleted_by is None


def test_storing_content_the_dataset_holds_returns_the_existing_version(
    db: Database, write: Write
) -> None:
    first = append(write, "reactions", "a1b2c3d4e5f60718")
    with write() as session:
        again, created = repo.add_version(session, "reactions", new("a1b2c3d4e5f60718"), "bob")
    assert not created
    assert again == first  # still alice's, still v1
    with db.read() as session:
        assert session.scalar(select(func.count(VersionRow.id))) == 1
        assert repo.get_dataset(session, "reactions").versions == 1


def test_versions_are_numbered_in_order_and_record_their_parent(db: Database, write: Write) -> None:
    v1 = append(write, "reactions", "1111aaaa00000000")
    v2 = append(write, "reactions", "2222bbbb00000000", parent=v1)
    v3 = append(write, "reactions", "3333cccc00000000", parent=v2)
    assert [v.number for v in (v1, v2, v3)] == [1, 2, 3]
    assert v2.parent == v1.ref
    assert v3.parent == v2.ref
    assert v2.operation == "clean"
    assert v2.source is None
    with db.read() as session:
        history = repo.dataset_history(session, "reactions")
        dataset = repo.get_dataset(session, "reactions")
    assert history == [v1, v2, v3]
    assert dataset.versions == 3
    assert dataset.latest == v3.version


def test_a_parent_in_another_dataset_is_named_with_that_dataset(db: Database, write: Write) -> None:
    raw = append(write, "raw", "aaaa000000000001")
    derived = append(write, "derived", "bbbb000000000002", parent=raw)
    assert derived.number == 1  # numbering is per dataset
    assert derived.parent == "raw@aaaa000000000001"
    with db.read() as session:
        assert repo.resolve_version(session, "derived").parent == "raw@aaaa000000000001"


def test_the_same_content_in_two_datasets_is_two_versions(db: Database, write: Write) -> None:
    a = append(write, "a", "abcdef0123456789")
    b = append(write, "b", "abcdef0123456789")
    assert (a.dataset, b.dataset) == ("a", "b")
    with db.read() as session:
        assert session.scalar(select(func.count(VersionRow.id))) == 2


def test_a_change_without_an_audit_entry_is_refused_and_nothing_is_stored(db: Database) -> None:
    with pytest.raises(AuditChainError, match="without an audit entry"), db.write() as session:
        repo.add_version(session, "reactions", new("a1b2c3d4e5f60718"), "alice")
    with db.read() as session:
        assert repo.list_datasets(session, include_deleted=True) == []
        assert session.scalar(select(func.count(VersionRow.id))) == 0


def test_a_failed_transaction_leaves_neither_dataset_nor_version(
    db: Database, write: Write
) -> None:
    def fail_midway() -> None:
        with write() as session:
            repo.add_version(session, "reactions", new("a1b2c3d4e5f60718"), "alice")
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        fail_midway()
    with db.read() as session, pytest.raises(NotFoundError):
        repo.get_dataset(session, "reactions", include_deleted=True)


# --- lookups ------------------------------------------------------------------------------------------


@pytest.fixture
def three(write: Write) -> list[VersionRecord]:
    """Dataset ``reactions`` with three versions; the first two share the prefix ``abcd``."""
    v1 = append(write, "reactions", "abcd000000000001")
    v2 = append(write, "reactions", "abcd000000000002", parent=v1)
    v3 = append(write, "reactions", "ef01000000000003", parent=v2)
    return [v1, v2, v3]


def test_resolve_version_by_latest_number_and_hash(
    db: Database, three: list[VersionRecord]
) -> None:
    v1, v2, v3 = three
    with db.read() as session:
        assert repo.resolve_version(session, "reactions") == v3
        assert repo.resolve_version(session, "reactions@v1") == v1
        assert repo.resolve_version(session, "reactions@v2") == v2
        assert repo.resolve_version(session, "reactions@ef01") == v3
        assert repo.resolve_version(session, "reactions@abcd000000000002") == v2
        assert repo.resolve_version(session, "reactions@abcd000000000001") == v1


def test_a_prefix_that_matches_two_versions_is_ambiguous(
    db: Database, three: list[VersionRecord]
) -> None:
    with db.read() as session, pytest.raises(InputError, match="ambiguous") as caught:
        repo.resolve_version(session, "reactions@abcd")
    assert "2 versions match" in str(caught.value)


@pytest.mark.parametrize("selector", ["abc", "ABCD", "latest", "v", "v1x", "-1", "abcd!"])
def test_an_unreadable_selector_is_an_input_error(
    db: Database, three: list[VersionRecord], selector: str
) -> None:
    with db.read() as session, pytest.raises(InputError, match="cannot read the version"):
        repo.resolve_version(session, f"reactions@{selector}")


@pytest.mark.parametrize("ref", ["reactions@v4", "reactions@v0", "reactions@9999"])
def test_a_version_the_dataset_lacks_is_not_found(
    db: Database, three: list[VersionRecord], ref: str
) -> None:
    with db.read() as session, pytest.raises(NotFoundError, match="has no version") as caught:
        repo.resolve_version(session, ref)
    assert isinstance(caught.value, KeyError)  # callers may catch it as a missing key
    assert caught.value.hint == "See `labsight dataset show reactions`"


def test_an_unknown_dataset_is_not_found_and_the_known_ones_are_named(
    db: Database, write: Write
) -> None:
    append(write, "zeta", "aaaa000000000001")
    append(write, "alpha", "bbbb000000000002")
    with db.read() as session:
        for call in (
            lambda: repo.get_dataset(session, "nope"),
            lambda: repo.resolve_version(session, "nope@v1"),
            lambda: repo.dataset_history(session, "nope"),
            lambda: repo.version_keys(session, "nope"),
            lambda: repo.dataset_row(session, "nope"),
        ):
            with pytest.raises(NotFoundError, match="no dataset named 'nope'") as caught:
                call()
            assert caught.value.hint is not None
            assert "Known datasets: alpha, zeta." in caught.value.hint


def test_with_no_datasets_the_hint_says_none_yet(db: Database) -> None:
    with db.read() as session, pytest.raises(NotFoundError) as caught:
        repo.get_dataset(session, "nope")
    assert "none yet" in (caught.value.hint or "")


def test_dataset_row_version_row_and_version_keys_name_the_stored_rows(
    db: Database, three: list[VersionRecord]
) -> None:
    v1, _, v3 = three
    with db.read() as session:
        row = repo.dataset_row(session, "reactions")
        vrow = repo.version_row(session, v3)
        keys = repo.version_keys(session, "reactions")
        assert isinstance(row, DatasetRow)
        assert row.name == "reactions"
        assert row.created_by == "alice"
        assert isinstance(vrow, VersionRow)
        assert (vrow.dataset_id, vrow.version, vrow.number) == (row.id, v3.version, 3)
        assert vrow.parent_id == repo.version_row(session, three[1]).id
        assert repo.version_row(session, v1).parent_id is None
    assert sorted(keys) == [("reactions", v.version) for v in three]


# --- listing ------------------------------------------------------------------------------------------


def test_list_datasets_is_ordered_by_name_with_counts(db: Database, write: Write) -> None:
    # Lower case only: PostgreSQL orders by the server's collation, which may fold case.
    for i, name in enumerate(("zeta", "beta-2", "alpha", "beta")):
        append(write, name, f"{i:04x}000000000000")
    b1 = append(write, "beta", "beef000000000001")
    with db.read() as session:
        listed = repo.list_datasets(session)
        assert listed == [repo.get_dataset(session, d.name) for d in listed]
    assert [d.name for d in listed] == ["alpha", "beta", "beta-2", "zeta"]
    assert {d.name: d.versions for d in listed}["beta"] == 2
    assert {d.name: d.latest for d in listed}["beta"] == b1.version


def test_an_empty_store_lists_nothing(db: Database) -> None:
    with db.read() as session:
        assert repo.list_datasets(session) == []
        assert repo.list_datasets(session, include_deleted=True) == []


# --- tombstones ---------------------------------------------------------------------------------------


def test_a_tombstone_hides_the_dataset_and_keeps_its_versions(
    db: Database, write: Write, three: list[VersionRecord]
) -> None:
    append(write, "other", "aaaa000000000009")
    with write() as session:
        gone = repo.tombstone(session, "reactions", "bob", "entered twice")
    assert gone.deleted
    assert gone.deleted_by == "bob"
    assert gone.deleted_at is not None
    assert gone.deleted_at.tzinfo is not None
    assert gone.versions == 3
    assert gone.latest == three[-1].version
    with db.read() as session:
        assert [d.name for d in repo.list_datasets(session)] == ["other"]
        everything = repo.list_datasets(session, include_deleted=True)
        assert [(d.name, d.deleted) for d in everything] == [("other", False), ("reactions", True)]
        assert repo.get_dataset(session, "reactions", include_deleted=True) == gone
        row = session.scalar(select(DatasetRow).where(DatasetRow.name == "reactions"))
        assert row is not None
        assert row.delete_reason == "entered twice"
        assert row.deleted_by == "bob"
        assert session.scalar(select(func.count(VersionRow.id))) == 4  # versions stay
        with pytest.raises(NotFoundError, match=r"\(it was deleted\)") as caught:
            repo.get_dataset(session, "reactions")
        assert "Known datasets: other." in (caught.value.hint or "")
        for call in (
            lambda: repo.resolve_version(session, "reactions@v1"),
            lambda: repo.dataset_history(session, "reactions"),
            lambda: repo.dataset_row(session, "reactions"),
            lambda: repo.version_keys(session, "reactions"),
        ):
            with pytest.raises(NotFoundError, match="it was deleted"):
                call()


def test_the_name_of_a_deleted_dataset_stays_reserved(
    db: Database, write: Write, three: list[VersionRecord]
) -> None:
    with write() as session:
        repo.tombstone(session, "reactions", "bob", None)
    with (
        pytest.raises(ConflictError, match=r"was deleted on \d{4}-\d\d-\d\d by bob") as caught,
        write() as s,
    ):
        repo.add_version(s, "reactions", new("9999000000000000"), "alice")
    assert "choose another --name" in (caught.value.hint or "")
    with db.read() as session:
        assert repo.get_dataset(session, "reactions", include_deleted=True).versions == 3
        row = session.scalar(select(DatasetRow).where(DatasetRow.name == "reactions"))
        assert row is not None
        assert row.delete_reason is None


def test_a_dataset_is_deleted_once(db: Database, write: Write, three: list[VersionRecord]) -> None:
    with write() as session:
        first = repo.tombstone(session, "reactions", "bob", "once")
    with pytest.raises(NotFoundError, match="it was deleted"), write() as session:
        repo.tombstone(session, "reactions", "carol", "twice")
    with db.read() as session:
        assert repo.get_dataset(session, "reactions", include_deleted=True) == first


def test_deleting_an_unknown_dataset_is_not_found(db: Database, write: Write) -> None:
    with pytest.raises(NotFoundError, match="no dataset named 'ghost'"), write() as session:
        repo.tombstone(session, "ghost", "bob", None)


# --- what the schema itself refuses -------------------------------------------------------------


def test_the_database_refuses_a_second_dataset_of_one_name(db: Database, write: Write) -> None:
    append(write, "reactions", "aaaa000000000001")
    with pytest.raises(IntegrityError):
        insert(
            write, lambda _: DatasetRow(name="reactions", created=datetime.now(UTC), created_by="x")
        )
    with db.read() as session:
        assert session.scalar(select(func.count(DatasetRow.id))) == 1


def test_the_database_refuses_two_versions_with_one_number(db: Database, write: Write) -> None:
    """The guard behind ``max(number) + 1`` when two writers append at once."""
    v1 = append(write, "reactions", "aaaa000000000001")
    with pytest.raises(IntegrityError):
        insert(
            write,
            lambda session: VersionRow(
                dataset_id=repo.version_row(session, v1).dataset_id,
                version="bbbb000000000002",
                number=1,
                sha256="0" * 64,
                rows=0,
                columns=[],
                operation="ingest",
                operation_params={},
                findings=[],
                created=datetime.now(UTC),
                created_by="x",
            ),
        )
    with db.read() as session:
        assert repo.dataset_history(session, "reactions") == [v1]
