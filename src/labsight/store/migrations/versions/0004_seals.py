"""seals: audit entries carry the seals of the rows they created or changed

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04 19:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("audit_entries") as batch:
        batch.add_column(sa.Column("records", sa.Text(), nullable=True))
    op.create_index("ix_audit_object", "audit_entries", ["object_type", "object_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_audit_object", table_name="audit_entries")
    with op.batch_alter_table("audit_entries") as batch:
        batch.drop_column("records")
