"""Alembic environment: run against the connection labsight hands over (never a config file)."""

from __future__ import annotations

from alembic import context

from labsight.store._rows import Base

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - labsight always passes a connection
    raise RuntimeError("labsight migrations run through labsight.store.Database.migrate()")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
