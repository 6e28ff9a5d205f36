"""The audit log as several hash chains side by side.

Each entry gains the chain it belongs to (``chain``, 0 for every entry so far, whose
form and hash are unchanged), with an index to find each chain's head. On
PostgreSQL entries are numbered by the sequence ``audit_log_seq``, starting after
the highest number so far, so that appends to different chains need not wait for
one another (audit/chain.py).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 04:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APP_ROLE = "contactpoint_app"


def upgrade() -> None:
    # Not batch mode: on SQLite that copies the table, and its append-only triggers with
    # it would be lost; SQLite adds a column with a constant default in place.
    op.add_column(
        "audit_log",
        sa.Column("chain", sa.SmallInteger(), server_default=sa.text("0"), nullable=False),
    )
    op.create_index("ix_audit_log_chain_seq", "audit_log", ["chain", "seq"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE SEQUENCE audit_log_seq AS bigint")
        op.execute(
            "SELECT setval('audit_log_seq', COALESCE((SELECT MAX(seq) FROM audit_log), 0) + 1, "
            "false)"
        )
        op.execute(f"GRANT USAGE ON SEQUENCE audit_log_seq TO {APP_ROLE}")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP SEQUENCE audit_log_seq")
    op.drop_index("ix_audit_log_chain_seq", table_name="audit_log")
    op.drop_column("audit_log", "chain")
