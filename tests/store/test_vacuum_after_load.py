"""The tables a load filled are vacuumed after it, where PostgreSQL can be."""

from __future__ import annotations

from sqlalchemy import Connection, Engine, text
from sqlalchemy.orm import sessionmaker

from contactpoint.store import migrate
from contactpoint.store.bulk import vacuum_after_load
from contactpoint.store.database import make_engine
from tests.conftest import PgDatabases


def visible_pages(engine: Engine) -> tuple[int, int]:
    with engine.connect() as connection:
        row = connection.execute(
            text("SELECT relallvisible, relpages FROM pg_class WHERE relname = 'blind_index'")
        ).one()
    return int(row[0]), int(row[1])


def test_loaded_pages_are_marked_visible_so_a_token_read_needs_only_the_key(
    pg_databases: PgDatabases,
) -> None:
    engine = make_engine(pg_databases.create())
    migrate.upgrade(engine)
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO blind_index (kind, token, record_id, child_id) "
                "SELECT 7, n, gen_random_uuid(), 'C' || n FROM generate_series(1, 20000) AS n"
            )
        )
    assert vacuum_after_load(sessionmaker(bind=engine), ("blind_index",))
    visible, pages = visible_pages(engine)
    assert pages > 0
    assert visible == pages
    with engine.connect() as connection:
        connection.execute(text("SET enable_seqscan = off"))
        connection.execute(text("SET enable_bitmapscan = off"))
        plan = "\n".join(
            connection.execute(
                text(
                    "EXPLAIN (ANALYZE) SELECT record_id, child_id FROM blind_index "
                    "WHERE kind = 7 AND token = ANY('{5,500,5000}'::integer[])"
                )
            ).scalars()
        )
    assert "Index Only Scan using pk_blind_index" in plan
    assert "Heap Fetches: 0" in plan
    engine.dispose()


def test_sessions_in_a_transaction_are_left_to_analyse(connection: Connection) -> None:
    """VACUUM cannot run in a transaction; the tests' sessions are in one."""
    assert not vacuum_after_load(sessionmaker(bind=connection), ("blind_index",))
