"""A count of identity changes, advanced by every holder of the identity lock.

Ingest reads a batch's candidate children ahead, on a second connection, while
the batch before it is decided and written. That read is a snapshot taken
without the lock, so it may miss identity changes committed after it. Each
holder of the lock advances this count in its own transaction, and the snapshot
reads it too, so under the lock the batch knows which changes it missed: none,
only its own previous batches (held in memory and applied to the read), or
another writer's, in which case it reads its candidates again.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 01:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APP_ROLE = "contactpoint_app"


def upgrade() -> None:
    table = op.create_table(
        "identity_generation",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_generation")),
    )
    op.bulk_insert(table, [{"id": 1, "value": 0}])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"GRANT SELECT, UPDATE ON identity_generation TO {APP_ROLE}")


def downgrade() -> None:
    op.drop_table("identity_generation")
