"""Minimum-knowledge search: one child for a query that already knows them, or nothing.

One call, one transaction, in this order, each step audited:

1. **A reason** (:func:`contactpoint.domain.reasons.parse_reason`), or a refusal.
2. **The user's limits**: searches are counted from the audit log, weighted by
   outcome (:class:`~contactpoint.domain.search_policy.SearchLimits`); past a
   limit the search is refused and, once per window, an alert is raised. Each
   counted search's entry carries the user's running count (:class:`Tally`), so
   a window's count is the latest tally less the last one before the window; a
   user's searches take a lock of their own, so each reads the tally the one
   before it wrote.
3. **Enough knowledge** (:func:`~contactpoint.domain.search_policy.check_query`),
   or a refusal that says what to add.
4. **Candidates only through the keyed blind index**: the query's blocking keys
   become tokens, the tokens name children, and every active record of those
   children is decrypted once and scored (:mod:`contactpoint.services.search_match`).
   A ContactPoint ID names its child directly (following merges).
5. **One child or nothing.** A shielded child is returned only if the terms a
   shielded record shows would have found it on their own, and never to a
   search that used a postcode. The child is shown through
   :func:`contactpoint.services.child_view.view_child`, which applies the view
   policy (an archived child is not shown to practitioners) and audits the view.
6. **The audit trail**: one entry for the search, its terms only as keyed
   fingerprints, and one for every other child the search matched, returned
   or not. An emergency search also raises an alert for review. All of a
   search's entries (with the view's) are appended together at the end, in the
   same transaction: the chain lock is taken once, as late as possible.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Final

from sqlalchemy.orm import Session

from contactpoint.audit.trail import AuditBatch
from contactpoint.auth.addresses import fingerprint
from contactpoint.clock import Clock
from contactpoint.domain.reasons import AccessReason, parse_reason
from contactpoint.domain.search_policy import (
    Counted,
    InsufficientDetailError,
    RawQuery,
    Refusal,
    Scope,
    SearchLimits,
    SearchLoad,
    SearchQuery,
    Term,
    Window,
    check_query,
    limit_passed,
    no_unique_match_advice,
    rate_advice,
)
from contactpoint.domain.views import DEFAULT_TEAM_CONTACT, ChildView
from contactpoint.domain.vocabulary import Role
from contactpoint.errors import ContactPointError
from contactpoint.identity.features import MatchFeatures
from contactpoint.identity.model import MatchModel
from contactpoint.identity.normalise import normalise_name
from contactpoint.services.child_view import reason_audit_details, surviving_child, view_child
from contactpoint.services.search_match import (
    CandidateRecord,
    Decision,
    QueryScorer,
    query_features,
    search_keys,
)
from contactpoint.services.sign_in import Principal
from contactpoint.store import searches as search_store
from contactpoint.store.searches import CandidateRow
from contactpoint.vault.blind_index import BlindIndexer
from contactpoint.vault.envelope import Vault
from contactpoint.vault.keyring import Keyring
from contactpoint.vault.record_cipher import decrypt_field

SEARCH_ACTIONS: Final[Mapping[Scope, str]] = {
    Scope.STANDARD: "search",
    Scope.EMERGENCY: "emergency.search",
}
VIEW_ACTIONS: Final[Mapping[Scope, str]] = {
    Scope.STANDARD: "search.view",
    Scope.EMERGENCY: "emergency.search.view",
}
MATCHED_ACTION: Final = "search.matched"
RATE_ALERT_ACTION: Final = "alert.search_rate"
RATE_ALERT: Final = "search_rate"
EMERGENCY_ALERT: Final = "emergency_search"
TERMS_PURPOSE: Final = "contactpoint search terms v1"
MATCHED_LISTED: Final = 50
"""At most this many matched children are named in the search's own entry (each
also has an entry of its own)."""

SCOPE_ROLES: Final[Mapping[Scope, frozenset[Role]]] = {
    Scope.STANDARD: frozenset({Role.PRACTITIONER, Role.LA_ADMIN}),
    Scope.EMERGENCY: frozenset({Role.EMERGENCY}),
}
"""Who may use each search. Emergency users have their own route, so every one of
their searches is reviewed as one."""
ROLE_ADVICE: Final[Mapping[Scope, str]] = {
    Scope.STANDARD: "Your role does not allow searching for children: emergency users search "
    "at /api/v1/emergency/search; auditors and feeds never search.",
    Scope.EMERGENCY: "The emergency search is for the emergency role only: use /api/v1/search.",
}

WINDOWS: Final[Mapping[Window, timedelta]] = {
    Window.MINUTE: timedelta(minutes=1),
    Window.DAY: timedelta(days=1),
}
RETRY_AFTER: Final[Mapping[Window, int]] = {Window.MINUTE: 60, Window.DAY: 3600}
TALLY: Final = "searches_to_date"
"""The detail of a counted search's entry holding the user's running :class:`Tally`."""


class Result(StrEnum):
    """How a search ended; also its audit entry's ``outcome``."""

    MATCH = "match"
    NO_UNIQUE_MATCH = "no_unique_match"
    INSUFFICIENT_DETAIL = "insufficient_detail"
    RATE_LIMITED = "rate_limited"
    NO_REASON = "no_reason"
    ROLE = "role_refused"


