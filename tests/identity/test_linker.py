"""The linking rules, on the shipped model, without a database."""

from __future__ import annotations

from datetime import date

import pytest

from contactpoint.domain.vocabulary import Gender
from contactpoint.identity.features import MatchFeatures
from contactpoint.identity.linker import (
    CONTENDER_SLACK,
    Candidate,
    LinkDecision,
    Outcome,
    ProbabilisticLinker,
    ReviewReason,
)
from contactpoint.identity.model import load_model
from tests.identity.records import features

NHS_A = "9434765919"
NHS_B = "4010232137"


@pytest.fixture(scope="module")
def linker() -> ProbabilisticLinker:
    return ProbabilisticLinker(load_model().for_population(100_000))


def decide(linker: ProbabilisticLinker, record: MatchFeatures, *held: Candidate) -> LinkDecision:
    return linker.decide(record, list(held))


def test_the_same_details_link(linker: ProbabilisticLinker) -> None:
    decision = decide(linker, features(), Candidate("C1", features(nhs_number=NHS_A)))
    assert (decision.outcome, decision.child_id) == (Outcome.LINK, "C1")


def test_nothing_alike_makes_a_new_child(linker: ProbabilisticLinker) -> None:
    other = features(given_names="Noah", family_name="Okafor", date_of_birth=date(2011, 1, 2))
    assert decide(linker, features(), Candidate("C1", other)).outcome is Outcome.NEW


def test_twins_are_never_merged(linker: ProbabilisticLinker) -> None:
    """Same family, birthday, address and carers; different given names and NHS numbers."""
    twin = features(given_names="Isla Mae", nhs_number=NHS_B)
    held = Candidate("C1", features(nhs_number=NHS_A))
    assert decide(linker, twin, held).outcome is Outcome.NEW
    no_identifiers = features(given_names="Isla Mae")
    assert decide(linker, no_identifiers, held).outcome is Outcome.NEW


def test_a_nickname_and_a_moved_address_still_link(linker: ProbabilisticLinker) -> None:
    held = Candidate("C1", features(given_names="Elizabeth Rose", nhs_number=NHS_A))
    moved = features(given_names="Libby", postcode="M1 1AA")
    decision = decide(linker, moved, held)
    assert (decision.outcome, decision.child_id) == (Outcome.LINK, "C1")


def test_a_transposed_date_of_birth_is_linked_or_queued_never_new(
    linker: ProbabilisticLinker,
) -> None:
    held = Candidate("C1", features(nhs_number=NHS_A))
    transposed = features(date_of_birth=date(2014, 7, 3))
    decision = decide(linker, transposed, held)
    assert decision.outcome is not Outcome.NEW
    if decision.outcome is Outcome.REVIEW:
        assert [c.child_id for c in decision.candidates] == ["C1"]


def test_conflicting_nhs_numbers_go_to_review(linker: ProbabilisticLinker) -> None:
    held = Candidate("C1", features(nhs_number=NHS_A))
    decision = decide(linker, features(nhs_number=NHS_B), held)
    assert decision.outcome is Outcome.REVIEW
    assert decision.rule == ReviewReason.CONFLICTING_IDENTIFIER
    assert [c.child_id for c in decision.candidates] == ["C1"]


def test_a_conflict_on_any_record_of_the_child_counts(linker: ProbabilisticLinker) -> None:
    """The child-benefit record agrees, but the child's GP record has another NHS number."""
    child = [
        Candidate("C1", features()),
        Candidate("C1", features(nhs_number=NHS_A, postcode="M1 1AA")),
    ]
    decision = linker.decide(features(nhs_number=NHS_B), child)
    assert decision.outcome is Outcome.REVIEW


def test_same_nhs_number_but_different_given_name_is_reviewed(
    linker: ProbabilisticLinker,
) -> None:
    held = Candidate("C1", features(nhs_number=NHS_A))
    decision = decide(linker, features(given_names="Noah", nhs_number=NHS_A), held)
    assert decision.outcome is Outcome.REVIEW


def test_two_settled_children_alike_are_ambiguous(linker: ProbabilisticLinker) -> None:
    decision = decide(linker, features(), Candidate("C1", features()), Candidate("C2", features()))
    assert decision.outcome is Outcome.REVIEW
    assert decision.rule == ReviewReason.AMBIGUOUS
    assert {c.child_id for c in decision.candidates} == {"C1", "C2"}


def test_a_child_waiting_for_review_is_no_rival(linker: ProbabilisticLinker) -> None:
    settled = Candidate("C1", features(nhs_number=NHS_A))
    waiting = Candidate("C2", features(nhs_number=NHS_B), provisional=True)
    decision = decide(linker, features(), settled, waiting)
    assert (decision.outcome, decision.child_id) == (Outcome.LINK, "C1")


def test_a_weak_candidate_for_a_shielded_child_is_shielded_and_queued(
    linker: ProbabilisticLinker,
) -> None:
    shielded_twin = Candidate("C1", features(given_names="Isla", nhs_number=NHS_A), shielded=True)
    decision = decide(linker, features(nhs_number=NHS_B), shielded_twin)
    assert decision.outcome is Outcome.REVIEW
    assert decision.rule == ReviewReason.SHIELDED_CANDIDATE
    assert decision.shield


