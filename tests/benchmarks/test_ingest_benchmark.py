"""``benchmarks/ingest.py --into DIR``: it refuses a directory linkage.py did not keep, and
copies one it did, into PostgreSQL's cache with ``--warm`` and only then."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, text

from ingest import BenchmarkError, copy_of_kept_index
from tests.conftest import PG_ADMIN_URL, PgDatabases

NOWHERE = "postgresql+psycopg://postgres@127.0.0.1:1/postgres"


@pytest.mark.parametrize("kept", [None, "{}", '{"database_url": "postgresql://x/y"}'])
def test_a_directory_not_kept_by_linkage_is_refused_with_advice(
    tmp_path: Path, kept: str | None
) -> None:
    if kept is not None:
        (tmp_path / "search-bench.json").write_text(kept, encoding="utf-8")
    with (
        pytest.raises(BenchmarkError, match="--keep-for-search"),
        copy_of_kept_index(NOWHERE, tmp_path, tmp_path),
    ):
        pass


def cached_blocks(url: str, table: str) -> int:
    """Blocks of ``table`` in PostgreSQL's buffer cache."""
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(text("CREATE EXTENSION IF NOT EXISTS pg_buffercache"))
            return int(
                connection.execute(
                    text(
                        "SELECT count(*) FROM pg_buffercache WHERE reldatabase = "
                        "(SELECT oid FROM pg_database WHERE datname = current_database()) "
                        "AND relfilenode = pg_relation_filenode(:table)"
                    ),
                    {"table": table},
                ).scalar_one()
            )
    finally:
        engine.dispose()


@pytest.mark.parametrize("warm", [False, True])
def test_a_kept_index_is_copied_and_warmed_only_when_asked(
    pg_databases: PgDatabases, tmp_path: Path, warm: bool
) -> None:
    kept_url = pg_databases.create()
    engine = create_engine(kept_url)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE kept AS SELECT generate_series(1, 5000) AS n"))
    engine.dispose()
    keys = tmp_path / "keys"
    keys.mkdir()
    (keys / "keyring").write_text("k", encoding="utf-8")
    (tmp_path / "search-bench.json").write_text(
        json.dumps({"database_url": kept_url, "children": 7, "home": str(keys)}), encoding="utf-8"
    )

    with copy_of_kept_index(PG_ADMIN_URL, tmp_path, tmp_path, warm=warm) as (url, home, children):
        assert children == 7
        assert (home / "keyring").read_text(encoding="utf-8") == "k"
        assert (cached_blocks(url, "kept") > 0) is warm
        copy = create_engine(url)
        with copy.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM kept")).scalar_one() == 5000
        copy.dispose()
        name = make_url(url).database

    admin = create_engine(PG_ADMIN_URL)
    with admin.connect() as connection:
        left = connection.execute(
            text("SELECT count(*) FROM pg_database WHERE datname = :name"), {"name": name}
        ).scalar_one()
    admin.dispose()
    assert left == 0
    assert not home.exists()
