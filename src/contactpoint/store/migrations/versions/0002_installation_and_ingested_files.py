"""Keyring check values, and the files already applied whole.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 20:45:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from contactpoint.store.types import UTCDateTime

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APP_ROLE = "contactpoint_app"


def upgrade() -> None:
    op.create_table(
        "installation",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("index_key_check", sa.String(length=64), nullable=False),
        sa.Column("audit_key_check", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_installation")),
    )
    op.create_table(
        "ingested_files",
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("file_digest", sa.LargeBinary(length=32), nullable=False),
        sa.Column("completed_at", UTCDateTime(), nullable=False),
        sa.Column("lines", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("source", "file_digest", name=op.f("pk_ingested_files")),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"GRANT SELECT ON installation TO {APP_ROLE}")
        op.execute(f"GRANT SELECT, INSERT, DELETE ON ingested_files TO {APP_ROLE}")


def downgrade() -> None:
    op.drop_table("ingested_files")
    op.drop_table("installation")
