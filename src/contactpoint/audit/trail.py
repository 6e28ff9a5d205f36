"""Writing audit entries inside the caller's transaction.

Every state change and every read calls :func:`record` in the same transaction
as the work it records, so either both happen or neither does. Details are
identifiers and counts, never personal data in plain text.

An act that makes several entries at once (a search: the search, the view of
the child it returned, every other child it matched) gathers them in an
:class:`AuditBatch` and appends them together: one lock on the head of the chain
its actor's name picks (:func:`~contactpoint.audit.chain.chain_of`), one read of
that head, one insert. The chain's lock is held from then until the transaction
ends, so the later it is taken and the fewer round trips follow, the more
searches can run side by side; acts of actors on other chains do not wait.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC

from sqlalchemy.orm import Session

from contactpoint.audit.chain import EntryContent, chain_hash, chain_of
from contactpoint.clock import Clock
from contactpoint.store import audit as audit_store


@dataclass(frozen=True, slots=True)
class Actor:
    """Who did it: a signed-in user, or an operator at the command line."""

    name: str
    role: str | None = None
    organisation: str | None = None


@dataclass(frozen=True, slots=True)
class PendingEntry:
    """An entry waiting for its place in the chain."""

    actor: Actor
    action: str
    outcome: str
    child_id: str | None
    reason_code: str | None
    details: Mapping[str, object]
    seq_refs: Mapping[str, int] = field(default_factory=dict)
    """Details that name another entry of the same batch: key to that entry's index,
    filled in with its sequence number when the batch is written."""


class AuditBatch:
    """Entries made by one act, appended to the chain together, in the order added."""

    def __init__(self) -> None:
        self._entries: list[PendingEntry] = []

    def __len__(self) -> int:
        return len(self._entries)

    def add(
        self,
        *,
        actor: Actor,
        action: str,
        outcome: str = "ok",
        child_id: str | None = None,
        reason_code: str | None = None,
        details: Mapping[str, object] | None = None,
        seq_refs: Mapping[str, int] | None = None,
    ) -> int:
        """Queue an entry; the answer is its index in the batch (for ``seq_refs``)."""
        index = len(self._entries)
        refs = dict(seq_refs or {})
        if any(not 0 <= ref < index for ref in refs.values()):
            raise ValueError("an entry can name only an entry added before it")
        self._entries.append(
            PendingEntry(actor, action, outcome, child_id, reason_code, dict(details or {}), refs)
        )
        return index

    def write(
        self, session: Session, *, key: bytes, clock: Clock, commit: bool = False
    ) -> list[int]:
        """Append every queued entry, to the chain of the first entry's actor, in the
        caller's transaction; the answer is their sequence numbers, in order. The batch
        is empty afterwards. With ``commit`` the entries are the transaction's last
        writes, and the transaction is committed with them where the session owns it
        (:func:`contactpoint.store.round_trips.run_together`)."""
        if not self._entries:
            return []
        chain = chain_of(self._entries[0].actor.name)
        head = audit_store.lock_chain_head(session, chain, len(self._entries))
        at = clock.now().astimezone(UTC)
        numbers = head.numbers
        rows = []
        prev_hash = head.hash
        for seq, entry in zip(numbers, self._entries, strict=True):
            details = dict(entry.details)
            details.update({name: numbers[ref] for name, ref in entry.seq_refs.items()})
            content = EntryContent(
                seq=seq,
                at=at,
                actor=entry.actor.name,
                role=entry.actor.role,
                organisation=entry.actor.organisation,
                action=entry.action,
                outcome=entry.outcome,
                child_id=entry.child_id,
                reason_code=entry.reason_code,
                details=json.dumps(details, sort_keys=True, separators=(",", ":")),
                chain=chain,
            )
            entry_hash = chain_hash(key, prev_hash, content)
            rows.append(audit_store.NewEntry(content, prev_hash, entry_hash))
            prev_hash = entry_hash
        audit_store.insert_entries(session, rows, commit=commit)
        self._entries.clear()
        return [row.content.seq for row in rows]


def record(
    session: Session,
    *,
    key: bytes,
    clock: Clock,
    actor: Actor,
    action: str,
    outcome: str = "ok",
    child_id: str | None = None,
    reason_code: str | None = None,
    details: dict[str, object] | None = None,
) -> int:
    """Append one entry now; the answer is its sequence number."""
    batch = AuditBatch()
    batch.add(
        actor=actor,
        action=action,
        outcome=outcome,
        child_id=child_id,
        reason_code=reason_code,
        details=details,
    )
    return batch.write(session, key=key, clock=clock)[0]
