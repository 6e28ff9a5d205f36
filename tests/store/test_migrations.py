"""Migrations are tested by running them, on both databases."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, Engine, inspect, text
from sqlalchemy.exc import DBAPIError

from contactpoint.store import migrate
from contactpoint.store.database import make_engine
from contactpoint.store.tables import Base
from tests.conftest import PgDatabases


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Engine:
    if request.param == "sqlite":
        return make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    databases: PgDatabases = request.getfixturevalue("pg_databases")
    return make_engine(databases.create())


def test_upgrade_downgrade_upgrade(fresh_engine: Engine) -> None:
    migrate.upgrade(fresh_engine)
    assert migrate.current_revision(fresh_engine) == migrate.head_revision()
    migrate.downgrade(fresh_engine, "base")
    assert set(inspect(fresh_engine).get_table_names()) <= {"alembic_version"}
    migrate.upgrade(fresh_engine)
    assert {"children", "source_records", "blind_index", "audit_log", "users"} <= set(
        inspect(fresh_engine).get_table_names()
    )
    fresh_engine.dispose()


def test_models_and_migrations_agree(engine: Engine) -> None:
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []


def test_no_plaintext_column_for_personal_data(engine: Engine) -> None:
    columns = {c["name"] for c in inspect(engine).get_columns("source_records")}
    for personal in ("given_names", "family_name", "date_of_birth", "nhs_number", "postcode"):
        assert personal not in columns
        assert personal in {"postcode"} or f"{personal}_enc" in columns
    every_column = {
        c["name"]
        for table in inspect(engine).get_table_names()
        for c in inspect(engine).get_columns(table)
    }
    assert not any("photo" in c or c == "phone" for c in every_column)


def _tamper(connection: Connection, statement: str) -> None:
    with connection.begin_nested():
        connection.execute(text(statement))


def test_audit_log_refuses_update_and_delete(connection: Connection) -> None:
    connection.execute(
        text(
            "INSERT INTO audit_log (seq, at, actor, action, outcome, details, prev_hash, hash) "
            "VALUES (999999, CURRENT_TIMESTAMP, 'a', 'x', 'ok', '{}', 'p', 'h')"
        )
    )
    for statement in (
        "UPDATE audit_log SET actor = 'mallory' WHERE seq = 999999",
        "DELETE FROM audit_log WHERE seq = 999999",
    ):
        with pytest.raises(DBAPIError, match="append-only"):
            _tamper(connection, statement)


def test_application_role_may_only_insert_and_select_audit(pg_engine: Engine) -> None:
    with pg_engine.connect() as connection:
        outer = connection.begin()
        connection.execute(text("SET LOCAL ROLE contactpoint_app"))
        connection.execute(
            text(
                "INSERT INTO audit_log (seq, at, actor, action, outcome, details, prev_hash, hash) "
                "VALUES (888888, now(), 'a', 'x', 'ok', '{}', 'p', 'h')"
            )
        )
        assert (
            connection.execute(text("SELECT count(*) FROM audit_log WHERE seq = 888888")).scalar()
            == 1
        )
        for statement in (
            "UPDATE audit_log SET actor = 'mallory' WHERE seq = 888888",
            "DELETE FROM audit_log WHERE seq = 888888",
            "TRUNCATE audit_log",
        ):
            with pytest.raises(DBAPIError, match="permission denied"):
                _tamper(connection, statement)
        connection.execute(text("SELECT count(*) FROM children"))
        outer.rollback()
