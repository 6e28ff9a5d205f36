"""The knowledge rule: which queries may run at all, and what a refusal advises. No database."""

from __future__ import annotations

from datetime import date
from itertools import combinations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contactpoint.domain.search_policy import (
    EMERGENCY_SHAPES,
    PATTERN_CHARACTERS,
    STANDARD_SHAPES,
    Counted,
    InsufficientDetailError,
    RawQuery,
    Refusal,
    Scope,
    SearchLimits,
    SearchLoad,
    Term,
    Window,
    allowed_shape,
    check_query,
    limit_passed,
    no_unique_match_advice,
)
from contactpoint.domain.vocabulary import Gender

TODAY = date(2026, 11, 24)
VALUES: dict[Term, str] = {
    Term.GIVEN_NAME: "Amelia",
    Term.FAMILY_NAME: "Khan",
    Term.DATE_OF_BIRTH: "2014-03-07",
    Term.GENDER: "female",
    Term.POSTCODE: "LS1 4AB",
    Term.NHS_NUMBER: "9434765919",
    Term.UPN: "A123456789012",
    Term.CHILD_ID: "7K2M-QX9D-4TBE",
}
G, F, D, S, P, N, U, C = (
    Term.GIVEN_NAME,
    Term.FAMILY_NAME,
    Term.DATE_OF_BIRTH,
    Term.GENDER,
    Term.POSTCODE,
    Term.NHS_NUMBER,
    Term.UPN,
    Term.CHILD_ID,
)


def valid_child_id() -> str:
    from contactpoint.domain.contactpoint_id import new_contactpoint_id

    return new_contactpoint_id()


def raw(terms: set[Term] | frozenset[Term]) -> RawQuery:
    values = dict(VALUES, **{Term.CHILD_ID: valid_child_id()})
    return RawQuery(**{t.value: values[t] for t in terms})


def refusal(query: RawQuery, scope: Scope = Scope.STANDARD) -> InsufficientDetailError:
    with pytest.raises(InsufficientDetailError) as caught:
        check_query(query, scope, TODAY)
    return caught.value


ALLOWED_STANDARD = [
    {G, F, D},
    {F, D, S, P},
    {G, D, S, P},
    {N, F},
    {N, D},
    {U, F},
    {U, D},
    {C, F},
    {C, D},
]


@pytest.mark.parametrize("terms", ALLOWED_STANDARD)
def test_the_pds_minimums_and_identifiers_are_allowed(terms: set[Term]) -> None:
    query = check_query(raw(terms), Scope.STANDARD, TODAY)
    assert query.known == frozenset(terms)


def test_every_smaller_query_is_refused() -> None:
    """No subset of the allowed terms below a shape is allowed: the shapes are minimal."""
    for terms in ALLOWED_STANDARD:
        for size in range(len(terms)):
            for subset in combinations(sorted(terms), size):
                if allowed_shape(frozenset(subset), Scope.STANDARD) is None:
                    assert refusal(raw(set(subset))).refusal is Refusal.TOO_LITTLE


LOW_KNOWLEDGE = [
    {F},
    {G, D},
    {F, D},
    {P},
    {P, D, S},
    {F, P, S},
    {G, F},
    {G, F, P},
    {N},
    {C},
    {U},
    {D, S, P},
    set(),
]


@pytest.mark.parametrize("terms", LOW_KNOWLEDGE)
def test_low_knowledge_is_refused_with_advice(terms: set[Term]) -> None:
    refused = refusal(raw(terms))
    assert refused.refusal is Refusal.TOO_LITTLE
    assert refused.advice.startswith("Not enough detail to search")
    assert "Add " in refused.advice


def test_the_advice_names_exactly_what_to_add() -> None:
    advice = refusal(raw({F, D})).advice
    assert "you gave the family name and the full date of birth" in advice
    assert "Add the given name;" in advice
    assert "the gender and the full postcode" in advice
    assert "an NHS number, a UPN or a ContactPoint ID" in advice
    assert "Add the family name or the full date of birth" in refusal(raw({N})).advice


def test_the_advice_does_not_depend_on_the_values() -> None:
    one = refusal(RawQuery(family_name="Khan")).advice
    other = refusal(RawQuery(family_name="Featherstonehaugh")).advice
    assert one == other


@pytest.mark.parametrize("terms", [{N}, {C}, {G, F, P}])
def test_emergency_users_need_fewer_details(terms: set[Term]) -> None:
    refusal(raw(terms), Scope.STANDARD)
    assert check_query(raw(terms), Scope.EMERGENCY, TODAY).known == frozenset(terms)


@pytest.mark.parametrize("terms", [{U}, {F}, {G, D}, {P}, {F, P}])
def test_emergency_users_still_need_enough(terms: set[Term]) -> None:
    assert refusal(raw(terms), Scope.EMERGENCY).refusal is Refusal.TOO_LITTLE


def test_every_standard_shape_is_an_emergency_shape() -> None:
    assert set(STANDARD_SHAPES) <= set(EMERGENCY_SHAPES)


@pytest.mark.parametrize("character", sorted(PATTERN_CHARACTERS))
@pytest.mark.parametrize("term", [G, F, D, P, N, C])
def test_pattern_characters_are_refused_anywhere(character: str, term: Term) -> None:
    values = {t.value: VALUES[t] for t in (G, F, D)}
    values[term.value] = VALUES[term][:3] + character
    refused = refusal(RawQuery(**values))
    assert refused.refusal is Refusal.PATTERN
    assert "Wildcards" in refused.advice


