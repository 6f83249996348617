"""The database: engine set-up (SQLite in WAL mode, or PostgreSQL), migrations, transactions."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session

from labsight.exceptions import AuditChainError, InputError, StoreError

__all__ = ["Database"]

_WRITE = "labsight_write"
_SINGLE = "labsight_single"
_REVISION_LINE = re.compile(
    r"""^(revision|down_revision)\s*(?::[^=\n]*)?=\s*(?:["']([\w-]+)["']|None)\s*$""", re.M
)


def newest_revision() -> str | None:
    """The head of the migrations that ship with labsight, read from the ``revision`` and
    ``down_revision`` lines of their files without importing Alembic; None unless they form one
    line of revisions with one head (then Alembic decides)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    folder = resources.files("labsight.store").joinpath("migrations", "versions")
    for path in folder.iterdir():
        if not path.name.endswith(".py"):
            continue
        found = dict(_REVISION_LINE.findall(path.read_text("utf-8")))
        if not found.get("revision") or "down_revision" not in found:
            return None
        revisions.add(found["revision"])
        parents.add(found["down_revision"])
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def _sqlite_setup(engine: Engine) -> None:
    """WAL journal, foreign keys, a busy timeout, and BEGIN IMMEDIATE for writers.

    pysqlite's own transaction handling is switched off so that SQLAlchemy's ``begin`` event
    decides: a writer takes the write lock at BEGIN (``IMMEDIATE``), which serialises appends to the
    audit chain; a reader starts a deferred transaction and never blocks a writer (WAL).
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        options = conn.get_execution_options()
        if options.get(_SINGLE, False):  # one statement, its own snapshot: no BEGIN around it
            return
        conn.exec_driver_sql("BEGIN IMMEDIATE" if options.get(_WRITE, False) else "BEGIN")


class Database:
    """One engine, migrated to the newest schema on open.

    ``write()`` yields a session inside one transaction that takes the write lock up front; it
    commits when the block ends and rolls everything back when it raises. ``read()`` yields a
    session for queries.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        try:
            make_url(url)
        except ArgumentError as exc:
            raise InputError(
                f"{url!r} is not a database URL",
                expected="e.g. sqlite:///path/labsight.db or postgresql+psycopg://user@host/db",
                hint="Fix LABSIGHT_DB_URL",
            ) from exc
        try:
            if self.local:
                self.engine = create_engine(url, connect_args={"timeout": 30})
                _sqlite_setup(self.engine)
            else:
                self.engine = create_engine(url, pool_pre_ping=True)
            self._writer = self.engine.execution_options(**{_WRITE: True})
            # A reader sees one snapshot, as SQLite's WAL gives it: under PostgreSQL's default
            # READ COMMITTED, rows and the audit entries that seal them, read one after the
            # other, could come from two moments and look tampered with.
            self._reader = (
                self.engine
                if self.local
                else self.engine.execution_options(isolation_level="REPEATABLE READ")
            )
            # SQLite: pysqlite's own transactions are off (see _sqlite_setup), so a connection
            # that skips the BEGIN runs each statement on its own, and goes back to the pool as
            # it came (an AUTOCOMMIT isolation level would be reset to pysqlite's default, which
            # turns its implicit transactions back on for the next user of the connection).
            self._single = (
                self.engine.execution_options(**{_SINGLE: True})
                if self.local
                else self.engine.execution_options(isolation_level="AUTOCOMMIT")
            )
            self.upgraded_from = self.migrate()
        except SQLAlchemyError as exc:
            raise StoreError(
                f"cannot open the database {self.safe_url}: {_first_line(exc)}",
                hint="Check LABSIGHT_DB_URL and that the server is running.",
            ) from exc

    @property
    def local(self) -> bool:
        """Whether the database is a file on this machine (SQLite): a read of one row costs less
        than handing it to another thread."""
        return self.url.startswith("sqlite")

    @property
    def safe_url(self) -> str:
        """The URL without its password."""
        return make_url(self.url).render_as_string(hide_password=True)

    def migrate(self) -> str | None:
        """Bring the schema to the newest Alembic revision (nothing to do when it is there).

        Returns the revision an existing database was upgraded from (None when it was new or
        already at the newest revision), so that the workspace can do what an upgrade asks of it.
        A database at the newest revision is recognised without importing Alembic (a third of a
        second of every command's start-up).
        """
        head = newest_revision()
        if head is not None and self._stored_revision() == head:
            return None
        from alembic import command
        from alembic.config import Config
        from alembic.runtime.migration import MigrationContext
        from alembic.script import ScriptDirectory

        cfg = Config()
        location = resources.files("labsight.store") / "migrations"
        cfg.set_main_option("script_location", str(location))
        script = ScriptDirectory.from_config(cfg)
        with self.engine.connect() as conn:
            current = MigrationContext.configure(conn).get_current_revision()
        if current == script.get_current_head():
            return None
        logging.getLogger("alembic").setLevel(logging.WARNING)
        with self._writer.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
        return current

    def _stored_revision(self) -> str | None:
        """The one revision in ``alembic_version``; None for a new database (no such table)."""
        try:
            with self.engine.connect() as conn:
                rows = conn.exec_driver_sql("SELECT version_num FROM alembic_version").all()
        except SQLAlchemyError:
            return None
        return str(rows[0][0]) if len(rows) == 1 else None

    def table_names(self) -> list[str]:
        return sorted(inspect(self.engine).get_table_names())

    @contextmanager
    def write(self) -> Iterator[Session]:
        """One transaction that changes state: all of it is committed, or none of it.

        The session is marked as a writer (``info["labsight_write"]``): the audit trail notes every
        row it changes and refuses a commit that leaves one unrecorded.
        """
        session = Session(self._writer, expire_on_commit=False, info={_WRITE: True})
        try:
            with session.begin():
                if not self.local:
                    # Writers take the audit head's lock first, as SQLite's BEGIN IMMEDIATE does,
                    # so numbering (max + 1) and name checks never race another writer.
                    session.execute(text("SELECT seq FROM audit_head WHERE id = 1 FOR UPDATE"))
                yield session
        except OperationalError as exc:
            raise StoreError(f"the database refused the change: {_first_line(exc)}") from exc
        except (ValueError, TypeError) as exc:
            _raise_if_unreadable(exc)
            raise
        finally:
            session.close()

    @contextmanager
    def read(self) -> Iterator[Session]:
        session = Session(self._reader, expire_on_commit=False)
        try:
            yield session
        except (ValueError, TypeError) as exc:
            _raise_if_unreadable(exc)
            raise
        finally:
            session.close()

    @contextmanager
    def one_read(self) -> Iterator[Connection]:
        """A connection for one statement that reads a few columns, in autocommit: no session, no
        BEGIN and ROLLBACK around it (a server resolves the token and the model of every request
        this way). A statement is atomic on its own, so the row it reads is one snapshot; reads
        that must agree with each other (rows and the audit entries that seal them) use
        :meth:`read`."""
        try:
            with self._single.connect() as connection:
                yield connection
        except (ValueError, TypeError) as exc:
            _raise_if_unreadable(exc)
            raise

    def dispose(self) -> None:
        self.engine.dispose()


def _raise_if_unreadable(exc: ValueError | TypeError) -> None:
    """A stored value the database driver cannot convert (a timestamp edited to text …) is an
    edit made outside labsight, not a labsight bug: raise that in one line. Any other error is
    left to the caller to re-raise as it was."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    where = tb.tb_frame.f_code.co_filename if tb is not None else ""
    if "sqlalchemy" in where:
        raise AuditChainError(
            f"a value stored in the database cannot be read ({_first_line(exc)[:120]}): "
            "it was changed outside labsight",
            hint="Run `labsight audit verify` to find it; restore the database from a backup",
        ) from exc


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc)
    return text.strip().splitlines()[0] if text.strip() else type(exc).__name__
