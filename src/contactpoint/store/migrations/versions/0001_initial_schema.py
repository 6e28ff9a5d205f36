"""Initial schema: the encrypted index, users, data keys and the append-only audit log.

Revision ID: 0001
Revises:
Create Date: 2026-11-24 19:40:12.134728
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from contactpoint.store.types import UTCDateTime

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=True),
        sa.Column("organisation", sa.String(length=200), nullable=True),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.Column("child_id", sa.String(length=14), nullable=True),
        sa.Column("reason_code", sa.String(length=64), nullable=True),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_log")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index("ix_audit_log_actor_at", ["actor", "at"], unique=False)
        batch_op.create_index("ix_audit_log_child_id_at", ["child_id", "at"], unique=False)

    op.create_table(
        "children",
        sa.Column("id", sa.String(length=14), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("shielded", sa.Boolean(), nullable=False),
        sa.Column("merged_into", sa.String(length=14), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["merged_into"], ["children.id"], name=op.f("fk_children_merged_into_children")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_children")),
    )
    op.create_table(
        "data_keys",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kek_version", sa.Integer(), nullable=False),
        sa.Column("wrapped", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_keys")),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("totp_secret_enc", sa.LargeBinary(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("organisation", sa.String(length=200), nullable=False),
        sa.Column("area", sa.String(length=100), nullable=True),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column("locked_until", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )
    op.create_table(
        "source_records",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("source_record_id", sa.String(length=64), nullable=False),
        sa.Column("child_id", sa.String(length=14), nullable=False),
        sa.Column("content_digest", sa.LargeBinary(length=32), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("ended_at", UTCDateTime(), nullable=True),
        sa.Column("given_names_enc", sa.LargeBinary(), nullable=False),
        sa.Column("family_name_enc", sa.LargeBinary(), nullable=False),
        sa.Column("former_family_names_enc", sa.LargeBinary(), nullable=False),
        sa.Column("preferred_name_enc", sa.LargeBinary(), nullable=False),
        sa.Column("date_of_birth_enc", sa.LargeBinary(), nullable=False),
        sa.Column("gender_enc", sa.LargeBinary(), nullable=False),
        sa.Column("nhs_number_enc", sa.LargeBinary(), nullable=False),
        sa.Column("upn_enc", sa.LargeBinary(), nullable=False),
        sa.Column("address_enc", sa.LargeBinary(), nullable=False),
        sa.Column("no_fixed_abode_enc", sa.LargeBinary(), nullable=False),
        sa.Column("circumstances_enc", sa.LargeBinary(), nullable=False),
        sa.Column("carers_enc", sa.LargeBinary(), nullable=False),
        sa.Column("services_enc", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["child_id"], ["children.id"], name=op.f("fk_source_records_child_id_children")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_source_records")),
        sa.UniqueConstraint("source", "source_record_id", name=op.f("uq_source_records_source")),
    )
    with op.batch_alter_table("source_records", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_source_records_child_id"), ["child_id"], unique=False)

    op.create_table(
        "blind_index",
        sa.Column("kind", sa.SmallInteger(), nullable=False),
        sa.Column("token", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.Uuid(), nullable=False),
        sa.Column("child_id", sa.String(length=14), nullable=False),
        sa.ForeignKeyConstraint(
            ["child_id"], ["children.id"], name=op.f("fk_blind_index_child_id_children")
        ),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["source_records.id"],
            name=op.f("fk_blind_index_record_id_source_records"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("kind", "token", "record_id", name=op.f("pk_blind_index")),
    )
    with op.batch_alter_table("blind_index", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_blind_index_child_id"), ["child_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_blind_index_record_id"), ["record_id"], unique=False)

    _protect_audit_log()


APP_ROLE = "contactpoint_app"


def _protect_audit_log() -> None:
    """The audit log can be appended to and read, never changed or deleted.

    On PostgreSQL the application's role gets INSERT and SELECT only, and a
    trigger refuses UPDATE and DELETE from anyone, owner included; on SQLite
    the same trigger is all there is. A role belongs to the whole cluster, not
    to one database, so two databases set up at once (parallel tests, two
    installations) race to create it: the loser's duplicate is not an error.
    """
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"""
            DO $$ BEGIN
                IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN
                    CREATE ROLE {APP_ROLE} NOLOGIN;
                END IF;
            EXCEPTION WHEN duplicate_object OR unique_violation THEN
                NULL;
            END $$;
            """
        )
        op.execute(f"GRANT USAGE ON SCHEMA public TO {APP_ROLE}")
        op.execute(
            f"GRANT SELECT, INSERT, UPDATE, DELETE ON children, source_records, blind_index, "
            f"users, data_keys TO {APP_ROLE}"
        )
        op.execute(f"GRANT SELECT ON alembic_version TO {APP_ROLE}")
        op.execute(f"GRANT SELECT, INSERT ON audit_log TO {APP_ROLE}")
        op.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {APP_ROLE}")
        op.execute(
            """
            CREATE FUNCTION audit_log_is_append_only() RETURNS trigger
            LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP;
            END $$;
            """
        )
        op.execute(
            """
            CREATE TRIGGER audit_log_append_only
            BEFORE UPDATE OR DELETE ON audit_log
            FOR EACH ROW EXECUTE FUNCTION audit_log_is_append_only();
            """
        )
        op.execute(
            """
            CREATE TRIGGER audit_log_no_truncate
            BEFORE TRUNCATE ON audit_log
            FOR EACH STATEMENT EXECUTE FUNCTION audit_log_is_append_only();
            """
        )
    else:
        for operation in ("UPDATE", "DELETE"):
            op.execute(
                f"""
                CREATE TRIGGER audit_log_no_{operation.lower()}
                BEFORE {operation} ON audit_log
                BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: {operation} refused'); END;
                """
            )


def _unprotect_audit_log() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log")
        op.execute("DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS audit_log_is_append_only()")
        op.execute(f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {APP_ROLE}")
        op.execute(f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {APP_ROLE}")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_delete")


def downgrade() -> None:
    _unprotect_audit_log()
    with op.batch_alter_table("blind_index", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_blind_index_record_id"))
        batch_op.drop_index(batch_op.f("ix_blind_index_child_id"))

    op.drop_table("blind_index")
    with op.batch_alter_table("source_records", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_source_records_child_id"))

    op.drop_table("source_records")
    op.drop_table("users")
    op.drop_table("data_keys")
    op.drop_table("children")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_log_child_id_at")
        batch_op.drop_index("ix_audit_log_actor_at")

    op.drop_table("audit_log")
