"""Identity resolution: match features, review queue, identity changes, shield origin.

The blind index's single-field token kinds (3-6) are replaced by combined
blocking kinds (7-10); their old rows are dropped. Tokens are keyed, so a
migration cannot compute the new ones: installations made before this
revision re-ingest their feeds.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 21:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from contactpoint.store.types import UTCDateTime

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APP_ROLE = "contactpoint_app"


def upgrade() -> None:
    with op.batch_alter_table("children") as batch:
        batch.add_column(sa.Column("shield_origin", sa.String(length=16), nullable=True))
    with op.batch_alter_table("source_records") as batch:
        batch.add_column(sa.Column("match_enc", sa.LargeBinary(), nullable=True))
    op.execute("DELETE FROM blind_index WHERE kind IN (3, 4, 5, 6)")
    op.create_table(
        "identity_changes",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("moves", sa.Text(), nullable=False),
        sa.Column("children_before", sa.Text(), nullable=False),
        sa.Column("children_after", sa.Text(), nullable=False),
        sa.Column("undoes", sa.Uuid(), nullable=True),
        sa.Column("undone_by", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["undoes"],
            ["identity_changes.id"],
            name=op.f("fk_identity_changes_undoes_identity_changes"),
        ),
        sa.ForeignKeyConstraint(
            ["undone_by"],
            ["identity_changes.id"],
            name=op.f("fk_identity_changes_undone_by_identity_changes"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_changes")),
    )
    op.create_table(
        "review_items",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("record_id", sa.Uuid(), nullable=False),
        sa.Column("child_id", sa.String(length=14), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("candidates", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("resolved_at", UTCDateTime(), nullable=True),
        sa.Column("resolved_by", sa.String(length=64), nullable=True),
        sa.Column("change_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["change_id"],
            ["identity_changes.id"],
            name=op.f("fk_review_items_change_id_identity_changes"),
        ),
        sa.ForeignKeyConstraint(
            ["child_id"], ["children.id"], name=op.f("fk_review_items_child_id_children")
        ),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["source_records.id"],
            name=op.f("fk_review_items_record_id_source_records"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_items")),
    )
    op.create_index(op.f("ix_review_items_child_id"), "review_items", ["child_id"])
    op.create_index(op.f("ix_review_items_record_id"), "review_items", ["record_id"])
    op.create_index("ix_review_items_status_created_at", "review_items", ["status", "created_at"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"GRANT SELECT, INSERT, UPDATE ON identity_changes, review_items TO {APP_ROLE}")


def downgrade() -> None:
    op.drop_index("ix_review_items_status_created_at", table_name="review_items")
    op.drop_index(op.f("ix_review_items_record_id"), table_name="review_items")
    op.drop_index(op.f("ix_review_items_child_id"), table_name="review_items")
    op.drop_table("review_items")
    op.drop_table("identity_changes")
    with op.batch_alter_table("source_records") as batch:
        batch.drop_column("match_enc")
    with op.batch_alter_table("children") as batch:
        batch.drop_column("shield_origin")
