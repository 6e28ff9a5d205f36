"""The blind index without foreign keys.

``blind_index`` had a foreign key on ``record_id`` and another on ``child_id``,
and an index on ``child_id`` that no query used. The keys were the largest part
of the database's work in an ingest: each of a record's seven or so tokens cost
two look-ups, each taking a row lock. Timed alone on 714,000 tokens: 4.2 s to
insert them with their two indexes, 11.2 s with one foreign key.

The table is an index derived from the records, and nothing relies on the keys:
records and children are never deleted; every write of a token (ingest, the
initial load, reindex) writes its record's child, and every move of a record
(store/identity.py) moves its tokens in the same transaction under the identity
lock; and a search or a link never trusts a token's child, it scores that child's
own records. The ``record_id`` index stays, for replacing a record's tokens.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 18:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("blind_index") as batch:
        batch.drop_constraint("fk_blind_index_child_id_children", type_="foreignkey")
        batch.drop_constraint("fk_blind_index_record_id_source_records", type_="foreignkey")
        batch.drop_index("ix_blind_index_child_id")


def downgrade() -> None:
    with op.batch_alter_table("blind_index") as batch:
        batch.create_index("ix_blind_index_child_id", ["child_id"], unique=False)
        batch.create_foreign_key(
            "fk_blind_index_record_id_source_records",
            "source_records",
            ["record_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch.create_foreign_key(
            "fk_blind_index_child_id_children", "children", ["child_id"], ["id"]
        )