@given(st.text(alphabet=st.sampled_from(sorted(PATTERN_CHARACTERS)), min_size=1, max_size=3))
def test_a_wildcard_never_passes(wildcard: str) -> None:
    query = RawQuery(given_name="Am" + wildcard, family_name="Khan", date_of_birth="2014-03-07")
    with pytest.raises(InsufficientDetailError):
        check_query(query, Scope.EMERGENCY, TODAY)


@pytest.mark.parametrize(
    ("field", "value", "kind"),
    [
        ("given_name", "A", Refusal.TOO_SHORT),
        ("given_name", "A. Rose", Refusal.TOO_SHORT),
        ("family_name", "K", Refusal.TOO_SHORT),
        ("family_name", "Kh4n", Refusal.MALFORMED),
        ("family_name", "Khan@school", Refusal.MALFORMED),
        ("date_of_birth", "2014", Refusal.TOO_SHORT),
        ("date_of_birth", "2014-03", Refusal.TOO_SHORT),
        ("date_of_birth", "07/03/2014", Refusal.MALFORMED),
        ("date_of_birth", "2014-02-30", Refusal.MALFORMED),
        ("date_of_birth", "2027-01-01", Refusal.MALFORMED),
        ("postcode", "LS1", Refusal.TOO_SHORT),
        ("postcode", "LS1 4A", Refusal.MALFORMED),
        ("gender", "f", Refusal.MALFORMED),
        ("nhs_number", "9434765918", Refusal.MALFORMED),
        ("upn", "123", Refusal.MALFORMED),
        ("child_id", "7K2M-QX9D-4TBX", Refusal.MALFORMED),
        ("family_name", "K" * 101, Refusal.MALFORMED),
    ],
)
def test_malformed_and_partial_terms_are_refused(field: str, value: str, kind: Refusal) -> None:
    values = {"given_name": "Amelia", "family_name": "Khan", "date_of_birth": "2014-03-07"}
    values[field] = value
    refused = refusal(RawQuery(**values))
    assert refused.refusal is kind
    assert refused.terms == (Term(field),)


def test_terms_are_normalised() -> None:
    query = check_query(
        RawQuery(
            given_name="  Zoë   Ann ",
            family_name="O'Brien-Smith",
            date_of_birth="2014-03-07",
            gender="FEMALE",
            postcode="ls14ab",
            nhs_number="943 476 5919",
        ),
        Scope.STANDARD,
        TODAY,
    )
    assert query.given_name == "Zoë Ann"
    assert query.postcode == "LS1 4AB"
    assert query.nhs_number == "9434765919"
    assert query.gender is Gender.FEMALE
    assert query.date_of_birth == date(2014, 3, 7)


def test_unknown_gender_and_blank_terms_count_as_not_given() -> None:
    query = RawQuery(
        family_name="Khan",
        date_of_birth="2014-03-07",
        gender="unknown",
        postcode="LS1 4AB",
        given_name="   ",
    )
    assert refusal(query).refusal is Refusal.TOO_LITTLE


def test_a_shielded_child_is_found_only_through_visible_terms() -> None:
    full = check_query(raw({G, F, D, S, P, N}), Scope.STANDARD, TODAY)
    visible = full.visible_when_shielded()
    assert visible is not None
    assert visible.known == {G, F, D, S}
    assert (visible.postcode, visible.nhs_number, visible.upn) == (None, None, None)
    assert full.used_postcode
    for terms in ({F, D, S, P}, {G, D, S, P}, {N, F}, {U, D}):
        assert check_query(raw(terms), Scope.STANDARD, TODAY).visible_when_shielded() is None
    assert check_query(raw({C, D}), Scope.STANDARD, TODAY).visible_when_shielded() is not None


def test_no_unique_match_advice_depends_only_on_the_question() -> None:
    one = check_query(raw({G, F, D}), Scope.STANDARD, TODAY)
    other = check_query(
        RawQuery(given_name="Jack", family_name="Brown", date_of_birth="2016-05-12"),
        Scope.STANDARD,
        TODAY,
    )
    assert no_unique_match_advice(one) == no_unique_match_advice(other)
    assert "the gender" in no_unique_match_advice(one)


def test_limits_weigh_probes_more() -> None:
    limits = SearchLimits(per_minute=10, per_day=100, probe_weight=3)
    assert limit_passed(SearchLoad(9, 50), limits) is None
    assert limit_passed(SearchLoad(10, 50), limits) is Window.MINUTE
    assert limit_passed(SearchLoad(0, 100), limits) is Window.DAY
    assert limit_passed(SearchLoad(10, 100), limits) is Window.DAY
    assert limits.cost(Counted.MATCH) == 1
    assert limits.cost(Counted.NO_UNIQUE_MATCH) == limits.cost(Counted.INSUFFICIENT_DETAIL) == 3


def test_every_combination_of_terms_is_allowed_only_with_a_shape() -> None:
    terms = sorted(Term)
    for size in range(len(terms) + 1):
        for chosen in combinations(terms, size):
            known = frozenset(chosen)
            for scope in Scope:
                shapes = STANDARD_SHAPES if scope is Scope.STANDARD else EMERGENCY_SHAPES
                if any(s.satisfied_by(known) for s in shapes):
                    assert check_query(raw(known), scope, TODAY).known == known
                else:
                    assert refusal(raw(known), scope).refusal is Refusal.TOO_LITTLE
