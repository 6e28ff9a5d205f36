"""The auditor's use of the audit log: searching it and checking its chain, each audited.

A search needs a user, a child's ContactPoint ID or a time range (so it is
always one an index serves, and never "everything"); an action and an outcome
only narrow it. Its entry goes in the same transaction as the read, with the
child searched for in ``child_id``, so a child's own history shows that an
auditor looked, and the rest of the criteria in ``details``.

The log holds no plain personal data (search terms and free text are kept as
keyed fingerprints), so its entries can be shown as they are. A check of the
chain walks every entry; it reads outside any write transaction, so appends
carry on while it runs, and its result is recorded after.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Final

from sqlalchemy.orm import Session, sessionmaker

from contactpoint.audit.chain import EntryContent, Verification
from contactpoint.audit.trail import record
from contactpoint.clock import Clock
from contactpoint.domain.identity_change import ChangeKind
from contactpoint.services.audit_check import verify_audit
from contactpoint.services.child_view import VIEW_ACTION
from contactpoint.services.search import (
    MATCHED_ACTION,
    RATE_ALERT_ACTION,
    SEARCH_ACTIONS,
    VIEW_ACTIONS,
)
from contactpoint.services.sign_in import Principal
from contactpoint.store import audit as audit_store
from contactpoint.store.database import READ_ONLY

SEARCH_ACTION: Final = "audit.search"
VERIFY_ACTION: Final = "audit.verify"
PAGE_SIZE: Final = 200
ACTOR_MAX: Final = 64
OUTCOME_MAX: Final = 32
"""The widths of the ``actor`` and ``outcome`` columns: nothing longer is in the log."""

ACTIONS: Final[tuple[str, ...]] = tuple(
    sorted(
        {
            "auth.sign_in",
            "auth.revoke",
            "auth.token_refused",
            "auth.role_refused",
            "user.add",
            "user.disable",
            "user.reset_totp",
            VIEW_ACTION,
            *SEARCH_ACTIONS.values(),
            *VIEW_ACTIONS.values(),
            MATCHED_ACTION,
            RATE_ALERT_ACTION,
            "review.view",
            "team.child.create",
            "team.child.read",
            "team.child.update",
            *(f"identity.{kind.value}" for kind in ChangeKind),
            "ingest.file",
            "ingest.batch",
            "load.file",
            "load.batch",
            "keys.rotate",
            "linkage.export",
            "system.init",
            "system.reindex",
            SEARCH_ACTION,
            VERIFY_ACTION,
        }
    )
)
"""Every action the service writes; ``tests/services/test_audit_search.py`` checks the
source for ``action="..."`` literals and ``..._ACTION = "..."`` constants missing from it."""


class CriteriaProblem(StrEnum):
    NOTHING_TO_SEARCH_BY = "nothing_to_search_by"
    """No user, child or time: the search would be the whole log."""
    ENDS_BEFORE_START = "ends_before_start"
    UNKNOWN_ACTION = "unknown_action"
    USER_TOO_LONG = "user_too_long"
    OUTCOME_TOO_LONG = "outcome_too_long"


@dataclass(frozen=True, slots=True)
class AuditQuery:
    """What to look for. ``child_id`` is a canonical ContactPoint ID; ``start`` is
    inclusive and ``end`` exclusive, both aware."""

    user: str | None = None
    child_id: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    action: str | None = None
    outcome: str | None = None

    def problems(self) -> list[CriteriaProblem]:
        found = []
        if self.user is None and self.child_id is None and self.start is None and self.end is None:
            found.append(CriteriaProblem.NOTHING_TO_SEARCH_BY)
        if self.start is not None and self.end is not None and self.end <= self.start:
            found.append(CriteriaProblem.ENDS_BEFORE_START)
        if self.action is not None and self.action not in ACTIONS:
            found.append(CriteriaProblem.UNKNOWN_ACTION)
        if self.user is not None and len(self.user) > ACTOR_MAX:
            found.append(CriteriaProblem.USER_TOO_LONG)
        if self.outcome is not None and len(self.outcome) > OUTCOME_MAX:
            found.append(CriteriaProblem.OUTCOME_TOO_LONG)
        return found

    def audit_details(self) -> dict[str, object]:
        """The criteria but the child (who goes in the entry's ``child_id``)."""
        given: dict[str, object] = {
            "user": self.user,
            "from": self.start.isoformat() if self.start is not None else None,
            "to": self.end.isoformat() if self.end is not None else None,
            "action": self.action,
            "outcome": self.outcome,
        }
        return {name: value for name, value in given.items() if value is not None}


class InvalidAuditQueryError(ValueError):
    def __init__(self, problems: list[CriteriaProblem]) -> None:
        super().__init__(", ".join(problems))
        self.problems = problems


@dataclass(frozen=True, slots=True)
class AuditPage:
    entries: tuple[EntryContent, ...]
    more: bool
    """Older entries match too: ask again with ``before_seq`` set to :attr:`older_than`."""
    recorded_as: int
    """The ``seq`` of this search's own entry."""

    @property
    def older_than(self) -> int | None:
        return self.entries[-1].seq if self.more and self.entries else None


def search_audit(
    session: Session,
    *,
    audit_key: bytes,
    clock: Clock,
    principal: Principal,
    query: AuditQuery,
    before_seq: int | None = None,
    client: str | None = None,
    limit: int = PAGE_SIZE,
) -> AuditPage:
    """Up to ``limit`` entries matching ``query``, newest first (older than ``before_seq``
    when given), and this search's own entry, in the caller's transaction."""
    problems = query.problems()
    if problems:
        raise InvalidAuditQueryError(problems)
    found = audit_store.search_entries(
        session,
        actor=query.user,
        child_id=query.child_id,
        start=query.start,
        end=query.end,
        action=query.action,
        outcome=query.outcome,
        before_seq=before_seq,
        limit=limit + 1,
    )
    entries = tuple(found[:limit])
    more = len(found) > limit
    details: dict[str, object] = {
        "criteria": query.audit_details(),
        "shown": len(entries),
        "more": more,
        "token_id": str(principal.token_id),
    }
    if before_seq is not None:
        details["before_seq"] = before_seq
    if client is not None:
        details["client"] = client
    seq = record(
        session,
        key=audit_key,
        clock=clock,
        actor=principal.actor(),
        action=SEARCH_ACTION,
        child_id=query.child_id,
        details=details,
    )
    return AuditPage(entries=entries, more=more, recorded_as=seq)


@dataclass(frozen=True, slots=True)
class CheckedChain:
    verification: Verification
    checked_at: datetime
    recorded_as: int
    """The ``seq`` of the check's own entry (after every entry it checked)."""


def check_audit_chain(
    sessions: sessionmaker[Session],
    *,
    audit_key: bytes,
    clock: Clock,
    principal: Principal,
    client: str | None = None,
) -> CheckedChain:
    """Verify the whole chain as ``contactpoint audit verify`` does, then record the result.

    The walk reads in a transaction of its own that takes no write lock (on
    SQLite a deferred one), since it may take minutes on a long log; the entry
    that records it is written after, so nothing is shown that was not recorded.
    """
    checked_at = clock.now()
    with sessions() as session:
        session.connection(execution_options={READ_ONLY: True})
        result = verify_audit(session, audit_key)
    details: dict[str, object] = {
        "verified": result.verified,
        "token_id": str(principal.token_id),
    }
    if not result.ok:
        details["first_bad_seq"] = result.first_bad_seq
        details["problem"] = result.problem
    if client is not None:
        details["client"] = client
    with sessions.begin() as session:
        seq = record(
            session,
            key=audit_key,
            clock=clock,
            actor=principal.actor(),
            action=VERIFY_ACTION,
            outcome="intact" if result.ok else "broken",
            details=details,
        )
    return CheckedChain(verification=result, checked_at=checked_at, recorded_as=seq)