COUNTED: Final = frozenset({Result.MATCH, Result.NO_UNIQUE_MATCH, Result.INSUFFICIENT_DETAIL})
"""The outcomes that count against a user's limits (:class:`Counted`)."""
PROBES: Final = COUNTED - {Result.MATCH}


@dataclass(frozen=True, slots=True)
class SearchAnswer:
    result: Result
    advice: str | None = None
    view: ChildView | None = None
    retry_after: int | None = None
    """Seconds, for a search refused by a limit."""

    def to_json(self) -> dict[str, Any]:
        """The body CONTRACT.md section 3 fixes: a match, or the one same answer."""
        if self.result is Result.MATCH and self.view is not None:
            return {"result": Result.MATCH.value, "child": self.view.to_json()}
        if self.result in (Result.NO_UNIQUE_MATCH, Result.INSUFFICIENT_DETAIL):
            return {"result": self.result.value, "advice": self.advice}
        return {"detail": self.advice}


@dataclass(frozen=True)
class SearchTools:
    """What a search needs from the running installation."""

    vault: Vault
    indexer: BlindIndexer
    model: MatchModel
    keyring: Keyring
    clock: Clock
    limits: SearchLimits
    team_contact: str = DEFAULT_TEAM_CONTACT
    scorer: QueryScorer = field(init=False)
    terms_key: bytes = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "scorer", QueryScorer(self.model))
        object.__setattr__(self, "terms_key", self.keyring.subkey(TERMS_PURPOSE))


@dataclass(frozen=True, slots=True)
class Tally:
    """A user's counted searches so far, by how each counts against the limits: those
    that found their child, and the probes (nobody, several, too vague). Kept unweighted,
    so a change to the probe weight applies at once to what was counted before."""

    match: int = 0
    probe: int = 0

    def after(self, result: Result) -> Tally:
        if result is Result.MATCH:
            return Tally(self.match + 1, self.probe)
        if result in PROBES:
            return Tally(self.match, self.probe + 1)
        return self

    def since(self, earlier: Tally) -> Tally:
        return Tally(self.match - earlier.match, self.probe - earlier.probe)

    def weighted(self, limits: SearchLimits) -> int:
        return self.match * limits.cost(Counted.MATCH) + self.probe * limits.cost(
            Counted.NO_UNIQUE_MATCH
        )

    def to_json(self) -> dict[str, int]:
        return {"match": self.match, "probe": self.probe}

    @classmethod
    def in_details(cls, details: str) -> Tally | None:
        """The tally a search's entry carries; None for one written before entries did."""
        value = json.loads(details).get(TALLY)
        return None if value is None else cls(int(value["match"]), int(value["probe"]))

    @classmethod
    def of_outcomes(cls, counts: Mapping[str, int]) -> Tally:
        return cls(
            counts.get(Result.MATCH.value, 0),
            sum(n for outcome, n in counts.items() if outcome != Result.MATCH.value),
        )