def test_an_unrelated_shielded_child_passes_nothing_on(linker: ProbabilisticLinker) -> None:
    stranger = features(
        given_names="Noah",
        family_name="Okafor",
        date_of_birth=date(2011, 1, 2),
        gender=Gender.MALE,
        postcode="M1 1AA",
    )
    decision = decide(linker, features(), Candidate("C1", stranger, shielded=True))
    assert decision.outcome is Outcome.NEW
    assert not decision.shield


def test_an_uncertain_match_is_queued_with_its_evidence(linker: ProbabilisticLinker) -> None:
    held = Candidate("C1", features(nhs_number=NHS_A))
    uncertain = features(postcode="M1 1AA", date_of_birth=date(2014, 3, 8))
    decision = decide(linker, uncertain, held)
    assert decision.outcome is Outcome.REVIEW
    (evidence,) = [c.evidence() for c in decision.candidates]
    assert evidence["child_id"] == "C1"
    assert evidence["levels"]["date_of_birth"] == "one_part"  # type: ignore[index]


def test_a_one_letter_slip_in_a_short_given_name_links(linker: ProbabilisticLinker) -> None:
    """Ben keyed as Bdn: a weak given-name level, but a slip, not another name."""
    held = Candidate("C1", features(given_names="Ben", gender=Gender.MALE, nhs_number=NHS_A))
    decision = decide(linker, features(given_names="Bdn", gender=Gender.MALE), held)
    assert (decision.outcome, decision.child_id) == (Outcome.LINK, "C1")


def test_a_scanner_misreading_links(linker: ProbabilisticLinker) -> None:
    held = Candidate("C1", features(given_names="Amrit", gender=Gender.MALE, nhs_number=NHS_A))
    decision = decide(linker, features(given_names="Arnrit", gender=Gender.MALE), held)
    assert (decision.outcome, decision.child_id) == (Outcome.LINK, "C1")


@pytest.mark.parametrize(
    ("held_name", "record_name"),
    [
        ("Leo Oliver", "Oliver Leo"),  # twins named after each other
        ("Isabelle", "Isla"),  # alike, but no slip and no short form of the other
    ],
)
def test_a_weak_given_name_that_is_no_slip_is_queued_not_linked(
    linker: ProbabilisticLinker, held_name: str, record_name: str
) -> None:
    held = Candidate("C1", features(given_names=held_name, nhs_number=NHS_A))
    decision = decide(linker, features(given_names=record_name), held)
    assert decision.outcome is Outcome.REVIEW
    assert [c.child_id for c in decision.candidates] == ["C1"]


def test_twins_a_slip_apart_with_their_own_nhs_numbers_are_not_merged(
    linker: ProbabilisticLinker,
) -> None:
    """Hana and Jana: one letter apart, but two NHS numbers say two children."""
    held = Candidate("C1", features(given_names="Hana", nhs_number=NHS_A))
    decision = decide(linker, features(given_names="Jana", nhs_number=NHS_B), held)
    assert decision.outcome is not Outcome.LINK


def test_a_twin_named_after_the_other_is_no_rival_to_an_exact_name(
    linker: ProbabilisticLinker,
) -> None:
    """Leo Oliver's record links to Leo Oliver, not to the queue because of his twin
    Oliver Leo (same family name, birthday and address)."""
    leo = Candidate("C1", features(given_names="Leo Oliver", gender=Gender.MALE, nhs_number=NHS_A))
    twin = Candidate("C2", features(given_names="Oliver Leo", gender=Gender.MALE, nhs_number=NHS_B))
    record = features(given_names="Leo Oliver", gender=Gender.MALE)
    decision = decide(linker, record, leo, twin)
    assert (decision.outcome, decision.child_id) == (Outcome.LINK, "C1")


def test_a_weak_name_match_that_outscores_the_exact_one_is_still_a_rival(
    linker: ProbabilisticLinker,
) -> None:
    """The twin's record shares the record's NHS number: a person must look."""
    leo = Candidate("C1", features(given_names="Leo Oliver", gender=Gender.MALE, postcode=None))
    twin = Candidate("C2", features(given_names="Oliver Leo", gender=Gender.MALE, nhs_number=NHS_A))
    record = features(given_names="Leo Oliver", gender=Gender.MALE, nhs_number=NHS_A)
    decision = decide(linker, record, leo, twin)
    assert decision.outcome is Outcome.REVIEW
    assert {c.child_id for c in decision.candidates} == {"C1", "C2"}


def test_a_british_short_form_and_a_moved_address_still_link(linker: ProbabilisticLinker) -> None:
    """Gosia for Małgorzata: a short form the American nickname list does not know."""
    held = Candidate("C1", features(given_names="Małgorzata Amelia", nhs_number=NHS_A))
    moved = features(given_names="Gosia Amelia", postcode="M1 1AA")
    decision = decide(linker, moved, held)
    assert (decision.outcome, decision.child_id) == (Outcome.LINK, "C1")


