"""Alembic environment: always run on a connection handed in by ContactPoint."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from contactpoint.store.tables import Base

connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError("Run migrations through 'contactpoint init', which supplies a connection.")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
