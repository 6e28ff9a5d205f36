"""The schema. Every personal value is a ciphertext column (``*_enc``).

There is no column for a photograph or a child's telephone number, and no
plaintext column a name, date of birth, address or identifier could sit in.
Searches go through ``blind_index`` tokens, never through the data itself.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from contactpoint.store.types import UTCDateTime

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class DataKey(Base):
    __tablename__ = "data_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kek_version: Mapped[int] = mapped_column(Integer)
    wrapped: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Child(Base):
    __tablename__ = "children"

    id: Mapped[str] = mapped_column(String(14), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), default="active")
    shielded: Mapped[bool] = mapped_column(Boolean, default=False)
    shield_origin: Mapped[str | None] = mapped_column(String(16), nullable=True)
    """``local_authority`` (a person decided) or ``review`` (shielded until a link is reviewed)."""
    merged_into: Mapped[str | None] = mapped_column(ForeignKey("children.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SourceRecord(Base):
    """One source's statement about one child, every personal value encrypted."""

    __tablename__ = "source_records"
    __table_args__ = (UniqueConstraint("source", "source_record_id"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    source: Mapped[str] = mapped_column(String(64))
    source_record_id: Mapped[str] = mapped_column(String(64))
    child_id: Mapped[str] = mapped_column(ForeignKey("children.id"), index=True)
    content_digest: Mapped[bytes] = mapped_column(LargeBinary(32))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    given_names_enc: Mapped[bytes] = mapped_column(LargeBinary)
    family_name_enc: Mapped[bytes] = mapped_column(LargeBinary)
    former_family_names_enc: Mapped[bytes] = mapped_column(LargeBinary)
    preferred_name_enc: Mapped[bytes] = mapped_column(LargeBinary)
    date_of_birth_enc: Mapped[bytes] = mapped_column(LargeBinary)
    gender_enc: Mapped[bytes] = mapped_column(LargeBinary)
    nhs_number_enc: Mapped[bytes] = mapped_column(LargeBinary)
    upn_enc: Mapped[bytes] = mapped_column(LargeBinary)
    address_enc: Mapped[bytes] = mapped_column(LargeBinary)
    no_fixed_abode_enc: Mapped[bytes] = mapped_column(LargeBinary)
    circumstances_enc: Mapped[bytes] = mapped_column(LargeBinary)
    carers_enc: Mapped[bytes] = mapped_column(LargeBinary)
    services_enc: Mapped[bytes] = mapped_column(LargeBinary)
    match_enc: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    """The record's normalised match features in one ciphertext, so scoring a
    candidate costs one decryption rather than nine."""


class BlindIndexEntry(Base):
    """One keyed blocking token of one record, with the child the record belongs to.

    The child is kept here so a search finds children without a join. The table
    is an index derived from the records, without foreign keys (migration 0007):
    every write of a token writes its record's child, every move of a record
    moves its tokens in the same transaction (store/identity.py), and no search
    or link trusts a token's child without scoring that child's own records.
    """

    __tablename__ = "blind_index"
    __table_args__ = (
        PrimaryKeyConstraint(
            "kind", "token", "record_id", name="pk_blind_index", postgresql_include=["child_id"]
        ),
    )
    """The child rides in the key's index on PostgreSQL (migration 0008): a token
    look-up is answered from the index alone, without a visit to the table."""

    kind: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    token: Mapped[int] = mapped_column(Integer, primary_key=True)
    record_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, index=True)
    child_id: Mapped[str] = mapped_column(String(14))


class IdentityGeneration(Base):
    """One row: a count every holder of the identity lock advances, in its own transaction.

    Ingest reads a batch's candidates ahead, outside the lock, in a snapshot that
    also reads this count. Under the lock it then knows exactly which identity
    changes the snapshot missed: none, only its own last batches (which it holds in
    memory), or someone else's, and only in the last case reads the candidates again.
    """

    __tablename__ = "identity_generation"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    value: Mapped[int] = mapped_column(BigInteger)


class IdentityChange(Base):
    """One change to which child a set of source records belongs, with before and after.

    Accepting or rejecting a review item, merging and splitting children, and
    undoing any of those: each is a row here, written in the same transaction
    as its audit entry, so every change can be shown and reversed.
    """

    __tablename__ = "identity_changes"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(64))
    moves: Mapped[str] = mapped_column(Text)
    """JSON list of ``{"record_id", "from", "to"}``: identifiers only."""
    children_before: Mapped[str] = mapped_column(Text)
    children_after: Mapped[str] = mapped_column(Text)
    """JSON ``{child_id: {"status", "merged_into", "shielded", "shield_origin"}}``."""
    undoes: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("identity_changes.id"), nullable=True
    )
    undone_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("identity_changes.id"), nullable=True
    )


