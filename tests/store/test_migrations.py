"""Alembic migrations ship in the package and match the ORM."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

import labsight.store
from labsight.store import Database
from labsight.store._rows import Base


def test_migrations_create_every_table(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'm.db'}")
    assert set(db.table_names()) >= {
        "alembic_version",
        "audit_entries",
        "audit_head",
        "dataset_versions",
        "datasets",
    }


def test_migrated_schema_matches_the_orm(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'm.db'}")
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_opening_twice_is_a_no_op(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    Database(url).dispose()
    db = Database(url)
    with db.engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
    folder = Path(labsight.store.__file__).parent / "migrations"
    assert current == ScriptDirectory(str(folder)).get_current_head()


def test_sqlite_runs_in_wal_mode(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'm.db'}")
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def test_the_newest_revision_is_read_from_the_files_as_alembic_reads_it() -> None:
    from labsight.store._db import newest_revision

    folder = Path(labsight.store.__file__).parent / "migrations"
    assert newest_revision() == ScriptDirectory(str(folder)).get_current_head()


def test_opening_an_up_to_date_database_does_not_import_alembic(tmp_path: Path) -> None:
    import subprocess
    import sys

    url = f"sqlite:///{tmp_path / 'm.db'}"
    Database(url).dispose()
    code = (
        "import sys; from labsight.store import Database; "
        f"Database({url!r}); print('alembic' in sys.modules)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "False"
