"""The blind index's primary key carries each token's child.

A token look-up (ingest's candidates, a search's) wants the record and its child
for each (kind, token). With the child only in the table, every index entry
found cost a visit to the table's page as well: at 1,000,000 children a batch of
2,000 lines meets about 17,500 entries, each on a page of its own. With the
child carried in the key's index (``INCLUDE``, PostgreSQL 11 and later), the
look-up is answered from the index alone wherever the table's pages are marked
all-visible (by ``VACUUM``: autovacuum, or the initial load's own). Measured on
copies of the 1,000,000-child index, both vacuumed, two runs each in turn:
ingest of 100,000 lines into it ran at 994 and 1,132 lines/s without the child
in the key's index, 1,253 and 1,203 with it.

On an index that already holds records the key is built again, holding the
table's lock: with the vacuum that makes it useful, 17 s at 1,000,000 children
here, so at national scale it wants a maintenance window.

SQLite has no covering keys; its table is unchanged.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 23:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _primary_key(include: str) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        "ALTER TABLE blind_index DROP CONSTRAINT pk_blind_index, "
        f"ADD CONSTRAINT pk_blind_index PRIMARY KEY (kind, token, record_id){include}"
    )


def upgrade() -> None:
    _primary_key(" INCLUDE (child_id)")


def downgrade() -> None:
    _primary_key("")
