"""Statements sent together, and a transaction's last statements sent with its COMMIT."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from psycopg.pq import TransactionStatus
from sqlalchemy import Engine, String, func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

from contactpoint.store.database import make_engine
from contactpoint.store.round_trips import Statement, run_together
from tests.conftest import PgDatabases


class _Base(DeclarativeBase):
    pass


class _Note(_Base):
    __tablename__ = "notes"
    id: Mapped[int] = mapped_column(primary_key=True)
    body: Mapped[str] = mapped_column(String(20), unique=True)


ADD = text("INSERT INTO notes (id, body) VALUES (:id, :body)")
COUNT = text("SELECT count(*) FROM notes")


@pytest.fixture
def own_engine(pg_databases: PgDatabases) -> Iterator[Engine]:
    """An engine whose sessions own their transactions, as the service's do."""
    engine = make_engine(pg_databases.create())
    _Base.metadata.create_all(engine)
    yield engine
    engine.dispose()


def committed_notes(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(COUNT).scalar_one())


def status_when_committed(session: Session, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The driver's transaction status each time the session is asked to commit."""
    seen: list[str] = []
    commit = session.commit

    def watched() -> None:
        driver = session.connection().connection.driver_connection
        assert driver is not None
        seen.append(TransactionStatus(driver.info.transaction_status).name)
        commit()

    monkeypatch.setattr(session, "commit", watched)
    return seen


def test_the_last_statements_carry_the_commit_and_the_orm_changes_go_first(
    own_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    with sessionmaker(own_engine).begin() as session:
        seen = status_when_committed(session, monkeypatch)
        session.add(_Note(id=1, body="pending in the ORM"))
        answers = run_together(
            session,
            [Statement(ADD, {"id": 2, "body": "sent"}), Statement(COUNT, {})],
            commit=True,
        )
    assert answers == [[], [(2,)]]
    assert seen == ["IDLE"], "the database had committed before the session was told to"
    assert committed_notes(own_engine) == 2


def test_a_refused_last_statement_leaves_nothing(own_engine: Engine) -> None:
    with sessionmaker(own_engine).begin() as session:
        session.add(_Note(id=1, body="same"))
        with pytest.raises(DBAPIError):
            run_together(session, [Statement(ADD, {"id": 2, "body": "same"})], commit=True)
        session.rollback()
    assert committed_notes(own_engine) == 0


def test_a_session_inside_an_outer_transaction_does_not_end_it(
    own_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The tests' sessions, joined to a transaction through a savepoint: a COMMIT sent
    from here would have committed the outer transaction too."""
    with own_engine.connect() as connection:
        outer = connection.begin()
        sessions = sessionmaker(bind=connection, join_transaction_mode="create_savepoint")
        with sessions.begin() as session:
            seen = status_when_committed(session, monkeypatch)
            run_together(session, [Statement(ADD, {"id": 1, "body": "inside"})], commit=True)
            session.commit()
        assert seen == ["INTRANS"]
        assert connection.execute(select(func.count()).select_from(_Note)).scalar_one() == 1
        outer.rollback()
    assert committed_notes(own_engine) == 0


def test_without_commit_the_transaction_stays_open(own_engine: Engine) -> None:
    with sessionmaker(own_engine).begin() as session:
        run_together(session, [Statement(ADD, {"id": 1, "body": "open"})])
        assert session.in_transaction()
        session.rollback()
    assert committed_notes(own_engine) == 0
