"""models: registered model versions with their stage and summary

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 18:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "models",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("model_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("dataset", sa.String(length=300), nullable=True),
        sa.Column("target", sa.String(length=300), nullable=False),
        sa.Column("task", sa.String(length=30), nullable=False),
        sa.Column("metric", sa.String(length=50), nullable=False),
        sa.Column("cv_mean", sa.Float(), nullable=False),
        sa.Column("cv_std", sa.Float(), nullable=False),
        sa.Column("family", sa.String(length=200), nullable=False),
        sa.Column("stage", sa.String(length=30), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("model_id"),
        sa.UniqueConstraint("name", "number", name="uq_model_number"),
    )
    op.create_index(op.f("ix_models_name"), "models", ["name"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_models_name"), table_name="models")
    op.drop_table("models")
