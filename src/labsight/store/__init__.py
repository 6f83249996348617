"""Store: where workspace state lives.

``entities`` holds the public records (:class:`Dataset`, :class:`VersionRecord`,
:class:`AuditEntry`); ``_rows`` the private ORM rows and ``migrations/`` their Alembic history;
``_db`` the engine (SQLite in WAL mode by default, PostgreSQL for teams) and its transactions;
``artifacts`` the content-addressed file store behind an fsspec URL; ``frames`` tables as Parquet
artifacts; ``datasets`` the queries on datasets and versions. Imports nothing from labsight but
``labsight.exceptions``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from labsight._lazy import lazy_exports

if TYPE_CHECKING:
    from labsight.store._db import Database
    from labsight.store.artifacts import ArtifactStore, sha256_file
    from labsight.store.entities import AuditEntry, Dataset, VersionRecord
    from labsight.store.frames import read_frame, write_frame

__all__ = [
    "ArtifactStore",
    "AuditEntry",
    "Database",
    "Dataset",
    "VersionRecord",
    "read_frame",
    "sha256_file",
    "write_frame",
]

# Imported on first use: `labsight.store.names` and `labsight.store.entities` are light, and the
# command line imports them before it knows whether a command will open a database (SQLAlchemy).
_LAZY = {
    "ArtifactStore": "labsight.store.artifacts",
    "AuditEntry": "labsight.store.entities",
    "Database": "labsight.store._db",
    "Dataset": "labsight.store.entities",
    "VersionRecord": "labsight.store.entities",
    "read_frame": "labsight.store.frames",
    "sha256_file": "labsight.store.artifacts",
    "write_frame": "labsight.store.frames",
}


__getattr__, __dir__ = lazy_exports("labsight.store", _LAZY, globals())