def search(
    session: Session,
    tools: SearchTools,
    *,
    principal: Principal,
    scope: Scope,
    raw: RawQuery,
    reason_code: str | None,
    reason_detail: str | None,
    unknown_terms: Collection[str] = (),
    client: str | None = None,
    commit: bool = False,
) -> SearchAnswer:
    """Run one search in the caller's transaction; every outcome is audited in it.

    ``commit`` says the search is the transaction's last work: its audit entries and
    the commit then reach the database in one round trip where the session owns its
    transaction (:func:`contactpoint.store.round_trips.run_together`)."""
    return _Search(session, tools, principal, scope, client).run(
        raw, reason_code, reason_detail, unknown_terms, commit=commit
    )


class _Search:
    """One search's audit context, so each step records with the same who and why."""

    def __init__(
        self,
        session: Session,
        tools: SearchTools,
        principal: Principal,
        scope: Scope,
        client: str | None,
    ) -> None:
        self.session = session
        self.tools = tools
        self.principal = principal
        self.scope = scope
        self.action = SEARCH_ACTIONS[scope]
        self.reason: AccessReason | None = None
        self.batch = AuditBatch()
        self.tally: Tally | None = None
        """The user's count before this search, once the limits have been checked."""
        self.candidates: list[CandidateRow] = []
        """Read with the user's count (``over_limit``, always before ``find``), for a
        query that finds children by token."""
        self.details: dict[str, object] = {
            "scope": scope.value,
            "token_id": str(principal.token_id),
        }
        if client is not None:
            self.details["client"] = client

    def record(
        self,
        action: str,
        outcome: str,
        *,
        child_id: str | None = None,
        details: Mapping[str, object] | None = None,
        seq_refs: Mapping[str, int] | None = None,
    ) -> int:
        """Queue an entry of this search's; the answer is its index in the batch."""
        return self.batch.add(
            actor=self.principal.actor(),
            action=action,
            outcome=outcome,
            child_id=child_id,
            reason_code=self.reason.code.value if self.reason is not None else None,
            details=details,
            seq_refs=seq_refs,
        )

    def finish(
        self,
        result: Result,
        *,
        child_id: str | None = None,
        details: Mapping[str, object] | None = None,
    ) -> int:
        facts = {**self.details, **(details or {})}
        if result in COUNTED:
            if self.tally is None:
                raise AssertionError("a search was counted before its user's count was read")
            facts[TALLY] = self.tally.after(result).to_json()
        return self.record(self.action, result.value, child_id=child_id, details=facts)

    def run(
        self,
        raw: RawQuery,
        reason_code: str | None,
        reason_detail: str | None,
        unknown_terms: Collection[str],
        *,
        commit: bool,
    ) -> SearchAnswer:
        answer = self.answer(raw, reason_code, reason_detail, unknown_terms)
        self.batch.write(
            self.session, key=self.tools.keyring.audit_key, clock=self.tools.clock, commit=commit
        )
        return answer

    def answer(
        self,
        raw: RawQuery,
        reason_code: str | None,
        reason_detail: str | None,
        unknown_terms: Collection[str],
    ) -> SearchAnswer:
        self.details["terms"] = fingerprints(self.tools.terms_key, raw.given())
        if self.principal.role not in SCOPE_ROLES[self.scope]:
            self.finish(Result.ROLE)
            return SearchAnswer(Result.ROLE, advice=ROLE_ADVICE[self.scope])
        try:
            self.reason = parse_reason(reason_code, reason_detail)
        except ContactPointError as exc:
            self.finish(Result.NO_REASON)
            return SearchAnswer(Result.NO_REASON, advice=str(exc))
        self.details.update(reason_audit_details(self.tools.keyring.audit_key, self.reason))
        checked = self.check(raw, unknown_terms)
        tokens = query_tokens(self.tools, checked) if isinstance(checked, SearchQuery) else set()
        refused = self.over_limit(tokens)
        if refused is not None:
            return refused
        if isinstance(checked, InsufficientDetailError):
            self.alert_emergency(Result.INSUFFICIENT_DETAIL, None)
            self.finish(Result.INSUFFICIENT_DETAIL, details={"refusal": checked.refusal.value})
            return SearchAnswer(Result.INSUFFICIENT_DETAIL, advice=checked.advice)
        query = checked
        self.details.update(
            shape=query.shape.name, terms=fingerprints(self.tools.terms_key, query.terms())
        )
        decision = find(self.session, self.tools, query, self.candidates)
        view = None
        if decision.child_id is not None:
            view = view_child(
                self.session,
                vault=self.tools.vault,
                clock=self.tools.clock,
                audit_key=self.tools.keyring.audit_key,
                principal=self.principal,
                child_id=decision.child_id,
                reason=self.reason,
                team_contact=self.tools.team_contact,
                audit_action=VIEW_ACTIONS[self.scope],
                audit_batch=self.batch,
            )
        result = Result.MATCH if view is not None else Result.NO_UNIQUE_MATCH
        shown = view.child_id if view is not None else None
        self.alert_emergency(result, shown)
        entry = self.finish(
            result,
            child_id=shown,
            details={
                "matched": [c.child_id for c in decision.matched[:MATCHED_LISTED]],
                "matched_count": len(decision.matched),
            },
        )
        for child in decision.matched:
            if child.child_id != shown:
                self.record(
                    MATCHED_ACTION,
                    "not_returned",
                    child_id=child.child_id,
                    details={"scope": self.scope.value},
                    seq_refs={"search_seq": entry},
                )
        if view is None:
            return SearchAnswer(Result.NO_UNIQUE_MATCH, advice=no_unique_match_advice(query))
        return SearchAnswer(Result.MATCH, view=view)

    def check(
        self, raw: RawQuery, unknown_terms: Collection[str]
    ) -> SearchQuery | InsufficientDetailError:
        """The query, or why it cannot run (acted on only once the user's limits are
        checked, since a refused query counts too)."""
        try:
            if unknown_terms:
                raise InsufficientDetailError(
                    Refusal.MALFORMED,
                    "ContactPoint searches only on: "
                    + ", ".join(t.value for t in Term)
                    + ". Remove any other field and search again.",
                )
            return check_query(raw, self.scope, self.tools.clock.today())
        except InsufficientDetailError as refusal:
            return refusal

    def over_limit(self, tokens: Collection[tuple[int, int]]) -> SearchAnswer | None:
        """Refuse, audited, a user past a limit; alert once per window. The candidates
        filed under ``tokens`` are read on the way (``self.candidates``)."""
        limits = self.tools.limits
        now = self.tools.clock.now()
        self.tally, minute, day = self.count(now, tokens)
        load = SearchLoad(minute.weighted(limits), day.weighted(limits))
        window = limit_passed(load, limits)
        if window is None:
            return None
        limit = limits.per_minute if window is Window.MINUTE else limits.per_day
        facts: dict[str, object] = {
            "window": window.value,
            "limit": limit,
            "load": load.last_minute if window is Window.MINUTE else load.last_day,
        }
        if not search_store.alert_raised_since(
            self.session,
            kind=RATE_ALERT,
            actor=self.principal.username,
            since=now - WINDOWS[window],
        ):
            alert_id = search_store.insert_alert(
                self.session,
                kind=RATE_ALERT,
                raised_at=now,
                actor=self.principal.username,
                child_id=None,
                details=facts,
            )
            facts["alert_id"] = str(alert_id)
            self.record(RATE_ALERT_ACTION, "raised", details={**facts, "scope": self.scope.value})
        self.finish(Result.RATE_LIMITED, details=facts)
        return SearchAnswer(
            Result.RATE_LIMITED, advice=rate_advice(window), retry_after=RETRY_AFTER[window]
        )

    def count(
        self, now: datetime, tokens: Collection[tuple[int, int]]
    ) -> tuple[Tally, Tally, Tally]:
        """The user's tally so far, and their searches in the last minute and day."""
        actor = self.principal.username
        actions = list(SEARCH_ACTIONS.values())
        outcomes = [r.value for r in COUNTED]
        starts = {window: now - WINDOWS[window] for window in Window}

        def searched_since(since: datetime) -> Tally:
            """A walk over every counted search since then: only for entries written
            before searches carried their tally."""
            return Tally.of_outcomes(
                search_store.searches_by_outcome(
                    self.session, actor=actor, actions=actions, outcomes=outcomes, since=since
                )
            )

        start = search_store.begin_search(
            self.session,
            self.principal.user_id,
            actor=actor,
            actions=actions,
            outcomes=outcomes,
            minute_start=starts[Window.MINUTE],
            day_start=starts[Window.DAY],
            tokens=tokens,
        )
        self.candidates = start.candidates
        marks = start.marks
        if marks.latest is None:
            return Tally(), Tally(), Tally()
        latest = Tally.in_details(marks.latest)
        if latest is None:
            latest = searched_since(datetime.min.replace(tzinfo=UTC))
        windows = []
        for window, mark in ((Window.MINUTE, marks.before_minute), (Window.DAY, marks.before_day)):
            before = Tally() if mark is None else Tally.in_details(mark)
            windows.append(
                searched_since(starts[window]) if before is None else latest.since(before)
            )
        return latest, windows[0], windows[1]

    def alert_emergency(self, result: Result, child_id: str | None) -> None:
        """Every emergency search is reviewed afterwards: an alert names it."""
        if self.scope is not Scope.EMERGENCY:
            return
        alert_id = search_store.insert_alert(
            self.session,
            kind=EMERGENCY_ALERT,
            raised_at=self.tools.clock.now(),
            actor=self.principal.username,
            child_id=child_id,
            details={"result": result.value, "organisation": self.principal.organisation},
        )
        self.details["alert_id"] = str(alert_id)


