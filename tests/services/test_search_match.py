"""Which child a query names, decided without I/O from scored candidate records."""

from __future__ import annotations

from datetime import date

import pytest

from contactpoint.domain.search_policy import Scope, SearchQuery, Term, allowed_shape
from contactpoint.identity.features import MatchFeatures
from contactpoint.identity.model import load_model
from contactpoint.services.search_match import CandidateRecord, QueryScorer

BORN = date(2025, 5, 16)


def query(given: str, family: str, born: date) -> SearchQuery:
    known = frozenset({Term.GIVEN_NAME, Term.FAMILY_NAME, Term.DATE_OF_BIRTH})
    shape = allowed_shape(known, Scope.STANDARD)
    assert shape is not None
    return SearchQuery(shape, given_name=given, family_name=family, date_of_birth=born, known=known)


def boy(given: str, nhs_number: str | None) -> MatchFeatures:
    return MatchFeatures(
        given=tuple(given.split()),
        preferred="",
        family="graham",
        former=(),
        date_of_birth=BORN,
        gender="male",
        nhs_number=nhs_number,
        upn=None,
        postcode="LS14AB",
    )


@pytest.fixture
def scorer() -> QueryScorer:
    return QueryScorer(load_model().for_population(1_000_000))


SETTLED = CandidateRecord("SETTLED", boy("alfie michael", "9658877877"))
WAITING = CandidateRecord("WAITING", boy("alfie connor", "9072792262"), provisional=True)


def test_a_child_waiting_for_review_is_a_rival_like_any_other(scorer: QueryScorer) -> None:
    """Two boys of one name and birthday, one waiting for review: a query both match
    names neither, as "several" always gives the same answer as "none"."""
    asked = query("Alfie", "Graham", BORN)
    decision = scorer.decide(scorer.score(asked, [SETTLED, WAITING]))
    assert decision.child_id is None
    assert {c.child_id for c in decision.matched} == {"SETTLED", "WAITING"}


@pytest.mark.parametrize("alone", [SETTLED, WAITING])
def test_either_boy_alone_is_named(scorer: QueryScorer, alone: CandidateRecord) -> None:
    asked = query("Alfie", "Graham", BORN)
    assert scorer.decide(scorer.score(asked, [alone])).child_id == alone.child_id
