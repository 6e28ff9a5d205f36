"""A blind-index token's child held to its record's child by one foreign key.

``blind_index`` had a foreign key on ``record_id`` and another on ``child_id``,
and an index on ``child_id`` that no query used: two look-ups and three index
inserts for each of the seven or so tokens a record has, which was the largest
part of the database's work in an ingest. One key on ``(record_id, child_id)``
to a unique index on ``source_records (id, child_id)`` replaces them. It checks
more than the two did (the token's child is the record's child, not merely some
child), and with ``ON UPDATE CASCADE`` a record moved to another child takes its
tokens with it. The unique index is an index, not a constraint, so that SQLite
can add it in place (a constraint would copy ``source_records`` and, with
foreign keys on, the copy's ``DROP TABLE`` would cascade to the tokens).

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
    op.create_index(
        "uq_source_records_id_child_id", "source_records", ["id", "child_id"], unique=True
    )
    with op.batch_alter_table("blind_index") as batch:
        batch.drop_constraint("fk_blind_index_child_id_children", type_="foreignkey")
        batch.drop_constraint("fk_blind_index_record_id_source_records", type_="foreignkey")
        batch.drop_index("ix_blind_index_child_id")
        batch.create_foreign_key(
            "fk_blind_index_record_id_source_records",
            "source_records",
            ["record_id", "child_id"],
            ["id", "child_id"],
            ondelete="CASCADE",
            onupdate="CASCADE",
        )


def downgrade() -> None:
    with op.batch_alter_table("blind_index") as batch:
        batch.drop_constraint("fk_blind_index_record_id_source_records", type_="foreignkey")
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
    op.drop_index("uq_source_records_id_child_id", table_name="source_records")
