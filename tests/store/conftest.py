"""Fixtures of the store's own tests: one migrated database per test, on SQLite and on PostgreSQL.

The PostgreSQL half uses the shared ``pg_url`` fixture (a fresh schema on $LABSIGHT_TEST_PG_URL) and
is marked ``postgres``; it skips where no server is configured, as the other PostgreSQL tests do.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from labsight.audit import AuditEvent, record
from labsight.store import Database

Write = Callable[[], AbstractContextManager[Session]]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A database at the newest schema: SQLite in ``tmp_path``, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'store.db'}"
    else:
        url = request.getfixturevalue("pg_url")
    database = Database(url)
    yield database
    database.dispose()


@pytest.fixture
def write(db: Database) -> Write:
    """``with write() as session:`` one write transaction that ends with an audit entry, as every
    labsight change does (the seals refuse a commit of a changed row without one). A block that
    raises rolls back and records nothing."""

    @contextmanager
    def transaction() -> Iterator[Session]:
        with db.write() as session:
            yield session
            record(session, AuditEvent("test.write", "test", "store"), "tester")

    return transaction