class ReviewItem(Base):
    """A source record the matcher could not place with confidence.

    The record is stored (encrypted, like any other) under a provisional child
    so that nothing is lost while it waits; the item names the candidate
    children and the match evidence, identifiers and weights only.
    """

    __tablename__ = "review_items"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    record_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("source_records.id"), index=True)
    child_id: Mapped[str] = mapped_column(ForeignKey("children.id"), index=True)
    reason: Mapped[str] = mapped_column(String(32))
    candidates: Mapped[str] = mapped_column(Text)
    """JSON list of ``{"child_id", "weight", "levels"}``, best first."""
    status: Mapped[str] = mapped_column(String(16), default="open")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    resolved_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    change_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("identity_changes.id"), nullable=True
    )


Index("ix_review_items_status_created_at", ReviewItem.status, ReviewItem.created_at)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    totp_secret_enc: Mapped[bytes] = mapped_column(LargeBinary)
    role: Mapped[str] = mapped_column(String(16))
    organisation: Mapped[str] = mapped_column(String(200))
    area: Mapped[str | None] = mapped_column(String(100), nullable=True)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Installation(Base):
    """One row: keyed check values that tell whether a keyring belongs here.

    Without it a wrong or fresh keyring over an installation with no data yet
    would be accepted, and would silently fork the audit chain's key.
    """

    __tablename__ = "installation"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    index_key_check: Mapped[str] = mapped_column(String(64))
    audit_key_check: Mapped[str] = mapped_column(String(64))


class IngestedFile(Base):
    """Files applied whole, by keyed digest, so re-sending one is a true no-op."""

    __tablename__ = "ingested_files"

    source: Mapped[str] = mapped_column(String(64), primary_key=True)
    file_digest: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    completed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    lines: Mapped[int] = mapped_column(Integer)


class AuditEntry(Base):
    """The append-only, hash-chained record of everything done and seen."""

    __tablename__ = "audit_log"

    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(64))
    role: Mapped[str | None] = mapped_column(String(16), nullable=True)
    organisation: Mapped[str | None] = mapped_column(String(200), nullable=True)
    action: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(32))
    child_id: Mapped[str | None] = mapped_column(String(14), nullable=True)
    reason_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    details: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    chain: Mapped[int] = mapped_column(SmallInteger, server_default=text("0"))
    """Which of the log's hash chains the entry belongs to (audit/chain.py); on
    PostgreSQL ``seq`` comes from the sequence ``audit_log_seq`` (migration 0006)."""


Index("ix_audit_log_chain_seq", AuditEntry.chain, AuditEntry.seq)
Index("ix_audit_log_child_id_at", AuditEntry.child_id, AuditEntry.at)
Index("ix_audit_log_actor_at", AuditEntry.actor, AuditEntry.at)


class ApiToken(Base):
    """A bearer token, held only as a keyed hash so a database copy yields no token."""

    __tablename__ = "api_tokens"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class TotpLastStep(Base):
    """The last TOTP time step each user signed in with, so no code works twice."""

    __tablename__ = "totp_last_steps"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    step: Mapped[int] = mapped_column(BigInteger)


class SignInFailure(Base):
    """One failed sign-in, by keyed fingerprint of the client address block.

    Kept only for the counting window, so the address lock works across
    processes without holding who tried for longer than it needs.
    """

    __tablename__ = "sign_in_failures"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    address_key: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


Index("ix_sign_in_failures_address_key_at", SignInFailure.address_key, SignInFailure.at)


class AddressLock(Base):
    """A client address block refused sign-in until ``locked_until``."""

    __tablename__ = "address_locks"

    address_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    locked_until: Mapped[datetime] = mapped_column(UTCDateTime)


class Alert(Base):
    """Something a person should look at after the fact: a user past their search
    limit, every emergency search. Identifiers and counts only, never what was searched.

    Raised in the same transaction as the search that caused it; reviewing one
    sets its status, so alerts are not append-only the way the audit log is.
    """

    __tablename__ = "alerts"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(64))
    """The username the alert is about."""
    child_id: Mapped[str | None] = mapped_column(String(14), nullable=True)
    details: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="open")
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    resolved_by: Mapped[str | None] = mapped_column(String(64), nullable=True)


Index("ix_alerts_actor_kind_raised_at", Alert.actor, Alert.kind, Alert.raised_at)
Index("ix_alerts_status_raised_at", Alert.status, Alert.raised_at)
