"""The hash chain: each entry's HMAC covers its content and the previous hash.

The chain is keyed (HMAC-SHA256 under the audit key, kept outside the
database) so that someone who can write to the database cannot rewrite an
entry and recompute the chain after it: only a key holder can make a chain
that verifies.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from hashlib import sha256

GENESIS = "0" * 64


@dataclass(frozen=True, slots=True)
class EntryContent:
    seq: int
    at: datetime
    actor: str
    role: str | None
    organisation: str | None
    action: str
    outcome: str
    child_id: str | None
    reason_code: str | None
    details: str

    def canonical(self) -> bytes:
        return json.dumps(
            [
                self.seq,
                self.at.isoformat(timespec="microseconds"),
                self.actor,
                self.role,
                self.organisation,
                self.action,
                self.outcome,
                self.child_id,
                self.reason_code,
                self.details,
            ],
            ensure_ascii=False,
            separators=(",", ":"),
        ).encode("utf-8")


def chain_hash(key: bytes, prev_hash: str, content: EntryContent) -> str:
    return hmac.new(key, prev_hash.encode("ascii") + content.canonical(), sha256).hexdigest()


@dataclass(frozen=True, slots=True)
class StoredEntry:
    content: EntryContent
    prev_hash: str
    hash: str


@dataclass(frozen=True, slots=True)
class Verification:
    verified: int
    first_bad_seq: int | None = None
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.first_bad_seq is None


def verify_chain(key: bytes, entries: Iterable[StoredEntry]) -> Verification:
    """Walk the chain in order; stop at the first entry that does not fit."""
    expected_prev = GENESIS
    expected_seq = 1
    count = 0
    for entry in entries:
        seq = entry.content.seq
        if seq != expected_seq:
            return Verification(count, seq, f"entry {expected_seq} is missing (found {seq})")
        if not hmac.compare_digest(entry.prev_hash, expected_prev):
            return Verification(count, seq, "does not follow the entry before it")
        if not hmac.compare_digest(entry.hash, chain_hash(key, entry.prev_hash, entry.content)):
            return Verification(count, seq, "its content does not match its hash (altered)")
        expected_prev = entry.hash
        expected_seq += 1
        count += 1
    return Verification(count)
