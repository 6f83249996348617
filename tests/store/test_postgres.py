"""The same store on a real PostgreSQL server (the team set-up).

Needs $LABSIGHT_TEST_PG_URL (set by .ci/run); each test gets its own schema.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

import labsight
from labsight.audit import verify_chain
from labsight.store import Database
from labsight.store._rows import Base

pytestmark = pytest.mark.postgres


def test_migrations_match_the_orm_on_postgres(pg_url: str) -> None:
    db = Database(pg_url)
    with db.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
    db.dispose()


def test_concurrent_writers_keep_one_linear_chain(
    pg_url: str, append_concurrently: Callable[..., list[BaseException]]
) -> None:
    db = Database(pg_url)
    assert append_concurrently(db, 4, 10) == []
    with db.read() as session:
        report = verify_chain(session)
    assert report.ok, report.problem
    assert report.entries == 40
    db.dispose()


def test_workspace_round_trip_on_postgres(pg_url: str, tmp_path: Path, yield_csv: Path) -> None:
    ws = labsight.Workspace(tmp_path / "home", db_url=pg_url, user="team")
    first = ws.ingest(yield_csv, name="reactions")
    again = ws.ingest(yield_csv, name="reactions")
    assert again.version == first.version
    assert not again.created
    cleaned = first.clean(impute="median")
    assert cleaned.record.parent == first.ref
    assert cleaned.to_polars()["time [min]"].null_count() == 0
    assert [d.name for d in ws.datasets()] == ["reactions"]
    assert ws.audit.verify().ok
    assert [e.action for e in ws.audit.entries()] == ["dataset.ingest", "dataset.clean"]
    ws.close()
