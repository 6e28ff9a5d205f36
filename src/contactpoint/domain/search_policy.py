"""Minimum-knowledge search: which questions about a child may be asked at all.

The children consulted before ContactPoint was built asked that someone who
knows little about a child must not be able to find them. So a search is
allowed only when it already carries enough of the child's identity that the
answer adds little to what the searcher knows: the shapes below, which start
from the minimums of the NHS Personal Demographics Service (PDS). Each shape
was measured on the synthetic population to single out one child in nearly
all cases (docs/search.md). Anything looser (a family name alone, a name and a
birth year, a postcode) would let a searcher browse for children, so it is
refused before the index is touched, with advice on what to add.

Wildcards and pattern characters are refused outright rather than stripped:
a pattern is a request for a list, and ContactPoint never answers with one.

This module also holds the other search rules that need no I/O: which terms a
shielded child may be found through, and how searches count against a user's
limits.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field, replace
from datetime import date
from enum import StrEnum

from contactpoint.domain.contactpoint_id import parse_contactpoint_id
from contactpoint.domain.nhs_number import is_valid_nhs_number, normalise_nhs_number
from contactpoint.domain.postcode import normalise_postcode
from contactpoint.domain.upn import normalise_upn
from contactpoint.domain.vocabulary import Gender
from contactpoint.errors import ContactPointError


class Term(StrEnum):
    """A kind of knowledge about the child a search may carry (the API's field names)."""

    GIVEN_NAME = "given_name"
    FAMILY_NAME = "family_name"
    DATE_OF_BIRTH = "date_of_birth"
    GENDER = "gender"
    POSTCODE = "postcode"
    NHS_NUMBER = "nhs_number"
    UPN = "upn"
    CHILD_ID = "child_id"


_DESCRIBED: dict[Term, str] = {
    Term.GIVEN_NAME: "the given name",
    Term.FAMILY_NAME: "the family name",
    Term.DATE_OF_BIRTH: "the full date of birth",
    Term.GENDER: "the gender",
    Term.POSTCODE: "the full postcode",
    Term.NHS_NUMBER: "an NHS number",
    Term.UPN: "a UPN",
    Term.CHILD_ID: "a ContactPoint ID",
}

IDENTIFIERS = frozenset({Term.NHS_NUMBER, Term.UPN, Term.CHILD_ID})

VISIBLE_WHEN_SHIELDED = frozenset(
    {Term.GIVEN_NAME, Term.FAMILY_NAME, Term.DATE_OF_BIRTH, Term.GENDER, Term.CHILD_ID}
)
"""What a shielded child's record still shows (regulation 6(5): name, gender, date
of birth, identifying number), so the only terms it may be found through. Not the
postcode, which is where the child is; not the NHS number or UPN either, which the
shielded record does not show, so that knowing one never leads to a shielded child
that the visible details alone would not."""


class Scope(StrEnum):
    """Who is asking: the ordinary search, or the emergency (A&E, ambulance) search."""

    STANDARD = "standard"
    EMERGENCY = "emergency"


@dataclass(frozen=True, slots=True)
class Shape:
    """A combination of terms that is enough to search on.

    ``needs`` is a list of alternatives: the shape is satisfied when the query
    carries at least one term of every alternative.
    """

    name: str
    needs: tuple[frozenset[Term], ...]

    def satisfied_by(self, known: frozenset[Term]) -> bool:
        return all(alternative & known for alternative in self.needs)

    def missing(self, known: frozenset[Term]) -> tuple[frozenset[Term], ...]:
        return tuple(alternative for alternative in self.needs if not alternative & known)


def _shape(name: str, *needs: Term | frozenset[Term]) -> Shape:
    return Shape(name, tuple(n if isinstance(n, frozenset) else frozenset({n}) for n in needs))


G, F, D, S, P = (
    Term.GIVEN_NAME,
    Term.FAMILY_NAME,
    Term.DATE_OF_BIRTH,
    Term.GENDER,
    Term.POSTCODE,
)

STANDARD_SHAPES: tuple[Shape, ...] = (
    _shape("names_and_birth", G, F, D),
    _shape("family_birth_gender_postcode", F, D, S, P),
    _shape("given_birth_gender_postcode", G, D, S, P),
    _shape("identifier_and_detail", IDENTIFIERS, frozenset({F, D})),
)
"""The PDS minimums, and a national identifier with something to confirm it by."""

EMERGENCY_SHAPES: tuple[Shape, ...] = (
    *STANDARD_SHAPES,
    _shape("names_and_postcode", G, F, P),
    _shape("identifier", frozenset({Term.NHS_NUMBER, Term.CHILD_ID})),
)
"""Fewer details for A&E and ambulance crews, who may have the child's name and the
address they were called to but not a date of birth, or only the NHS number from a
patient record. The emergency view is minimal and every use is reviewed afterwards."""

SHAPES: dict[Scope, tuple[Shape, ...]] = {
    Scope.STANDARD: STANDARD_SHAPES,
    Scope.EMERGENCY: EMERGENCY_SHAPES,
}

MIN_NAME_LETTERS = 2
"""An initial is not a name: ``J Smith`` would be a pattern search by another route."""
MAX_TERM_LENGTH = 100

PATTERN_CHARACTERS = frozenset("*%?_[]^$\\|{}()+~#")
"""Wildcards and the characters of SQL ``LIKE``, glob and regular-expression patterns."""
_NAME_PUNCTUATION = frozenset(" -\u2010\u2011'\u2019\u02bc.")
_PARTIAL_DATE = re.compile(r"^\d{4}(?:-\d{1,2})?$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_OUTWARD_CODE = re.compile(r"^[A-Z]{1,2}[0-9][0-9A-Z]?$")


class Refusal(StrEnum):
    PATTERN = "pattern"
    MALFORMED = "malformed"
    TOO_SHORT = "too_short"
    TOO_LITTLE = "too_little"


class InsufficientDetailError(ContactPointError):
    """The query may not be run: its advice says exactly what to change or add."""

    def __init__(self, refusal: Refusal, advice: str, terms: tuple[Term, ...] = ()) -> None:
        super().__init__(advice)
        self.refusal = refusal
        self.advice = advice
        self.terms = terms


@dataclass(frozen=True, slots=True)
class RawQuery:
    """The terms as typed; any of them may be missing."""

    given_name: str | None = None
    family_name: str | None = None
    date_of_birth: str | None = None
    gender: str | None = None
    postcode: str | None = None
    nhs_number: str | None = None
    upn: str | None = None
    child_id: str | None = None

    def given(self) -> dict[Term, str]:
        """The terms with something in them, stripped."""
        values = {term: getattr(self, term.value) for term in Term}
        return {t: v.strip() for t, v in values.items() if v is not None and v.strip()}


@dataclass(frozen=True, slots=True)
class SearchQuery:
    """A checked query: every term in its normal form, and the shape that allows it."""

    shape: Shape
    given_name: str | None = None
    """As typed but checked (``Amelia Rose``); the matcher normalises it."""
    family_name: str | None = None
    date_of_birth: date | None = None
    gender: Gender | None = None
    """Female, male or other; ``unknown`` counts as not given."""
    postcode: str | None = None
    """Canonical form, ``LS1 4AB``."""
    nhs_number: str | None = None
    upn: str | None = None
    child_id: str | None = None
    """Canonical ``XXXX-XXXX-XXXX``."""
    known: frozenset[Term] = field(default=frozenset())

    def terms(self) -> dict[Term, str]:
        """Each given term in a canonical text form (for keyed fingerprints)."""
        values: dict[Term, str] = {}
        for term in self.known:
            value = getattr(self, term.value)
            values[term] = value.isoformat() if isinstance(value, date) else str(value)
        return values

    def visible_when_shielded(self) -> SearchQuery | None:
        """This query cut to the terms a shielded child may be found through,
        or None when what is left is not enough to search on."""
        known = self.known & VISIBLE_WHEN_SHIELDED
        shape = allowed_shape(known, Scope.STANDARD)
        if shape is None:
            return None
        return replace(self, shape=shape, postcode=None, nhs_number=None, upn=None, known=known)

    @property
    def used_postcode(self) -> bool:
        return Term.POSTCODE in self.known


def allowed_shape(known: frozenset[Term], scope: Scope) -> Shape | None:
    """The first shape the known terms satisfy, or None."""
    return next((s for s in SHAPES[scope] if s.satisfied_by(known)), None)


def _describe(alternative: frozenset[Term]) -> str:
    names = [_DESCRIBED[t] for t in Term if t in alternative]
    if len(names) == 1:
        return names[0]
    return f"{', '.join(names[:-1])} or {names[-1]}"


def _listed(items: list[str], last: str = "and") -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} {last} {items[-1]}"


def _to_add(missing: tuple[frozenset[Term], ...]) -> str:
    """``the given name``; ``the gender and the full postcode``; ``an NHS number, a UPN
    or a ContactPoint ID, with the family name or the full date of birth``."""
    parts = [_listed([_DESCRIBED[t] for t in Term if t in m], "or") for m in missing]
    if all(len(m) == 1 for m in missing):
        return _listed(parts)
    return ", with ".join(parts)


def _covers(wider: tuple[frozenset[Term], ...], narrower: tuple[frozenset[Term], ...]) -> bool:
    """Whatever satisfies ``narrower`` satisfies ``wider`` too, with no more terms."""
    return len(wider) <= len(narrower) and all(any(n <= w for n in narrower) for w in wider)


def advice_to_add(known: frozenset[Term], scope: Scope) -> str:
    """What to add: the shapes that need the fewest further terms, each spelled out."""
    wants = [shape.missing(known) for shape in SHAPES[scope]]
    kept = sorted(
        dict.fromkeys(w for w in wants if not any(v != w and _covers(v, w) for v in wants)),
        key=len,
    )
    fewest = [_to_add(w) for w in kept if len(w) <= len(kept[0]) + 1][:3]
    given = _listed([_DESCRIBED[t] for t in Term if t in known]) if known else "nothing"
    return (
        f"Not enough detail to search: you gave {given}. ContactPoint searches only on "
        f"details that pick out one child. Add {'; or add '.join(fewest)}, then search again."
    )


def _check_name(term: Term, value: str) -> str:
    if any(
        not (ch.isalpha() or unicodedata.combining(ch) or ch in _NAME_PUNCTUATION) for ch in value
    ):
        raise InsufficientDetailError(
            Refusal.MALFORMED,
            f"The {term.value.replace('_', ' ')} may hold only letters, spaces, hyphens, "
            "apostrophes and full stops: type the name as it is written.",
            (term,),
        )
    letters = [ch for ch in value.split()[0] if ch.isalpha()] if value.split() else []
    whole = [ch for ch in value if ch.isalpha()]
    counted = letters if term is Term.GIVEN_NAME else whole
    if len(counted) < MIN_NAME_LETTERS:
        raise InsufficientDetailError(
            Refusal.TOO_SHORT,
            f"The {term.value.replace('_', ' ')} is too short: give the whole name, "
            "not an initial.",
            (term,),
        )
    return " ".join(value.split())


def _check_date(value: str, today: date) -> date:
    if _PARTIAL_DATE.match(value):
        raise InsufficientDetailError(
            Refusal.TOO_SHORT,
            "A birth year or month is not enough: give the full date of birth "
            "as YYYY-MM-DD (for example 2014-03-07).",
            (Term.DATE_OF_BIRTH,),
        )
    try:
        if not _ISO_DATE.match(value):
            raise ValueError(value)
        born = date.fromisoformat(value)
    except ValueError:
        raise InsufficientDetailError(
            Refusal.MALFORMED,
            "Give the date of birth as YYYY-MM-DD (for example 2014-03-07).",
            (Term.DATE_OF_BIRTH,),
        ) from None
    if born > today:
        raise InsufficientDetailError(
            Refusal.MALFORMED,
            "The date of birth is in the future: check it.",
            (Term.DATE_OF_BIRTH,),
        )
    return born


def _check_gender(value: str) -> Gender | None:
    try:
        gender = Gender(value.lower())
    except ValueError:
        raise InsufficientDetailError(
            Refusal.MALFORMED,
            "Give the gender as female, male, other or unknown.",
            (Term.GENDER,),
        ) from None
    return None if gender is Gender.UNKNOWN else gender


def _check_postcode(value: str) -> str:
    normalised = normalise_postcode(value)
    if normalised is not None:
        return normalised
    if _OUTWARD_CODE.match("".join(value.split()).upper()):
        raise InsufficientDetailError(
            Refusal.TOO_SHORT,
            "Part of a postcode is not enough: give the full postcode (for example LS1 4AB).",
            (Term.POSTCODE,),
        )
    raise InsufficientDetailError(
        Refusal.MALFORMED,
        "That is not a UK postcode: check it (for example LS1 4AB).",
        (Term.POSTCODE,),
    )


def _check_identifier(term: Term, value: str) -> str:
    checked: str | None
    if term is Term.NHS_NUMBER:
        checked = normalise_nhs_number(value) if is_valid_nhs_number(value) else None
        advice = "That is not a valid NHS number (ten digits with a check digit): check it."
    elif term is Term.UPN:
        checked = normalise_upn(value)
        advice = "That is not a UPN (a letter and twelve characters): check it."
    else:
        checked = parse_contactpoint_id(value)
        advice = "That is not a valid ContactPoint ID (for example 7K2M-QX9D-4TB4): check it."
    if checked is None:
        raise InsufficientDetailError(Refusal.MALFORMED, advice, (term,))
    return checked


def check_query(raw: RawQuery, scope: Scope, today: date) -> SearchQuery:
    """The query in normal form if it may be run, or :class:`InsufficientDetailError`.

    Checks run in order: pattern characters anywhere, then each term's form,
    then whether the terms together are enough. The first problem found is
    the one reported, so the advice is one thing to do.
    """
    given = raw.given()
    for term, value in given.items():
        if len(value) > MAX_TERM_LENGTH:
            raise InsufficientDetailError(
                Refusal.MALFORMED, f"The {term.value.replace('_', ' ')} is too long.", (term,)
            )
        if PATTERN_CHARACTERS & set(value):
            raise InsufficientDetailError(
                Refusal.PATTERN,
                "Wildcards and pattern characters (such as * % ? _ [ ]) are not allowed: "
                "ContactPoint finds one child from details you know, never a list. "
                "Type each detail in full.",
                (term,),
            )
    names = {t: _check_name(t, given[t]) for t in (Term.GIVEN_NAME, Term.FAMILY_NAME) if t in given}
    born = _check_date(given[D], today) if D in given else None
    gender = _check_gender(given[S]) if S in given else None
    postcode = _check_postcode(given[P]) if P in given else None
    identifiers = {t: _check_identifier(t, given[t]) for t in IDENTIFIERS if t in given}
    known = frozenset(
        {*names, *identifiers}
        | ({D} if born else set())
        | ({S} if gender else set())
        | ({P} if postcode else set())
    )
    shape = allowed_shape(known, scope)
    if shape is None:
        raise InsufficientDetailError(Refusal.TOO_LITTLE, advice_to_add(known, scope))
    return SearchQuery(
        shape=shape,
        given_name=names.get(Term.GIVEN_NAME),
        family_name=names.get(Term.FAMILY_NAME),
        date_of_birth=born,
        gender=gender,
        postcode=postcode,
        nhs_number=identifiers.get(Term.NHS_NUMBER),
        upn=identifiers.get(Term.UPN),
        child_id=identifiers.get(Term.CHILD_ID),
        known=known,
    )


def no_unique_match_advice(query: SearchQuery) -> str:
    """The one answer for "no child" and for "several children".

    It depends only on the question, never on what was found, so the answer
    cannot tell a searcher whether a child with these details exists.
    """
    missing = [t for t in (G, F, D, S, P, Term.NHS_NUMBER) if t not in query.known]
    add = (
        f"; add {' or '.join(_DESCRIBED[t] for t in missing[:3])} if you know it" if missing else ""
    )
    return (
        "No single child matched these details with confidence. Check the spelling of the "
        f"names and the date of birth{add}, then search again. If you still cannot find the "
        "child, ask your local authority's ContactPoint team."
    )


# --- limits on searching ---------------------------------------------------------------


class Counted(StrEnum):
    """How a search ended, as far as the user's limits are concerned."""

    MATCH = "match"
    NO_UNIQUE_MATCH = "no_unique_match"
    INSUFFICIENT_DETAIL = "insufficient_detail"


@dataclass(frozen=True, slots=True)
class SearchLimits:
    """Per user, over a rolling minute and a rolling day.

    A search that found nobody, or was too vague to run, counts ``probe_weight``
    times: someone fishing for children mostly fails, someone looking up the
    child in front of them mostly succeeds.
    """

    per_minute: int
    per_day: int
    probe_weight: int

    def cost(self, outcome: Counted) -> int:
        return 1 if outcome is Counted.MATCH else self.probe_weight


class Window(StrEnum):
    MINUTE = "minute"
    DAY = "day"


@dataclass(frozen=True, slots=True)
class SearchLoad:
    """A user's weighted searches so far in each window."""

    last_minute: int
    last_day: int


def limit_passed(load: SearchLoad, limits: SearchLimits) -> Window | None:
    """The window whose limit this user has used up, or None if they may search."""
    if load.last_day >= limits.per_day:
        return Window.DAY
    if load.last_minute >= limits.per_minute:
        return Window.MINUTE
    return None


def rate_advice(window: Window) -> str:
    if window is Window.MINUTE:
        return (
            "You have searched too often in the last minute. Wait a minute, then search "
            "again. Searches that find no child count more than those that do."
        )
    return (
        "You have reached your daily search limit. It frees up over the next 24 hours; "
        "if your work needs more, ask your ContactPoint administrator. The limit has "
        "been reported for review."
    )