def test_twins_of_one_first_name_are_not_merged(linker: ProbabilisticLinker) -> None:
    """Amelia Evie and Amelia Mae: one first name, birthday and address; the middle
    names tell them apart, so a person decides."""
    held = Candidate("C1", features(given_names="Amelia Evie", nhs_number=NHS_A))
    decision = decide(linker, features(given_names="Amelia Mae"), held)
    assert decision.outcome is Outcome.REVIEW
    assert [c.child_id for c in decision.candidates] == ["C1"]


@pytest.mark.parametrize("given", ["Amelia", "Amelia Rsoe", "Amelia Rose Evie"])
def test_a_dropped_or_mistyped_middle_name_still_links(
    linker: ProbabilisticLinker, given: str
) -> None:
    held = Candidate("C1", features(given_names="Amelia Rose", nhs_number=NHS_A))
    decision = decide(linker, features(given_names=given), held)
    assert (decision.outcome, decision.child_id) == (Outcome.LINK, "C1")


def test_a_twin_of_the_same_first_name_is_no_rival_to_the_one_named_alike(
    linker: ProbabilisticLinker,
) -> None:
    evie = Candidate("C1", features(given_names="Amelia Evie", nhs_number=NHS_A))
    mae = Candidate("C2", features(given_names="Amelia Mae", nhs_number=NHS_B))
    decision = decide(linker, features(given_names="Amelia Mae"), evie, mae)
    assert (decision.outcome, decision.child_id) == (Outcome.LINK, "C2")


STRANGER = {
    "given_names": "Noah",
    "family_name": "Okafor",
    "date_of_birth": date(2011, 1, 2),
    "gender": Gender.MALE,
    "postcode": "M1 1AA",
}


def _variants() -> list[MatchFeatures]:
    return [
        features(),
        features(nhs_number=NHS_A),
        features(nhs_number=NHS_B),
        features(given_names="Isla Mae", nhs_number=NHS_B),
        features(given_names="Isla Mae", nhs_number=NHS_A),
        features(given_names="Libby", postcode="M1 1AA"),
        features(date_of_birth=date(2014, 7, 3)),
        features(family_name="Okafor", postcode="M1 1AA"),
        features(**STRANGER),
        features(given_names="Noah", family_name="Okafor", nhs_number=NHS_A),
        features(**STRANGER, nhs_number=NHS_A),
    ]


def test_leaving_out_all_but_the_contenders_changes_no_decision(
    linker: ProbabilisticLinker,
) -> None:
    """Ingest offers only the contenders for a decision: for every record and every
    mix of children (some shielded, some waiting for review), the same decision."""
    variants = _variants()
    mix = [
        Candidate(f"C{i}", held, shielded=i % 3 == 0, provisional=i % 4 == 1)
        for i, held in enumerate(variants)
    ]
    alone = [
        [Candidate("C", held, shielded=shielded)] for held in variants for shielded in (False, True)
    ]
    for record in variants:
        for held in (mix, *alone):
            contenders = linker.contenders(record, held)
            kept = [c for c in held if c.child_id in contenders]
            assert linker.decide(record, kept) == linker.decide(record, held)


def test_a_stranger_is_no_contender_and_a_shared_identifier_always_is(
    linker: ProbabilisticLinker,
) -> None:
    stranger = features(**STRANGER)
    namesake_with_the_number = features(given_names="Noah", family_name="Okafor", nhs_number=NHS_A)
    held = [Candidate("S", stranger), Candidate("N", namesake_with_the_number)]
    assert linker.contenders(features(nhs_number=NHS_A), held) == {"N"}
    assert "C" in linker.contenders(features(), [Candidate("C", features(nhs_number=NHS_A))])


def test_contenders_are_judged_child_by_child(linker: ProbabilisticLinker) -> None:
    """Ingest's read ahead keeps a verdict on a child whose records did not change and
    judges only the others again: the verdicts on a mix of children are those on each
    child alone, in any order."""
    variants = _variants()
    mix = [Candidate(f"C{i % 4}", held) for i, held in enumerate(variants)]
    for record in variants:
        whole = linker.contenders(record, mix)
        one_by_one: set[str] = set()
        for child in {c.child_id for c in mix}:
            one_by_one |= linker.contenders(record, [c for c in mix if c.child_id == child])
        assert whole == one_by_one
        assert linker.contenders(record, mix[::-1]) == whole


def test_contenders_are_the_children_score_puts_within_reach(linker: ProbabilisticLinker) -> None:
    """``contenders`` takes ``score``'s verdict without building what only a decision
    needs: the same children, for every record against a mix of several records a child."""
    thresholds = linker.model.thresholds
    variants = _variants()
    mix = [Candidate(f"C{i % 3}", held) for i, held in enumerate(variants)]
    for record in variants:
        for held in (mix, [Candidate(f"D{i}", v) for i, v in enumerate(variants)]):
            expected = {
                child.scored.child_id
                for child in linker.score(record, held)
                if child.identifier_agrees
                or child.scored.weight >= thresholds.weak - CONTENDER_SLACK
                or child.weight_without_identifiers >= thresholds.upper - CONTENDER_SLACK
            }
            assert linker.contenders(record, held) == expected