def fingerprints(key: bytes, terms: Mapping[Term, str]) -> dict[str, str]:
    """Each term as a keyed fingerprint of its normal form: the same term searched
    again gives the same text, so an investigator holding the key can ask "who
    searched for this child?", while the log itself says nothing readable."""
    out = {}
    for term, value in sorted(terms.items()):
        if term in (Term.GIVEN_NAME, Term.FAMILY_NAME):
            canonical = normalise_name(value)
        else:
            canonical = " ".join(value.split()).upper()
        out[term.value] = fingerprint(key, f"{term.value}\x00{canonical}")
    return out


def query_tokens(tools: SearchTools, query: SearchQuery) -> set[tuple[int, int]]:
    """The blind-index tokens a query finds its candidates by; none for a ContactPoint
    ID, which names its child."""
    if query.child_id is not None:
        return set()
    keys = search_keys(query, query_features(query), tools.clock.today())
    return {(int(kind), tools.indexer.token(kind, value)) for kind, value in keys}


def find(
    session: Session, tools: SearchTools, query: SearchQuery, read: list[CandidateRow]
) -> Decision:
    """The decision for a checked query: which child, and every child it matched.
    ``read``: the candidates filed under the query's tokens, read with the user's count."""
    identified: str | None = None
    if query.child_id is not None:
        found = surviving_child(session, query.child_id)
        identified = found[0] if found is not None else None
        rows = search_store.candidates_of_children(session, {identified} if identified else set())
    else:
        rows = read
    candidates = candidate_records(tools.vault, rows)
    scorer = tools.scorer
    decision = scorer.decide(scorer.score(query, candidates, identified_child=identified))
    returned = decision.returned
    if (
        returned is not None
        and returned.shielded
        and not shield_allows(scorer, query, candidates, identified, returned.child_id)
    ):
        return Decision(None, decision.matched)
    return decision


def shield_allows(
    scorer: QueryScorer,
    query: SearchQuery,
    candidates: list[CandidateRecord],
    identified: str | None,
    child_id: str,
) -> bool:
    """A shielded child is found only through what its record still shows, and never
    by a search that used a postcode (as the PDS never returns a restricted patient
    to one): the visible terms alone must be allowed and must name the same child."""
    if query.used_postcode:
        return False
    visible = query.visible_when_shielded()
    if visible is None:
        return False
    again = scorer.decide(scorer.score(visible, candidates, identified_child=identified))
    return again.child_id == child_id


def candidate_records(vault: Vault, rows: Iterable[CandidateRow]) -> list[CandidateRecord]:
    """Each candidate record with its match features decrypted (one decryption each)."""
    return [
        CandidateRecord(
            child_id,
            MatchFeatures.from_json(decrypt_field(vault, record_id, "match", match_enc)),
            shielded,
            provisional,
        )
        for record_id, child_id, match_enc, shielded, provisional in rows
        if match_enc is not None
    ]
