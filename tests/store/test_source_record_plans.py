"""How ingest's reads are planned on a real PostgreSQL whose planner knows little.

Autovacuum may be off or behind during a large load, so the planner can meet a
review queue of thousands of items it has no statistics for. A read that asks
about a batch's thousands of candidate children must then still look at each
child's own few items, not at the whole queue once per child.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from contactpoint.store import migrate
from contactpoint.store import source_records as store
from contactpoint.store.bulk import driver_rows
from contactpoint.store.database import make_engine
from tests.conftest import PgDatabases

OPEN_ITEMS = 4000
ASKED = 300


@pytest.fixture
def queue_without_statistics(pg_databases: PgDatabases) -> Iterator[Session]:
    """Children, one in ten with an open review item, in a database never analysed.

    Keys are not checked while filling (``session_replication_role``): the records
    the items point at are beside the point here, and writing them all would only
    slow the test."""
    engine: Engine = make_engine(pg_databases.create())
    migrate.upgrade(engine)
    with Session(engine) as session:
        session.execute(text("SET session_replication_role = replica"))
        session.execute(
            text(
                "INSERT INTO children (id, status, shielded, created_at, updated_at) "
                "SELECT 'C' || lpad(n::text, 13, '0'), 'active', n % 7 = 0, now(), now() "
                "FROM generate_series(1, :n) AS n"
            ),
            {"n": OPEN_ITEMS * 10},
        )
        session.execute(
            text(
                "INSERT INTO review_items (id, record_id, child_id, reason, candidates, "
                "status, created_at) "
                "SELECT gen_random_uuid(), gen_random_uuid(), "
                "'C' || lpad((n * 10)::text, 13, '0'), 'uncertain_match', '[]', 'open', now() "
                "FROM generate_series(1, :n) AS n"
            ),
            {"n": OPEN_ITEMS},
        )
        session.execute(text("SET session_replication_role = origin"))
        yield session
        session.rollback()
    engine.dispose()


def _rows_read(plan: dict[str, Any], table: str) -> float:
    """Rows every node over ``table`` or one of its indexes gave, over all its loops."""
    own = 0.0
    if plan.get("Relation Name") == table or table in plan.get("Index Name", ""):
        own = plan["Actual Rows"] * plan["Actual Loops"]
    return own + sum(_rows_read(child, table) for child in plan.get("Plans", []))


def test_a_batch_of_children_reads_only_their_own_review_items(
    queue_without_statistics: Session,
) -> None:
    session = queue_without_statistics
    asked = [f"C{n:013d}" for n in range(1, ASKED + 1)]
    [[plan]] = driver_rows(
        session,
        "EXPLAIN (ANALYZE, FORMAT JSON) " + store.CHILD_FLAGS_QUERY,
        (asked,),
    )
    assert _rows_read(plan[0]["Plan"], "review_items") <= 2 * ASKED

    flags = store.child_flags(session, asked)
    assert {c for c, f in flags.items() if f.provisional} == {
        f"C{n:013d}" for n in range(10, ASKED + 1, 10)
    }
    assert {c for c, f in flags.items() if f.shielded} == {
        f"C{n:013d}" for n in range(7, ASKED + 1, 7)
    }


def test_a_list_longer_than_one_read_gets_every_child_s_flags(
    queue_without_statistics: Session,
) -> None:
    """The flags are read ``FLAGS_AT_ONCE`` children at a time; none is lost between."""
    asked = [f"C{n:013d}" for n in range(1, 2 * store.FLAGS_AT_ONCE + 502)]

    flags = store.child_flags(queue_without_statistics, set(asked))

    assert sorted(flags) == asked
    assert {c for c, f in flags.items() if f.provisional} == {
        f"C{n:013d}" for n in range(10, len(asked) + 1, 10)
    }
    assert {c for c, f in flags.items() if f.shielded} == {
        f"C{n:013d}" for n in range(7, len(asked) + 1, 7)
    }
